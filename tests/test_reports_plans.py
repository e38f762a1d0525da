"""How the reports reach PostgreSQL and SQLite (bench/README.md, "Reports"): connection settings,
statement counts and plan shapes — counts and shapes, never times."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import and_, func, select, text

from mediation import create_app
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.service import upsert_node
from mediation.reports.common import Month
from mediation.reports.figures import _month_counts_stmt, monthly_report
from mediation.reports.overdue import _review_statements, overdue_review, review_base
from mediation.reports.sql import in_subtree
from tests.reports_data import case, party_rating, visit_score
from tests.sql_statements import statements_of

TODAY = date(2026, 11, 20)
OCT = Month(2026, 10)


def test_postgresql_connections_run_without_jit(app):
    """The reports' aggregates cost more than ``jit_above_cost`` at a district's size, and compiling
    them took 1.4 s of a query that runs in milliseconds: every connection of the app turns JIT off
    (and prepares nothing, so that no generic plan ignores the subtree and the dates)."""
    pg = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1:1/x",
            "SECRET_KEY": "t",
            "SCHEDULER_MODE": "off",
        }
    )
    connect_args = pg.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert connect_args["options"] == "-c jit=off"
    assert connect_args["prepare_threshold"] is None
    if db.engine.dialect.name == "postgresql":
        assert db.session.execute(text("SHOW jit")).scalar() == "off"


def _statements(fn) -> list[str]:
    return [sql for sql, _ in statements_of(fn) if sql.lstrip().upper().startswith("SELECT")]


@pytest.fixture
def month_world(world):
    """Open and overdue cases under two units, a 突出问题 carried over, and satisfaction answers, so
    that every query of the reports returns rows (the unit names included)."""
    w = world
    for unit, node in ((w.committee_a, w.grid_a), (w.committee_b, w.grid_b), (None, w.village_b)):
        late = case(
            w,
            node,
            date(2026, 9, 2),
            accepted_on=date(2026, 9, 3),
            deadline=date(2026, 10, 3),
            channel="人民调解" if unit else None,
            unit=unit,
            prominent=True,
            reason="当事人在外地",
        )
        party_rating(late, 5, datetime(2026, 10, 9, 2))
        done = case(w, node, date(2026, 9, 5), closed_on=date(2026, 10, 8), channel="人民调解", unit=unit)
        visit_score(w, done, 3, datetime(2026, 10, 12, 2))
    db.session.commit()
    return w


def test_the_reports_run_few_statements_and_build_them_once(app, month_world):
    """The overdue review is two statements (the page with its names; the league with the units'
    names), /reports/monthly three (the figures, the open 突出问题, the 满意率 with the units' names);
    a second call reuses the statements it built (no SQL expression is built again)."""
    w = month_world
    assert w.district.path and w.district.name  # loaded before counting
    review = _statements(lambda: overdue_review(w.district, TODAY))
    assert len(review) == 2, review
    assert {r["unit"] for r in overdue_review(w.district, TODAY)["league"]} == {"TW-A", "TW-B", None}
    monthly = _statements(lambda: monthly_report(w.district, OCT))
    assert len(monthly) == 3, monthly
    report = monthly_report(w.district, OCT)
    assert [u["unit"] for u in report["satisfaction"]["by_unit"]] == ["TW-A", "TW-B", "未分流"]
    assert len(report["prominent_carry_over"]) == 3

    built = _review_statements.cache_info().misses, _month_counts_stmt.cache_info().misses
    overdue_review(w.district, TODAY)
    monthly_report(w.district, OCT)
    assert (_review_statements.cache_info().misses, _month_counts_stmt.cache_info().misses) == built


def test_the_review_is_selected_by_a_condition_the_planner_can_estimate(app):
    """The overdue review's cases are chosen by conditions on the dates, not by the level's CASE
    compared with a list: PostgreSQL estimated that at a handful of rows and joined the 11,000
    open cases of 10⁶ to the 489 nodes in a nested loop (1.7 s instead of 60 ms)."""
    where = str(and_(*review_base(TODAY)).compile(db.engine, compile_kwargs={"literal_binds": True}))
    assert "CASE" not in where.upper(), where
    assert "2026-11-20" in where  # the day is written into the SQL (no generic plan guesses it)


def _plan(stmt) -> str:
    compiled = stmt.compile(db.engine, compile_kwargs={"render_postcompile": True})
    rows = db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
    return "\n".join(r[0] for r in rows)


def test_a_subtree_is_an_array_of_node_ids_read_in_the_statement(app, month_world):
    """Below the top of the tree PostgreSQL reads the subtree once inside the statement (an InitPlan:
    ``node_id = ANY (ARRAY(SELECT id FROM node …))``) and narrows an index scan with it, instead of a
    semi-join that no index scan can use (one 区 of a province was read by a scan of the whole
    table; bench/README.md). The top node, whose subtree is every case, keeps the semi-join; SQLite
    keeps its ``+node_id IN (…)``. No statement is added, and a node added after the statement was
    built is counted at once (the ids are never kept between calls)."""
    w = month_world
    town = w.town_b

    def sql(path):
        stmt = _month_counts_stmt(path, OCT.first, OCT.last)
        return str(stmt.compile(db.engine, compile_kwargs={"render_postcompile": True}))

    top = sql(w.district.path)
    assert "node_id) IN (SELECT node.id" in top or "node_id IN (SELECT node.id" in top, top
    if db.engine.dialect.name == "sqlite":
        assert "(+dispute.node_id) IN (SELECT node.id" in sql(town.path)
    else:
        assert "dispute.node_id = ANY (ARRAY(SELECT node.id" in sql(town.path)
        # The subtree alone (at this size the planner picks any index for the whole statement):
        # its ids are an index condition, of an index that leads with node_id.
        # A table of a few rows is read whole through any index, and the plan followed whatever
        # statistics autovacuum had left from earlier tests (CI once saw the whole of another index
        # read). So the test makes the table look as it does in use, in this transaction only:
        # 20,000 more cases spread over 2,000 grids elsewhere in the district, so that the subtree is a
        # small part of the table and of its node ids, then ANALYZE (all rows are sampled at this
        # size, so the statistics, and the plan, follow from the data alone; rolled back with it).
        db.session.execute(
            text(
                "INSERT INTO node (code, name, level, parent_id, path) "
                "SELECT 'ELSEWHERE-' || g, '网格' || g, n.level, n.id, n.path || 'e' || g || '/' "
                "FROM node n CROSS JOIN generate_series(0, 1999) g WHERE n.id = :elsewhere"
            ),
            {"elsewhere": w.town_a.id},
        )
        cols = [c.name for c in Dispute.__table__.columns if c.name != "id"]
        values = {
            "case_no": "d.case_no || '-' || g",
            "case_code": "left(md5(d.case_code || g::text), 16)",
            "node_id": "e.id",
        }
        db.session.execute(
            text(
                f"INSERT INTO dispute ({', '.join(cols)}) "
                f"SELECT {', '.join(values.get(c, 'd.' + c) for c in cols)} "
                "FROM dispute d CROSS JOIN generate_series(1, 20000) g "
                "JOIN node e ON e.code = 'ELSEWHERE-' || (g % 2000) "
                "WHERE d.id = (SELECT min(id) FROM dispute)"
            )
        )
        db.session.execute(text("ANALYZE dispute, node"))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = _plan(select(func.count()).select_from(Dispute).where(in_subtree(town.path)))
        db.session.rollback()
        assert "InitPlan 1" in plan, plan
        assert any("Index Cond: (node_id = ANY ($0))" in line for line in plan.splitlines()), plan
        assert "Join" not in plan, plan

    before = monthly_report(town, OCT)["carried_out"]
    village, _ = upsert_node("NEW-1", "新村", "村", town)  # as a tree import adds it
    case(w, village, date(2026, 10, 20))
    db.session.commit()
    assert town.path  # loaded before counting
    assert len(_statements(lambda: monthly_report(town, OCT))) == 3
    assert monthly_report(town, OCT)["carried_out"] == before + 1
