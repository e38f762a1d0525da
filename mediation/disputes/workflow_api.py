"""The JSON API of the workflow: actions on a case, casework, court referrals (routing's own API — the
rule table, the time limits, the unit picker — is routing/api.py).

Every action is ``POST /api/v1/disputes/<id>/<action>`` and answers 200 with the updated case, 409
when the table does not allow it from the current state (or the case changed meanwhile), 403 when
the user may see the case but not do this, 422 for an invalid body; on any error nothing is saved.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.access import get_dispute
from mediation.accounts.auth import api_user, token_required
from mediation.disputes import court, workflow
from mediation.disputes import workflow_schemas as ws
from mediation.disputes.schemas import DisputeOut
from mediation.extensions import db

blp = Blueprint("workflow_api", __name__, url_prefix="/api/v1", description="分流、办理流程、期限与诉调对接")

# action → (URL segment, summary); the input shapes are ws.ACTION_SCHEMAS.
ACTIONS = {
    "route": ("route", "分流（综治中心确认或改变分流建议）：待分流 → 办理中（待受理）"),
    "accept": ("accept", "受理：开始计算办理期限"),
    "reject": ("reject", "不予受理：办结，办结方式为不予受理"),
    "refuse_application": (
        "refuse-application",
        "综治中心对网上申请不予受理（待分流，来源为网上申请）：办结，理由以短信告知申请人",
    ),
    "transfer": ("transfer", "移交其他单位（接收单位须重新受理）"),
    "escalate": ("escalate", "升级上报上一级综治中心：回到待分流"),
    "reassign": ("reassign", "单位内部改派调解员"),
    "stabilize": ("stabilize", "转为稳控"),
    "resume": ("resume", "稳控案件恢复办理"),
    "close": ("close", "办结（调解成功 / 调解不成功 / 撤回 / 不予受理）"),
    "refuse": ("refuse", "当事人一方明确拒绝调解（人民调解法第十七条）：以不予受理办结"),
    "extend": ("extend", "延长办理期限（写明理由和批准人）"),
    "session": ("sessions", "记录一次调解（时间、地点、调解员、参加人、调解记录）"),
    "notify_police": ("police-notifications", "民转刑预警：记录已告知公安机关（人民调解法第二十五条）"),
    "apply_confirmation": ("judicial-confirmations", "申请司法确认（调解协议生效之日起30日内）"),
    "rule_confirmation": ("judicial-confirmations/result", "登记司法确认裁定结果"),
    "return_to_court": (
        "return-to-court",
        "退回法院：法院委派/委托的案件调解不成功，办结并写明理由（法院可见）",
    ),
}


def _fail(err: Exception):
    db.session.rollback()
    if isinstance(err, ValidationError):
        abort(422, errors={"json": err.messages})
    if isinstance(err, workflow.WorkflowError):
        abort(err.status, message=err.message)
    abort(409, message=workflow.STALE_MESSAGE)


def run_action(action: str, dispute_id: int, data: dict):
    user = api_user()
    dispute = get_dispute(user, dispute_id)
    try:
        workflow.perform(user, dispute, action, data)
        workflow.commit()
    except (ValidationError, workflow.WorkflowError, StaleDataError) as err:
        _fail(err)
    return dispute


def _make_action_view(action: str, segment: str, schema, summary: str) -> None:
    def view(data, dispute_id):
        return run_action(action, dispute_id, data)

    view.__name__ = f"{action}_view"
    view.__doc__ = summary
    decorated = blp.alt_response(422, description="请求体校验失败（中文逐字段提示）")(view)
    decorated = blp.alt_response(409, description="当前状态不允许此操作，或案件已被他人修改；未做任何更改")(
        decorated
    )
    decorated = blp.alt_response(403, description="可以查看但无权执行此操作")(decorated)
    decorated = blp.response(200, DisputeOut)(decorated)
    decorated = blp.arguments(schema)(decorated)
    decorated = token_required(decorated)  # outermost: 401 before the body is even read
    blp.route(f"/disputes/<int:dispute_id>/{segment}", methods=["POST"], endpoint=action)(decorated)


for _action, (_segment, _summary) in ACTIONS.items():
    _make_action_view(_action, _segment, ws.ACTION_SCHEMAS[_action], _summary)


@blp.route("/disputes/<int:dispute_id>/casework")
class Casework(MethodView):
    decorators = [token_required]

    @blp.response(200, ws.CaseworkOut)
    def get(self, dispute_id):
        """办理信息：阶段、当前用户可执行的操作、期限与预警、调解记录、延期、委派、司法确认、民转刑预警"""
        user = api_user()
        return workflow.casework(user, get_dispute(user, dispute_id))


@blp.route("/court-referrals")
class CourtReferrals(MethodView):
    decorators = [token_required]

    @blp.arguments(ws.CourtReferralListArgs, location="query")
    @blp.response(200, ws.CourtReferralPageOut)
    @blp.alt_response(403, description="只有法院联络员和系统管理员可以查看")
    def get(self, args):
        """本院委派、委托的案件：阶段、接收单位、期限与预警、结果、退回理由、已生效的调解协议"""
        user = api_user()
        if not court.may_use_court_page(user):
            abort(403, message="只有法院联络员和系统管理员可以查看委派案件。")
        listed = court.list_referrals(user, state=args["state"], page=args["page"], per_page=args["per_page"])
        return listed.envelope()

    @blp.arguments(ws.CourtReferralIn)
    @blp.response(201, DisputeOut)
    @blp.alt_response(422, description="字段校验失败（中文逐字段提示）")
    @blp.alt_response(403, description="只有法院联络员可以委派或委托调解")
    def post(self, data):
        """法院诉前委派 / 诉中委托：登记案件并交由调解单位办理"""
        try:
            dispute = workflow.refer_case(api_user(), data)
            workflow.commit()
        except (ValidationError, workflow.WorkflowError, StaleDataError) as err:
            _fail(err)
        return dispute
