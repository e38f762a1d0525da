"""Party sessions and the per-address count of wrong codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.common.time import utcnow
from mediation.disputes.models import Dispute, Party
from mediation.extensions import db


class PartySession(db.Model):
    """A party signed in on one case (after a one-time SMS code). The cookie carries a random key; only
    its SHA-256 is stored. Valid while not ended, before ``expires_at`` (PARTY_SESSION_MAX_HOURS after
    the start) and less than PARTY_SESSION_IDLE_MINUTES after ``last_seen_at``. Times are on the app
    clock (:func:`mediation.common.time.utcnow`), like the codes that open it."""

    __tablename__ = "party_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    dispute: Mapped[Dispute] = relationship()
    party: Mapped[Party] = relationship()


class PartyCodeFailure(db.Model):
    """A wrong (or dead) code typed on a party door, by client address: at most
    PARTY_CHECK_ADDRESS_LIMIT within PARTY_CHECK_ADDRESS_WINDOW seconds (across codes, phones and
    cases; :func:`mediation.sms.codes.check_code` counts tries per code only)."""

    __tablename__ = "party_code_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
