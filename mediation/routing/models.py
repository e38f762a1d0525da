"""Routing rules (分流规则), time limits (办理时限) and deadline extensions (延期): data the admin edits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.enums import Channel, RiskLevel, enum_type
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.geo.models import Node, Unit

RISK_ORDER = {level.value: rank for rank, level in enumerate(RiskLevel)}


class RoutingRule(db.Model):
    """When a registered case meets every condition set on a rule, the rule proposes a channel and
    a unit. Rules are tried by ascending ``priority`` (then id); the first match wins. A condition
    left empty matches anything."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(default=100, index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Conditions
    category: Mapped[str | None] = mapped_column(String(32))
    node_id: Mapped[int | None] = mapped_column(ForeignKey("node.id"))  # the 属地 is in this subtree
    min_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    min_people: Mapped[int | None]
    min_risk: Mapped[RiskLevel | None] = mapped_column(enum_type(RiskLevel, 8))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # the case carries at least one of them
    # Result
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, 8))
    # None: the nearest unit of that channel at or above the case's 属地.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    node: Mapped[Node | None] = relationship()
    unit: Mapped[Unit | None] = relationship()

    def __repr__(self) -> str:
        return f"<RoutingRule {self.priority} {self.name}>"

    @property
    def node_path(self) -> str | None:
        """The path of the subtree condition's node (what routing.service.rule_matches compares)."""
        return self.node.path if self.node is not None else None

    def conditions_text(self) -> str:
        parts = []
        if self.category:
            parts.append(f"类别={self.category}")
        if self.node is not None:
            parts.append(f"属地在{self.node.name}及以下")
        if self.min_amount is not None:
            parts.append(f"金额≥{self.min_amount}元")
        if self.min_people is not None:
            parts.append(f"人数≥{self.min_people}")
        if self.min_risk is not None:
            parts.append(f"风险≥{self.min_risk}")
        if self.flags:
            parts.append(f"标记含{'或'.join(self.flags)}")
        return "，".join(parts) or "任何纠纷"


class TimeLimit(db.Model):
    """办理时限 of a channel (and optionally a category), counted from the day after 受理.

    ``channel`` or ``category`` empty means "any". The most specific row wins: channel and category,
    then category alone, then channel alone."""

    __tablename__ = "time_limit"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "channel|category" with "*" for any: unique (a NULL in a unique constraint never collides).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[Channel | None] = mapped_column(enum_type(Channel, 8))
    category: Mapped[str | None] = mapped_column(String(32))
    days: Mapped[int]
    working_days: Mapped[bool] = mapped_column(default=False)
    basis: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<TimeLimit {self.channel or '*'}/{self.category or '*'} {self.days}>"

    @property
    def unit_label(self) -> str:
        return "个工作日" if self.working_days else "天"

    @staticmethod
    def key_for(channel: str | None, category: str | None) -> str:
        return f"{channel or '*'}|{category or '*'}"


class Extension(db.Model):
    """A deadline extension (延长期限) with its reason and approver."""

    __tablename__ = "deadline_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    days: Mapped[int]
    working_days: Mapped[bool] = mapped_column(default=False)
    previous_deadline: Mapped[date]
    new_deadline: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(100))
    parties_consent: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Extension {self.previous_deadline} → {self.new_deadline}>"


class CalendarNotice(db.Model):
    """A State Council notice on holidays (国务院办公厅关于…年部分节假日安排的通知) as the admin entered
    it. Its days win over the holiday packages (routing/calendar.py). An annual notice (全年安排,
    ``annual_year`` set: one per year) also replaces the packages' data of its year and makes the year
    covered; a supplementary notice (补充通知) changes only the days it lists."""

    __tablename__ = "calendar_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    # = year for the annual notice, NULL otherwise: unique, so a year has at most one annual notice.
    annual_year: Mapped[int | None] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200))
    document_no: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()
    days: Mapped[list[CalendarDay]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="CalendarDay.day"
    )

    @property
    def annual(self) -> bool:
        return self.annual_year is not None

    def __repr__(self) -> str:
        return f"<CalendarNotice {self.year} {self.title}>"


class CalendarDay(db.Model):
    """One day of a notice: a holiday (``working`` False, with the holiday's name) or a 调休 make-up
    working day (``working`` True). A date is in at most one notice."""

    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("calendar_notice.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(unique=True)
    working: Mapped[bool]
    name: Mapped[str | None] = mapped_column(String(40))

    notice: Mapped[CalendarNotice] = relationship(back_populates="days")

    def __repr__(self) -> str:
        return f"<CalendarDay {self.day} {'上班' if self.working else '放假'}>"


class CalendarState(db.Model):
    """One row (id 1): a token replaced by every change of the notices, so each process knows when
    its cached override set is stale (routing/calendar.py)."""

    __tablename__ = "calendar_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
