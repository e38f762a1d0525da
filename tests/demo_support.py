"""The demo world for tests: an app on its own database (the run's PostgreSQL schema when
TEST_DATABASE_URL is set, else a SQLite file in ``directory``), loaded with ``flask demo``. Shared by
test_demo, test_routing_picker, test_polish and the reproducibility check (reproducible_demo)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mediation import create_app
from mediation.extensions import db
from tests.conftest import PG_URL, IsolatedClient, _truncate_all


def run_demo(app, *args):
    result = app.test_cli_runner().invoke(args=["demo", *args])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result


def make_app(url: str, directory) -> object:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_DIR": str(directory),
            "SIGNING_DIR": str(directory / "signing"),
            "PUBLIC_URL": "https://tiaojie.example.gov.cn",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing for tests only
        }
    )
    app.test_client_class = IsolatedClient
    return app


@contextmanager
def demo_world(directory: Path, pg_schema: str | None, disputes: int) -> Iterator[tuple[object, object]]:
    """An app with the demo of ``disputes`` cases loaded (tables built by create_all, unversioned):
    yields (app, the demo command's result); afterwards the PostgreSQL tables are emptied again."""
    app = make_app(pg_schema or f"sqlite:///{directory / 'demo.sqlite'}", directory)
    with app.app_context():
        if PG_URL:
            _truncate_all()
        else:
            db.create_all()
        result = run_demo(app, "--disputes", str(disputes))
        db.session.remove()
    try:
        yield app, result
    finally:
        with app.app_context():
            if PG_URL:
                _truncate_all()
            db.engine.dispose()
