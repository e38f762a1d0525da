"""Sweep reports (排查), the month close (月清月结) with its submissions and reopenings, and the
carry-over reasons written at the close. (The overdue review's 督办 is a follow-ups ``SupervisionOrder``.)"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Node, Unit

# Indexes of the dispute table that serve the reports (they live here, next to the queries):
# - registrations and closings (with their outcome) per day and 属地 node, read alone (index-only,
#   in day order) by the 12-month trend; the second also finds the cases not closed before a day;
# - 突出问题 by closing day, for the list of the ones still open at a month's end;
# - 突出问题 by 属地 node (and closing day), for that list in one 区 of a province: PostgreSQL
#   walks the subtree's nodes through it and reads their ~100 突出问题 each instead of every case
#   (10⁷ cases, 20 districts: 0.38 s instead of 2.8 s; bench/README.md);
# - every case by 属地 node and closing day: on PostgreSQL a subtree is an array of node ids
#   (reports.sql.in_subtree), and the cases of one 区 of a province not closed before a day are two
#   scans of this index per node (null / after the day) instead of a scan of the whole table. It
#   replaces the plain index on node_id (ix_dispute_node_id), which it and ix_dispute_node_registered
#   lead with: an insert updates as many indexes as before.
Index("ix_dispute_registered_node", Dispute.registered_on, Dispute.node_id)
Index("ix_dispute_node_closed", Dispute.node_id, Dispute.closed_on)
Index("ix_dispute_closed_node", Dispute.closed_on, Dispute.node_id, Dispute.outcome)
Index("ix_dispute_prominent_closed", Dispute.prominent, Dispute.closed_on)
Index(
    "ix_dispute_prominent_node_closed",
    Dispute.node_id,
    Dispute.closed_on,
    sqlite_where=text("prominent"),
    postgresql_where=text("prominent"),
)


class Screening(db.Model):
    """A grid's sweep report (排查) for a day: how many disputes the sweep found (0 = 零报告).

    One row per grid, day and reporting user: a retried POST updates the row instead of adding one."""

    __tablename__ = "screening"
    __table_args__ = (
        UniqueConstraint("node_id", "reported_on", "user_id"),
        Index("ix_screening_reported_node", "reported_on", "node_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"))  # a 网格 node
    reported_on: Mapped[date]
    found: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    node: Mapped[Node] = relationship()
    user: Mapped[User] = relationship()
    findings: Mapped[list[SweepFinding]] = relationship(
        back_populates="screening", order_by="SweepFinding.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Screening {self.reported_on} found={self.found}>"

    @property
    def is_zero(self) -> bool:
        return self.found == 0


class SweepFinding(db.Model):
    """One dispute a sweep found (排查发现): what, where, who, which category — then either registered
    as a case (``dispute_id``), linked to an existing one (also ``dispute_id``), or explained
    (``explained_reason``: why it needs no case), never two of these. ``flagged_at``: when the
    综治中心 was told it was still open after SWEEP_REGISTER_DAYS (the sweep step, once)."""

    __tablename__ = "sweep_finding"
    __table_args__ = (
        CheckConstraint("dispute_id IS NULL OR explained_reason IS NULL", name="registered_or_explained"),
        Index("ix_sweep_finding_open", "dispute_id", "explained_reason", "flagged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screening.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"))  # the grid, or its village
    parties: Mapped[str | None] = mapped_column(String(200))  # names, 、-separated, optional
    category: Mapped[str] = mapped_column(String(40))
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id"), index=True)
    linked: Mapped[bool] = mapped_column(default=False)  # linked to an existing case, not registered from it
    explained_reason: Mapped[str | None] = mapped_column(String(20))
    explained_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None]
    flagged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    screening: Mapped[Screening] = relationship(back_populates="findings")
    node: Mapped[Node] = relationship()
    dispute: Mapped[Dispute | None] = relationship()

    def __repr__(self) -> str:
        return f"<SweepFinding {self.id} of screening {self.screening_id}>"

    @property
    def state(self) -> str:
        if self.dispute_id is not None:
            return "已关联" if self.linked else "已登记"
        return "已说明" if self.explained_reason else "待处理"

    @property
    def is_open(self) -> bool:
        return self.dispute_id is None and self.explained_reason is None


class MonthClose(db.Model):
    """月清月结 of a node for a month: the figures frozen at close time (``snapshot``), submitted
    (上报) to the next 综治中心 up. A reopened close stays on record (status 已重开) and the month
    can be closed again, which adds a new row with the next ``seq``."""

    __tablename__ = "month_close"
    __table_args__ = (
        UniqueConstraint("node_id", "month", "seq"),
        Index("ix_month_close_node_month", "node_id", "month"),
    )

    CLOSED, REOPENED = "已结", "已重开"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    seq: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(8), default=CLOSED)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_by_name: Mapped[str] = mapped_column(String(100), default="")
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 上报: the node of the next 综治中心 up (None at the top of the tree).
    submitted_to_id: Mapped[int | None] = mapped_column(ForeignKey("node.id"), index=True)
    submitted_at: Mapped[datetime | None]
    reopened_at: Mapped[datetime | None]

    node: Mapped[Node] = relationship(foreign_keys=[node_id])
    submitted_to: Mapped[Node | None] = relationship(foreign_keys=[submitted_to_id])
    closed_by: Mapped[User | None] = relationship()
    reopen_requests: Mapped[list[ReopenRequest]] = relationship(
        back_populates="month_close", order_by="ReopenRequest.id"
    )

    def __repr__(self) -> str:
        return f"<MonthClose {self.month} #{self.seq} {self.status}>"

    @property
    def is_active(self) -> bool:
        return self.status == self.CLOSED


class ReopenRequest(db.Model):
    """A request to reopen a closed month; it needs the consent of the level the month was
    submitted to. Approved or refused, it stays on record."""

    __tablename__ = "month_reopen_request"

    PENDING, APPROVED, REFUSED = "待审批", "已同意", "已驳回"

    id: Mapped[int] = mapped_column(primary_key=True)
    month_close_id: Mapped[int] = mapped_column(ForeignKey("month_close.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_by_name: Mapped[str] = mapped_column(String(100), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(8), default=PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    month_close: Mapped[MonthClose] = relationship(back_populates="reopen_requests")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def __repr__(self) -> str:
        return f"<ReopenRequest {self.status}>"


class CarryOver(db.Model):
    """A carry-over reason (结转说明) written for an open 突出问题 at the close of a month. The
    latest reason is also kept on the case (``Dispute.carry_over_reason``)."""

    __tablename__ = "carry_over"
    __table_args__ = (Index("ix_carry_over_dispute_month", "dispute_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    user: Mapped[User | None] = relationship()


class Notice(db.Model):
    """通报: a 综治中心's notice of a period's scorecard for its node — the ranking, the units 通报表扬
    and 通报批评, the overdue cases — kept as the data it was issued with (``snapshot``) and the PDF
    (``pdf``). One per node and period (a retried issue does not make a second); numbered per issuing
    unit and year (``seq``)."""

    __tablename__ = "report_notice"
    __table_args__ = (
        UniqueConstraint("node_id", "period", name="uq_report_notice_period"),
        UniqueConstraint("issued_by_unit_id", "year", "seq", name="uq_report_notice_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # 2026-11, 2026-Q4, 2026
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(120))
    issued_by_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    node: Mapped[Node] = relationship()
    issued_by_unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship()
    named: Mapped[list[NoticeNamed]] = relationship(cascade="all, delete-orphan", back_populates="notice")


class NoticeNamed(db.Model):
    """A node (unit) a 通报 names: 表扬, 批评, or 超期 (one of its cases is listed overdue). Its staff
    see the notice (``notices.may_see_notice``)."""

    __tablename__ = "report_notice_node"

    notice_id: Mapped[int] = mapped_column(
        ForeignKey("report_notice.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)

    notice: Mapped[Notice] = relationship(back_populates="named")
