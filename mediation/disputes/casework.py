"""The work done on a case besides its status: mediation sessions (调解记录), the court's referral
(诉前委派 / 诉中委托), 司法确认, and police notifications for the 民转刑 risk (人民调解法第25条)."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute, register_event_label
from mediation.extensions import db
from mediation.geo.models import Unit

REFERRAL_KINDS = ("诉前委派", "诉中委托")
CONFIRMATION_RESULTS = ("确认有效", "驳回")
CONFIRMATION_WINDOW_DAYS = 30  # 人民调解法第33条: within 30 days of the agreement taking effect

# （2026）津0116民诉前调1234号 · （2026）津01民终56号 · （2026）最高法民申7号
COURT_CASE_NO = re.compile(
    r"^（(?P<year>\d{4})）(?P<court>[\u4e00-\u9fff]{1,4}\d{0,6})"
    r"(?P<kind>[\u4e00-\u9fff]{1,8})(?P<seq>\d{1,8})号$"
)

for _type, _label in {
    "resumed": "恢复办理",
    "refused": "拒绝调解",
    "court_referred": "法院委派/委托",
    "confirmation_applied": "申请司法确认",
    "confirmation_ruled": "司法确认裁定",
    "returned_to_court": "退回法院",
}.items():
    register_event_label(_type, _label)


def normalize_court_case_no(value: str) -> str:
    """Half-width brackets and spaces are common in typed numbers: use the court's full-width form."""
    return (
        "".join(value.split()).replace("(", "（").replace(")", "）").replace("〔", "（").replace("〕", "）")
    )


def court_case_no_error(value: str) -> str | None:
    match = COURT_CASE_NO.match(normalize_court_case_no(value))
    if not match:
        return "法院案号格式应如（2026）津0116民诉前调1234号。"
    if not 1990 <= int(match["year"]) <= 2100:
        return "法院案号中的年份无效。"
    return None


class MediationSession(db.Model):
    """One mediation meeting (调解) with its record (调解记录)."""

    __tablename__ = "mediation_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date]
    place: Mapped[str] = mapped_column(String(200))
    mediators: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[str] = mapped_column(String(500))
    record: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<MediationSession {self.held_on} {self.place}>"


class CourtReferral(db.Model):
    """诉前委派 / 诉中委托: the court that sent the case, its case number, and the receiving unit."""

    __tablename__ = "court_referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    court_case_no: Mapped[str] = mapped_column(String(64), index=True)
    court_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    referred_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    court: Mapped[Unit] = relationship(foreign_keys=[court_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])

    def __repr__(self) -> str:
        return f"<CourtReferral {self.kind} {self.court_case_no}>"


class JudicialConfirmation(db.Model):
    """司法确认 of a mediation agreement: the application, then the court's ruling."""

    __tablename__ = "judicial_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    agreement_on: Mapped[date]  # the day the agreement took effect
    applied_on: Mapped[date]
    court_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    ruling_no: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str | None] = mapped_column(String(8))
    ruled_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    court: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<JudicialConfirmation {self.applied_on} {self.result or '待裁定'}>"


class PoliceNotification(db.Model):
    """民转刑 warning: the police were told (人民调解法第25条), by whom and when."""

    __tablename__ = "police_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    notified_at: Mapped[datetime]  # naive UTC, like every stored time
    police_unit: Mapped[str] = mapped_column(String(100))
    officer: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text)
    converted: Mapped[bool] = mapped_column(default=False)  # already a criminal / public-order case
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<PoliceNotification {self.notified_at:%Y-%m-%d %H:%M} {self.police_unit}>"
