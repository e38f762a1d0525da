"""The demo's world: the tree and units (shipped CSV files), the generator's index of them, the
history record the later phases share, and the routing rules (分流规则) with their suggestions."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import MetaData, inspect, select

from mediation.accounts.models import User
from mediation.common.enums import (
    Status,
)
from mediation.demo.base import DATA_DIR, DISTRICT_CODE, DemoError
from mediation.demo.people import ACTING_USER, DEMO_USERS, staff_name
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.geo.service import ImportErrors, import_tree, import_units
from mediation.routing.models import RoutingRule
from mediation.routing.schemas import RoutingRuleIn
from mediation.routing.service import create_rule, record_suggestion

FEATURED_GRID = "120116100201G01"  # wanggeyuan's grid gets a few more cases
TOWN_WEIGHTS = {"120116100000": 3.0, "120116001000": 2.0}


def prepare_schema(reset: bool) -> str:
    """Bring the schema up to date with the migrations; with ``reset`` drop every table first.

    A database that has tables but no ``alembic_version`` was built by ``db.create_all()`` (the
    test fixtures do that): it *is* the current models' schema, so it is used as it is. Upgrading
    it would fail on the existing tables, and stamping it would claim a revision nobody checked.
    A database with only some of the tables and no version is refused: we cannot tell what it is.
    """

    if reset:
        db.session.close()
        meta = MetaData()
        meta.reflect(bind=db.engine)  # every table, including alembic_version and stale ones
        meta.drop_all(bind=db.engine)
        upgrade()
        return "已清空数据库，并按迁移脚本重建数据库结构。"
    tables = set(inspect(db.session.connection()).get_table_names())
    models = set(db.metadata.tables)
    if "alembic_version" in tables or not tables & models:
        db.session.close()
        upgrade()
        return "数据库结构已按迁移脚本升级到最新版本。"
    if models <= tables:
        db.session.close()
        return "数据库结构由 db.create_all() 建立（无迁移版本记录），按现状使用。"
    missing = "、".join(sorted(models - tables))
    raise DemoError(
        f"数据库中已有部分数据表，但没有迁移版本记录，缺少：{missing}。"
        "请加 --reset 重建数据库，或先执行 flask --app mediation db upgrade。"
    )


def load_places() -> tuple[dict, dict]:
    try:
        tree = import_tree(DATA_DIR / "tree.csv")
        units = import_units(DATA_DIR / "units.csv")
    except ImportErrors as err:  # the shipped files are wrong: a bug, say it plainly
        raise DemoError("演示数据文件有误：" + "；".join(err.errors)) from err
    return tree, units


@dataclass
class Place:
    town: Node
    village: Node | None
    node: Node


class World:
    """The loaded tree and units, indexed for the generator."""

    def __init__(self):
        nodes = db.session.scalars(select(Node).where(Node.code.startswith(DISTRICT_CODE[:6]))).all()
        self.nodes = {n.code: n for n in nodes}
        self.district = self.nodes[DISTRICT_CODE]
        self.units = {
            u.code: u for u in db.session.scalars(select(Unit).where(Unit.node_id.in_([n.id for n in nodes])))
        }
        children: dict[int, list[Node]] = defaultdict(list)
        for n in sorted(nodes, key=lambda n: n.code):
            children[n.parent_id].append(n)
        self.towns = children[self.district.id]
        self.villages = {t.id: children[t.id] for t in self.towns}
        self.grids = {v.id: children[v.id] for vs in self.villages.values() for v in vs}
        self.by_id = {n.id: n for n in nodes}
        self.users = {
            u.username: u
            for u in db.session.scalars(
                select(User).where(User.username.in_([u[0] for u in DEMO_USERS] + list(self.units)))
            )
        }
        self.staff: dict[str, str] = {}
        self.units_by_id = {u.id: u for u in self.units.values()}

    def place(self, rng: random.Random) -> Place:
        if FEATURED_GRID in self.nodes and rng.random() < 0.05:
            grid = self.nodes[FEATURED_GRID]
            village = self.by_id[grid.parent_id]
            return Place(self.by_id[village.parent_id], village, grid)
        town = rng.choices(self.towns, weights=[TOWN_WEIGHTS.get(t.code, 1.5) for t in self.towns])[0]
        villages = self.villages[town.id]
        roll = rng.random()
        if roll < 0.1 or not villages:
            return Place(town, None, town)
        village = rng.choice(villages)
        grids = self.grids.get(village.id) or []
        if roll < 0.55 or not grids:
            return Place(town, village, village)
        return Place(town, village, rng.choice(grids))

    def committee(self, place: Place, key: str) -> Unit:
        town_tw = self.units[f"{place.town.code}-TW"]
        if key == "town":
            return town_tw
        if key == "village":
            return self.units.get(f"{place.village.code}-TW", town_tw) if place.village else town_tw
        if key == "police":
            return self.units[f"{place.town.code}-PCS"]
        return self.units[f"{DISTRICT_CODE}-{key}"]

    def user_of(self, unit: Unit | None) -> User | None:
        """The demo user working at the unit, else its staff account."""
        if unit is None:
            return None
        return self.users.get(ACTING_USER.get(unit.code, "")) or self.users.get(unit.code)

    def actor(self, unit: Unit, rng: random.Random) -> tuple[User | None, str]:
        """The user working at the unit, else a (stable) fictional staff member's name."""
        user = self.user_of(unit)
        if user is not None:
            return user, ""
        if unit.code not in self.staff:
            self.staff[unit.code] = staff_name(unit.code)
        return None, self.staff[unit.code]


TOWN_FEATURED = "120116100000"  # 双港镇: zhenzhongxin's centre, tiaojieyuan's 调委会
COMMITTEE_FEATURED = f"{TOWN_FEATURED}-TW"


@dataclass
class History:
    """What the phases after the cases made, for the summary."""

    world: World
    today: date
    now: datetime
    stats: Counter = field(default_factory=Counter)
    agreements: list = field(default_factory=list)  # effective agreements, oldest first
    messages: list[str] = field(default_factory=list)

    def user(self, unit: Unit | None) -> User | None:
        return self.world.user_of(unit)


# (priority, name, conditions, channel, unit code suffix at the district or None for "the nearest
# unit of that channel at or above the case's 属地"). Tried by ascending priority; the first match wins.
DEMO_RULES = (
    (10, "重大及以上风险：区矛盾纠纷调处中心牵头", {"min_risk": "重大"}, "人民调解", "TC"),
    (11, "群体性、涉众纠纷：区矛盾纠纷调处中心牵头", {"flags": ["群体性", "涉众"]}, "人民调解", "TC"),
    (12, "涉及10人以上：区矛盾纠纷调处中心牵头", {"min_people": 10}, "人民调解", "TC"),
    (15, "标的50万元以上：法院诉调对接中心", {"min_amount": "500000"}, "诉调对接", "SD"),
    (20, "劳动争议/欠薪：区劳动争议调委会（人社）", {"category": "劳动争议/欠薪"}, "人民调解", "LTW"),
    (21, "道路交通事故：区交通事故调委会（交警）", {"category": "道路交通事故"}, "人民调解", "JTW"),
    (22, "医疗纠纷：区医调委", {"category": "医疗"}, "人民调解", "YTW"),
    (23, "物业纠纷：区物业纠纷调委会", {"category": "物业"}, "人民调解", "WTW"),
    (24, "消费纠纷：区市场监管局", {"category": "消费"}, "行政调解", "SJ"),
    (25, "征地拆迁：区住建委", {"category": "征地拆迁"}, "行政调解", "ZJ"),
    (26, "涉军/退役军人：区矛盾纠纷调处中心", {"category": "涉军/退役军人"}, "人民调解", "TC"),
    (30, "婚姻家庭：就近村（社区）调委会", {"category": "婚姻家庭"}, "人民调解", None),
    (31, "邻里纠纷：就近村（社区）调委会", {"category": "邻里"}, "人民调解", None),
    (32, "房屋宅基地：就近村（社区）调委会", {"category": "房屋宅基地"}, "人民调解", None),
    (33, "山林土地：就近村（社区）调委会", {"category": "山林土地"}, "人民调解", None),
    (34, "损害赔偿：属地派出所", {"category": "损害赔偿"}, "行政调解", None),
    (90, "其他纠纷：就近人民调解委员会", {}, "人民调解", None),
)


def ensure_routing_rules() -> tuple[int, int]:
    """The demo's routing rules, by name: a rule that exists is left as the admin may have changed
    it. Returns (rules of the demo present, created now)."""

    existing = set(db.session.scalars(select(RoutingRule.name)))
    categories = list(current_app.config["CATEGORIES"])
    units = set(db.session.scalars(select(Unit.code).where(Unit.code.startswith(f"{DISTRICT_CODE}-"))))
    present = created = 0
    for priority, name, conditions, channel, suffix in DEMO_RULES:
        unit = f"{DISTRICT_CODE}-{suffix}" if suffix else None
        if (unit is not None and unit not in units) or conditions.get(
            "category", categories[0]
        ) not in categories:
            continue  # a units file without that unit, or a category this deployment does not use
        present += 1
        if name in existing:
            continue
        create_rule(
            RoutingRuleIn().load(
                {"name": name, "priority": priority, "channel": channel, "unit": unit, **conditions}
            )
        )
        created += 1
    db.session.flush()
    return present, created


def suggest_pending() -> int:
    """The 分流建议 of the demo's cases waiting for routing (待分流) that have none yet (the demo writes
    its cases directly, not through registration, which records it). Returns how many got one."""

    done = 0
    pending = db.session.scalars(
        select(Dispute).where(
            Dispute.status == Status.PENDING,
            Dispute.suggested_channel.is_(None),
            Dispute.suggested_unit_id.is_(None),
        )
    )
    for dispute in pending:
        if record_suggestion(dispute).channel is not None:
            done += 1
    db.session.flush()
    return done
