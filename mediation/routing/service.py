"""Routing (分流): the rule table that proposes a channel and a unit, and the 综治中心 of a case.

Rules are data (RoutingRule rows the admin edits); this module only evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from marshmallow import ValidationError
from sqlalchemy import select

from mediation.common.enums import Channel, UnitType
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing.models import RISK_ORDER, RoutingRule


@dataclass
class Suggestion:
    channel: Channel | None
    unit: Unit | None
    rule: RoutingRule | None

    def as_data(self) -> dict:
        return {"channel": self.channel.value if self.channel else None,
                "unit": self.unit.code if self.unit else None,
                "rule": self.rule.name if self.rule else None}


def ordered_rules(active_only: bool = True) -> list[RoutingRule]:
    stmt = select(RoutingRule).order_by(RoutingRule.priority, RoutingRule.id)
    if active_only:
        stmt = stmt.where(RoutingRule.active.is_(True))
    return list(db.session.scalars(stmt))


def rule_matches(rule: RoutingRule, dispute) -> bool:
    if rule.category and rule.category != dispute.category:
        return False
    if rule.node is not None and not rule.node.contains(dispute.node):
        return False
    if rule.min_amount is not None and (dispute.amount is None or Decimal(dispute.amount) < rule.min_amount):
        return False
    if rule.min_people is not None and (dispute.people_count is None or dispute.people_count < rule.min_people):
        return False
    if rule.min_risk is not None and RISK_ORDER[dispute.risk_level] < RISK_ORDER[rule.min_risk]:
        return False
    if rule.flags and not set(rule.flags) & set(dispute.flags or []):
        return False
    return True


def nearest_unit(node: Node, *, channel: Channel | None = None, unit_type: UnitType | None = None,
                 strictly_above: bool = False) -> Unit | None:
    """The unit attached closest above ``node`` (``node`` itself included unless ``strictly_above``)
    with the given channel and/or type; among several on one node, the lowest code."""
    ancestors = node.ancestors()
    if strictly_above:
        ancestors = ancestors[:-1]
    ids = [n.id for n in ancestors]
    if not ids:
        return None
    stmt = select(Unit).where(Unit.node_id.in_(ids))
    if channel is not None:
        stmt = stmt.where(Unit.channel == channel)
    if unit_type is not None:
        stmt = stmt.where(Unit.type == unit_type)
    depth = {node_id: i for i, node_id in enumerate(ids)}
    units = sorted(db.session.scalars(stmt), key=lambda u: (-depth[u.node_id], u.code))
    return units[0] if units else None


def suggest(dispute) -> Suggestion:
    """The first active rule the case meets, with its unit (or the nearest unit of its channel)."""
    for rule in ordered_rules():
        if rule_matches(rule, dispute):
            unit = rule.unit or nearest_unit(dispute.node, channel=rule.channel)
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


def unit_by_code(code: str, field: str = "unit") -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise ValidationError({field: [f"未知的单位代码「{code}」。"]})
    return unit


# --- admin edits of the rule table ---------------------------------------------------------------

def create_rule(data: dict) -> RoutingRule:
    """Create a rule from a validated ``RoutingRuleIn`` payload (node and unit given by code)."""
    node = None
    if data.get("node"):
        node = db.session.scalar(select(Node).where(Node.code == data["node"]))
        if node is None:
            raise ValidationError({"node": ["未知的属地节点代码。"]})
    unit = unit_by_code(data["unit"]) if data.get("unit") else None
    rule = RoutingRule(
        name=data["name"], priority=data.get("priority", 100), active=data.get("active", True),
        category=data.get("category"), node=node, min_amount=data.get("min_amount"),
        min_people=data.get("min_people"), min_risk=data.get("min_risk"), flags=list(data.get("flags") or []),
        channel=Channel(data["channel"]), unit=unit,
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
