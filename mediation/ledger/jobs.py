"""Web imports and exports run off the request, in a background thread, one job row each.

The request saves the upload, creates a :class:`LedgerJob` and starts the thread; the page polls
:func:`progress_of`. Progress is kept in this process's memory and also written to the job row
(through its own short connection, throttled), so a poll answered by another worker process still
sees it — except on SQLite while the import's write transaction is open (SQLite has one writer;
the row is brought up to date when the job ends)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import update

from mediation.common.spreadsheet import csv_writer
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.ledger.models import LedgerJob

log = logging.getLogger(__name__)

_LIVE: dict[int, tuple[str, int, int | None]] = {}
_THREADS: dict[int, threading.Thread] = {}

UPLOAD = "upload"
REJECTS = "错误行.xlsx"
REPORT = "导入报告.csv"
EXPORT = "台账.xlsx"


def jobs_root() -> Path:
    cfg = current_app.config
    root = cfg.get("LEDGER_JOB_DIR") or Path(cfg.get("INSTANCE_DIR") or current_app.instance_path) / "ledger_jobs"
    return Path(root)


def job_dir(job: LedgerJob) -> Path:
    path = jobs_root() / str(job.id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(job: LedgerJob) -> Path:
    suffix = Path(job.filename).suffix.lower()
    return job_dir(job) / f"{UPLOAD}{suffix}"


def start(job_id: int) -> threading.Thread:
    """Run the job in a background thread (the job row must be committed first)."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run, args=(app, job_id), name=f"ledger-job-{job_id}", daemon=True)
    _THREADS[job_id] = thread
    thread.start()
    return thread


def wait(job_id: int, timeout: float | None = None) -> None:
    """Wait for a job started in this process (tests, shutdown)."""
    thread = _THREADS.get(job_id)
    if thread is not None:
        thread.join(timeout)


def progress_of(job: LedgerJob) -> dict:
    stage, done, total = _LIVE.get(job.id, (job.stage, job.rows_done, job.rows_total))
    if job.finished:
        stage, done, total = job.stage, job.rows_done, job.rows_total
    percent = min(100, round(done * 100 / total)) if total else (100 if job.finished else None)
    return {"status": job.status, "status_label": job.status_label, "stage": stage, "done": done,
            "total": total, "percent": percent, "finished": job.finished}


def _run(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run(job_id)
        except Exception:  # never let a job die silently
            log.exception("ledger job %s failed", job_id)
        finally:
            db.session.remove()
            _LIVE.pop(job_id, None)
            _THREADS.pop(job_id, None)


def _progress_writer(job_id: int):
    sqlite = db.engine.dialect.name == "sqlite"
    last = [0.0]

    def progress(done: int, total: int | None, stage: str) -> None:
        _LIVE[job_id] = (stage, done, total)
        if sqlite and stage != "校验" and stage != "导出":
            return  # the import's write transaction holds SQLite's only write lock
        now = time.monotonic()
        if now - last[0] < 0.5 and not (total and done >= total):
            return
        last[0] = now
        with db.engine.begin() as conn:
            conn.execute(update(LedgerJob).where(LedgerJob.id == job_id)
                         .values(stage=stage, rows_done=done, rows_total=total))

    return progress


def run(job_id: int) -> None:
    """Run one job to its end: ``done`` with a result, or ``failed`` with a message."""
    from mediation.ledger.service import LedgerAccessError, export_ledger, import_ledger

    job = db.session.get(LedgerJob, job_id)
    job.status, job.started_at = "running", utcnow()
    db.session.commit()
    progress = _progress_writer(job_id)
    try:
        if job.kind == "import":
            folder = job_dir(job)
            result = import_ledger(upload_path(job), user=job.user, partial=job.partial,
                                   rejects_path=folder / REJECTS, progress=progress, job_id=job.id,
                                   source_name=job.filename)
            if result.written:
                db.session.commit()
            else:
                db.session.rollback()
            _write_report(folder / REPORT, result)
            outcome = result.as_dict()
        else:
            summary = export_ledger(job_dir(job) / EXPORT, job.node, user=job.user, progress=progress)
            outcome = {"ok": True, **summary,
                       "summary": f"已导出案件 {summary['disputes']} 件、当事人 {summary['parties']} 人。"}
        stage, done, total = _LIVE.get(job_id, ("", 0, None))
        job = db.session.get(LedgerJob, job_id)
        job.status, job.result = "done", outcome
        job.stage, job.rows_done, job.rows_total = stage, done, total
    except LedgerAccessError as err:
        db.session.rollback()
        job = db.session.get(LedgerJob, job_id)
        job.status, job.message = "failed", str(err)
    except Exception as err:
        db.session.rollback()
        log.exception("ledger job %s failed", job_id)
        job = db.session.get(LedgerJob, job_id)
        job.status, job.message = "failed", f"处理失败，未导入任何数据：{type(err).__name__}。请联系管理员查看日志。"
    job.finished_at = utcnow()
    db.session.commit()


def _write_report(path: Path, result) -> None:
    """The complete report as a CSV that Excel opens (UTF-8 with BOM); text never starts a formula
    (mediation.common.spreadsheet)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv_writer(fh)
        out.writerow(["类别", "工作表", "行号", "列", "说明"])
        for line in [result.summary(), *result.notes]:
            out.writerow(["说明", "", "", "", line])
        for issue in result.errors:
            out.writerow(["错误", *issue.as_list()])
        for issue in result.duplicates:
            out.writerow(["重复", *issue.as_list()])
