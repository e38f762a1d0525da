"""Fixtures: a fresh database per test, on SQLite (default) or PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import contextvars
import os
import re
from types import SimpleNamespace

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from mediation import create_app
from mediation.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (file per test)'}"


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
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test-secret",
        "INSTANCE_DIR": str(tmp_path),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing for tests only
    })
    app.test_client_class = IsolatedClient
    with app.app_context():
        if PG_URL:
            _truncate_all()
        else:
            db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


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
