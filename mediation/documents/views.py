"""Web pages of documents: drafting on the case page, preview, signature pad, the forms, the case
file export, seal upload (admin) and the public verification page.

Every lookup goes through accounts.access (get_dispute / the same scope for agreements), every rule
through documents.service; a page commits once.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select

from mediation.accounts.access import get_dispute, visible_disputes
from mediation.common.confirm import confirmation_page, is_confirmed
from mediation.common.time import cn_date
from mediation.disputes.models import Dispute
from mediation.disputes.views import flatten_errors
from mediation.documents import forms as F
from mediation.documents import service
from mediation.documents.models import AgreementStatus, ImmutableError, SignerKind, SignMethod
from mediation.documents.schemas import AGREEMENT_FIELDS, AgreementIn
from mediation.extensions import db
from mediation.geo.models import Unit

bp = Blueprint("documents", __name__)
bp.add_app_template_filter(cn_date, "cn_date")  # every document writes dates this one way

AGREEMENT_LABELS = {
    "facts": "纠纷主要事实",
    "issues": "争议事项",
    "responsibilities": "各方责任",
    "terms": "协议内容",
    "performance_method": "履行方式",
    "performance_due": "履行期限",
    "copies": "份数",
    "parties": "当事人",
    "mediator_name": "调解员",
    "unit": "调解组织",
}


# ---------------------------------------------------------------- helpers


def _agreement(agreement_id: int):
    agreement = service.find_agreement(current_user, agreement_id)
    if agreement is None:
        abort(404)
    return agreement


def _require_reader() -> None:
    if not service.may_read_documents(current_user):
        abort(403)


def _refused(err: Exception, target: str):
    """A refused action: roll back, tell the user why, go back (403 is an error page)."""
    db.session.rollback()
    if isinstance(err, service.DocumentError) and err.status == 403:
        abort(403)
    message = err.message if isinstance(err, service.DocumentError) else str(err)
    flash(message, "error")
    if isinstance(err, service.DocumentError):
        for field, msgs in err.errors.items():
            for m in msgs:
                flash(f"{AGREEMENT_LABELS.get(field, field)}：{m}", "error")
    return redirect(target, 303)


def pdf_response(data: bytes, filename: str, *, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"document.pdf\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _agreement_form_data(form) -> dict:
    raw = {k: form.get(k, "") for k in AGREEMENT_FIELDS}
    return {k: v for k, v in raw.items() if v.strip()}


def panel(dispute) -> dict:
    """What the case page's documents partial shows (computed here: no queries in templates)."""
    agreements = service.agreements_of(dispute)
    return {
        "dispute": dispute,
        "agreements": agreements,
        "signed": {a.id: service.signed_agreement(a) for a in agreements if a.is_effective},
        "can_write": service.may_write(current_user),
        "can_read": service.may_read_documents(current_user),
        "forms": [
            (k, f.title) for k, f in F.FORMS.items() if k != "cover" and service.form_applies(dispute, k)
        ],
        "drafting": next((a for a in agreements if not a.is_effective), None),
    }


@bp.app_context_processor
def _documents_panel():
    """The case page (disputes.show) includes disputes/_documents.html, which reads ``documents``."""
    if has_request_context() and request.endpoint == "disputes.show" and current_user.is_authenticated:
        dispute_id = (request.view_args or {}).get("dispute_id")
        if dispute_id is not None:
            # Not get_dispute(): this also runs for the 404 page of a case the user may not see.
            dispute = db.session.scalars(
                visible_disputes(current_user).where(Dispute.id == dispute_id)
            ).first()
            if dispute is not None:
                return {"documents": panel(dispute)}
    return {}


# ---------------------------------------------------------------- the documents of a case


@bp.get("/disputes/<int:dispute_id>/documents")
@login_required
def case_documents(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)
    return render_template("documents/web/case.html", dispute=dispute, documents=panel(dispute))


@bp.post("/disputes/<int:dispute_id>/agreements")
@login_required
def create_agreement(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)
    back = url_for("documents.case_documents", dispute_id=dispute.id)
    try:
        data = AgreementIn().load(_agreement_form_data(request.form))
        agreement = service.draft_agreement(current_user, dispute, data)
        db.session.commit()
    except ValidationError as err:
        return _refused(service.DocumentError("请按提示修改。", 422, flatten_errors(err.messages)), back)
    except (service.DocumentError, ImmutableError) as err:
        return _refused(err, back)
    flash("调解协议草稿已保存。", "success")
    return redirect(url_for("documents.agreement", agreement_id=agreement.id), 303)


@bp.get("/agreements/<int:agreement_id>")
@login_required
def agreement(agreement_id: int):
    a = _agreement(agreement_id)
    party_slots = [(i, p, a.signature_for(SignerKind.PARTY, i)) for i, p in enumerate(a.parties)]
    return render_template(
        "documents/web/agreement.html",
        a=a,
        dispute=a.dispute,
        party_slots=party_slots,
        mediator=a.signature_for(SignerKind.MEDIATOR),
        seal=service.active_seal(a.unit),
        signed=service.signed_agreement(a) if a.is_effective else None,
        can_write=service.may_write(current_user),
        can_read=service.may_read_documents(current_user),
        labels=AGREEMENT_LABELS,
        is_mediator=service.may_sign_as_mediator(current_user),
    )


@bp.post("/agreements/<int:agreement_id>")
@login_required
def save_agreement(agreement_id: int):
    a = _agreement(agreement_id)
    back = url_for("documents.agreement", agreement_id=a.id)
    try:
        data = AgreementIn().load(_agreement_form_data(request.form))
        # Fields emptied in the form are emptied in the draft.
        for key in ("facts", "issues", "responsibilities", "terms", "performance_method", "performance_due"):
            data.setdefault(key, None if key == "performance_due" else "")
        service.update_draft(current_user, a, data)
        db.session.commit()
    except ValidationError as err:
        return _refused(service.DocumentError("请按提示修改。", 422, flatten_errors(err.messages)), back)
    except (service.DocumentError, ImmutableError) as err:
        return _refused(err, back)
    flash("草稿已保存。", "success")
    return redirect(back, 303)


def _action(agreement_id: int, fn, ok: str, *, announce_effect: bool = True):
    a = _agreement(agreement_id)
    back = url_for("documents.agreement", agreement_id=a.id)
    try:
        result = fn(a)
        db.session.commit()
    except (service.DocumentError, ImmutableError) as err:
        return _refused(err, back)
    flash(ok, "success")
    if announce_effect and a.is_effective:
        flash("各方均已签署并加盖印章，协议已生效，已生成电子签章文本。", "success")
    target = result if isinstance(result, str) else back
    return redirect(target, 303)


@bp.post("/agreements/<int:agreement_id>/submit")
@login_required
def submit_agreement(agreement_id: int):
    return _action(
        agreement_id,
        lambda a: service.submit_for_signing(current_user, a) and None,
        "协议已提交签署，内容已锁定。",
    )


@bp.post("/agreements/<int:agreement_id>/return")
@login_required
def return_agreement(agreement_id: int):
    return _action(
        agreement_id, lambda a: service.return_to_draft(current_user, a) and None, "协议已退回修改。"
    )


@bp.post("/agreements/<int:agreement_id>/seal")
@login_required
def seal_agreement(agreement_id: int):
    return _action(agreement_id, lambda a: service.affix_seal(current_user, a) and None, "已加盖印章。")


@bp.post("/agreements/<int:agreement_id>/supplement")
@login_required
def supplement_agreement(agreement_id: int):
    def make(a):
        new = service.draft_supplement(current_user, a, {})
        db.session.flush()
        return url_for("documents.agreement", agreement_id=new.id)

    return _action(agreement_id, make, "已起草补充协议，请填写补充和更正的内容。", announce_effect=False)


@bp.get("/agreements/<int:agreement_id>/preview")
@login_required
def preview(agreement_id: int):
    a = _agreement(agreement_id)
    _require_reader()
    return service.render_agreement_html(a, for_web=True)


@bp.get("/agreements/<int:agreement_id>/preview.pdf")
@login_required
def preview_pdf(agreement_id: int):
    a = _agreement(agreement_id)
    _require_reader()
    return pdf_response(service.preview_pdf(a), f"{a.title}（预览）{a.number}.pdf", download=False)


@bp.get("/agreements/<int:agreement_id>/pdf")
@login_required
def signed_pdf(agreement_id: int):
    a = _agreement(agreement_id)
    _require_reader()
    doc = service.signed_agreement(a) if a.is_effective else None
    if doc is None or doc.pdf is None:
        abort(404)
    return pdf_response(doc.pdf, f"{a.title}{a.number}.pdf", download=True)


# ---------------------------------------------------------------- signing


def _signer_slot(a, who: str) -> tuple[SignerKind, int | None, str]:
    if who == "mediator":
        return SignerKind.MEDIATOR, None, current_user.name
    if who.startswith("party-") and who[6:].isdigit():
        index = int(who[6:])
        if index < len(a.parties):
            return SignerKind.PARTY, index, a.parties[index]["name"]
    abort(404)


def paper_sign_question(name: str, method: str) -> str:
    """What recording a signature made on paper means, asked before it is recorded."""
    return (
        f"将记录：{name}已在纸质协议上{'按指印' if method == SignMethod.FINGERPRINT.value else '签名'}。"
        "请确认已当面核实；记录后不能撤销，各方签署完毕并加盖印章后协议即生效。"
    )


@bp.get("/agreements/<int:agreement_id>/sign/<who>")
@login_required
def sign_page(agreement_id: int, who: str):
    a = _agreement(agreement_id)
    signer, index, name = _signer_slot(a, who)
    if a.status != AgreementStatus.SIGNING:
        flash("协议不在签署阶段。", "warning")
        return redirect(url_for("documents.agreement", agreement_id=a.id), 303)
    role = a.parties[index]["role"] if signer == SignerKind.PARTY else "人民调解员"
    return render_template(
        "documents/web/sign.html",
        a=a,
        who=who,
        signer=signer,
        name=name,
        role=role,
        paper_question=paper_sign_question,
        paper_methods=[SignMethod.PAPER.value, SignMethod.FINGERPRINT.value]
        if signer == SignerKind.PARTY
        else [SignMethod.PAPER.value],
    )


@bp.post("/agreements/<int:agreement_id>/sign/<who>")
@login_required
def sign_submit(agreement_id: int, who: str):
    a = _agreement(agreement_id)
    signer, index, name = _signer_slot(a, who)
    method = request.form.get("method", SignMethod.DRAWN.value)
    if method not in [m.value for m in SignMethod]:
        method = SignMethod.DRAWN.value
    if (
        method != SignMethod.DRAWN.value
        and not is_confirmed(request.form)
        and service.may_write(current_user)
        and a.status == AgreementStatus.SIGNING
    ):
        return confirmation_page(
            request.form,
            action=url_for("documents.sign_submit", agreement_id=a.id, who=who),
            title=f"请确认：记录为{method}",
            message=paper_sign_question(name, method),
            submit_label=f"确认记录为{method}",
            cancel_url=url_for("documents.sign_page", agreement_id=a.id, who=who),
        )
    try:
        service.sign(
            current_user,
            a,
            signer,
            party_index=index,
            method=SignMethod(method),
            image=request.form.get("signature") if method == SignMethod.DRAWN.value else None,
        )
        db.session.commit()
    except (service.DocumentError, ImmutableError) as err:
        if isinstance(err, service.DocumentError) and err.status == 422:
            return _refused(err, url_for("documents.sign_page", agreement_id=a.id, who=who))
        return _refused(err, url_for("documents.agreement", agreement_id=a.id))
    flash(f"{name}已签署（{method}）。", "success")
    if a.is_effective:
        flash("各方均已签署并加盖印章，协议已生效，已生成电子签章文本。", "success")
    return redirect(url_for("documents.agreement", agreement_id=a.id), 303)


# ---------------------------------------------------------------- the other forms, the case file


@bp.route("/disputes/<int:dispute_id>/forms/<kind>", methods=["GET", "POST"])
@login_required
def form_page(dispute_id: int, kind: str):
    dispute = get_dispute(current_user, dispute_id)
    spec = F.FORMS.get(kind)
    if spec is None:
        abort(404)
    errors: dict = {}
    values = None
    if request.method == "POST":
        try:
            row_id = request.form.get("row_id", type=int)
            service.save_form(current_user, dispute, kind, request.form, row_id=row_id)
            db.session.commit()
            flash(f"{spec.title}已保存。", "success")
            return redirect(url_for("documents.form_page", dispute_id=dispute.id, kind=kind), 303)
        except service.DocumentError as err:
            db.session.rollback()
            if err.status == 403:
                abort(403)
            errors, values = err.errors, request.form
    if not errors and not service.form_applies(dispute, kind):
        try:
            service.require_form_applies(dispute, kind)
        except service.DocumentError as err:
            return _refused(err, url_for("documents.case_documents", dispute_id=dispute.id))
    ctx = service.form_context(dispute, kind)
    rows = service.form_rows(dispute, kind) if spec.multiple else []
    return render_template(
        "documents/web/form.html",
        dispute=dispute,
        spec=spec,
        kind=kind,
        values=values or ({} if spec.multiple else ctx["form"]),
        errors=errors,
        rows=rows,
        can_write=service.may_write(current_user),
        can_read=service.may_read_documents(current_user),
    ), (422 if errors else 200)


@bp.get("/disputes/<int:dispute_id>/forms/<kind>.pdf")
@login_required
def form_pdf(dispute_id: int, kind: str):
    dispute = get_dispute(current_user, dispute_id)
    _require_reader()
    if kind not in F.FORMS:
        abort(404)
    try:
        pdf = service.render_form_pdf(dispute, kind)
    except service.DocumentError as err:
        return _refused(err, url_for("documents.case_documents", dispute_id=dispute.id))
    return pdf_response(pdf, f"{F.FORMS[kind].title}{dispute.case_no}.pdf", download=False)


@bp.get("/disputes/<int:dispute_id>/case-file.pdf")
@login_required
def case_file(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)
    _require_reader()
    try:
        doc = service.case_file_pdf(current_user, dispute)
        db.session.commit()
    except service.DocumentError as err:
        return _refused(err, url_for("documents.case_documents", dispute_id=dispute.id))
    return pdf_response(doc.content, f"人民调解卷宗{dispute.case_no}.pdf", download=True)


# ---------------------------------------------------------------- seals (admin)


@bp.route("/admin/seals", methods=["GET", "POST"])
@login_required
def seals():
    if not service.may_manage_seals(current_user):
        abort(403)
    if request.method == "POST":
        unit = db.session.scalar(select(Unit).where(Unit.code == request.form.get("unit", "")))
        upload = request.files.get("image")
        if unit is None or upload is None:
            flash("请选择单位和印章图片。", "error")
        else:
            try:
                service.upload_seal(current_user, unit, upload.read(service.MAX_SEAL_BYTES + 1))
                db.session.commit()
                flash(f"{unit.name}的印章已上传。", "success")
            except service.DocumentError as err:
                db.session.rollback()
                flash(err.message, "error")
        return redirect(url_for("documents.seals"), 303)
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    seals = {s.unit_id: s for s in (service.active_seal(u) for u in units) if s}
    return render_template("documents/web/seals.html", units=units, seals=seals)


@bp.get("/admin/seals/<int:unit_id>.png")
@login_required
def seal_image(unit_id: int):
    if not service.may_manage_seals(current_user):
        abort(403)
    unit = db.session.get(Unit, unit_id) or abort(404)
    seal = service.active_seal(unit) or abort(404)
    return Response(seal.image, mimetype="image/png", headers={"Cache-Control": "private, no-store"})


# ---------------------------------------------------------------- verification (public, no login)


@bp.route("/verify", methods=["GET", "POST"])
def verify_start():
    if request.method == "POST":
        code = service.normalize_code(request.form.get("code", ""))
        if code:
            return redirect(url_for("documents.verify_page", code=code), 303)
    return render_template("documents/web/verify.html", result=None, code="", public={})


@bp.route("/verify/<code>", methods=["GET", "POST"])
def verify_page(code: str):
    upload = None
    if request.method == "POST":
        file = request.files.get("file")
        upload = file.read(64 * 1024 * 1024) if file else None
        if not upload:
            flash("请选择要核验的 PDF 文件。", "error")
            upload = None
    result = service.verify(code, upload)
    status = 200 if result.found else 404
    return render_template(
        "documents/web/verify.html",
        result=result,
        code=service.normalize_code(code),
        public=result.public(),
        uploaded=upload is not None,
    ), status
