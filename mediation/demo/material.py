"""Text material of the demo: names, identifiers, addresses, the case templates and the words of the
sessions, all drawn from a ``random.Random`` the caller owns."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from mediation.common.enums import (
    NodeLevel,
    Outcome,
    PartyKind,
    Venue,
)
from mediation.common.validators import id_card_check_digit, uscc_check_char
from mediation.geo.models import Node

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
    "贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
MALE = (
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "刚",
    "建国",
    "志强",
    "德胜",
    "振华",
    "立新",
    "春生",
    "宝山",
    "文博",
    "浩然",
    "宇轩",
    "俊杰",
    "建华",
    "国庆",
    "长江",
    "永刚",
    "晓东",
    "福来",
)
FEMALE = (
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "秀兰",
    "桂英",
    "玉兰",
    "海燕",
    "红梅",
    "淑珍",
    "凤英",
    "子涵",
    "欣怡",
    "梓萱",
    "雨桐",
    "秀珍",
    "金凤",
    "丽娟",
    "玉梅",
    "淑华",
)
FIRMS = (
    "鑫源",
    "宏达",
    "海晟",
    "恒通",
    "德润",
    "永盛",
    "华港",
    "金岸",
    "瑞丰",
    "新城",
    "泰和",
    "盛鑫",
    "广源",
    "万嘉",
    "益民",
    "顺达",
    "中天",
    "利华",
    "港湾",
    "嘉禾",
    "福瑞",
    "联众",
)
ROADS = (
    "港城大道与海韵路",
    "滨海路与新港二号路",
    "津沽公路双港段",
    "太平镇中心大街",
    "东湖路与春晖道",
    "海滨大道与渔港路",
    "八里台路口",
    "胜利街与明珠道",
)
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
        T(
            "{a}反映，楼上住户{b}家卫生间长期渗漏，导致其家中顶棚及墙面发霉脱落，多次协商未果，要求{b}修缮并赔偿损失约{amount}。",
            venue=Venue.FAMILY,
        ),
        T(
            "{a}与邻居{b}因{b}在公共楼道堆放杂物、占用消防通道发生争执，双方言语冲突，{a}要求社区处理。",
            venue=Venue.VILLAGE,
        ),
        T(
            "{a}与{b}因院墙界址及排水沟走向发生纠纷，{b}新砌院墙挡住{a}家排水，雨天院内积水，双方多次争吵。",
            venue=Venue.VILLAGE,
        ),
        T(
            "{b}家饲养的犬只夜间吠叫并咬伤{a}家鸡鸭，双方就赔偿问题产生矛盾，{a}要求赔偿{amount}。",
            venue=Venue.VILLAGE,
        ),
        T(
            "{a}反映邻居{b}装修期间噪音扰民且在午休时间施工，双方多次发生口角，情绪较为激动。",
            venue=Venue.FAMILY,
            hot=True,
        ),
    ),
    "婚姻家庭": (
        T(
            "{a}与丈夫{b}结婚十余年，近年因家庭琐事及经济问题矛盾加深，{a}提出离婚，双方就子女抚养和共同房产分割存在争议。",
            venue=Venue.FAMILY,
            sexes="FM",
        ),
        T(
            "{a}反映其子{b}长期不履行对年迈父母的赡养义务，拒绝支付赡养费，要求每月给付赡养费并分担医疗费用。",
            venue=Venue.FAMILY,
            sexes="?M",
            kin=True,
            born=((1938, 1958), (1965, 1985)),
        ),
        T(
            "{a}与{b}兄弟二人因父母遗留房屋的继承份额发生纠纷，争议房产估值约{amount}。",
            venue=Venue.FAMILY,
            sexes="MM",
            kin=True,
        ),
        T(
            "{a}与儿媳{b}因家务分工及孙辈抚养问题长期不和，近日发生激烈争吵并有推搡，{a}要求调解。",
            venue=Venue.FAMILY,
            hot=True,
            sexes="FF",
            born=((1945, 1965), (1975, 1995)),
        ),
    ),
    "房屋宅基地": (
        T(
            "{a}与{b}因宅基地边界发生争议，{b}翻建房屋时越界约半米，{a}要求拆除越界部分。",
            venue=Venue.VILLAGE,
        ),
        T("{a}购买{b}位于{place}的房屋后，{b}拒不配合办理过户手续，{a}要求退还购房款{amount}或协助过户。"),
        T("{a}租住{b}的房屋，租期未满{b}要求收回房屋并拒退押金{amount}，双方发生争执。", venue=Venue.FAMILY),
    ),
    "山林土地": (
        T(
            "{a}与{b}因承包地边界不清发生纠纷，{b}耕种时侵占{a}承包地约一亩二分，双方多次争吵。",
            venue=Venue.VILLAGE,
        ),
        T("{a}将承包地流转给{b}种植，{b}拖欠两年流转费{amount}，{a}要求解除流转合同。", venue=Venue.VILLAGE),
    ),
    "合同": (
        T(
            "{a}与{b}签订家庭装修合同，{b}施工质量不合格且逾期未完工，{a}要求退还部分工程款{amount}。",
            "build",
            venue=Venue.FAMILY,
        ),
        T(
            "{a}向{b}订购一批门窗，货到后发现规格不符，双方就退货及货款{amount}发生争议。",
            "factory",
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}承包{b}的厂房改造工程，完工后{b}以质量问题为由拒付尾款{amount}。",
            "food",
            venue=Venue.ENTERPRISE,
        ),
    ),
    "债务": (
        T("{b}于两年前向{a}借款{amount}并出具借条，约定一年内归还，到期后{b}以资金困难为由拖欠至今。"),
        T("{a}为{b}供应蔬菜，{b}尚欠货款{amount}，多次催要未果。", "restaurant", venue=Venue.ENTERPRISE),
        T("{a}与{b}系朋友关系，{b}以做生意为由借款{amount}，现避而不见，{a}情绪激动。", hot=True),
    ),
    "生产经营": (
        T(
            "{a}经营的养殖场与{b}相邻，{a}认为其排放的粉尘影响养殖，双方就整改及补偿{amount}发生争执。",
            "food",
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}与{b}合伙经营饭店，因经营亏损及合伙财产分割产生纠纷，涉及金额{amount}。",
            venue=Venue.ENTERPRISE,
        ),
    ),
    "损害赔偿": (
        T(
            "{a}在{b}购物时因地面湿滑摔倒致腿部骨折，双方就医疗费、误工费等赔偿{amount}存在争议。",
            "shop",
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}之子在学校课间活动时被{b}之子推倒致牙齿受损，双方家长就医疗费用{amount}发生纠纷。",
            venue=Venue.SCHOOL,
        ),
        T(
            "{a}与{b}因琐事发生肢体冲突，{a}面部受伤，要求{b}赔偿医疗费{amount}，双方仍有言语威胁。",
            venue=Venue.VILLAGE,
            hot=True,
        ),
        T("{b}家空调外机坠落砸坏{a}停放的车辆，{a}要求赔偿维修费{amount}。", venue=Venue.VILLAGE),
    ),
    "劳动争议/欠薪": (
        T(
            "{a}等{n}名工人反映，在{b}承建的工地务工，被拖欠工资共计{amount}，多次讨要无果。",
            "build",
            group=True,
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}在{b}工作三年，公司未签订书面劳动合同，现被辞退，要求支付经济补偿金{amount}。",
            "factory",
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}在{b}工作期间受伤，公司未缴纳工伤保险，双方就工伤待遇{amount}发生争议。",
            "food",
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}反映{b}拖欠其三个月工资{amount}，公司以经营困难为由拒绝支付。",
            "restaurant",
            venue=Venue.ENTERPRISE,
        ),
    ),
    "征地拆迁": (
        T(
            "{a}等{n}户村民对{place}片区拆迁补偿标准有异议，认为房屋评估价格偏低，拒绝签订补偿协议。",
            group=True,
            venue=Venue.VILLAGE,
        ),
        T("{a}对其承包地被征收后的地上附着物补偿金额{amount}不认可，要求重新评估。", venue=Venue.VILLAGE),
    ),
    "环境污染": (
        T(
            "{a}等{n}户居民反映{b}夜间生产噪音及异味严重影响休息，要求停产整改并给予补偿。",
            "factory",
            group=True,
            venue=Venue.VILLAGE,
        ),
        T("{a}反映{b}的油烟直排至其住宅窗户，多次协商未果。", "restaurant", venue=Venue.FAMILY),
    ),
    "医疗": (
        T(
            "{a}之父在{b}住院治疗期间病情恶化去世，家属认为医院存在诊疗过错，要求赔偿{amount}，曾在医院聚集。",
            "hospital",
            venue=Venue.INSTITUTION,
            hot=True,
        ),
        T(
            "{a}在{b}接受手术后出现并发症，认为医院告知不充分，要求赔偿医疗费及误工费{amount}。",
            "hospital",
            venue=Venue.INSTITUTION,
        ),
    ),
    "物业": (
        T(
            "{a}等{n}户业主因小区电梯频繁故障、维修不及时拒交物业费，与{b}发生纠纷。",
            "property",
            group=True,
            venue=Venue.VILLAGE,
        ),
        T(
            "{b}以{a}拖欠物业费{amount}为由停止为其提供门禁服务，双方发生争执。",
            "property",
            venue=Venue.VILLAGE,
        ),
        T(
            "{a}反映小区地下车库长期积水导致其车辆受损，要求{b}赔偿{amount}。",
            "property",
            venue=Venue.VILLAGE,
        ),
    ),
    "道路交通事故": (
        T(
            "{b}驾驶小型轿车在{road}路口与{a}驾驶的电动自行车相撞，致{a}受伤，交警认定{b}负主要责任，双方就赔偿{amount}协商未果。"
        ),
        T("{a}与{b}的车辆在{road}发生追尾事故，双方对车辆维修费{amount}及误工损失存在争议。"),
    ),
    "消费": (
        T(
            "{a}在{b}购买的冰箱使用一个月即出现故障，商家拒绝退换，{a}要求退款{amount}。",
            "mall",
            venue=Venue.ENTERPRISE,
        ),
        T("{a}在{b}办理健身卡后门店停业，要求退还剩余费用{amount}。", "gym", venue=Venue.ENTERPRISE),
        T("{a}反映在{b}购买的预付购物卡无法使用，涉及金额{amount}。", "shop", venue=Venue.ENTERPRISE),
    ),
    "涉众型经济": (
        T(
            "{a}等{n}人反映，{b}以高息理财为名吸收资金，现无法兑付本息，涉及金额约{amount}，群众情绪激动。",
            "finance",
            group=True,
            venue=Venue.ENTERPRISE,
        ),
        T(
            "{a}等{n}名学员家长反映{b}突然停课，预付学费{amount}无法退还。",
            "school",
            group=True,
            venue=Venue.SCHOOL,
        ),
    ),
    "涉军/退役军人": (
        T(
            "退役军人{a}反映其原工作单位{b}未落实安置待遇，拖欠生活补助{amount}。",
            "factory",
            venue=Venue.INSTITUTION,
            sexes="M?",
        ),
        T(
            "退役军人{a}与邻居{b}因宅前道路通行问题发生争执，情绪激动。",
            venue=Venue.VILLAGE,
            hot=True,
            sexes="M?",
        ),
    ),
    "其他": (
        T("{a}与{b}因宠物走失后的寻回酬金问题产生争执。"),
        T("{a}反映{b}在微信群中散布关于其的不实信息，要求{b}公开道歉。"),
    ),
}
GENERIC = (T("{a}与{b}发生{category}纠纷，双方协商未果，{a}申请调解。"),)
AMOUNTS = {  # yuan, (low, high); None: no amount at stake
    "邻里": (800, 12000),
    "婚姻家庭": (50000, 900000),
    "房屋宅基地": (3000, 600000),
    "山林土地": (4000, 30000),
    "合同": (5000, 260000),
    "债务": (5000, 300000),
    "生产经营": (8000, 200000),
    "损害赔偿": (1500, 80000),
    "劳动争议/欠薪": (6000, 380000),
    "征地拆迁": (60000, 900000),
    "环境污染": None,
    "医疗": (30000, 600000),
    "物业": (1200, 30000),
    "道路交通事故": (3000, 180000),
    "消费": (600, 12000),
    "涉众型经济": (500000, 8000000),
    "涉军/退役军人": (8000, 60000),
    "其他": None,
}
CATEGORY_WEIGHTS = {
    "邻里": 14,
    "婚姻家庭": 10,
    "物业": 9,
    "劳动争议/欠薪": 9,
    "债务": 8,
    "合同": 7,
    "损害赔偿": 7,
    "道路交通事故": 7,
    "房屋宅基地": 6,
    "消费": 6,
    "生产经营": 4,
    "医疗": 3,
    "山林土地": 2,
    "征地拆迁": 2,
    "环境污染": 2,
    "涉众型经济": 1,
    "涉军/退役军人": 1,
    "其他": 2,
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
    "邻里": {"110警情转办": 3, "12345热线": 2},
    "婚姻家庭": {"110警情转办": 2},
    "损害赔偿": {"110警情转办": 3, "法院委派": 2},
    "合同": {"法院委派": 4},
    "债务": {"法院委派": 4},
    "物业": {"12345热线": 4, "网络/微信": 2},
    "消费": {"12345热线": 4, "部门移送": 2},
    "劳动争议/欠薪": {"部门移送": 2, "12345热线": 2},
    "征地拆迁": {"信访转办": 4, "上级交办": 2},
    "涉众型经济": {"信访转办": 3, "上级交办": 2},
    "环境污染": {"12345热线": 4},
    "道路交通事故": {"110警情转办": 2, "法院委派": 2},
    "医疗": {"信访转办": 1},
}
CLOSE_NOTES = {
    Outcome.SUCCESS: (
        "双方自愿达成调解协议，当场履行完毕。",
        "双方签订人民调解协议书，约定分期履行。",
        "双方达成口头协议，已登记在案并当场履行。",
        "经调解双方互谅互让达成协议，已回访确认履行。",
    ),
    Outcome.FAILURE: (
        "双方分歧较大，经多次调解未能达成一致，已终止调解并告知当事人可依法申请仲裁或向人民法院起诉。",
        "被申请人拒不到场，调解无法继续，已终止调解并告知其他救济途径。",
    ),
    Outcome.WITHDRAWN: ("申请人主动撤回调解申请。", "双方自行和解，申请人撤回申请。"),
    Outcome.REJECTED: (
        "一方当事人明确拒绝调解（《人民调解法》第十七条），不予受理。",
        "该纠纷已进入诉讼程序，不予受理，已告知当事人。",
    ),
}


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
        return (
            f"天津市海滨区{town.name}{village.name}{rng.randint(1, 36)}号楼{rng.randint(1, 6)}门"
            f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"
        )
    return f"天津市海滨区{town.name}{village.name}{rng.choice(STREETS)}{rng.randint(1, 120)}号"


def amount_text(amount: Decimal) -> str:
    if amount >= 10000:
        text = f"{amount / 10000:.1f}".rstrip("0").rstrip(".")
        return f"{text}万元"
    return f"{int(amount)}元"


ISSUES = {  # what the parties argue about, by category
    "邻里": "损失的赔偿数额及整改措施",
    "婚姻家庭": "赡养、抚养费用及财产分割",
    "房屋宅基地": "房屋（宅基地）权属及补偿数额",
    "山林土地": "承包地边界及流转费用",
    "合同": "合同履行责任及款项结算",
    "债务": "欠款数额及还款期限",
    "生产经营": "经营损失的分担",
    "损害赔偿": "责任划分及赔偿数额",
    "劳动争议/欠薪": "拖欠工资及经济补偿的数额",
    "征地拆迁": "补偿标准及补偿数额",
    "环境污染": "整改措施及补偿",
    "医疗": "诊疗过错责任及赔偿数额",
    "物业": "物业服务质量及费用",
    "道路交通事故": "事故损失的赔偿数额",
    "消费": "退款及赔偿数额",
    "涉众型经济": "资金兑付方案",
    "涉军/退役军人": "安置待遇的落实",
    "其他": "各自的诉求",
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
    Outcome.SUCCESS: (
        "经调解员多次沟通，双方互谅互让，就{issue}达成一致意见，同意签订人民调解协议书。",
        "调解员再次说明双方的权利义务，双方就{issue}达成一致，当场确认了履行方式和期限。",
    ),
    Outcome.FAILURE: (
        "双方分歧仍然较大，被申请人{b}坚持原有意见，调解未能达成一致。调解员告知双方可以通过仲裁、诉讼等途径依法解决。",
    ),
    Outcome.WITHDRAWN: ("双方表示愿意自行协商解决，申请人{a}拟撤回调解申请。",),
}
STABILIZE_SESSION = (
    "调解员与申请人{a}谈心谈话、疏导情绪，{a}表示将通过合法途径表达诉求，不采取过激行为。"
    "因双方分歧较大，短期内难以化解，拟转为稳控，落实专人跟踪回访。",
)
STABILIZE_VISITS = (
    "上门走访申请人{a}，当事人情绪稳定，未发现过激言行，继续落实稳控措施。",
    "电话回访{a}并走访其所在村（社区），了解到当事人近期生活正常，未再反映诉求。",
    "会同网格员走访{a}，当事人对处理进展表示理解，承诺不采取过激行为，稳控措施落实到位。",
)


def party_names(dispute) -> tuple[str, str]:
    names = [p.name for p in dispute.parties]
    return names[0], (names[1] if len(names) > 1 else "对方")


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
