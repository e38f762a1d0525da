"""The demo (`flask --app mediation demo`): a fictional 海滨区 with its towns, villages and grids,
handling units of every type, one user per role, and a few hundred disputes over eight months.

The tree and the units are shipped as CSV files (mediation/demo_data/) and loaded through the same
importers as `tree import` / `units import`. Disputes are generated with a fixed random seed, so two
fresh loads on the same day give the same data; their life cycle (registered → routed → accepted →
stabilised → closed) is written with its historical dates, one timeline event per step.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import MetaData, func, inspect, select

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
from mediation.common.time import SHANGHAI, local_today, utcnow
from mediation.common.validators import id_card_check_digit, uscc_check_char
from mediation.extensions import db
from mediation.geo.models import Node, Unit

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
DISTRICT_CODE = "120116000000"
DEMO_PASSWORD = "demo12345"
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


def ensure_users() -> list[tuple[User, bool]]:
    """The demo accounts; an existing account is left as it is."""
    result = []
    password_hash = None  # one (salted) hash for the shared demo password: hashing is slow on purpose
    for username, role, unit_code, display_name in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        created = user is None
        if created:
            unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
            user = User(username=username, role=role, unit=unit, display_name=display_name)
            if password_hash is None:
                user.set_password(DEMO_PASSWORD)
                password_hash = user.password_hash
            user.password_hash = password_hash
            db.session.add(user)
        result.append((user, created))
    db.session.flush()
    return result


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
            select(User).where(User.username.in_([u[0] for u in DEMO_USERS])))}
        self.staff: dict[str, str] = {}

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

    def actor(self, unit: Unit, rng: random.Random) -> tuple[User | None, str]:
        """The demo user working at the unit, else a (stable) fictional staff member's name."""
        username = ACTING_USER.get(unit.code)
        if username and username in self.users:
            return self.users[username], ""
        if unit.code not in self.staff:
            self.staff[unit.code] = person_name(random.Random(unit.code))[0]
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
    """Working-hours moments, strictly increasing, none in the future."""
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
        offsets = sorted(rng.sample(range(span), k))
        result += [local_instant(day, start + o) for o in offsets]
        i += k
    return result


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
                registered_at=times[0], registered_on=plan.registered_on, status=plan.status,
            )
            dispute.parties.extend(parties)
            db.session.add(dispute)

            def event(type_, unit, on, at, note=None, data=None, _dispute=dispute):
                user, staff = world.actor(unit, rng)
                e = add_event(_dispute, type_, user, note=note, data=data, on=on, at=at)
                if user is None:
                    e.by_name, e.unit_id = staff, unit.id
                return e

            router = registering if registering.type == UnitType.CENTER else (
                district_center if registering.node_id == world.district.id else town_center)
            for (kind, on), at in zip(plan.steps, times, strict=True):
                if kind == "registered":
                    event("registered", registering, on, at, data={
                        "case_no": dispute.case_no, "category": category, "source": source,
                        "node": place.node.code, "risk_level": risk.value, "parties": len(parties)})
                elif kind == "routed":
                    dispute.channel, dispute.unit = lead.channel, lead
                    dispute.co_units = list(co_units)
                    event("routed", router, on, at, data={
                        "channel": lead.channel.value, "unit": lead.code, "unit_name": lead.name,
                        "co_units": [u.code for u in co_units]})
                elif kind == "accepted":
                    dispute.accepted_on = on
                    dispute.deadline = deadline_for(lead.channel.value, category, on)
                    event("accepted", lead, on, at, data={
                        "deadline": dispute.deadline.isoformat() if dispute.deadline else None})
                elif kind == "stabilized":
                    dispute.stabilized_on = on
                    event("stabilized", lead, on, at, note="矛盾暂未化解，已落实包案稳控措施，专人跟踪回访。")
                elif kind in ("closed", "rejected"):
                    dispute.closed_on, dispute.outcome = on, plan.outcome
                    event(kind, lead, on, at, note=rng.choice(CLOSE_NOTES[plan.outcome]),
                          data={"outcome": plan.outcome.value})
            if (plan.status == Status.CLOSED and plan.outcome == Outcome.FAILURE and not civil_to_criminal_done
                    and RiskFlag.CIVIL_TO_CRIMINAL.value in flags):
                dispute.civil_to_criminal = civil_to_criminal_done = True
            if prominent and plan.status in (Status.HANDLING, Status.STABILIZED) and \
                    plan.registered_on < today.replace(day=1):
                dispute.carry_over_reason = "涉及多方利益，需协调相关部门共同化解，已落实稳控措施，结转下月继续办理。"

            stats[plan.status] += 1
            if plan.status == Status.HANDLING and dispute.deadline and dispute.deadline < today:
                stats["overdue"] += 1
            if index % BATCH == 0:
                db.session.flush()
    db.session.flush()
    return stats, dates[0], dates[-1]


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

def load_demo(reset: bool = False, count: int = 400) -> str:
    """Load (or, when already loaded, leave) the demo; returns a Chinese summary."""
    if count < 0:
        raise DemoError("演示纠纷数量不能为负数。")
    lines = [prepare_schema(reset)]
    tree, units = load_places()
    users = ensure_users()
    db.session.commit()
    lines.append(f"行政区划：{tree['rows']} 个节点（新增 {tree['created']}，更新 {tree['updated']}）；"
                 f"处置单位：{units['rows']} 个（新增 {units['created']}，更新 {units['updated']}）。")

    world = World()
    existing = existing_demo_disputes(world)
    if existing:
        lines.append(f"演示纠纷已存在（{existing} 件），未重复载入；如需重新生成，请加 --reset。")
    elif count:
        stats, first, last = load_disputes(world, count)
        db.session.commit()
        lines.append(f"纠纷：{count} 件，登记日期 {first} 至 {last}；"
                     f"待分流 {stats[Status.PENDING]}，办理中 {stats[Status.HANDLING]}（其中超期 {stats['overdue']}），"
                     f"稳控 {stats[Status.STABILIZED]}，已办结 {stats[Status.CLOSED]}。")
    lines.append(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for user, created in users:
        note = "" if created else "（已存在，未修改）"
        lines.append(f"  {user.username:<13} {ROLE_LABELS[user.role]}，{user.unit.name}{note}")
    return "\n".join(lines)
