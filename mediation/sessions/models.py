"""Planned mediation sessions (调解安排): when and where, who is invited, and the reminders sent.

A :class:`ScheduledSession` is a session PLANNED (已安排), later 已取消 or 已举行; the record of a
session HELD stays :class:`mediation.disputes.casework.MediationSession` (调解记录), linked here by
``held_session_id`` when the minutes are written on the session's day. ``version`` grows with every
change of time, place or invitees and with a cancellation: the SMS dedupe keys carry it, so a retried
request sends nothing twice and a moved or cancelled session never sends its old reminder."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.enums import enum_type
from mediation.common.time import to_local, utcnow
from mediation.disputes.casework import MediationSession
from mediation.disputes.models import Dispute, Party
from mediation.extensions import db
from mediation.geo.models import Unit


class SessionStatus(StrEnum):
    SCHEDULED = "已安排"
    CANCELLED = "已取消"
    HELD = "已举行"


class ScheduledSession(db.Model):
    __tablename__ = "scheduled_session"
    __table_args__ = (
        Index("ix_scheduled_session_status_remind", "status", "remind_on"),
        Index("ix_scheduled_session_dispute_starts", "dispute_id", "starts_at"),
        # One planned session per case, time and place: two identical requests racing (a double
        # click, a retry) make one row; the loser gets the winner's (service.schedule_or_existing).
        Index(
            "uq_scheduled_session_planned",
            "dispute_id",
            "starts_at",
            "place",
            unique=True,
            sqlite_where=text("status = '已安排'"),
            postgresql_where=text("status = '已安排'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"))
    # The unit holding it (the case's lead unit when scheduled): named in the SMS and the calendar.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)  # naive UTC
    duration_minutes: Mapped[int] = mapped_column(default=60)
    place: Mapped[str] = mapped_column(String(200))
    other_attendees: Mapped[str | None] = mapped_column(String(500))  # besides the invited parties
    note: Mapped[str | None] = mapped_column(Text)  # internal: never shown to parties, never in SMS/.ics
    status: Mapped[SessionStatus] = mapped_column(
        enum_type(SessionStatus, 8), default=SessionStatus.SCHEDULED, index=True
    )
    version: Mapped[int] = mapped_column(default=1)
    # The Shanghai calendar day of the reminder (the day before the session).
    remind_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    held_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("mediation_session.id", ondelete="SET NULL")
    )

    dispute: Mapped[Dispute] = relationship()
    unit: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship()
    held_session: Mapped[MediationSession | None] = relationship()
    invitees: Mapped[list[SessionInvitee]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionInvitee.party_id"
    )

    def __repr__(self) -> str:
        return f"<ScheduledSession {self.starts_at:%Y-%m-%d %H:%M} {self.status} v{self.version}>"

    @property
    def local_start(self) -> datetime:
        return to_local(self.starts_at)

    @property
    def parties(self) -> list[Party]:
        return [i.party for i in self.invitees]


class SessionInvitee(db.Model):
    """A party invited to a session. ``reminded_version``: the session version whose reminder is
    done (sent, or not needed because the invitation itself came on the reminder day); the reminder
    job picks rows where it differs from the session's version."""

    __tablename__ = "scheduled_session_invitee"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_session.id", ondelete="CASCADE"), primary_key=True
    )
    party_id: Mapped[int] = mapped_column(
        ForeignKey("party.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reminded_version: Mapped[int | None]

    session: Mapped[ScheduledSession] = relationship(back_populates="invitees")
    party: Mapped[Party] = relationship()
