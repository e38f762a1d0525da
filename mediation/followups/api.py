"""The JSON API of follow-ups, notifications and 督办 (flask-smorest), calling the same service
functions as the web pages. Every lookup goes through the access rule."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.access import get_dispute
from mediation.accounts.auth import api_user, token_required
from mediation.common.paging import paginate_args
from mediation.extensions import db
from mediation.followups import service
from mediation.followups.models import Notification
from mediation.followups.schemas import (
    FollowUpComplete,
    FollowUpListArgs,
    FollowUpOut,
    FollowUpPage,
    FollowUpReschedule,
    NotificationListArgs,
    NotificationOut,
    NotificationPage,
    NotificationsMarkedRead,
    SupervisionOrderCreate,
    SupervisionOrderList,
    SupervisionOrderListArgs,
    SupervisionOrderOut,
    SupervisionOrderReply,
    WorklistOut,
)
from mediation.geo.models import Unit
from mediation.replica import replica_reads
from mediation.worklist import worklist

blp = Blueprint("followups_api", __name__, url_prefix="/api/v1", description="回访、消息提醒与督办")


def _commit_or_abort(action):
    """Run a service action and commit; map its errors to 422 / 403 / 409."""
    try:
        result = action()
        db.session.commit()
        return result
    except ValidationError as err:
        db.session.rollback()
        abort(422, errors={"json": err.messages})
    except service.FollowupError as err:
        db.session.rollback()
        abort(err.status, message=err.message)
    except StaleDataError:
        db.session.rollback()
        abort(409, message="该记录刚被他人修改，请刷新后重试。")


# --- follow-ups -----------------------------------------------------------------------------------------


@blp.route("/followups")
class FollowUps(MethodView):
    decorators = [token_required]

    @blp.arguments(FollowUpListArgs, location="query")
    @blp.response(200, FollowUpPage)
    def get(self, args):
        """回访列表：?mine 为本单位（本人）的待办清单；可按状态、类型、案件、应办日期筛选"""
        return service.list_followups(api_user(), args).envelope()


@blp.route("/followups/<int:followup_id>")
class FollowUpItem(MethodView):
    decorators = [token_required]

    @blp.response(200, FollowUpOut)
    def get(self, followup_id):
        """查看回访"""
        return service.get_followup(api_user(), followup_id)


@blp.route("/followups/<int:followup_id>/complete")
class FollowUpCompletion(MethodView):
    decorators = [token_required]

    @blp.arguments(FollowUpComplete)
    @blp.response(200, FollowUpOut)
    @blp.alt_response(403, description="不是承办单位")
    @blp.alt_response(409, description="回访已完成或已取消")
    def post(self, data, followup_id):
        """完成回访：填写回访情况（满意度回访须评分 1–5），写入时间线"""
        user = api_user()
        followup = service.get_followup(user, followup_id)
        return _commit_or_abort(
            lambda: service.complete_followup(
                user,
                followup,
                data["result"],
                data.get("satisfaction"),
                method=data.get("method"),
                visited=data.get("visited"),
            )
        )


@blp.route("/followups/<int:followup_id>/reschedule")
class FollowUpRescheduling(MethodView):
    decorators = [token_required]

    @blp.arguments(FollowUpReschedule)
    @blp.response(200, FollowUpOut)
    @blp.alt_response(403, description="不是承办单位")
    @blp.alt_response(409, description="回访已完成或已取消")
    def post(self, data, followup_id):
        """回访改期（须说明原因）"""
        user = api_user()
        followup = service.get_followup(user, followup_id)
        return _commit_or_abort(
            lambda: service.reschedule_followup(user, followup, data["due_on"], data["reason"])
        )


# --- notifications --------------------------------------------------------------------------------------


@blp.route("/notifications")
class Notifications(MethodView):
    decorators = [token_required]

    @blp.arguments(NotificationListArgs, location="query")
    @blp.response(200, NotificationPage)
    def get(self, args):
        """我的消息（期限预警、回访到期、督办），含未读条数"""
        user = api_user()
        listed = service.list_notifications(
            user, unread=args["unread"], page=args["page"], per_page=args["per_page"]
        )
        return listed.envelope(unread=service.unread_count(user))


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    decorators = [token_required]

    @blp.response(200, NotificationOut)
    def post(self, notification_id):
        """标记一条消息为已读"""
        user = api_user()
        row = service.get_notification(user, notification_id)
        service.mark_read(user, [row.id])
        db.session.commit()
        return db.session.get(Notification, row.id, populate_existing=True)


@blp.route("/notifications/read-all")
class NotificationsReadAll(MethodView):
    decorators = [token_required]

    @blp.response(200, NotificationsMarkedRead)
    def post(self):
        """全部标记为已读"""
        user = api_user()
        marked = service.mark_read(user)
        db.session.commit()
        return {"marked": marked, "unread": service.unread_count(user)}


# --- 督办 -----------------------------------------------------------------------------------------------


@blp.route("/disputes/<int:dispute_id>/supervisions")
class DisputeSupervisions(MethodView):
    decorators = [token_required]

    @blp.response(200, SupervisionOrderList)
    def get(self, dispute_id):
        """该案件的督办"""
        user = api_user()
        dispute = get_dispute(user, dispute_id)
        items = db.session.scalars(service.supervisions_query(user, dispute_id=dispute.id)).all()
        return {"items": items, "total": len(items)}

    @blp.arguments(SupervisionOrderCreate)
    @blp.response(201, SupervisionOrderOut)
    @blp.alt_response(403, description="不是综治中心")
    @blp.alt_response(409, description="案件已办结、未分流，或已有未回复的督办")
    def post(self, data, dispute_id):
        """综治中心督办（普通 / 挂牌），设定回复期限"""
        user = api_user()
        dispute = get_dispute(user, dispute_id)
        target = None
        if data.get("target_unit"):
            target = db.session.scalar(select(Unit).where(Unit.code == data["target_unit"]))
            if target is None:
                abort(422, errors={"json": {"target_unit": ["未知的单位代码。"]}})
        return _commit_or_abort(
            lambda: service.issue_supervision(
                user, dispute, data["level"], data["reply_by"], data.get("note"), target_unit=target
            )
        )


@blp.route("/supervisions")
class Supervisions(MethodView):
    decorators = [token_required]

    @blp.arguments(SupervisionOrderListArgs, location="query")
    @blp.response(200, SupervisionOrderList)
    def get(self, args):
        """督办列表：?mine 督办本单位的；?issued 本单位发出（或升级到本单位）的"""
        stmt = service.supervisions_query(
            api_user(),
            dispute_id=args.get("dispute"),
            mine=args["mine"],
            issued=args["issued"],
            status=args.get("status"),
        )
        return paginate_args(stmt, args).envelope()


@blp.route("/supervisions/<int:order_id>")
class SupervisionItem(MethodView):
    decorators = [token_required]

    @blp.response(200, SupervisionOrderOut)
    def get(self, order_id):
        """查看督办"""
        return service.get_supervision(api_user(), order_id)


@blp.route("/supervisions/<int:order_id>/reply")
class SupervisionReplying(MethodView):
    decorators = [token_required]

    @blp.arguments(SupervisionOrderReply)
    @blp.response(200, SupervisionOrderOut)
    @blp.alt_response(403, description="不是被督办单位")
    @blp.alt_response(409, description="已回复")
    def post(self, data, order_id):
        """被督办单位回复办理情况"""
        user = api_user()
        order = service.get_supervision(user, order_id)
        return _commit_or_abort(lambda: service.reply_supervision(user, order, data["reply"]))


# --- 我的待办 -------------------------------------------------------------------------------------------


@blp.route("/worklist")
class Worklist(MethodView):
    decorators = [token_required]

    @blp.response(200, WorklistOut)
    @replica_reads
    def get(self):
        """我的待办：当前用户今天需要办理的事项（与网页“我的待办”相同），按类型分组计数"""

        wl = worklist(api_user())
        return {
            "today": wl.today,
            "total": wl.total,
            "counts": wl.counts,
            "items": [i.as_dict() for i in wl.items],
        }
