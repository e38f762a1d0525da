"""The SQL statements a piece of code sends (an engine event): plan-shape and statement-count tests
count and inspect them — counts and shapes, never times."""

from __future__ import annotations

from sqlalchemy import event

from mediation.extensions import db


def statements_of(fn) -> list[tuple[str, object]]:
    """``(statement, parameters)`` of every statement ``fn()`` sends through the app's primary engine."""
    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return seen
