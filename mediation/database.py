"""Database engine tuning for the embedded default (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

_installed = False
MAX_ID = 2**31 - 1  # PostgreSQL integer


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in URLs, limited to 0 … 2³¹−1 (the range of an id column)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


@contextmanager
def write_intent() -> Iterator[None]:
    """Mark work outside a request (CLI, scheduler jobs) as writing, so that on SQLite its
    transactions take the write lock at BEGIN and queue behind other writers."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _wants_write_lock() -> bool:
    if _write_intent.get():
        return True
    return has_request_context() and request.method not in READ_METHODS


def install_sqlite_tuning() -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for writing requests.

    pysqlite opens transactions lazily and upgrades a read lock to a write lock mid-transaction,
    which fails at once (no busy wait) when another connection has written since. A writing
    request (POST …) or work marked with :func:`write_intent` therefore takes the write lock at
    BEGIN, so concurrent writers queue up (busy_timeout) instead of failing. Reads stay deferred
    and, with WAL, never block or get blocked. PostgreSQL is untouched."""
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _connect(dbapi_connection, connection_record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _begin(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")
