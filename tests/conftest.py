"""Fixtures: a fresh database per test, on SQLite (default) or PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import contextvars
import os
import random
import re
import secrets
from datetime import date
from types import SimpleNamespace

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Verbosity, settings
from sqlalchemy import text

from mediation import clock, create_app
from mediation.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")
# A streaming replica of PG_URL's server (scripts/test.sh starts one): the apps read reports and lists
# through it (DATABASE_REPLICA_URL, mediation/replica.py). Its primary must apply every commit on it
# before answering (synchronous_commit = remote_apply), so what a test committed is there to read.
REPLICA_URL = os.environ.get("TEST_DATABASE_REPLICA_URL") if PG_URL else None


# ------------------------------------------------------------------------------------ chance, pinned
# Every test that draws at random does it from a seed it reports, so a failure can be replayed:
# - ``seeded_random``: a ``random.Random`` seeded with TEST_SEED (default below; ``TEST_SEED=random``
#   draws a fresh one to explore, and the failure report says which one it was);
# - ``pinned_today``: the application clock at TEST_TODAY (default below), for tests whose data is
#   made relative to "today" (the demo), so they do not depend on the day they run;
# - Hypothesis (and schemathesis on top of it) under the "ci" profile: derandomised (the examples
#   follow from the test's source, not from the run), no example database, and the blob to replay a
#   failure printed (@reproduce_failure). HYPOTHESIS_PROFILE=explore draws new examples instead.

DEFAULT_TEST_SEED = 20261118
DEFAULT_TEST_TODAY = date(2026, 11, 18)  # a Wednesday in the middle of a month, not a holiday


def _test_seed() -> int:
    value = os.environ.get("TEST_SEED", "").strip()
    if value.lower() == "random":
        return secrets.randbelow(2**32)
    return int(value) if value else DEFAULT_TEST_SEED


def _test_today() -> date:
    value = os.environ.get("TEST_TODAY", "").strip()
    return date.fromisoformat(value) if value else DEFAULT_TEST_TODAY


TEST_SEED = _test_seed()  # drawn once per run, so every test of the run reports the same one
TEST_TODAY = _test_today()

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    derandomize=False,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    verbosity=Verbosity.normal,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_CHANCE = pytest.StashKey[list]()


def record_chance(node, what: str, env: str | None = None) -> None:
    """Note a source of chance of a test, printed if it fails (``env``: the setting that replays it)."""
    node.stash.setdefault(_CHANCE, []).append((what, env))


@pytest.fixture
def seeded_random(request) -> random.Random:
    """A private random stream for one test, seeded with TEST_SEED (printed if the test fails)."""
    record_chance(request.node, f"random seed {TEST_SEED}", f"TEST_SEED={TEST_SEED}")
    return random.Random(TEST_SEED)


@pytest.fixture(scope="module")
def pinned_today():
    """The application clock at TEST_TODAY (09:00 Shanghai) for a whole module, then back."""
    clock.set(TEST_TODAY)
    try:
        yield TEST_TODAY
    finally:
        clock.reset()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    notes = list(item.stash.get(_CHANCE, []))
    if "pinned_today" in getattr(item, "fixturenames", ()):
        notes.append(
            (f"application clock at {TEST_TODAY.isoformat()}", f"TEST_TODAY={TEST_TODAY.isoformat()}")
        )
    if report.failed and notes:
        hashseed = os.environ.get("PYTHONHASHSEED")
        if hashseed:
            notes.append((f"string hashes seeded with {hashseed}", f"PYTHONHASHSEED={hashseed}"))
        settings_ = " ".join(env for _, env in notes if env)
        report.sections.append(
            (
                "chance",
                "\n".join(
                    [*(what for what, _ in notes), f"replay: {settings_} python -m pytest '{item.nodeid}'"]
                ),
            )
        )
    return report


def pytest_report_header(config):
    return [
        f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (file per test)'}"
        + (f", reports and lists read from the replica {REPLICA_URL}" if REPLICA_URL else ""),
        f"chance: TEST_SEED={TEST_SEED} TEST_TODAY={TEST_TODAY.isoformat()} "
        f"hypothesis profile={settings.get_current_profile_name()} PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED', 'random')}",
    ]


@pytest.fixture(scope="session")
def _pg_schema():
    """On PostgreSQL the schema is built once; each test starts from empty tables."""
    if not PG_URL:
        yield None
        return
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": PG_URL, "SECRET_KEY": "test"})
    with app.app_context():
        with db.engine.begin() as conn:  # whatever an earlier run left behind goes too
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        db.engine.dispose()
    yield PG_URL


def _truncate_all():
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db_url(tmp_path, _pg_schema):
    return _pg_schema or f"sqlite:///{tmp_path / 'test.sqlite'}"


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: its own app context, ``g`` and
    database session, instead of reusing the test's app context (Flask reuses a pushed one).
    The test's own session commits before and after each request, like another user who saves
    before the request and reloads after it: the request sees what the test wrote, and the test
    then sees what the request committed (its read snapshot and loaded objects are refreshed)."""

    def open(self, *args, **kwargs):
        in_test_context = has_app_context()  # False in a test's worker threads
        if in_test_context:
            db.session.commit()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            if in_test_context:
                db.session.commit()


@pytest.fixture
def app(db_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_DIR": str(tmp_path),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing for tests only
            "DATABASE_REPLICA_URL": REPLICA_URL,
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        if PG_URL:
            _truncate_all()
        else:
            db.create_all()
        yield app
        db.session.remove()
        for engine in db.engines.values():  # the replica's too
            engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    from tests.factories import build_world

    return build_world()


def csrf_token(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, username: str, password: str = "password123"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def web(client):
    """A logged-in browser-like client: web.login('name'); web.csrf(url)."""
    return SimpleNamespace(
        client=client,
        login=lambda username, password="password123": login(client, username, password),
        csrf=lambda url: csrf_token(client, url),
    )


# Live server and headless Chromium for end-to-end tests (tests/browser.py).
from tests.browser import browser, live_server, new_page, page  # noqa: E402, F401
