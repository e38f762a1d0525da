"""The JSON API of agreements and documents (flask-smorest): the same service functions as the pages."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from mediation.accounts.access import get_dispute
from mediation.accounts.auth import api_user, token_required
from mediation.documents import service
from mediation.documents.models import ImmutableError
from mediation.documents.schemas import AgreementIn, AgreementOut, AgreementPatch, SignatureIn
from mediation.extensions import db

blp = Blueprint("documents_api", __name__, url_prefix="/api/v1", description="调解协议、文书与卷宗")


def _agreement(agreement_id: int):
    agreement = service.find_agreement(api_user(), agreement_id)
    if agreement is None:
        abort(404, message="未找到，或不在您的辖区内。")
    return agreement


def _run(fn):
    """Run a service call and commit; refusals become 403/409/422 with a Chinese message."""
    try:
        result = fn()
        db.session.commit()
        return result
    except service.DocumentError as err:
        db.session.rollback()
        if err.errors:
            abort(err.status, message=err.message, errors={"json": err.errors})
        abort(err.status, message=err.message)
    except ImmutableError as err:
        db.session.rollback()
        abort(409, message=str(err))


def _out(agreement):
    doc = service.signed_agreement(agreement) if agreement.is_effective else None
    agreement.verification_code = doc.code if doc else None
    return agreement


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"document.pdf\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


@blp.route("/disputes/<int:dispute_id>/agreements")
class DisputeAgreements(MethodView):
    decorators = [token_required]

    @blp.response(200, AgreementOut(many=True))
    def get(self, dispute_id):
        """列出案件的调解协议（含补充协议）"""
        return [_out(a) for a in service.agreements_of(get_dispute(api_user(), dispute_id))]

    @blp.arguments(AgreementIn)
    @blp.response(201, AgreementOut)
    @blp.alt_response(409, description="当前状态不允许")
    def post(self, data, dispute_id):
        """起草调解协议（草稿）"""
        dispute = get_dispute(api_user(), dispute_id)
        return _out(_run(lambda: service.draft_agreement(api_user(), dispute, data)))


@blp.route("/agreements/<int:agreement_id>")
class AgreementItem(MethodView):
    decorators = [token_required]

    @blp.response(200, AgreementOut)
    def get(self, agreement_id):
        """查看调解协议"""
        return _out(_agreement(agreement_id))

    @blp.arguments(AgreementPatch)
    @blp.response(200, AgreementOut)
    @blp.alt_response(409, description="协议已提交签署或已生效，不能修改")
    def patch(self, data, agreement_id):
        """修改协议草稿（只有草稿可以修改）"""
        agreement = _agreement(agreement_id)
        return _out(_run(lambda: service.update_draft(api_user(), agreement, data)))


@blp.route("/agreements/<int:agreement_id>/submit")
class AgreementSubmit(MethodView):
    decorators = [token_required]

    @blp.response(200, AgreementOut)
    @blp.alt_response(409, description="不是草稿")
    def post(self, agreement_id):
        """提交签署：内容锁定"""
        agreement = _agreement(agreement_id)
        return _out(_run(lambda: service.submit_for_signing(api_user(), agreement)))


@blp.route("/agreements/<int:agreement_id>/signatures")
class AgreementSignatures(MethodView):
    decorators = [token_required]

    @blp.arguments(SignatureIn)
    @blp.response(200, AgreementOut)
    @blp.alt_response(409, description="不在签署阶段，或已签署")
    def post(self, data, agreement_id):
        """签署：当事人手写签名（PNG data URL）或记录纸质签名/按指印；调解员签名"""
        agreement = _agreement(agreement_id)
        _run(
            lambda: service.sign(
                api_user(),
                agreement,
                data["signer"],
                party_index=data.get("party_index"),
                method=data["method"],
                image=data.get("image"),
            )
        )
        return _out(agreement)


@blp.route("/agreements/<int:agreement_id>/seal")
class AgreementSeal(MethodView):
    decorators = [token_required]

    @blp.response(200, AgreementOut)
    @blp.alt_response(409, description="不在签署阶段，已盖章，或单位没有印章")
    def post(self, agreement_id):
        """加盖调解组织印章"""
        agreement = _agreement(agreement_id)
        return _out(_run(lambda: service.affix_seal(api_user(), agreement)))


@blp.route("/agreements/<int:agreement_id>/supplements")
class AgreementSupplements(MethodView):
    decorators = [token_required]

    @blp.arguments(AgreementIn)
    @blp.response(201, AgreementOut)
    @blp.alt_response(409, description="原协议尚未生效")
    def post(self, data, agreement_id):
        """起草补充协议（更正已生效的协议）"""
        original = _agreement(agreement_id)
        return _out(_run(lambda: service.draft_supplement(api_user(), original, data)))


@blp.route("/agreements/<int:agreement_id>/pdf")
class AgreementPdf(MethodView):
    decorators = [token_required]

    @blp.response(200, content_type="application/pdf", description="生效协议的电子签章 PDF")
    def get(self, agreement_id):
        """下载生效协议的电子签章 PDF"""
        agreement = _agreement(agreement_id)
        _run(lambda: service.require_reader(api_user()))
        doc = service.signed_agreement(agreement) if agreement.is_effective else None
        if doc is None or doc.pdf is None:
            abort(404, message="协议尚未生效，没有签章文本。")
        return _pdf(doc.pdf, f"{agreement.title}{agreement.number}.pdf")


@blp.route("/disputes/<int:dispute_id>/case-file")
class CaseFile(MethodView):
    decorators = [token_required]

    @blp.response(200, content_type="application/pdf", description="卷宗 PDF（电子签章）")
    def get(self, dispute_id):
        """导出卷宗：封面、卷内目录和全部文书，合为一个 PDF"""
        dispute = get_dispute(api_user(), dispute_id)
        _run(lambda: service.require_reader(api_user()))
        doc = _run(lambda: service.case_file_pdf(api_user(), dispute))
        return _pdf(doc.content, f"人民调解卷宗{dispute.case_no}.pdf")
