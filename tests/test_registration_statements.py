"""A regression guard on the work of one registration through the API: how many SQL statements it
sends, and that the case number is allocated last, just before COMMIT. Counts, never times.

One registration: ``POST /api/v1/disputes`` with an Idempotency-Key, a case with two parties, one
event (the world has no routing rules and no similar case). Statements of the request only:

                                             before      after
    SQLite (BEGIN IMMEDIATE counted)           29         15
    PostgreSQL                                 26         13

Saved (13 on PostgreSQL, 14 on SQLite): the user, its unit and the unit's node are read with the
token (3 SELECTs); the UPDATE of the routing suggestion (now set before the INSERT); the sequence's
INSERT … DO NOTHING and UPDATE … RETURNING are one upsert (1); no re-reads after the commit, the
answer is built from what was written (8 SELECTs, and on SQLite the second BEGIN IMMEDIATE).
SQLite inserts the two parties one by one (their ids are in the answer), PostgreSQL in one.
"""

from __future__ import annotations

import traceback

from flask import request_finished, request_started
from sqlalchemy import event
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.selectable import Select

from mediation.extensions import db
from tests.factories import dispute_payload

MAX_STATEMENTS = {"sqlite": 15, "postgresql": 13}
# What may follow the case number's allocation until COMMIT: the check that the number is free,
# and the inserts of the case, its parties, its event and the idempotency record.
AFTER_ALLOCATION = (
    "SELECT EXISTS",
    "INSERT INTO dispute ",
    "INSERT INTO party ",
    "INSERT INTO event ",
    "INSERT INTO idempotency_record ",
)


def _register(client, world):
    """The statements of one registration request, with COMMIT marked where it happens."""
    captured: list[str] = []
    recording = [False]

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        if recording[0]:
            captured.append(" ".join(statement.split()))

    def on_commit(conn):
        if recording[0]:
            captured.append("COMMIT")

    def started(sender, **extra):
        recording[0] = True

    def finished(sender, **extra):
        recording[0] = False

    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.engine, "commit", on_commit)
    request_started.connect(started)
    request_finished.connect(finished)
    try:
        r = client.post(
            "/api/v1/disputes",
            json=dispute_payload(world.grid_a.code),
            headers={**world.mediator_a.headers, "Idempotency-Key": "statements-1"},
        )
    finally:
        request_finished.disconnect(finished)
        request_started.disconnect(started)
        event.remove(db.engine, "commit", on_commit)
        event.remove(db.engine, "before_cursor_execute", on_statement)
    assert r.status_code == 201, r.get_json()
    return r.get_json(), captured


def test_one_registration_sends_few_statements(client, world):
    body, captured = _register(client, world)
    statements = [s for s in captured if s != "COMMIT"]
    dialect = db.engine.dialect.name
    assert len(statements) <= MAX_STATEMENTS[dialect], "\n".join(statements)
    # The answer is complete although nothing was read again after the commit.
    assert captured.count("COMMIT") == 1 and captured[-1] == "COMMIT", "\n".join(captured)
    assert body["case_no"].endswith("调字第0001号")
    assert [p["name"] for p in body["parties"]] == ["张三", "李四"]
    assert [e["type"] for e in body["events"]] == ["registered"]
    assert body["co_units"] == [] and body["mediators"] == []
    assert body["registering_unit"] == world.mediator_a.user.unit.code


def test_registration_writes_without_the_unit_of_work(client, world):
    """The case, its parties, its event and the idempotency row are Core inserts (common/rows.py), and
    the token's ``last_used_at`` a Core UPDATE (accounts/auth.py): the request flushes nothing."""
    flushed: list[list[str]] = []

    def on_flush(session, context, instances):
        flushed.append(sorted(type(o).__name__ for o in [*session.new, *session.dirty]))

    event.listen(db.session, "before_flush", on_flush)
    try:
        _register(client, world)
    finally:
        event.remove(db.session, "before_flush", on_flush)
    assert flushed == [], flushed


def test_case_number_is_allocated_just_before_commit(client, world):
    _, captured = _register(client, world)
    commit = captured.index("COMMIT")
    allocations = [i for i, s in enumerate(captured) if s.startswith("INSERT INTO case_sequence")]
    assert len(allocations) == 1, "\n".join(captured)
    after = captured[allocations[0] + 1 : commit]
    assert all(s.startswith(AFTER_ALLOCATION) for s in after), "\n".join(after)
    # The reads of the registration (scope, duplicates, routing, the case code) come before it.
    before = captured[: allocations[0]]
    assert any("FROM routing_rule" in s for s in before)
    assert any("case_code" in s and s.startswith("SELECT") for s in before)


def test_a_registration_builds_no_statement_of_its_own(client, world, monkeypatch):
    """Building a statement costs more Python than executing it: the registration's own statements
    (disputes, routing, geo, common/rows.py) are built once per process, not per request. Counted on the
    second registration (the first builds them)."""
    built: list[str] = []

    def counting(cls):
        original = cls.__init__

        def init(self, *args, **kwargs):
            # The constructor's caller, or its caller's (select() and insert() are functions).
            for frame in traceback.extract_stack(limit=3)[:2]:
                if "/mediation/" in frame.filename:
                    where = frame.filename.split("/mediation/")[1]
                    built.append(f"{type(self).__name__} in {where}:{frame.lineno}")
                    break
            original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)

    for cls in (Select, Insert, Update):
        counting(cls)
    for key in ("built-1", "built-2"):
        built.clear()
        r = client.post(
            "/api/v1/disputes",
            json=dispute_payload(world.grid_a.code, category="物业" if key == "built-1" else "消费"),
            headers={**world.mediator_a.headers, "Idempotency-Key": key},
        )
        assert r.status_code == 201, r.get_json()
    own = [b for b in built if b.split(" in ")[1].startswith(("disputes/", "routing/", "common/", "geo/"))]
    assert own == [], own


def test_the_duplicate_check_reads_the_named_parties_first(client, world):
    """The duplicate check's first statement selects candidate ids only; on PostgreSQL the parties
    of those names are read first (an InitPlan, ``= ANY (ARRAY(…))``), whatever the statistics say:
    a semi-join planned on statistics from before a load read the whole party table per case."""
    _, captured = _register(client, world)
    checks = [s for s in captured if s.startswith("SELECT dispute.id FROM dispute WHERE dispute.category")]
    assert len(checks) == 1, "\n".join(captured)
    if db.engine.dialect.name == "postgresql":
        assert "dispute.id = ANY (ARRAY(SELECT party.dispute_id FROM party WHERE party.name IN" in checks[0]
    # No case matched: nothing else of the duplicate check ran (no case loaded with its scope).
    assert not any(s.startswith("SELECT dispute.id, dispute.case_no") for s in captured), "\n".join(captured)
