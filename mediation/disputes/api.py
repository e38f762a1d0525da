"""The JSON API of disputes (flask-smorest): the same service functions as the web pages."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import get_dispute
from mediation.accounts.auth import api_user, token_required
from mediation.common.validators import text_error
from mediation.disputes import service, workflow
from mediation.disputes.schemas import DisputeCreate, DisputeListArgs, DisputeOut, DisputePage
from mediation.extensions import db
from mediation.replica import replica_reads

blp = Blueprint("disputes_api", __name__, url_prefix="/api/v1", description="纠纷登记与查询")
# One instance for every request (webargs builds a new one per request from a class, nested
# schemas and all); a marshmallow schema keeps no state between loads.
DISPUTE_CREATE = DisputeCreate()


@blp.route("/disputes")
class Disputes(MethodView):
    decorators = [token_required]

    @blp.arguments(DisputeListArgs, location="query")
    @blp.response(200, DisputePage)
    @replica_reads
    def get(self, args):
        """列出本单位及辖区内的纠纷（筛选、分页）"""
        return service.list_disputes(api_user(), args).envelope()

    @blp.arguments(DISPUTE_CREATE)
    @blp.response(201, DisputeOut)
    @blp.alt_response(422, description="字段校验失败（中文逐字段提示）")
    @blp.alt_response(409, description="本委员会直接受理未能完成（如案件状态已变化）；未做任何更改")
    @blp.doc(
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "maxLength": 128},
                "description": "重试同一请求时返回首次结果，不会重复登记",
            }
        ]
    )
    def post(self, data):
        """登记纠纷（人民调解委员会的调解员可选 accept=true：本委员会直接受理）"""
        user = api_user()
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and (err := "长度不能超过128个字符。" if len(key) > 128 else text_error(key)):
            abort(422, errors={"headers": {"Idempotency-Key": [err]}})
        fingerprint = service.request_fingerprint(request.get_json(silent=True))
        try:
            result = workflow.register_case(user, data, idempotency_key=key, fingerprint=fingerprint)
            workflow.commit(keep_loaded=not result.replayed)  # the answer is built from what was written
        except ValidationError as err:
            db.session.rollback()
            abort(422, errors={"json": err.messages})
        except workflow.WorkflowError as err:
            db.session.rollback()
            abort(err.status, message=err.message)
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key committed first: replay it.
            db.session.rollback()
            if not key:
                raise
            previous = service.find_idempotent(user, key, fingerprint)
            if previous is None:
                raise
            result = service.Registration(previous, replayed=True)
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        result.dispute.warnings = result.warnings
        return result.dispute, 201, headers


@blp.route("/disputes/<int:dispute_id>")
class DisputeItem(MethodView):
    decorators = [token_required]

    @blp.response(200, DisputeOut)
    def get(self, dispute_id):
        """查看纠纷详情（含当事人和时间线）"""
        return get_dispute(api_user(), dispute_id)
