"""Follow-ups (回访), notifications, deadline alerts, supervision orders (督办) and the scheduler's
lease. Everything time-based is a row with a due date that the periodic sweep processes; unique keys
per case, kind and period make a second sweep (or a second process) do nothing."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.enums import enum_type
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute, Party, register_event_label
from mediation.extensions import db
from mediation.geo.models import Unit


class FollowUpKind(StrEnum):
    PERFORMANCE = "履行回访"
    SATISFACTION = "满意度回访"
    STABILIZE = "稳控回访"
    CONFIRMATION = "司法确认期满"


class FollowUpStatus(StrEnum):
    OPEN = "待办"
    DONE = "已完成"
    CANCELLED = "已取消"


class SupervisionLevel(StrEnum):
    ORDINARY = "普通"
    LISTED = "挂牌"


class SupervisionStatus(StrEnum):
    PENDING = "待回复"
    REPLIED = "已回复"
    ESCALATED = "已升级"  # not answered in time; the next 综治中心 up supervises it now
    LAPSED = "逾期未复"  # not answered in time and no 综治中心 above the issuer


class NotificationKind(StrEnum):
    WARNING = "预警"
    OVERDUE = "超期"
    FOLLOWUP_DUE = "回访到期"
    SUPERVISION = "督办"
    SUPERVISION_REPLY = "督办回复"
    SUPERVISION_ESCALATED = "督办升级"
    ROUTED = "分流"  # a case routed to the unit (by a 综治中心)
    TRANSFERRED = "移交"  # a case transferred to the unit by another unit
    ESCALATED = "上报"  # a case escalated to this 综治中心
    REFERRED = "委派调解"  # a court referred a case to the unit (诉前委派 / 诉中委托)
    WALK_IN = "直接受理"  # a 调委会 accepted a walk-in case at a place this 综治中心 is responsible for
    MONTH_CLOSED = "月结上报"  # a lower level closed and submitted a month
    REOPEN_REQUESTED = "重开申请"  # a lower level asks to reopen a closed month
    COURT_RETURN = "退回法院"  # a referred case came back to the court (诉调对接)
    KEY_REVIEW = "重点复查"  # a 重点人员/群体 entry is due for its review (mediation/keypeople)
    SWEEP_OPEN = "排查未登记"  # a dispute a sweep found is neither registered nor explained in time


for _type, _label in {
    "followup_done": "回访",
    "followup_rescheduled": "回访改期",
    "warning_level": "期限预警",
    "supervised": "督办",
    "supervision_replied": "督办回复",
    "supervision_escalated": "督办升级",
    "supervision_lapsed": "督办逾期",
}.items():
    register_event_label(_type, _label)


class FollowUp(db.Model):
    """One follow-up task on a case: who does it, by when, and its result.

    The period key is (case, kind, ``anchor_on``, ``round``): ``anchor_on`` is the day of the event
    that caused it (the agreement's effective date, the closing date, the 稳控 date) and ``round``
    counts the 稳控 visits of one 稳控 period."""

    __tablename__ = "followup"
    __table_args__ = (
        UniqueConstraint("dispute_id", "kind", "anchor_on", "round", name="uq_followup_period"),
        Index("ix_followup_status_due", "status", "due_on"),
        Index("ix_followup_unit_status", "unit_id", "status"),
        Index("ix_followup_done_at", "done_at"),  # the 满意率's answers of a month (reports/satisfaction.py)
        CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)", name="satisfaction_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FollowUpKind] = mapped_column(enum_type(FollowUpKind, 8))
    anchor_on: Mapped[date]
    round: Mapped[int] = mapped_column(default=1)
    status: Mapped[FollowUpStatus] = mapped_column(enum_type(FollowUpStatus, 8), default=FollowUpStatus.OPEN)
    # Assignee: the lead unit; a user when known (the case's handler).
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date]
    rescheduled_from: Mapped[date | None]  # the due date before the last rescheduling
    reschedule_reason: Mapped[str | None] = mapped_column(Text)
    reschedule_count: Mapped[int] = mapped_column(default=0)
    notified_at: Mapped[datetime | None]  # the assignee was told it is due (reset by rescheduling)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    result: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None]  # 1–5, 满意度回访
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    unit: Mapped[Unit] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    def __repr__(self) -> str:
        return f"<FollowUp {self.kind} #{self.round} due {self.due_on} {self.status}>"

    @property
    def takes_satisfaction(self) -> bool:
        return self.kind != FollowUpKind.CONFIRMATION

    @property
    def needs_satisfaction(self) -> bool:
        return self.kind == FollowUpKind.SATISFACTION


class PartyRating(db.Model):
    """A party's own rating of the handling of their case (1–5, an optional comment), given on the
    parties' page after the case is closed or visited (mediation/followups/ratings.py). One per party
    and case: the unique key makes a double submit or a second rating impossible."""

    __tablename__ = "party_rating"
    __table_args__ = (
        UniqueConstraint("dispute_id", "party_id", name="uq_party_rating_dispute_party"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_party_rating_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id", ondelete="CASCADE"), index=True)
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # UTC

    dispute: Mapped[Dispute] = relationship()
    party: Mapped[Party] = relationship()

    def __repr__(self) -> str:
        return f"<PartyRating {self.score} case {self.dispute_id} party {self.party_id}>"


class Notification(db.Model):
    """A message to one user, in the app (unread until read) and by e-mail when SMTP is configured.

    ``key`` names what it is about (e.g. ``deadline:12:超期:2026-12-02``): one notification per
    user and key, whoever and however often the sweep runs."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_mail_pending", "emailed_at", "email_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind, 8))
    key: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    # Where to act: a path of the app (the case page, the 督办 list, the month-close page).
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # E-mail outbox: the address at the time of the notification (None: no e-mail to send).
    email_to: Mapped[str | None] = mapped_column(String(254))
    emailed_at: Mapped[datetime | None]
    email_attempts: Mapped[int] = mapped_column(default=0)
    email_error: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()
    dispute: Mapped[Dispute | None] = relationship()

    def __repr__(self) -> str:
        return f"<Notification {self.kind} {self.key} → {self.user_id}>"


class DeadlineAlert(db.Model):
    """A case entered a warning level (预警 / 超期) for a given deadline: one row per case, level and
    deadline, inserted by whichever sweep sees it first; the notifications go with that insert."""

    __tablename__ = "deadline_alert"
    __table_args__ = (UniqueConstraint("dispute_id", "level", "deadline", name="uq_deadline_alert_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8))
    deadline: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()


class SupervisionOrder(db.Model):
    """督办: a 综治中心 orders a unit to report on a case by a reply date (普通 or 挂牌督办). An order
    not answered by then escalates, once, to the next 综治中心 up the tree."""

    __tablename__ = "supervision_order"
    __table_args__ = (Index("ix_supervision_status_reply_by", "status", "reply_by"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    level: Mapped[SupervisionLevel] = mapped_column(enum_type(SupervisionLevel, 4))
    status: Mapped[SupervisionStatus] = mapped_column(
        enum_type(SupervisionStatus, 8), default=SupervisionStatus.PENDING
    )
    issued_by_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    target_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    reply_by: Mapped[date]
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    escalated_at: Mapped[datetime | None]

    dispute: Mapped[Dispute] = relationship()
    issued_by_unit: Mapped[Unit] = relationship(foreign_keys=[issued_by_unit_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    target_unit: Mapped[Unit] = relationship(foreign_keys=[target_unit_id])
    replied_by: Mapped[User | None] = relationship(foreign_keys=[replied_by_id])
    escalated_to: Mapped[Unit | None] = relationship(foreign_keys=[escalated_to_id])

    def __repr__(self) -> str:
        return f"<SupervisionOrder {self.level} {self.status} reply by {self.reply_by}>"

    @property
    def awaiting_reply(self) -> bool:
        return self.status in (
            SupervisionStatus.PENDING,
            SupervisionStatus.ESCALATED,
            SupervisionStatus.LAPSED,
        )


class SchedulerLease(db.Model):
    """Who runs the scheduler now. Taken with one atomic ``UPDATE … WHERE expires_at < now`` (or by
    its own holder, to renew), so with several web workers and ``flask scheduler`` processes only
    one runs the jobs at a time; a crashed holder's lease simply expires."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime | None]
    renewed_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(default=0)  # sweeps run under this lease, all holders
    last_run_at: Mapped[datetime | None]
    last_run_by: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<SchedulerLease {self.name} {self.holder} until {self.expires_at}>"


# APScheduler's SQLAlchemyJobStore table, declared in the app's metadata (same shape as the one the
# job store would create) so that migrations, create_all and the model/migration check know it.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
