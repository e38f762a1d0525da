"""Time the reports for a whole 区 at scale, next to hand-written SQL of the same answers (the floor).

    python bench/gen_disputes.py URL --count 1000000 --reset     # once
    python bench/reports_bench.py URL [--runs 5] [--month YYYY-MM] [--node CODE] [--json out.json]
    python bench/reports_bench.py URL --node CODE --only monthly,floor_monthly --explain

``--node`` picks the subtree (default 海滨区; ``--districts`` data has the 市 120000000000 above
its districts); ``--only`` times a few of the measurements (keys as in the ``--json`` file);
``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of every statement the monthly figures
(``monthly_report``, what ``GET /reports/monthly`` answers) and its floor run (PostgreSQL only).

URL is a SQLAlchemy URL (``sqlite:////tmp/bench.sqlite`` or
``postgresql+psycopg://mediation@127.0.0.1:55433/mediation_reports``). Every measurement is
``--runs`` runs after one warm-up run, all measurements in turns; minimum, median and maximum are
printed, every run's time goes to the ``--json`` file. The floors are hand-written SQL computing
the very same answers (the 月清月结 figures with the open 突出问题 and the 满意率 per unit; the overdue
league with the units' names and the first page of 50); the script checks that both agree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_MONTHLY = """
SELECT
  count(*) FILTER (WHERE d.registered_on < :s) AS carried_in,
  count(*) FILTER (WHERE d.registered_on >= :s) AS new,
  count(*) FILTER (WHERE d.closed_on <= :e) AS closed,
  count(*) FILTER (WHERE d.closed_on <= :e AND d.outcome = '调解成功') AS resolved,
  count(*) FILTER (WHERE (d.closed_on IS NULL OR d.closed_on > :e) AND d.status IN ('稳控', '已办结')
                   AND CASE WHEN d.status = '稳控' THEN coalesce(d.stabilized_on, d.accepted_on, d.registered_on)
                            ELSE d.stabilized_on END <= :e) AS stabilized,
  count(*) FILTER (WHERE d.closed_on IS NULL OR d.closed_on > :e) AS carried_out,
  count(*) FILTER (WHERE (d.closed_on IS NULL OR d.closed_on > :e) AND d.deadline < :e) AS overdue,
  count(*) FILTER (WHERE d.prominent AND d.registered_on < :s) AS p_carried_in,
  count(*) FILTER (WHERE d.prominent AND d.registered_on >= :s) AS p_new,
  count(*) FILTER (WHERE d.prominent AND d.closed_on <= :e) AS p_closed,
  count(*) FILTER (WHERE d.prominent AND d.closed_on <= :e AND d.outcome = '调解成功') AS p_resolved,
  count(*) FILTER (WHERE d.prominent AND (d.closed_on IS NULL OR d.closed_on > :e) AND d.status IN ('稳控', '已办结')
                   AND CASE WHEN d.status = '稳控' THEN coalesce(d.stabilized_on, d.accepted_on, d.registered_on)
                            ELSE d.stabilized_on END <= :e) AS p_stabilized,
  count(*) FILTER (WHERE d.prominent AND (d.closed_on IS NULL OR d.closed_on > :e)) AS p_carried_out,
  count(*) FILTER (WHERE d.prominent AND (d.closed_on IS NULL OR d.closed_on > :e) AND d.deadline < :e) AS p_overdue
FROM dispute d
WHERE {subtree}
  AND {plus}d.registered_on <= :e AND (d.closed_on IS NULL OR d.closed_on >= :s)
"""

# The rest of what /reports/monthly answers, by hand: the 突出问题 open at the end of the month (with
# their place and carry-over reason, in registration order) and the 满意率 per handling unit.
FLOOR_PROMINENT = """
SELECT d.id, d.case_no, d.category, d.status, d.risk_level, d.registered_on, d.carry_over_reason, n.name
FROM dispute d JOIN node n ON n.id = d.node_id
WHERE {subtree}
  AND d.prominent AND {plus}d.registered_on <= :e AND (d.closed_on IS NULL OR d.closed_on > :e)
ORDER BY {plus}d.registered_on, d.id
"""

FLOOR_SATISFACTION = """
SELECT d.unit_id, u.code, u.name, count(*) AS answered,
  count(*) FILTER (WHERE coalesce(
    (SELECT min(r.score) FROM party_rating r WHERE r.dispute_id = d.id AND r.created_at >= :lo AND r.created_at < :hi),
    (SELECT min(f.satisfaction) FROM followup f WHERE f.dispute_id = d.id AND f.status = '已完成'
       AND f.satisfaction IS NOT NULL AND f.done_at >= :lo AND f.done_at < :hi)) >= 4) AS satisfied
FROM dispute d LEFT JOIN unit u ON u.id = d.unit_id
WHERE {subtree}
  AND d.id IN (SELECT dispute_id FROM party_rating WHERE created_at >= :lo AND created_at < :hi
               UNION SELECT dispute_id FROM followup WHERE status = '已完成' AND satisfaction IS NOT NULL
                 AND done_at >= :lo AND done_at < :hi)
GROUP BY d.unit_id, u.code, u.name
"""

# The subtree, the best hand-written way for each engine and node: on PostgreSQL below the top of
# the tree the subtree's ids as one array read before the scan (an index condition on
# ix_dispute_node_closed; as an IN, a semi-join, it narrows no index scan and one 区 of a province was
# read with the whole table); for the top node, whose subtree is every case, the semi-join (the array
# is estimated at 10 ids and loses the parallel plan); on SQLite the subtree term kept away from its
# index (``+col``), as the figures were tuned.
SUBTREE_IN = "{plus}d.node_id IN (SELECT id FROM node WHERE path LIKE :prefix)"
SUBTREE_ARRAY = "d.node_id = ANY (ARRAY(SELECT id FROM node WHERE path LIKE :prefix))"


def subtree_sql(dialect: str, path: str) -> str:
    top = path.count("/") <= 2
    return (
        SUBTREE_ARRAY
        if dialect == "postgresql" and not top
        else SUBTREE_IN.format(plus="+" if dialect == "sqlite" else "")
    )


# The overdue review by hand: its cases are the open ones with a deadline in 超期 (deadline before
# today) or 预警 (at least 4/5 of the time from 受理 to the deadline used); the league per lead unit
# with the unit's code and name, from which the counts follow, and the first page of 50, riskiest
# first, with the names, 督办 count and 包案 leader of its rows.
REVIEW = {
    "postgresql": """{subtree}
  AND d.closed_on IS NULL AND d.status <> '已办结' AND d.deadline IS NOT NULL
  AND (d.deadline < :today OR (d.accepted_on IS NOT NULL AND (d.deadline - d.accepted_on <= 0
       OR (:today - d.accepted_on) * 5 >= (d.deadline - d.accepted_on) * 4)))""",
    "sqlite": """d.node_id IN (SELECT id FROM node WHERE path LIKE :prefix)
  AND d.closed_on IS NULL AND d.status <> '已办结' AND d.deadline IS NOT NULL
  AND (d.deadline < :today OR (d.accepted_on IS NOT NULL
       AND (julianday(d.deadline) - julianday(d.accepted_on) <= 0
            OR (julianday(:today) - julianday(d.accepted_on)) * 5
               >= (julianday(d.deadline) - julianday(d.accepted_on)) * 4)))""",
}
DAYS_OVERDUE = {
    "postgresql": ":today - d.deadline",
    "sqlite": "CAST(julianday(:today) - julianday(d.deadline) AS INTEGER)",
}
FLOOR_LEAGUE = """
SELECT d.unit_id, u.code, u.name,
  count(*) FILTER (WHERE d.deadline < :today) AS overdue,
  count(*) FILTER (WHERE d.deadline >= :today) AS warning
FROM dispute d LEFT JOIN unit u ON u.id = d.unit_id
WHERE {review}
GROUP BY d.unit_id, u.code, u.name
"""
FLOOR_REVIEW_PAGE = """
SELECT p.id, p.case_no, p.category, p.risk_level, p.prominent, p.status, p.accepted_on, p.deadline, p.channel,
  CASE WHEN p.deadline < :today THEN '超期' ELSE '预警' END AS level, p.days_overdue,
  u.code, u.name, n.name,
  (SELECT count(*) FROM supervision_order s WHERE s.dispute_id = p.id) AS supervisions, l.name, l.post
FROM (
  SELECT d.id, d.case_no, d.category, d.risk_level, d.prominent, d.status, d.accepted_on, d.deadline,
    d.channel, d.unit_id, d.node_id, {days} AS days_overdue,
    CASE d.risk_level WHEN '一般' THEN 0 WHEN '较大' THEN 1 WHEN '重大' THEN 2 WHEN '特别重大' THEN 3 ELSE 0 END AS rank
  FROM dispute d WHERE {review}
  ORDER BY rank DESC, d.prominent DESC, days_overdue DESC, d.id LIMIT 50
) p
JOIN node n ON n.id = p.node_id LEFT JOIN unit u ON u.id = p.unit_id LEFT JOIN case_leader l ON l.dispute_id = p.id
ORDER BY p.rank DESC, p.prominent DESC, p.days_overdue DESC, p.id
"""


# Keys of the measurements in the --json file, in the order of the table.
KEYS = ("monthly", "monthly_page", "shuangbai", "channels", "overdue", "floor_monthly", "floor_overdue")


def timed(measurements: list, runs: int) -> dict[str, tuple[list[float], object]]:
    """label → (every run's time in ms, the warm-up's result). One warm-up each, then the runs in
    turns (all measurements once, ``runs`` times), so that a figure and its floor see the same
    moments of a busy machine."""
    results = {label: ([], fn()) for label, fn in measurements}  # warm-ups (and the values checked)
    for _ in range(runs):
        for label, fn in measurements:
            t0 = time.perf_counter()
            fn()
            results[label][0].append((time.perf_counter() - t0) * 1000)
    return results


def check_agreement(by_key: dict) -> tuple:
    """Both ways (service and floor) must give the same answers, where both were measured.
    Returns the monthly report and the overdue review (or None)."""
    from mediation.reports.figures import COUNT_KEYS

    report, floor = by_key.get("monthly"), by_key.get("floor_monthly")
    if report and floor:
        counts, prominent, satisfaction = floor
        for key in COUNT_KEYS:
            assert report[key] == counts[key], (key, report[key], counts[key])
            assert report["prominent"][key] == counts["p_" + key], ("prominent", key)
        assert [c["id"] for c in report["prominent_carry_over"]] == [r[0] for r in prominent]
        assert report["satisfaction"]["answered"] == sum(r.answered for r in satisfaction)
        assert report["satisfaction"]["satisfied"] == sum(r.satisfied for r in satisfaction)
    review, floor_review = by_key.get("overdue"), by_key.get("floor_overdue")
    if review and floor_review is not None:
        league, first_page = floor_review
        assert review["overdue"] == sum(o for _, _, o, _ in league.values())
        assert review["warning"] == sum(w for _, _, _, w in league.values())
        assert {r["unit_id"]: (r["unit"], r["overdue"], r["warning"]) for r in review["league"]} == {
            u: (code, o, w) for u, (code, _, o, w) in league.items()
        }
        assert [(c["id"], c["level"], c["days_overdue"]) for c in review["items"]] == [
            (r[0], r.level, r.days_overdue) for r in first_page
        ]
    return report, review


def explain(db, dialect: str, measurements: list) -> None:
    """Run each measurement once, catching its SQL statements, and print ``EXPLAIN (ANALYZE,
    BUFFERS)`` of each (PostgreSQL) with the statement's first line and its time."""
    from sqlalchemy import event

    if dialect != "postgresql":
        print("--explain: PostgreSQL only")
        return
    engine = db.engine
    for label, fn in measurements:
        caught = []

        def catch(conn, cursor, statement, parameters, context, executemany, caught=caught):
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                caught.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", catch)
        try:
            fn()
        finally:
            event.remove(engine, "before_cursor_execute", catch)
        print(f"## {label}: {len(caught)} statement(s)")
        raw = db.session.connection().connection.dbapi_connection
        for statement, parameters in caught:
            print()
            print(statement.strip())
            print(f"-- parameters: {parameters}")
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None)
                for (line,) in cur.fetchall():
                    print(line)
        print()
    db.session.rollback()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--month", help="YYYY-MM (default: last month)")
    parser.add_argument("--node", default="120116000000", help="node code (default: the 区)")
    parser.add_argument("--json", default=None, help="also write every run's time as JSON to this file")
    parser.add_argument("--only", default=None, help=f"comma-separated keys among {', '.join(KEYS)}")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the monthly figures"
    )
    args = parser.parse_args(argv)

    from sqlalchemy import Date, DateTime, bindparam, select, text

    from mediation import create_app
    from mediation.common.heap import settle_heap
    from mediation.common.time import local_today
    from mediation.extensions import db
    from mediation.geo.models import Node
    from mediation.reports import figures, overdue
    from mediation.reports.common import Month
    from mediation.reports.satisfaction import answer_bounds

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench", "SCHEDULER_MODE": "off"})
    settle_heap()  # as each gunicorn worker does once it has built the app (deploy/gunicorn.conf.py)
    with app.app_context():
        dialect = db.engine.dialect.name
        node = db.session.scalar(select(Node).where(Node.code == args.node))
        month = Month.parse(args.month) if args.month else Month.of(local_today()).shift(-1)
        today = local_today()
        total = db.session.execute(text("SELECT count(*) FROM dispute")).scalar()
        open_cases = db.session.execute(text("SELECT count(*) FROM dispute WHERE closed_on IS NULL")).scalar()

        dates = [bindparam("s", type_=Date), bindparam("e", type_=Date)]
        day = bindparam("today", type_=Date)
        # The best hand-written form for each engine: the closed_on indexes, and on SQLite the
        # subtree and registration terms kept away from their indexes (``+col``).
        plus, subtree = "+" if dialect == "sqlite" else "", subtree_sql(dialect, node.path)
        floor_monthly = text(FLOOR_MONTHLY.format(plus=plus, subtree=subtree)).bindparams(*dates)
        floor_prominent = text(FLOOR_PROMINENT.format(plus=plus, subtree=subtree)).bindparams(dates[1])
        floor_satisfaction = text(FLOOR_SATISFACTION.format(subtree=subtree)).bindparams(
            bindparam("lo", type_=DateTime), bindparam("hi", type_=DateTime)
        )
        review_sql = REVIEW[dialect].format(subtree=subtree)  # (SQLite: its own text)
        floor_league = text(FLOOR_LEAGUE.format(review=review_sql)).bindparams(day)
        floor_page = text(FLOOR_REVIEW_PAGE.format(review=review_sql, days=DAYS_OVERDUE[dialect])).bindparams(
            day
        )
        params = {"s": month.first, "e": month.last, "prefix": node.path + "%"}
        lo, hi = answer_bounds(month.first, month.last)

        def floor_m():
            """The same three answers as /reports/monthly: figures, open 突出问题, 满意率 per unit."""
            return (
                dict(db.session.execute(floor_monthly, params).one()._mapping),
                db.session.execute(floor_prominent, {"e": month.last, "prefix": params["prefix"]}).all(),
                db.session.execute(
                    floor_satisfaction, {"lo": lo, "hi": hi, "prefix": params["prefix"]}
                ).all(),
            )

        def floor_o():
            """The same two answers as the overdue review: the league (with names) and page 1."""
            review = {"today": today, "prefix": node.path + "%"}
            return (
                {r[0]: (r[1], r[2], r.overdue, r.warning) for r in db.session.execute(floor_league, review)},
                db.session.execute(floor_page, review).all(),
            )

        def page():
            return figures.monthly_page(node, month)

        measurements = [
            ("月清月结 figures (API /reports/monthly)", lambda: figures.monthly_report(node, month)),
            ("月清月结 page (figures, drill-down, 12-month trend, channel table)", page),
            ("双百 figures (API /reports/shuangbai)", lambda: figures.shuangbai_report(node, month)),
            ("channel table (API /reports/channels)", lambda: figures.channel_report(node, month)),
            (
                "overdue review (levels, first page of 50, unit league)",
                lambda: overdue.overdue_review(node, today),
            ),
            ("floor: hand-written SQL, 月清月结 figures, open 突出问题, 满意率", floor_m),
            ("floor: hand-written SQL, overdue league and first page of 50", floor_o),
        ]
        wanted = set(args.only.split(",")) if args.only else set(KEYS)
        if wanted - set(KEYS):
            parser.error(f"--only: unknown {', '.join(sorted(wanted - set(KEYS)))}")
        keyed = [(key, m) for key, m in zip(KEYS, measurements, strict=True) if key in wanted]
        measurements = [m for _, m in keyed]
        if args.explain:
            explain(db, dialect, [m for key, m in keyed if key in ("monthly", "floor_monthly")])
        results = timed(measurements, args.runs)
        by_key = {key: results[label][1] for key, (label, _) in keyed}

        report, review = check_agreement(by_key)

        version_text = db.session.execute(
            text("SELECT sqlite_version()" if dialect == "sqlite" else "SHOW server_version")
        ).scalar()
        print(
            f"database: {dialect} {version_text} · {total:,} disputes ({open_cases:,} open) · node "
            f"{node.name} · month {month.key} · today {today} · {args.runs} runs after a warm-up"
        )
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"python {platform.python_version()} · {platform.machine()} · {os.cpu_count()} CPUs · "
            f"load average {load} (1/5/15 min) at the end"
        )
        print()
        print("| measurement | min ms | median ms | max ms |")
        print("|---|---:|---:|---:|")
        for label, _ in measurements:
            xs = results[label][0]
            print(f"| {label} | {min(xs):,.1f} | {statistics.median(xs):,.1f} | {max(xs):,.1f} |")
        print()
        if report:
            print(
                f"figures: carried_in {report['carried_in']:,}, new {report['new']:,}, "
                f"closed {report['closed']:,}, carried_out {report['carried_out']:,}, "
                f"overdue {report['overdue']:,}; {len(report['prominent_carry_over']):,} open 突出问题 listed"
            )
        if review:
            print(f"overdue review: {review['overdue']:,} 超期, {review['warning']:,} 预警")
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "database": dialect,
                        "version": version_text,
                        "disputes": total,
                        "open": open_cases,
                        "month": month.key,
                        "runs": args.runs,
                        "node": node.code,
                        "samples_ms": {key: results[label][0] for key, (label, _) in keyed},
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
