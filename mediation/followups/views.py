"""Web pages: 我的待办 (mediation.worklist), the follow-up list (回访), the notification list (消息) and 督办, plus the
case page's 回访与督办 panel (templates/disputes/_followups.html). Same service functions and schemas
as the API."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from mediation import clock
from mediation.accounts.access import get_dispute
from mediation.common.paging import kept_per_page, web_page_args
from mediation.common.urls import is_local_path
from mediation.extensions import db
from mediation.followups import service
from mediation.followups.models import FollowUpStatus, SupervisionStatus
from mediation.followups.schemas import (
    FollowUpComplete,
    FollowUpListArgs,
    FollowUpReschedule,
    NotificationListArgs,
    SupervisionOrderCreate,
    SupervisionOrderReply,
)
from mediation.geo.models import Unit
from mediation.replica import replica_reads
from mediation.worklist import worklist as compute

bp = Blueprint("followups", __name__)

FIELD_LABELS = {
    "result": "回访情况",
    "satisfaction": "满意度",
    "due_on": "新日期",
    "reason": "改期原因",
    "level": "督办级别",
    "reply_by": "回复期限",
    "note": "督办要求",
    "target_unit": "被督办单位",
    "reply": "回复内容",
    "method": "回访方式",
    "visited": "被回访人",
    "_schema": "表单",
}


@bp.app_context_processor
def _unread_notifications():
    """``unread_notifications`` for the navigation bar of every page."""
    if current_user and current_user.is_authenticated:
        return {"unread_notifications": service.unread_count(current_user)}
    return {"unread_notifications": 0}


@bp.app_template_global("followups_panel")
def followups_panel(dispute):
    return service.case_panel(current_user, dispute)


def _back(default: str):
    target = request.form.get("next") or request.args.get("next") or ""
    if is_local_path(target):
        return redirect(target)
    return redirect(default)


def _form(schema_cls) -> dict:
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "next")}
    return schema_cls().load(data)


def _flash_errors(err: ValidationError) -> None:
    messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    for key, msgs in messages.items():
        for m in msgs if isinstance(msgs, list) else [msgs]:
            flash(f"{FIELD_LABELS.get(key, key)}：{m}", "error")


def _run(action, success: str) -> bool:
    try:
        action()
        db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        _flash_errors(err)
        return False
    except service.FollowupError as err:
        db.session.rollback()
        flash(err.message, "error")
        return False
    except StaleDataError:
        db.session.rollback()
        flash("该记录刚被他人修改，请刷新后重试。", "error")
        return False
    flash(success, "success")
    return True


# --- 我的待办 -------------------------------------------------------------------------------------------


@bp.get("/worklist/")
@login_required
@replica_reads
def worklist():
    """我的待办: everything that needs the user today (mediation.worklist, the same as the API),
    grouped and counted; the 回访 due are done right here (the follow-up list's forms)."""

    wl = compute(current_user)
    unit = current_user.unit
    list_links = {
        "待分流": url_for("disputes.index", stage="待分流"),
        "待受理": url_for("disputes.index", stage="待受理", unit=unit.code) if unit else None,
        "预警": url_for("disputes.index", level="预警", mine="1"),
        "超期": url_for("disputes.index", level="超期", mine="1"),
        "回访": url_for("followups.todo"),
        "督办": url_for("followups.supervisions", scope="mine"),
        "今日调解": url_for("sessions.calendar"),
    }
    return render_template("followups/worklist.html", wl=wl, list_links=list_links, today=wl.today)


# --- follow-ups -----------------------------------------------------------------------------------------


@bp.get("/followups/")
@login_required
def todo():
    """回访: the follow-ups assigned to the user's unit by status (open first, by due date). Those
    due by today are also in 我的待办 (:func:`worklist`), with the same forms."""
    args, page_errors = web_page_args(request.args, FollowUpListArgs)
    statuses = [s.value for s in FollowUpStatus]
    status = request.args.get("status") or FollowUpStatus.OPEN.value
    scope = "all" if request.args.get("scope") == "all" else "mine"
    args["mine"] = scope == "mine"
    args["status"] = status if status in statuses else None
    listed = service.list_followups(current_user, args)
    return render_template(
        "followups/todo.html",
        items=listed.items,
        listed=listed,
        page_errors=page_errors,
        page_args=kept_per_page(request.args, page_errors),
        status=status,
        scope=scope,
        statuses=statuses,
        today=clock.today(),
    )


@bp.post("/followups/<int:followup_id>/complete")
@login_required
def complete(followup_id):
    followup = service.get_followup(current_user, followup_id)

    def action():
        data = _form(FollowUpComplete)
        service.complete_followup(
            current_user,
            followup,
            data["result"],
            data.get("satisfaction"),
            method=data.get("method"),
            visited=data.get("visited"),
        )

    _run(action, f"{followup.kind}已完成，已记入办理过程。")
    return _back(url_for("followups.todo"))


@bp.post("/followups/<int:followup_id>/reschedule")
@login_required
def reschedule(followup_id):
    followup = service.get_followup(current_user, followup_id)

    def action():
        data = _form(FollowUpReschedule)
        service.reschedule_followup(current_user, followup, data["due_on"], data["reason"])

    _run(action, f"{followup.kind}已改期。")
    return _back(url_for("followups.todo"))


# --- notifications --------------------------------------------------------------------------------------


@bp.get("/notifications/")
@login_required
def notifications():
    args, page_errors = web_page_args(request.args, NotificationListArgs, keys=("page", "per_page", "unread"))
    listed = service.list_notifications(
        current_user, unread=args["unread"], page=args["page"], per_page=args["per_page"]
    )
    return render_template(
        "followups/notifications.html",
        items=listed.items,
        listed=listed,
        page_errors=page_errors,
        page_args=kept_per_page(request.args, page_errors),
        unread_only=args["unread"],
    )


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id):
    row = service.get_notification(current_user, notification_id)
    service.mark_read(current_user, [row.id])
    db.session.commit()
    if request.form.get("open") and row.link and is_local_path(row.link):
        return redirect(row.link)
    if request.form.get("open") and row.dispute_id:
        return redirect(url_for("disputes.show", dispute_id=row.dispute_id))
    return _back(url_for("followups.notifications"))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    marked = service.mark_read(current_user)
    db.session.commit()
    flash(f"已将{marked}条消息标为已读。", "success")
    return _back(url_for("followups.notifications"))


# --- 督办 -----------------------------------------------------------------------------------------------


@bp.get("/supervisions/")
@login_required
def supervisions():
    scope = request.args.get("scope", "mine")
    stmt = service.supervisions_query(current_user, mine=scope == "mine", issued=scope == "issued")
    items = db.session.scalars(stmt.limit(200)).all()
    return render_template(
        "followups/supervisions.html",
        items=items,
        scope=scope,
        today=clock.today(),
        may_issue=service.may_issue_supervision(current_user),
        pending=SupervisionStatus.PENDING,
    )


@bp.post("/disputes/<int:dispute_id>/supervise")
@login_required
def supervise(dispute_id):
    dispute = get_dispute(current_user, dispute_id)

    def action():
        data = _form(SupervisionOrderCreate)
        target = None
        if data.get("target_unit"):
            target = db.session.scalar(select(Unit).where(Unit.code == data["target_unit"]))
            if target is None:
                raise ValidationError({"target_unit": ["未知的单位代码。"]})
        service.issue_supervision(
            current_user, dispute, data["level"], data["reply_by"], data.get("note"), target_unit=target
        )

    _run(action, "已发出督办，被督办单位会收到提醒。")
    return redirect(url_for("disputes.show", dispute_id=dispute.id) + "#followups")


@bp.post("/supervisions/<int:order_id>/reply")
@login_required
def reply(order_id):
    order = service.get_supervision(current_user, order_id)

    def action():
        data = _form(SupervisionOrderReply)
        service.reply_supervision(current_user, order, data["reply"])

    _run(action, "督办回复已提交。")
    return _back(url_for("disputes.show", dispute_id=order.dispute_id) + "#followups")
