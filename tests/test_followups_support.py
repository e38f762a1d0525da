"""Helpers for the follow-up, supervision and scheduler tests (imported by those files; no tests here).

Cases are set up with the registration service and the timeline's ``add_event`` (the cross-area hook
that the workflow, agreements and other areas use), so the receivers of mediation/followups run
exactly as they do in production.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from mediation import clock
from mediation.common.enums import Channel, Status
from mediation.disputes.models import Event
from mediation.disputes.service import add_event, register
from mediation.extensions import db
from mediation.followups.models import FollowUp, Notification
from tests.factories import dispute_payload

START = date(2026, 3, 2)  # a Monday


@pytest.fixture
def at():
    """Move the application clock: ``at(date(2026, 3, 5))``. Reset after the test."""
    clock.set(START)
    yield lambda day: clock.set(day)
    clock.reset()


def make_case(
    world,
    *,
    unit=None,
    status=Status.HANDLING,
    accepted_on=None,
    deadline=None,
    handler=None,
    co_units=(),
    by=None,
):
    """A routed case at 新家园社区 (under 海滨街道, 海滨区), lead unit 海滨街道人民调解委员会 by default."""
    user = by or world.center_user_a.user
    reg = register(user, dispute_payload(world.village_a.code, occurred_on=None))
    d = reg.dispute
    d.channel = Channel.PEOPLE
    d.unit = unit or world.committee_a
    d.status = status
    d.accepted_on = accepted_on
    d.deadline = deadline
    d.handler = handler
    d.co_units = list(co_units)
    db.session.commit()
    return d


def emit(dispute, type_, user, *, data=None, on=None, **changes):
    """Apply ``changes`` to the case and write the timeline event (the signal fires), then commit."""
    for key, value in changes.items():
        setattr(dispute, key, value)
    add_event(dispute, type_, user, data=data or {}, on=on or clock.today(), at=clock.now())
    db.session.commit()


def close(dispute, user, day=None):
    day = day or clock.today()
    emit(
        dispute,
        "closed",
        user,
        data={"outcome": "调解成功"},
        on=day,
        status=Status.CLOSED,
        closed_on=day,
        outcome="调解成功",
    )


def followups(dispute, kind=None):
    stmt = select(FollowUp).where(FollowUp.dispute_id == dispute.id).order_by(FollowUp.due_on, FollowUp.id)
    if kind:
        stmt = stmt.where(FollowUp.kind == kind)
    return db.session.scalars(stmt.execution_options(populate_existing=True)).all()


def events(dispute, type_):
    return db.session.scalars(
        select(Event).where(Event.dispute_id == dispute.id, Event.type == type_).order_by(Event.id)
    ).all()


def notifications(user=None, key_prefix=None):
    stmt = select(Notification).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    if key_prefix:
        stmt = stmt.where(Notification.key.startswith(key_prefix))
    return db.session.scalars(stmt.execution_options(populate_existing=True)).all()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- a local SMTP sink (asyncio, loopback) -------------------------------------------------------------


class SmtpSink:
    """A tiny SMTP server on 127.0.0.1 that keeps what it receives (EHLO/HELO, MAIL, RCPT, DATA,
    RSET, NOOP, QUIT). The app's real smtplib code talks to it."""

    def __init__(self, port: int = 0):
        self.messages: list[dict] = []
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="smtp-sink")

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    def start(self) -> SmtpSink:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        def _close():
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(_close)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", self._port)
        )
        self._ready.set()
        self._loop.run_forever()

    @staticmethod
    async def _read_message(reader):
        """The message after DATA, up to the line with a single dot (dot-stuffing undone)."""
        chunks = []
        while True:
            data = await reader.readline()
            if data in (b".\r\n", b".\n", b""):
                break
            chunks.append(data[1:] if data.startswith(b"..") else data)
        return message_from_bytes(b"".join(chunks), policy=policy.default)

    async def _session(self, reader, writer):
        def say(line: str):
            writer.write((line + "\r\n").encode())

        say("220 sink ESMTP")
        sender, rcpts = None, []
        while True:
            raw = await reader.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                say("250-sink" if verb == "EHLO" else "250 sink")
                if verb == "EHLO":
                    say("250 8BITMIME")
            elif verb == "MAIL":
                sender, rcpts = line.split(":", 1)[1].strip(), []
                say("250 OK")
            elif verb == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
                say("250 OK")
            elif verb == "DATA":
                say("354 end with .")
                await writer.drain()
                msg = await self._read_message(reader)
                self.messages.append({"from": sender, "to": rcpts, "message": msg})
                say("250 queued")
            elif verb == "RSET":
                sender, rcpts = None, []
                say("250 OK")
            elif verb == "NOOP":
                say("250 OK")
            elif verb == "QUIT":
                say("221 bye")
                await writer.drain()
                break
            else:
                say("502 not implemented")
            await writer.drain()
        writer.close()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()
