"""The replica setting inside one process that builds several apps (the tests, the CLI next to the
web app): an app with DATABASE_REPLICA_URL leaves nothing behind that an app without it trips over."""

from __future__ import annotations

from sqlalchemy import inspect

from mediation import create_app
from mediation.extensions import db


def test_an_app_without_a_replica_after_one_with_it(tmp_path):
    with_replica = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://mediation@127.0.0.1:1/primary",
            "DATABASE_REPLICA_URL": "postgresql://mediation@127.0.0.1:1/replica",
            "SECRET_KEY": "test",
        }
    )
    with with_replica.app_context():
        assert set(db.engines) == {None, "replica"}  # created, not connected
    plain = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
            "SECRET_KEY": "test",
        }
    )
    with plain.app_context():
        db.create_all()
        assert "dispute" in inspect(db.engine).get_table_names()
        db.engine.dispose()
