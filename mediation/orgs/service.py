"""调解组织: who may edit a profile, the registry query, saving a profile, and the coverage of the
villages and communities by a 村（居）人民调解委员会 (computed in SQL).

Visibility follows the tree as everywhere (``accounts.access``): a user sees the organisations whose
unit is attached to a node of their subtree, and the coverage of any node they can see. Editing a
profile is :func:`may_edit_org`. The definitions are in mediation/reports/README.md (调解组织覆盖).
"""

from __future__ import annotations

from flask import abort
from marshmallow import ValidationError
from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.orm import aliased

from mediation.accounts.access import can_see_node, is_admin, is_center_user, node_scope, predicate
from mediation.accounts.models import User
from mediation.common.enums import Industry, NodeLevel, OrgKind, UnitType
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.orgs.models import MediationOrg
from mediation.reports.common import rate

PLACE_LEVELS = (NodeLevel.VILLAGE, NodeLevel.COMMUNITY)  # the places the 100% target counts
TOWN_LEVELS = (NodeLevel.TOWN, NodeLevel.SUBDISTRICT)

# The kind a kind of organisation must sit at (a 村（居）调委会 at its village or community …).
KIND_LEVELS = {OrgKind.VILLAGE: PLACE_LEVELS, OrgKind.TOWN: TOWN_LEVELS}

# Words of a committee's name that tell its 行业 (the backfill of existing committees above the towns).
INDUSTRY_WORDS = (
    ("医疗", Industry.MEDICAL),
    ("医患", Industry.MEDICAL),
    ("交通", Industry.TRAFFIC),
    ("劳动", Industry.LABOUR),
    ("劳资", Industry.LABOUR),
    ("物业", Industry.PROPERTY),
    ("婚姻", Industry.FAMILY),
    ("家事", Industry.FAMILY),
    ("消费", Industry.CONSUMER),
)


def default_kind(level: NodeLevel, name: str) -> tuple[OrgKind, Industry | None]:
    """The kind an existing 人民调解委员会 unit is given (by its node's level, and above the towns by its
    name): village/community → 村（居）, town/街道 → 乡镇（街道）, a name with an industry word →
    行业性专业性 with that 行业, anything else → 其他调解组织. The migration that created the profiles
    applies the same rule in SQL (tests/test_orgs.py checks they agree)."""
    if level in PLACE_LEVELS:
        return OrgKind.VILLAGE, None
    if level in TOWN_LEVELS:
        return OrgKind.TOWN, None
    for word, industry in INDUSTRY_WORDS:
        if word in name:
            return OrgKind.INDUSTRY, industry
    return OrgKind.OTHER, None


def ensure_profiles() -> int:
    """A profile (by :func:`default_kind`) for every 人民调解委员会 unit that has none; returns how many
    were made. The demo runs it after loading the units."""
    units = db.session.scalars(
        select(Unit)
        .where(Unit.type == UnitType.COMMITTEE, ~exists().where(MediationOrg.unit_id == Unit.id))
        .order_by(Unit.code)
    ).all()
    for unit in units:
        kind, industry = default_kind(unit.node.level, unit.name)
        db.session.add(MediationOrg(unit=unit, kind=kind, industry=industry))
    db.session.flush()
    return len(units)


# ------------------------------------------------------------------------------------ permissions


@predicate
def may_edit_org(user: User, unit: Unit) -> bool:
    """A mediation organisation's profile is edited (or a unit registered as one) by an admin, or by
    综治中心 staff when the unit is attached to a node of their 综治中心's subtree."""
    if is_admin(user):
        return True
    return is_center_user(user) and unit.node.path.startswith(user.unit.node.path)


def visible_unit(user: User, code: str) -> Unit:
    """The unit by its code if the user sees its node; 404 otherwise (its existence is not revealed)."""
    unit = db.session.scalar(select(Unit).where(Unit.code == (code or "").strip()))
    if unit is None or not can_see_node(user, unit.node):
        abort(404)
    return unit


def profile_of(unit: Unit) -> MediationOrg | None:
    return db.session.get(MediationOrg, unit.id)


def members(unit: Unit) -> list[User]:
    """The members with an account: the unit's active users."""
    return list(
        db.session.scalars(
            select(User).where(User.unit_id == unit.id, User.active.is_(True)).order_by(User.username)
        )
    )


# ------------------------------------------------------------------------------------ the registry


def registry_query(user: User, node: Node | None = None, kind: OrgKind | None = None) -> Select:
    """(MediationOrg, Unit, Node) rows the user sees, in the subtree of ``node`` if given and of
    ``kind`` if given, by node code (the codes follow the tree) and unit code."""
    stmt = (
        select(MediationOrg, Unit, Node)
        .join(Unit, Unit.id == MediationOrg.unit_id)
        .join(Node, Node.id == Unit.node_id)
        .where(node_scope(user))
        .order_by(Node.code, Unit.code)
    )
    if node is not None:
        stmt = stmt.where(Node.path.startswith(node.path, autoescape=True))
    if kind is not None:
        stmt = stmt.where(MediationOrg.kind == kind)
    return stmt


def member_counts(unit_ids: list[int]) -> dict[int, int]:
    if not unit_ids:
        return {}
    rows = db.session.execute(
        select(User.unit_id, func.count())
        .where(User.unit_id.in_(unit_ids), User.active.is_(True))
        .group_by(User.unit_id)
    ).all()
    return dict(rows)


def org_data(org: MediationOrg, node: Node, member_count: int | None = None) -> dict:
    """The profile as the API, the pages and the export show it."""
    unit = org.unit
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": org.kind.value,
        "industry": org.industry.value if org.industry else None,
        "node": node.code,
        "node_name": node.name,
        "founded_on": org.founded_on,
        "head": org.head,
        "address": org.address,
        "phone": org.phone,
        "other_members": org.other_members,
        "member_count": member_count,
    }


def save_org(unit: Unit, data: dict) -> MediationOrg:
    """Create or update the unit's profile from loaded ``OrgIn`` data (the caller checked
    :func:`may_edit_org` and commits). A 村（居）调委会 sits at a village or community, a 乡镇（街道）
    调委会 at a town or 街道: otherwise a field error on ``kind``."""
    kind = OrgKind(data["kind"])
    levels = KIND_LEVELS.get(kind)
    if levels and unit.node.level not in levels:
        where = "、".join(level.value for level in levels)
        raise ValidationError(
            {"kind": [f"{kind.value}应设在{where}一级，该单位属于{unit.node.level.value}。"]}
        )
    org = profile_of(unit) or MediationOrg(unit=unit)
    org.kind = kind
    org.industry = Industry(data["industry"]) if data.get("industry") else None
    for key in ("founded_on", "head", "address", "phone", "other_members"):
        setattr(org, key, data.get(key))
    db.session.add(org)
    db.session.flush()
    return org


# ------------------------------------------------------------------------------------ coverage


def coverage(node: Node) -> dict:
    """村（居）调委会全覆盖 for the subtree of ``node``: every village and community in it, whether it has a
    村（居）人民调解委员会 (a unit attached to that very node whose profile is of that kind), counted per
    town (the village's parent node) and in all, with the uncovered ones listed. One grouped query
    for the towns, one for the places."""
    place, town = aliased(Node), aliased(Node)
    committee = and_(
        Unit.node_id == place.id, MediationOrg.unit_id == Unit.id, MediationOrg.kind == OrgKind.VILLAGE
    )
    covered = exists().where(committee)
    in_scope = and_(place.level.in_(PLACE_LEVELS), place.path.startswith(node.path, autoescape=True))
    town_rows = db.session.execute(
        select(
            town.code,
            town.name,
            func.count(place.id).label("total"),
            func.sum(case((covered, 1), else_=0)).label("covered"),
        )
        .select_from(place)
        .join(town, town.id == place.parent_id)
        .where(in_scope)
        .group_by(town.id, town.code, town.name)
        .order_by(town.code)
    ).all()
    committee_name = select(func.min(Unit.name)).where(committee).scalar_subquery()
    place_rows = db.session.execute(
        select(
            place.code,
            place.name,
            place.level,
            town.code.label("town_code"),
            town.name.label("town_name"),
            committee_name.label("committee"),
        )
        .select_from(place)
        .join(town, town.id == place.parent_id)
        .where(in_scope)
        .order_by(town.code, place.code)
    ).all()
    towns = [
        {
            "code": r.code,
            "name": r.name,
            "total": r.total,
            "covered": int(r.covered or 0),
            "uncovered": r.total - int(r.covered or 0),
            "rate": rate(int(r.covered or 0), r.total),
        }
        for r in town_rows
    ]
    places = [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level.value,
            "town": r.town_code,
            "town_name": r.town_name,
            "covered": r.committee is not None,
            "committee": r.committee,
        }
        for r in place_rows
    ]
    total, done = sum(t["total"] for t in towns), sum(t["covered"] for t in towns)
    return {
        "node": {"code": node.code, "name": node.name, "level": node.level.value},
        "total": total,
        "covered": done,
        "uncovered": total - done,
        "rate": rate(done, total),
        "towns": towns,
        "places": places,
        "uncovered_places": [p for p in places if not p["covered"]],
    }
