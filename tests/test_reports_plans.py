"""How the reports reach PostgreSQL and SQLite (bench/README.md, "Reports"): connection settings,
statement counts and plan shapes — counts and shapes, never times."""

from __future__ import annotations

from sqlalchemy import text

from mediation import create_app
from mediation.extensions import db


def test_postgresql_connections_run_without_jit(app):
    """The reports' aggregates cost more than ``jit_above_cost`` at a district's size, and compiling
    them took 1.4 s of a query that runs in milliseconds: every connection of the app turns JIT off
    (and prepares nothing, so that no generic plan ignores the subtree and the dates)."""
    pg = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1:1/x",
            "SECRET_KEY": "t",
            "SCHEDULER_MODE": "off",
        }
    )
    connect_args = pg.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert connect_args["options"] == "-c jit=off"
    assert connect_args["prepare_threshold"] is None
    if db.engine.dialect.name == "postgresql":
        assert db.session.execute(text("SHOW jit")).scalar() == "off"
