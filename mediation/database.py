"""Database engine tuning for the embedded default (SQLite), and the session that can send reads to a
replica (mediation/replica.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import TextClause
from werkzeug.routing import IntegerConverter

_installed = False
MAX_ID = 2**31 - 1  # PostgreSQL integer


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in URLs, limited to 0 … 2³¹−1 (the range of an id column)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


READS = "replica_reads"  # Session.info: the engine that serves this session's reads (mediation/replica.py)


class RoutingSession(Session):
    """Flask-SQLAlchemy's session; while :func:`mediation.replica.read_from_replica` has said yes, plain SELECTs go to
    the replica and everything else to the primary (and, after a write, every read too)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = self.info.get(READS)
        if replica is not None and bind is None:
            if not self._flushing and _is_plain_read(clause):
                return replica
            if self._flushing or getattr(clause, "is_dml", False):
                del self.info[READS]  # the request writes: it reads its own writes from the primary
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _is_plain_read(clause) -> bool:
    if clause is None:
        return False  # Session.connection(): the caller may write
    if isinstance(clause, TextClause):
        return clause.text.lstrip()[:6].lower() == "select"
    return bool(getattr(clause, "is_select", False)) and getattr(clause, "_for_update_arg", None) is None


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
