"""考核 (mediation/reports/scorecard.py): the figures against a hand-counted fixture (three towns, one
without a case, a quarter spanning months), the weights from the configuration, the drill-down lists
as many cases as each figure, the API's shape and refusals, the page and its Excel export."""

from __future__ import annotations

import html
import io
import re

import pytest
from openpyxl import load_workbook

from mediation.reports.common import Month, Quarter, Year, parse_term
from mediation.reports.scorecard import scorecard
from tests.conftest import login
from tests.scorecard_data import Q2_TOTALS, Q3, Q3_FIGURES, Q3_TOTALS, build

LINK = re.compile(r'<a class="fig-link[^"]*" data-figure="([^"]+)" data-count="(\d+)"[^>]*?href="([^"]+)"')
TOTAL = re.compile(r'class="result-count" role="status">共 <strong>(\d+)</strong> 件')


@pytest.fixture
def w(world):
    return build(world)


def rows_by_name(card):
    return {r["node_name"]: r for r in card["rows"]}


def test_periods_parse_month_quarter_and_year():
    assert parse_term("2026-11") == Month(2026, 11)
    assert parse_term("2026-q4") == Quarter(2026, 4)
    assert parse_term("2026") == Year(2026)
    assert Quarter(2026, 1).shift(-1) == Quarter(2025, 4)
    assert (Quarter(2026, 3).first.isoformat(), Quarter(2026, 3).last.isoformat()) == (
        "2026-07-01",
        "2026-09-30",
    )
    for bad in ("2026-Q5", "2026-13", "26", "2026-11-01", ""):
        with pytest.raises(ValueError, match="考核期间格式"):
            parse_term(bad)


def test_figures_match_the_hand_count(app, w):
    card = scorecard(w.district, Q3)
    rows = rows_by_name(card)
    assert set(rows) == set(Q3_FIGURES)
    for name, expected in Q3_FIGURES.items():
        for key, want in expected.items():
            cell = rows[name]["figures"][key]
            if isinstance(want, tuple):
                assert (cell["value"], cell["numerator"], cell["denominator"]) == want, (name, key)
            else:
                assert cell["value"] == want, (name, key)
        assert rows[name]["total"] == Q3_TOTALS[name], name
        assert rows[name]["previous_total"] == Q2_TOTALS[name], name
    assert [r["node_name"] for r in card["rows"]] == ["海滨街道", "双港镇", "新城镇"]
    assert [r["rank"] for r in card["rows"]] == [1, 2, None]
    assert [r["previous_rank"] for r in card["rows"]] == [1, 2, None]
    assert card["previous_period"] == "2026-Q2"
    # Every figure says what it is.
    assert all(f["definition"] for f in card["figures"])


def test_the_month_and_the_year_are_the_same_conditions(app, w):
    # September alone: a2 closed late (9-10), a3 received, a4's 回访 due 9-15 open, b4 not accepted.
    sep = rows_by_name(scorecard(w.district, Month(2026, 9)))["海滨街道"]["figures"]
    assert sep["received"]["value"] == 1
    assert (sep["on_time_rate"]["numerator"], sep["on_time_rate"]["denominator"]) == (0, 1)
    assert (sep["followup_rate"]["numerator"], sep["followup_rate"]["denominator"]) == (0, 1)
    year = rows_by_name(scorecard(w.district, Year(2026)))["海滨街道"]["figures"]
    assert year["received"]["value"] == 4  # a4 in June too


def test_weights_from_the_configuration_change_the_ranking(app, w):
    assert [r["node_name"] for r in scorecard(w.district, Q3)["rows"]][:2] == ["海滨街道", "双港镇"]
    app.config["SCORECARD_WEIGHTS"] = {"success_rate": 1, "on_time_rate": 1}
    card = scorecard(w.district, Q3)
    rows = rows_by_name(card)
    assert rows["双港镇"]["total"] == 100.0 and rows["海滨街道"]["total"] == 58.3  # (50 + 66.67) / 2
    assert [r["node_name"] for r in card["rows"]][:2] == ["双港镇", "海滨街道"]
    assert {f["key"]: f["counted"] for f in card["figures"]}["received"] is False
    app.config["SCORECARD_WEIGHTS"] = {"typo_rate": 1}
    with pytest.raises(ValueError, match="typo_rate"):
        scorecard(w.district, Q3)


def test_api_shape_and_refusals(client, w):
    r = client.get(
        "/api/v1/reports/scorecard?node=120116000000&period=2026-Q3", headers=w.district_staff.headers
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["period"] == "2026-Q3" and body["period_label"] == "2026年第三季度"
    row = body["rows"][0]
    assert {"node", "node_name", "rank", "total", "previous_rank", "previous_total", "figures"} <= set(row)
    assert row["figures"]["success_rate"] == {
        "value": 0.5,
        "numerator": 1,
        "denominator": 2,
        "figure": "resolved",
        "denominator_figure": "handled",
        "score": 50.0,
    }
    r = client.get(
        "/api/v1/reports/scorecard?node=120116000000&period=2026-Q5", headers=w.district_staff.headers
    )
    assert r.status_code == 422 and "考核期间格式" in r.get_json()["errors"]["query"]["period"][0]
    r = client.get("/api/v1/reports/scorecard?node=NOPE&period=2026-Q3", headers=w.district_staff.headers)
    assert r.status_code == 422 and "未知的节点代码" in r.get_json()["errors"]["query"]["node"][0]
    # Another town's node: refused like the monthly report.
    r = client.get(
        f"/api/v1/reports/scorecard?node={w.town_a.code}&period=2026-Q3", headers=w.center_user_b.headers
    )
    assert r.status_code == 403
    r = client.get(
        f"/api/v1/reports/scorecard?node={w.town_a.code}&period=2026-Q3", headers=w.center_user_a.headers
    )
    assert r.status_code == 200


def test_every_link_of_the_page_lists_as_many_cases_as_its_figure(client, w):
    assert login(client, "qu_center").status_code in (302, 303)
    r = client.get("/reports/scorecard?node=120116000000&period=2026-Q3")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "2026年第三季度" in page and "按期办结率" in page and "上期" in page
    for f in ("受理日期在本期内的案件数", "督办按期回复率"):
        assert f in page
    links = LINK.findall(page)
    figures = {f for f, _, _ in links}
    assert {"received", "resolved", "handled", "closed_on_time", "closed", "overdue", "supervision_on_time",
            "supervision_due", "followup_done", "followup_due", "satisfied", "satisfaction_answered"} <= figures  # fmt: skip
    for figure, count, href in links:
        listing = client.get(html.unescape(href))
        assert listing.status_code == 200, href
        text = listing.get_data(as_text=True)
        found = TOTAL.search(text)
        shown = int(found.group(1)) if found else 0
        assert shown == int(count), (figure, href)
        assert "返回考核排名" in text
    # the API's list agrees too
    api = client.get(
        f"/api/v1/disputes?figure=supervision_due&node={w.town_a.code}&period=2026-Q3",
        headers=w.district_staff.headers,
    )
    assert api.status_code == 200 and api.get_json()["total"] == 2
    bad = client.get(f"/api/v1/disputes?figure=new&node={w.town_a.code}&period=2026-Q3&month=2026-09",
                     headers=w.district_staff.headers)  # fmt: skip
    assert bad.status_code == 422


def test_excel_export(client, w):
    assert login(client, "qu_center").status_code in (302, 303)
    r = client.get("/reports/scorecard.xlsx?node=120116000000&period=2026-Q3")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    flat = [v for row in values for v in row if v is not None]
    assert "海滨街道" in flat and 58.3 in flat and "按期办结率" in flat
