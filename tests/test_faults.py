"""Faults in real processes against a private PostgreSQL cluster (tests/pg_cluster.py), on both CI runs:

1. gunicorn (2 workers) killed with SIGKILL in the middle of registrations, then restarted; the clients
   retry every request that failed or got no answer, with the same Idempotency-Key: one whole case per
   key, nothing half-written, case numbers unique.
2. ``flask --app mediation ledger import`` killed with SIGKILL while it writes: nothing of the file is
   in the database; the re-run imports everything, a third run changes nothing.
3. PostgreSQL restarted (``pg_ctl restart -m fast``) and stopped under load: the same gunicorn server
   answers 5xx JSON with a Chinese message while the database is away (no hang) and serves again once
   it is back, without a restart of its own; retried registrations are not duplicated. And a
   connection that dies after the answer is ready (at the closing ROLLBACK) does not spoil the answer.
4. ``flask --app mediation scheduler`` stopped (SIGTERM, and separately SIGKILL) in the middle of a
   sweep and started again later with the clock moved on: every due item processed exactly once.
"""

from __future__ import annotations

import contextvars
import http.client
import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from mediation import create_app
from mediation.disputes.models import Dispute, Event, IdempotencyRecord, Party
from mediation.extensions import db
from tests import test_followups_support as support
from tests.bench_modules import load_bench_module
from tests.factories import build_world, dispute_payload, zh_number
from tests.pg_cluster import pg_cluster  # noqa: F401  (fixture)
from tests.server_process import ROOT, gunicorn_server  # noqa: F401  (fixture)
from tests.test_followups_support import close, events, make_case, notifications
from tests.test_scheduler_processes import _lease, _set_clock, stop_schedulers

at = support.at  # fixture

pytestmark = pytest.mark.fault

_names = itertools.count(1)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _test_app(url: str):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "fault-test-secret",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


@pytest.fixture(scope="module")
def schema_template(pg_cluster):  # noqa: F811
    """The schema, built once (db.create_all) in a template database that each test copies."""
    name = f"fault_template_{os.getpid()}"
    app = _test_app(pg_cluster.create_database(name))
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # CREATE DATABASE … TEMPLATE needs it without connections
    return name


@pytest.fixture
def fault_db(pg_cluster, schema_template):  # noqa: F811
    """A fresh database in the private cluster with the schema; the test runs in its app context."""
    name = f"fault_{os.getpid()}_{next(_names)}"
    url = pg_cluster.create_database(name, template=schema_template)
    app = _test_app(url)
    with app.app_context():
        try:
            yield SimpleNamespace(app=app, url=url, name=name, cluster=pg_cluster)
        finally:
            db.session.remove()
            db.engine.dispose()


def fresh():
    """End the test's read transaction, so the next query sees what other processes committed."""
    db.session.commit()
    db.session.expire_all()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- HTTP clients --------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict
    body: object  # parsed JSON, or the text


def call(
    url: str, method: str, path: str, *, headers: dict | None = None, body=None, timeout: float = 20.0
) -> Reply:
    """One request on a new connection. Raises OSError / HTTPException when there is no answer
    (refused, reset, closed) and TimeoutError when the server does not answer within ``timeout``."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        conn.request(
            method,
            path,
            body=data,
            headers={**(headers or {}), **({"Content-Type": "application/json"} if data else {})},
        )
        response = conn.getresponse()
        raw = response.read()
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if "json" in (response.getheader("Content-Type") or "") else text
        except ValueError:
            parsed = text
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)
    finally:
        conn.close()


def outcome_of(fn) -> tuple[str, Reply | str]:
    """("reply", Reply) or ("timeout" | "no answer", description)."""
    try:
        return "reply", fn()
    except TimeoutError as err:
        return "timeout", repr(err)
    except (OSError, http.client.HTTPException) as err:
        return "no answer", repr(err)


def clean_server_error(reply: Reply) -> bool:
    """A 5xx answer as the API promises it: JSON with a Chinese message."""
    return (
        reply.status >= 500
        and isinstance(reply.body, dict)
        and bool(CHINESE.search(str(reply.body.get("message", ""))))
    )


@dataclass
class Attempt:
    key: str
    body: dict
    failures: list = field(default_factory=list)  # ("no answer" | "timeout", text) or ("reply", Reply)
    result: dict | None = None
    replayed: bool = False


def registration_body(world, i: int) -> dict:
    # Parties with their own names: no duplicate warnings between the generated cases.
    return dispute_payload(
        world.grid_a.code,
        summary=f"故障测试第{i}件：楼上漏水导致楼下墙面受损。",
        parties=[
            {"role": "申请人", "kind": "自然人", "name": f"申请人{zh_number(i)}", "phone": "13800138000"},
            {"role": "被申请人", "kind": "自然人", "name": f"被申请人{zh_number(i)}"},
        ],
    )


def register_until_done(server, headers: dict, attempt: Attempt, deadline: float) -> Attempt:
    """POST until 201, retrying with the same Idempotency-Key after a 5xx or no answer."""
    while time.monotonic() < deadline:
        kind, value = outcome_of(
            lambda: call(
                server.url,
                "POST",
                "/api/v1/disputes",
                body=attempt.body,
                headers={**headers, "Idempotency-Key": attempt.key},
            )
        )
        if kind == "reply" and value.status == 201:
            attempt.result = value.body
            attempt.replayed = value.headers.get("idempotent-replayed") == "true"
            return attempt
        if kind == "reply" and value.status < 500:
            raise AssertionError(f"{attempt.key}: {value.status} {value.body}")
        attempt.failures.append((kind, value))
        time.sleep(0.1)
    raise AssertionError(f"{attempt.key} not registered in time; last failures: {attempt.failures[-3:]}")


class Registrations:
    """Client threads registering ``attempts`` against ``server`` (re-read on every try: a restarted
    server may listen on a new port)."""

    def __init__(self, server, headers: dict, attempts: list[Attempt], threads: int, budget: float = 90.0):
        self.attempts = attempts
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="client")
        deadline = time.monotonic() + budget
        self.futures = [self.pool.submit(register_until_done, server, headers, a, deadline) for a in attempts]

    def done(self) -> int:
        return sum(f.done() for f in self.futures)

    def wait_done(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.done() < n:
            for f in self.futures:
                if f.done() and f.exception() is not None:
                    raise f.exception()
            assert time.monotonic() < deadline, f"only {self.done()} of {n} registrations done"
            time.sleep(0.01)

    def wait_all(self) -> None:
        try:
            for f in self.futures:
                f.result(timeout=120)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def assert_one_whole_case_per_key(user_id: int, attempts: list[Attempt]) -> None:
    """Every key: exactly one case, the one its answer named; every case whole (its 'registered'
    event and its two parties); no case without a key; case numbers unique."""
    fresh()
    records = dict(
        db.session.execute(
            select(IdempotencyRecord.key, IdempotencyRecord.dispute_id).where(
                IdempotencyRecord.user_id == user_id
            )
        ).all()
    )
    assert sorted(records) == sorted(a.key for a in attempts)
    for a in attempts:
        assert a.result is not None and a.result["id"] == records[a.key], a.key
    ids = set(records.values())
    assert len(ids) == len(attempts)
    assert set(db.session.scalars(select(Dispute.id))) == ids  # no case outside the keys (no duplicate)
    registered = dict(
        db.session.execute(
            select(Event.dispute_id, func.count())
            .where(Event.type == "registered")
            .group_by(Event.dispute_id)
        ).all()
    )
    parties = dict(
        db.session.execute(select(Party.dispute_id, func.count()).group_by(Party.dispute_id)).all()
    )
    assert {d: registered.get(d) for d in ids} == dict.fromkeys(ids, 1)
    assert {d: parties.get(d) for d in ids} == dict.fromkeys(ids, 2)
    assert db.session.scalar(select(func.count(func.distinct(Dispute.case_no)))) == len(ids)


# --- 1. kill the server in the middle of registrations ---------------------------------------------------


def test_server_killed_mid_registrations_leaves_one_whole_case_per_key(fault_db, gunicorn_server):  # noqa: F811
    world = build_world()
    server = gunicorn_server(fault_db.url, workers=2, threads=4)
    attempts = [Attempt(f"kill-{i:03d}", registration_body(world, i)) for i in range(120)]
    run = Registrations(server, world.mediator_a.headers, attempts, threads=8)
    try:
        run.wait_done(len(attempts) // 3)
        server.kill()  # master and workers, mid-request: some answers are never sent
        unfinished = len(attempts) - run.done()
        time.sleep(0.5)  # clients meet a closed port meanwhile
        server.start()
    finally:
        run.wait_all()
    assert unfinished > 0
    failures = [f for a in attempts for f in a.failures]
    assert any(kind == "no answer" for kind, _ in failures)  # the clients did feel the kill
    assert server.starts == 2
    assert_one_whole_case_per_key(world.mediator_a.user.id, attempts)


# --- 2. kill a ledger import while it writes -------------------------------------------------------------


def _cli_env(fault_db, tmp_path: Path, **extra) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": fault_db.url,
        "SECRET_KEY": "fault-test-secret",
        "PYTHONPATH": str(ROOT),
        "SCHEDULER_MODE": "external",
        "TMPDIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("FLASK_DEBUG", "TEST_DATABASE_URL"):
        env.pop(name, None)
    return env


def _writing_backends(fault_db) -> int:
    """Backends of the test database (other than this query's) inside a transaction that has written."""
    with fault_db.cluster.connect(fault_db.name, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        ).fetchone()[0]


def _ledger_counts() -> dict:
    from mediation.ledger.models import LedgerRecord

    fresh()
    return {m.__tablename__: count(m) for m in (Dispute, Party, Event, LedgerRecord)}


def test_ledger_import_killed_while_writing_imports_nothing_and_reruns_once(fault_db, tmp_path):
    from mediation.geo.service import import_tree, import_units

    workdir = tmp_path / "ledger"
    info = load_bench_module("gen_ledger").generate(2000, workdir, seed=8)
    import_tree(workdir / "tree.csv")
    import_units(workdir / "units.csv")
    db.session.commit()
    empty = _ledger_counts()
    assert set(empty.values()) == {0}

    cmd = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "mediation",
        "ledger",
        "import",
        str(workdir / "ledger.xlsx"),
    ]
    env = _cli_env(fault_db, tmp_path)
    progress: queue.Queue[str | None] = queue.Queue()
    with open(tmp_path / "import-1.out", "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.PIPE)

        def pump():
            for raw in proc.stderr:
                progress.put(raw.decode("utf-8", "replace").rstrip("\n"))
            progress.put(None)

        pumping = threading.Thread(target=pump, daemon=True)
        pumping.start()
        seen, writing = [], None
        try:
            deadline = time.monotonic() + 60
            while writing is None and time.monotonic() < deadline:
                try:
                    line = progress.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if line is None:
                    break
                seen.append(line)
                match = re.match(r"导入：(\d+)/(\d+)", line)
                if match and 0 < int(match[1]) < int(match[2]) // 2:
                    writing = line  # rows written in its transaction, most still to come
                    in_transaction = _writing_backends(fault_db)
                    proc.kill()
        finally:
            if proc.poll() is None and writing is None:
                proc.kill()
            proc.wait(30)
            pumping.join(10)
            proc.stderr.close()
    assert writing is not None, "the import never reached its writing stage:\n" + "\n".join(seen)
    assert proc.returncode == -signal.SIGKILL
    assert in_transaction >= 1  # it had written rows, uncommitted, when it was killed

    # The server rolls the orphaned transaction back once it notices the client is gone.
    deadline = time.monotonic() + 30
    while _writing_backends(fault_db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _writing_backends(fault_db) == 0
    assert _ledger_counts() == empty  # all or nothing: nothing

    # The re-runs: the same command, in this process (a process start costs seconds).
    runner = fault_db.app.test_cli_runner()
    second = runner.invoke(args=["ledger", "import", str(workdir / "ledger.xlsx"), "--quiet"])
    assert second.exit_code == 0, second.output[-3000:]
    imported = _ledger_counts()
    assert imported["dispute"] == info["rows"] == imported["ledger_record"]
    assert imported["party"] == info["parties"]
    fresh()
    per_case = dict(
        db.session.execute(
            select(Event.dispute_id, func.count())
            .where(Event.type == "registered")
            .group_by(Event.dispute_id)
        ).all()
    )
    assert len(per_case) == info["rows"] and set(per_case.values()) == {1}
    assert db.session.scalar(select(func.count(func.distinct(Dispute.case_no)))) == info["rows"]

    third = runner.invoke(args=["ledger", "import", str(workdir / "ledger.xlsx"), "--quiet"])
    assert third.exit_code == 0, third.output[-3000:]
    assert _ledger_counts() == imported  # the same file again changes nothing


# --- 3. restart PostgreSQL under load --------------------------------------------------------------------


class Readers:
    """Threads reading the list and one case until stopped; every outcome is kept."""

    def __init__(self, server, headers: dict, case_id: int, threads: int = 2):
        self.outcomes: list[tuple[str, object]] = []
        self._stop = threading.Event()
        paths = ["/api/v1/disputes?per_page=5", f"/api/v1/disputes/{case_id}"]

        def read(n):
            for i in itertools.count(n):
                if self._stop.is_set():
                    return
                path = paths[i % 2]
                self.outcomes.append(outcome_of(lambda p=path: call(server.url, "GET", p, headers=headers)))
                time.sleep(0.02)

        self.threads = [threading.Thread(target=read, args=(n,), daemon=True) for n in range(threads)]
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(60)


def test_postgres_restart_under_load_the_same_server_recovers(fault_db, gunicorn_server):  # noqa: F811
    world = build_world()
    headers = world.mediator_a.headers
    cluster = fault_db.cluster
    server = gunicorn_server(fault_db.url, workers=2, threads=4)
    seed = Attempt("seed", registration_body(world, 0))
    register_until_done(server, headers, seed, time.monotonic() + 30)

    attempts = [Attempt(f"restart-{i:03d}", registration_body(world, i)) for i in range(1, 121)]
    outage = Attempt("outage", registration_body(world, 999))
    user_id = world.mediator_a.user.id
    db.session.close()  # the test holds no connection across the restarts (the pool re-checks on use)
    readers = Readers(server, headers, seed.result["id"])
    run = Registrations(server, headers, attempts, threads=6)
    try:
        run.wait_done(len(attempts) // 3)
        cluster.restart(mode="fast")  # every pooled connection of both workers is cut
    finally:
        try:
            run.wait_all()
        finally:
            readers.stop()
    assert server.proc.poll() is None and server.starts == 1  # the same server, never restarted

    # The database away for a while: answers are prompt 5xx JSON with a Chinese message.
    cluster.stop(mode="fast")
    try:
        during = [
            outcome_of(lambda: call(server.url, "GET", "/api/v1/disputes?per_page=5", headers=headers)),
            outcome_of(
                lambda: call(server.url, "GET", f"/api/v1/disputes/{seed.result['id']}", headers=headers)
            ),
            outcome_of(
                lambda: call(
                    server.url,
                    "POST",
                    "/api/v1/disputes",
                    body=outage.body,
                    headers={**headers, "Idempotency-Key": outage.key},
                )
            ),
            outcome_of(lambda: call(server.url, "GET", "/api/v1/disputes?per_page=5", headers=headers)),
        ]
        if server.health_path == "/healthz":
            during.append(outcome_of(lambda: call(server.url, "GET", "/healthz")))
    finally:
        cluster.start()
    for kind, reply in during:
        assert kind == "reply", reply
        assert clean_server_error(reply), (reply.status, reply.body)
    assert during[2][1].status == 503 and during[0][1].status == 503

    # Back: the same server serves again (bounded wait), then every request succeeds.
    deadline = time.monotonic() + 20
    while True:
        kind, reply = outcome_of(
            lambda: call(server.url, "GET", "/api/v1/disputes?per_page=5", headers=headers)
        )
        if kind == "reply" and reply.status == 200:
            break
        assert time.monotonic() < deadline, f"not recovered: {kind} {reply}"
        time.sleep(0.2)
    for i in range(20):
        path = "/api/v1/disputes?per_page=5" if i % 2 else f"/api/v1/disputes/{seed.result['id']}"
        reply = call(server.url, "GET", path, headers=headers)
        assert reply.status == 200, (path, reply.status, reply.body)
    register_until_done(server, headers, outage, time.monotonic() + 20)
    assert not outage.failures  # the retry after the outage succeeds at once
    assert server.proc.poll() is None and server.starts == 1

    # Under the restart: failures were clean 5xx JSON, never a hang or a dropped connection.
    failures = [f for a in attempts for f in a.failures] + [
        o for o in readers.outcomes if o[0] != "reply" or o[1].status != 200
    ]
    for kind, reply in failures:
        assert kind == "reply", reply
        assert clean_server_error(reply), (reply.status, reply.body)
    assert len(readers.outcomes) > 0
    assert_one_whole_case_per_key(user_id, [seed, *attempts, outage])


def test_connection_lost_after_the_answer_is_ready_still_answers(fault_db):
    """The database connection dies between the view's answer and the end of the request (the
    closing ROLLBACK fails): the client still gets the answer, and the next request reconnects."""
    from sqlalchemy import text

    app = fault_db.app

    @app.get("/_fault/lost-after-answer")
    def lost_after_answer():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()  # a transaction is open
        with fault_db.cluster.connect(fault_db.name, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()[0]
        return {"ok": True, "pid": pid}

    client = app.test_client()
    db.session.close()

    def get(path):  # in a fresh context, as in production: the request's own app context and session
        return contextvars.Context().run(client.get, path)

    first = get("/_fault/lost-after-answer")
    assert first.status_code == 200 and first.get_json()["ok"] is True
    second = get("/_fault/lost-after-answer")
    assert second.status_code == 200 and second.get_json()["pid"] != first.get_json()["pid"]


# --- 4. stop the scheduler in the middle of a sweep, start it later ----------------------------------------


def _lock_waiters(fault_db) -> int:
    with fault_db.cluster.connect(fault_db.name, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()[0]


def _wait(condition, what: str, procs=(), timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for p in procs:
            assert p.poll() is None, f"scheduler exited with {p.returncode} while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_scheduler_stopped_mid_sweep_and_started_later_processes_everything_once(
    fault_db, tmp_path, at, stop_signal
):
    from mediation.followups import service
    from mediation.followups.models import DeadlineAlert, FollowUp, SupervisionOrder, SupervisionStatus
    from mediation.routing.deadlines import OVERDUE

    world = build_world()
    mediator = world.mediator_a.user
    visited = []  # 满意度回访 due 03-09
    for _ in range(10):
        d = make_case(world, handler=mediator)
        close(d, mediator)
        visited.append(d)
    # 超期 from 04-02
    late = [
        make_case(world, handler=mediator, accepted_on=date(2026, 3, 2), deadline=date(2026, 4, 1))
        for _ in range(20)
    ]
    orders = [
        service.issue_supervision(world.center_user_a.user, d, "普通", date(2026, 4, 10), "请报告")
        for d in late[:5]
    ]  # unanswered: escalated after 04-10
    db.session.commit()
    fresh()
    blocked = late[12]  # the sweep's warning step stops there, with twelve cases done in its open transaction

    clock_file = tmp_path / "clock.txt"
    _set_clock(clock_file, date(2026, 4, 2))
    env = _cli_env(fault_db, tmp_path, MEDIATION_CLOCK_FILE=str(clock_file))
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
    logs, procs = [], []

    def start_scheduler():
        log = open(tmp_path / f"scheduler-{len(procs) + 1}.log", "w")  # noqa: SIM115 - closed in finally
        logs.append(log)
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        return procs[-1]

    # Another transaction holds the alert row of one late case: the sweep waits there, mid-way.
    blocker = fault_db.cluster.connect(fault_db.name)
    try:
        blocker.execute(
            "INSERT INTO deadline_alert (dispute_id, level, deadline, created_at) VALUES (%s, %s, %s, now())",
            (blocked.id, OVERDUE, blocked.deadline),
        )
        first = start_scheduler()
        _wait(lambda: _lock_waiters(fault_db) > 0, "the first sweep to reach the held row", [first])
        fresh()
        # Mid-sweep: the follow-up step committed, the warning step in flight, escalations not begun.
        assert count(FollowUp, FollowUp.notified_at.is_not(None)) == len(visited)
        assert count(DeadlineAlert) == 0
        first.send_signal(stop_signal)
        if stop_signal == signal.SIGKILL:
            first.wait(30)
        else:
            time.sleep(1.5)  # the process has seen SIGTERM and waits for its running sweep
            assert first.poll() is None
    finally:
        blocker.rollback()
        blocker.close()

    if stop_signal == signal.SIGTERM:
        assert first.wait(30) == 0  # the running sweep finished, then the process stopped cleanly
        fresh()
        assert count(DeadlineAlert) == len(late)
        assert _lease()[1] is None  # and released the lease
    else:
        assert first.returncode == -signal.SIGKILL
        _wait(
            lambda: _lock_waiters(fault_db) == 0 and _writing_backends(fault_db) == 0,
            "the killed sweep's transaction to end",
        )
        fresh()
        assert count(DeadlineAlert) == 0  # the step in flight was rolled back
    assert count(SupervisionOrder, SupervisionOrder.status == SupervisionStatus.ESCALATED) == 0

    # Later: the clock has moved on while no scheduler ran; a new process picks everything up.
    _set_clock(clock_file, date(2026, 4, 11))
    second = start_scheduler()
    try:

        def all_done():
            fresh()
            return count(DeadlineAlert) == len(late) and count(
                SupervisionOrder, SupervisionOrder.status == SupervisionStatus.ESCALATED
            ) == len(orders)

        _wait(all_done, "the restarted scheduler to catch up", [second])
        runs = _lease()[0]
        _wait(lambda: _lease()[0] >= runs + 3, "three more sweeps", [second])
    finally:
        stop_schedulers(procs, logs, timeout=30)
    outputs = [(tmp_path / f"scheduler-{i}.log").read_text() for i in range(1, len(procs) + 1)]
    assert second.returncode == 0, outputs[-1]
    for output in outputs:
        assert "Traceback" not in output, output

    # Exactly once: each visit notified once, each late case one 超期 (no 预警: that day was missed
    # while no scheduler ran, and 超期 supersedes it) with one notification per recipient, each
    # unanswered order escalated once.
    fresh()
    for d in visited:
        (visit,) = support.followups(d)
        assert visit.notified_at is not None
        assert len(notifications(mediator, f"followup:{visit.id}:")) == 1
    for d in late:
        assert [e.data["level"] for e in events(d, "warning_level")] == [OVERDUE]
        assert count(DeadlineAlert, DeadlineAlert.dispute_id == d.id) == 1
        recipients = {u.id for u in service.warning_recipients(d)}
        sent = notifications(None, f"deadline:{d.id}:")
        assert sorted(n.user_id for n in sent) == sorted(recipients)
    for order, d in zip(orders, late[:5], strict=True):
        assert len(events(d, "supervision_escalated")) == 1
        assert (
            db.session.get(SupervisionOrder, order.id, populate_existing=True).status
            == SupervisionStatus.ESCALATED
        )
    at(date(2026, 4, 11))
    assert service.run_sweep().changes == 0  # nothing left behind
