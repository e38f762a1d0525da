"""The SMS outbox (:class:`SmsMessage`) and the one-time codes sent through it (:class:`SmsCode`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.common.enums import enum_type
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute
from mediation.extensions import db


class SmsStatus(StrEnum):
    PENDING = "待发送"  # waiting for its next_attempt_at
    SENDING = "发送中"  # claimed by a sender (claimed_by), the provider being called
    SENT = "已发送"  # the provider accepted it (provider_message_id)
    FAILED = "失败"  # SMS_MAX_ATTEMPTS failed attempts, or an error that no retry can fix
    ABANDONED = "已放弃"  # never sent: over the per-phone daily cap (last_error says why)


class SmsMessage(db.Model):
    """One SMS to one phone: a row of the outbox that a sender claims, sends and marks, exactly once.
    ``params`` fill the template ``template`` (a key of SMS_TEMPLATES). ``dedupe_key`` (unique) makes
    a retried enqueue return the first row instead of a second message."""

    __tablename__ = "sms_message"
    __table_args__ = (Index("ix_sms_message_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    template: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[SmsStatus] = mapped_column(enum_type(SmsStatus, 8), default=SmsStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)  # provider calls started
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # the sender while 发送中
    claimed_at: Mapped[datetime | None]  # real UTC time of the claim (a dead sender's claim expires)
    provider: Mapped[str | None] = mapped_column(String(20))  # the provider that accepted it
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]

    dispute: Mapped[Dispute | None] = relationship()

    def __repr__(self) -> str:
        return f"<SmsMessage {self.id} {self.template} {self.status}>"


class SmsCode(db.Model):
    """A one-time code sent to ``phone`` for ``purpose`` within ``scope`` (e.g. one case code). Only
    an HMAC of the code is stored. Dead when used (``used_at``), expired (``expires_at``), after
    SMS_CODE_MAX_ATTEMPTS wrong tries, or replaced by a newer code (``replaced``)."""

    __tablename__ = "sms_code"
    __table_args__ = (
        Index("ix_sms_code_lookup", "phone", "purpose", "scope"),
        Index("ix_sms_code_scope_created", "scope", "created_at"),
        Index("ix_sms_code_address_created", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))  # the requesting client address
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)  # wrong and right tries
    used_at: Mapped[datetime | None]
    replaced: Mapped[bool] = mapped_column(default=False)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_message.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<SmsCode {self.id} {self.purpose} {self.scope}>"
