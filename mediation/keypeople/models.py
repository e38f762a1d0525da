"""重点人员 / 重点群体: the register of people and groups that need steady attention (稳控), their
linked cases, the history of every review and change, the durable "review due" rows of the sweep; and
包案: the leader who takes on a serious case (包案领导)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.enums import enum_type
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Node, Unit


class KeyKind(StrEnum):
    UNSTABLE_GROUP = "重大不稳定群体"
    PETITIONER = "重点信访人员"
    MENTAL_HEALTH = "肇事肇祸风险人员"
    EXTREME_RISK = "个人极端风险人员"
    OTHER = "其他重点人员"


class LogKind(StrEnum):
    CREATED = "登记"
    REVIEWED = "复查"
    CHANGED = "修改"
    LINKED = "关联案件"
    UNLINKED = "取消关联"


key_entry_dispute = Table(
    "key_entry_dispute",
    db.metadata,
    Column("entry_id", ForeignKey("key_entry.id", ondelete="CASCADE"), primary_key=True),
    Column("dispute_id", ForeignKey("dispute.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class KeyEntry(db.Model):
    """One person (重点信访人员 …) or group (重大不稳定群体, with its size) of the register."""

    __tablename__ = "key_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    is_group: Mapped[bool] = mapped_column(default=False)
    group_size: Mapped[int | None]
    kind: Mapped[KeyKind] = mapped_column(enum_type(KeyKind, 10))
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # 责任单位
    id_number: Mapped[str | None] = mapped_column(String(18))  # a person's, optional; masked by role
    measures: Mapped[str] = mapped_column(Text)  # 稳控措施
    review_days: Mapped[int]  # 复查周期（天）
    next_review_on: Mapped[date] = mapped_column(index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    node: Mapped[Node] = relationship()
    unit: Mapped[Unit] = relationship()
    cases: Mapped[list[Dispute]] = relationship(secondary=key_entry_dispute, order_by=Dispute.id)
    history: Mapped[list[KeyEntryLog]] = relationship(
        back_populates="entry",
        cascade="all, delete-orphan",
        order_by="(KeyEntryLog.created_at.desc(), KeyEntryLog.id.desc())",
    )

    def __repr__(self) -> str:
        return f"<KeyEntry {self.id}>"  # never the name or the ID number (logs)


class KeyEntryLog(db.Model):
    """One line of an entry's history: a review (date, who, note, next review date) or a change."""

    __tablename__ = "key_entry_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("key_entry.id", ondelete="CASCADE"), index=True)
    kind: Mapped[LogKind] = mapped_column(enum_type(LogKind, 8))
    on: Mapped[date]  # the review's date (a change: the day it was made)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    by_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    next_review_on: Mapped[date | None]
    # A case linked or unlinked (its number is the note; shown only to who may see the case).
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[KeyEntry] = relationship(back_populates="history")
    user: Mapped[User | None] = relationship()


class KeyReviewDue(db.Model):
    """The sweep's durable record of a "review due" follow-up: one row per entry and due date, so the
    notification goes out exactly once per interval whoever runs the sweep and how often."""

    __tablename__ = "key_review_due"
    __table_args__ = (UniqueConstraint("entry_id", "due_on", name="uq_key_review_due_entry_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("key_entry.id", ondelete="CASCADE"))
    due_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseLeader(db.Model):
    """包案: the leader who has taken on a case (one per case; ``dispute.case_leader``). The scorecard
    joins ``case_leader.dispute_id``."""

    __tablename__ = "case_leader"

    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    post: Mapped[str] = mapped_column(String(100))
    since: Mapped[date]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    dispute: Mapped[Dispute] = relationship(
        backref=backref("case_leader", uselist=False, cascade="all, delete-orphan", passive_deletes=True)
    )
