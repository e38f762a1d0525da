"""Generate N disputes fast over a demo-like district, for the report benchmark.

    python bench/gen_disputes.py sqlite:////tmp/bench.sqlite --count 1000000 --reset
    python bench/gen_disputes.py postgresql+psycopg://mediation@127.0.0.1:55433/mediation_reports \\
        --count 1000000 --reset
    python bench/gen_disputes.py URL --count 10000000 --districts 20 --reset    # a province

The tree: 海滨区 with 8 towns/subdistricts × 10 villages/communities × 5 grids (400 grids), a
综治中心 at the district, every town and every village, a 调委会 and a 派出所 per town, and the
district's court, 诉调对接中心 and departments. Cases are spread over the 36 months up to today
(the case mix of the demo: about 8 % 突出问题, most closed within two months, a few long-running
稳控 and overdue ones); deadlines are 受理 + the channel's default limit.

With ``--districts N`` (N > 1) a 市 (海河市, code 120000000000: a 直辖市, whose 区 sit directly
under it) stands above N such districts (the first is 海滨区 with its codes, the others
1202kk…), each with its own units, and the cases are spread over all their places; the default
(one district, no 市) gives the same rows as before.

Rows go in by PostgreSQL ``COPY`` (psycopg) or SQLite ``executemany`` in one transaction, with
the dispute table's secondary indexes dropped during the load and built afterwards, then
``ANALYZE`` (``VACUUM ANALYZE`` on PostgreSQL): rows are streamed, memory stays flat whatever
the count. The schema is built with ``db.create_all()`` (``--reset`` drops it first).
Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mediation.common import codes  # noqa: E402
from mediation.config import DEFAULT_CATEGORIES, DEFAULT_SOURCES  # noqa: E402

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
VILLAGES, GRIDS = 10, 5
RISK = (("一般", 80), ("较大", 13), ("重大", 5), ("特别重大", 2))
FLAGS = ("民转刑风险", "群体性", "涉军", "涉众", "信访关联", "个人极端倾向")
VENUES = ("村", "家庭", "学校", "企业", "单位", None)
CHANNELS = (("人民调解", 70), ("行政调解", 18), ("司法调解", 4), ("诉调对接", 8))
CATEGORY_DAYS = {"劳动争议/欠薪": 15, "道路交通事故": 10}
OUTCOMES = (("调解成功", 72), ("调解不成功", 13), ("撤回", 7), ("不予受理", 8))
COLUMNS = (
    "case_no",
    "case_code",
    "category",
    "source",
    "summary",
    "venue",
    "risk_level",
    "flags",
    "prominent",
    "civil_to_criminal",
    "node_id",
    "registering_unit_id",
    "registered_at",
    "registered_on",
    "status",
    "channel",
    "unit_id",
    "accepted_on",
    "deadline",
    "stabilized_on",
    "closed_on",
    "outcome",
    "carry_over_reason",
    "version",
    "updated_at",
)


# --districts N (N > 1): a 直辖市 (a province-level city: its 区 sit directly under it, as 天津市's
# do) above N districts like 海滨区. The first keeps 海滨区's codes; the others are numbered.
CITY = ("120000000000", "海河市")
DISTRICT_NAMES = (
    "海滨", "和平", "河东", "河西", "南开", "河北", "红桥", "东丽", "西青", "津南",
    "北辰", "武清", "宝坻", "宁河", "静海", "蓟州", "滨湖", "港城", "临港", "新城",
)  # fmt: skip


def district_prefixes(k: int) -> tuple[str, str, str]:
    """(name, 6-digit node code prefix, unit code prefix) of the k-th district (1-based)."""
    name = DISTRICT_NAMES[k - 1] if k <= len(DISTRICT_NAMES) else f"第{k}"
    return (name, "120116", "B") if k == 1 else (name, f"1202{k:02d}", f"B{k:02d}")


def build_tree(districts: int = 1) -> dict:
    """Nodes and units of the district, or of a 市 above ``districts`` districts (idempotent).
    Returns ids for the generator: ``places`` lists every node a case may sit on with the units
    that would take it there."""
    from mediation.common.enums import NodeLevel
    from mediation.extensions import db
    from mediation.geo.service import upsert_node

    top = None
    if districts > 1:
        top, _ = upsert_node(CITY[0], CITY[1], NodeLevel.CITY, None)
    ids = {"districts": [], "places": []}
    for k in range(1, districts + 1):
        district, places = build_district(k, top)
        ids["districts"].append(district.id)
        ids["places"].extend(places)
    db.session.flush()
    ids["district"] = ids["districts"][0]
    ids["top"] = top.id if top else ids["district"]
    db.session.commit()
    return ids


def build_district(k: int, parent) -> tuple:
    """One demo-like 区 (the k-th) under ``parent``: its node and its places (see build_tree)."""
    from mediation.common.enums import Channel, NodeLevel, UnitType
    from mediation.extensions import db
    from mediation.geo.models import Unit
    from mediation.geo.service import upsert_node

    def unit(code, name, type_, node, channel=None):
        row = db.session.query(Unit).filter_by(code=code).one_or_none()
        if row is None:
            row = Unit(code=code, name=name, type=type_, node=node, channel=channel)
            db.session.add(row)
        return row

    dname, nc, uc = district_prefixes(k)
    district, _ = upsert_node(f"{nc}000000", f"{dname}区", NodeLevel.DISTRICT, parent)
    units = {
        "center": unit(f"{uc}-ZZ-QU", f"{dname}区综治中心", UnitType.CENTER, district),
        "court": unit(f"{uc}-FY", f"{dname}区人民法院", UnitType.COURT, district, Channel.JUDICIAL),
        "court_link": unit(
            f"{uc}-SD", f"{dname}区人民法院诉调对接中心", UnitType.COURT, district, Channel.COURT_LINK
        ),
        "labour": unit(
            f"{uc}-RS",
            f"{dname}区人力资源和社会保障局",
            UnitType.ADMINISTRATIVE,
            district,
            Channel.ADMINISTRATIVE,
        ),
    }
    places = []  # (node, town_committee, town_police, village_committee or None, registering unit)
    for t, (name, level) in enumerate(TOWNS, start=1):
        if k > 1:
            name = f"{dname}{name}"
        town, _ = upsert_node(f"{nc}{t:03d}000", f"{name}{level}", NodeLevel(level), district)
        center = unit(f"{uc}-ZZ-{t}", f"{name}{level}综治中心", UnitType.CENTER, town)
        committee = unit(
            f"{uc}-TW-{t}", f"{name}{level}人民调解委员会", UnitType.COMMITTEE, town, Channel.PEOPLE
        )
        police = unit(f"{uc}-PCS-{t}", f"{name}派出所", UnitType.ADMINISTRATIVE, town, Channel.ADMINISTRATIVE)
        places.append((town, committee, police, None, center))
        for v in range(1, VILLAGES + 1):
            is_village = level == "镇"
            village, _ = upsert_node(
                f"{nc}{t:03d}{v:03d}",
                f"{name}{'第' if is_village else ''}{v}{'村' if is_village else '社区'}",
                NodeLevel.VILLAGE if is_village else NodeLevel.COMMUNITY,
                town,
            )
            v_center = unit(f"{uc}-ZZ-{t}-{v}", f"{village.name}综治中心", UnitType.CENTER, village)
            v_committee = unit(
                f"{uc}-TW-{t}-{v}",
                f"{village.name}人民调解委员会",
                UnitType.COMMITTEE,
                village,
                Channel.PEOPLE,
            )
            places.append((village, committee, police, v_committee, v_center))
            for g in range(1, GRIDS + 1):
                grid, _ = upsert_node(f"{nc}{t:03d}{v:03d}G{g:02d}", f"第{g}网格", NodeLevel.GRID, village)
                places.append((grid, committee, police, v_committee, v_center))
    db.session.flush()
    shared = (units["court"].id, units["court_link"].id, units["labour"].id)
    return district, [(n.id, c.id, p.id, vc.id if vc else None, r.id, *shared) for n, c, p, vc, r in places]


def case_code(i: int, rng: random.Random) -> str:
    """一案一码 of the i-th case: unique by construction (i in base 31 in the first 5 characters,
    room for 28 million cases), 4 characters drawn from ``rng``, and the check character, as
    ``mediation.disputes.models.new_case_code`` makes them."""
    alphabet = codes.ALPHABET
    head = ""
    for _ in range(5):
        i, digit = divmod(i, len(alphabet))
        head += alphabet[digit]
    return codes.with_check(head + "".join(rng.choice(alphabet) for _ in range(4)))


def _weighted(rng: random.Random, options):
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def generate(count: int, tree: dict, today: date, seed: int):
    """Yield one tuple per case, in COLUMNS order."""
    rng = random.Random(seed)
    start = today - timedelta(days=36 * 30)
    span = (today - start).days
    places = tree["places"]
    categories, sources = DEFAULT_CATEGORIES, DEFAULT_SOURCES
    now = datetime(today.year, today.month, today.day, 1, 0)
    risk_values, risk_weights = zip(*RISK, strict=True)
    # Ids follow registration, as in a live system: recent cases sit together at the end. The
    # cases per day (the same draws as sorting them, without holding ``count`` numbers).
    per_day = [0] * (span + 1)
    for _ in range(count):
        per_day[int(span * rng.random() ** 0.9)] += 1
    days = (day for day, n in enumerate(per_day) for _ in range(n))
    for i, day in enumerate(days):
        registered = start + timedelta(days=day)
        node_id, committee, police, v_committee, registering, court, court_link, labour = rng.choice(places)
        category = rng.choice(categories)
        risk = rng.choices(risk_values, weights=risk_weights)[0]
        flags = [rng.choice(FLAGS)] if rng.random() < 0.03 else []
        prominent = risk in ("重大", "特别重大") or bool(flags)
        status, channel, unit, accepted, deadline, stabilized, closed, outcome, reason = (
            "待分流",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        r = rng.random()
        if not (registered >= today - timedelta(days=3) and r < 0.3):
            channel = _weighted(rng, CHANNELS)
            unit = {
                "人民调解": v_committee or committee,
                "行政调解": police if rng.random() < 0.6 else labour,
                "司法调解": court,
                "诉调对接": court_link,
            }[channel]
            accepted = min(today, registered + timedelta(days=rng.randint(0, 2)))
            deadline = accepted + timedelta(days=CATEGORY_DAYS.get(category, 30))
            duration = int(rng.expovariate(1 / 18)) + (rng.randint(20, 400) if rng.random() < 0.03 else 0)
            end = registered + timedelta(days=duration)
            if end <= today:
                status, closed, outcome = "已办结", end, _weighted(rng, OUTCOMES)
                if rng.random() < 0.05:
                    stabilized = min(end, accepted + timedelta(days=rng.randint(1, 10)))
            elif prominent and rng.random() < 0.5 or rng.random() < 0.15:
                status, stabilized = "稳控", min(today, accepted + timedelta(days=rng.randint(1, 20)))
            else:
                status = "办理中"
            if status != "已办结" and prominent and rng.random() < 0.7:
                reason = "涉及多方利益，已落实稳控措施，结转下月继续化解。"
        yield (
            f"（{registered.year}）海滨基准调字第{i + 1:07d}号",
            case_code(i, rng),
            category,
            rng.choice(sources),
            "基准测试生成的纠纷。",
            rng.choice(VENUES),
            risk,
            json.dumps(flags, ensure_ascii=False),
            prominent,
            prominent and closed is not None and outcome == "调解不成功" and rng.random() < 0.05,
            node_id,
            registering,
            now,
            registered,
            status,
            channel,
            unit,
            accepted,
            deadline,
            stabilized,
            closed,
            outcome,
            reason,
            1,
            now,
        )


def without_indexes(engine, load) -> None:
    """Drop the dispute table's secondary indexes, bulk-load, and build them again (much faster
    than maintaining a dozen indexes row by row)."""
    from mediation.disputes.models import Dispute

    indexes = list(Dispute.__table__.indexes)
    with engine.begin() as conn:
        for index in indexes:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    load()
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)


def insert_postgresql(engine, rows) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY dispute ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def insert_sqlite(engine, rows, batch: int = 50_000) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("BEGIN")
        sql = f"INSERT INTO dispute ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        chunk = []
        for row in rows:
            chunk.append(
                tuple(
                    v.isoformat(sep=" ")
                    if isinstance(v, datetime)
                    else v.isoformat()
                    if isinstance(v, date)
                    else v
                    for v in row
                )
            )
            if len(chunk) >= batch:
                cur.executemany(sql, chunk)
                chunk = []
        if chunk:
            cur.executemany(sql, chunk)
        cur.execute("COMMIT")
    finally:
        raw.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="SQLAlchemy database URL (sqlite:///… or postgresql+psycopg://…)")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--reset", action="store_true", help="drop and recreate every table first")
    parser.add_argument(
        "--districts",
        type=int,
        default=1,
        help="N > 1: a 市 (code 120000000000) above N districts, the cases spread over all of them",
    )
    args = parser.parse_args(argv)

    from mediation import create_app
    from mediation.common.time import local_today
    from mediation.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench", "SCHEDULER_MODE": "off"})
    with app.app_context():
        t0 = time.perf_counter()
        if args.reset:
            db.drop_all()
        db.create_all()
        tree = build_tree(args.districts)
        rows = generate(args.count, tree, local_today(), args.seed)
        insert = insert_postgresql if db.engine.dialect.name == "postgresql" else insert_sqlite
        without_indexes(db.engine, lambda: insert(db.engine, rows))
        # Statistics for the planner (and, on PostgreSQL, the visibility map that index-only scans
        # need: what autovacuum does on a live database).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
        elapsed = time.perf_counter() - t0
        db.session.rollback()
        total = db.session.execute(db.text("SELECT count(*) FROM dispute")).scalar()
        print(
            f"{args.count:,} disputes generated in {elapsed:.1f} s ({db.engine.dialect.name}); "
            f"{total:,} in the table; {len(tree['places'])} places."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
