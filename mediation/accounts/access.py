"""Who may see and touch what. The one place where the rule lives:

a user sees and works on the cases whose 属地 is in their unit's subtree, or that are assigned to
their unit (lead unit or co-handling unit). An admin sees everything. Every list, lookup and action
goes through :func:`dispute_scope` / :func:`get_dispute`.

Every "may this user …" rule is a named predicate (Indico's ``can_access`` / ``can_manage`` style):
the generic ones here, the others in their domain's service. Each is marked ``@predicate``, which
records it in :data:`PREDICATES`; tests/test_predicates.py walks that registry and checks the web page
and the API that depend on each rule agree. Views, APIs, the CLI and templates only call them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app
from sqlalchemy import ColumnElement, Select, and_, or_, select, true

from mediation.accounts.models import ApiToken, User
from mediation.common.enums import Channel, Role, UnitType
from mediation.disputes.casework import CourtReferral
from mediation.disputes.models import Dispute, dispute_co_unit
from mediation.extensions import db
from mediation.geo.models import Node

PREDICATES: dict[str, Callable[..., bool]] = {}
"""Every permission predicate by name (see :func:`predicate`)."""


def predicate(fn: Callable[..., bool]) -> Callable[..., bool]:
    """Register a permission predicate under its function name: one line above its ``def``."""
    known = PREDICATES.get(fn.__name__)
    if known is not None and known.__module__ != fn.__module__:
        raise RuntimeError(
            f"two permission predicates named {fn.__name__}: {known.__module__}, {fn.__module__}"
        )
    PREDICATES[fn.__name__] = fn
    return fn


@predicate
def is_admin(user: User) -> bool:
    """系统管理员: sees and may do everything the rules below grant "admins"."""
    return user.role == Role.ADMIN


@predicate
def may_revoke_token(user: User, token: ApiToken) -> bool:
    """An API token is revoked by its owner or an admin (anyone else is not told it exists)."""
    return token.user_id == user.id or is_admin(user)


def _unit_is_center(user: User) -> bool:
    return user.unit is not None and user.unit.type == UnitType.CENTER


@predicate
def is_center_user(user: User) -> bool:
    """综治中心 staff: the 综治中心 role AND a unit that is a 综治中心 (a user given the role at another
    kind of unit is not one). Triage, the overdue review, 督办 and the month close build on it."""
    return user.role == Role.CENTER and _unit_is_center(user)


def is_center_user_or_admin(user: User) -> bool:
    """综治中心 staff, or an admin (anywhere): the overdue review and the 台账 import."""
    return is_admin(user) or is_center_user(user)


def acts_for_a_center(user: User) -> bool:
    """Acts in the name of a 综治中心 (督办 is issued by a 综治中心 unit): 综治中心 staff, or an admin whose
    own unit is a 综治中心."""
    return is_center_user(user) or (is_admin(user) and _unit_is_center(user))


def subtree_node_ids(node: Node) -> Select:
    return select(Node.id).where(Node.path.startswith(node.path, autoescape=True))


def node_scope(user: User) -> ColumnElement[bool]:
    """Nodes the user may work in (register cases, read reports)."""
    if is_admin(user):
        return true()
    return Node.path.startswith(user.unit.node.path, autoescape=True)


def dispute_scope(user: User) -> ColumnElement[bool]:
    if is_admin(user):
        return true()
    unit = user.unit
    return or_(
        Dispute.node_id.in_(subtree_node_ids(unit.node)),
        Dispute.unit_id == unit.id,
        Dispute.id.in_(select(dispute_co_unit.c.dispute_id).where(dispute_co_unit.c.unit_id == unit.id)),
    )


def assigned_to(user: User) -> ColumnElement[bool]:
    """「分给我的」: cases whose lead unit is the user's unit and whose mediator in charge (内部改派,
    ``handler``) is the user or not recorded. Lists and the worklist combine it with
    :func:`dispute_scope`."""
    return and_(
        Dispute.unit_id == user.unit_id, or_(Dispute.handler_id.is_(None), Dispute.handler_id == user.id)
    )


def visible_disputes(user: User) -> Select:
    return select(Dispute).where(dispute_scope(user))


def referred_disputes(user: User) -> Select:
    """The cases the user's court referred (诉前委派 / 诉中委托), within what the user may see; the
    admin sees every referral. The court liaison's 诉调对接 page and API list only these."""

    stmt = visible_disputes(user).join(CourtReferral, CourtReferral.dispute_id == Dispute.id)
    if not is_admin(user):
        stmt = stmt.where(CourtReferral.court_id == user.unit_id)
    return stmt


def can_see_node(user: User, node: Node) -> bool:
    return is_admin(user) or node.path.startswith(user.unit.node.path)


def get_dispute(user: User, dispute_id: int, *, for_update: bool = False) -> Dispute:
    """The case if the user may see it; 404 otherwise (its existence is not revealed)."""
    stmt = visible_disputes(user).where(Dispute.id == dispute_id)
    dispute = db.session.scalars(stmt).first()
    if dispute is None:
        abort(404)
    return dispute


def get_visible_node(user: User, code: str) -> Node | None:
    return db.session.scalars(select(Node).where(Node.code == code, node_scope(user))).first()


@predicate
def may_read_id_numbers(user: User) -> bool:
    """Personal ID numbers in full (config ``ID_NUMBER_ROLES``); everyone else sees them masked."""
    return user.role in current_app.config["ID_NUMBER_ROLES"]


@predicate
def may_register_and_accept(user: User) -> bool:
    """本委员会直接受理: may this user register a walk-in case and accept it for their own unit in
    one go? Mediators of a 人民调解委员会 (channel 人民调解) may. The registration form, its template,
    the API and the workflow's ``take`` transition all ask this one question."""
    unit = user.unit if user is not None else None
    return (
        user is not None
        and user.active
        and user.role == Role.MEDIATOR
        and unit is not None
        and unit.type == UnitType.COMMITTEE
        and unit.channel in (None, Channel.PEOPLE)
    )


@predicate
def may_accept_walk_in(user: User, dispute: Dispute) -> bool:
    """May ``user`` accept this 待分流 case for their own committee without the 综治中心 routing it?
    Only a case their own unit registered (a walk-in at their door), by a user who may register and
    accept (:func:`may_register_and_accept`)."""
    return may_register_and_accept(user) and dispute.registering_unit_id == user.unit_id
