"""Import provenance of ledger cases, and the background jobs of the web import/export."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.geo.models import Node


class LedgerJob(db.Model):
    """One import or export started on the web: a queue entry that a worker process claims
    (``status`` queued → running, atomically; ``worker`` names the claimer), keeps alive
    (``heartbeat_at``) and ends (done / failed). A job whose worker stopped beating is queued again
    up to LEDGER_JOB_ATTEMPTS runs (``attempts``), then failed with a message. The page polls its
    progress (``stage``, ``rows_done`` / ``rows_total``) and then shows ``result``. Its files (the
    upload, the results) are :class:`LedgerJobFile` rows."""

    __tablename__ = "ledger_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # import / export
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    node_id: Mapped[int | None] = mapped_column(ForeignKey("node.id"))  # export: the subtree
    filename: Mapped[str] = mapped_column(String(255), default="")
    partial: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(8), default="queued", index=True)  # queued/running/done/failed
    stage: Mapped[str] = mapped_column(String(16), default="")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)  # runs started (claims)
    worker: Mapped[str | None] = mapped_column(String(100))  # who runs it (while running)
    heartbeat_at: Mapped[datetime | None]  # real UTC time of the running worker's last sign of life

    user: Mapped[User] = relationship()
    node: Mapped[Node | None] = relationship()

    STATUS_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}

    def __repr__(self) -> str:
        return f"<LedgerJob {self.id} {self.kind} {self.status}>"

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class LedgerJobFile(db.Model):
    """A file of a job, in the database so that every web and worker machine sees it: the upload
    (``name`` "upload"), and the results ("rejects", "report", "export"). Stored in chunks of at
    most 1 MiB (``seq`` 0, 1, …) so that neither a request nor the worker holds a whole file in memory."""

    __tablename__ = "ledger_job_file"
    __table_args__ = (UniqueConstraint("job_id", "name", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ledger_job.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<LedgerJobFile job={self.job_id} {self.name}#{self.seq}>"


class LedgerRecord(db.Model):
    """Where an imported case came from. ``fingerprint`` (the row's content) makes the re-import
    of rows without 案件编号 idempotent; ``extra`` keeps the workbook's non-standard columns."""

    __tablename__ = "ledger_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), unique=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_job.id", ondelete="SET NULL"), index=True)
    source_file: Mapped[str] = mapped_column(String(255), default="")
    source_row: Mapped[int]
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<LedgerRecord dispute={self.dispute_id} row={self.source_row}>"
