"""The case (纠纷), its parties and its timeline."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common import codes
from mediation.common.enums import (
    Channel,
    Outcome,
    PartyKind,
    PartyRole,
    RiskLevel,
    Status,
    Venue,
    enum_type,
)
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.geo.models import Node, Unit

# 联办: co-handling units of a case; they see and work on it like the lead unit.
dispute_co_unit = Table(
    "dispute_co_unit",
    db.metadata,
    Column("dispute_id", ForeignKey("dispute.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id"), primary_key=True, index=True),
)

# 一案一码: the case code, 9 random characters of the codes' alphabet and a check character.
CASE_CODE_LENGTH = 10


def new_case_code(connection=None) -> str:
    """A fresh case code; with a ``connection``, one no case holds yet (drawn again while taken:
    2.6 × 10^13 codes, practically never)."""
    while True:
        code = codes.with_check(codes.random_code(CASE_CODE_LENGTH - 1))
        if connection is None or connection.scalar(_CASE_CODE_TAKEN, {"code": code}) is None:
            return code


def _case_code_default(context) -> str:
    """The column default, so every path that creates a case (the registration service, the ledger
    import's bulk insert, the demo, tests) gets a code; SQLAlchemy passes the insert's context."""
    return new_case_code(context.connection)


class Dispute(db.Model):
    __tablename__ = "dispute"
    __table_args__ = (
        Index("ix_dispute_node_registered", "node_id", "registered_on"),
        Index("ix_dispute_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(64), unique=True)
    # 一案一码 (mediation/disputes/case_code.py): what the parties type or scan to follow the case.
    case_code: Mapped[str] = mapped_column(String(16), unique=True, default=_case_code_default)
    category: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    venue: Mapped[Venue | None] = mapped_column(enum_type(Venue, 4))
    people_count: Mapped[int | None]
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    occurred_on: Mapped[date | None]
    risk_level: Mapped[RiskLevel] = mapped_column(enum_type(RiskLevel, 8))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 突出问题 membership is kept as a column so reports can filter on it in SQL.
    prominent: Mapped[bool] = mapped_column(default=False, index=True)
    civil_to_criminal: Mapped[bool] = mapped_column(default=False)  # 民转刑 happened

    # 属地: where it arose. The registering unit owns the case number sequence.
    # Indexed by ix_dispute_node_registered and ix_dispute_node_closed (reports/models.py), which lead with it.
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"))
    registering_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    registered_on: Mapped[date] = mapped_column(index=True)  # Shanghai calendar date

    status: Mapped[Status] = mapped_column(enum_type(Status, 8), default=Status.PENDING, index=True)
    channel: Mapped[Channel | None] = mapped_column(enum_type(Channel, 8))
    # 属事 / lead unit (牵头) handling the case
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    accepted_on: Mapped[date | None]
    deadline: Mapped[date | None]
    stabilized_on: Mapped[date | None]
    closed_on: Mapped[date | None] = mapped_column(index=True)
    outcome: Mapped[Outcome | None] = mapped_column(enum_type(Outcome, 8))
    carry_over_reason: Mapped[str | None] = mapped_column(Text)
    # 分流建议 from the routing rule table, computed on registration; the 综治中心 confirms or overrides.
    suggested_channel: Mapped[Channel | None] = mapped_column(enum_type(Channel, 8))
    suggested_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # The 综治中心 that triages the case once escalated (None: the nearest one above the 属地).
    center_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # The mediator in charge inside the lead unit (内部改派).
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    node: Mapped[Node] = relationship()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    registering_unit: Mapped[Unit] = relationship(foreign_keys=[registering_unit_id])
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    suggested_unit: Mapped[Unit | None] = relationship(foreign_keys=[suggested_unit_id])
    center: Mapped[Unit | None] = relationship(foreign_keys=[center_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    co_units: Mapped[list[Unit]] = relationship(secondary=dispute_co_unit)
    parties: Mapped[list[Party]] = relationship(
        back_populates="dispute", cascade="all, delete-orphan", order_by="Party.position"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="dispute", cascade="all, delete-orphan", order_by=lambda: (Event.at, Event.id)
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Dispute {self.case_no} {self.status}>"


# new_case_code's check, built once per process (a registration's statements are: issue 17).
_CASE_CODE_TAKEN = select(Dispute.__table__.c.id).where(Dispute.__table__.c.case_code == bindparam("code"))


class Party(db.Model):
    __tablename__ = "party"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    role: Mapped[PartyRole] = mapped_column(enum_type(PartyRole, 8))
    kind: Mapped[PartyKind] = mapped_column(enum_type(PartyKind, 8))
    name: Mapped[str] = mapped_column(String(100), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    # What the 人民调解协议书 prints besides: for a person 民族 and 职业或职务 (性别 and 出生日期 come
    # from the ID number); for a 法人 or other organisation its 法定代表人 (name, post); for anyone a
    # 委托代理人. All optional.
    ethnicity: Mapped[str | None] = mapped_column(String(16))
    occupation: Mapped[str | None] = mapped_column(String(100))
    legal_rep_name: Mapped[str | None] = mapped_column(String(100))
    legal_rep_title: Mapped[str | None] = mapped_column(String(50))
    agent_name: Mapped[str | None] = mapped_column(String(100))

    dispute: Mapped[Dispute] = relationship(back_populates="parties")

    def __repr__(self) -> str:
        return f"<Party {self.role} {self.name}>"


class Event(db.Model):
    """One step on a case's timeline: who did what, when, and the changed values."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The calendar day the step took effect (for imported history it is the ledger's date).
    on: Mapped[date | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    by_name: Mapped[str] = mapped_column(String(100), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    dispute: Mapped[Dispute] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Event {self.type} {self.at:%Y-%m-%d %H:%M}>"


class CaseSequence(db.Model):
    """The last number used per unit, series and year; incremented atomically, never reused.
    Series: ``case`` (案号, the registering unit's) and ``agreement`` (人民调解协议书编号, the 调委会's)."""

    __tablename__ = "case_sequence"
    __table_args__ = (UniqueConstraint("series", "unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(16), default="case", server_default="case")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    year: Mapped[int]
    last: Mapped[int] = mapped_column(default=0)


class IdempotencyRecord(db.Model):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Chinese labels of timeline event types; areas add theirs with register_event_label().
EVENT_LABELS: dict[str, str] = {
    "registered": "登记",
    "updated": "修改",
    "imported": "台账导入",
    "duplicate_warning": "疑似重复提示",
    "routed": "分流",
    "accepted": "受理",
    "rejected": "不予受理",
    "reassigned": "内部改派",
    "transferred": "移交",
    "escalated": "升级上报",
    "stabilized": "稳控",
    "closed": "办结",
    "session": "调解",
    "extended": "延长期限",
    "supervised": "督办",
    "police_notified": "民转刑预警",
    "agreement_drafted": "起草调解协议",
    "agreement_signed": "协议签名",
    "agreement_effective": "调解协议生效",
    "judicial_confirmation": "司法确认",
    "followup_done": "回访",
    "warning_level": "期限预警",
}


def register_event_label(type_: str, label: str) -> None:
    EVENT_LABELS[type_] = label


Event.label = property(lambda self: EVENT_LABELS.get(self.type, "其他办理事项"))  # never the raw type
