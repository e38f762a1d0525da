"""Reads of reports and lists from a real PostgreSQL streaming replica (mediation/replica.py).

A private primary and a hot standby made with ``pg_basebackup -R`` (tests/pg_cluster.py), the app on
the primary with DATABASE_REPLICA_URL on the standby. Replay on the standby is paused
(``pg_wal_replay_pause()``) to make the replica visibly behind: a user's own lists and reports read
from the primary after their write (API token and web session), another user's from the replica
until replay resumes; no statement that writes ever reaches the replica; a stopped or lagging
replica falls back to the primary. Which engine served a request is seen by counting statements
on each engine, and by what the answer contains.
"""

from __future__ import annotations

import logging
import re
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select, text, update

from mediation import create_app
from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.replica import BIND, read_from_replica
from tests.conftest import IsolatedClient, login
from tests.factories import dispute_payload
from tests.pg_cluster import PgCluster, pg_bindir
from tests.test_walkin import form_data

pytestmark = pytest.mark.fault

try:
    pg_bindir()
except RuntimeError:  # pragma: no cover - scripts/setup-system.sh --test installs PostgreSQL
    pytestmark = [pytest.mark.fault, pytest.mark.skip(reason="PostgreSQL server binaries not installed")]

DBNAME = "replica_test"
WRITES = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|TRUNCATE|CREATE|DROP|ALTER|SELECT\s.*\sFOR\s+UPDATE)", re.I | re.S
)


@pytest.fixture(scope="module")
def clusters():
    primary, standby = PgCluster(), None
    try:
        primary.init().start()
        url = primary.create_database(DBNAME)
        schema = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
        with schema.app_context():
            db.create_all()
            db.engine.dispose()
        standby = primary.standby()
        yield SimpleNamespace(primary=primary, standby=standby, url=url, replica_url=standby.url(DBNAME))
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


@pytest.fixture
def app(clusters, tmp_path):
    """The conftest's app, on the private primary with the standby as DATABASE_REPLICA_URL."""
    if not clusters.standby.running():
        clusters.standby.start()
    clusters.standby.resume_replay()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": clusters.url,
            "DATABASE_REPLICA_URL": clusters.replica_url.replace("postgresql+psycopg://", "postgresql://"),
            "DATABASE_REPLICA_MAX_LAG": 3600,
            "SECRET_KEY": "test-secret",
            "INSTANCE_DIR": str(tmp_path),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def statements(app):
    """The statements each engine ran, while the test runs: {"primary": [...], "replica": [...]}."""
    seen = {"primary": [], "replica": []}
    listeners = []
    for name, engine in (("primary", db.engine), ("replica", db.engines[BIND])):

        def on_statement(conn, cursor, statement, parameters, context, executemany, name=name):
            seen[name].append(" ".join(statement.split()))

        event.listen(engine, "before_cursor_execute", on_statement)
        listeners.append((engine, on_statement))
    yield seen
    for engine, fn in listeners:
        event.remove(engine, "before_cursor_execute", fn)


def _replicated(clusters) -> None:
    """What the test's session wrote is committed and replayed on the standby."""
    db.session.commit()
    clusters.standby.wait_replayed(clusters.primary)


def _eventually(check, timeout: float = 15) -> bool:
    """``check()`` until it holds or ``timeout`` seconds pass. Replay has reached the primary's position
    when the caller asks (``wait_replayed``), but on a loaded machine the standby has been seen to answer
    one more read from before it: what is asserted is that the replica catches up, not how fast."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _month() -> str:
    return local_today().strftime("%Y-%m")


def _api_list(client, who) -> set[str]:
    r = client.get("/api/v1/disputes?per_page=100", headers=who.headers)
    assert r.status_code == 200, r.get_json()
    return {d["case_no"] for d in r.get_json()["items"]}


def _api_new(client, who, node) -> int:
    r = client.get(f"/api/v1/reports/monthly?node={node.code}&month={_month()}", headers=who.headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["new"]


def _served_by(statements, name: str, marker: str) -> bool:
    return any(marker in s for s in statements[name])


def test_api_user_reads_own_write_from_primary_others_from_replica(app, client, world, clusters, statements):
    _replicated(clusters)
    clusters.standby.pause_replay()

    r = client.post(
        "/api/v1/disputes", json=dispute_payload(world.grid_a.code), headers=world.center_user_a.headers
    )
    assert r.status_code == 201, r.get_json()
    case_no = r.get_json()["case_no"]
    assert not any(WRITES.match(s) for s in statements["replica"]), statements["replica"]

    # The writer: its list and its report come from the primary and show the case at once.
    statements["primary"].clear(), statements["replica"].clear()
    assert case_no in _api_list(client, world.center_user_a)
    assert _api_new(client, world.center_user_a, world.town_a) == 1
    assert _served_by(statements, "primary", "FROM dispute"), statements
    assert not _served_by(statements, "replica", "FROM dispute")

    # Another user: the replica, which has not replayed the registration yet.
    statements["primary"].clear(), statements["replica"].clear()
    assert case_no not in _api_list(client, world.district_staff)
    assert _api_new(client, world.district_staff, world.town_a) == 0
    r = client.get("/api/v1/worklist", headers=world.district_staff.headers)
    assert r.status_code == 200
    assert _served_by(statements, "replica", "FROM dispute")
    assert not _served_by(statements, "primary", "FROM dispute")

    clusters.standby.resume_replay()
    clusters.standby.wait_replayed(clusters.primary)
    statements["primary"].clear(), statements["replica"].clear()
    assert _eventually(lambda: case_no in _api_list(client, world.district_staff))
    assert _api_new(client, world.district_staff, world.town_a) == 1
    assert _served_by(statements, "replica", "FROM dispute")
    # Once replayed, the writer reads from the replica too.
    statements["replica"].clear()
    assert case_no in _api_list(client, world.center_user_a)
    assert _served_by(statements, "replica", "FROM dispute")
    assert not any(WRITES.match(s) for s in statements["replica"]), statements["replica"]


def test_web_user_reads_own_write_from_primary_others_from_replica(app, web, world, clusters, statements):
    # Two browsers; signing in writes (the session row), so both sign in before replay is held.
    web.login("center_a")
    district = app.test_client()
    login(district, "qu_center")
    data = form_data(web, world.grid_a.code)
    _replicated(clusters)
    clusters.standby.pause_replay()

    r = web.client.post("/disputes/new", data=data)
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    case_no = db.session.scalar(select(Dispute.case_no))
    assert case_no
    assert not any(WRITES.match(s) for s in statements["replica"]), statements["replica"]

    # The writer's list, page and export: from the primary, with the case.
    statements["primary"].clear(), statements["replica"].clear()
    assert case_no in web.client.get("/disputes/").get_data(as_text=True)
    assert web.client.get(f"/reports/?node={world.town_a.code}&month={_month()}").status_code == 200
    assert (
        web.client.get(f"/reports/monthly.xlsx?node={world.town_a.code}&month={_month()}").status_code == 200
    )
    assert _served_by(statements, "primary", "FROM dispute"), statements
    assert not _served_by(statements, "replica", "FROM dispute")

    # The other browser: the replica, which has not replayed the registration.
    statements["primary"].clear(), statements["replica"].clear()
    assert case_no not in district.get("/disputes/").get_data(as_text=True)
    assert district.get("/worklist/").status_code == 200
    assert _served_by(statements, "replica", "FROM dispute")
    assert not _served_by(statements, "primary", "FROM dispute")

    clusters.standby.resume_replay()
    clusters.standby.wait_replayed(clusters.primary)
    statements["primary"].clear(), statements["replica"].clear()
    assert _eventually(lambda: case_no in district.get("/disputes/").get_data(as_text=True))
    assert case_no in web.client.get("/disputes/").get_data(as_text=True)
    assert not _served_by(statements, "primary", "FROM dispute")
    assert not any(WRITES.match(s) for s in statements["replica"]), statements["replica"]


def test_a_read_that_writes_reads_its_writes_from_the_primary(app, world, clusters, statements):
    """The session routes plain SELECTs only; after a flush or a DML statement every read of the
    request goes to the primary (the replica would refuse the write, and lacks it)."""
    _replicated(clusters)
    with app.test_request_context("/reports/", method="GET"):
        assert read_from_replica()
        assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0
        assert statements["replica"] and not statements["primary"]
        db.session.execute(update(Dispute).values(summary="x"))  # a statement that writes
        db.session.scalar(select(func.count()).select_from(Dispute))
        assert statements["primary"][-1].startswith("SELECT count(*)")
        db.session.rollback()
    with app.test_request_context("/reports/", method="POST"):
        assert not read_from_replica()  # a writing request never reads the replica
    assert not any(WRITES.match(s) for s in statements["replica"]), statements["replica"]


def test_stopped_replica_falls_back_to_primary(app, client, world, clusters, statements, caplog):
    _replicated(clusters)
    clusters.standby.stop()
    r = client.post(
        "/api/v1/disputes", json=dispute_payload(world.grid_a.code), headers=world.center_user_a.headers
    )
    assert r.status_code == 201
    case_no = r.get_json()["case_no"]
    with caplog.at_level(logging.WARNING, logger="mediation.replica"):
        assert case_no in _api_list(client, world.district_staff)
        assert _api_new(client, world.district_staff, world.town_a) == 1
    assert "replica unavailable" in caplog.text
    assert _served_by(statements, "primary", "FROM dispute"), statements
    clusters.standby.start()
    clusters.standby.wait_replayed(clusters.primary)
    statements["replica"].clear()
    assert case_no in _api_list(client, world.district_staff)
    assert _served_by(statements, "replica", "FROM dispute")


def test_lagging_replica_falls_back_to_primary(app, client, world, clusters, statements, caplog):
    _replicated(clusters)
    app.config["DATABASE_REPLICA_MAX_LAG"] = 0.5
    clusters.standby.pause_replay()
    r = client.post(
        "/api/v1/disputes", json=dispute_payload(world.grid_a.code), headers=world.center_user_a.headers
    )
    assert r.status_code == 201
    time.sleep(1)  # the replica now lags more than DATABASE_REPLICA_MAX_LAG
    with caplog.at_level(logging.WARNING, logger="mediation.replica"):
        assert r.get_json()["case_no"] in _api_list(client, world.district_staff)
    assert "lagging" in caplog.text
    assert not _served_by(statements, "replica", "FROM dispute")


def test_replica_needs_postgresql_on_both_sides(tmp_path):
    """A replica of SQLite does not exist: refused at start-up, in Chinese, rather than ignored."""
    with pytest.raises(RuntimeError, match="流复制备库"):
        create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                "DATABASE_REPLICA_URL": "postgresql://mediation@127.0.0.1:1/x",
                "SECRET_KEY": "test",
            }
        )
