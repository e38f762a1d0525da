"""Web imports and exports are jobs: rows of ``ledger_job`` that a worker process runs.

The web request stores the upload in the database (:class:`LedgerJobFile`, in chunks) and queues a
:class:`LedgerJob`; it never runs the job. A :class:`JobWorker` runs the jobs: a thread of the
scheduler process (``flask --app mediation scheduler``, production), of the ``flask run`` process in
the embedded default (started next to the embedded scheduler), or ``flask --app mediation ledger
work`` on its own. Any number of workers may run against one database:

- **claiming** is one statement, ``UPDATE … SET status='running', worker=me WHERE id = (the oldest
  queued job, FOR UPDATE SKIP LOCKED on PostgreSQL) AND status='queued' RETURNING id``; on SQLite the
  transaction holds the database write lock. Two workers never run the same job.
- a running job **beats**: a thread of its worker writes ``heartbeat_at`` (and the progress, which any
  web process then shows) every LEDGER_JOB_HEARTBEAT seconds. A job silent for LEDGER_JOB_TIMEOUT
  seconds (its worker was killed, its machine died) is queued again, at most LEDGER_JOB_ATTEMPTS runs
  in all, then marked failed with a Chinese message: never "running" forever.
- every write of a run is **fenced**: the end of a run (``done``/``failed``, in the same transaction as
  the import's rows and the result files) only happens ``WHERE worker = me AND status = 'running'``,
  so a worker that lost its job (taken over after a pause) writes nothing. An import is all or
  nothing, so a run that died wrote nothing and a retry starts clean.
- a worker told to stop (SIGTERM) interrupts its job at the next progress step and queues it again at
  once (the interrupted run does not count).

Files: the upload is deleted when its job ends (or LEDGER_UPLOAD_KEEP_DAYS days later); the results
(rejects workbook, report, export) after LEDGER_RESULT_KEEP_DAYS days. While a job runs, the worker
copies what it needs into a private scratch directory (0700, files 0600) that it removes at the end.
No page or result shows a server path."""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import delete, insert, or_, select, update

from mediation import clock
from mediation.accounts.access import is_admin, is_center_user_or_admin, predicate
from mediation.common.spreadsheet import csv_writer
from mediation.common.time import utcnow
from mediation.common.worker import PollingWorker
from mediation.database import write_intent
from mediation.extensions import db
from mediation.ledger.models import LedgerJob, LedgerJobFile
from mediation.ledger.service import STAGE_WRITE, LedgerAccessError, export_ledger, import_ledger

log = logging.getLogger(__name__)

UPLOAD = "upload"
REJECTS = "rejects"
REPORT = "report"
EXPORT = "export"
CHUNK = 1 << 20  # bytes per LedgerJobFile row
QUEUED_STAGE = "排队"
RETRY_NOTE = "上次处理中断（处理进程停止或重启），已自动重新排队。"
DEAD_MESSAGES = {
    "import": "处理中断：处理进程多次停止（例如服务重启），导入未完成，未导入任何数据。请重新上传文件。",
    "export": "处理中断：处理进程多次停止（例如服务重启），导出未完成。请重新导出。",
}
QUEUED_LONG = 120  # seconds in the queue after which the page explains the wait
QUEUED_LONG_NOTE = (
    "任务仍在排队：前面的任务完成后即开始；如长时间未开始，请联系管理员确认后台任务服务正在运行。"
)
UPLOAD_GONE = "上传的文件已不存在（已超过保留期限被清除），未导入任何数据。请重新上传文件。"
PURGE_EVERY = 60.0  # seconds between purges of old files by a worker
WORK_PREFIX = "mediation-ledger-job-"
EXTENSION_KEY = "mediation_ledger_worker"

_LIVE: dict[int, tuple[str, int, int | None]] = {}  # progress of the jobs this process runs
_WAKE = threading.Event()  # set by a web request of this process that queued a job


class JobLost(Exception):
    """The job is no longer this worker's (taken over after its heartbeat went stale)."""


class JobInterrupted(Exception):
    """The worker is stopping: the job goes back to the queue."""


# --- files ------------------------------------------------------------------------------------------------


def store_file(job_id: int, name: str, stream) -> int:
    """Copy a binary stream into the job's file ``name``, in the caller's transaction. Returns its size."""
    seq = size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk and seq:
            break
        db.session.execute(insert(LedgerJobFile).values(job_id=job_id, name=name, seq=seq, data=bytes(chunk)))
        seq += 1
        size += len(chunk)
        if not chunk:
            break
    return size


def file_names(job_id: int) -> set[str]:
    """The files a job has now (a purged one is gone)."""
    return set(
        db.session.scalars(
            select(LedgerJobFile.name).where(LedgerJobFile.job_id == job_id, LedgerJobFile.seq == 0)
        )
    )


class StoredFile(io.RawIOBase):
    """A job's file read chunk by chunk, each in its own short query (for streaming downloads)."""

    def __init__(self, engine, job_id: int, name: str):
        super().__init__()
        self.engine, self.job_id, self.name = engine, job_id, name
        self.seq = 0
        self.buf = memoryview(b"")
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self.buf and not self.eof:
            with self.engine.connect() as conn:
                data = conn.execute(
                    select(LedgerJobFile.data).where(
                        LedgerJobFile.job_id == self.job_id,
                        LedgerJobFile.name == self.name,
                        LedgerJobFile.seq == self.seq,
                    )
                ).scalar()
            if data is None:
                self.eof = True
            else:
                self.buf = memoryview(bytes(data))
                self.seq += 1
        n = min(len(target), len(self.buf))
        target[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


def open_file(job_id: int, name: str) -> io.BufferedReader | None:
    if name not in file_names(job_id):
        return None
    return io.BufferedReader(StoredFile(db.engine, job_id, name), buffer_size=CHUNK)


def _private_file(path: Path):
    """Create (or truncate) ``path`` readable by the owner only, and return it open for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def _copy_out(job_id: int, name: str, path: Path) -> bool:
    """Write the job's stored file to ``path`` (0600). False when the job has no such file."""
    with _private_file(path) as out:
        seq = 0
        while (
            data := db.session.scalar(
                select(LedgerJobFile.data).where(
                    LedgerJobFile.job_id == job_id, LedgerJobFile.name == name, LedgerJobFile.seq == seq
                )
            )
        ) is not None:
            out.write(data)
            seq += 1
    db.session.commit()
    return seq > 0


def _store_path(job_id: int, name: str, path: Path) -> None:
    with path.open("rb") as fh:
        store_file(job_id, name, fh)


def work_root() -> Path:
    root = Path(current_app.config.get("LEDGER_WORK_DIR") or tempfile.gettempdir())
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _scratch_name(filename: str) -> str:
    """The upload's name in the scratch directory: the user's file name (messages quote it)."""
    name = Path(filename.replace("\\", "/")).name
    if not name or name.startswith(".") or len(name.encode()) > 200 or "\x00" in name:
        name = "upload" + Path(filename).suffix.lower()[:8]
    return name


def _scrub(value, folder: Path):
    """Any mention of the scratch directory taken out of a result (no page shows a server path)."""
    if isinstance(value, str):
        return value.replace(f"{folder}{os.sep}", "").replace(str(folder), "")
    if isinstance(value, list):
        return [_scrub(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, folder) for k, v in value.items()}
    return value


# --- queueing (web) ---------------------------------------------------------------------------------------


@predicate
def may_import_ledger(user) -> bool:
    """导入台账 on the web: 综治中心 staff and admins (the rows are checked against the importer's
    subtree by the job; the CLI imports as no one, with every node in reach)."""
    return is_center_user_or_admin(user)


@predicate
def may_see_job(user, job: LedgerJob) -> bool:
    """A 台账 job's progress, report and files: the user who started it, or an admin."""
    return job.user_id == user.id or is_admin(user)


def enqueue_import(user, stream, filename: str, partial: bool) -> int:
    """Queue an import of the uploaded ``stream``; the caller commits."""
    job = LedgerJob(
        kind="import", user_id=user.id, filename=filename[-255:], partial=partial, stage=QUEUED_STAGE
    )
    db.session.add(job)
    db.session.flush()
    store_file(job.id, UPLOAD, stream)
    return job.id


def enqueue_export(user, node) -> int:
    """Queue an export of ``node``'s subtree; the caller commits."""
    job = LedgerJob(
        kind="export",
        user_id=user.id,
        node_id=node.id,
        filename=f"台账-{node.name}-{node.code}.xlsx",
        stage=QUEUED_STAGE,
    )
    db.session.add(job)
    db.session.flush()
    return job.id


def wake() -> None:
    """Tell a worker of this process (embedded mode) that a job was queued, instead of its next poll."""
    _WAKE.set()


def progress_of(job: LedgerJob) -> dict:
    stage, done, total = _LIVE.get(job.id, (job.stage, job.rows_done, job.rows_total))
    if job.finished:
        stage, done, total = job.stage, job.rows_done, job.rows_total
    percent = min(100, round(done * 100 / total)) if total else (100 if job.finished else None)
    note = None if job.finished else job.message
    if job.status == "queued" and not note and job.created_at < utcnow() - timedelta(seconds=QUEUED_LONG):
        note = QUEUED_LONG_NOTE
    return {
        "status": job.status,
        "status_label": job.status_label,
        "stage": stage,
        "done": done,
        "total": total,
        "percent": percent,
        "finished": job.finished,
        "note": note,
    }


# --- the queue (worker) -----------------------------------------------------------------------------------


def claim(worker: str) -> int | None:
    """Take the oldest queued job for ``worker``, atomically; None when the queue is empty."""
    oldest = (
        select(LedgerJob.id)
        .where(LedgerJob.status == "queued")
        .order_by(LedgerJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with write_intent():
        db.session.commit()
        job_id = db.session.execute(
            update(LedgerJob)
            .where(LedgerJob.id == oldest, LedgerJob.status == "queued")
            .values(
                status="running",
                worker=worker,
                heartbeat_at=clock.real_now(),
                started_at=utcnow(),
                attempts=LedgerJob.attempts + 1,
                rows_done=0,
                rows_total=None,
            )
            .returning(LedgerJob.id)
            .execution_options(synchronize_session=False)
        ).scalar()
        db.session.commit()
    return job_id


def reclaim_stale() -> tuple[list[int], list[int]]:
    """Jobs whose worker stopped beating: queued again, or failed after LEDGER_JOB_ATTEMPTS runs.
    Each UPDATE re-checks its condition on the locked row, so a job that beat meanwhile is left alone."""
    cfg = current_app.config
    cutoff = clock.real_now() - timedelta(seconds=float(cfg["LEDGER_JOB_TIMEOUT"]))
    attempts = int(cfg["LEDGER_JOB_ATTEMPTS"])
    stale = (
        LedgerJob.status == "running",
        or_(LedgerJob.heartbeat_at < cutoff, LedgerJob.heartbeat_at.is_(None)),
    )
    with write_intent():
        db.session.commit()
        requeued = list(
            db.session.scalars(
                update(LedgerJob)
                .where(*stale, LedgerJob.attempts < attempts)
                .values(
                    status="queued",
                    worker=None,
                    heartbeat_at=None,
                    stage=QUEUED_STAGE,
                    rows_done=0,
                    rows_total=None,
                    message=RETRY_NOTE,
                )
                .returning(LedgerJob.id)
                .execution_options(synchronize_session=False)
            )
        )
        failed = []
        for kind, message in DEAD_MESSAGES.items():
            failed += db.session.scalars(
                update(LedgerJob)
                .where(*stale, LedgerJob.attempts >= attempts, LedgerJob.kind == kind)
                .values(status="failed", message=message, finished_at=utcnow())
                .returning(LedgerJob.id)
                .execution_options(synchronize_session=False)
            )
        if failed and _upload_keep_days() <= 0:
            db.session.execute(
                delete(LedgerJobFile).where(LedgerJobFile.job_id.in_(failed), LedgerJobFile.name == UPLOAD)
            )
        db.session.commit()
    for job_id in requeued:
        log.warning("ledger job %s: its worker stopped; queued again", job_id)
    for job_id in failed:
        log.warning("ledger job %s: its worker stopped and it ran %s times; failed", job_id, attempts)
    return requeued, failed


def _upload_keep_days() -> float:
    return float(current_app.config.get("LEDGER_UPLOAD_KEEP_DAYS") or 0)


def purge() -> tuple[int, int]:
    """Delete uploads and results past their keeping time, and scratch directories of dead runs.
    Returns the numbers of upload and result files deleted."""
    cfg = current_app.config
    now = utcnow()
    counts = []
    for names, days in (
        ([UPLOAD], _upload_keep_days()),
        ([REJECTS, REPORT, EXPORT], float(cfg.get("LEDGER_RESULT_KEEP_DAYS") or 0)),
    ):
        if days <= 0 and names != [UPLOAD]:
            counts.append(0)  # results kept for ever
            continue
        ended = select(LedgerJob.id).where(
            LedgerJob.status.in_(("done", "failed")), LedgerJob.finished_at <= now - timedelta(days=days)
        )
        with write_intent():
            db.session.commit()
            gone = db.session.scalars(
                delete(LedgerJobFile)
                .where(LedgerJobFile.name.in_(names), LedgerJobFile.seq == 0, LedgerJobFile.job_id.in_(ended))
                .returning(LedgerJobFile.job_id)
                .execution_options(synchronize_session=False)
            ).all()
            db.session.execute(
                delete(LedgerJobFile)
                .where(LedgerJobFile.name.in_(names), LedgerJobFile.job_id.in_(ended))
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
        counts.append(len(gone))
    _clean_scratch()
    return counts[0], counts[1]


def _clean_scratch() -> None:
    """Scratch directories left by a killed worker on this machine (their job no longer runs)."""
    root = work_root()
    older = time.time() - float(current_app.config["LEDGER_JOB_TIMEOUT"])
    for entry in root.glob(f"{WORK_PREFIX}*"):
        try:
            job_id = int(entry.name[len(WORK_PREFIX) :].split("-")[0])
            if entry.stat().st_mtime > older:
                continue
        except (ValueError, OSError):
            continue
        if db.session.scalar(select(LedgerJob.status).where(LedgerJob.id == job_id)) != "running":
            shutil.rmtree(entry, ignore_errors=True)
    db.session.commit()


# --- running a job ----------------------------------------------------------------------------------------


class _Heartbeat:
    """While a job runs: writes ``heartbeat_at`` and the progress to its row, through its own short
    transactions, every LEDGER_JOB_HEARTBEAT seconds and whenever the progress moved (at most twice
    a second). A beat that finds the job no longer this worker's marks it ``lost``."""

    def __init__(self, app: Flask, job_id: int, worker: str):
        self.app, self.job_id, self.worker = app, job_id, worker
        self.every = float(app.config["LEDGER_JOB_HEARTBEAT"])
        # SQLite: the import's write pass holds the only write lock; the row is updated at its end.
        self.skip_stage = STAGE_WRITE if db.engine.dialect.name == "sqlite" else None
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"ledger-job-{job_id}-heartbeat", daemon=True)

    def start(self) -> _Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        with self.app.app_context(), write_intent():
            last_beat, written = time.monotonic(), None
            while not self._stop.wait(0.5):
                live = _LIVE.get(self.job_id)
                now = time.monotonic()
                if (live == written and now - last_beat < self.every) or (
                    live and live[0] == self.skip_stage
                ):
                    continue
                try:
                    if not self.beat(live):
                        self.lost = True
                        return
                except Exception:
                    log.warning("ledger job %s: heartbeat failed", self.job_id, exc_info=True)
                    continue
                last_beat, written = now, live

    def beat(self, live) -> bool:
        values = {"heartbeat_at": clock.real_now()}
        if live:
            values.update(stage=live[0], rows_done=live[1], rows_total=live[2])
        with db.engine.begin() as conn:
            result = conn.execute(
                update(LedgerJob)
                .where(
                    LedgerJob.id == self.job_id,
                    LedgerJob.worker == self.worker,
                    LedgerJob.status == "running",
                )
                .values(**values)
            )
        return result.rowcount == 1


def _finish(
    job_id: int, worker: str, status: str, *, result: dict | None = None, message: str | None = None
) -> str:
    """End this worker's run of the job in the current transaction (with whatever the run wrote),
    and commit. Raises :class:`JobLost` if the job is no longer this worker's."""
    values = {"status": status, "finished_at": utcnow(), "message": message, "result": result or {}}
    if job_id in _LIVE:
        values["stage"], values["rows_done"], values["rows_total"] = _LIVE[job_id]
    with write_intent():
        done = db.session.execute(
            update(LedgerJob)
            .where(LedgerJob.id == job_id, LedgerJob.worker == worker, LedgerJob.status == "running")
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            db.session.rollback()
            raise JobLost(job_id)
        if _upload_keep_days() <= 0:
            db.session.execute(
                delete(LedgerJobFile).where(LedgerJobFile.job_id == job_id, LedgerJobFile.name == UPLOAD)
            )
        db.session.commit()
    return status


def _requeue(job_id: int, worker: str) -> None:
    """Give an interrupted run's job back to the queue at once (the run does not count)."""
    with write_intent():
        db.session.execute(
            update(LedgerJob)
            .where(LedgerJob.id == job_id, LedgerJob.worker == worker, LedgerJob.status == "running")
            .values(
                status="queued",
                worker=None,
                heartbeat_at=None,
                attempts=LedgerJob.attempts - 1,
                stage=QUEUED_STAGE,
                rows_done=0,
                rows_total=None,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def run(job_id: int, worker: str, stop: threading.Event | None = None) -> str:
    """Run a job that ``worker`` has claimed to its end: ``done`` with a result, or ``failed`` with a
    message. Returns the job's status afterwards as this worker knows it ("queued" when interrupted,
    "lost" when it was taken over)."""

    app = current_app._get_current_object()
    stop = stop or threading.Event()
    folder = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{job_id}-", dir=work_root()))  # mode 0700
    beat = _Heartbeat(app, job_id, worker).start()

    def progress(done: int, total: int | None, stage: str) -> None:
        _LIVE[job_id] = (stage, done, total)
        if beat.lost:
            raise JobLost(job_id)
        if stop.is_set():
            raise JobInterrupted(job_id)

    try:
        job = db.session.get(LedgerJob, job_id, populate_existing=True)
        if job.kind == "import":
            with write_intent():  # SQLite: take the write lock at BEGIN, never upgrade mid-transaction
                return _run_import(job, worker, folder, progress)
        return _run_export(job, worker, folder, progress)
    except JobInterrupted:
        db.session.rollback()
        _requeue(job_id, worker)
        log.info("ledger job %s interrupted (the worker is stopping); queued again", job_id)
        return "queued"
    except JobLost:
        db.session.rollback()
        log.warning("ledger job %s was taken over by another worker; this run's work is discarded", job_id)
        return "lost"
    except LedgerAccessError as err:
        db.session.rollback()
        return _end_failed(job_id, worker, str(err))
    except Exception as err:
        db.session.rollback()
        log.exception("ledger job %s failed", job_id)
        return _end_failed(
            job_id, worker, f"处理失败，未导入任何数据：{type(err).__name__}。请联系管理员查看日志。"
        )
    finally:
        beat.stop()
        shutil.rmtree(folder, ignore_errors=True)
        _LIVE.pop(job_id, None)


def _end_failed(job_id: int, worker: str, message: str) -> str:
    try:
        return _finish(job_id, worker, "failed", message=message)
    except JobLost:
        return "lost"


def _run_import(job: LedgerJob, worker: str, folder: Path, progress) -> str:
    job_id, filename = job.id, job.filename
    source = folder / _scratch_name(filename)
    if not _copy_out(job_id, UPLOAD, source):
        return _finish(job_id, worker, "failed", message=UPLOAD_GONE)
    rejects = folder / "rejects.xlsx"
    _private_file(rejects).close()
    result = import_ledger(
        source,
        user=job.user,
        partial=job.partial,
        rejects_path=rejects,
        progress=progress,
        job_id=job_id,
        source_name=filename,
    )
    if not result.written:
        db.session.rollback()
    if result.rejects_path:  # the page names the download, never the scratch path
        result.rejects_path = f"{Path(filename).stem}-错误行.xlsx"
    if result.rejects_path and rejects.stat().st_size:
        _store_path(job_id, REJECTS, rejects)
    report = folder / "report.csv"
    _write_report(report, result)
    _store_path(job_id, REPORT, report)
    # One transaction: the imported rows, the result files and the job's end.
    return _finish(job_id, worker, "done", result=_scrub(result.as_dict(), folder))


def _run_export(job: LedgerJob, worker: str, folder: Path, progress) -> str:
    job_id = job.id
    path = folder / "export.xlsx"
    _private_file(path).close()
    summary = export_ledger(path, job.node, user=job.user, progress=progress)
    outcome = {
        "ok": True,
        **summary,
        "summary": f"已导出案件 {summary['disputes']} 件、当事人 {summary['parties']} 人。",
    }
    with write_intent():
        db.session.commit()  # end the export's last read: SQLite must take the write lock at BEGIN
        _store_path(job_id, EXPORT, path)
        return _finish(job_id, worker, "done", result=_scrub(outcome, folder))


def _write_report(path: Path, result) -> None:
    """The complete report as a CSV that Excel opens (UTF-8 with BOM); text never starts a formula
    (mediation.common.spreadsheet)."""
    with _private_file(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        out = csv_writer(fh)
        out.writerow(["类别", "工作表", "行号", "列", "说明"])
        for line in [result.summary(), *result.notes]:
            out.writerow(["说明", "", "", "", line])
        for issue in result.errors:
            out.writerow(["错误", *issue.as_list()])
        for issue in result.duplicates:
            out.writerow(["重复", *issue.as_list()])


# --- the worker ---------------------------------------------------------------------------------------------


class JobWorker(PollingWorker):
    """Runs queued jobs one after the other: :meth:`run_once` (take over dead workers' jobs, run every
    queued job, purge old files), or :meth:`start` a thread that does so every LEDGER_JOB_POLL seconds
    (sooner when this process queued a job)."""

    wake = _WAKE
    thread_name = "mediation-ledger-worker"
    label = "ledger worker"

    def __init__(self, app: Flask, *, name: str | None = None, poll: float | None = None):
        super().__init__(app, name=name, poll=poll if poll is not None else app.config["LEDGER_JOB_POLL"])
        self.ran = 0
        self._last_purge = self._last_reclaim = 0.0
        self.reclaim_every = max(1.0, min(float(app.config["LEDGER_JOB_TIMEOUT"]) / 4, 30.0))

    def __repr__(self) -> str:
        return f"<JobWorker {self.name}>"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> int:
        """Returns the number of jobs this call ran (whatever their outcome)."""
        count = 0
        with self.app.app_context():
            try:
                if not self._last_reclaim or time.monotonic() - self._last_reclaim >= self.reclaim_every:
                    self._last_reclaim = time.monotonic()
                    reclaim_stale()
                while not self._stop.is_set():
                    job_id = claim(self.name)
                    if job_id is None:
                        break
                    log.info("ledger job %s claimed by %s", job_id, self.name)
                    run(job_id, self.name, self._stop)
                    count += 1
                if not self._last_purge or time.monotonic() - self._last_purge >= PURGE_EVERY:
                    self._last_purge = time.monotonic()
                    purge()
            finally:
                db.session.remove()
        self.ran += count
        return count

    def stop(self, wait: bool = True) -> None:
        """Stop after the current job's next progress step (that job goes back to the queue)."""
        super().stop(wait)


def start_worker(app: Flask) -> JobWorker:
    """The job worker of this process (one per app), started."""
    worker = app.extensions.get(EXTENSION_KEY)
    if worker is None:
        worker = app.extensions[EXTENSION_KEY] = JobWorker(app)
    return worker.start()
