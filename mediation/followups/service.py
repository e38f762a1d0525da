"""Follow-ups (回访), notifications, deadline warnings and 督办: the rules, callable without a request.

Follow-ups are created by timeline events (``mediation.signals.event_added``):

- ``agreement_effective`` → 履行回访 on the performance date and 司法确认期满 on the day the 30-day
  window for 司法确认 ends (人民调解法第33条);
- ``closed`` → 满意度回访 after ``SATISFACTION_VISIT_DAYS``;
- ``stabilized`` → 稳控回访 every ``STABILIZE_VISIT_DAYS`` while the case stays 稳控 (the sweep creates
  the next one; the visits stop when the case leaves 稳控).

Everything time-based is done by :func:`run_sweep`, which the scheduler runs periodically. It is
idempotent: rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (on SQLite the
sweep's transactions take the single write lock) and every effect has a unique key per case, kind and
period, so a second sweep, in this process or another, does nothing.

Service functions flush; the caller commits once. The sweep commits its own small transactions.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import abort, current_app
from marshmallow import ValidationError
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mediation import clock, signals
from mediation.accounts.access import acts_for_a_center, dispute_scope, predicate
from mediation.accounts.models import User
from mediation.common.enums import Channel, Role, Status, UnitType
from mediation.common.paging import Page, paginate, paginate_args
from mediation.common.urls import app_path, public_url
from mediation.database import write_intent
from mediation.disputes.casework import CourtReferral
from mediation.disputes.models import Dispute
from mediation.disputes.service import add_event
from mediation.extensions import db
from mediation.followups.models import (
    DeadlineAlert,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Notification,
    NotificationKind,
    SupervisionLevel,
    SupervisionOrder,
    SupervisionStatus,
)
from mediation.followups.ratings import SCORE_LABELS, ratings_of_case
from mediation.geo.models import Node, Unit
from mediation.routing.deadlines import OVERDUE, WARNING, level_for

log = logging.getLogger(__name__)

BATCH = 100
MAX_MAIL_ATTEMPTS = 5


class FollowupError(Exception):
    """Not allowed in the current state (HTTP 409)."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(FollowupError):
    """The user may see the case but may not do this (HTTP 403)."""

    status = 403


# --- small database helpers ------------------------------------------------------------------------


def insert_ignore(model, values: dict, conflict: list[str]):
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the new row's primary key, or None when a
    row with the same unique key exists (whoever inserted it, in whichever process)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    pk = model.__mapper__.primary_key[0]
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(pk)
    return db.session.execute(stmt).scalar()


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# --- who: assignees and recipients -----------------------------------------------------------------


def _assignee(dispute: Dispute, actor: User | None = None) -> tuple[Unit, User | None]:
    """The lead unit (else the registering unit) and, when known, the user in charge there."""
    unit = dispute.unit or dispute.registering_unit
    handler = getattr(dispute, "handler", None)
    if handler is not None and handler.unit_id == unit.id and handler.active:
        return unit, handler
    if actor is not None and actor.unit_id == unit.id and actor.role == Role.MEDIATOR and actor.active:
        return unit, actor
    return unit, None


def unit_users(unit_ids: Iterable[int | None]) -> list[User]:
    ids = sorted({i for i in unit_ids if i is not None})
    if not ids:
        return []
    return list(
        db.session.scalars(select(User).where(User.unit_id.in_(ids), User.active.is_(True)).order_by(User.id))
    )


def handler_units(dispute: Dispute) -> list[int]:
    """The lead unit and the co-handling units (牵头 + 联办)."""
    return [i for i in [dispute.unit_id, *(u.id for u in dispute.co_units)] if i is not None]


def _path_ids(node: Node) -> list[int]:
    return [int(p) for p in node.path.strip("/").split("/") if p]


def centres_on_path(node: Node) -> list[Unit]:
    """The 综治中心 units at the node and every node above it, nearest first."""
    ids = _path_ids(node)
    depth = {node_id: i for i, node_id in enumerate(ids)}
    units = db.session.scalars(select(Unit).where(Unit.type == UnitType.CENTER, Unit.node_id.in_(ids))).all()
    return sorted(units, key=lambda u: (-depth[u.node_id], u.id))


def next_centre_above(unit: Unit) -> Unit | None:
    """The nearest 综治中心 attached to a node strictly above the unit's node."""
    for centre in centres_on_path(unit.node):
        if centre.node_id != unit.node_id:
            return centre
    return None


def warning_recipients(dispute: Dispute) -> list[User]:
    """Handlers (lead + co-handling units) and the 综治中心 on the path up the tree."""
    centre_ids = [u.id for u in centres_on_path(dispute.node)]
    if getattr(dispute, "center_id", None) is not None:  # the centre the case was escalated to
        centre_ids.append(dispute.center_id)
    return unit_users([*handler_units(dispute), *centre_ids])


# --- notifications -----------------------------------------------------------------------------------


def notify(
    users: Iterable[User],
    *,
    kind: NotificationKind,
    text: str,
    key: str,
    dispute: Dispute | None = None,
    link: str | None = None,
) -> int:
    """One notification per user and key (a repeated call adds nothing). E-mail goes out with the
    next sweep when MAIL_SERVER is configured and the user has an address. ``link`` is the path of
    the page where to act (default: the case page). Returns how many were new."""
    mail = bool(current_app.config.get("MAIL_SERVER"))
    if link is None and dispute is not None:
        link = app_path("disputes.show", dispute_id=dispute.id)
    added, seen = 0, set()
    for user in users:
        if user is None or not user.active or user.id in seen:
            continue
        seen.add(user.id)
        new_id = insert_ignore(
            Notification,
            {
                "user_id": user.id,
                "dispute_id": dispute.id if dispute is not None else None,
                "kind": kind,
                "key": key,
                "text": text,
                "link": link,
                "created_at": clock.now(),
                "email_to": user.email if mail and user.email else None,
            },
            ["user_id", "key"],
        )
        added += new_id is not None
    return added


def notifications_query(user: User, *, unread: bool = False):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def list_notifications(user: User, *, unread: bool = False, page: int = 1, per_page: int = 20) -> Page:
    return paginate(notifications_query(user, unread=unread), page, per_page)


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def get_notification(user: User, notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        abort(404)
    return row


def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``ids`` is None)."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    return db.session.execute(stmt).rowcount


# --- follow-ups: creation by events -------------------------------------------------------------------


def create_followup(
    dispute: Dispute,
    kind: FollowUpKind,
    anchor_on: date,
    due_on: date,
    *,
    round_: int = 1,
    actor: User | None = None,
) -> int | None:
    """Create the follow-up of this case, kind and period unless it exists. Returns its id if new."""
    unit, user = _assignee(dispute, actor)
    return insert_ignore(
        FollowUp,
        {
            "dispute_id": dispute.id,
            "kind": kind,
            "anchor_on": anchor_on,
            "round": round_,
            "status": FollowUpStatus.OPEN,
            "unit_id": unit.id,
            "user_id": user.id if user else None,
            "due_on": due_on,
            "created_at": clock.now(),
        },
        ["dispute_id", "kind", "anchor_on", "round"],
    )


def _days(key: str) -> int:
    return int(current_app.config[key])


def stabilize_round(anchor: date, today: date) -> tuple[int, date]:
    """The next 稳控 visit due after ``today``: its round number and due date (anchor + k·N)."""
    every = _days("STABILIZE_VISIT_DAYS")
    k = max(1, (today - anchor).days // every + 1)
    return k, anchor + timedelta(days=every * k)


def ensure_stabilize_visit(dispute: Dispute, today: date, actor: User | None = None) -> int | None:
    if dispute.status != Status.STABILIZED or dispute.stabilized_on is None:
        return None
    k, due = stabilize_round(dispute.stabilized_on, today)
    return create_followup(dispute, FollowUpKind.STABILIZE, dispute.stabilized_on, due, round_=k, actor=actor)


def cancel_open(dispute_id: int, kind: FollowUpKind, reason: str) -> int:
    return db.session.execute(
        update(FollowUp)
        .where(
            FollowUp.dispute_id == dispute_id, FollowUp.kind == kind, FollowUp.status == FollowUpStatus.OPEN
        )
        .values(status=FollowUpStatus.CANCELLED, result=reason, done_at=clock.now())
        .execution_options(synchronize_session="fetch")
    ).rowcount


def _on_agreement_effective(event) -> None:
    dispute, data = event.dispute, event.data or {}
    effective_on = _as_date(data.get("effective_on")) or event.on or clock.today()
    performance_due = _as_date(data.get("performance_due"))
    if performance_due is not None:
        create_followup(dispute, FollowUpKind.PERFORMANCE, effective_on, performance_due, actor=event.user)
    if dispute.channel != Channel.JUDICIAL:  # a court's 民事调解书 needs no 司法确认
        window_end = effective_on + timedelta(days=_days("CONFIRMATION_WINDOW_DAYS"))
        create_followup(dispute, FollowUpKind.CONFIRMATION, effective_on, window_end, actor=event.user)


def _on_closed(event) -> None:
    dispute = event.dispute
    closed_on = dispute.closed_on or event.on or clock.today()
    due = closed_on + timedelta(days=_days("SATISFACTION_VISIT_DAYS"))
    create_followup(dispute, FollowUpKind.SATISFACTION, closed_on, due, actor=event.user)
    cancel_open(dispute.id, FollowUpKind.STABILIZE, "案件已办结，停止稳控回访。")


def _on_left_stabilized(event) -> None:
    if event.dispute.status != Status.STABILIZED:
        cancel_open(event.dispute.id, FollowUpKind.STABILIZE, "案件已不在稳控状态，停止稳控回访。")


def _on_stabilized(event) -> None:
    ensure_stabilize_visit(event.dispute, clock.today(), actor=event.user)


def _on_new_lead(event) -> None:
    """The case changed hands: its open follow-ups go to the new lead unit (and handler)."""
    dispute = event.dispute
    if dispute.unit_id is None:
        return
    unit, user = _assignee(dispute)
    db.session.execute(
        update(FollowUp)
        .where(FollowUp.dispute_id == dispute.id, FollowUp.status == FollowUpStatus.OPEN)
        .values(unit_id=unit.id, user_id=user.id if user else None)
        .execution_options(synchronize_session="fetch")
    )


def _on_returned_to_court(event) -> None:
    """A referred case closed as 调解不成功 and went back to the court: its liaisons are told why."""

    _on_left_stabilized(event)
    dispute = event.dispute
    referral = db.session.scalar(select(CourtReferral).where(CourtReferral.dispute_id == dispute.id))
    if referral is None:
        return
    liaisons = [u for u in unit_users([referral.court_id]) if u.role == Role.COURT]
    text = (
        f"{referral.kind}的案件 {referral.court_case_no}（{dispute.case_no}）调解不成功，"
        f"{dispute.unit.name if dispute.unit else '接收单位'}已退回本院。退回理由：{event.note or '未写明'}"
    )
    notify(
        liaisons,
        kind=NotificationKind.COURT_RETURN,
        text=text,
        key=f"court-return:{dispute.id}:{event.on}",
        dispute=dispute,
    )


RECEIVERS = {
    "agreement_effective": _on_agreement_effective,
    "closed": _on_closed,
    "stabilized": _on_stabilized,
    "resumed": _on_left_stabilized,
    "rejected": _on_left_stabilized,
    "refused": _on_left_stabilized,
    "routed": _on_new_lead,
    "transferred": _on_new_lead,
    "reassigned": _on_new_lead,
    "court_referred": _on_new_lead,
    "returned_to_court": _on_returned_to_court,
}


def _on_event(sender, event=None, **kwargs) -> None:
    receiver = RECEIVERS.get(sender)
    if receiver is not None and event is not None and event.dispute is not None:
        if event.dispute.id is None:  # a case created in the same transaction (demo, ledger import)
            db.session.flush()
        receiver(event)


signals.event_added.connect(_on_event)


# --- follow-ups: the to-do list and the work ----------------------------------------------------------


def followups_query(
    user: User,
    *,
    mine: bool = False,
    status: str | None = None,
    kind: str | None = None,
    dispute_id: int | None = None,
    due_before: date | None = None,
):
    """Follow-ups of the cases the user may see; ``mine``: assigned to the user's unit (and to the
    user, or to nobody in particular)."""
    stmt = select(FollowUp).join(Dispute, FollowUp.dispute_id == Dispute.id).where(dispute_scope(user))
    if mine:
        stmt = stmt.where(
            FollowUp.unit_id == user.unit_id, or_(FollowUp.user_id.is_(None), FollowUp.user_id == user.id)
        )
    if status:
        stmt = stmt.where(FollowUp.status == status)
    if kind:
        stmt = stmt.where(FollowUp.kind == kind)
    if dispute_id is not None:
        stmt = stmt.where(FollowUp.dispute_id == dispute_id)
    if due_before is not None:
        stmt = stmt.where(FollowUp.due_on <= due_before)
    return stmt.order_by(FollowUp.due_on, FollowUp.id)


def list_followups(user: User, args: dict) -> Page:
    stmt = followups_query(
        user,
        mine=args.get("mine", False),
        status=args.get("status"),
        kind=args.get("kind"),
        dispute_id=args.get("dispute"),
        due_before=args.get("due_before"),
    )
    return paginate_args(stmt, args)


def get_followup(user: User, followup_id: int) -> FollowUp:
    """The follow-up if its case is visible to the user; 404 otherwise."""
    row = db.session.scalars(
        select(FollowUp)
        .join(Dispute, FollowUp.dispute_id == Dispute.id)
        .where(FollowUp.id == followup_id, dispute_scope(user))
    ).first()
    if row is None:
        abort(404)
    return row


def _require_assignee(user: User, followup: FollowUp) -> None:
    if user.unit_id != followup.unit_id:
        raise Forbidden(f"只有承办单位（{followup.unit.name}）可以办理该回访。")
    if followup.status != FollowUpStatus.OPEN:
        raise FollowupError(f"该回访{followup.status}，不能再办理。")


def complete_followup(
    user: User,
    followup: FollowUp,
    result: str,
    satisfaction: int | None = None,
    *,
    method: str | None = None,
    visited: str | None = None,
) -> FollowUp:
    """Done: the result (and 满意度) on the row; the timeline event also keeps 回访方式 and 被回访人,
    which the 回访记录 prints."""
    _require_assignee(user, followup)
    if followup.needs_satisfaction and satisfaction is None:
        raise ValidationError({"satisfaction": ["满意度回访须填写满意度评分（1–5分）。"]})
    if not followup.takes_satisfaction and satisfaction is not None:
        raise ValidationError({"satisfaction": [f"{followup.kind}不填写满意度评分。"]})
    followup.status = FollowUpStatus.DONE
    followup.result = result
    followup.satisfaction = satisfaction
    followup.done_at = clock.now()
    followup.done_by = user
    data = {"kind": followup.kind.value, "due_on": _iso(followup.due_on), "followup": followup.id}
    if satisfaction is not None:
        data["satisfaction"] = satisfaction
    if method:
        data["method"] = method
    if visited and visited.strip():
        data["visited"] = visited.strip()
    add_event(
        followup.dispute, "followup_done", user, note=result, data=data, on=clock.today(), at=clock.now()
    )
    db.session.flush()
    return followup


def reschedule_followup(user: User, followup: FollowUp, due_on: date, reason: str) -> FollowUp:
    _require_assignee(user, followup)
    if due_on < clock.today():
        raise ValidationError({"due_on": ["改期后的日期不能早于今天。"]})
    if due_on == followup.due_on:
        raise ValidationError({"due_on": ["新日期与原定日期相同。"]})
    previous = followup.due_on
    followup.rescheduled_from = previous
    followup.reschedule_reason = reason
    followup.reschedule_count += 1
    followup.due_on = due_on
    followup.notified_at = None  # tell the assignee again when the new date comes
    add_event(
        followup.dispute,
        "followup_rescheduled",
        user,
        note=reason,
        data={
            "kind": followup.kind.value,
            "old_deadline": _iso(previous),
            "new_deadline": _iso(due_on),
            "followup": followup.id,
        },
        on=clock.today(),
        at=clock.now(),
    )
    db.session.flush()
    return followup


# --- 督办 ----------------------------------------------------------------------------------------------


def _visible(user: User, dispute: Dispute) -> bool:
    return db.session.scalar(select(exists().where(Dispute.id == dispute.id, dispute_scope(user))))


def issue_supervision(
    user: User,
    dispute: Dispute,
    level: str,
    reply_by: date,
    note: str | None = None,
    target_unit: Unit | None = None,
) -> SupervisionOrder:
    """A 综治中心 user orders the case's lead unit (or a co-handling unit) to reply by ``reply_by``.
    Writes the ``supervised`` event and notifies the unit. Raises Forbidden / FollowupError /
    ValidationError; the caller commits."""
    if not may_issue_supervision(user):
        raise Forbidden("只有综治中心可以督办。")
    if not _visible(user, dispute):
        raise Forbidden("该案件不在您的辖区内。")
    try:
        level = SupervisionLevel(level)
    except ValueError:
        raise ValidationError({"level": ["督办级别应为 普通 或 挂牌。"]}) from None
    if dispute.status == Status.CLOSED:
        raise FollowupError("案件已办结，不能督办。")
    target = target_unit or dispute.unit
    if target is None:
        raise FollowupError("案件尚未分流到承办单位，不能督办。")
    if target.id not in handler_units(dispute):
        raise ValidationError({"target_unit": ["督办对象应为该案的牵头单位或联办单位。"]})
    if reply_by < clock.today():
        raise ValidationError({"reply_by": ["回复期限不能早于今天。"]})
    pending = db.session.scalar(
        select(SupervisionOrder).where(
            SupervisionOrder.dispute_id == dispute.id,
            SupervisionOrder.issued_by_unit_id == user.unit_id,
            SupervisionOrder.target_unit_id == target.id,
            SupervisionOrder.status == SupervisionStatus.PENDING,
        )
    )
    if pending is not None:
        raise FollowupError(f"本单位对该案已有未回复的督办（回复期限 {pending.reply_by.isoformat()}）。")
    order = SupervisionOrder(
        dispute=dispute,
        level=level,
        status=SupervisionStatus.PENDING,
        issued_by_unit=user.unit,
        issued_by=user,
        issued_at=clock.now(),
        target_unit=target,
        note=note,
        reply_by=reply_by,
    )
    db.session.add(order)
    db.session.flush()
    add_event(
        dispute,
        "supervised",
        user,
        note=note,
        data={"level": level.value, "unit": target.code, "deadline": _iso(reply_by), "order": order.id},
        on=clock.today(),
        at=clock.now(),
    )
    label = "挂牌督办" if level == SupervisionLevel.LISTED else "督办"
    notify(
        unit_users([target.id]),
        kind=NotificationKind.SUPERVISION,
        dispute=dispute,
        key=f"supervision:{order.id}",
        link=supervision_link(order),
        text=f"{user.unit.name}对案件{dispute.case_no}{label}，请于{reply_by.isoformat()}前回复办理情况。"
        + (f"要求：{note}" if note else ""),
    )
    db.session.flush()
    return order


def supervision_link(order: SupervisionOrder) -> str:
    """The 督办 list of the unit that must reply, at the order."""
    return app_path("followups.supervisions", scope="mine", _anchor=f"supervision-{order.id}")


def reply_supervision(user: User, order: SupervisionOrder, reply: str) -> SupervisionOrder:
    if user.unit_id != order.target_unit_id:
        raise Forbidden(f"只有被督办单位（{order.target_unit.name}）可以回复。")
    if not order.awaiting_reply:
        raise FollowupError("该督办已回复。")
    order.reply = reply
    order.replied_at = clock.now()
    order.replied_by = user
    order.status = SupervisionStatus.REPLIED
    dispute = order.dispute
    add_event(
        dispute,
        "supervision_replied",
        user,
        note=reply,
        data={"level": order.level.value, "order": order.id},
        on=clock.today(),
        at=clock.now(),
    )
    notify(
        unit_users([order.issued_by_unit_id, order.escalated_to_id]),
        kind=NotificationKind.SUPERVISION_REPLY,
        dispute=dispute,
        key=f"supervision-reply:{order.id}",
        text=f"{order.target_unit.name}已回复案件{dispute.case_no}的督办：{reply}",
    )
    db.session.flush()
    return order


def supervisions_query(
    user: User,
    *,
    dispute_id: int | None = None,
    mine: bool = False,
    issued: bool = False,
    status: str | None = None,
):
    """Orders on the cases the user may see; ``mine``: addressed to the user's unit; ``issued``:
    issued by (or escalated to) the user's unit."""
    stmt = (
        select(SupervisionOrder)
        .join(Dispute, SupervisionOrder.dispute_id == Dispute.id)
        .where(dispute_scope(user))
    )
    if dispute_id is not None:
        stmt = stmt.where(SupervisionOrder.dispute_id == dispute_id)
    if mine:
        stmt = stmt.where(SupervisionOrder.target_unit_id == user.unit_id)
    if issued:
        stmt = stmt.where(
            or_(
                SupervisionOrder.issued_by_unit_id == user.unit_id,
                SupervisionOrder.escalated_to_id == user.unit_id,
            )
        )
    if status:
        stmt = stmt.where(SupervisionOrder.status == status)
    return stmt.order_by(SupervisionOrder.issued_at.desc(), SupervisionOrder.id.desc())


def get_supervision(user: User, order_id: int) -> SupervisionOrder:
    row = db.session.scalars(
        select(SupervisionOrder)
        .join(Dispute, SupervisionOrder.dispute_id == Dispute.id)
        .where(SupervisionOrder.id == order_id, dispute_scope(user))
    ).first()
    if row is None:
        abort(404)
    return row


@predicate
def may_issue_supervision(user: User) -> bool:
    """督办 is issued by a 综治中心: its staff, or an admin whose unit is one."""
    return acts_for_a_center(user)


def _escalate(order: SupervisionOrder, today: date) -> bool:
    """An unanswered order past its reply date goes to the next 综治中心 up (or lapses at the top)."""
    dispute = order.dispute
    upper = next_centre_above(order.issued_by_unit)
    now = clock.now()
    order.escalated_at = now
    label = "挂牌督办" if order.level == SupervisionLevel.LISTED else "督办"
    if upper is not None:
        order.status = SupervisionStatus.ESCALATED
        order.escalated_to = upper
        text = (
            f"{order.issued_by_unit.name}对案件{dispute.case_no}的{label}（回复期限 {order.reply_by.isoformat()}）"
            f"逾期未获{order.target_unit.name}回复，已升级至{upper.name}。"
        )
        add_event(
            dispute,
            "supervision_escalated",
            None,
            note=text,
            data={
                "level": order.level.value,
                "order": order.id,
                "from_unit": order.issued_by_unit.code,
                "to_unit": upper.code,
                "deadline": _iso(order.reply_by),
            },
            on=today,
            at=now,
        )
        notify(
            unit_users([upper.id, order.issued_by_unit_id, order.target_unit_id]),
            kind=NotificationKind.SUPERVISION_ESCALATED,
            dispute=dispute,
            key=f"supervision-escalated:{order.id}",
            text=text,
        )
        return True
    order.status = SupervisionStatus.LAPSED
    text = (
        f"案件{dispute.case_no}的{label}（回复期限 {order.reply_by.isoformat()}）逾期未获"
        f"{order.target_unit.name}回复；{order.issued_by_unit.name}之上已无综治中心，请直接督促。"
    )
    add_event(
        dispute,
        "supervision_lapsed",
        None,
        note=text,
        data={"level": order.level.value, "order": order.id, "deadline": _iso(order.reply_by)},
        on=today,
        at=now,
    )
    notify(
        unit_users([order.issued_by_unit_id, order.target_unit_id]),
        kind=NotificationKind.SUPERVISION_ESCALATED,
        dispute=dispute,
        key=f"supervision-escalated:{order.id}",
        text=text,
    )
    return False


# --- the panel on the case page ------------------------------------------------------------------------


def case_panel(user: User, dispute: Dispute) -> dict:
    """What the case page's 回访与督办 partial shows (queries here, not in the template)."""
    followups = db.session.scalars(followups_query(user, dispute_id=dispute.id)).all()
    orders = db.session.scalars(supervisions_query(user, dispute_id=dispute.id)).all()
    return {
        "followups": followups,
        "orders": orders,
        "today": clock.today(),
        "may_issue": may_issue_supervision(user)
        and dispute.status != Status.CLOSED
        and dispute.unit_id is not None,
        "levels": [lv.value for lv in SupervisionLevel],
        "default_reply_by": clock.today() + timedelta(days=7),
        "ratings": ratings_of_case(dispute),  # the parties' own ratings (满意度评价)
        "score_labels": SCORE_LABELS,
    }


# --- the sweep ----------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    stabilize_cancelled: int = 0
    stabilize_created: int = 0
    followups_due: int = 0
    alerts: int = 0
    escalated: int = 0
    lapsed: int = 0
    emails_sent: int = 0
    emails_failed: int = 0
    session_reminders: int = 0  # SMS reminders of planned sessions (mediation/sessions/service.py)
    key_reviews_due: int = 0  # 重点人员/群体 reviews due (mediation/keypeople/service.py)
    errors: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return (
            self.stabilize_cancelled
            + self.stabilize_created
            + self.followups_due
            + self.alerts
            + self.escalated
            + self.lapsed
            + self.emails_sent
            + self.session_reminders
            + self.key_reviews_due
        )

    def summary(self) -> str:
        text = (
            f"稳控回访新建{self.stabilize_created}、停止{self.stabilize_cancelled}；到期回访提醒{self.followups_due}；"
            f"期限预警{self.alerts}；督办升级{self.escalated}、逾期{self.lapsed}；"
            f"邮件发送{self.emails_sent}、失败{self.emails_failed}；调解提醒短信{self.session_reminders}"
            f"；重点人员复查提醒{self.key_reviews_due}"
        )
        return text + (f"；错误：{'；'.join(self.errors)}" if self.errors else "")


def _cancel_stale_stabilize(today: date, result: SweepResult) -> None:
    rows = db.session.scalars(
        select(FollowUp)
        .join(Dispute, FollowUp.dispute_id == Dispute.id)
        .where(
            FollowUp.kind == FollowUpKind.STABILIZE,
            FollowUp.status == FollowUpStatus.OPEN,
            or_(
                Dispute.status != Status.STABILIZED,
                Dispute.stabilized_on.is_(None),
                Dispute.stabilized_on != FollowUp.anchor_on,
            ),
        )
        .with_for_update(of=FollowUp, skip_locked=True)
    ).all()
    for fu in rows:
        fu.status = FollowUpStatus.CANCELLED
        fu.result = "案件已不在稳控状态，停止稳控回访。"
        fu.done_at = clock.now()
    result.stabilize_cancelled += len(rows)
    db.session.commit()


def _create_stabilize_visits(today: date, result: SweepResult) -> None:
    """Keep one upcoming 稳控回访 per 稳控 case: when a visit's day comes, the next one is created
    (missed periods are not created one by one: the next visit is the first one after today)."""
    cases = db.session.execute(
        select(Dispute.id, Dispute.stabilized_on)
        .where(Dispute.status == Status.STABILIZED, Dispute.stabilized_on.is_not(None))
        .order_by(Dispute.id)
    ).all()
    if not cases:
        db.session.commit()
        return
    latest = dict(
        ((d, a), r)
        for d, a, r in db.session.execute(
            select(FollowUp.dispute_id, FollowUp.anchor_on, func.max(FollowUp.round))
            .where(FollowUp.kind == FollowUpKind.STABILIZE)
            .group_by(FollowUp.dispute_id, FollowUp.anchor_on)
        ).all()
    )
    wanted = []
    for dispute_id, anchor in cases:
        k, _ = stabilize_round(anchor, today)
        if latest.get((dispute_id, anchor), 0) < k:
            wanted.append(dispute_id)
    db.session.commit()
    for i in range(0, len(wanted), BATCH):
        for dispute_id in wanted[i : i + BATCH]:
            dispute = db.session.get(Dispute, dispute_id, populate_existing=True)
            if dispute is not None and ensure_stabilize_visit(dispute, today) is not None:
                result.stabilize_created += 1
        db.session.commit()


def _notify_due_followups(today: date, result: SweepResult) -> None:
    while True:
        rows = db.session.scalars(
            select(FollowUp)
            .where(
                FollowUp.status == FollowUpStatus.OPEN,
                FollowUp.due_on <= today,
                FollowUp.notified_at.is_(None),
            )
            .order_by(FollowUp.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            db.session.commit()
            return
        for fu in rows:
            recipients = [fu.user] if fu.user is not None and fu.user.active else unit_users([fu.unit_id])
            late = (today - fu.due_on).days
            when = f"已逾期{late}天" if late > 0 else "今天到期"
            notify(
                recipients,
                kind=NotificationKind.FOLLOWUP_DUE,
                dispute=fu.dispute,
                key=f"followup:{fu.id}:{fu.due_on.isoformat()}",
                text=f"案件{fu.dispute.case_no}的{fu.kind}（应于{fu.due_on.isoformat()}完成）{when}，请及时办理。",
            )
            fu.notified_at = clock.now()
            result.followups_due += 1
        db.session.commit()


def _warning_text(dispute: Dispute, level: str, today: date) -> str:
    if level == OVERDUE:
        return (
            f"案件{dispute.case_no}（{dispute.category}）已超过办理期限（{dispute.deadline.isoformat()}），"
            "请尽快办结或依规办理延期。"
        )
    left = (dispute.deadline - today).days
    return (
        f"案件{dispute.case_no}（{dispute.category}）办理期限为{dispute.deadline.isoformat()}，"
        f"剩余{left}天，已进入预警，请抓紧办理。"
    )


def _deadline_warnings(today: date, result: SweepResult) -> None:
    """Cases entering 预警 or 超期: once per case, level and deadline (a DeadlineAlert row), the
    handlers and the 综治中心 above are notified and the timeline gets a ``warning_level`` event."""
    done_overdue = exists().where(
        DeadlineAlert.dispute_id == Dispute.id,
        DeadlineAlert.deadline == Dispute.deadline,
        DeadlineAlert.level == OVERDUE,
    )
    rows = db.session.execute(
        select(Dispute.id, Dispute.accepted_on, Dispute.deadline)
        .where(Dispute.status != Status.CLOSED, Dispute.deadline.is_not(None), ~done_overdue)
        .order_by(Dispute.id)
    ).all()  # one order for every sweep: concurrent inserts never deadlock
    wanted = {}
    for dispute_id, accepted_on, deadline in rows:
        level = level_for(accepted_on, deadline, today)
        if level in (WARNING, OVERDUE):
            wanted[dispute_id] = (level, deadline)
    ids = list(wanted)
    existing = set()
    for i in range(0, len(ids), 500):
        existing.update(
            db.session.execute(
                select(DeadlineAlert.dispute_id, DeadlineAlert.level, DeadlineAlert.deadline).where(
                    DeadlineAlert.dispute_id.in_(ids[i : i + 500])
                )
            ).all()
        )
    todo = [(d, lv, dl) for d, (lv, dl) in wanted.items() if (d, lv, dl) not in existing]
    db.session.commit()
    for i in range(0, len(todo), BATCH):
        for dispute_id, level, deadline in todo[i : i + BATCH]:
            dispute = db.session.get(Dispute, dispute_id, populate_existing=True)
            if (
                dispute is None
                or dispute.status == Status.CLOSED
                or dispute.deadline != deadline
                or level_for(dispute.accepted_on, dispute.deadline, today) != level
            ):
                continue  # changed since it was read
            if (
                insert_ignore(
                    DeadlineAlert,
                    {
                        "dispute_id": dispute_id,
                        "level": level,
                        "deadline": deadline,
                        "created_at": clock.now(),
                    },
                    ["dispute_id", "level", "deadline"],
                )
                is None
            ):
                continue  # another sweep got there first
            text = _warning_text(dispute, level, today)
            notify(
                warning_recipients(dispute),
                dispute=dispute,
                text=text,
                kind=NotificationKind.OVERDUE if level == OVERDUE else NotificationKind.WARNING,
                key=f"deadline:{dispute_id}:{level}:{deadline.isoformat()}",
            )
            add_event(
                dispute,
                "warning_level",
                None,
                note=text,
                data={"level": level, "deadline": deadline.isoformat()},
                on=today,
                at=clock.now(),
            )
            result.alerts += 1
        db.session.commit()


def _escalate_supervisions(today: date, result: SweepResult) -> None:
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(SupervisionOrder)
            .join(Dispute, SupervisionOrder.dispute_id == Dispute.id)
            .where(
                SupervisionOrder.status == SupervisionStatus.PENDING,
                SupervisionOrder.reply_by < today,
                SupervisionOrder.id > last_id,
                Dispute.status != Status.CLOSED,
            )  # a closed case needs no push
            .order_by(SupervisionOrder.id)
            .limit(BATCH)
            .with_for_update(of=SupervisionOrder, skip_locked=True)
        ).all()
        if not rows:
            db.session.commit()
            return
        last_id = rows[-1].id
        for order in rows:
            if _escalate(order, today):
                result.escalated += 1
            else:
                result.lapsed += 1
        db.session.commit()


def _mail_message(row: Notification, config) -> EmailMessage:
    msg = EmailMessage()
    case_no = row.dispute.case_no if row.dispute is not None else ""
    msg["Subject"] = f"【矛盾纠纷多元化解】{row.kind}{'：' + case_no if case_no else ''}"
    msg["From"] = config["MAIL_DEFAULT_SENDER"]
    msg["To"] = row.email_to
    msg["Message-ID"] = make_msgid(idstring=f"notification-{row.id}")
    body = [f"{row.user.name}：", "", row.text]
    if row.link:
        body += ["", f"前往办理：{public_url(row.link, config)}"]
    elif row.dispute_id:
        body += ["", f"查看案件：{public_url(f'/disputes/{row.dispute_id}', config)}"]
    body += ["", "—— 矛盾纠纷多元化解平台（系统邮件，请勿直接回复）"]
    msg.set_content("\n".join(body), charset="utf-8")
    return msg


def _smtp(config) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), float(config["MAIL_TIMEOUT"])
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def deliver_mail(result: SweepResult) -> None:
    """Send the e-mail outbox (notifications with an address, not yet sent). Each batch is claimed
    with FOR UPDATE SKIP LOCKED, so two sweeps never send the same message."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(Notification)
            .where(
                Notification.id > last_id,
                Notification.email_to.is_not(None),
                Notification.emailed_at.is_(None),
                Notification.email_attempts < MAX_MAIL_ATTEMPTS,
            )
            .order_by(Notification.id)
            .limit(50)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            db.session.commit()
            return
        last_id = rows[-1].id
        try:
            smtp = _smtp(config)
        except (OSError, smtplib.SMTPException) as exc:
            for row in rows:
                row.email_attempts += 1
                row.email_error = f"无法连接邮件服务器：{exc}"[:500]
            result.emails_failed += len(rows)
            db.session.commit()
            return
        try:
            for row in rows:
                try:
                    smtp.send_message(_mail_message(row, config))
                except (OSError, smtplib.SMTPException) as exc:
                    row.email_attempts += 1
                    row.email_error = str(exc)[:500]
                    result.emails_failed += 1
                else:
                    row.emailed_at = clock.now()
                    row.email_error = None
                    result.emails_sent += 1
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        db.session.commit()


SWEEP_STEPS = [
    _cancel_stale_stabilize,
    _create_stabilize_visits,
    _notify_due_followups,
    _deadline_warnings,
    _escalate_supervisions,
]


def register_sweep_step(step) -> None:
    """Another area's step of the sweep, ``step(today, result)``: same rules as the steps above
    (idempotent, commits its own small transactions). Registered once, at app start-up."""
    if step not in SWEEP_STEPS:
        SWEEP_STEPS.append(step)


def run_sweep(today: date | None = None) -> SweepResult:
    """One pass over everything due. Safe to run twice, or in two processes at once."""
    today = today or clock.today()
    result = SweepResult()
    db.session.commit()  # start from a clean transaction (the steps take the write lock on SQLite)
    with write_intent():
        for step in SWEEP_STEPS:
            try:
                step(today, result)
            except Exception as exc:  # one failing step must not stop the others
                db.session.rollback()
                log.exception("sweep step %s failed", step.__name__)
                result.errors.append(f"{step.__name__}: {exc}")
        try:
            deliver_mail(result)
        except Exception as exc:
            db.session.rollback()
            log.exception("mail delivery failed")
            result.errors.append(f"deliver_mail: {exc}")
    return result
