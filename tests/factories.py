"""A small, known world for tests: a district with two towns, villages, grids, units, users."""

from __future__ import annotations

from types import SimpleNamespace

from mediation.accounts.models import ApiToken, User
from mediation.common.enums import Channel, NodeLevel, Role, UnitType
from mediation.common.validators import id_card_check_digit
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.geo.service import upsert_node

PASSWORD = "password123"


def make_id(first17: str = "12011619800101123") -> str:
    return first17 + id_card_check_digit(first17)


def node(code, name, level, parent=None) -> Node:
    n, _ = upsert_node(code, name, level, parent)
    return n


def unit(code, name, type_, at, channel=None, short=None) -> Unit:
    u = Unit(code=code, name=name, type=type_, node=at, channel=channel, short_name=short)
    db.session.add(u)
    return u


def user(username, role, at_unit) -> SimpleNamespace:
    u = User(username=username, role=role, unit=at_unit, display_name=username)
    u.set_password(PASSWORD)
    db.session.add(u)
    db.session.flush()
    _, token = ApiToken.issue(u)
    return SimpleNamespace(user=u, token=token, headers={"Authorization": f"Bearer {token}"},
                           username=username)


def build_world() -> SimpleNamespace:
    w = SimpleNamespace()
    w.district = node("120116000000", "海滨区", NodeLevel.DISTRICT)
    w.town_a = node("120116001000", "海滨街道", NodeLevel.SUBDISTRICT, w.district)
    w.town_b = node("120116100000", "双港镇", NodeLevel.TOWN, w.district)
    w.village_a = node("120116001001", "新家园社区", NodeLevel.COMMUNITY, w.town_a)
    w.village_b = node("120116100001", "双港村", NodeLevel.VILLAGE, w.town_b)
    w.grid_a = node("120116001001G01", "第1网格", NodeLevel.GRID, w.village_a)
    w.grid_b = node("120116100001G01", "第1网格", NodeLevel.GRID, w.village_b)

    w.district_center = unit("ZZ-QU", "海滨区综治中心", UnitType.CENTER, w.district)
    w.center_a = unit("ZZ-A", "海滨街道综治中心", UnitType.CENTER, w.town_a)
    w.center_b = unit("ZZ-B", "双港镇综治中心", UnitType.CENTER, w.town_b)
    w.committee_a = unit("TW-A", "海滨街道人民调解委员会", UnitType.COMMITTEE, w.town_a, Channel.PEOPLE)
    w.committee_b = unit("TW-B", "双港镇人民调解委员会", UnitType.COMMITTEE, w.town_b, Channel.PEOPLE)
    w.police_b = unit("PCS-B", "双港派出所", UnitType.ADMINISTRATIVE, w.town_b, Channel.ADMINISTRATIVE)
    w.court = unit("FY", "海滨区人民法院", UnitType.COURT, w.district, Channel.COURT_LINK)
    w.grid_unit_a = unit("WG-A1", "新家园社区第1网格", UnitType.OTHER, w.grid_a)
    db.session.flush()

    w.admin = user("admin", Role.ADMIN, w.district_center)
    w.district_staff = user("qu_center", Role.CENTER, w.district_center)
    w.center_user_a = user("center_a", Role.CENTER, w.center_a)
    w.center_user_b = user("center_b", Role.CENTER, w.center_b)
    w.mediator_a = user("mediator_a", Role.MEDIATOR, w.committee_a)
    w.mediator_b = user("mediator_b", Role.MEDIATOR, w.committee_b)
    w.grid_a_user = user("grid_a", Role.GRID, w.grid_unit_a)
    w.court_user = user("court", Role.COURT, w.court)
    db.session.commit()
    return w


def dispute_payload(node_code: str, **overrides) -> dict:
    body = {
        "category": "邻里",
        "source": "群众来访",
        "summary": "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。",
        "node": node_code,
        "risk_level": "一般",
        "venue": "家庭",
        "flags": [],
        "people_count": 2,
        "amount": "3500.00",
        "occurred_on": "2026-11-01",
        "parties": [
            {"role": "申请人", "kind": "自然人", "name": "张三", "id_number": make_id(), "phone": "13800138000",
             "address": "新家园社区3号楼2门101"},
            {"role": "被申请人", "kind": "自然人", "name": "李四", "phone": "022-25881234"},
        ],
    }
    body.update(overrides)
    return body


def zh_number(i: int) -> str:
    """A number written in Chinese digits, for person names that must not hold digits: 12 → 一二."""
    return "".join("零一二三四五六七八九"[int(d)] for d in str(i))
