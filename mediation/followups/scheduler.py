"""The scheduler: APScheduler 3 with its jobs in the app's own database, one active process at a time.

APScheduler's guide says a job store must never be shared by two running schedulers. So every
process that may run the scheduler (the web app in the embedded default, each
``flask --app mediation scheduler`` process) runs a :class:`SchedulerRunner` that first competes for
a database lease (the ``scheduler_lease`` row, taken with an atomic
``UPDATE … WHERE expires_at < now OR holder = me``). Only the holder starts its BackgroundScheduler
on the shared SQLAlchemyJobStore; the others wait and take over when the holder stops (it releases
the lease) or dies (the lease expires).

The jobs themselves are thin: the periodic sweep (:func:`mediation.followups.service.run_sweep`)
processes rows with due dates and is idempotent, so even two sweeps at once (a holder paused past
its lease) do no harm. Each run also checks that this process still holds the lease (fencing).

Job defaults: ``coalesce=True`` (runs missed while no scheduler was running fire once on start-up,
not once per missed period), a large ``misfire_grace_time``, ``max_instances=1``. The job is kept in
the store across restarts: a restarted scheduler finds it with its old ``next_run_time`` and runs
it once if that time has passed.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

import click
from flask import Flask
from flask.helpers import get_debug_flag
from sqlalchemy import case, or_, update
from werkzeug.serving import is_running_from_reloader

from mediation import clock
from mediation.database import write_intent
from mediation.extensions import db
from mediation.followups.models import SchedulerLease, apscheduler_jobs
from mediation.followups.service import insert_ignore, run_sweep
from mediation.ledger.jobs import JobWorker
from mediation.routing.calendar import log_coverage_warning
from mediation.sms.outbox import SmsSender

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
JOB_ID = "mediation-sweep"
JOB_FUNC = "mediation.followups.scheduler:sweep_job"
EPOCH = datetime(1970, 1, 1)
EXTENSION_KEY = "mediation_scheduler"

_active_runner: SchedulerRunner | None = None


# --- the lease ----------------------------------------------------------------------------------------


def _ensure_lease_row(name: str) -> None:
    insert_ignore(SchedulerLease, {"name": name, "holder": None, "expires_at": EPOCH, "runs": 0}, ["name"])


def acquire_lease(holder: str, seconds: float, name: str = LEASE_NAME) -> bool:
    """Take the lease if it is free or expired, or renew it if ``holder`` has it. Atomic: on
    PostgreSQL the UPDATE locks the row and a concurrent one re-checks the condition after the first
    commits; on SQLite the transaction holds the database write lock."""
    now = clock.real_now()
    with write_intent():
        db.session.commit()
        _ensure_lease_row(name)
        result = db.session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name,
                or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
            )
            .values(
                holder=holder,
                expires_at=now + timedelta(seconds=seconds),
                renewed_at=now,
                acquired_at=case((SchedulerLease.holder == holder, SchedulerLease.acquired_at), else_=now),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return result.rowcount == 1


def renew_lease(holder: str, seconds: float, name: str = LEASE_NAME) -> bool:
    """Extend the lease only if ``holder`` still has it and it has not expired (fencing a job run)."""
    now = clock.real_now()
    with write_intent():
        db.session.commit()
        result = db.session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == name, SchedulerLease.holder == holder, SchedulerLease.expires_at >= now
            )
            .values(expires_at=now + timedelta(seconds=seconds), renewed_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return result.rowcount == 1


def release_lease(holder: str, name: str = LEASE_NAME) -> None:
    with write_intent():
        db.session.commit()
        db.session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(holder=None, expires_at=EPOCH)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _record_run(holder: str, name: str = LEASE_NAME) -> None:
    now = clock.real_now()
    with write_intent():
        db.session.commit()
        db.session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name)
            .values(runs=SchedulerLease.runs + 1, last_run_at=now, last_run_by=holder)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def lease_state(name: str = LEASE_NAME) -> SchedulerLease | None:
    return db.session.get(SchedulerLease, name, populate_existing=True)


# --- APScheduler ---------------------------------------------------------------------------------------


def make_jobstore(engine):
    """APScheduler's SQLAlchemyJobStore on the app's engine, using the ``apscheduler_jobs`` table
    declared in the app's metadata (so the migration knows it)."""
    # heavy: APScheduler only where the scheduler runs
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(engine=engine, tablename=apscheduler_jobs.name)
    store.jobs_t = apscheduler_jobs
    return store


def make_scheduler(app: Flask):
    # heavy: APScheduler only where the scheduler runs
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    with app.app_context():
        engine = db.engine
    return BackgroundScheduler(
        jobstores={"default": make_jobstore(engine)},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(app.config["SCHEDULER_MISFIRE_GRACE"]),
        },
        timezone=UTC,
    )


def shutdown_scheduler(scheduler, wait: bool = True) -> None:
    """Shut a scheduler down without touching its stored jobs.

    APScheduler 3's main loop makes one more pass over the job stores after ``shutdown()`` has
    stopped the executors: a job due at that moment fails to submit but still gets its
    ``next_run_time`` advanced, i.e. the run is lost. Detaching the job store first (under the
    scheduler's job store lock) leaves the stored jobs exactly as they are for the next scheduler."""
    scheduler.pause()
    scheduler.remove_jobstore("default", shutdown=False)  # its shutdown() would dispose the app engine
    scheduler.shutdown(wait=wait)


def sweep_job() -> None:
    """The job stored in the job store (by reference, so it survives restarts)."""
    runner = _active_runner
    if runner is None:
        log.warning("sweep job fired without an active scheduler runner; skipped")
        return
    runner.run_sweep_job()


class SchedulerRunner:
    """Competes for the lease; while holding it, runs the APScheduler scheduler with the sweep job."""

    def __init__(
        self,
        app: Flask,
        *,
        holder: str | None = None,
        interval: float | None = None,
        lease_seconds: float | None = None,
        jobs: bool = True,
    ) -> None:

        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # The 台账 import/export jobs run next to the scheduler in every such process, lease or not:
        # each job is claimed atomically by one worker (mediation/ledger/jobs.py).
        self.job_worker = JobWorker(app, name=self.holder) if jobs else None
        # So does the SMS sender: each message is claimed atomically by one sender (mediation/sms/outbox.py).
        self.sms_sender = SmsSender(app, name=self.holder) if jobs else None
        self.interval = float(interval or app.config["SCHEDULER_INTERVAL"])
        self.lease_seconds = float(lease_seconds or app.config["SCHEDULER_LEASE_SECONDS"])
        self.renew_every = max(0.2, min(self.lease_seconds / 3, 30.0))
        self.scheduler = None
        self.last_result = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SchedulerRunner {self.holder} {'leading' if self.leading else 'standing by'}>"

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # life cycle
    def start(self) -> SchedulerRunner:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="mediation-scheduler-lease", daemon=True)
        self._thread.start()
        if self.job_worker is not None:
            self.job_worker.start()
        if self.sms_sender is not None:
            self.sms_sender.start()
        return self

    def stop(self, wait: bool = True) -> None:
        if self.job_worker is not None:
            self.job_worker.stop(wait=wait)  # a job being run goes back to the queue
        if self.sms_sender is not None:
            self.sms_sender.stop(wait=wait)
        if self._thread is None and self.scheduler is None:
            return  # not started, or already stopped
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=60)
        self._thread = None
        with self._lock:
            self._stop_scheduler(release=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler lease check failed")
            self._stop.wait(self.renew_every)

    def tick(self) -> bool:
        """Take or renew the lease; start or stop the scheduler accordingly. Returns leadership."""
        with self._lock:
            if self._stop.is_set():
                return False
            with self.app.app_context():
                held = acquire_lease(self.holder, self.lease_seconds)
            if held and self.scheduler is None:
                self._start_scheduler()
            elif not held and self.scheduler is not None:
                log.warning("scheduler lease lost by %s; stopping its scheduler", self.holder)
                self._stop_scheduler(release=False)
            return held

    def _start_scheduler(self) -> None:
        global _active_runner
        # heavy: APScheduler only where the scheduler runs
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = make_scheduler(self.app)
        scheduler.start(paused=True)
        job = scheduler.get_job(JOB_ID)
        wanted = timedelta(seconds=self.interval)
        if job is None or getattr(job.trigger, "interval", None) != wanted or job.func_ref != JOB_FUNC:
            # New (or changed) job: run it now, then every interval.
            scheduler.add_job(
                JOB_FUNC,
                IntervalTrigger(seconds=self.interval, timezone=UTC),
                id=JOB_ID,
                name="到期回访、期限预警、督办升级、邮件通知",
                replace_existing=True,
                next_run_time=datetime.now(UTC),
            )
        # An existing job keeps its stored next_run_time: if it passed while no scheduler ran, the
        # job runs once now (coalesced), then on its usual cadence.
        _active_runner = self
        self.scheduler = scheduler
        scheduler.resume()
        log.info("scheduler started by %s (every %ss)", self.holder, self.interval)

    def _stop_scheduler(self, release: bool) -> None:
        global _active_runner
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            shutdown_scheduler(scheduler, wait=True)
            log.info("scheduler stopped by %s", self.holder)
        if _active_runner is self:
            _active_runner = None
        if release:
            try:
                with self.app.app_context():
                    release_lease(self.holder)
            except Exception:
                log.exception("could not release the scheduler lease")

    # the job
    def run_sweep_job(self) -> None:
        with self.app.app_context():
            if not renew_lease(self.holder, self.lease_seconds):
                log.warning("%s no longer holds the scheduler lease; sweep skipped", self.holder)
                return
            result = run_sweep()
            log_coverage_warning(log)  # once a day: the working-day calendar must cover the next 90 days
            _record_run(self.holder)
            self.last_result = result
            if result.changes or result.errors:
                log.info("sweep: %s", result.summary())


# --- start-up -------------------------------------------------------------------------------------------


def should_autostart(app: Flask) -> bool:
    """The embedded scheduler starts with the app (SCHEDULER_MODE=embedded), but not in tests unless
    SCHEDULER_AUTOSTART is set, not in the reloader's watcher process, and not for CLI commands other
    than ``flask run`` (``db upgrade``, ``demo``, ``scheduler`` …)."""
    if app.config.get("SCHEDULER_MODE", "embedded") != "embedded":
        return False
    autostart = app.config.get("SCHEDULER_AUTOSTART")
    if autostart is None:
        autostart = not app.testing
    if not autostart:
        return False
    ctx = click.get_current_context(silent=True)
    if ctx is None:  # a WSGI server (gunicorn, waitress …) or a script
        return True
    if ctx.command.name != "run":
        return False

    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def start_embedded(app: Flask) -> SchedulerRunner:
    runner = app.extensions.get(EXTENSION_KEY)
    if runner is None:
        runner = app.extensions[EXTENSION_KEY] = SchedulerRunner(app)
        atexit.register(runner.stop)  # release the lease so a restarted process takes over at once
    return runner.start()


def init_app(app: Flask) -> None:
    if should_autostart(app):
        start_embedded(app)
