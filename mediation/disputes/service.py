"""Registration and the timeline: the rules, callable without a request.

Service functions populate, flush and write the timeline event in the same transaction; the caller
commits once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import bindparam, case, exists, insert, or_, select, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ONETOMANY, joinedload, selectinload

from mediation import signals
from mediation.accounts.access import (
    assigned_to,
    can_see_node,
    dispute_scope,
    may_read_id_numbers,
    subtree_node_ids,
    visible_disputes,
)
from mediation.accounts.models import User
from mediation.common.enums import PartyKind, RiskLevel, Status
from mediation.common.paging import PER_PAGE, Page, paginate_args
from mediation.common.rows import insert_new
from mediation.common.sqlexpr import among
from mediation.common.time import local_today, utcnow
from mediation.common.validators import mask_id_number
from mediation.disputes import case_code  # noqa: F401  (connects the 受理 hook, case_code.notify_parties)
from mediation.disputes.models import CaseSequence, Dispute, Event, IdempotencyRecord, Party, new_case_code
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.geo.service import node_by_code
from mediation.mediators.models import dispute_mediator
from mediation.routing.service import record_suggestion

PROMINENT_LEVELS = {RiskLevel.SERIOUS.value, RiskLevel.EXTREME.value}


def is_prominent(risk_level: str, flags: list[str]) -> bool:
    """突出问题: 重大 or 特别重大, or any risk flag (DOMAIN.md §6)."""
    return risk_level in PROMINENT_LEVELS or bool(flags)


NO_PARTY_MESSAGE = "请至少登记一名当事人。"


def parties_missing(parties) -> str | None:
    """A case is registered with at least one 当事人 (form, API and ledger import ask this)."""
    return None if parties else NO_PARTY_MESSAGE


def new_event(
    dispute: Dispute,
    type_: str,
    user: User | None,
    *,
    note: str | None = None,
    data: dict | None = None,
    on: date | None = None,
    at=None,
) -> Event:
    """A timeline event of ``dispute``, not yet in the session (:func:`add_event` adds it)."""
    return Event(
        dispute=dispute,
        type=type_,
        user=user,
        by_name=user.name if user else "系统",
        unit_id=user.unit_id if user else None,
        note=note,
        data=data or {},
        on=on or local_today(),
        at=at or utcnow(),
    )


def add_event(dispute: Dispute, type_: str, user: User | None, **details) -> Event:
    """A timeline event of ``dispute`` (``details`` as :func:`new_event` takes them), added to the
    session and announced."""
    event = new_event(dispute, type_, user, **details)
    db.session.add(event)
    signals.event_added.send(type_, event=event)
    return event


@cache
def _sequence_upsert(dialect: str):
    """``INSERT … ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last`` for ``dialect``, built
    once per process (bind parameters ``series``, ``unit_id``, ``year``)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = CaseSequence.__table__  # the table, not the entity: a Core statement, not an ORM bulk insert
    stmt = insert(table).values(
        series=bindparam("series"), unit_id=bindparam("unit_id"), year=bindparam("year"), last=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["series", "unit_id", "year"], set_={"last": table.c.last + 1}
    )
    return stmt.returning(table.c.last)


def _increment_sequence(unit_id: int, year: int, series: str) -> int:
    """The next value of the unit's yearly ``series``, in one statement: ``INSERT … ON CONFLICT DO
    UPDATE SET last = last + 1 RETURNING last`` (the first number of a year creates the row)."""
    stmt = _sequence_upsert(db.session.get_bind().dialect.name)
    return db.session.execute(stmt, {"series": series, "unit_id": unit_id, "year": year}).scalar_one()


def next_number(unit: Unit, year: int, *, series: str, pattern: str, taken) -> str:
    """Allocate the next number of the unit's yearly ``series`` (``case``, ``agreement``), formatted
    with ``pattern`` ({year}, {unit}: the unit's 字号, {seq}); ``taken(number)`` says a number is used.

    The increment is a single upsert ``… RETURNING``: PostgreSQL holds the row lock and SQLite the
    database write lock until commit, so concurrent allocations never get the same number, and a
    rolled-back one never hands its number to anyone else's committed row. A number already taken
    (an imported ledger may hold it) is skipped. Callers allocate last, just before they commit, so
    the lock is held for the few inserts that need the number.
    """
    while True:
        seq = _increment_sequence(unit.id, year, series)
        number = pattern.format(year=year, unit=unit.abbreviation, seq=seq)
        if not taken(number):
            return number


def next_case_no(unit: Unit, year: int) -> str:
    """Allocate the next case number (CASE_NO_PATTERN) of the unit's yearly sequence."""
    return next_number(
        unit,
        year,
        series="case",
        pattern=current_app.config["CASE_NO_PATTERN"],
        taken=lambda no: db.session.scalar(CASE_NO_TAKEN, {"case_no": no}),
    )


# The registration's statements are built once per process: building a statement costs more Python
# than executing it (issue 17; bench/profile_registration.py).
CASE_NO_TAKEN = select(exists().where(Dispute.case_no == bindparam("case_no")))
IDEMPOTENCY_RECORD = select(IdempotencyRecord.request_hash, IdempotencyRecord.dispute_id).where(
    IdempotencyRecord.user_id == bindparam("user_id"), IdempotencyRecord.key == bindparam("key")
)
IDEMPOTENCY_INSERT = insert(IdempotencyRecord.__table__)
# The duplicate check's first step: the ids of the cases of a category registered since a day that
# have a party of one of the names. Nearly always none; only candidates are loaded (similar_recent).
DUPLICATE_CANDIDATES = select(Dispute.id).where(
    Dispute.category == bindparam("category"),
    Dispute.registered_on >= bindparam("since"),
    among(
        Dispute.id,
        select(Party.dispute_id).where(Party.name.in_(bindparam("names", expanding=True))).scalar_subquery(),
    ),
)


def party_key(name: str) -> str:
    return "".join(name.split())


def similar_recent(
    user: User | None, category: str, names: list[str], on: date, exclude_id: int | None = None
) -> tuple[list[Dispute], int]:
    """Cases of the same category and the same set of parties registered within the window.

    Returns the ones the user may see, and how many more exist outside their scope (``user`` None:
    the system, e.g. an online application, sees them all). One query for the candidates' ids
    (DUPLICATE_CANDIDATES); when there are any, one for them with the user's scope as a column and
    one for their parties."""
    keys = {party_key(n) for n in names}
    if not keys:
        return [], 0
    since = on - timedelta(days=current_app.config["DUPLICATE_WINDOW_DAYS"])
    candidates = db.session.scalars(
        DUPLICATE_CANDIDATES, {"category": category, "since": since, "names": list(names)}
    ).all()
    candidates = [c for c in candidates if c != exclude_id]
    if not candidates:
        return [], 0
    seen = true() if user is None else dispute_scope(user)
    stmt = (
        select(Dispute, case((seen, True), else_=False))
        .options(joinedload(Dispute.node), selectinload(Dispute.parties))
        .where(Dispute.id.in_(candidates))
        .order_by(Dispute.id)
    )
    matches = [
        (d, bool(may_see))
        for d, may_see in db.session.execute(stmt)
        if {party_key(p.name) for p in d.parties} == keys
    ]
    visible = [d for d, may_see in matches if may_see]
    return visible, len(matches) - len(visible)


def duplicate_warnings(
    user: User | None,
    dispute: Dispute,
    *,
    audience: Node | None = None,
    similar: tuple[list[Dispute], int] | None = None,
) -> list[str]:
    """The 疑似重复 warning for ``user``: the similar cases they may see by case number, the others
    counted. With ``audience``, only cases under that node are named (for text that everyone who
    sees a case registered there will read, such as its timeline). ``similar``: the answer of
    :func:`similar_recent` for this case and user, when the caller has it already."""
    visible, hidden = (
        similar
        if similar is not None
        else similar_recent(
            user,
            dispute.category,
            [p.name for p in dispute.parties],
            dispute.registered_on,
            exclude_id=dispute.id,
        )
    )
    if audience is not None:
        named = [d for d in visible if d.node.path.startswith(audience.path)]
        visible, hidden = named, hidden + len(visible) - len(named)
    window = current_app.config["DUPLICATE_WINDOW_DAYS"]
    warnings = []
    if visible:
        warnings.append(
            f"近{window}天内已登记相同当事人、相同类别的纠纷：{'、'.join(d.case_no for d in visible)}，请核实是否重复登记。"
        )
    if hidden:
        warnings.append(
            f"近{window}天内其他单位已登记{hidden}件相同当事人、相同类别的纠纷，请核实是否重复登记。"
        )
    return warnings


def resolve_node(user: User, code: str) -> Node:
    """:func:`node_by_code`, within the user's territory."""
    node = node_by_code(code)
    if not can_see_node(user, node):
        raise ValidationError({"node": ["该属地不在您单位的辖区内，无权登记。"]})
    return node


@dataclass
class Registration:
    dispute: Dispute
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False


def request_fingerprint(payload) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def find_idempotent(user: User, key: str, fingerprint: str) -> Dispute | None:
    record = db.session.execute(IDEMPOTENCY_RECORD, {"user_id": user.id, "key": key}).first()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise ValidationError(
            {"Idempotency-Key": ["该 Idempotency-Key 已用于内容不同的请求，请换一个新的键。"]}
        )
    return db.session.get(Dispute, record.dispute_id)


def register(
    user: User | None,
    data: dict,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    unit: Unit | None = None,
) -> Registration:
    """Register a validated ``DisputeCreate`` payload. Raises ValidationError (field → messages).

    ``user`` None with a ``unit``: registered by the system on that unit's behalf (an online
    application lands at the 综治中心 responsible for its place: mediation/applications); the place
    is then not checked against a user's scope, the timeline names 系统, and idempotency is the
    caller's (``idempotency_key`` needs a user)."""
    if idempotency_key and user is not None:
        previous = find_idempotent(user, idempotency_key, fingerprint or "")
        if previous is not None:
            return Registration(previous, replayed=True)
    registering_unit = user.unit if user is not None else unit
    node = node_by_code(data["node"]) if user is None else resolve_node(user, data["node"])
    today = local_today()
    flags = list(data.get("flags") or [])
    # The case stays out of the session until its number is allocated: the reads below (duplicates,
    # routing, the case code) flush nothing, and the number comes last, just before the inserts.
    dispute = Dispute(
        category=data["category"],
        source=data["source"],
        summary=data["summary"],
        venue=data.get("venue"),
        people_count=data.get("people_count"),
        amount=data.get("amount"),
        occurred_on=data.get("occurred_on"),
        risk_level=data["risk_level"],
        flags=flags,
        prominent=is_prominent(data["risk_level"], flags),
        node=node,
        registering_unit=registering_unit,
        registered_by=user,
        registered_on=today,
        status=Status.PENDING,
    )
    _start_empty(dispute)
    for position, p in enumerate(data.get("parties") or []):
        dispute.parties.append(Party(position=position, **p))
    similar = similar_recent(user, dispute.category, [p.name for p in dispute.parties], today)
    warnings = duplicate_warnings(user, dispute, similar=similar)
    record_suggestion(dispute)  # 分流建议 from the rule table, for the 综治中心 to confirm or override
    dispute.case_code = new_case_code(db.session.connection())
    dispute.case_no = next_case_no(registering_unit, today.year)  # last: the unit's sequence is locked
    events = [
        new_event(
            dispute,
            "registered",
            user,
            data={
                "case_no": dispute.case_no,
                "category": dispute.category,
                "source": dispute.source,
                "node": node.code,
                "risk_level": dispute.risk_level,
                "parties": len(dispute.parties),
            },
        )
    ]
    if warnings:
        # The timeline is read by everyone who sees the new case (town B's staff for a case there,
        # even when the district registered it): it names only the cases they may see too.
        shared = duplicate_warnings(user, dispute, audience=node, similar=similar)
        events.append(new_event(dispute, "duplicate_warning", user, note="；".join(shared)))
    # Core inserts, no unit of work: the case, its parties and events become persistent objects
    # as if loaded (common/rows.py), so what follows (the answer, 受理 in the same request) sees them.
    insert_new(db.session(), dispute, *dispute.parties, *events)
    for event in events:
        signals.event_added.send(event.type, event=event)
    if idempotency_key and user is not None:
        db.session.execute(
            IDEMPOTENCY_INSERT,
            {
                "user_id": user.id,
                "key": idempotency_key,
                "request_hash": fingerprint or "",
                "dispute_id": dispute.id,
                "created_at": utcnow(),
            },
        )
    return Registration(dispute, warnings)


def _start_empty(dispute: Dispute) -> None:
    """A new case's collections (co-units, mediators, …) start empty and its one-to-one companions
    (the 包案 leader, …) absent: set them so (reading one of a transient object does not), so an answer
    built from the case after the commit queries none (tests/test_registration_statements.py)."""
    for relation in sa_inspect(Dispute).relationships:
        if relation.viewonly:
            continue
        if relation.uselist:
            setattr(dispute, relation.key, [])
        elif relation.direction is ONETOMANY:  # a one-to-one whose key is on the other table
            setattr(dispute, relation.key, None)


def shown_id_number(party: Party, user: User) -> str | None:
    """The party's ID number as this user may see it: personal ID numbers are masked for roles
    that do not need them; credit codes of organisations are public and shown as they are."""

    if party.kind != PartyKind.PERSON or may_read_id_numbers(user):
        return party.id_number
    return mask_id_number(party.id_number)


def _sort_columns() -> dict:
    """The whitelisted sort keys of case lists (schemas.SORT_KEYS) and their SQL columns."""

    # cycle: disputes.workflow imports disputes.service
    from mediation.disputes.workflow import Stage, stage_condition
    from mediation.reports.overdue import risk_rank_sql  # cycle: reports imports disputes.service

    stage = case(*((stage_condition(st), rank) for rank, st in enumerate(Stage)), else_=len(Stage))
    return {
        "registered": (Dispute.registered_at,),
        "case_no": (Dispute.case_no,),
        "category": (Dispute.category,),
        "risk": (risk_rank_sql(),),
        "stage": (stage,),
        "unit": (
            Dispute.unit_id.is_(None),
            select(Unit.name).where(Unit.id == Dispute.unit_id).scalar_subquery(),
        ),
        "deadline": (Dispute.deadline.is_(None), Dispute.deadline),
    }


NO_UNIT = "未分流"  # the lead-unit filter's value for cases without a lead unit
# The query keys of a report drill-down (reports.figures.figure_filter), kept by page links and exports.
FIGURE_KEYS = ("figure", "month", "week", "period", "channel", "venue", "prominent", "direct")


def _list_base(user: User, args: dict):
    """The user's visible cases; a report figure whose node lies in the user's area needs no scope."""
    if args.get("figure") and args.get("node"):
        # A report figure selects cases of its node's subtree only; when that node lies in the
        # user's area every such case is visible (dispute_scope's first branch), so the scope's OR
        # adds nothing but a plan that walks the whole area through the 属地 index. Otherwise
        # (a crafted link to another area, through the API) the scope stays and cuts it down.
        figure_node = db.session.scalar(select(Node).where(Node.code == args["node"]))
        if figure_node is not None and can_see_node(user, figure_node):
            return select(Dispute)
    return visible_disputes(user)


def _where_state(stmt, args: dict, today: date | None):
    """状态, 阶段 and 期限 level filters."""
    from mediation.disputes.workflow import (
        stage_condition,  # cycle: disputes.workflow imports disputes.service
    )
    from mediation.reports.overdue import deadline_level_sql  # cycle: reports imports disputes.service

    if args.get("status"):
        stmt = stmt.where(Dispute.status == args["status"])
    if args.get("stage"):
        stmt = stmt.where(stage_condition(args["stage"]))
    if args.get("level"):
        stmt = stmt.where(
            Dispute.status != Status.CLOSED,
            Dispute.deadline.is_not(None),
            deadline_level_sql(today or local_today()) == args["level"],
        )
    return stmt


def handled_by(mediator_id: int):
    """Cases that name the mediator as 承办调解员 (``dispute_mediator``): the case list's ``mediator``
    filter and the per-调解员 scorecard (reports/scorecard.py) use this one condition."""
    return Dispute.id.in_(
        select(dispute_mediator.c.dispute_id).where(dispute_mediator.c.mediator_id == mediator_id)
    )


def _where_unit(stmt, args: dict):
    """承办单位 filter (NO_UNIT: none yet); None when the unit code is unknown."""
    if args.get("unit") == NO_UNIT:
        return stmt.where(Dispute.unit_id.is_(None))
    if args.get("unit"):
        unit = db.session.scalar(select(Unit).where(Unit.code == args["unit"]))
        if unit is None:
            return None
        return stmt.where(Dispute.unit_id == unit.id)
    return stmt


def _where_node_or_figure(stmt, args: dict, today: date | None):
    """属地 subtree filter, or a report figure's cases; None when the node code is unknown."""
    node = None
    if args.get("node"):
        node = db.session.scalar(select(Node).where(Node.code == args["node"]))
        if node is None:
            return None
        if not args.get("figure"):  # a figure selects the subtree itself, in the way its indexes want
            stmt = stmt.where(Dispute.node_id.in_(subtree_node_ids(node)))
    if args.get("figure"):
        # cycle: reports imports disputes.service
        from mediation.reports.common import parse_period
        from mediation.reports.figures import figure_filter

        stmt = stmt.where(
            figure_filter(
                args["figure"],
                node,
                parse_period(args.get("month"), args.get("week"), args.get("period")),
                today=today,
                prominent=args.get("prominent", False),
                direct=args.get("direct", False),
                channel=args.get("channel"),
                venue=args.get("venue"),
            )
        )
    return stmt


def _where_registered_or_text(stmt, args: dict):
    """登记日期 range, and the search text in 案件编号, 简要情况 or a party's name."""
    if args.get("date_from"):
        stmt = stmt.where(Dispute.registered_on >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(Dispute.registered_on <= args["date_to"])
    if args.get("q"):
        like = f"%{args['q']}%"
        stmt = stmt.where(
            or_(
                Dispute.case_no.like(like),
                Dispute.summary.like(like),
                Dispute.id.in_(select(Party.dispute_id).where(Party.name.like(like))),
            )
        )
    return stmt


def filtered_disputes(user: User, args: dict, today: date | None = None):
    """The user's cases with the list filters of ``DisputeListArgs`` applied, in the requested
    order (a SELECT of Dispute), or None when a filter names an unknown node or unit. The web list,
    its Excel export and the API list all use it."""
    stmt = _where_unit(_where_state(_list_base(user, args), args, today), args)
    if stmt is None:
        return None
    if args.get("mine"):
        stmt = stmt.where(assigned_to(user))
    if args.get("category"):
        stmt = stmt.where(Dispute.category == args["category"])
    if args.get("mediator"):
        stmt = stmt.where(handled_by(args["mediator"]))
    stmt = _where_node_or_figure(stmt, args, today)
    if stmt is None:
        return None
    stmt = _where_registered_or_text(stmt, args)
    sort = args.get("sort") or "-registered"
    key, descending = sort.lstrip("-"), sort.startswith("-")
    columns = _sort_columns()[key]
    order = [
        columns[-1].desc() if descending else columns[-1],
        Dispute.id.desc() if descending else Dispute.id,
    ]
    return stmt.order_by(*columns[:-1], *order)  # leading columns: cases without a value last


def list_disputes(user: User, args: dict) -> Page:
    """The user's cases, filtered, sorted, one page of them (``page`` / ``per_page`` of ``args``)."""
    stmt = filtered_disputes(user, args)
    if stmt is None:
        return Page(items=[], total=0, page=args.get("page", 1), per_page=args.get("per_page", PER_PAGE))
    return paginate_args(stmt, args)
