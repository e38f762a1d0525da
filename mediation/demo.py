"""The demo (`flask --app mediation demo`): a fictional 海滨区 with its towns, villages and grids,
handling units of every type, one user per role (and a staff account per unit), a few hundred
disputes over eight months, and the history every screen shows.

The tree and the units are shipped as CSV files (mediation/demo_data/) and loaded through the same
importers as `tree import` / `units import`. Disputes are generated with a fixed random seed, so two
fresh loads on the same day give the same data; their life cycle (registered → routed → accepted →
stabilised → closed) is written with its historical dates, one timeline event per step.

Everything else is made by the areas' own service functions with the application clock set to the
moment it happened (mediation/clock.py), so their rules, events and signal receivers apply as they
would have: mediation sessions and 稳控 visits between the steps, follow-ups done (with their result
and score) a few days after they fell due, agreements drafted, signed, sealed and issued as signed
PDFs, a court's 诉前委派, 司法确认, a 民转刑 warning, the grids' sweep reports, 督办 orders, the
carry-over reasons and month closes of the 综治中心, and finally the scheduler's sweep (deadline
warnings, due follow-ups, escalation of an unanswered 督办). A second run adds nothing.
"""

from __future__ import annotations

import random
import time as time_module
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import MetaData, func, inspect, select

from mediation import clock
from mediation.accounts.models import User
from mediation.common.enums import (
    ROLE_LABELS,
    NodeLevel,
    Outcome,
    PartyKind,
    PartyRole,
    RiskFlag,
    RiskLevel,
    Role,
    Status,
    UnitType,
    Venue,
)
from mediation.common.time import SHANGHAI, local_date, local_today, to_local, utcnow
from mediation.common.validators import id_card_check_digit, uscc_check_char
from mediation.extensions import db
from mediation.geo.models import Node, Unit

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
DISTRICT_CODE = "120116000000"
DEMO_PASSWORD = "Tiaojie@2026"  # meets the password policy (mediation/accounts/passwords.py)
SEED = 20260101
WINDOW_DAYS = 240  # about eight months
BATCH = 100

# username, role, unit code, display name
DEMO_USERS = (
    ("admin", Role.ADMIN, f"{DISTRICT_CODE}-ZZ", "系统管理员"),
    ("quzhongxin", Role.CENTER, f"{DISTRICT_CODE}-ZZ", "王海燕"),
    ("zhenzhongxin", Role.CENTER, "120116100000-ZZ", "刘建国"),
    ("tiaojieyuan", Role.MEDIATOR, "120116100000-TW", "陈秀兰"),
    ("wanggeyuan", Role.GRID, "120116100201G01-WG", "赵磊"),
    ("fayuan", Role.COURT, f"{DISTRICT_CODE}-FY", "孙立平"),
)
# The unit whose staff a demo user is, for the timeline's "who".
ACTING_USER = {
    f"{DISTRICT_CODE}-ZZ": "quzhongxin",
    "120116100000-ZZ": "zhenzhongxin",
    "120116100000-TW": "tiaojieyuan",
    "120116100201G01-WG": "wanggeyuan",
    f"{DISTRICT_CODE}-FY": "fayuan",
}
FEATURED_GRID = "120116100201G01"  # wanggeyuan's grid gets a few more cases
TOWN_WEIGHTS = {"120116100000": 3.0, "120116001000": 2.0}


class DemoError(click.ClickException):
    """Shown by click as an error message (exit status 1)."""


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------

def prepare_schema(reset: bool) -> str:
    """Bring the schema up to date with the migrations; with ``reset`` drop every table first.

    A database that has tables but no ``alembic_version`` was built by ``db.create_all()`` (the
    test fixtures do that): it *is* the current models' schema, so it is used as it is. Upgrading
    it would fail on the existing tables, and stamping it would claim a revision nobody checked.
    A database with only some of the tables and no version is refused: we cannot tell what it is.
    """
    from flask_migrate import upgrade

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
    raise DemoError(f"数据库中已有部分数据表，但没有迁移版本记录，缺少：{missing}。"
                    "请加 --reset 重建数据库，或先执行 flask --app mediation db upgrade。")


# --------------------------------------------------------------------------------------------
# Tree, units, users
# --------------------------------------------------------------------------------------------

def load_places() -> tuple[dict, dict]:
    from mediation.geo.service import ImportErrors, import_tree, import_units

    try:
        tree = import_tree(DATA_DIR / "tree.csv")
        units = import_units(DATA_DIR / "units.csv")
    except ImportErrors as err:  # the shipped files are wrong: a bug, say it plainly
        raise DemoError("演示数据文件有误：" + "；".join(err.errors)) from err
    return tree, units


class _PasswordHash:
    """One (salted) hash of the shared demo password for every new account: hashing is slow on purpose."""

    def __init__(self):
        self.value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            probe = User()
            probe.set_password(DEMO_PASSWORD)
            self.value = probe.password_hash
        return self.value


def ensure_users(password_hash: _PasswordHash | None = None) -> list[tuple[User, bool]]:
    """The demo accounts; an existing account is left as it is."""
    password_hash = password_hash or _PasswordHash()
    result = []
    for username, role, unit_code, display_name in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        created = user is None
        if created:
            unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
            user = User(username=username, role=role, unit=unit, display_name=display_name,
                        password_hash=password_hash())
            db.session.add(user)
        result.append((user, created))
    db.session.flush()
    return result


def staff_role(unit: Unit) -> Role:
    """The role of a unit's staff: 综治中心 staff, court liaisons, grid workers, mediators elsewhere."""
    if unit.type == UnitType.CENTER:
        return Role.CENTER
    if unit.type == UnitType.COURT:
        return Role.COURT
    if unit.type == UnitType.OTHER and unit.channel is None:
        return Role.GRID  # the 网格 units
    return Role.MEDIATOR  # 调委会, departments (行政调解), the 调处中心


def staff_name(unit_code: str) -> str:
    return person_name(random.Random(unit_code))[0]


def ensure_staff(password_hash: _PasswordHash) -> tuple[int, int]:
    """One staff account per demo unit that has no demo user, named after the unit's code (so that
    every unit can act: accept, record sessions, complete follow-ups, reply to 督办, file sweep
    reports). An existing account is left as it is. Returns (accounts, created)."""
    taken = {code for _, _, code, _ in DEMO_USERS}
    units = db.session.scalars(select(Unit).where(Unit.code.startswith(DISTRICT_CODE[:6])).order_by(Unit.code)).all()
    existing = set(db.session.scalars(select(User.username).where(User.username.in_([u.code for u in units]))))
    created = 0
    for unit in units:
        if unit.code in taken or unit.code in existing:
            continue
        db.session.add(User(username=unit.code, role=staff_role(unit), unit=unit,
                            display_name=staff_name(unit.code), password_hash=password_hash()))
        created += 1
    db.session.flush()
    return len([u for u in units if u.code not in taken]), created


# --------------------------------------------------------------------------------------------
# Text material
# --------------------------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
            "贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段")
MALE = ("伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "建国", "志强", "德胜", "振华",
        "立新", "春生", "宝山", "文博", "浩然", "宇轩", "俊杰", "建华", "国庆", "长江", "永刚", "晓东", "福来")
FEMALE = ("芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀兰", "桂英", "玉兰", "海燕", "红梅", "淑珍", "凤英",
          "子涵", "欣怡", "梓萱", "雨桐", "秀珍", "金凤", "丽娟", "玉梅", "淑华")
FIRMS = ("鑫源", "宏达", "海晟", "恒通", "德润", "永盛", "华港", "金岸", "瑞丰", "新城", "泰和", "盛鑫",
         "广源", "万嘉", "益民", "顺达", "中天", "利华", "港湾", "嘉禾", "福瑞", "联众")
ROADS = ("港城大道与海韵路", "滨海路与新港二号路", "津沽公路双港段", "太平镇中心大街", "东湖路与春晖道",
         "海滨大道与渔港路", "八里台路口", "胜利街与明珠道")
STREETS = ("前街", "后街", "东街", "西街", "中心街", "南大街", "北环路")
# Birthplaces of parties: mostly this district, some elsewhere in Tianjin, some migrant workers.
REGIONS = ("120116",) * 8 + ("120101", "120104", "120110", "120112", "130102", "370102", "410105", "230103")

# company kind → (name pattern, party kind, USCC prefix: 91 enterprise, 92 individual business,
# 12 public institution, 52 private non-enterprise unit)
COMPANIES = {
    "build": ("天津{f}建筑工程有限公司", PartyKind.LEGAL, "91"),
    "factory": ("天津{f}机械制造有限公司", PartyKind.LEGAL, "91"),
    "food": ("海滨区{f}食品加工有限公司", PartyKind.LEGAL, "91"),
    "property": ("天津{f}物业服务有限公司", PartyKind.LEGAL, "91"),
    "mall": ("海滨{f}家电商城有限公司", PartyKind.LEGAL, "91"),
    "gym": ("海滨区{f}健身服务有限公司", PartyKind.LEGAL, "91"),
    "finance": ("天津{f}投资咨询有限公司", PartyKind.LEGAL, "91"),
    "hospital": ("海滨区{f}医院", PartyKind.LEGAL, "12"),
    "school": ("海滨区{f}培训学校", PartyKind.ORGANIZATION, "52"),
    "shop": ("海滨区{f}便民超市", PartyKind.ORGANIZATION, "92"),
    "restaurant": ("海滨区{f}家常菜馆", PartyKind.ORGANIZATION, "92"),
    "insurer": ("中国{f}财产保险股份有限公司天津分公司", PartyKind.LEGAL, "91"),
}


@dataclass(frozen=True)
class Template:
    text: str
    respondent: str = "person"  # "person" or a COMPANIES key
    group: bool = False  # 群体性: many applicants, {n} people
    venue: Venue | None = None
    hot: bool = False  # emotions run high: a 民转刑 risk
    sexes: str = "??"  # of {a} and {b}: M, F or ? (either)
    kin: bool = False  # {a} and {b} share a surname
    born: tuple[tuple[int, int] | None, tuple[int, int] | None] = (None, None)  # years of birth of {a}, {b}


T = Template
TEMPLATES: dict[str, tuple[Template, ...]] = {
    "邻里": (
        T("{a}反映，楼上住户{b}家卫生间长期渗漏，导致其家中顶棚及墙面发霉脱落，多次协商未果，要求{b}修缮并赔偿损失约{amount}。", venue=Venue.FAMILY),
        T("{a}与邻居{b}因{b}在公共楼道堆放杂物、占用消防通道发生争执，双方言语冲突，{a}要求社区处理。", venue=Venue.VILLAGE),
        T("{a}与{b}因院墙界址及排水沟走向发生纠纷，{b}新砌院墙挡住{a}家排水，雨天院内积水，双方多次争吵。", venue=Venue.VILLAGE),
        T("{b}家饲养的犬只夜间吠叫并咬伤{a}家鸡鸭，双方就赔偿问题产生矛盾，{a}要求赔偿{amount}。", venue=Venue.VILLAGE),
        T("{a}反映邻居{b}装修期间噪音扰民且在午休时间施工，双方多次发生口角，情绪较为激动。", venue=Venue.FAMILY, hot=True),
    ),
    "婚姻家庭": (
        T("{a}与丈夫{b}结婚十余年，近年因家庭琐事及经济问题矛盾加深，{a}提出离婚，双方就子女抚养和共同房产分割存在争议。", venue=Venue.FAMILY, sexes="FM"),
        T("{a}反映其子{b}长期不履行对年迈父母的赡养义务，拒绝支付赡养费，要求每月给付赡养费并分担医疗费用。", venue=Venue.FAMILY, sexes="?M", kin=True,
          born=((1938, 1958), (1965, 1985))),
        T("{a}与{b}兄弟二人因父母遗留房屋的继承份额发生纠纷，争议房产估值约{amount}。", venue=Venue.FAMILY, sexes="MM", kin=True),
        T("{a}与儿媳{b}因家务分工及孙辈抚养问题长期不和，近日发生激烈争吵并有推搡，{a}要求调解。", venue=Venue.FAMILY, hot=True, sexes="FF",
          born=((1945, 1965), (1975, 1995))),
    ),
    "房屋宅基地": (
        T("{a}与{b}因宅基地边界发生争议，{b}翻建房屋时越界约半米，{a}要求拆除越界部分。", venue=Venue.VILLAGE),
        T("{a}购买{b}位于{place}的房屋后，{b}拒不配合办理过户手续，{a}要求退还购房款{amount}或协助过户。"),
        T("{a}租住{b}的房屋，租期未满{b}要求收回房屋并拒退押金{amount}，双方发生争执。", venue=Venue.FAMILY),
    ),
    "山林土地": (
        T("{a}与{b}因承包地边界不清发生纠纷，{b}耕种时侵占{a}承包地约一亩二分，双方多次争吵。", venue=Venue.VILLAGE),
        T("{a}将承包地流转给{b}种植，{b}拖欠两年流转费{amount}，{a}要求解除流转合同。", venue=Venue.VILLAGE),
    ),
    "合同": (
        T("{a}与{b}签订家庭装修合同，{b}施工质量不合格且逾期未完工，{a}要求退还部分工程款{amount}。", "build", venue=Venue.FAMILY),
        T("{a}向{b}订购一批门窗，货到后发现规格不符，双方就退货及货款{amount}发生争议。", "factory", venue=Venue.ENTERPRISE),
        T("{a}承包{b}的厂房改造工程，完工后{b}以质量问题为由拒付尾款{amount}。", "food", venue=Venue.ENTERPRISE),
    ),
    "债务": (
        T("{b}于两年前向{a}借款{amount}并出具借条，约定一年内归还，到期后{b}以资金困难为由拖欠至今。"),
        T("{a}为{b}供应蔬菜，{b}尚欠货款{amount}，多次催要未果。", "restaurant", venue=Venue.ENTERPRISE),
        T("{a}与{b}系朋友关系，{b}以做生意为由借款{amount}，现避而不见，{a}情绪激动。", hot=True),
    ),
    "生产经营": (
        T("{a}经营的养殖场与{b}相邻，{a}认为其排放的粉尘影响养殖，双方就整改及补偿{amount}发生争执。", "food", venue=Venue.ENTERPRISE),
        T("{a}与{b}合伙经营饭店，因经营亏损及合伙财产分割产生纠纷，涉及金额{amount}。", venue=Venue.ENTERPRISE),
    ),
    "损害赔偿": (
        T("{a}在{b}购物时因地面湿滑摔倒致腿部骨折，双方就医疗费、误工费等赔偿{amount}存在争议。", "shop", venue=Venue.ENTERPRISE),
        T("{a}之子在学校课间活动时被{b}之子推倒致牙齿受损，双方家长就医疗费用{amount}发生纠纷。", venue=Venue.SCHOOL),
        T("{a}与{b}因琐事发生肢体冲突，{a}面部受伤，要求{b}赔偿医疗费{amount}，双方仍有言语威胁。", venue=Venue.VILLAGE, hot=True),
        T("{b}家空调外机坠落砸坏{a}停放的车辆，{a}要求赔偿维修费{amount}。", venue=Venue.VILLAGE),
    ),
    "劳动争议/欠薪": (
        T("{a}等{n}名工人反映，在{b}承建的工地务工，被拖欠工资共计{amount}，多次讨要无果。", "build", group=True, venue=Venue.ENTERPRISE),
        T("{a}在{b}工作三年，公司未签订书面劳动合同，现被辞退，要求支付经济补偿金{amount}。", "factory", venue=Venue.ENTERPRISE),
        T("{a}在{b}工作期间受伤，公司未缴纳工伤保险，双方就工伤待遇{amount}发生争议。", "food", venue=Venue.ENTERPRISE),
        T("{a}反映{b}拖欠其三个月工资{amount}，公司以经营困难为由拒绝支付。", "restaurant", venue=Venue.ENTERPRISE),
    ),
    "征地拆迁": (
        T("{a}等{n}户村民对{place}片区拆迁补偿标准有异议，认为房屋评估价格偏低，拒绝签订补偿协议。", group=True, venue=Venue.VILLAGE),
        T("{a}对其承包地被征收后的地上附着物补偿金额{amount}不认可，要求重新评估。", venue=Venue.VILLAGE),
    ),
    "环境污染": (
        T("{a}等{n}户居民反映{b}夜间生产噪音及异味严重影响休息，要求停产整改并给予补偿。", "factory", group=True, venue=Venue.VILLAGE),
        T("{a}反映{b}的油烟直排至其住宅窗户，多次协商未果。", "restaurant", venue=Venue.FAMILY),
    ),
    "医疗": (
        T("{a}之父在{b}住院治疗期间病情恶化去世，家属认为医院存在诊疗过错，要求赔偿{amount}，曾在医院聚集。", "hospital", venue=Venue.INSTITUTION, hot=True),
        T("{a}在{b}接受手术后出现并发症，认为医院告知不充分，要求赔偿医疗费及误工费{amount}。", "hospital", venue=Venue.INSTITUTION),
    ),
    "物业": (
        T("{a}等{n}户业主因小区电梯频繁故障、维修不及时拒交物业费，与{b}发生纠纷。", "property", group=True, venue=Venue.VILLAGE),
        T("{b}以{a}拖欠物业费{amount}为由停止为其提供门禁服务，双方发生争执。", "property", venue=Venue.VILLAGE),
        T("{a}反映小区地下车库长期积水导致其车辆受损，要求{b}赔偿{amount}。", "property", venue=Venue.VILLAGE),
    ),
    "道路交通事故": (
        T("{b}驾驶小型轿车在{road}路口与{a}驾驶的电动自行车相撞，致{a}受伤，交警认定{b}负主要责任，双方就赔偿{amount}协商未果。"),
        T("{a}与{b}的车辆在{road}发生追尾事故，双方对车辆维修费{amount}及误工损失存在争议。"),
    ),
    "消费": (
        T("{a}在{b}购买的冰箱使用一个月即出现故障，商家拒绝退换，{a}要求退款{amount}。", "mall", venue=Venue.ENTERPRISE),
        T("{a}在{b}办理健身卡后门店停业，要求退还剩余费用{amount}。", "gym", venue=Venue.ENTERPRISE),
        T("{a}反映在{b}购买的预付购物卡无法使用，涉及金额{amount}。", "shop", venue=Venue.ENTERPRISE),
    ),
    "涉众型经济": (
        T("{a}等{n}人反映，{b}以高息理财为名吸收资金，现无法兑付本息，涉及金额约{amount}，群众情绪激动。", "finance", group=True, venue=Venue.ENTERPRISE),
        T("{a}等{n}名学员家长反映{b}突然停课，预付学费{amount}无法退还。", "school", group=True, venue=Venue.SCHOOL),
    ),
    "涉军/退役军人": (
        T("退役军人{a}反映其原工作单位{b}未落实安置待遇，拖欠生活补助{amount}。", "factory", venue=Venue.INSTITUTION, sexes="M?"),
        T("退役军人{a}与邻居{b}因宅前道路通行问题发生争执，情绪激动。", venue=Venue.VILLAGE, hot=True, sexes="M?"),
    ),
    "其他": (
        T("{a}与{b}因宠物走失后的寻回酬金问题产生争执。"),
        T("{a}反映{b}在微信群中散布关于其的不实信息，要求{b}公开道歉。"),
    ),
}
GENERIC = (T("{a}与{b}发生{category}纠纷，双方协商未果，{a}申请调解。"),)

AMOUNTS = {  # yuan, (low, high); None: no amount at stake
    "邻里": (800, 12000), "婚姻家庭": (50000, 900000), "房屋宅基地": (3000, 600000),
    "山林土地": (4000, 30000), "合同": (5000, 260000), "债务": (5000, 300000), "生产经营": (8000, 200000),
    "损害赔偿": (1500, 80000), "劳动争议/欠薪": (6000, 380000), "征地拆迁": (60000, 900000),
    "环境污染": None, "医疗": (30000, 600000), "物业": (1200, 30000), "道路交通事故": (3000, 180000),
    "消费": (600, 12000), "涉众型经济": (500000, 8000000), "涉军/退役军人": (8000, 60000), "其他": None,
}
CATEGORY_WEIGHTS = {
    "邻里": 14, "婚姻家庭": 10, "物业": 9, "劳动争议/欠薪": 9, "债务": 8, "合同": 7, "损害赔偿": 7,
    "道路交通事故": 7, "房屋宅基地": 6, "消费": 6, "生产经营": 4, "医疗": 3, "山林土地": 2, "征地拆迁": 2,
    "环境污染": 2, "涉众型经济": 1, "涉军/退役军人": 1, "其他": 2,
}
# Who handles a category: (lead unit key, weight). Keys: "village" (the village's 调委会, else the
# town's), "town" (the town's 调委会), "police" (the town's 派出所), or a district unit suffix.
HANDLERS = {
    "邻里": (("village", 5), ("town", 3), ("police", 2)),
    "婚姻家庭": (("village", 5), ("town", 3), ("police", 1)),
    "房屋宅基地": (("village", 3), ("town", 4)),
    "山林土地": (("town", 4), ("village", 2)),
    "合同": (("town", 5), ("TC", 1)),
    "债务": (("town", 5), ("village", 2)),
    "生产经营": (("town", 4), ("SJ", 1)),
    "损害赔偿": (("town", 4), ("police", 3)),
    "劳动争议/欠薪": (("LTW", 5), ("RS", 4)),
    "征地拆迁": (("TC", 3), ("ZJ", 2), ("XF", 1)),
    "环境污染": (("town", 3), ("TC", 2)),
    "医疗": (("YTW", 1),),
    "物业": (("WTW", 4), ("ZJ", 1), ("village", 2)),
    "道路交通事故": (("JTW", 5), ("JJ", 3)),
    "消费": (("SJ", 5), ("town", 1)),
    "涉众型经济": (("TC", 3), ("XF", 1)),
    "涉军/退役军人": (("TC", 2), ("town", 2)),
    "其他": (("town", 3), ("village", 2)),
}
SOURCE_HINTS = {  # extra weight of sources by category, on top of 群众来访
    "邻里": {"110警情转办": 3, "12345热线": 2}, "婚姻家庭": {"110警情转办": 2},
    "损害赔偿": {"110警情转办": 3, "法院委派": 2}, "合同": {"法院委派": 4}, "债务": {"法院委派": 4},
    "物业": {"12345热线": 4, "网络/微信": 2}, "消费": {"12345热线": 4, "部门移送": 2},
    "劳动争议/欠薪": {"部门移送": 2, "12345热线": 2}, "征地拆迁": {"信访转办": 4, "上级交办": 2},
    "涉众型经济": {"信访转办": 3, "上级交办": 2}, "环境污染": {"12345热线": 4},
    "道路交通事故": {"110警情转办": 2, "法院委派": 2}, "医疗": {"信访转办": 1},
}
CLOSE_NOTES = {
    Outcome.SUCCESS: ("双方自愿达成调解协议，当场履行完毕。", "双方签订人民调解协议书，约定分期履行。",
                      "双方达成口头协议，已登记在案并当场履行。", "经调解双方互谅互让达成协议，已回访确认履行。"),
    Outcome.FAILURE: ("双方分歧较大，经多次调解未能达成一致，已终止调解并告知当事人可依法申请仲裁或向人民法院起诉。",
                      "被申请人拒不到场，调解无法继续，已终止调解并告知其他救济途径。"),
    Outcome.WITHDRAWN: ("申请人主动撤回调解申请。", "双方自行和解，申请人撤回申请。"),
    Outcome.REJECTED: ("一方当事人明确拒绝调解（《人民调解法》第十七条），不予受理。",
                       "该纠纷已进入诉讼程序，不予受理，已告知当事人。"),
}


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------

def person_name(rng: random.Random, sex: str = "?") -> tuple[str, str]:
    """A name and the sex it suits (M or F)."""
    if sex not in ("M", "F"):
        sex = rng.choice("MF")
    return rng.choice(SURNAMES) + rng.choice(MALE if sex == "M" else FEMALE), sex


def id_number(rng: random.Random, today: date, sex: str, years: tuple[int, int] | None = None) -> str:
    """A 居民身份证号码 with a valid GB 11643 check digit; the 17th digit is odd for men."""
    first, last = date((years or (1948, 2005))[0], 1, 1), date((years or (1948, 2005))[1], 12, 31)
    born = first + timedelta(days=rng.randint(0, (last - first).days))
    born = min(born, today - timedelta(days=18 * 366))
    order = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "M" else (0, 2, 4, 6, 8))
    first17 = f"{rng.choice(REGIONS)}{born:%Y%m%d}{order:03d}"
    return first17 + id_card_check_digit(first17)


def org_code(rng: random.Random) -> str:
    """A 9-character 组织机构代码 with its GB 11714 check character."""
    body = f"{rng.randint(0, 99_999_999):08d}"
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def uscc(rng: random.Random, prefix: str) -> str:
    first17 = f"{prefix}120116{org_code(rng)}"
    return first17 + uscc_check_char(first17)


def mobile(rng: random.Random) -> str:
    return rng.choice(("13", "15", "18", "17", "19")) + f"{rng.randint(0, 999_999_999):09d}"


def address(rng: random.Random, village: Node, town: Node) -> str:
    if village.level == NodeLevel.COMMUNITY:
        return (f"天津市海滨区{town.name}{village.name}{rng.randint(1, 36)}号楼{rng.randint(1, 6)}门"
                f"{rng.randint(1, 18)}0{rng.randint(1, 4)}")
    return f"天津市海滨区{town.name}{village.name}{rng.choice(STREETS)}{rng.randint(1, 120)}号"


def amount_text(amount: Decimal) -> str:
    if amount >= 10000:
        text = f"{amount / 10000:.1f}".rstrip("0").rstrip(".")
        return f"{text}万元"
    return f"{int(amount)}元"


def weighted(rng: random.Random, pairs) -> object:
    items = list(pairs)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def local_instant(day: date, seconds: int) -> datetime:
    """A Shanghai wall-clock moment on ``day`` as the naive UTC datetime the database stores."""
    local = datetime.combine(day, time()).replace(tzinfo=SHANGHAI) + timedelta(seconds=seconds)
    return local.astimezone(UTC).replace(tzinfo=None)


@dataclass
class Place:
    town: Node
    village: Node | None
    node: Node


@dataclass
class Plan:
    registered_on: date
    status: Status = Status.PENDING
    outcome: Outcome | None = None
    steps: list[tuple[str, date]] = field(default_factory=list)


class World:
    """The loaded tree and units, indexed for the generator."""

    def __init__(self):
        nodes = db.session.scalars(select(Node).where(Node.code.startswith(DISTRICT_CODE[:6]))).all()
        self.nodes = {n.code: n for n in nodes}
        self.district = self.nodes[DISTRICT_CODE]
        self.units = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.node_id.in_([n.id for n in nodes])))}
        children: dict[int, list[Node]] = defaultdict(list)
        for n in sorted(nodes, key=lambda n: n.code):
            children[n.parent_id].append(n)
        self.towns = children[self.district.id]
        self.villages = {t.id: children[t.id] for t in self.towns}
        self.grids = {v.id: children[v.id] for vs in self.villages.values() for v in vs}
        self.by_id = {n.id: n for n in nodes}
        self.users = {u.username: u for u in db.session.scalars(
            select(User).where(User.username.in_([u[0] for u in DEMO_USERS] + list(self.units))))}
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


# --------------------------------------------------------------------------------------------
# Life cycle
# --------------------------------------------------------------------------------------------

def registration_dates(rng: random.Random, today: date, count: int) -> tuple[list[date], int]:
    """Sorted registration dates, and how many of the latest cases are still waiting (待分流)."""
    # Slightly more cases recently (the service is being taken up), about eight months in all.
    days = sorted(today - timedelta(days=int(WINDOW_DAYS * (1 - rng.random() ** 0.85))) for _ in range(count))
    pending = max(2, round(count * 0.03)) if count >= 8 else 0
    for i in range(count - pending, count):
        days[i] = today - timedelta(days=rng.randint(0, 2))
    return sorted(days), pending


def choose_status(rng: random.Random, age: int) -> Status:
    if age > 60:
        weights = (90, 5, 5)
    elif age > 30:
        weights = (70, 20, 10)
    elif age > 10:
        weights = (35, 55, 10)
    else:
        weights = (20, 74, 6)
    return rng.choices((Status.CLOSED, Status.HANDLING, Status.STABILIZED), weights=weights)[0]


def ensure_mix(plans: list[Plan], today: date) -> None:
    """With enough cases, every status appears and some open cases are long overdue."""
    if len(plans) < 8:
        return
    counts = Counter(p.status for p in plans)
    old = [p for p in plans if (today - p.registered_on).days > 50]
    middle = [p for p in plans if 15 < (today - p.registered_on).days <= 50]
    if not any(p.status == Status.HANDLING for p in old) and old:
        old[len(old) // 2].status = Status.HANDLING
    if counts[Status.STABILIZED] == 0 and (middle or old):
        (middle or old)[0].status = Status.STABILIZED
    if counts[Status.CLOSED] == 0 and old:
        old[0].status = Status.CLOSED


def later(rng: random.Random, day: date, low: int, high: int, today: date) -> date:
    return min(today, day + timedelta(days=rng.randint(low, high)))


def plan_steps(rng: random.Random, plan: Plan, today: date, prominent: bool) -> None:
    """Dates of routing, acceptance, stabilisation and closing for the planned status."""
    plan.steps = [("registered", plan.registered_on)]
    if plan.status == Status.PENDING:
        return
    routed = later(rng, plan.registered_on, 0, 2, today) if rng.random() < 0.4 else plan.registered_on
    plan.steps.append(("routed", routed))
    if plan.status == Status.CLOSED:
        plan.outcome = rng.choices(list(Outcome), weights=(72, 13, 7, 8))[0]
        if plan.outcome == Outcome.REJECTED:  # 不予受理 closes the case without acceptance
            plan.steps.append(("rejected", later(rng, routed, 0, 3, today)))
            return
    accepted = later(rng, routed, 0, 2, today)
    plan.steps.append(("accepted", accepted))
    if plan.status == Status.STABILIZED or (plan.status == Status.CLOSED and prominent and rng.random() < 0.4):
        plan.steps.append(("stabilized", later(rng, accepted, 2, 15, today)))
    if plan.status == Status.CLOSED:
        span = {Outcome.SUCCESS: (2, 28), Outcome.FAILURE: (10, 45), Outcome.WITHDRAWN: (1, 15)}[plan.outcome]
        plan.steps.append(("closed", later(rng, plan.steps[-1][1], *span, today)))


def step_times(rng: random.Random, steps: list[tuple[str, date]], today: date, now: datetime) -> list[datetime]:
    """Working-hours moments, strictly increasing, none in the future.

    The random stream advances by the same amount whatever the time of day (steps dated today get
    a shorter span), so the cases after them are the same whenever the demo runs that day."""
    result: list[datetime] = []
    i = 0
    now_local = now.replace(tzinfo=UTC).astimezone(SHANGHAI)
    while i < len(steps):
        day = steps[i][1]
        same = [s for s in steps[i:] if s[1] == day]
        k = len(same)
        start, end = 8 * 3600 + 1800, 17 * 3600 + 1800
        if day == today:
            elapsed = now_local.hour * 3600 + now_local.minute * 60 + now_local.second - 60
            end = min(end, elapsed)
            start = min(start, max(0, end - 4 * 3600))
        span = max(end - start, k)
        draws = sorted(rng.random() for _ in range(k))
        result += [local_instant(day, start + int(u * (span - k)) + j) for j, u in enumerate(draws)]
        i += k
    return result


# --------------------------------------------------------------------------------------------
# Casework between the steps: sessions (调解记录) and 稳控 visits, through the areas' services
# --------------------------------------------------------------------------------------------

ISSUES = {  # what the parties argue about, by category
    "邻里": "损失的赔偿数额及整改措施", "婚姻家庭": "赡养、抚养费用及财产分割", "房屋宅基地": "房屋（宅基地）权属及补偿数额",
    "山林土地": "承包地边界及流转费用", "合同": "合同履行责任及款项结算", "债务": "欠款数额及还款期限",
    "生产经营": "经营损失的分担", "损害赔偿": "责任划分及赔偿数额", "劳动争议/欠薪": "拖欠工资及经济补偿的数额",
    "征地拆迁": "补偿标准及补偿数额", "环境污染": "整改措施及补偿", "医疗": "诊疗过错责任及赔偿数额",
    "物业": "物业服务质量及费用", "道路交通事故": "事故损失的赔偿数额", "消费": "退款及赔偿数额",
    "涉众型经济": "资金兑付方案", "涉军/退役军人": "安置待遇的落实", "其他": "各自的诉求",
}
FIRST_SESSION = (
    "调解员告知双方当事人人民调解的性质、原则及当事人的权利义务，双方均表示自愿接受调解。申请人{a}陈述了纠纷经过，"
    "要求对方依法承担责任；被申请人{b}对部分事实有异议。调解员结合《中华人民共和国民法典》有关规定释法明理，"
    "引导双方换位思考。双方同意就{issue}进一步协商，约定近日再行调解。",
    "调解员分别听取了申请人{a}和被申请人{b}的陈述，核对了相关票据和照片，并到现场进行了查看。双方争议焦点为{issue}。"
    "调解员讲解了相关法律规定及类似纠纷的处理结果，双方情绪趋于平稳，同意继续协商。",
)
MIDDLE_SESSION = (
    "双方围绕{issue}继续协商。调解员采取背对背方式分别做双方工作，被申请人{b}表示愿意承担部分责任，申请人{a}同意适当降低要求，"
    "双方分歧明显缩小。",
    "调解员邀请村（居）委会干部共同参与调解，对{issue}逐项核对。双方在多数问题上达成共识，尚有个别问题需要进一步沟通。",
)
FINAL_SESSION = {
    Outcome.SUCCESS: ("经调解员多次沟通，双方互谅互让，就{issue}达成一致意见，同意签订人民调解协议书。",
                      "调解员再次说明双方的权利义务，双方就{issue}达成一致，当场确认了履行方式和期限。"),
    Outcome.FAILURE: ("双方分歧仍然较大，被申请人{b}坚持原有意见，调解未能达成一致。调解员告知双方可以通过仲裁、诉讼等途径依法解决。",),
    Outcome.WITHDRAWN: ("双方表示愿意自行协商解决，申请人{a}拟撤回调解申请。",),
}
STABILIZE_SESSION = ("调解员与申请人{a}谈心谈话、疏导情绪，{a}表示将通过合法途径表达诉求，不采取过激行为。"
                     "因双方分歧较大，短期内难以化解，拟转为稳控，落实专人跟踪回访。",)
STABILIZE_VISITS = ("上门走访申请人{a}，当事人情绪稳定，未发现过激言行，继续落实稳控措施。",
                    "电话回访{a}并走访其所在村（社区），了解到当事人近期生活正常，未再反映诉求。",
                    "会同网格员走访{a}，当事人对处理进展表示理解，承诺不采取过激行为，稳控措施落实到位。")


def moment(rng: random.Random, lo: datetime, hi: datetime, day: date | None = None) -> datetime:
    """A moment strictly between ``lo`` and ``hi`` (naive UTC): in the working hours of ``day`` if
    that fits, else anywhere on that day, else half-way. Takes one draw from ``rng`` whatever the
    window (a window ending now must not change what comes after)."""
    u = rng.random()
    if day is not None:
        for start, end in ((8 * 3600 + 1800, 17 * 3600 + 1800), (0, 86399)):
            a = max(local_instant(day, start), lo + timedelta(seconds=1))
            b = min(local_instant(day, end), hi - timedelta(seconds=1))
            if a < b:
                return (a + (b - a) * u).replace(microsecond=0)
    return lo + (hi - lo) / 2


def party_names(dispute) -> tuple[str, str]:
    names = [p.name for p in dispute.parties]
    return names[0], (names[1] if len(names) > 1 else "对方")


def record_sessions(world: World, dispute, lead: Unit, rng: random.Random, lo: datetime, hi: datetime,
                    following: str | None, outcome: Outcome | None) -> int:
    """Mediation sessions between acceptance and the next step (or now), through the workflow's own
    ``session`` action. Returns how many were recorded."""
    from mediation.disputes import workflow
    from mediation.disputes.workflow_schemas import SessionIn

    user = world.user_of(lead)
    if user is None or workflow.refusal(user, dispute, "session") is not None:
        return 0  # e.g. a 司法调解 case of the court: its sessions are the court's own record
    if following == "closed":
        final = FINAL_SESSION.get(outcome)
        count = rng.choice((1, 1, 2, 2, 3)) if outcome != Outcome.WITHDRAWN else rng.choice((0, 1))
    elif following == "stabilized":
        final, count = STABILIZE_SESSION, rng.choice((1, 2))
    else:  # still in hand
        final, count = None, rng.choice((0, 1, 1, 2))
    if count == 0:
        return 0
    first_day, last_day = local_date(lo), local_date(hi)
    span = (last_day - first_day).days
    days = sorted(first_day + timedelta(days=rng.randint(0, span)) for _ in range(count))
    if final is not None:
        days[-1] = last_day  # the closing (or 稳控) session is on the day of the step
    a, b = party_names(dispute)
    issue = ISSUES.get(dispute.category, "各自的诉求")
    attendees = "、".join(f"{p.role}{p.name}" for p in dispute.parties)
    second = staff_name(lead.code + ":2")
    mediators = user.name if rng.random() < 0.4 or second == user.name else f"{user.name}、{second}"
    place = f"{lead.name}{'调解室' if lead.type == UnitType.COMMITTEE else '接待室'}"
    for n, day in enumerate(days):
        lo = moment(rng, lo, hi, day)
        if final is not None and n == count - 1:
            text = rng.choice(final)
        else:
            text = rng.choice(FIRST_SESSION if n == 0 else MIDDLE_SESSION)
        with clock.frozen(lo):
            data = SessionIn().load({"held_on": local_date(lo).isoformat(), "place": place,
                                     "mediators": mediators, "attendees": attendees,
                                     "record": text.format(a=a, b=b, issue=issue)})
            workflow.perform(user, dispute, "session", data)
    return count


def stabilize_visits(world: World, dispute, rng: random.Random, lo: datetime, hi: datetime, today: date) -> int:
    """The 稳控 visits that fell due before the next step (or before today), done through the
    follow-ups service: each one completed a few days after its due date, which creates the next."""
    from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus
    from mediation.followups.service import complete_followup, ensure_stabilize_visit

    end_day = min(local_date(hi), today)
    a, _ = party_names(dispute)
    done = 0
    while True:
        visit = db.session.scalars(select(FollowUp).where(
            FollowUp.dispute_id == dispute.id, FollowUp.kind == FollowUpKind.STABILIZE,
            FollowUp.status == FollowUpStatus.OPEN).order_by(FollowUp.round.desc())).first()
        if visit is None or visit.due_on >= end_day:
            return done
        day = min(visit.due_on + timedelta(days=rng.choice((0, 0, 1, 2, 3))), end_day - timedelta(days=1))
        lo = moment(rng, lo, hi, day)
        user = visit.user or world.user_of(visit.unit)
        with clock.frozen(lo):
            complete_followup(user, visit, rng.choice(STABILIZE_VISITS).format(a=a))
            ensure_stabilize_visit(dispute, local_date(lo), actor=user)
        done += 1


# --------------------------------------------------------------------------------------------
# Disputes
# --------------------------------------------------------------------------------------------

def existing_demo_disputes(world: World) -> int:
    from mediation.accounts.access import subtree_node_ids
    from mediation.disputes.models import Dispute

    return db.session.scalar(select(func.count(Dispute.id)).where(
        Dispute.node_id.in_(subtree_node_ids(world.district))))


def load_disputes(world: World, count: int) -> tuple[Counter, date, date]:
    from mediation.disputes.models import Dispute, Party
    from mediation.disputes.service import add_event, is_prominent, next_case_no
    from mediation.routing.deadlines import deadline_for

    rng = random.Random(SEED)
    today, now = local_today(), utcnow()
    categories = list(current_app.config["CATEGORIES"])
    sources = list(current_app.config["SOURCES"])
    stats: Counter = Counter()

    dates, pending = registration_dates(rng, today, count)
    plans = [Plan(d, Status.PENDING if i >= count - pending else choose_status(rng, (today - d).days))
             for i, d in enumerate(dates)]
    ensure_mix(plans, today)

    civil_to_criminal_done = False
    with db.session.no_autoflush:
        for index, plan in enumerate(plans, start=1):
            place = world.place(rng)
            category = weighted(rng, ((c, CATEGORY_WEIGHTS.get(c, 1)) for c in categories))
            if category == "山林土地" and (place.village is None or place.village.level != NodeLevel.VILLAGE):
                category = "邻里" if "邻里" in categories else category
            template = rng.choice(TEMPLATES.get(category, GENERIC))

            # Where it was found, and by whom it was registered.
            if place.node.level == NodeLevel.GRID and rng.random() < 0.7 and "网格员排查" in sources:
                source = "网格员排查"
            else:
                hints = {s: w for s, w in SOURCE_HINTS.get(category, {}).items() if s in sources}
                pool = {s: 1 for s in sources if s not in ("网格员排查", "法院委派")}
                pool.update({"群众来访": 6} if "群众来访" in sources else {})
                pool.update(hints)
                source = weighted(rng, pool.items())
            town_center = world.units[f"{place.town.code}-ZZ"]
            district_center = world.units[f"{DISTRICT_CODE}-ZZ"]
            if source == "网格员排查":
                registering = world.units.get(f"{place.node.code}-WG", town_center)
            elif source == "法院委派":
                registering = world.units[f"{DISTRICT_CODE}-FY"]
            elif source in ("12345热线", "上级交办", "信访转办", "网络/微信"):
                registering = district_center if rng.random() < 0.5 else town_center
            elif source == "群众来访" and place.village is not None and rng.random() < 0.5:
                registering = world.units.get(f"{place.village.code}-ZZ", town_center)
            else:
                registering = town_center

            # Risk.
            group = template.group
            people = rng.randint(8, 45) if group else rng.randint(2, 3)
            if category == "涉众型经济":
                people = rng.randint(30, 160)
            risk = rng.choices(list(RiskLevel), weights=(84, 11, 4, 1))[0]
            flags: list[str] = []
            if group:
                flags.append(RiskFlag.GROUP.value)
                if risk == RiskLevel.ORDINARY and rng.random() < 0.6:
                    risk = RiskLevel.MAJOR
            if category == "涉众型经济":
                flags.append(RiskFlag.PUBLIC.value)
                risk = max(risk, RiskLevel.SERIOUS, key=list(RiskLevel).index)
            if category == "涉军/退役军人":
                flags.append(RiskFlag.MILITARY.value)
            if source == "信访转办":
                flags.append(RiskFlag.PETITION.value)
            if template.hot and rng.random() < 0.35:
                flags.append(RiskFlag.CIVIL_TO_CRIMINAL.value)
                risk = max(risk, RiskLevel.MAJOR, key=list(RiskLevel).index)
            if category in ("婚姻家庭", "债务") and rng.random() < 0.03:
                flags.append(RiskFlag.EXTREME.value)
            prominent = is_prominent(risk.value, flags)

            # Channel and lead unit (属事), and co-handlers (联办) for the serious ones.
            co_units: list[Unit] = []
            if source == "法院委派":
                lead = world.units[f"{DISTRICT_CODE}-SD"] if rng.random() < 0.75 else world.units[f"{DISTRICT_CODE}-FY"]
            elif risk in (RiskLevel.SERIOUS, RiskLevel.EXTREME) and rng.random() < 0.5:
                lead = world.units[f"{DISTRICT_CODE}-TC"]
                co_units = [world.units[f"{place.town.code}-TW"], world.units[f"{place.town.code}-PCS"]]
            else:
                lead = world.committee(place, weighted(rng, HANDLERS.get(category, (("town", 1),))))
                if lead.node_id == world.district.id and lead.type == UnitType.ADMINISTRATIVE and rng.random() < 0.4:
                    co_units = [world.units[f"{place.town.code}-TW"]]  # 属地 and 属事 together

            # Text, money, parties.
            village = place.village or rng.choice(world.villages[place.town.id])
            applicant, a_sex = person_name(rng, template.sexes[0])
            respondent_kind = template.respondent
            if respondent_kind == "person":
                respondent, r_sex = person_name(rng, template.sexes[1])
                while respondent[1:] == applicant[1:]:
                    respondent, r_sex = person_name(rng, template.sexes[1])
                if template.kin:
                    respondent = applicant[0] + respondent[1:]
                r_kind, r_prefix = PartyKind.PERSON, ""
            else:
                pattern, r_kind, r_prefix = COMPANIES[respondent_kind]
                respondent = pattern.format(f=rng.choice(FIRMS))
            amount = None
            if "{amount}" in template.text and AMOUNTS.get(category, (1000, 20000)):
                low, high = AMOUNTS.get(category, (1000, 20000))
                step = 100 if high > 20000 else 10
                amount = Decimal(rng.randrange(low, high, step)).quantize(Decimal("0.01"))
            occurred = plan.registered_on - timedelta(days=rng.choice((0, 0, 1, 2, 3, 5, 7, 12, 20, 30)))
            summary = template.text.format(
                a=applicant, b=respondent, n=people, place=village.name, road=rng.choice(ROADS),
                amount=amount_text(amount) if amount is not None else "", category=category)
            if rng.random() < 0.3:
                summary = f"{occurred.month}月{occurred.day}日，{summary}"

            parties = [Party(position=0, role=PartyRole.APPLICANT, kind=PartyKind.PERSON, name=applicant,
                             id_number=id_number(rng, today, a_sex, template.born[0]), phone=mobile(rng),
                             address=address(rng, village, place.town))]
            shape = rng.random()
            if shape >= 0.08:
                if r_kind == PartyKind.PERSON:
                    parties.append(Party(position=1, role=PartyRole.RESPONDENT, kind=r_kind, name=respondent,
                                         id_number=id_number(rng, today, r_sex, template.born[1])
                                         if rng.random() < 0.8 else None,
                                         phone=mobile(rng) if rng.random() < 0.9 else None,
                                         address=address(rng, village, place.town)))
                else:
                    parties.append(Party(position=1, role=PartyRole.RESPONDENT, kind=r_kind, name=respondent,
                                         id_number=uscc(rng, r_prefix),
                                         phone=f"022-{rng.randint(2, 8)}{rng.randint(0, 9_999_999):07d}",
                                         address=f"天津市海滨区{place.town.name}{rng.choice(ROADS)[:4]}{rng.randint(1, 300)}号"))
            if shape >= 0.85:
                if category == "道路交通事故":
                    third = PartyKind.LEGAL
                    parties.append(Party(position=2, role=PartyRole.THIRD, kind=third,
                                         name=COMPANIES["insurer"][0].format(f=rng.choice(("人民", "太平洋", "平安", "大地"))),
                                         id_number=uscc(rng, "91"), phone=f"022-{rng.randint(2, 8)}{rng.randint(0, 9_999_999):07d}"))
                else:
                    role = PartyRole.APPLICANT if group else PartyRole.THIRD
                    name, sex = person_name(rng)
                    parties.append(Party(position=2, role=role, kind=PartyKind.PERSON, name=name,
                                         id_number=id_number(rng, today, sex), phone=mobile(rng),
                                         address=address(rng, village, place.town)))

            plan_steps(rng, plan, today, prominent)
            times = step_times(rng, plan.steps, today, now)
            registered_by, _ = world.actor(registering, rng)
            dispute = Dispute(
                case_no=next_case_no(registering, plan.registered_on.year),
                category=category, source=source, summary=summary, venue=template.venue,
                people_count=people, amount=amount, occurred_on=occurred, risk_level=risk, flags=flags,
                prominent=prominent, node=place.node, registering_unit=registering, registered_by=registered_by,
                registered_at=times[0], registered_on=plan.registered_on, status=Status.PENDING,
            )
            dispute.parties.extend(parties)
            db.session.add(dispute)

            def event(type_, unit, on, at, note=None, data=None, _dispute=dispute):
                user, staff = world.actor(unit, rng)
                with clock.frozen(at):  # the other areas' receivers see the step's own time
                    e = add_event(_dispute, type_, user, note=note, data=data, on=on, at=at)
                if user is None:
                    e.by_name, e.unit_id = staff, unit.id
                return e

            # The casework between the steps has its own random stream, so the cases themselves
            # stay what they were before it existed.
            work = random.Random(f"{SEED}:{dispute.case_no}")
            moments = [*times, now]
            router = registering if registering.type == UnitType.CENTER else (
                district_center if registering.node_id == world.district.id else town_center)
            for i, ((kind, on), at) in enumerate(zip(plan.steps, times, strict=True)):
                following = plan.steps[i + 1][0] if i + 1 < len(plan.steps) else None
                if kind == "registered":
                    event("registered", registering, on, at, data={
                        "case_no": dispute.case_no, "category": category, "source": source,
                        "node": place.node.code, "risk_level": risk.value, "parties": len(parties)})
                elif kind == "routed":
                    dispute.status = Status.HANDLING
                    dispute.channel, dispute.unit = lead.channel, lead
                    dispute.co_units = list(co_units)
                    event("routed", router, on, at, data={
                        "channel": lead.channel.value, "unit": lead.code,
                        "co_units": [u.code for u in co_units]})
                elif kind == "accepted":
                    dispute.accepted_on = on
                    dispute.deadline = deadline_for(lead.channel.value, category, on)
                    handler = world.user_of(lead)
                    if handler is not None and handler.role == Role.MEDIATOR:
                        dispute.handler = handler
                    event("accepted", lead, on, at, data={
                        "deadline": dispute.deadline.isoformat() if dispute.deadline else None})
                    stats["sessions"] += record_sessions(world, dispute, lead, work, at, moments[i + 1],
                                                         following, plan.outcome)
                elif kind == "stabilized":
                    dispute.status = Status.STABILIZED
                    dispute.stabilized_on = on
                    event("stabilized", lead, on, at, note="矛盾暂未化解，已落实包案稳控措施，专人跟踪回访。")
                    stats["stabilize_visits"] += stabilize_visits(world, dispute, work, at, moments[i + 1], today)
                elif kind in ("closed", "rejected"):
                    dispute.status = Status.CLOSED
                    dispute.closed_on, dispute.outcome = on, plan.outcome
                    event(kind, lead, on, at, note=rng.choice(CLOSE_NOTES[plan.outcome]),
                          data={"outcome": plan.outcome.value})
            assert dispute.status == plan.status, (dispute.case_no, dispute.status, plan.status)
            if (plan.status == Status.CLOSED and plan.outcome == Outcome.FAILURE and not civil_to_criminal_done
                    and RiskFlag.CIVIL_TO_CRIMINAL.value in flags):
                dispute.civil_to_criminal = civil_to_criminal_done = True

            stats[plan.status] += 1
            if plan.status == Status.HANDLING and dispute.deadline and dispute.deadline < today:
                stats["overdue"] += 1
            if index % BATCH == 0:
                db.session.flush()
    db.session.flush()
    return stats, dates[0], dates[-1]


# --------------------------------------------------------------------------------------------
# History after the cases: each area's own service functions, with the clock set to the moment
# --------------------------------------------------------------------------------------------

TOWN_FEATURED = "120116100000"  # 双港镇: zhenzhongxin's centre, tiaojieyuan's 调委会
COMMITTEE_FEATURED = f"{TOWN_FEATURED}-TW"
LATE_TOWN = "120116002000"  # 新港街道 has not closed last month yet
VILLAGE_CLOSE_MONTHS = 3
SWEEP_DAYS_AGO = (10, 4)  # the scheduler's sweep is run as on these days, then now
MAX_AGREEMENTS, FEATURED_AGREEMENTS, AGREEMENTS_PER_UNIT = 6, 3, 1
AGREEMENT_WINDOW_DAYS = 50
FONT_CANDIDATES = (  # (file, index of the SC face); the first that loads is used
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
PAY_ITEMS = {
    "邻里": "维修费及损失补偿", "婚姻家庭": "补偿款", "房屋宅基地": "补偿款", "山林土地": "土地流转费",
    "合同": "相关款项", "债务": "欠款", "生产经营": "补偿款", "损害赔偿": "医疗费、误工费等各项损失",
    "劳动争议/欠薪": "拖欠的工资及经济补偿", "征地拆迁": "补偿款", "医疗": "赔偿款", "物业": "赔偿款",
    "道路交通事故": "医疗费、误工费、车辆维修费等各项损失", "消费": "退款及赔偿", "涉军/退役军人": "生活补助",
}
RESPONSIBILITIES = (
    "经调解员释法明理，被申请人{b}认可对纠纷的发生负有主要责任，愿意承担相应的给付义务；申请人{a}同意适当减少诉求。",
    "双方均认可纠纷因沟通不畅而起，被申请人{b}对造成的损失负主要责任，申请人{a}负次要责任。",
    "被申请人{b}对申请人{a}主张的基本事实无异议，愿意承担责任；申请人{a}考虑到对方的实际困难，同意减少部分金额。",
)
NON_MONEY_TERMS = (
    "一、被申请人{b}于{due}前完成整改，消除对申请人{a}生活的影响，今后不再发生类似问题。\n"
    "二、双方今后和睦相处，遇事协商解决，不得采取过激行为。\n三、双方就本纠纷再无其他争议。",
    "一、被申请人{b}向申请人{a}当面赔礼道歉，并于{due}前履行承诺的整改措施。\n"
    "二、申请人{a}不再追究被申请人的其他责任。\n三、双方就本纠纷再无其他争议。",
)
PAY_METHODS = ("被申请人以银行转账方式支付至申请人{a}指定的账户。", "被申请人以现金方式当场支付，由调解员见证，申请人{a}出具收条。",
               "被申请人通过微信转账支付，申请人{a}收到后出具收条。")
SATISFACTION_VISITS = {
    Outcome.SUCCESS: ("电话回访申请人{a}，对方已按约定履行，当事人对调解结果表示满意。",
                      "上门回访双方当事人，协议已履行完毕，双方关系缓和，对调解工作表示满意。",
                      "回访得知双方已和好如初，当事人对调解员的工作表示感谢。"),
    Outcome.FAILURE: ("电话回访申请人{a}，其已通过诉讼途径主张权利，情绪稳定，对调解工作表示理解。",
                      "回访得知当事人仍有不满，调解员再次告知其他救济途径，当事人表示将依法维权。"),
    Outcome.WITHDRAWN: ("回访得知双方已自行和解，当事人对调解组织的工作表示认可。",),
}
SATISFACTION_SCORES = {
    Outcome.SUCCESS: ((5, 55), (4, 33), (3, 9), (2, 3)),
    Outcome.FAILURE: ((4, 15), (3, 45), (2, 30), (1, 10)),
    Outcome.WITHDRAWN: ((5, 40), (4, 45), (3, 15)),
}
PERFORMANCE_VISITS = ("回访申请人{a}，被申请人{b}已按协议约定履行完毕。", "经回访核实，协议约定的义务已全部履行，双方无新的争议。")
CARRY_OVER_REASONS = {
    "stabilized": ("已落实包案稳控措施，当事人情绪稳定，但双方分歧较大，短期内难以化解，结转下月继续稳控化解。",
                   "涉及{people}人，已明确包案领导和稳控责任人，定期走访，结转下月继续做化解工作。",
                   "{category}纠纷，当事人诉求超出政策规定，已多次释法说理，落实专人稳控，结转下月继续跟踪。"),
    "handling": ("双方对{issue}仍有分歧，已组织调解，需协调相关部门共同化解，结转下月继续办理。",
                 "涉及{people}人，案情复杂，已制定化解方案并报请上级综治中心协调，结转下月继续办理。",
                 "当事人情绪较为激动，已落实稳控措施并告知属地派出所，结转下月继续化解。",
                 "{category}纠纷，需等待鉴定（评估）结论后确定{issue}，已告知当事人，结转下月继续调解。",
                 "被申请人暂时无力履行，双方正在协商分期方案，结转下月继续调解。",
                 "已联合属事部门召开协调会，{issue}初步达成共识，待落实后办结，结转下月。"),
}


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def rmb_upper(amount: Decimal) -> str:
    """人民币大写: 3500 → 叁仟伍佰元整, 10500.5 → 壹万零伍佰元伍角."""
    digits, small, big = "零壹贰叁肆伍陆柒捌玖", ("仟", "佰", "拾", ""), ("", "万", "亿", "万亿")
    cents = int((amount * 100).quantize(Decimal("1")))
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    text, zero = "", False
    for i in reversed(range(len(groups))):
        group = groups[i]
        if group == 0:
            zero = bool(text)
            continue
        if text and (zero or group < 1000):
            text += "零"
        part, gap = "", False
        for place, unit in zip((1000, 100, 10, 1), small, strict=True):
            d = group // place % 10
            if d:
                part += ("零" if gap else "") + digits[d] + unit
                gap = False
            elif part:
                gap = True
        text += part + big[i]
        zero = False
    text = (text or "零") + "元"
    if not jiao and not fen:
        return text + "整"
    if jiao:
        text += digits[jiao] + "角"
    elif text != "零元":
        text += "零"
    return text + (digits[fen] + "分" if fen else "")


def cjk_font(size: int):
    from PIL import ImageFont

    for path, index in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, size, index=index)
        except OSError:
            continue
    return None


def seal_png(name: str) -> bytes:
    """A red round seal: the unit's name along the top of the ring, a star in the middle."""
    import io
    import math

    from PIL import Image, ImageDraw

    size, red = 420, (206, 24, 24, 255)
    c = size / 2
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((10, 10, size - 10, size - 10), outline=red, width=12)
    star = [(c + (64 if k % 2 == 0 else 25) * math.cos(-math.pi / 2 + k * math.pi / 5),
             c + (64 if k % 2 == 0 else 25) * math.sin(-math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    draw.polygon(star, fill=red)
    radius, arc = c - 62, 250.0
    step = arc / max(len(name), 1)
    font = cjk_font(int(min(50, 0.95 * radius * math.radians(step))))
    if font is not None:
        for i, char in enumerate(name):
            angle = -arc / 2 + step * (i + 0.5)  # degrees from the top, clockwise
            tile = Image.new("RGBA", (72, 72), (0, 0, 0, 0))
            ImageDraw.Draw(tile).text((36, 36), char, font=font, fill=red, anchor="mm")
            tile = tile.rotate(-angle, resample=Image.Resampling.BICUBIC)
            x = c + radius * math.sin(math.radians(angle))
            y = c - radius * math.cos(math.radians(angle))
            img.alpha_composite(tile, (round(x - 36), round(y - 36)))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def signature_data_url(name: str) -> str | None:
    """A handwritten-looking signature of ``name`` (a data URL), or None without a CJK font."""
    import base64
    import io

    from PIL import Image, ImageDraw

    font = cjk_font(76)
    if font is None:
        return None
    img = Image.new("RGBA", (96 * len(name) + 60, 150), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((30, 30), name, font=font, fill=(25, 35, 95, 255))
    img = img.rotate(5, expand=True, resample=Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def spaced(rng: random.Random, lo: datetime, hi: datetime, count: int, window: timedelta) -> list[datetime]:
    """``count`` increasing moments strictly between ``lo`` and ``hi``, within ``window`` before ``hi``."""
    lo = max(lo, hi - window)
    gap = (hi - lo) / (count + 1)
    return [lo + gap * (k + 1) + gap * rng.uniform(-0.3, 0.3) for k in range(count)]


def ensure_signing_certificate() -> str:
    """Each signing unit's demo certificate, as `flask documents demo-cert` makes them (kept when they
    exist, so the documents signed with them stay verifiable; a deployment's own certificate is left
    alone). A unit signs only with a certificate in its own name."""
    from mediation.documents import signing

    if signing._setting("SIGNING_P12_PATH"):
        return "已配置签章证书（SIGNING_P12_PATH），未生成演示证书。"
    directory = signing.signing_dir()
    password = signing._setting("SIGNING_P12_PASSWORD") or signing.DEMO_PASSWORD
    made = signing.create_unit_demo_certificates(Path(directory), signing.signing_units(), password=password)
    if not made:
        return f"各单位的演示签章证书已存在：{directory}。"
    return f"已生成演示签章证书（仅供演示，每个出具文书的单位一个，共 {len(made)} 个）：{directory}。"


def agreement_fields(dispute, rng: random.Random, effective_on: date) -> dict:
    """人民调解法第29条: facts, matters in dispute, responsibilities, terms, how and by when."""
    a, b = party_names(dispute)
    due = effective_on + timedelta(days=rng.choice((3, 7, 10, 15, 30)))
    fields = {
        "facts": dispute.summary,
        "issues": f"双方争议的焦点为{ISSUES.get(dispute.category, '各自的诉求')}。",
        "responsibilities": rng.choice(RESPONSIBILITIES).format(a=a, b=b),
        "performance_due": due,
    }
    if dispute.amount and dispute.category in PAY_ITEMS:
        share = Decimal(rng.choice((50, 60, 70, 80, 90, 100))) / 100
        agreed = max(Decimal(100), (dispute.amount * share / 100).quantize(Decimal("1")) * 100)
        item = PAY_ITEMS[dispute.category]
        if agreed >= 20000 and rng.random() < 0.5:
            first = (agreed / 2 / 100).quantize(Decimal("1")) * 100
            second_due = due + timedelta(days=30)
            pay = (f"一、被申请人{b}分两期向申请人{a}支付{item}共计人民币{rmb_upper(agreed)}（¥{agreed:,.2f}）："
                   f"于{cn_date(due)}前支付人民币{rmb_upper(first)}（¥{first:,.2f}），"
                   f"于{cn_date(second_due)}前支付剩余的人民币{rmb_upper(agreed - first)}（¥{agreed - first:,.2f}）。")
            fields["performance_due"] = second_due
        else:
            pay = (f"一、被申请人{b}于{cn_date(due)}前一次性向申请人{a}支付{item}人民币{rmb_upper(agreed)}"
                   f"（¥{agreed:,.2f}）。")
        fields["terms"] = (pay + f"\n二、申请人{a}收到上述款项后，双方就本纠纷再无其他争议，今后不得以同一事由再行主张。")
        fields["performance_method"] = rng.choice(PAY_METHODS).format(a=a)
    else:
        fields["terms"] = rng.choice(NON_MONEY_TERMS).format(a=a, b=b, due=cn_date(due))
        fields["performance_method"] = f"由双方自行履行，{dispute.unit.name}负责监督落实。"
    return fields


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


def load_documents(h: History) -> None:
    """The demo certificate, a seal per 调委会 with agreements, agreements in effect for recent
    调解成功 cases (drafted, signed on paper or with a fingerprint by the parties, signed by the
    mediator, sealed: in effect, with the signed PDF), and one agreement still being signed."""
    from mediation.disputes.models import Dispute
    from mediation.documents import service as documents
    from mediation.documents.models import SignerKind, SignMethod

    h.messages.append(ensure_signing_certificate())
    since = h.today - timedelta(days=AGREEMENT_WINDOW_DAYS)
    candidates = db.session.scalars(
        select(Dispute).join(Unit, Unit.id == Dispute.unit_id)
        .where(Dispute.status == Status.CLOSED, Dispute.outcome == Outcome.SUCCESS, Dispute.closed_on >= since,
               Unit.type == UnitType.COMMITTEE, Dispute.node_id.in_([n.id for n in h.world.nodes.values()]))
        .order_by(Dispute.closed_on.desc(), Dispute.id.desc())).all()
    chosen, per_unit = [], Counter()
    for d in candidates:
        quota = FEATURED_AGREEMENTS if d.unit.code == COMMITTEE_FEATURED else AGREEMENTS_PER_UNIT
        user = h.user(d.unit)
        if len(d.parties) < 2 or per_unit[d.unit_id] >= quota or user is None or user.role != Role.MEDIATOR:
            continue
        chosen.append(d)
        per_unit[d.unit_id] += 1
        if len(chosen) >= MAX_AGREEMENTS:
            break
    open_case = db.session.scalars(
        select(Dispute).join(Unit, Unit.id == Dispute.unit_id)
        .where(Dispute.status == Status.HANDLING, Dispute.accepted_on.is_not(None), Unit.type == UnitType.COMMITTEE,
               Dispute.node_id.in_([n.id for n in h.world.nodes.values()]))
        .order_by((Unit.code == COMMITTEE_FEATURED).desc(), Dispute.registered_on.desc(), Dispute.id.desc())).first()
    units = {d.unit_id: d.unit for d in [*chosen, *([open_case] if open_case else [])]}
    admin = h.world.users.get("admin")
    if not units or admin is None:
        return
    first_day = db.session.scalar(select(func.min(Dispute.registered_on)))
    with clock.frozen(local_instant(first_day, 9 * 3600)):  # uploaded when the platform went live
        for unit in sorted(units.values(), key=lambda u: u.code):
            if documents.active_seal(unit) is None:
                documents.upload_seal(admin, unit, seal_png(unit.name))
                h.stats["seals"] += 1

    def parties_sign(agreement, user, rng, times):
        for index, party in enumerate(agreement.parties):
            method = SignMethod.PAPER if party["kind"] != "自然人" or rng.random() < 0.65 else SignMethod.FINGERPRINT
            with clock.frozen(next(times)):
                documents.sign(user, agreement, SignerKind.PARTY, party_index=index, method=method)

    for d in sorted(chosen, key=lambda d: (d.closed_on, d.id)):
        rng = random.Random(f"{SEED}:agreement:{d.case_no}")
        user = h.user(d.unit)
        closed = next(e for e in reversed(d.events) if e.type == "closed")
        lo = max([e.at for e in d.events if e.at < closed.at] + [local_instant(d.closed_on, 0)])
        steps = 5 + len(d.parties)  # draft, submit, parties, mediator, seal, (spare)
        times = iter(spaced(rng, lo, closed.at, steps, timedelta(hours=2)))
        with clock.frozen(next(times)):
            agreement = documents.draft_agreement(user, d, agreement_fields(d, rng, local_date(closed.at)))
        with clock.frozen(next(times)):
            documents.submit_for_signing(user, agreement)
        parties_sign(agreement, user, rng, times)
        signature = signature_data_url(user.name)
        with clock.frozen(next(times)):
            documents.sign(user, agreement, SignerKind.MEDIATOR,
                           method=SignMethod.DRAWN if signature else SignMethod.PAPER, image=signature)
        with clock.frozen(next(times)):
            documents.affix_seal(user, agreement)  # the last step: in effect, the signed PDF issued
        closed.note = (f"双方签订人民调解协议书，编号{agreement.number}，协议已生效，"
                       f"约定于{cn_date(agreement.performance_due)}前履行完毕。")
        h.agreements.append(agreement)
        h.stats["agreements"] += 1

    if open_case is not None and len(open_case.parties) >= 2:  # one still being signed
        rng = random.Random(f"{SEED}:agreement:{open_case.case_no}")
        user = h.user(open_case.unit)
        last = max(e.at for e in open_case.events)
        day = max(local_date(last), h.today - timedelta(days=1))
        hi = min(h.now - timedelta(minutes=1), local_instant(day, 17 * 3600 + 1800))
        times = iter(spaced(rng, max(last, local_instant(day, 8 * 3600)), hi, 3, timedelta(hours=3)))
        fields = agreement_fields(open_case, rng, day)
        with clock.frozen(next(times)):
            agreement = documents.draft_agreement(user, open_case, fields)
        with clock.frozen(next(times)):
            documents.submit_for_signing(user, agreement)
        with clock.frozen(next(times)):
            documents.sign(user, agreement, SignerKind.PARTY, party_index=0, method=SignMethod.PAPER)
        h.stats["agreements_signing"] += 1


def judicial_confirmations(h: History) -> None:
    """司法确认 through the workflow: one applied for and waiting, one ruled 确认有效."""
    from mediation.disputes import workflow
    from mediation.disputes.workflow_schemas import ConfirmationApplyIn, ConfirmationRuleIn

    court = h.world.units.get(f"{DISTRICT_CODE}-FY")
    fayuan = h.world.users.get("fayuan")
    if court is None or not h.agreements:
        return
    by_age = sorted(h.agreements, key=lambda a: a.effective_on, reverse=True)
    pending = next((a for a in by_age if 3 <= (h.today - a.effective_on).days <= 25), None)
    ruled = next((a for a in by_age if (h.today - a.effective_on).days >= 16 and a is not pending), None)
    for agreement, rule in ((ruled, True), (pending, False)):
        if agreement is None:
            continue
        d = agreement.dispute
        rng = random.Random(f"{SEED}:confirmation:{d.case_no}")
        user = h.user(d.unit)
        applied = agreement.effective_on + timedelta(days=rng.randint(2, 3))
        at = moment(rng, agreement.effective_at, h.now, applied)
        with clock.frozen(at):
            workflow.perform(user, d, "apply_confirmation", ConfirmationApplyIn().load({
                "applied_on": applied.isoformat(), "agreement_on": agreement.effective_on.isoformat(),
                "court": court.code}))
        h.stats["confirmations"] += 1
        if rule and fayuan is not None:
            ruled_on = applied + timedelta(days=rng.randint(6, 10))
            with clock.frozen(moment(rng, at, h.now, ruled_on)):
                workflow.perform(fayuan, d, "rule_confirmation", ConfirmationRuleIn().load({
                    "ruling_no": f"（{ruled_on.year}）津0116民特{rng.randint(100, 899)}号", "result": "确认有效",
                    "ruled_on": ruled_on.isoformat()}))


def court_referral(h: History) -> None:
    """A 诉前委派 from the court to 双港镇's 调委会, with the court's case number; accepted, one session."""
    from mediation.disputes import workflow
    from mediation.disputes.workflow_schemas import AcceptIn, CourtReferralIn, SessionIn

    fayuan, unit = h.world.users.get("fayuan"), h.world.units.get(COMMITTEE_FEATURED)
    town = h.world.nodes.get(TOWN_FEATURED)
    mediator = h.user(unit)
    if fayuan is None or unit is None or town is None or mediator is None or not h.world.villages.get(town.id):
        return
    rng = random.Random(f"{SEED}:referral")
    village = rng.choice(h.world.villages[town.id])
    (a, a_sex), (b, b_sex) = person_name(rng, "M"), person_name(rng, "M")
    day = h.today - timedelta(days=6)
    amount = Decimal(rng.randrange(30000, 150000, 1000))
    lent = day - timedelta(days=rng.randint(300, 500))
    payload = {
        "category": "债务", "source": "法院委派", "risk_level": RiskLevel.ORDINARY.value, "node": village.code,
        "summary": (f"{b}于{cn_date(lent)}向{a}借款{amount_text(amount)}并出具借条，约定半年内归还，到期后经多次催要未还。"
                    f"{a}向海滨区人民法院起诉，法院征得双方同意后诉前委派{unit.name}调解。"),
        "people_count": 2, "amount": str(amount), "occurred_on": lent.isoformat(),
        "parties": [
            {"role": PartyRole.APPLICANT.value, "kind": PartyKind.PERSON.value, "name": a,
             "id_number": id_number(rng, h.today, a_sex), "phone": mobile(rng),
             "address": address(rng, village, town)},
            {"role": PartyRole.RESPONDENT.value, "kind": PartyKind.PERSON.value, "name": b,
             "id_number": id_number(rng, h.today, b_sex), "phone": mobile(rng),
             "address": address(rng, village, town)},
        ],
        "kind": "诉前委派", "court_case_no": f"（{day.year}）津0116民诉前调{rng.randint(1000, 4999)}号",
        "unit": unit.code, "referred_on": day.isoformat(),
    }
    at = moment(rng, local_instant(day, 0), h.now, day)
    with clock.frozen(at):
        dispute = workflow.refer_case(fayuan, CourtReferralIn().load(payload))
    accepted = day + timedelta(days=1)
    at = moment(rng, at, h.now, accepted)
    with clock.frozen(at):
        workflow.perform(mediator, dispute, "accept", AcceptIn().load({"date": accepted.isoformat()}))
    held = day + timedelta(days=3)
    with clock.frozen(moment(rng, at, h.now, held)):
        workflow.perform(mediator, dispute, "session", SessionIn().load({
            "held_on": held.isoformat(), "place": f"{unit.name}调解室", "mediators": mediator.name,
            "attendees": f"申请人{a}、被申请人{b}",
            "record": FIRST_SESSION[0].format(a=a, b=b, issue=ISSUES["债务"])}))
    h.stats["referrals"] += 1


def police_notification(h: History) -> None:
    """民转刑预警 (人民调解法第25条): on the latest open case flagged 民转刑风险 (or, without one, a heated
    neighbourhood or family case, which the warning then flags), the police were told."""
    from mediation.disputes import workflow
    from mediation.disputes.models import Dispute
    from mediation.disputes.workflow_schemas import PoliceNotificationIn

    cases = db.session.scalars(
        select(Dispute).where(Dispute.status.in_([Status.HANDLING, Status.STABILIZED]),
                              Dispute.accepted_on.is_not(None), Dispute.unit_id.is_not(None),
                              Dispute.node_id.in_([n.id for n in h.world.nodes.values()]))
        .order_by(Dispute.registered_on.desc(), Dispute.id.desc())).all()
    flagged = [d for d in cases if RiskFlag.CIVIL_TO_CRIMINAL.value in (d.flags or [])]
    heated = [d for d in cases if d.category in ("邻里", "婚姻家庭", "损害赔偿", "债务")]
    for d in flagged + heated:
        user = h.user(d.unit)
        if user is None or workflow.refusal(user, d, "notify_police") is not None:
            continue
        rng = random.Random(f"{SEED}:police:{d.case_no}")
        parts = d.node.path.strip("/").split("/")
        town = h.world.by_id.get(int(parts[1])) if len(parts) > 1 else None
        police = h.world.units.get(f"{town.code}-PCS") if town else None
        last = max(e.at for e in d.events)
        at = moment(rng, last, h.now - timedelta(minutes=30), min(local_date(last) + timedelta(days=1), h.today))
        with clock.frozen(at + timedelta(minutes=20)):
            workflow.perform(user, d, "notify_police", PoliceNotificationIn().load({
                "notified_at": to_local(at).replace(tzinfo=None).isoformat(timespec="minutes"),
                "police_unit": police.name if police else "属地派出所", "officer": staff_name(f"{d.case_no}:police"),
                "note": "当事人情绪激动，有言语威胁，存在民转刑风险。已电话告知属地派出所，民警到场开展法治教育，"
                        "双方均表示不采取过激行为。"}))
        h.stats["police"] += 1
        return


def complete_followups(h: History) -> None:
    """满意度回访 of cases closed more than two weeks ago are done (some of the last week's too),
    履行回访 and 司法确认期满 once their day has passed: each through the follow-ups service, a few
    days after it fell due, with its result and (满意度) a score."""
    from mediation.disputes.casework import JudicialConfirmation
    from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus
    from mediation.followups.service import complete_followup

    rows = db.session.scalars(select(FollowUp).where(
        FollowUp.status == FollowUpStatus.OPEN,
        FollowUp.kind.in_([FollowUpKind.SATISFACTION, FollowUpKind.PERFORMANCE, FollowUpKind.CONFIRMATION]))
        .order_by(FollowUp.id)).all()
    for fu in rows:
        d = fu.dispute
        rng = random.Random(f"{SEED}:followup:{d.case_no}:{fu.kind}")
        a, b = party_names(d)
        satisfaction = None
        if fu.kind == FollowUpKind.SATISFACTION:
            age = (h.today - fu.anchor_on).days
            if age <= 7 or (age <= 14 and rng.random() >= 0.4):
                continue  # recent: still to do
            text = rng.choice(SATISFACTION_VISITS.get(d.outcome, SATISFACTION_VISITS[Outcome.SUCCESS])).format(a=a, b=b)
            satisfaction = weighted(rng, SATISFACTION_SCORES.get(d.outcome, SATISFACTION_SCORES[Outcome.SUCCESS]))
        elif fu.kind == FollowUpKind.PERFORMANCE:
            if fu.due_on >= h.today - timedelta(days=2):
                continue
            text = rng.choice(PERFORMANCE_VISITS).format(a=a, b=b)
        else:
            if fu.due_on >= h.today:
                continue
            applied = db.session.scalars(select(JudicialConfirmation).where(
                JudicialConfirmation.dispute_id == d.id).order_by(JudicialConfirmation.id)).first()
            text = (f"当事人已于{cn_date(applied.applied_on)}向{applied.court.name}申请司法确认。" if applied else
                    "司法确认申请期限届满，双方当事人未申请司法确认，协议已按约履行。")
        day = min(fu.due_on + timedelta(days=rng.choice((0, 1, 1, 2, 3, 5))), h.today - timedelta(days=1))
        if day < fu.due_on:
            continue
        at = moment(rng, local_instant(day, 0), min(h.now, local_instant(day, 86399)), day)
        with clock.frozen(at):
            complete_followup(fu.user or h.user(fu.unit), fu, text, satisfaction)
        h.stats[f"followups:{fu.kind.value}"] += 1


def load_screenings(h: History, first_day: date) -> None:
    """Sweep reports (排查) of every grid: one a month (weekly for wanggeyuan's grid), counting the
    cases its sweeps found since the last one (most are 零报告). A few grids missed a month; a few
    have not reported yet this month, so the 双百 page has grids to chase."""
    from mediation.disputes.models import Dispute
    from mediation.reports.schemas import ScreeningIn
    from mediation.reports.service import Month, file_screening

    grids = sorted((n for n in h.world.nodes.values() if n.level == NodeLevel.GRID), key=lambda n: n.code)
    if not grids:
        return
    rng = random.Random(f"{SEED}:screenings")
    others = [g.code for g in grids if g.code != FEATURED_GRID]
    missing_now = set(rng.sample(others, min(len(others), max(1, len(grids) // 12))))
    found: dict[int, list[date]] = defaultdict(list)
    for node_id, day in db.session.execute(select(Dispute.node_id, Dispute.registered_on).where(
            Dispute.source == "网格员排查", Dispute.node_id.in_([g.id for g in grids]))):
        found[node_id].append(day)
    this_month = Month.of(h.today)
    for grid in grids:
        village = h.world.by_id[grid.parent_id]
        user = h.user(h.world.units.get(f"{grid.code}-WG")) or h.user(h.world.units.get(f"{village.code}-ZZ"))
        if user is None:
            continue
        days: list[date] = []
        if grid.code == FEATURED_GRID:
            day = first_day + timedelta(days=(4 - first_day.weekday()) % 7)  # Fridays
            while day < h.today:
                days.append(day)
                day += timedelta(days=7)
        else:
            month = Month.of(first_day)
            while month <= this_month:  # between the 16th and the 26th, from the first day, up to yesterday
                high = min(month.first + timedelta(days=25), month.last, h.today - timedelta(days=1))
                low = max(month.first + timedelta(days=15), first_day)
                low = low if low <= high else max(month.first, first_day)
                skip = (grid.code in missing_now) if month == this_month else rng.random() < 0.04
                if low <= high and not skip:
                    days.append(low + timedelta(days=rng.randint(0, (high - low).days)))
                month = month.shift(1)
        previous = first_day - timedelta(days=1)
        for day in days:
            count = sum(1 for d in found[grid.id] if previous < d <= day)
            previous = day
            note = (f"本期排查发现矛盾纠纷{count}件，已通过一键上报登记。" if count else
                    rng.choice(("本期排查未发现矛盾纠纷，零报告。", "入户走访、巡查完毕，未发现矛盾纠纷。",
                                "重点人员、重点场所排查完毕，无新增矛盾纠纷。")))
            with clock.frozen(moment(rng, local_instant(day, 0), h.now, day)):
                file_screening(user, ScreeningIn().load({"node": grid.code, "date": day.isoformat(),
                                                         "found": count, "note": note}))
            h.stats["screenings"] += 1
            h.stats["zero_reports"] += count == 0


def load_supervision(h: History) -> None:
    """督办 of overdue cases through the follow-ups service: by 双港镇's 综治中心 (one answered, one
    unanswered past its reply date, which the sweep escalates, one waiting) and by the district's
    (a 挂牌督办 waiting, an older one answered)."""
    from mediation.disputes.models import Dispute
    from mediation.followups.service import issue_supervision, reply_supervision

    overdue = db.session.scalars(
        select(Dispute).where(Dispute.status == Status.HANDLING, Dispute.deadline < h.today,
                              Dispute.unit_id.is_not(None), Dispute.node_id.in_([n.id for n in h.world.nodes.values()]))
        .order_by(Dispute.deadline, Dispute.id)).all()
    used: set[int] = set()
    town, district = h.world.nodes.get(TOWN_FEATURED), h.world.district
    # issuer, area, days ago issued, days to reply, days ago replied (None: not answered), level, prefer
    orders = (
        ("zhenzhongxin", town, 12, 5, 9, "普通", None),
        ("zhenzhongxin", town, 9, 5, None, "普通", None),
        ("zhenzhongxin", town, 2, 7, None, "普通", COMMITTEE_FEATURED),
        ("quzhongxin", district, 4, 7, None, "挂牌", "prominent"),
        ("quzhongxin", district, 20, 5, 16, "普通", None),
    )
    replies = ("已再次组织双方调解，被申请人同意分期履行，预计本月内办结。",
               "已与相关部门会商，制定化解方案并落实专人包案，将于下周组织联合调解，及时报告进展。")
    for n, (issuer_name, area, ago, reply_days, replied_ago, level, prefer) in enumerate(orders):
        issuer = h.world.users.get(issuer_name)
        if issuer is None or area is None:
            continue
        issued = h.today - timedelta(days=ago)
        pool = [d for d in overdue if d.id not in used and d.node.path.startswith(area.path)
                and d.deadline < issued and d.accepted_on < issued and h.user(d.unit) is not None]
        if prefer == "prominent":
            pool.sort(key=lambda d: (not d.prominent, d.deadline))
        elif prefer:
            pool.sort(key=lambda d: (d.unit.code != prefer, d.deadline))
        if not pool:
            continue
        d = pool[0]
        used.add(d.id)
        rng = random.Random(f"{SEED}:supervision:{n}")
        reply_by = issued + timedelta(days=reply_days)
        if level == "挂牌":
            note = (f"该案系突出问题，已超过办理期限（{d.deadline.isoformat()}），列入挂牌督办。请主要负责同志亲自包案，"
                    f"于{reply_by.isoformat()}前报告化解方案和稳控措施。")
        else:
            note = f"该案已超过办理期限（{d.deadline.isoformat()}），请抓紧化解，并于{reply_by.isoformat()}前书面报告办理进展。"
        at = moment(rng, local_instant(issued, 0), min(h.now, local_instant(issued, 86399)), issued)
        with clock.frozen(at):
            order = issue_supervision(issuer, d, level, reply_by, note)
        h.stats["supervisions"] += 1
        if replied_ago is not None:
            with clock.frozen(moment(rng, at, h.now, h.today - timedelta(days=replied_ago))):
                reply_supervision(h.user(d.unit), order, rng.choice(replies))
            h.stats["supervisions_replied"] += 1


def close_months(h: History, first_day: date) -> None:
    """月清月结 of the past months: at the end of each month the 综治中心 write the carry-over reasons
    of the open 突出问题, then the towns' centres close and submit their month to the district's, which
    closes its own. 双港镇's villages have submitted theirs for the last few months too. 新港街道 has
    not closed last month yet; this month is open everywhere. (Every village every month would be
    more realistic still, and four times slower: each close freezes a snapshot of every figure.)"""
    from mediation.disputes.models import Dispute
    from mediation.reports.service import Month, close_month, prominent_open_cases, write_carry_over
    from mediation.routing.service import responsible_center

    featured = h.world.nodes.get(TOWN_FEATURED)
    centres = sorted((u for u in h.world.units.values() if u.type == UnitType.CENTER),
                     key=lambda u: (-u.node.path.count("/"), u.code))
    villages_since = Month.of(h.today).shift(-VILLAGE_CLOSE_MONTHS)
    late_town = h.world.nodes.get(LATE_TOWN)
    last = Month.of(h.today).shift(-1)
    month = Month.of(first_day)
    rng = random.Random(f"{SEED}:months")
    while month <= last:
        reason_at = local_instant(month.last, 16 * 3600)
        for case in prominent_open_cases(h.world.district, month):
            d = db.session.get(Dispute, case["id"])
            stabilized = d.stabilized_on is not None and d.stabilized_on <= month.last
            text = rng.choice(CARRY_OVER_REASONS["stabilized" if stabilized else "handling"]).format(
                people=d.people_count or 2, issue=ISSUES.get(d.category, "各自的诉求"), category=d.category)
            reason_at += timedelta(seconds=rng.randint(20, 240))
            # never before the case itself (one registered late on the month's last day)
            with clock.frozen(max(reason_at, d.events[0].at + timedelta(minutes=5))):
                write_carry_over(h.user(responsible_center(d)), d, month, text)
            h.stats["carry_overs"] += 1
        for unit in centres:
            if month == last and late_town is not None and unit.node.path.startswith(late_town.path):
                continue
            if unit.node.level not in (NodeLevel.DISTRICT, NodeLevel.TOWN, NodeLevel.SUBDISTRICT) and not (
                    month >= villages_since and featured is not None and unit.node.path.startswith(featured.path)):
                continue
            depth = unit.node.path.count("/")
            day = month.last + timedelta(days={2: 7, 3: 4}.get(depth, 2) + rng.randint(0, 2))
            at = min(local_instant(day, rng.randint(9 * 3600, 17 * 3600)), h.now - timedelta(minutes=1))
            with clock.frozen(at):
                close_month(h.user(unit), unit.node, month, today=local_date(at))
            h.stats["month_closes"] += 1
        month = month.shift(1)


def mark_old_notifications_read(h: History) -> None:
    """People have read what reached them more than three days ago."""
    from mediation.followups.models import Notification
    from mediation.followups.service import mark_read

    rows = db.session.execute(select(Notification.user_id, Notification.id).where(
        Notification.read_at.is_(None), Notification.created_at < h.now - timedelta(days=3))).all()
    by_user: dict[int, list[int]] = defaultdict(list)
    for user_id, notification_id in rows:
        by_user[user_id].append(notification_id)
    for user_id, ids in sorted(by_user.items()):
        with clock.frozen(h.now):
            mark_read(db.session.get(User, user_id), ids)


def load_history(world: World, first_day: date) -> History:
    """Everything after the cases' own steps, in one transaction (the caller commits)."""
    h = History(world, local_today(), utcnow())
    court_referral(h)
    police_notification(h)
    load_documents(h)
    judicial_confirmations(h)
    complete_followups(h)
    load_screenings(h, first_day)
    load_supervision(h)
    close_months(h, first_day)
    db.session.flush()
    return h


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Routing rules (分流规则): the demo's rule table, and the suggestion on the cases waiting for it
# --------------------------------------------------------------------------------------------

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
    from mediation.disputes.workflow_schemas import RoutingRuleIn
    from mediation.routing.models import RoutingRule
    from mediation.routing.service import create_rule

    existing = set(db.session.scalars(select(RoutingRule.name)))
    categories = list(current_app.config["CATEGORIES"])
    units = set(db.session.scalars(select(Unit.code).where(Unit.code.startswith(f"{DISTRICT_CODE}-"))))
    present = created = 0
    for priority, name, conditions, channel, suffix in DEMO_RULES:
        unit = f"{DISTRICT_CODE}-{suffix}" if suffix else None
        if (unit is not None and unit not in units) or conditions.get("category", categories[0]) not in categories:
            continue  # a units file without that unit, or a category this deployment does not use
        present += 1
        if name in existing:
            continue
        create_rule(RoutingRuleIn().load({"name": name, "priority": priority, "channel": channel,
                                          "unit": unit, **conditions}))
        created += 1
    db.session.flush()
    return present, created


def suggest_pending() -> int:
    """The 分流建议 of the demo's cases waiting for routing (待分流) that have none yet (the demo writes
    its cases directly, not through registration, which records it). Returns how many got one."""
    from mediation.disputes.models import Dispute
    from mediation.routing.service import record_suggestion

    done = 0
    pending = db.session.scalars(select(Dispute).where(
        Dispute.status == Status.PENDING, Dispute.suggested_channel.is_(None), Dispute.suggested_unit_id.is_(None)))
    for dispute in pending:
        if record_suggestion(dispute).channel is not None:
            done += 1
    db.session.flush()
    return done


def history_summary(stats: Counter, first: date, last: date, h: History, sweeps: list) -> list[str]:
    from mediation.followups.models import FollowUp, FollowUpStatus, Notification

    followups = Counter((str(k), str(s)) for k, s in db.session.execute(select(FollowUp.kind, FollowUp.status)))
    done = sum(n for (_, s), n in followups.items() if s == FollowUpStatus.DONE.value)
    open_ = sum(n for (_, s), n in followups.items() if s == FollowUpStatus.OPEN.value)
    late = db.session.scalar(select(func.count(FollowUp.id)).where(
        FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_on < h.today))
    unread = db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None)))
    notes = db.session.scalar(select(func.count(Notification.id)))
    s = h.stats
    lines = [
        f"纠纷：{sum(stats[x] for x in Status)} 件，登记日期 {first} 至 {last}；"
        f"待分流 {stats[Status.PENDING]}，办理中 {stats[Status.HANDLING]}（其中超期 {stats['overdue']}），"
        f"稳控 {stats[Status.STABILIZED]}，已办结 {stats[Status.CLOSED]}；另有法院诉前委派 {s['referrals']} 件。",
        f"调解记录 {stats['sessions'] + s['referrals']} 份；民转刑预警 {s['police']} 次；"
        f"司法确认申请 {s['confirmations']} 件。",
        f"回访：已完成 {done}，待办 {open_}（其中已到期 {late}）。",
        f"调解协议：已生效 {s['agreements']} 份（均出具电子签章 PDF），签署中 {s['agreements_signing']} 份；"
        f"单位印章 {s['seals']} 枚。",
        f"排查报告 {s['screenings']} 份（其中零报告 {s['zero_reports']}）；督办 {s['supervisions']} 件"
        f"（已回复 {s['supervisions_replied']}，逾期升级 {sum(x.escalated for x in sweeps)}）。",
        f"月清月结：结转说明 {s['carry_overs']} 条，结账上报 {s['month_closes']} 次；"
        f"期限预警/超期提醒 {sum(x.alerts for x in sweeps)} 次；通知 {notes} 条（未读 {unread}）。",
        *h.messages,
    ]
    errors = [e for x in sweeps for e in x.errors]
    if errors:
        lines.append("定时巡检出错：" + "；".join(errors))
    return lines


def load_demo(reset: bool = False, count: int = 400) -> str:
    """Load (or, when already loaded, leave) the demo; returns a Chinese summary."""
    from mediation.followups.service import run_sweep

    if count < 0:
        raise DemoError("演示纠纷数量不能为负数。")
    started = time_module.perf_counter()
    lines = [prepare_schema(reset)]
    tree, units = load_places()
    password_hash = _PasswordHash()
    users = ensure_users(password_hash)
    staff_total, staff_created = ensure_staff(password_hash)
    db.session.commit()
    lines.append(f"行政区划：{tree['rows']} 个节点（新增 {tree['created']}，更新 {tree['updated']}）；"
                 f"处置单位：{units['rows']} 个（新增 {units['created']}，更新 {units['updated']}）。")

    world = World()
    existing = existing_demo_disputes(world)
    if existing:
        lines.append(f"演示纠纷已存在（{existing} 件），未重复载入；如需重新生成，请加 --reset。")
    elif count:
        stats, first, last = load_disputes(world, count)
        history = load_history(world, first)
        db.session.commit()
        # What the scheduler does every minute (预警/超期 alerts, due follow-ups, 督办 escalation): as
        # it did on two recent days, and now.
        sweeps = []
        for days_ago in SWEEP_DAYS_AGO:
            with clock.frozen(local_instant(history.today - timedelta(days=days_ago), 9 * 3600 + 600)):
                sweeps.append(run_sweep())
        sweeps.append(run_sweep())
        mark_old_notifications_read(history)
        db.session.commit()
        lines += history_summary(stats, first, last, history, sweeps)
    rules, rules_created = ensure_routing_rules()
    suggested = suggest_pending()
    db.session.commit()
    lines.append(f"分流规则：{rules} 条（新增 {rules_created}）；{suggested} 件待分流纠纷新生成了分流建议。")
    lines.append(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for user, created in users:
        note = "" if created else "（已存在，未修改）"
        lines.append(f"  {user.username:<13} {ROLE_LABELS[user.role]}，{user.unit.name}{note}")
    lines.append(f"  另有各单位工作人员账号 {staff_total} 个（新增 {staff_created}），用户名为单位代码，"
                 f"如 {COMMITTEE_FEATURED.replace('-TW', '-PCS')}（派出所）。")
    lines.append(f"用时 {time_module.perf_counter() - started:.1f} 秒。")
    return "\n".join(lines)
