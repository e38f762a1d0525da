"""Mediators (调解员), the units they belong to, their training records, and the cases they handle
(承办调解员)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.enums import enum_type
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Unit


class Employment(StrEnum):
    FULL_TIME = "专职"
    PART_TIME = "兼职"


class Background(StrEnum):
    LAWYER = "律师"
    RETIRED_JUDGE = "退休法官"
    RETIRED_PROSECUTOR = "退休检察官"
    COUNSELLOR = "心理咨询师"
    TEACHER = "教师"
    CADRE = "基层干部"
    OTHER = "其他"


mediator_unit = Table(
    "mediator_unit",
    db.metadata,
    Column("mediator_id", ForeignKey("mediator.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id"), primary_key=True, index=True),
)

# 承办调解员: the mediators a case names (one or more).
dispute_mediator = Table(
    "dispute_mediator",
    db.metadata,
    Column("dispute_id", ForeignKey("dispute.id", ondelete="CASCADE"), primary_key=True),
    Column("mediator_id", ForeignKey("mediator.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Mediator(db.Model):
    """A person who mediates; many have no user account (``user`` is optional)."""

    __tablename__ = "mediator"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    employment: Mapped[Employment] = mapped_column(enum_type(Employment, 4))
    background: Mapped[Background] = mapped_column(enum_type(Background, 8))
    qualifications: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(18))
    active: Mapped[bool] = mapped_column(default=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()
    units: Mapped[list[Unit]] = relationship(secondary=mediator_unit, order_by=Unit.code)
    trainings: Mapped[list[Training]] = relationship(
        back_populates="mediator", cascade="all, delete-orphan", order_by="Training.held_on.desc()"
    )
    cases: Mapped[list[Dispute]] = relationship(
        secondary=dispute_mediator,
        backref=backref("mediators", order_by="Mediator.name"),
        order_by=Dispute.registered_on.desc(),
    )

    def __repr__(self) -> str:
        return f"<Mediator {self.id} {self.name}>"


class Training(db.Model):
    """One training record (培训记录) of a mediator."""

    __tablename__ = "mediator_training"

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediator.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    topic: Mapped[str] = mapped_column(String(200))
    organiser: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mediator: Mapped[Mediator] = relationship(back_populates="trainings")
