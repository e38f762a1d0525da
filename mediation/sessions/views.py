"""Planned sessions on the web: the case page's panel and forms, the mediator's calendar and its
.ics export. The same schemas and service functions as the JSON API decide."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from mediation import clock
from mediation.accounts.access import get_dispute
from mediation.disputes.workflow_views import error_lines, form_payload
from mediation.extensions import db
from mediation.sessions import service
from mediation.sessions.ics import calendar_ics
from mediation.sessions.models import SessionStatus
from mediation.sessions.schemas import FIRST_DAY, LAST_DAY, RescheduleIn, ScheduleIn, SessionCancelIn

bp = Blueprint("sessions", __name__)

LABELS = {
    "date": "日期",
    "time": "时间",
    "place": "地点",
    "parties": "参加当事人",
    "other_attendees": "其他参加人",
    "duration_minutes": "时长",
    "note": "备注",
    "reason": "取消原因",
    "version": "版本",
}
ICS_PAST_DAYS, ICS_FUTURE_DAYS = 30, 366


def _back(dispute_id: int) -> str:
    return url_for("disputes.show", dispute_id=dispute_id) + "#scheduled-sessions"


def _run(action, dispute_id: int, what: str, done: str):
    back = _back(dispute_id)
    try:
        action()
        db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        for line in error_lines(err.messages, labels=LABELS):
            flash(f"{what}未保存：{line}", "error")
        return redirect(back, 303)
    except service.SessionError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(back, 303)
    except StaleDataError:
        db.session.rollback()
        flash(service.STALE_MESSAGE, "error")
        return redirect(back, 303)
    flash(done, "success")
    return redirect(back, 303)


@bp.post("/disputes/<int:dispute_id>/scheduled-sessions")
@login_required
def schedule(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)

    def action():
        data = ScheduleIn().load(form_payload(request.form, ScheduleIn()))
        service.schedule(current_user, dispute, data)

    return _run(action, dispute_id, "调解安排", "已安排调解，并已短信通知有手机号的当事人。")


@bp.post("/scheduled-sessions/<int:session_id>/reschedule")
@login_required
def reschedule(session_id: int):
    session = service.get_session(current_user, session_id)

    def action():
        data = RescheduleIn().load(form_payload(request.form, RescheduleIn()))
        service.reschedule(current_user, session, data)

    return _run(action, session.dispute_id, "调解改期", "调解安排已变更，并已短信通知受邀当事人。")


@bp.post("/scheduled-sessions/<int:session_id>/cancel")
@login_required
def cancel(session_id: int):
    session = service.get_session(current_user, session_id)

    def action():
        data = SessionCancelIn().load(form_payload(request.form, SessionCancelIn()))
        service.cancel(current_user, session, data["reason"], data.get("version"))

    return _run(action, session.dispute_id, "取消调解", "调解已取消，并已短信通知受邀当事人。")


# --- the calendar ------------------------------------------------------------------------------------


def _anchor_day(value: str | None) -> date:
    """The day asked for in ``?date=``; today when there is none or it is not a sane date."""
    try:
        day = date.fromisoformat(value) if value else clock.today()
    except ValueError:
        return clock.today()
    return day if FIRST_DAY <= day <= LAST_DAY else clock.today()


def calendar_range(view: str, anchor: date) -> tuple[date, date, date, date]:
    """(first day, last day, previous anchor, next anchor) of the week (Monday–Sunday) or month."""
    if view == "month":
        first = anchor.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return first, nxt - timedelta(days=1), (first - timedelta(days=1)).replace(day=1), nxt
    first = anchor - timedelta(days=anchor.weekday())
    return first, first + timedelta(days=6), first - timedelta(days=7), first + timedelta(days=7)


@bp.get("/sessions/")
@login_required
def calendar():
    view = "month" if request.args.get("view") == "month" else "week"
    anchor = _anchor_day(request.args.get("date"))
    first, last, prev, nxt = calendar_range(view, anchor)
    rows = service.calendar(current_user, first, last)
    days: dict[date, list] = {}
    for s in rows:
        days.setdefault(s.local_start.date(), []).append(s)
    title = (
        f"{first.year}年{first.month}月" if view == "month" else f"{first.isoformat()} 至 {last.isoformat()}"
    )
    return render_template(
        "sessions/calendar.html",
        view=view,
        first=first,
        last=last,
        prev=prev,
        next=nxt,
        today=clock.today(),
        title=title,
        days=sorted(days.items()),
        count=sum(1 for s in rows if s.status == SessionStatus.SCHEDULED),
        weekdays=service.WEEKDAYS,
    )


@bp.get("/sessions/calendar.ics")
@login_required
def calendar_file():
    today = clock.today()
    rows = service.calendar(
        current_user, today - timedelta(days=ICS_PAST_DAYS), today + timedelta(days=ICS_FUTURE_DAYS)
    )
    body = calendar_ics(rows, name=f"调解日程 · {current_user.name}")
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": "attachment; filename=sessions.ics",
            "Cache-Control": "private, no-store",
        },
    )


# --- the case page's panel ------------------------------------------------------------------------------


def sessions_panel(dispute) -> SimpleNamespace:
    return SimpleNamespace(
        sessions=service.case_sessions(dispute),
        may_schedule=service.may_schedule_sessions(current_user, dispute),
        parties=list(dispute.parties),
        today=clock.today().isoformat(),
        default_date=(clock.today() + timedelta(days=1)).isoformat(),
        when=service.when_text,
        SCHEDULED=SessionStatus.SCHEDULED,
    )


@bp.app_context_processor
def _inject_panel():
    return {"sessions_panel": sessions_panel}
