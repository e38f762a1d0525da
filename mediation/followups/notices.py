"""Everyone who must act hears about it: in-app notifications (and e-mail, through the outbox of
:func:`mediation.followups.service.notify`) when a case arrives at a unit — routed, transferred,
escalated, referred by a court, accepted directly by a 调委会 — and when a lower level submits a
month close or asks to reopen a month.

The receivers listen to the signals of the other areas (``mediation.signals``), inside the
transaction of the change: one notification per event and user (the key names the event), each with
the link of the page where to act. The acting user is not told about their own action.
"""

from __future__ import annotations

from sqlalchemy import select

from mediation import signals
from mediation.accounts.models import User
from mediation.common.enums import UnitType
from mediation.common.urls import app_path
from mediation.disputes.models import Dispute, Event
from mediation.extensions import db
from mediation.followups.models import NotificationKind
from mediation.followups.service import handler_units, notify, unit_users
from mediation.geo.models import Unit
from mediation.routing.service import responsible_center


def _recipients(unit_ids, actor: User | None) -> list[User]:
    return [u for u in unit_users(unit_ids) if actor is None or u.id != actor.id]


def _from(event: Event) -> str:
    if event.user is not None and event.user.unit is not None:
        return event.user.unit.name
    return event.by_name or "系统"


def _reason(event: Event) -> str:
    return f"理由：{event.note}" if event.note else ""


def _case(d: Dispute) -> str:
    return f"案件{d.case_no}（{d.category}）"


def _on_routed(event: Event) -> tuple[NotificationKind, list[int], str]:
    d = event.dispute
    if (event.data or {}).get("direct"):
        center = responsible_center(d)
        return (
            NotificationKind.WALK_IN,
            [center.id] if center else [],
            f"{d.unit.name}已直接受理当事人来访的{_case(d)}（人民调解，本委员会直接受理）。"
            "如需移交其他单位或上报，请在案件页办理。",
        )
    return (
        NotificationKind.ROUTED,
        handler_units(d),
        f"{_from(event)}将{_case(d)}分流至{d.unit.name}（{d.channel}），请及时受理。",
    )


def _on_transferred(event: Event) -> tuple[NotificationKind, list[int], str]:
    d = event.dispute
    return (
        NotificationKind.TRANSFERRED,
        [d.unit_id],
        f"{_from(event)}将{_case(d)}移交{d.unit.name}，请及时受理。{_reason(event)}",
    )


def _on_escalated(event: Event) -> tuple[NotificationKind, list[int], str]:
    d = event.dispute
    return (
        NotificationKind.ESCALATED,
        [d.center_id],
        f"{_from(event)}将{_case(d)}上报{d.center.name}，请分流。{_reason(event)}",
    )


def _on_referred(event: Event) -> tuple[NotificationKind, list[int], str]:
    d = event.dispute
    data = event.data or {}
    return (
        NotificationKind.REFERRED,
        handler_units(d),
        f"{_from(event)}{data.get('kind') or '委派调解'}{_case(d)}（法院案号{data.get('court_case_no')}）"
        f"至{d.unit.name}，请及时受理。",
    )


CASE_RECEIVERS = {
    "routed": _on_routed,
    "transferred": _on_transferred,
    "escalated": _on_escalated,
    "court_referred": _on_referred,
}


def _on_event(sender, event: Event | None = None, **kwargs) -> None:
    receiver = CASE_RECEIVERS.get(sender)
    if receiver is None or event is None or event.dispute is None:
        return
    d = event.dispute
    if (d.center if sender == "escalated" else d.unit) is None:  # an event written outside the workflow
        return
    db.session.flush()  # the event's id names the notification: once per event
    kind, unit_ids, text = receiver(event)
    notify(
        _recipients(unit_ids, event.user),
        kind=kind,
        text=text,
        key=f"event:{event.id}",
        dispute=d,
        link=app_path("disputes.show", dispute_id=d.id),
    )


# --- 月清月结 ---------------------------------------------------------------------------------------


def _centre_ids_at(node_id: int | None) -> list[int]:
    if node_id is None:
        return []
    return list(
        db.session.scalars(select(Unit.id).where(Unit.node_id == node_id, Unit.type == UnitType.CENTER))
    )


def _close_link(close) -> str:
    """The upper level's month-close page of that month: the submissions and the reopen requests."""
    return app_path("reports.close_page", node=close.submitted_to.code, month=close.month)


def _month_label(close) -> str:
    year, month = close.month.split("-")
    return f"{year}年{int(month)}月"


def _on_month_closed(sender, close=None, **kwargs) -> None:
    if close is None or close.submitted_to_id is None:
        return
    notify(
        _recipients(_centre_ids_at(close.submitted_to_id), close.closed_by),
        kind=NotificationKind.MONTH_CLOSED,
        key=f"month-close:{close.id}",
        link=_close_link(close),
        text=f"{close.node.name}已完成{_month_label(close)}月清月结并上报，请查看。",
    )


def _on_reopen_requested(sender, request=None, **kwargs) -> None:
    close = request.month_close if request is not None else None
    if close is None or close.submitted_to_id is None:
        return
    notify(
        _recipients(_centre_ids_at(close.submitted_to_id), request.requested_by),
        kind=NotificationKind.REOPEN_REQUESTED,
        key=f"reopen-request:{request.id}",
        link=_close_link(close),
        text=f"{close.node.name}申请重新打开{_month_label(close)}的月清月结，请审批。理由：{request.reason}",
    )


signals.event_added.connect(_on_event)
signals.month_closed.connect(_on_month_closed)
signals.reopen_requested.connect(_on_reopen_requested)
