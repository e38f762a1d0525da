"""The rules of the mediators' registry: who sees and edits whom, the "not trained this year" flag,
the cases a mediator handles (承办调解员) and what a mediator's page counts.

Every view, the API, the CLI and the workbook call these; none repeats a condition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import ColumnElement, Select, exists, false, func, or_, select, true

from mediation.accounts.access import (
    dispute_scope,
    is_admin,
    is_center_user,
    may_read_id_numbers,
    node_scope,
    predicate,
    subtree_node_ids,
)
from mediation.accounts.models import User
from mediation.common.enums import NodeLevel, Outcome, Role, Status, values
from mediation.common.paging import Page, paginate
from mediation.common.time import local_today
from mediation.common.validators import mask_id_number, mask_phone
from mediation.disputes.casework import MediationSession
from mediation.disputes.models import Dispute, dispute_co_unit, register_event_label
from mediation.disputes.service import add_event
from mediation.disputes.workflow import CASE_WORKER_ROLES
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.mediators.models import (
    Background,
    Employment,
    Mediator,
    Training,
    dispute_mediator,
    mediator_unit,
)

# --- "not trained this year" ----------------------------------------------------------------------


def training_year(today: date | None = None) -> tuple[date, date]:
    """The calendar year (Shanghai) that counts for the yearly training: 1 January … 31 December of
    the application clock's today."""
    year = (today or local_today()).year
    return date(year, 1, 1), date(year, 12, 31)


def untrained_this_year(today: date | None = None) -> ColumnElement[bool]:
    """THE definition (a SQL condition on ``Mediator``): no training record dated in the current
    Shanghai calendar year. The list's filter and flag, the API's ``untrained`` and the export's
    column all use it."""
    first, last = training_year(today)
    return ~exists().where(
        Training.mediator_id == Mediator.id, Training.held_on >= first, Training.held_on <= last
    )


def untrained_ids(mediator_ids, today: date | None = None) -> set[int]:
    """Which of these mediators are not trained this year (:func:`untrained_this_year`)."""
    ids = list(mediator_ids)
    if not ids:
        return set()
    stmt = select(Mediator.id).where(Mediator.id.in_(ids), untrained_this_year(today))
    return set(db.session.scalars(stmt))


# --- who sees, who edits --------------------------------------------------------------------------


def units_in_subtree(node: Node) -> Select:
    return select(Unit.id).where(Unit.node_id.in_(subtree_node_ids(node)))


def mediator_scope(user: User) -> ColumnElement[bool]:
    """Mediators the user may see: an admin every one; anyone else those with a unit in their
    unit's subtree."""
    if is_admin(user):
        return true()
    return Mediator.id.in_(
        select(mediator_unit.c.mediator_id).where(
            mediator_unit.c.unit_id.in_(units_in_subtree(user.unit.node))
        )
    )


def editable_units(user: User) -> Select:
    """The units whose mediators the user keeps: admins every unit; 综治中心 staff the units of their
    subtree; the unit's own staff (调解员, a 综治中心 role elsewhere) their own unit; nobody else any."""
    if is_admin(user):
        return select(Unit.id)
    if not user.active:
        return select(Unit.id).where(false())
    if is_center_user(user):
        return units_in_subtree(user.unit.node)
    if user.role in CASE_WORKER_ROLES:
        return select(Unit.id).where(Unit.id == user.unit_id)
    return select(Unit.id).where(false())


@predicate
def may_manage_mediators(user: User) -> bool:
    """May the user add mediators (and import them) at all: admins, 综治中心 staff and the staff of a
    unit (调解员), each for the units of :func:`editable_units`."""
    return is_admin(user) or (user.active and (is_center_user(user) or user.role in CASE_WORKER_ROLES))


@predicate
def may_edit_mediator(user: User, mediator: Mediator) -> bool:
    """May the user edit this mediator and enter their training: one of the mediator's units is among
    the user's :func:`editable_units` (admins: every mediator)."""
    if is_admin(user):
        return True
    if not may_manage_mediators(user) or not mediator.units:
        return False
    ids = [u.id for u in mediator.units]
    return bool(db.session.scalar(select(editable_units(user).where(Unit.id.in_(ids)).exists())))


MEDIATOR_PHONE_ROLES = (Role.ADMIN, Role.CENTER, Role.MEDIATOR)


@predicate
def may_read_mediator_phones(user: User) -> bool:
    """Mediators' phone numbers in full: admins, 综治中心 staff and mediators (who call each other);
    grid workers and court liaisons see them masked."""
    return user.role in MEDIATOR_PHONE_ROLES


def shown_phone(user: User | None, mediator: Mediator) -> str | None:
    """The phone as this user may see it (``None`` user: the admin-level CLI, in full)."""
    if user is None or may_read_mediator_phones(user):
        return mediator.phone
    return mask_phone(mediator.phone)


def shown_id_number(user: User | None, mediator: Mediator) -> str | None:
    """The ID number as this user may see it (accounts.access.may_read_id_numbers)."""
    if user is None or may_read_id_numbers(user):
        return mediator.id_number
    return mask_id_number(mediator.id_number)


def get_mediator(user: User, mediator_id: int) -> Mediator:
    m = db.session.scalars(select(Mediator).where(Mediator.id == mediator_id, mediator_scope(user))).first()
    if m is None:
        abort(404)
    return m


FILTER_NODES_LIMIT = 500


def filter_nodes(user: User) -> list[tuple[Node, int]]:
    """The nodes the list may be filtered by (the user's subtree without grids), with their depth."""
    stmt = select(Node).where(node_scope(user), Node.level != NodeLevel.GRID).order_by(Node.path)
    nodes = list(db.session.scalars(stmt.limit(FILTER_NODES_LIMIT)))
    top = min((n.path.count("/") for n in nodes), default=0)
    return [(n, n.path.count("/") - top) for n in nodes]


def units_for_form(user: User) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(editable_units(user))).order_by(Unit.code)))


# --- the list -------------------------------------------------------------------------------------


def list_statement(user: User, args: dict) -> Select:
    """The mediators the user sees, filtered by ``node`` (a unit subtree), ``employment``,
    ``background``, ``untrained`` and ``active``; by name."""
    stmt = select(Mediator).where(mediator_scope(user))
    node = args.get("node_obj")
    if node is not None:
        stmt = stmt.where(
            Mediator.id.in_(
                select(mediator_unit.c.mediator_id).where(mediator_unit.c.unit_id.in_(units_in_subtree(node)))
            )
        )
    if args.get("employment"):
        stmt = stmt.where(Mediator.employment == Employment(args["employment"]))
    if args.get("background"):
        stmt = stmt.where(Mediator.background == Background(args["background"]))
    if args.get("untrained"):
        stmt = stmt.where(untrained_this_year())
    if args.get("q"):
        stmt = stmt.where(Mediator.name.contains(args["q"], autoescape=True))
    if not args.get("inactive"):
        stmt = stmt.where(Mediator.active.is_(True))
    return stmt.order_by(Mediator.name, Mediator.id)


def list_mediators(user: User, args: dict) -> Page:
    return paginate(list_statement(user, args), args.get("page", 1), args.get("per_page", 20))


# --- saving ---------------------------------------------------------------------------------------


class MediatorError(ValueError):
    """Field errors (Chinese), as marshmallow gives them: {field: [messages]}."""

    def __init__(self, messages: dict[str, list[str]]):
        super().__init__(messages)
        self.messages = messages


def reachable_units(user: User | None, codes: list[str], keep: set[int]) -> list[Unit]:
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(codes))))
    found = {u.code for u in units}
    missing = [c for c in codes if c not in found]
    if missing:
        raise MediatorError({"units": [f"单位代码不存在：{'、'.join(missing)}。"]})
    if user is not None and not is_admin(user):
        allowed = set(db.session.scalars(editable_units(user)))
        outside = [u.code for u in units if u.id not in allowed and u.id not in keep]
        if outside:
            raise MediatorError({"units": [f"不能把调解员加入您管理范围以外的单位：{'、'.join(outside)}。"]})
    return sorted(units, key=lambda u: u.code)


def account_for(username: str | None, mediator: Mediator | None) -> User | None:
    if not username:
        return None
    account = db.session.scalar(select(User).where(User.username == username))
    if account is None:
        raise MediatorError({"username": ["该系统账号不存在。"]})
    taken = db.session.scalar(select(Mediator.id).where(Mediator.user_id == account.id))
    if taken is not None and (mediator is None or taken != mediator.id):
        raise MediatorError({"username": ["该系统账号已关联其他调解员。"]})
    return account


def same_person(
    name: str, unit_ids: list[int], id_number: str | None, *, other_than: int | None = None
) -> Mediator | None:
    """THE duplicate rule: a registered mediator of the same name with a unit in common, and the same
    ID number when both have one. A second registration is refused (form, API) or reported as already
    present (import)."""
    stmt = select(Mediator).where(
        Mediator.name == name,
        Mediator.id.in_(select(mediator_unit.c.mediator_id).where(mediator_unit.c.unit_id.in_(unit_ids))),
    )
    if other_than is not None:
        stmt = stmt.where(Mediator.id != other_than)
    for m in db.session.scalars(stmt.order_by(Mediator.id)):
        if not (id_number and m.id_number and m.id_number != id_number):
            return m
    return None


def save_mediator(user: User | None, mediator: Mediator | None, data: dict) -> Mediator:
    """Create (``mediator`` None) or update a mediator from loaded :class:`MediatorIn` data. The
    units must be within the user's reach (units it already had may stay). Flushes, never commits."""
    keep = {u.id for u in mediator.units} if mediator is not None else set()
    units = reachable_units(user, data["units"], keep)
    account = account_for(data.get("username"), mediator)
    id_number = data.get("id_number", mediator.id_number if mediator is not None else None)
    twin = same_person(
        data["name"],
        [u.id for u in units],
        id_number,
        other_than=mediator.id if mediator is not None else None,
    )
    if twin is not None:
        raise MediatorError(
            {"name": [f"所属单位已有调解员「{twin.name}」（编号 {twin.id}），请勿重复登记。"]}
        )
    if mediator is None:
        mediator = Mediator()
        db.session.add(mediator)
    elif user is not None and not is_admin(user):
        # units the user cannot reach stay as they were (the form does not show them)
        allowed = set(db.session.scalars(editable_units(user)))
        units = sorted({*units, *(u for u in mediator.units if u.id not in allowed)}, key=lambda u: u.code)
    mediator.name = data["name"]
    mediator.units = units
    mediator.employment = Employment(data["employment"])
    mediator.background = Background(data["background"])
    mediator.qualifications = data.get("qualifications")
    mediator.phone = data.get("phone")
    if "id_number" in data or mediator.id is None:
        mediator.id_number = data.get("id_number")
    mediator.active = data.get("active", True)
    mediator.user = account
    db.session.flush()
    return mediator


def add_training(user: User | None, mediator: Mediator, data: dict) -> Training:
    """A training record; the same mediator, day and topic twice is one record (a retried request
    returns the first)."""
    same = db.session.scalar(
        select(Training).where(
            Training.mediator_id == mediator.id,
            Training.held_on == data["held_on"],
            Training.topic == data["topic"],
        )
    )
    if same is not None:
        return same
    training = Training(
        mediator=mediator,
        held_on=data["held_on"],
        hours=data["hours"],
        topic=data["topic"],
        organiser=data["organiser"],
        created_by_id=user.id if user is not None else None,
    )
    db.session.add(training)
    db.session.flush()
    return training


# --- 承办调解员 -------------------------------------------------------------------------------------

register_event_label("mediators_set", "指定承办调解员")


@predicate
def may_assign_case_mediators(user: User, dispute: Dispute) -> bool:
    """May the user name the case's 承办调解员: whoever handles it for the lead unit (an active 调解员
    or 综治中心 staff member of the lead unit, the workflow's LEAD actor) or an admin, once the case
    has a lead unit."""
    if dispute.unit_id is None:
        return False
    if is_admin(user):
        return True
    return bool(user.active and user.role in CASE_WORKER_ROLES and user.unit_id == dispute.unit_id)


def case_mediator_candidates(dispute: Dispute) -> list[Mediator]:
    """Who may be named: active mediators of the lead unit or a co-handling unit."""
    if dispute.unit_id is None:
        return []
    unit_ids = select(dispute_co_unit.c.unit_id).where(dispute_co_unit.c.dispute_id == dispute.id)
    stmt = (
        select(Mediator)
        .where(
            Mediator.active.is_(True),
            Mediator.id.in_(
                select(mediator_unit.c.mediator_id).where(
                    or_(mediator_unit.c.unit_id == dispute.unit_id, mediator_unit.c.unit_id.in_(unit_ids))
                )
            ),
        )
        .order_by(Mediator.name, Mediator.id)
    )
    return list(db.session.scalars(stmt))


def set_case_mediators(user: User, dispute: Dispute, mediator_ids: list[int]) -> bool:
    """Name the case's 承办调解员 (replacing the list); a timeline event records the change. Returns
    False when nothing changed. Raises :class:`MediatorError` for a pick outside the candidates."""
    wanted = list(dict.fromkeys(mediator_ids))
    if not wanted:
        raise MediatorError({"mediators": ["请至少选择一名承办调解员。"]})
    candidates = {m.id: m for m in case_mediator_candidates(dispute)}
    bad = [i for i in wanted if i not in candidates]
    if bad:
        raise MediatorError({"mediators": ["只能选择牵头单位或联办单位在职的调解员。"]})
    chosen = sorted((candidates[i] for i in wanted), key=lambda m: (m.name, m.id))
    before = {m.id for m in dispute.mediators}
    if before == set(wanted):
        return False
    previous = [m.name for m in dispute.mediators]
    dispute.mediators = chosen
    add_event(
        dispute,
        "mediators_set",
        user,
        note="、".join(m.name for m in chosen),
        data={"mediators": [m.id for m in chosen], "previous": previous},
    )
    db.session.flush()
    return True


# --- a mediator's page ----------------------------------------------------------------------------


@dataclass
class Record:
    cases: list[Dispute]  # the latest ``limit`` cases
    sessions: list[MediationSession]  # the latest ``limit`` sessions
    session_count: int  # all sessions
    case_count: int  # all cases
    by_outcome: dict[str, int]
    open_cases: int


def case_ids_of(mediator: Mediator) -> Select:
    return select(dispute_mediator.c.dispute_id).where(dispute_mediator.c.mediator_id == mediator.id)


def record_of(mediator: Mediator, user: User | None = None, limit: int = 200) -> Record:
    """The mediator's cases (with status; only those the user may see), the sessions held in them
    and the results: closed cases counted by outcome, and how many are still open."""
    scope = dispute_scope(user) if user is not None else true()
    cases_stmt = select(Dispute).where(Dispute.id.in_(case_ids_of(mediator)), scope)
    cases = list(
        db.session.scalars(cases_stmt.order_by(Dispute.registered_on.desc(), Dispute.id.desc()).limit(limit))
    )
    sessions = list(
        db.session.scalars(
            select(MediationSession)
            .join(Dispute, Dispute.id == MediationSession.dispute_id)
            .where(MediationSession.dispute_id.in_(case_ids_of(mediator)), scope)
            .order_by(MediationSession.held_on.desc(), MediationSession.id.desc())
            .limit(limit)
        )
    )
    rows = db.session.execute(
        select(Dispute.status, Dispute.outcome, func.count())
        .where(Dispute.id.in_(case_ids_of(mediator)), scope)
        .group_by(Dispute.status, Dispute.outcome)
    ).all()
    session_count = db.session.scalar(
        select(func.count(MediationSession.id))
        .join(Dispute, Dispute.id == MediationSession.dispute_id)
        .where(MediationSession.dispute_id.in_(case_ids_of(mediator)), scope)
    )
    by_outcome = {o: 0 for o in values(Outcome)}
    open_cases = 0
    for status, outcome, n in rows:
        if status == Status.CLOSED and outcome is not None:
            by_outcome[Outcome(outcome).value] += n
        elif status != Status.CLOSED:
            open_cases += n
    return Record(
        cases=cases,
        sessions=sessions,
        session_count=session_count,
        case_count=sum(n for _, _, n in rows),
        by_outcome=by_outcome,
        open_cases=open_cases,
    )


def account_of(user: User) -> Mediator | None:
    return db.session.scalar(select(Mediator).where(Mediator.user_id == user.id))
