"""Generate a valid 台账 of N cases for a demo-like district, with the tree and units it refers to.

    python bench/gen_ledger.py --rows 100000 --out /tmp/ledger-bench

writes into the folder:

- ``tree.csv``   the administrative tree, for ``flask --app mediation tree import``
- ``units.csv``  the handling units,      for ``flask --app mediation units import``
- ``ledger.xlsx`` the ledger (sheets 纠纷 and 当事人, two parties per case), for ``ledger import``

The district 海滨区 has 8 towns/subdistricts × 10 villages/communities × 5 grids; every town has a
综治中心, a 人民调解委员会 and a 派出所, every village a 调委会 and a 综合服务管理平台 (综治中心), and
the district its court and departments. Deterministic for a given seed; pure Python (openpyxl only).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mediation.common.validators import id_card_check_digit, uscc_check_char  # noqa: E402
from mediation.config import DEFAULT_CATEGORIES, DEFAULT_SOURCES  # noqa: E402

DISTRICT = ("120116000000", "海滨区", "区")
TOWNS = [
    ("海滨", "街道"),
    ("新港", "街道"),
    ("胡家园", "街道"),
    ("古林", "街道"),
    ("双港", "镇"),
    ("中塘", "镇"),
    ("小站", "镇"),
    ("太平", "镇"),
]
ORDINALS = "一二三四五六七八九十"
GRIDS = 5
DISTRICT_UNITS = [  # code, name, type, channel
    ("ZZ-QU", "海滨区综治中心", "综治中心", ""),
    ("FY", "海滨区人民法院", "人民法院", "诉调对接"),
    ("RS", "海滨区人力资源和社会保障局", "行政机关", "行政调解"),
    ("JJ", "海滨交警支队", "行政机关", "行政调解"),
    ("SC", "海滨区市场监督管理局", "行政机关", "行政调解"),
    ("YT", "海滨区医疗纠纷人民调解委员会", "人民调解委员会", "人民调解"),
]
HEADERS = [
    "案件编号",
    "登记日期",
    "来源",
    "纠纷类别",
    "简要情况",
    "属地",
    "发现场所",
    "涉及人数",
    "涉及金额",
    "风险等级",
    "风险标记",
    "化解渠道",
    "承办单位",
    "受理日期",
    "状态",
    "办结日期",
    "办结方式",
    "民转刑",
    "结转说明",
]
PARTY_HEADERS = ["案件编号", "角色", "类型", "姓名或名称", "证件号码", "联系电话", "住址"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
SUMMARIES = [
    "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。",
    "邻里因噪音问题多次发生口角。",
    "工程完工后拖欠农民工工资。",
    "宅基地界址不清引发争议。",
    "交通事故损害赔偿未达成一致。",
    "物业费收取与服务质量争议。",
    "网购商品质量问题退货纠纷。",
    "婚后财产分割及子女抚养争议。",
]


class Place:
    def __init__(self, town: str, village: str, grid: str, grid_code: str, units: dict):
        self.path = f"{town}/{village}/{grid}"
        self.grid_code = grid_code
        self.units = units  # channel → a unit name of the place's town or village


def build_tree(out: Path) -> list[Place]:
    nodes = [(*DISTRICT, "")]
    units = list(DISTRICT_UNITS)
    units = [(c, n, t, DISTRICT[0], ch) for c, n, t, ch in units]
    places = []
    for t, (short, suffix) in enumerate(TOWNS, start=1):
        town_code = f"120116{t:03d}000"
        town = short + suffix
        nodes.append((town_code, town, suffix, DISTRICT[0]))
        units += [
            (f"ZZ-{t}", f"{town}综治中心", "综治中心", town_code, ""),
            (f"TW-{t}", f"{town}人民调解委员会", "人民调解委员会", town_code, "人民调解"),
            (f"PCS-{t}", f"{short}派出所", "行政机关", town_code, "行政调解"),
        ]
        kind = "社区" if suffix == "街道" else "村"
        for v in range(1, 11):
            village_code = f"120116{t:03d}{v:03d}"
            village = f"{short}{ORDINALS[v - 1]}{kind}"
            nodes.append((village_code, village, kind, town_code))
            units += [
                (f"CW-{t}-{v}", f"{village}人民调解委员会", "人民调解委员会", village_code, "人民调解"),
                (f"PT-{t}-{v}", f"{village}综合服务管理平台", "综治中心", village_code, ""),
            ]
            for g in range(1, GRIDS + 1):
                grid_code = f"{village_code}G{g:02d}"
                nodes.append((grid_code, f"第{g}网格", "网格", village_code))
                places.append(
                    Place(
                        town,
                        village,
                        f"第{g}网格",
                        grid_code,
                        {
                            "人民调解": [
                                f"{village}人民调解委员会",
                                f"{town}人民调解委员会",
                                "海滨区医疗纠纷人民调解委员会",
                            ],
                            "行政调解": [
                                f"{short}派出所",
                                "海滨区人力资源和社会保障局",
                                "海滨交警支队",
                                "海滨区市场监督管理局",
                            ],
                            "司法调解": ["海滨区人民法院"],
                            "诉调对接": ["海滨区人民法院"],
                        },
                    )
                )
    with (out / "tree.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["代码", "名称", "层级", "上级代码"])
        w.writerows(nodes)
    with (out / "units.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["代码", "名称", "类型", "所属节点代码", "渠道"])
        w.writerows(units)
    return places


def person_id(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
    first17 = f"120116{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_card_check_digit(first17)


def credit_code(rng: random.Random) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91120116" + "".join(rng.choice(chars) for _ in range(9))
    return first17 + uscc_check_char(first17)


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def generate(rows: int, out: Path, seed: int = 2025, unnumbered: float = 0.05) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    places = build_tree(out)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("纠纷")
    ps = wb.create_sheet("当事人")
    ws.append(HEADERS)
    ps.append(PARTY_HEADERS)
    start = date(2024, 1, 1)
    parties = 0
    for i in range(1, rows + 1):
        place = rng.choice(places)
        registered = start + timedelta(days=rng.randrange(700))
        status = rng.choices(["已办结", "办理中", "稳控", "待分流"], [60, 15, 10, 15])[0]
        channel = unit = accepted = closed = outcome = ""
        if status != "待分流":
            channel = rng.choices(["人民调解", "行政调解", "司法调解", "诉调对接"], [70, 20, 4, 6])[0]
            unit = rng.choice(place.units[channel])
            accepted = registered + timedelta(days=rng.randrange(3))
        if status == "已办结":
            closed = accepted + timedelta(days=rng.randrange(40))
            outcome = rng.choices(["调解成功", "调解不成功", "撤回", "不予受理"], [80, 12, 5, 3])[0]
        level = rng.choices(["一般", "较大", "重大", "特别重大"], [80, 14, 5, 1])[0]
        flags = "、".join(
            rng.sample(["民转刑风险", "群体性", "涉众", "信访关联"], rng.choice((0, 0, 0, 0, 1, 2)))
        )
        prominent = level in ("重大", "特别重大") or flags
        case_no = "" if rng.random() < unnumbered else f"（{registered.year}）海滨台账第{i:06d}号"
        ws.append(
            [
                case_no,
                registered.isoformat(),
                rng.choice(DEFAULT_SOURCES),
                rng.choice(DEFAULT_CATEGORIES),
                f"{rng.choice(SUMMARIES)}（第{i}件）",
                place.path,
                rng.choice(["村", "家庭", "学校", "企业", "单位", ""]),
                rng.randrange(1, 12),
                f"{rng.randrange(0, 500000)}.{rng.randrange(100):02d}" if rng.random() < 0.7 else "",
                level,
                flags,
                channel,
                unit,
                accepted.isoformat() if accepted else "",
                status,
                closed.isoformat() if closed else "",
                outcome,
                "是" if rng.random() < 0.002 else "否",
                "涉及人数多，跨月继续化解。" if prominent and status != "已办结" else "",
            ]
        )
        if case_no:
            ps.append(
                [
                    case_no,
                    "申请人",
                    "自然人",
                    name(rng),
                    person_id(rng),
                    f"13{rng.randrange(10**9):09d}",
                    f"{place.path.split('/')[1]}{rng.randrange(1, 99)}号",
                ]
            )
            if rng.random() < 0.2:
                ps.append(
                    [
                        case_no,
                        "被申请人",
                        "法人",
                        f"海滨{rng.choice('甲乙丙丁')}公司{i}",
                        credit_code(rng),
                        f"022-{rng.randrange(10**7, 10**8)}",
                        "",
                    ]
                )
            else:
                ps.append([case_no, "被申请人", "自然人", name(rng), person_id(rng), "", ""])
            parties += 2
    wb.save(out / "ledger.xlsx")
    return {
        "rows": rows,
        "parties": parties,
        "nodes": 1 + len(TOWNS) * (1 + 10 * (1 + GRIDS)),
        "places": len(places),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ledger-bench"))
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--unnumbered", type=float, default=0.05, help="share of rows without 案件编号")
    args = parser.parse_args()
    t0 = time.perf_counter()
    info = generate(args.rows, args.out, args.seed, args.unnumbered)
    print(
        f"{info['rows']} 件纠纷、{info['parties']} 行当事人 → {args.out / 'ledger.xlsx'} "
        f"（{time.perf_counter() - t0:.1f} s）；tree.csv {info['nodes']} 个节点，units.csv"
    )


if __name__ == "__main__":
    main()
