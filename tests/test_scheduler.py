"""The scheduler: APScheduler jobs kept in the app's database, one lease holder at a time, missed runs
coalesced after a restart, and an idempotent sweep (no effect happens twice, even with concurrent
sweeps)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import click
import pytest
from sqlalchemy import select

from mediation import create_app
from mediation.common.enums import Status
from mediation.disputes.models import Event
from mediation.extensions import db
from mediation.followups import service
from mediation.followups.models import FollowUp, SupervisionOrder, SupervisionStatus, apscheduler_jobs
from mediation.followups.scheduler import (
    EXTENSION_KEY,
    JOB_ID,
    SchedulerRunner,
    acquire_lease,
    lease_state,
    make_scheduler,
    release_lease,
    should_autostart,
    shutdown_scheduler,
)
from mediation.followups.service import run_sweep
from tests import test_followups_support as support
from tests.test_followups_support import (
    close,
    count,
    events,
    make_case,
    notifications,
)

at = support.at  # fixture


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def runs() -> int:
    db.session.commit()  # a fresh snapshot on every poll
    lease = lease_state()
    value = lease.runs if lease else 0
    db.session.commit()
    return value


def stored_job():
    db.session.commit()
    row = db.session.execute(select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time)).first()
    db.session.commit()
    return row


def shift_stored_job(app, delta: timedelta) -> datetime:
    """Make the stored job look as if the scheduler had been down (its next run time in the past),
    using APScheduler's own API on a paused scheduler against the same job store."""
    scheduler = make_scheduler(app)
    scheduler.start(paused=True)
    job = scheduler.get_job(JOB_ID)
    moved = job.next_run_time + delta
    scheduler.modify_job(JOB_ID, next_run_time=moved)
    shutdown_scheduler(scheduler)
    return moved


def due_world(world, at):
    """Work that becomes due while the scheduler is away: a satisfaction visit (due 03-09), a case
    overdue from 04-02, an order unanswered after 03-05."""
    visited = make_case(world, handler=world.mediator_a.user)
    close(visited, world.mediator_a.user)
    late = make_case(
        world, handler=world.mediator_a.user, accepted_on=date(2026, 3, 2), deadline=date(2026, 4, 1)
    )
    order = service.issue_supervision(world.center_user_a.user, late, "普通", date(2026, 3, 5), "请报告")
    db.session.commit()
    return visited, late, order


def assert_effects_once(world, visited, late, order):
    (visit,) = db.session.scalars(
        select(FollowUp).where(FollowUp.dispute_id == visited.id).execution_options(populate_existing=True)
    ).all()
    assert visit.notified_at is not None
    assert len(notifications(world.mediator_a.user, f"followup:{visit.id}:")) == 1
    assert [e.data["level"] for e in events(late, "warning_level")] == ["超期"]
    assert len(events(late, "supervision_escalated")) == 1
    order = db.session.get(SupervisionOrder, order.id, populate_existing=True)
    assert order.status == SupervisionStatus.ESCALATED


def test_restart_in_the_middle_loses_nothing_and_coalesces_missed_runs(app, world, at):
    visited, late, order = due_world(world, at)
    first = SchedulerRunner(app, holder="first", interval=3600, lease_seconds=30).start()
    try:
        wait_for(lambda: runs() >= 1, what="the first run at start-up")
        assert first.leading and first.last_result.changes == 0  # nothing due on 03-02
    finally:
        first.stop()
    assert lease_state().holder is None  # released on a clean stop
    job = stored_job()
    assert job.id == JOB_ID  # the job survives the scheduler in the database

    # Down for five intervals; meanwhile the clock moves past every due date.
    moved = shift_stored_job(app, -timedelta(hours=5))
    original_next = moved + timedelta(hours=5)
    at(date(2026, 4, 2))

    second = SchedulerRunner(app, holder="second", interval=3600, lease_seconds=30).start()
    try:
        wait_for(lambda: runs() >= 2, what="the coalesced run after the restart")
        time.sleep(1.0)  # an uncoalesced scheduler would run the five missed periods now
        assert runs() == 2
        assert second.last_result.followups_due == 1 and second.last_result.alerts == 1
        assert second.last_result.escalated == 1
        # The job kept its cadence (it was not re-created): next run = the original next run time.
        next_run = datetime.fromtimestamp(stored_job().next_run_time, UTC)
        assert next_run == original_next
    finally:
        second.stop()

    assert_effects_once(world, visited, late, order)
    assert run_sweep().changes == 0  # and a sweep by hand finds nothing left to do
    assert_effects_once(world, visited, late, order)


def test_only_the_lease_holder_runs_jobs_and_another_takes_over(app, world, at):
    visited, late, order = due_world(world, at)
    # Leases long enough that a loaded CI machine never lets a healthy holder's lease lapse.
    a = SchedulerRunner(app, holder="a", interval=0.3, lease_seconds=6).start()
    b = None
    try:
        wait_for(lambda: a.leading, what="a to lead")
        b = SchedulerRunner(app, holder="b", interval=0.3, lease_seconds=6).start()
        wait_for(lambda: runs() >= 3, what="a few runs")
        assert a.leading and not b.leading and lease_state().last_run_by == "a"

        at(date(2026, 4, 2))  # work becomes due while the scheduler runs
        before = runs()
        wait_for(lambda: runs() >= before + 3, what="runs after the clock moved")

        # a dies without releasing its lease: b takes over once the lease has expired.
        a._stop.set()
        a._thread.join()
        shutdown_scheduler(a.scheduler)
        a.scheduler = None
        wait_for(lambda: b.leading, timeout=40, what="b to take over")
        before = runs()
        wait_for(lambda: runs() >= before + 3, what="runs by b")
        assert lease_state().holder == "b" and lease_state().last_run_by == "b"
    finally:
        a.stop()
        if b is not None:
            b.stop()
    assert_effects_once(world, visited, late, order)


def test_lease_is_atomic_and_expires(app):
    assert acquire_lease("x", 30)
    assert not acquire_lease("y", 30)  # held and not expired
    assert acquire_lease("x", 30)  # renewed by its holder
    release_lease("x")
    assert acquire_lease("y", 0.05)
    time.sleep(0.1)
    assert acquire_lease("x", 30)  # y's lease expired


def test_concurrent_sweeps_do_each_thing_once(app, world, at):
    cases = []
    for _ in range(3):
        cases.append(due_world(world, at))
    at(date(2026, 4, 2))
    barrier = threading.Barrier(4)
    results, errors = [], []

    def sweep():
        try:
            with app.app_context():
                barrier.wait()
                results.append(run_sweep())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 4
    assert all(not r.errors for r in results), [r.errors for r in results]
    assert sum(r.followups_due for r in results) == 3
    assert sum(r.alerts for r in results) == 3
    assert sum(r.escalated for r in results) == 3
    for visited, late, order in cases:
        assert_effects_once(world, visited, late, order)
    assert count(Event, Event.type == "warning_level") == 3


def test_autostart_rules(app, monkeypatch):
    assert should_autostart(app) is False  # tests do not start it unless asked
    app.config["SCHEDULER_AUTOSTART"] = True
    assert should_autostart(app) is True  # a WSGI server process
    app.config["SCHEDULER_MODE"] = "external"
    assert should_autostart(app) is False
    app.config["SCHEDULER_MODE"] = "embedded"
    with click.Context(click.Command("upgrade")):
        assert should_autostart(app) is False  # flask db upgrade, demo, scheduler …
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    with click.Context(click.Command("run")) as ctx:
        ctx.params = {"reload": False}
        assert should_autostart(app) is True  # flask run without the reloader
        ctx.params = {"reload": True}
        assert should_autostart(app) is False  # the reloader's watcher process
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
        assert should_autostart(app) is True  # the reloaded server process


def test_create_app_starts_the_embedded_scheduler_when_asked(app, db_url, tmp_path):
    embedded = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "x",
            "SCHEDULER_AUTOSTART": True,
            "SCHEDULER_INTERVAL": 3600,
            "SCHEDULER_LEASE_SECONDS": 5,
        }
    )
    runner = embedded.extensions[EXTENSION_KEY]
    try:
        wait_for(lambda: runs() >= 1, what="the embedded scheduler's first run")
        assert runner.leading
    finally:
        runner.stop()
        with embedded.app_context():
            db.engine.dispose()
    quiet = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "x"})
    assert EXTENSION_KEY not in quiet.extensions


def test_scheduler_command_once(app, world, at):
    d = make_case(world, accepted_on=date(2026, 3, 2), deadline=date(2026, 4, 1), status=Status.HANDLING)
    at(date(2026, 4, 2))
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "期限预警1" in result.output
    assert len(events(d, "warning_level")) == 1


@pytest.fixture(autouse=True)
def _no_leftover_runner():
    yield
    from mediation.followups import scheduler

    assert scheduler._active_runner is None, "a test left a scheduler running"
