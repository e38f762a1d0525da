"""The demo's 调解组织: a profile for every committee (by ``orgs.service.default_kind``: the villages' and
communities' 村（居）调委会, the towns' 乡镇（街道）调委会, the district's 行业性专业性调委会 for 医疗, 交通,
劳动 and 物业), a 村（居）调委会 for every village and community but two (:data:`UNCOVERED`, so that the
coverage view has something to show), a 律师调解工作室, a 个人调解工作室 and the court's 驻庭调解室.

Run after the cases (the new committees do not change which unit the generated cases went to) and
idempotent: a unit, or a profile, that exists is left as it is (an admin may have edited it)."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from mediation.common.enums import Channel, NodeLevel, OrgKind, UnitType
from mediation.demo.base import DISTRICT_CODE
from mediation.demo.people import _PasswordHash, ensure_staff, staff_name
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.orgs.models import MediationOrg
from mediation.orgs.service import coverage, ensure_profiles

UNCOVERED = ("120116100203", "120116003004")  # 西小站村, 和平社区: no 村（居）调委会 yet
# (unit code, name, node code, kind): the studios and the court's mediation room
STUDIOS = (
    (f"{DISTRICT_CODE}-LS", "海滨区律和律师调解工作室", DISTRICT_CODE, OrgKind.LAWYER),
    ("120116100000-GR", "双港镇老李调解工作室", "120116100000", OrgKind.PERSONAL),
)
STATIONED = (f"{DISTRICT_CODE}-SD",)  # the court's 诉调对接中心 runs the 驻庭调解室


def _committees() -> int:
    """A 村（居）调委会 unit for every village and community without one, except :data:`UNCOVERED`."""
    places = db.session.scalars(
        select(Node)
        .where(
            Node.level.in_([NodeLevel.VILLAGE, NodeLevel.COMMUNITY]), Node.code.startswith(DISTRICT_CODE[:6])
        )
        .order_by(Node.code)
    ).all()
    existing = set(db.session.scalars(select(Unit.code)))
    made = 0
    for place in places:
        code = f"{place.code}-TW"
        if place.code in UNCOVERED or code in existing:
            continue
        db.session.add(
            Unit(
                code=code,
                name=f"{place.name}人民调解委员会",
                short_name=f"{place.name}人调",
                type=UnitType.COMMITTEE,
                channel=Channel.PEOPLE,
                node=place,
            )
        )
        made += 1
    for code, name, node_code, _ in STUDIOS:
        if code not in existing:
            node = db.session.scalar(select(Node).where(Node.code == node_code))
            db.session.add(Unit(code=code, name=name, type=UnitType.OTHER, channel=Channel.PEOPLE, node=node))
            made += 1
    db.session.flush()
    return made


def _details(org: MediationOrg) -> None:
    """成立日期, 负责人 (the unit's staff member), 场所 and 电话 of a profile the demo just made."""
    rng = random.Random(org.unit.code)
    node = org.unit.node
    org.founded_on = date(2005 + rng.randrange(15), 1 + rng.randrange(12), 1 + rng.randrange(28))
    org.head = staff_name(org.unit.code)
    org.address = {
        OrgKind.VILLAGE: f"{node.name}党群服务中心一楼调解室",
        OrgKind.TOWN: f"{node.name}综治中心二楼调解室",
    }.get(org.kind, f"{node.name}公共法律服务中心{rng.randrange(1, 5)}楼")
    org.phone = f"022-2588{rng.randrange(10000):04d}"
    if org.kind == OrgKind.VILLAGE and rng.random() < 0.5:
        org.other_members = f"另有兼职调解员{rng.randrange(2, 6)}人（村民小组长、网格员）"


def load_orgs(password_hash: _PasswordHash) -> list[str]:
    """The demo's mediation organisations; returns the summary line."""
    units_made = _committees()
    ensure_staff(password_hash)  # the new units' staff accounts, as every demo unit has
    before = set(db.session.scalars(select(MediationOrg.unit_id)))
    ensure_profiles()
    kinds = {code: kind for code, _, _, kind in STUDIOS} | dict.fromkeys(STATIONED, OrgKind.STATIONED)
    for code, kind in kinds.items():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is not None and db.session.get(MediationOrg, unit.id) is None:
            db.session.add(MediationOrg(unit=unit, kind=kind))
    db.session.flush()
    made = db.session.scalars(
        select(MediationOrg).where(MediationOrg.unit_id.not_in(before or {0})).order_by(MediationOrg.unit_id)
    ).all()
    for org in made:
        _details(org)
    db.session.flush()
    total = len(before) + len(made)
    district = db.session.scalar(select(Node).where(Node.code == DISTRICT_CODE))
    report = coverage(district)
    return [
        f"调解组织：{total} 个（新增 {len(made)}，新建单位 {units_made}）；村（居）调委会覆盖 "
        f"{report['covered']}/{report['total']} 个村（社区），未覆盖：{'、'.join(p['name'] for p in report['uncovered_places']) or '无'}。"
    ]
