"""Routing (分流): the rule table that proposes a channel and a unit, and the 综治中心 of a case.

Rules are data (RoutingRule rows the admin edits); this module only evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from marshmallow import ValidationError
from sqlalchemy import Row, bindparam, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from mediation.accounts.access import is_admin, is_center_user, is_center_user_or_admin, predicate
from mediation.common.enums import Channel, NodeLevel, UnitType
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.geo.service import node_by_code
from mediation.routing.models import RISK_ORDER, RoutingRule

# --- who may read and change the routing configuration ------------------------------------------------


@predicate
def may_read_routing_rules(user) -> bool:
    """The rule table and the time limits as the routing page and ``GET /api/v1/routing-rules`` show
    them: the admin, and 综治中心 staff, who route the cases the rules make suggestions for."""
    return user is not None and is_center_user_or_admin(user)


@predicate
def may_manage_routing_rules(user) -> bool:
    """Change the routing configuration — the rule table, the time limits and the working-day
    calendar's holiday notices — on the web or through the API: the admin only."""
    return user is not None and is_admin(user)


@dataclass
class Suggestion:
    channel: Channel | None
    unit: Unit | None
    rule: RoutingRule | Row | None  # a row of ``ACTIVE_RULES`` (its name, conditions, channel)

    def as_data(self) -> dict:
        return {
            "channel": self.channel.value if self.channel else None,
            "unit": self.unit.code if self.unit else None,
            "rule": self.rule.name if self.rule else None,
        }


def ordered_rules(active_only: bool = True) -> list[RoutingRule]:
    stmt = (
        select(RoutingRule)
        .options(joinedload(RoutingRule.node), joinedload(RoutingRule.unit))
        .order_by(RoutingRule.priority, RoutingRule.id)
    )
    if active_only:
        stmt = stmt.where(RoutingRule.active.is_(True))
    return list(db.session.scalars(stmt))


# What a registration needs of the active rules, in their order: the conditions (the subtree as its
# node's path), the channel and the rule's unit (None: the nearest of its channel). Columns, not RoutingRule objects with their node and
# unit: loading 17 rules as objects was a fifth of a registration's Python work (issue 17).
ACTIVE_RULES = (
    select(
        RoutingRule.id,
        RoutingRule.name,
        RoutingRule.category,
        Node.path.label("node_path"),
        RoutingRule.min_amount,
        RoutingRule.min_people,
        RoutingRule.min_risk,
        RoutingRule.flags,
        RoutingRule.channel,
        Unit,
    )
    .outerjoin(Node, Node.id == RoutingRule.node_id)
    .outerjoin(Unit, Unit.id == RoutingRule.unit_id)
    .where(RoutingRule.active.is_(True))
    .order_by(RoutingRule.priority, RoutingRule.id)
)


def rule_matches(rule: RoutingRule | Row, dispute) -> bool:
    """Whether the case meets every condition of ``rule`` (a RoutingRule or a row of ``ACTIVE_RULES``)."""
    if rule.category and rule.category != dispute.category:
        return False
    if rule.node_path is not None and not dispute.node.path.startswith(rule.node_path):
        return False
    if rule.min_amount is not None and (dispute.amount is None or Decimal(dispute.amount) < rule.min_amount):
        return False
    if rule.min_people is not None and (
        dispute.people_count is None or dispute.people_count < rule.min_people
    ):
        return False
    if rule.min_risk is not None and RISK_ORDER[dispute.risk_level] < RISK_ORDER[rule.min_risk]:
        return False
    if rule.flags and not set(rule.flags) & set(dispute.flags or []):
        return False
    return True


def nearest_unit(
    node: Node,
    *,
    channel: Channel | None = None,
    unit_type: UnitType | None = None,
    strictly_above: bool = False,
) -> Unit | None:
    """The unit attached closest above ``node`` (``node`` itself included unless ``strictly_above``)
    with the given channel and/or type; among several on one node, the lowest code."""
    ids = node.ancestor_ids()
    if strictly_above:
        ids = ids[:-1]
    if not ids:
        return None
    stmt = _units_on_nodes(channel is not None, unit_type is not None)
    depth = {node_id: i for i, node_id in enumerate(ids)}
    units = sorted(
        db.session.scalars(stmt, {"ids": ids, "channel": channel, "unit_type": unit_type}),
        key=lambda u: (-depth[u.node_id], u.code),
    )
    return units[0] if units else None


@cache
def _units_on_nodes(by_channel: bool, by_type: bool):
    """:func:`nearest_unit`'s query, built once per process for each combination of conditions."""
    stmt = select(Unit).where(Unit.node_id.in_(bindparam("ids", expanding=True)))
    if by_channel:
        stmt = stmt.where(Unit.channel == bindparam("channel"))
    if by_type:
        stmt = stmt.where(Unit.type == bindparam("unit_type"))
    return stmt


def suggest(dispute) -> Suggestion:
    """The first active rule the case meets, with its unit (or the nearest unit of its channel)."""
    for rule in db.session.execute(ACTIVE_RULES):
        if rule_matches(rule, dispute):
            unit = rule.Unit or nearest_unit(dispute.node, channel=rule.channel)
            return Suggestion(Channel(rule.channel), unit, rule)
    return Suggestion(None, None, None)


def record_suggestion(dispute) -> Suggestion:
    """Called on registration: store the proposal on the case for the 综治中心 to confirm or override."""
    found = suggest(dispute)
    dispute.suggested_channel = found.channel
    dispute.suggested_unit = found.unit
    return found


def responsible_center(dispute) -> Unit | None:
    """The 综治中心 that triages the case: the one it was escalated to, else the nearest at or above
    its 属地."""
    if dispute.center is not None:
        return dispute.center
    return nearest_unit(dispute.node, unit_type=UnitType.CENTER)


def next_center_up(center: Unit) -> Unit | None:
    """The next 综治中心 above a centre (attached to a strict ancestor of its node)."""
    return nearest_unit(center.node, unit_type=UnitType.CENTER, strictly_above=True)


# --- reach: the units a case may be routed, transferred or given as co-handler to --------------------


def reach_territory(dispute, user=None) -> Node | None:
    """The territory whose units a case may go to besides its 属地's chain: that of the 综治中心 that
    triages it (:func:`responsible_center`), or the acting 综治中心 user's own when it is larger
    (a town centre routing a village's case reaches the whole town, the district centre the district)."""
    return territory_at(dispute.node, responsible_center(dispute), user)


def territory_at(node: Node, center: Unit | None, user=None) -> Node | None:
    """:func:`reach_territory` for a case at ``node`` triaged by ``center`` (also for rows not yet
    cases: a 台账 row being imported)."""
    territory = center.node if center is not None else None
    if user is not None and is_center_user(user):
        own = user.unit.node
        if own.contains(node) and (territory is None or own.contains(territory)):
            territory = own
    return territory


def reachable_units(dispute, user=None) -> list[Unit]:
    """THE reach rule (分流范围) of a case, for route, transfer and co-handlers (联办) alike.

    A case may go to a unit attached to its 属地 or to any node above it (the village's and town's
    调委会, the 派出所, the district's departments, 医调委, the court …), or to a unit anywhere inside the
    territory of the 综治中心 that triages it, or of the acting 综治中心 user when that is larger
    (:func:`reach_territory`): a town centre reaches its town's villages, and a case escalated to the
    district reaches the whole district. Units of grids (网格) handle no cases and are never reached.
    Everything else — another town's 调委会 for a town centre — needs an escalation first ("大事不出镇":
    the higher centre coordinates).

    The unit picker (web and API, :func:`candidate_units`) and the server-side check on submit
    (:func:`check_reach`, called by the workflow's route and transfer) both call this function."""
    return reachable_units_at(dispute.node, responsible_center(dispute), user)


def reachable_units_at(node: Node, center: Unit | None, user=None) -> list[Unit]:
    """:func:`reachable_units` for a case at ``node`` triaged by ``center``; the 台账 import checks the
    承办/联办 units of its rows with it (:func:`units_within_reach`)."""
    ancestor_ids = [int(p) for p in node.path.strip("/").split("/") if p]
    conditions = [Unit.node_id.in_(ancestor_ids)]
    territory = territory_at(node, center, user)
    if territory is not None:
        conditions.append(Node.path.startswith(territory.path, autoescape=True))
    stmt = (
        select(Unit)
        .join(Node, Unit.node_id == Node.id)
        .where(or_(*conditions), Node.level != NodeLevel.GRID)
        .options(contains_eager(Unit.node))
    )
    return list(db.session.scalars(stmt))


def units_within_reach(node: Node, user) -> set[int]:
    """The ids of the units a case at ``node`` may be given to by ``user`` (the reach rule above, with
    the 综治中心 responsible for ``node``); an admin reaches every unit."""
    if user is not None and is_admin(user):
        return set(db.session.scalars(select(Unit.id)))
    return {u.id for u in reachable_units_at(node, nearest_unit(node, unit_type=UnitType.CENTER), user)}


def reach_scope_text(dispute, user=None) -> str:
    """The reach rule in words, for error messages."""
    territory = reach_territory(dispute, user)
    where = f"{territory.name}辖区内或" if territory is not None else ""
    return f"本案只能分流、移交至{where}属地（{dispute.node.name}）及其上级的单位"


def check_reach(dispute, units: list[tuple[str, Unit]], user=None) -> None:
    """Refuse (422, field by field) any of ``units`` — (field, unit) pairs — the case may not reach."""
    reachable = {u.id for u in reachable_units(dispute, user)}
    errors: dict[str, list[str]] = {}
    for field, unit in units:
        if unit.id not in reachable:
            errors.setdefault(field, []).append(
                f"「{unit.name}」不在可选范围内：{reach_scope_text(dispute, user)}；跨辖区的请先升级上报。"
            )
    if errors:
        raise ValidationError(errors)


@dataclass
class Candidate:
    """One unit of the picker: its group (the picker's <optgroup>) and whether it is the suggestion."""

    unit: Unit
    group: str
    suggested: bool = False

    def as_data(self) -> dict:
        u = self.unit
        return {
            "code": u.code,
            "name": u.name,
            "short_name": u.short_name,
            "type": u.type.value,
            "channel": u.channel.value if u.channel else None,
            "node": u.node.code,
            "node_name": u.node.name,
            "group": self.group,
            "suggested": self.suggested,
        }


SUGGESTED_GROUP = "分流建议"


def candidate_units(dispute, user=None) -> list[Candidate]:
    """The units the picker offers for a case, in order: the suggested unit (when reachable), then
    the units of the case's 属地 and of each node above it, nearest first, then the other units of
    the triaging centre's territory (by place). Exactly :func:`reachable_units`, never more."""
    units = reachable_units(dispute, user)
    ancestors = dispute.node.ancestors()
    depth = {n.id: i for i, n in enumerate(reversed(ancestors))}  # 0: the 属地 itself
    names = {n.id: n.name for n in ancestors}
    suggested_id = dispute.suggested_unit_id
    out: list[Candidate] = []
    chain, others = [], []
    for u in units:
        if u.id == suggested_id:
            out.append(Candidate(u, SUGGESTED_GROUP, True))
        elif u.node_id in depth:
            chain.append(u)
        else:
            others.append(u)
    chain.sort(key=lambda u: (depth[u.node_id], u.code))
    for u in chain:
        label = f"{names[u.node_id]}（属地）" if depth[u.node_id] == 0 else names[u.node_id]
        out.append(Candidate(u, label))
    territory = reach_territory(dispute, user)
    other_label = f"{territory.name}辖区其他单位" if territory is not None else "其他单位"
    others.sort(key=lambda u: (u.node.path.count("/"), u.node.code, u.code))
    out += [Candidate(u, other_label) for u in others]
    return out


def grouped(candidates: list[Candidate]) -> list[tuple[str, list[Candidate]]]:
    """Consecutive candidates of one group together (the order of :func:`candidate_units` kept)."""
    groups: list[tuple[str, list[Candidate]]] = []
    for c in candidates:
        if not groups or groups[-1][0] != c.group:
            groups.append((c.group, []))
        groups[-1][1].append(c)
    return groups


def unit_by_code(code: str, field: str = "unit") -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise ValidationError({field: [f"未知的单位代码「{code}」。"]})
    return unit


# --- admin edits of the rule table ---------------------------------------------------------------


def create_rule(data: dict) -> RoutingRule:
    """Create a rule from a validated ``RoutingRuleIn`` payload (node and unit given by code)."""
    node = node_by_code(data["node"]) if data.get("node") else None
    unit = unit_by_code(data["unit"]) if data.get("unit") else None
    rule = RoutingRule(
        name=data["name"],
        priority=data.get("priority", 100),
        active=data.get("active", True),
        category=data.get("category"),
        node=node,
        min_amount=data.get("min_amount"),
        min_people=data.get("min_people"),
        min_risk=data.get("min_risk"),
        flags=list(data.get("flags") or []),
        channel=Channel(data["channel"]),
        unit=unit,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def delete_rule(rule_id: int) -> bool:
    rule = db.session.get(RoutingRule, rule_id)
    if rule is None:
        return False
    db.session.delete(rule)
    db.session.flush()
    return True
