"""满意率 (mediation/reports/satisfaction.py, README "满意率"): counted per case against a hand-counted
fixture (several units, three months, both sources, the Shanghai month boundaries), the drill-down
lists as many cases as each figure, on the monthly page, in the API, in the Excel and PDF exports."""

from __future__ import annotations

import html
import io
import re
from datetime import date, datetime
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import FollowUpKind, FollowUpStatus
from mediation.reports.common import Month
from mediation.reports.figures import figure_filter
from mediation.reports.satisfaction import answer_bounds, satisfaction_report
from tests.reports_data import case, party_rating, visit_score
from tests.sql_statements import statements_of

SEP, OCT, NOV = Month(2026, 9), Month(2026, 10), Month(2026, 11)
LINK = re.compile(r'<a class="fig-link[^"]*" data-figure="([^"]+)" data-count="(\d+)"[^>]*?href="([^"]+)"')
TOTAL = re.compile(r'class="result-count" role="status">共 <strong>(\d+)</strong> 件')


def utc(*args) -> datetime:
    return datetime(*args)


@pytest.fixture
def answers(world):
    """Cases and answers; every expected number below is counted by hand from this list."""
    w = world
    a, b, police = w.committee_a, w.committee_b, w.police_b

    def closed(node, unit):
        return case(w, node, date(2026, 8, 3), closed_on=date(2026, 9, 20), channel="人民调解", unit=unit)

    c1 = closed(w.grid_a, a)  # party 5 in Oct → satisfied
    party_rating(c1, 5, utc(2026, 10, 10, 2))
    c2 = closed(w.grid_a, a)  # party 2 and staff 5 in Oct → the party's word wins: not satisfied
    party_rating(c2, 2, utc(2026, 10, 12, 2))
    visit_score(w, c2, 5, utc(2026, 10, 13, 2))
    c3 = closed(w.village_a, a)  # staff 满意度回访 4 in Oct → satisfied
    visit_score(w, c3, 4, utc(2026, 10, 20, 2))
    c4 = closed(w.grid_a, a)  # party 4 at 2026-09-30 23:59 Shanghai → September
    party_rating(c4, 4, utc(2026, 9, 30, 15, 59, 59))
    c5 = closed(w.grid_a, a)  # party 3 at 2026-10-01 00:00 Shanghai → October, not satisfied
    party_rating(c5, 3, utc(2026, 9, 30, 16, 0))
    c6 = closed(w.grid_b, b)  # two parties 4 and 5 in Oct (the last one 23:59:59 on Oct 31) → satisfied
    party_rating(c6, 4, utc(2026, 10, 5, 2))
    party_rating(c6, 5, utc(2026, 10, 31, 15, 59, 59))
    c7 = closed(w.grid_b, b)  # staff 2 in Oct; party 5 at 2026-11-01 00:00 Shanghai → Oct no, Nov yes
    visit_score(w, c7, 2, utc(2026, 10, 15, 2))
    party_rating(c7, 5, utc(2026, 10, 31, 16, 0))
    c8 = closed(w.grid_b, police)  # parties 5 and 3 in Oct → the lowest decides: not satisfied
    party_rating(c8, 5, utc(2026, 10, 6, 2))
    party_rating(c8, 3, utc(2026, 10, 7, 2))
    c9 = case(w, w.district, date(2026, 8, 3), closed_on=date(2026, 9, 1), outcome="不予受理")  # no unit
    visit_score(w, c9, 5, utc(2026, 10, 9, 2), kind=FollowUpKind.PERFORMANCE)  # any 回访 with a score
    c10 = closed(w.grid_b, b)  # no answer: an open 回访, a done one without a score
    visit_score(w, c10, None, utc(2026, 10, 9, 2))
    visit_score(w, c10, 5, utc(2026, 10, 10, 2), status=FollowUpStatus.OPEN)
    c11 = closed(w.grid_a, b)  # 属地 海滨街道, handled by 双港镇's committee: party 4 in Oct → satisfied
    party_rating(c11, 4, utc(2026, 10, 25, 2))
    c12 = closed(w.grid_a, a)  # staff 3 in Sep → not satisfied
    visit_score(w, c12, 3, utc(2026, 9, 15, 2))
    c13 = closed(w.grid_a, a)  # staff 5 at 2026-10-31 23:59 Shanghai → October, satisfied;
    visit_score(w, c13, 5, utc(2026, 10, 31, 15, 59))  # staff 1 at Nov 1 00:00 Shanghai → November
    visit_score(w, c13, 1, utc(2026, 10, 31, 16, 0))
    db.session.commit()
    return w


def counts(report: dict) -> dict:
    return {u["unit"]: (u["answered"], u["satisfied"]) for u in report["by_unit"]}


def test_month_bounds_are_shanghai_days_in_utc():
    assert answer_bounds(date(2026, 10, 1), date(2026, 10, 31)) == (
        datetime(2026, 9, 30, 16, 0),
        datetime(2026, 10, 31, 16, 0),
    )


def test_the_figure_against_the_hand_count(app, answers):
    w = answers
    october = satisfaction_report(w.district, OCT)
    # TW-A: c1 ✓, c2 ✗, c3 ✓, c5 ✗, c13 ✓; TW-B: c6 ✓, c7 ✗, c11 ✓; PCS-B: c8 ✗; none: c9 ✓.
    assert counts(october) == {"PCS-B": (1, 0), "TW-A": (5, 3), "TW-B": (3, 2), "未分流": (1, 1)}
    assert [u["unit"] for u in october["by_unit"]] == ["PCS-B", "TW-A", "TW-B", "未分流"]
    assert (october["answered"], october["satisfied"], october["rate"]) == (10, 6, 0.6)
    assert october["by_unit"][1] == {
        "unit": "TW-A",
        "unit_name": "海滨街道人民调解委员会",
        "answered": 5,
        "satisfied": 3,
        "rate": 0.6,
    }
    assert october["by_unit"][0]["rate"] == 0.0
    # By 属地: 海滨街道 holds c1, c2, c3, c5, c13 (TW-A) and c11 (TW-B); 双港镇 c6, c7 (TW-B), c8.
    town_a = satisfaction_report(w.town_a, OCT)
    assert counts(town_a) == {"TW-A": (5, 3), "TW-B": (1, 1)}
    assert (town_a["answered"], town_a["satisfied"], town_a["rate"]) == (6, 4, 0.6667)
    town_b = satisfaction_report(w.town_b, OCT)
    assert counts(town_b) == {"PCS-B": (1, 0), "TW-B": (2, 1)}
    assert town_b["rate"] == 0.3333
    assert counts(satisfaction_report(w.grid_b, OCT)) == counts(town_b)
    # September: c4 ✓ (23:59:59 on the 30th), c12 ✗. November: c7 ✓ (party 5), c13 ✗ (staff 1).
    assert counts(satisfaction_report(w.district, SEP)) == {"TW-A": (2, 1)}
    assert counts(satisfaction_report(w.district, NOV)) == {"TW-A": (1, 0), "TW-B": (1, 1)}
    # A month without answers.
    empty = satisfaction_report(w.district, Month(2026, 12))
    assert empty == {"answered": 0, "satisfied": 0, "rate": None, "by_unit": []}


def _list_count(name, node, month, unit=None) -> int:
    stmt = select(func.count()).select_from(Dispute).where(figure_filter(name, node, month))
    if unit == "未分流":
        stmt = stmt.where(Dispute.unit_id.is_(None))
    elif unit:
        stmt = stmt.where(Dispute.unit.has(code=unit))
    return db.session.scalar(stmt)


def test_the_drill_down_counts_what_the_figure_counts(app, answers):
    w = answers
    for node in (w.district, w.town_a, w.town_b, w.village_a, w.grid_b):
        for month in (SEP, OCT, NOV):
            report = satisfaction_report(node, month)
            assert _list_count("satisfaction_answered", node, month) == report["answered"]
            assert _list_count("satisfied", node, month) == report["satisfied"]
            for u in report["by_unit"]:
                assert _list_count("satisfaction_answered", node, month, u["unit"]) == u["answered"]
                assert _list_count("satisfied", node, month, u["unit"]) == u["satisfied"]


def test_the_monthly_page_links_every_number_to_its_cases(web, answers):
    w = answers
    web.login("qu_center")
    body = web.client.get(f"/reports/?node={w.district.code}&month={OCT.key}").get_data(as_text=True)
    assert "满意率（按承办单位）" in body
    found = [(f, int(n), html.unescape(h)) for f, n, h in LINK.findall(body) if f.startswith("satisf")]
    # KPI (rate, numerator, denominator), four unit rows (2 counts + 3 in the rate), the 合计.
    assert len(found) == 3 + 4 * 5 + 5
    assert (
        "satisfied",
        2,
        f"/disputes/?figure=satisfied&node={w.district.code}&month=2026-10&unit=TW-B",
    ) in [(f, n, unquote(h)) for f, n, h in found]
    for _figure, number, href in found:
        listed = web.client.get(href).get_data(as_text=True)
        assert int(TOTAL.search(listed).group(1)) == number, href
    title = web.client.get(f"/disputes/?figure=satisfied&node={w.district.code}&month=2026-10").get_data(
        as_text=True
    )
    assert "海滨区 · 2026年10月 · 满意（评分4–5分）" in title and "返回月清月结" in title
    # The month is required, as for the other month figures.
    missing = web.client.get(f"/disputes/?figure=satisfied&node={w.district.code}").get_data(as_text=True)
    assert "报表月份：请指定报表月份（YYYY-MM）。" in missing


def test_the_api_answers_it_with_the_monthly_figures(web, answers):
    w = answers
    r = web.client.get(
        f"/api/v1/reports/monthly?node={w.town_a.code}&month={OCT.key}", headers=w.center_user_a.headers
    )
    assert r.status_code == 200
    sat = r.get_json()["satisfaction"]
    assert (sat["answered"], sat["satisfied"], sat["rate"]) == (6, 4, 0.6667)
    assert sat["by_unit"] == [
        {"unit": "TW-A", "unit_name": "海滨街道人民调解委员会", "answered": 5, "satisfied": 3, "rate": 0.6},
        {"unit": "TW-B", "unit_name": "双港镇人民调解委员会", "answered": 1, "satisfied": 1, "rate": 1.0},
    ]
    # The list API follows the figure too.
    listed = web.client.get(
        f"/api/v1/disputes?figure=satisfied&node={w.town_a.code}&month={OCT.key}&unit=TW-A",
        headers=w.center_user_a.headers,
    ).get_json()
    assert listed["total"] == 3


def test_the_exports_contain_it(web, answers):
    w = answers
    web.login("qu_center")
    r = web.client.get(f"/reports/monthly.xlsx?node={w.district.code}&month={OCT.key}")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data))["满意率"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=5, max_row=9)]
    assert [row[:4] for row in rows[:4]] == [
        ["双港派出所", "PCS-B", 1, 0],
        ["海滨街道人民调解委员会", "TW-A", 5, 3],
        ["双港镇人民调解委员会", "TW-B", 3, 2],
        ["未分流", "未分流", 1, 1],
    ]
    assert rows[1][4] == '=IF((C6)=0,"",(D6)/(C6))'
    assert rows[4][:5] == ["合计", None, "=SUM(C5:C8)", "=SUM(D5:D8)", '=IF((C9)=0,"",(D9)/(C9))']
    assert ws["E6"].number_format == "0.00%"
    r = web.client.get(f"/reports/monthly.pdf?node={w.district.code}&month={OCT.key}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages))
    assert "满意率（按承办单位）" in text
    assert "海滨街道人民调解委员会5360.0%" in text


def test_the_figure_starts_from_the_months_answers(app, answers):
    """The plan reads the month's answers and looks their cases up by id; it does not walk every
    case of the subtree against the answers (an OR of two INs did: 3.3 s at 1,000,000 cases on
    PostgreSQL, 6 s with JIT). A plan shape, not a time."""
    w = answers
    [(sql, params)] = [
        s for s in statements_of(lambda: satisfaction_report(w.district, OCT)) if "dispute" in s[0]
    ]
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        plan = "\n".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert not re.search(r"SCAN dispute\b", plan), plan
        assert re.search(r"SEARCH dispute USING INTEGER PRIMARY KEY", plan), plan
    else:
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
        # The answers are one relation (the UNION: an Append of both tables) joined to the cases,
        # not two hashed subplans every case of the subtree is filtered against.
        assert not re.search(r"Filter: .*SubPlan", plan), plan
        assert "Append" in plan, plan
