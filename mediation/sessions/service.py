"""Planned mediation sessions: the rules, callable without a request (web, API, scheduler, the
parties' door).

- Who schedules, moves and cancels: :func:`schedule_refusal` — the workflow's own rule for recording
  a session (``workflow.refusal(user, dispute, "session")``: the lead or a co-handling unit, while
  the case is being handled). Who sees: the case's visibility (``accounts.access``).
- Every change writes a timeline event and queues the SMS (mediation/sms/outbox.py) to each invited
  party with a mobile number, with a dedupe key per session, version, kind and party: a retried
  request sends nothing twice.
- The reminder the day before is a step of the follow-ups sweep (:func:`send_due_reminders`): durable
  rows (``SessionInvitee.reminded_version``) claimed ``FOR UPDATE SKIP LOCKED`` plus the outbox's
  dedupe key — exactly once per session version and party, with two scheduler processes and across
  restarts. Cancelled sessions are never picked; a moved session's old version is never sent.

Service functions flush; the caller commits once (the sweep step commits its own batches).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import abort
from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from mediation import clock, signals
from mediation.accounts.access import assigned_to, dispute_scope
from mediation.accounts.models import User
from mediation.common.enums import Status
from mediation.common.time import SHANGHAI
from mediation.common.validators import mobile_error
from mediation.database import write_intent
from mediation.disputes import workflow
from mediation.disputes.casework import MediationSession
from mediation.disputes.models import Dispute, Party, register_event_label
from mediation.disputes.service import add_event
from mediation.extensions import db
from mediation.followups.service import SweepResult, register_sweep_step
from mediation.sessions.models import ScheduledSession, SessionInvitee, SessionStatus
from mediation.sms import outbox

log = logging.getLogger(__name__)

BATCH = 100
MAX_DAYS_AHEAD = 366
WEEKDAYS = "一二三四五六日"

EVENT_SCHEDULED, EVENT_RESCHEDULED, EVENT_CANCELLED = (
    "session_scheduled",
    "session_rescheduled",
    "session_cancelled",
)
for _type, _label in {
    EVENT_SCHEDULED: "安排调解",
    EVENT_RESCHEDULED: "调解改期",
    EVENT_CANCELLED: "取消调解",
}.items():
    register_event_label(_type, _label)

PAST_MESSAGE = "调解时间已过，请选择当前时间以后的日期和时间。"
STALE_MESSAGE = "该调解安排已被他人修改，您的操作未保存。请刷新后重试。"


class SessionError(Exception):
    """Not allowed in the current state (HTTP 409) — or, with status 403, not for this user."""

    status = 409

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- who ---------------------------------------------------------------------------------------------


def schedule_refusal(user: User, dispute: Dispute) -> SessionError | None:
    """Why ``user`` may not schedule, move or cancel sessions of this case (None: allowed). The
    workflow's rule for recording a session, so the two never disagree."""
    refused = workflow.refusal(user, dispute, "session")
    if refused is None:
        return None
    message = refused.message.replace("记录调解", "安排调解")
    return SessionError(message, refused.status)


def may_schedule_sessions(user: User, dispute: Dispute) -> bool:
    return schedule_refusal(user, dispute) is None


def _require(user: User, dispute: Dispute) -> None:
    if (refused := schedule_refusal(user, dispute)) is not None:
        raise refused


def get_session(user: User, session_id: int) -> ScheduledSession:
    """The session if the user may see its case; 404 otherwise."""
    row = db.session.scalar(
        select(ScheduledSession)
        .join(Dispute, ScheduledSession.dispute_id == Dispute.id)
        .where(ScheduledSession.id == session_id, dispute_scope(user))
    )
    if row is None:
        abort(404)
    return row


def case_sessions(dispute: Dispute) -> list[ScheduledSession]:
    return list(
        db.session.scalars(
            select(ScheduledSession)
            .where(ScheduledSession.dispute_id == dispute.id)
            .order_by(ScheduledSession.starts_at, ScheduledSession.id)
        )
    )


def calendar_query(user: User, start: date, end: date):
    """The user's sessions (cases 分给我的 — lead unit, and the user in charge or nobody yet — or
    scheduled by the user) starting on Shanghai days ``start`` … ``end`` inclusive, by time."""
    lo, hi = utc_bounds(start, end)
    return (
        select(ScheduledSession)
        .join(Dispute, ScheduledSession.dispute_id == Dispute.id)
        .where(
            dispute_scope(user),
            or_(assigned_to(user), ScheduledSession.created_by_id == user.id),
            ScheduledSession.starts_at >= lo,
            ScheduledSession.starts_at < hi,
        )
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    )


def calendar(user: User, start: date, end: date) -> list[ScheduledSession]:
    return list(db.session.scalars(calendar_query(user, start, end)))


# --- time --------------------------------------------------------------------------------------------


def to_utc(day: date, at: time) -> datetime:
    """A Shanghai wall-clock time as naive UTC (how it is stored)."""
    return datetime.combine(day, at, SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return to_utc(start, time(0, 0)), to_utc(end + timedelta(days=1), time(0, 0))


def when_text(session: ScheduledSession) -> str:
    """12月3日（周四）14:30 — the time as the SMS and the pages say it."""
    local = session.local_start
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def _start_errors(starts_at: datetime) -> dict[str, list[str]]:
    now = clock.now()
    if starts_at <= now:
        return {"date": [PAST_MESSAGE]}
    if starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        return {"date": ["调解时间不能在一年以后。"]}
    return {}


def _invited_parties(dispute: Dispute, party_ids: list[int]) -> list[Party]:
    by_id = {p.id: p for p in dispute.parties}
    unknown = [i for i in party_ids if i not in by_id]
    if unknown:
        raise ValidationError({"parties": ["所选当事人不是本案的当事人。"]})
    if not party_ids:
        raise ValidationError({"parties": ["请至少选择一名参加调解的当事人。"]})
    return [by_id[i] for i in dict.fromkeys(party_ids)]


# --- SMS ---------------------------------------------------------------------------------------------


def sms_params(session: ScheduledSession) -> dict:
    return {"when": when_text(session), "place": session.place, "unit": session.unit.name}


def sms_key(session: ScheduledSession, kind: str, party: Party) -> str:
    """The outbox dedupe key: one message per session, version, kind and party."""
    return f"session:{session.id}:v{session.version}:{kind}:{party.id}"


def _text(party: Party, kind: str, session: ScheduledSession) -> bool:
    """Queue one SMS to a party (in the caller's transaction). False when the party has no mobile
    number on file (nothing is queued)."""
    if not party.phone or mobile_error(party.phone):
        return False
    template = {
        "invite": "session_invite",
        "changed": "session_changed",
        "cancelled": "session_cancelled",
        "reminder": "session_reminder",
    }[kind]
    outbox.enqueue(
        party.phone,
        template,
        sms_params(session),
        dedupe_key=sms_key(session, kind, party),
        dispute=session.dispute,
    )
    return True


def _sms_note(sent: list[Party], skipped: list[Party]) -> str:
    parts = []
    if sent:
        parts.append("已短信通知：" + "、".join(p.name for p in sent))
    if skipped:
        parts.append("无手机号未通知：" + "、".join(p.name for p in skipped))
    return "；".join(parts)


def _notify(session: ScheduledSession, plan: list[tuple[Party, str]]) -> str:
    sent, skipped = [], []
    for party, kind in plan:
        (sent if _text(party, kind, session) else skipped).append(party)
    return _sms_note(sent, skipped)


def _settle_reminders(session: ScheduledSession) -> None:
    """A session whose reminder day has come already (scheduled or moved for tomorrow or today):
    the invitation just sent stands for the reminder."""
    for invitee in session.invitees:
        if session.remind_on <= clock.today():
            invitee.reminded_version = session.version


def _describe(session: ScheduledSession) -> str:
    text = f"时间：{session.local_start:%Y-%m-%d %H:%M}；地点：{session.place}"
    text += "；参加当事人：" + "、".join(p.name for p in session.parties)
    if session.other_attendees:
        text += f"；其他参加人：{session.other_attendees}"
    return text


# --- schedule, move, cancel ----------------------------------------------------------------------------


def _existing(dispute: Dispute, starts_at: datetime, place: str) -> ScheduledSession | None:
    return db.session.scalar(
        select(ScheduledSession).where(
            ScheduledSession.dispute_id == dispute.id,
            ScheduledSession.starts_at == starts_at,
            ScheduledSession.place == place,
            ScheduledSession.status == SessionStatus.SCHEDULED,
        )
    )


def schedule(user: User, dispute: Dispute, data: dict) -> ScheduledSession:
    """Schedule a session (``date``, ``time`` in Shanghai, ``place``, ``parties`` ids, optional
    ``other_attendees`` and ``note``). The same session (case, time, place) scheduled again — a
    retried request — returns the first one and sends nothing more."""
    _require(user, dispute)
    starts_at = to_utc(data["date"], data["time"])
    if errors := _start_errors(starts_at):
        raise ValidationError(errors)
    parties = _invited_parties(dispute, data.get("parties") or [])
    if (same := _existing(dispute, starts_at, data["place"])) is not None:
        return same
    session = ScheduledSession(
        dispute=dispute,
        unit=dispute.unit or user.unit,
        starts_at=starts_at,
        duration_minutes=data.get("duration_minutes") or 60,
        place=data["place"],
        other_attendees=data.get("other_attendees"),
        note=data.get("note"),
        status=SessionStatus.SCHEDULED,
        version=1,
        remind_on=data["date"] - timedelta(days=1),
        created_by=user,
        created_at=clock.now(),
        updated_at=clock.now(),
        invitees=[SessionInvitee(party=p) for p in parties],
    )
    try:
        with db.session.begin_nested():  # the same request racing this one (PostgreSQL) may win
            db.session.add(session)
            db.session.flush()
    except IntegrityError:
        if (same := _existing(dispute, starts_at, data["place"])) is None:
            raise
        return same
    _settle_reminders(session)
    sms = _notify(session, [(p, "invite") for p in parties])
    add_event(
        dispute, EVENT_SCHEDULED, user, note=_join(_describe(session), sms), data={"session": session.id}
    )
    return session


def _join(*parts: str | None) -> str:
    return "；".join(p for p in parts if p)


def _check_open(session: ScheduledSession, version: int | None) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise SessionError(f"该调解安排{session.status.value}，不能再修改。")
    if version is not None and version != session.version:
        raise SessionError(STALE_MESSAGE)


def reschedule(user: User, session: ScheduledSession, data: dict) -> ScheduledSession:
    """Move a session (time, place, invitees, other attendees). The invited get 调解改期 (new ones an
    invitation, removed ones a cancellation); the version grows, so the old reminder never goes out.
    A request that changes nothing (a retry) changes nothing."""
    dispute = session.dispute
    _require(user, dispute)
    _check_open(session, data.get("version"))
    day = data.get("date") or session.local_start.date()
    at = data.get("time") or session.local_start.time()
    starts_at = to_utc(day, at)
    place = data.get("place") or session.place
    party_ids = data["parties"] if data.get("parties") is not None else [p.id for p in session.parties]
    parties = _invited_parties(dispute, party_ids)
    others = data["other_attendees"] if "other_attendees" in data else session.other_attendees
    moved = starts_at != session.starts_at or place != session.place
    before = {p.id: p for p in session.parties}
    after = {p.id: p for p in parties}
    if not moved and before.keys() == after.keys() and others == session.other_attendees:
        if "note" in data:
            session.note = data["note"]
        return session
    if moved and (errors := _start_errors(starts_at)):
        raise ValidationError(errors)
    if moved and (same := _existing(dispute, starts_at, place)) is not None and same.id != session.id:
        raise SessionError("本案在该时间、地点已有调解安排。")
    old = _describe(session)
    removed = [p for pid, p in before.items() if pid not in after]
    # The cancellation to removed parties names the time and place they were told.
    session.version += 1
    cancelled_note = _notify(session, [(p, "cancelled") for p in removed]) if removed else ""
    session.starts_at, session.place, session.other_attendees = starts_at, place, others
    session.remind_on = day - timedelta(days=1)
    if "note" in data:
        session.note = data["note"]
    session.updated_at = clock.now()
    session.invitees = [i for i in session.invitees if i.party_id in after] + [
        SessionInvitee(party=p) for pid, p in after.items() if pid not in before
    ]
    db.session.flush()
    if moved:  # everybody's reminder is due again, for the new time
        for invitee in session.invitees:
            invitee.reminded_version = None
    _settle_reminders(session)
    plan = [(p, "invite") for pid, p in after.items() if pid not in before]
    if moved:
        plan += [(p, "changed") for pid, p in after.items() if pid in before]
    sms = _notify(session, plan)
    add_event(
        dispute,
        EVENT_RESCHEDULED,
        user,
        note=_join(f"原安排：{old}", f"现安排：{_describe(session)}", cancelled_note, sms),
        data={"session": session.id},
    )
    return session


def cancel(
    user: User, session: ScheduledSession, reason: str, version: int | None = None
) -> ScheduledSession:
    """Cancel a session; the invited get 调解取消. Cancelling a cancelled session (a retry) does nothing."""
    dispute = session.dispute
    _require(user, dispute)
    if session.status == SessionStatus.CANCELLED:
        return session
    _check_open(session, version)
    session.version += 1
    session.status = SessionStatus.CANCELLED
    session.cancelled_at = session.updated_at = clock.now()
    session.cancel_reason = reason
    sms = _notify(session, [(p, "cancelled") for p in session.parties])
    add_event(
        dispute,
        EVENT_CANCELLED,
        user,
        note=_join(_describe(session), f"原因：{reason}", sms),
        data={"session": session.id},
    )
    return session


# --- held: the minutes written on the session's day ------------------------------------------------------


def _on_session_recorded(sender, event=None, **kwargs) -> None:
    """记录调解 on a day with a planned session of the case: that session is 已举行, linked to the record."""
    if event is None or event.on is None:
        return
    dispute = event.dispute
    lo, hi = utc_bounds(event.on, event.on)
    planned = db.session.scalar(
        select(ScheduledSession)
        .where(
            ScheduledSession.dispute_id == dispute.id,
            ScheduledSession.status == SessionStatus.SCHEDULED,
            ScheduledSession.starts_at >= lo,
            ScheduledSession.starts_at < hi,
        )
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    )
    if planned is None:
        return
    record = db.session.scalar(
        select(MediationSession)
        .where(MediationSession.dispute_id == dispute.id, MediationSession.held_on == event.on)
        .order_by(MediationSession.id.desc())
    )
    planned.status = SessionStatus.HELD
    planned.held_session = record
    planned.updated_at = clock.now()


# --- the reminder (a step of the follow-ups sweep) -----------------------------------------------------------


def send_due_reminders(today: date, result) -> None:
    """Remind the invited the day before (``remind_on == today``: a reminder saying 明天 is never
    sent late). Each invitee row is claimed ``FOR UPDATE SKIP LOCKED`` (SQLite: the sweep holds the
    write lock), the SMS queued with its dedupe key and ``reminded_version`` set in the same commit."""
    while True:
        rows = db.session.execute(
            select(SessionInvitee, ScheduledSession)
            .join(ScheduledSession, SessionInvitee.session_id == ScheduledSession.id)
            .join(Dispute, ScheduledSession.dispute_id == Dispute.id)
            .where(
                Dispute.status != Status.CLOSED,  # a case closed meanwhile: no reminder
                ScheduledSession.status == SessionStatus.SCHEDULED,
                ScheduledSession.remind_on == today,
                ScheduledSession.starts_at > clock.now(),
                or_(
                    SessionInvitee.reminded_version.is_(None),
                    SessionInvitee.reminded_version != ScheduledSession.version,
                ),
            )
            .order_by(SessionInvitee.session_id, SessionInvitee.party_id)
            .limit(BATCH)
            .with_for_update(of=SessionInvitee, skip_locked=True)
        ).all()
        if not rows:
            db.session.commit()
            return
        for invitee, session in rows:
            if _text(invitee.party, "reminder", session):
                result.session_reminders += 1
            invitee.reminded_version = session.version
        db.session.commit()


def run_reminders(today: date | None = None):
    """The reminder step on its own (tests, the CLI): same code as in the sweep."""
    result = SweepResult()
    db.session.commit()
    with write_intent():
        send_due_reminders(today or clock.today(), result)
    return result


# --- the parties' door -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartySession:
    """What a party sees of a session: time, place, who holds it, its state. No internal notes."""

    id: int
    starts_at: datetime  # naive UTC
    local_start: datetime
    when: str
    place: str
    unit: str
    status: str
    upcoming: bool


def sessions_for_party(dispute: Dispute, party: Party) -> list[PartySession]:
    """The sessions of ``dispute`` that ``party`` is invited to, upcoming first (soonest first), then
    past ones (latest first). Cancelled sessions are listed with their state."""
    rows = db.session.scalars(
        select(ScheduledSession)
        .join(SessionInvitee, SessionInvitee.session_id == ScheduledSession.id)
        .where(ScheduledSession.dispute_id == dispute.id, SessionInvitee.party_id == party.id)
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    ).all()
    now = clock.now()
    out = [
        PartySession(
            id=s.id,
            starts_at=s.starts_at,
            local_start=s.local_start,
            when=when_text(s),
            place=s.place,
            unit=s.unit.name,
            status=s.status.value,
            upcoming=s.starts_at > now,
        )
        for s in rows
    ]
    upcoming = [s for s in out if s.upcoming]
    past = [s for s in out if not s.upcoming]
    return upcoming + past[::-1]


def init_app(app) -> None:
    signals.event_added.connect(_on_session_recorded, sender="session", weak=False)
    register_sweep_step(send_due_reminders)
