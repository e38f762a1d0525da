"""Two real ``flask --app mediation scheduler`` processes against one database (PostgreSQL when
TEST_DATABASE_URL is set, else one SQLite file): each job's effect happens exactly once, and when the
lease holder is killed the other process takes over. The clock of both processes is moved through a
file (MEDIATION_CLOCK_FILE), so months pass in seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select

from mediation.common.enums import Status
from mediation.extensions import db
from mediation.followups import service
from mediation.followups.models import FollowUp, FollowUpKind, SupervisionOrder, SupervisionStatus
from mediation.followups.scheduler import lease_state
from tests import test_followups_support as support
from tests.test_followups_support import (
    close,
    emit,
    events,
    make_case,
    notifications,
)

at = support.at  # fixture

ROOT = Path(__file__).resolve().parent.parent


def _set_clock(path: Path, day: date) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(day.isoformat())
    os.replace(tmp, path)


def _lease():
    db.session.commit()
    lease = lease_state()
    state = (lease.runs, lease.holder, lease.last_run_by) if lease else (0, None, None)
    db.session.commit()
    return state


def _wait_runs(more: int, procs, seen: set, timeout: float = 60.0) -> None:
    start = _lease()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs, holder, last_by = _lease()
        if last_by:
            seen.add(last_by)
        if runs >= start + more:
            return
        for p in procs:
            if p.poll() is not None and p.returncode != -signal.SIGKILL:
                raise AssertionError(f"scheduler process exited with {p.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"the schedulers did not run {more} sweeps in {timeout}s")


def stop_schedulers(procs, logs, timeout: float) -> None:
    """SIGTERM to the scheduler processes still running, then wait for each (killed after
    ``timeout`` seconds), and close their log files."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    for log in logs:
        log.close()


def test_two_scheduler_processes_fire_each_job_once(app, world, db_url, tmp_path, at):
    # Work that comes due over two months.
    satisfaction = []
    for _ in range(3):
        d = make_case(world, handler=world.mediator_a.user)
        close(d, world.mediator_a.user)  # 满意度回访 due 03-09
        satisfaction.append(d)
    late = [
        make_case(
            world, handler=world.mediator_a.user, accepted_on=date(2026, 3, 2), deadline=date(2026, 4, 1)
        )
        for _ in range(3)
    ]  # 预警 from 03-26, 超期 from 04-02
    orders = [
        service.issue_supervision(world.center_user_a.user, d, "挂牌", date(2026, 3, 5), "请回复")
        for d in late
    ]  # unanswered: escalate on 03-06
    db.session.commit()
    stable = make_case(world, handler=world.mediator_a.user, accepted_on=date(2026, 2, 1))
    emit(
        stable, "stabilized", world.mediator_a.user, status=Status.STABILIZED, stabilized_on=date(2026, 3, 2)
    )

    clock_file = tmp_path / "clock.txt"
    _set_clock(clock_file, date(2026, 3, 2))
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret",
        "MEDIATION_CLOCK_FILE": str(clock_file),
        "PYTHONPATH": str(ROOT),
        "SCHEDULER_MODE": "external",
    }
    env.pop("FLASK_DEBUG", None)
    cmd = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "mediation",
        "scheduler",
        "--interval",
        "0.3",
        "--lease",
        "2",
    ]
    logs = [open(tmp_path / f"scheduler-{i}.log", "w") for i in range(2)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    seen: set[str] = set()
    try:
        _wait_runs(3, procs, seen)
        for day in (date(2026, 3, 6), date(2026, 3, 9), date(2026, 3, 17)):
            _set_clock(clock_file, day)
            _wait_runs(3, procs, seen)
        assert len(seen) == 1  # only the lease holder runs sweeps

        # Kill the holder (no clean release): the other process takes over when the lease expires.
        holder = _lease()[1]
        victim = next(p for p in procs if holder.split(":")[1] == str(p.pid))
        victim.kill()
        victim.wait(10)
        for day in (date(2026, 3, 26), date(2026, 4, 2)):
            _set_clock(clock_file, day)
            _wait_runs(3, procs, seen)
        assert len(seen) == 2 and _lease()[1] != holder
    finally:
        stop_schedulers(procs, logs, timeout=20)
    survivor = next(p for p in procs if p is not victim)
    output = (tmp_path / f"scheduler-{procs.index(survivor)}.log").read_text()
    assert survivor.returncode == 0, output
    assert "Traceback" not in output, output

    db.session.expire_all()
    # Each satisfaction visit: due once, notified once.
    for d in satisfaction:
        (visit,) = db.session.scalars(select(FollowUp).where(FollowUp.dispute_id == d.id)).all()
        assert visit.kind == FollowUpKind.SATISFACTION and visit.notified_at is not None
        assert len(notifications(world.mediator_a.user, f"followup:{visit.id}:")) == 1
    # Each late case: 预警 once, then 超期 once.
    for d in late:
        assert [e.data["level"] for e in events(d, "warning_level")] == ["预警", "超期"]
    # Each unanswered order: escalated once.
    for order, d in zip(orders, late, strict=True):
        assert len(events(d, "supervision_escalated")) == 1
        order = db.session.get(SupervisionOrder, order.id)
        assert (
            order.status == SupervisionStatus.ESCALATED and order.escalated_to_id == world.district_center.id
        )
    assert len(notifications(world.district_staff.user, "supervision-escalated:")) == 3
    # The 稳控 case: one visit per period (03-17 due and notified, 04-01 due and notified, 04-16 next).
    visits = db.session.scalars(
        select(FollowUp).where(FollowUp.dispute_id == stable.id).order_by(FollowUp.round)
    ).all()
    assert [(v.round, v.due_on) for v in visits] == [
        (1, date(2026, 3, 17)),
        (2, date(2026, 4, 1)),
        (3, date(2026, 4, 16)),
    ]
    assert [v.notified_at is not None for v in visits] == [True, True, False]
    for v in visits[:2]:
        assert len(notifications(world.mediator_a.user, f"followup:{v.id}:")) == 1
