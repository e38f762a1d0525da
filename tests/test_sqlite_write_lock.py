"""Work outside a request that writes takes SQLite's write lock at BEGIN (database.write_intent), so it
waits for the server's writers instead of failing: every command of the command line
(mediation.cli.writing_command), and the tests' own writers beside a running sender (tests/test_sms.py).

The failure this keeps out: a transaction that began deferred reads, then writes, and SQLite upgrades its
lock; when another connection holds the write lock at that moment, the upgrade fails at once with
``database is locked`` (no busy wait). CI once saw it in tests/test_sms.py, beside the sender thread's
claim. PostgreSQL has no such lock."""

from __future__ import annotations

import sqlite3
import threading
import time

import click
import pytest
from flask.cli import AppGroup
from sqlalchemy import event, func, select, update

from mediation.accounts.models import User
from mediation.cli import COMMANDS, command_tree, writing_command
from mediation.extensions import db
from tests.conftest import PG_URL

SQLITE_ONLY = pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock (PostgreSQL locks rows)")


def _read_then_write() -> int:
    """What most commands do: look something up, then write."""
    users = db.session.scalar(select(func.count(User.id)))
    db.session.execute(update(User).values(username=User.username))
    db.session.commit()
    return users


class HeldLock:
    """Another connection (the server) holds the write lock until the app's first statement has been sent,
    and a little longer, then lets go."""

    def __init__(self, db_url: str):
        self.holder = sqlite3.connect(
            db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        self.sent = threading.Event()
        self.released = threading.Event()

    def _first_statement(self, conn, cursor, statement, *args):
        self.sent.set()

    def _release(self):
        self.sent.wait(30)
        time.sleep(0.3)  # the app's transaction has begun; a deferred one has read by now
        self.holder.execute("ROLLBACK")
        self.released.set()

    def __enter__(self):
        self.holder.execute("BEGIN IMMEDIATE")
        event.listen(db.engine, "before_cursor_execute", self._first_statement)
        self.thread = threading.Thread(target=self._release)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sent.set()
        self.thread.join(30)
        event.remove(db.engine, "before_cursor_execute", self._first_statement)
        self.holder.close()


@SQLITE_ONLY
def test_a_command_waits_for_the_write_lock_instead_of_failing(app, db_url):
    db.session.commit()
    group = AppGroup("locktest")

    @group.command("write")
    def write():
        click.echo(f"users={_read_then_write()}")

    app.cli.add_command(writing_command(group))
    with HeldLock(db_url) as lock:
        result = app.test_cli_runner().invoke(args=["locktest", "write"])
    assert result.exception is None, result.exception
    assert result.exit_code == 0 and "users=" in result.output
    assert lock.released.is_set()


@SQLITE_ONLY
def test_without_the_mark_the_same_work_fails_at_once(app, db_url):
    """The control: unmarked, the deferred transaction reads, then its write fails on the held lock."""
    db.session.commit()
    with HeldLock(db_url), pytest.raises(Exception, match="database is locked"):
        _read_then_write()
    db.session.rollback()


def test_every_command_of_the_app_is_marked(app):
    ours = [c for group in COMMANDS for c in command_tree(group) if c.callback is not None]
    assert len(ours) > 20
    assert [c.name for c in ours if not getattr(c.callback, "writing", False)] == []
    assert {c.name for c in COMMANDS} <= set(app.cli.list_commands(click.Context(app.cli)))


def test_marking_twice_wraps_once():
    group = AppGroup("g")

    @group.command("c")
    def c():
        pass

    first = writing_command(group).commands["c"].callback
    assert writing_command(group).commands["c"].callback is first
