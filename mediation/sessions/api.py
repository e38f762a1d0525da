"""The JSON API of planned sessions (调解安排) and the user's own calendar."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.access import get_dispute
from mediation.accounts.auth import api_user, token_required
from mediation.extensions import db
from mediation.sessions import service
from mediation.sessions.schemas import (
    RescheduleIn,
    ScheduledSessionOut,
    ScheduleIn,
    SessionCalendarArgs,
    SessionCancelIn,
)

blp = Blueprint(
    "sessions_api", __name__, url_prefix="/api/v1", description="调解安排与日程（短信通知、前一天提醒）"
)


def _commit_or_abort(action):
    try:
        result = action()
        db.session.commit()
        return result
    except ValidationError as err:
        db.session.rollback()
        abort(422, errors={"json": err.messages})
    except service.SessionError as err:
        db.session.rollback()
        abort(err.status, message=err.message)
    except StaleDataError:
        db.session.rollback()
        abort(409, message=service.STALE_MESSAGE)


@blp.route("/disputes/<int:dispute_id>/scheduled-sessions")
class DisputeSessions(MethodView):
    decorators = [token_required]

    @blp.response(200, ScheduledSessionOut(many=True))
    def get(self, dispute_id):
        """本案的调解安排（含已取消、已举行），按时间排序"""
        user = api_user()
        return service.case_sessions(get_dispute(user, dispute_id))

    @blp.arguments(ScheduleIn)
    @blp.response(201, ScheduledSessionOut)
    @blp.alt_response(422, description="请求体校验失败（中文逐字段提示），如时间已过、受邀人不是本案当事人")
    @blp.alt_response(409, description="案件当前状态不能安排调解")
    @blp.alt_response(403, description="可以查看但不是承办单位")
    def post(self, data, dispute_id):
        """安排调解：时间（北京时间）、地点、受邀当事人；有手机号的当事人收到短信通知，前一天收到提醒。
        同一案件、同一时间、同一地点重复提交返回已有的安排，不重复发短信。"""
        user = api_user()
        dispute = get_dispute(user, dispute_id)
        return _commit_or_abort(lambda: service.schedule(user, dispute, data))


@blp.route("/scheduled-sessions/<int:session_id>")
class SessionItem(MethodView):
    decorators = [token_required]

    @blp.response(200, ScheduledSessionOut)
    def get(self, session_id):
        """一次调解安排"""
        return service.get_session(api_user(), session_id)

    @blp.arguments(RescheduleIn)
    @blp.response(200, ScheduledSessionOut)
    @blp.alt_response(422, description="请求体校验失败（中文逐字段提示）")
    @blp.alt_response(409, description="已取消或已举行，或版本号不一致")
    @blp.alt_response(403, description="可以查看但不是承办单位")
    def patch(self, data, session_id):
        """改期或变更地点、受邀人：受邀当事人收到变更短信（新增的收到通知、移除的收到取消短信），原提醒作废"""
        user = api_user()
        session = service.get_session(user, session_id)
        return _commit_or_abort(lambda: service.reschedule(user, session, data))


@blp.route("/scheduled-sessions/<int:session_id>/cancel")
class SessionCancel(MethodView):
    decorators = [token_required]

    @blp.arguments(SessionCancelIn)
    @blp.response(200, ScheduledSessionOut)
    @blp.alt_response(422, description="请求体校验失败（中文逐字段提示）")
    @blp.alt_response(409, description="已举行，或版本号不一致")
    @blp.alt_response(403, description="可以查看但不是承办单位")
    def post(self, data, session_id):
        """取消调解：受邀当事人收到取消短信，不再发提醒。重复取消不重复发短信。"""
        user = api_user()
        session = service.get_session(user, session_id)
        return _commit_or_abort(lambda: service.cancel(user, session, data["reason"], data.get("version")))


@blp.route("/sessions")
class Sessions(MethodView):
    decorators = [token_required]

    @blp.arguments(SessionCalendarArgs, location="query")
    @blp.response(200, ScheduledSessionOut(many=True))
    def get(self, args):
        """我的调解日程：分给我的案件（及我安排的）在 from … to（北京时间，含）之间的调解安排"""
        return service.calendar(api_user(), args["start"], args["end"])
