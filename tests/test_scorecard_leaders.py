"""包案 on the scorecard (考核): each unit's cases in the period's scope taken on by a 包案领导 (figure
``led``, a ``case_leader`` row) against a hand count over tests/scorecard_data.py, its drill-down list
as long as the count, the API and the Excel export carrying it, and the 通报 naming the leader of an
overdue case."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from mediation.extensions import db
from mediation.keypeople.models import CaseLeader
from mediation.reports.common import Quarter
from mediation.reports.models import Notice
from mediation.reports.scorecard import scorecard
from tests.conftest import login
from tests.reports_data import case
from tests.scorecard_data import Q2, Q3, build
from tests.test_notices import pdf_text

TOTAL = re.compile(r'class="result-count" role="status">共 <strong>(\d+)</strong> 件')
LED_LINK = re.compile(r'<a class="fig-link" data-figure="led" data-count="(\d+)"[^>]*?href="([^"]+)"')


def lead(dispute, name, post):
    db.session.add(CaseLeader(dispute_id=dispute.id, name=name, post=post, since=date(2026, 7, 1)))


@pytest.fixture
def w(world):
    w = build(world)
    # Town A: a1 (closed 7-20) and a3 (open, overdue at 9-30) are in Q3's scope; a0, closed in May, is
    # in Q2's only. Town B: b1 (closed 8-1) in Q3; b3 (overdue) has no leader.
    w.a0 = case(w, w.grid_a, date(2026, 4, 1), accepted_on=date(2026, 4, 1), deadline=date(2026, 5, 1),
                closed_on=date(2026, 5, 1), outcome="调解成功", unit=w.committee_a)  # fmt: skip
    lead(w.a1, "张三", "副区长")
    lead(w.a3, "李四", "街道党工委书记")
    lead(w.a0, "王五", "副区长")
    lead(w.b1, "赵六", "镇长")
    db.session.commit()
    return w


def led(card):
    return {r["node_name"]: r["led"] for r in card["rows"]}


def test_led_cases_match_the_hand_count(app, w):
    assert led(scorecard(w.district, Q3)) == {"海滨街道": 2, "双港镇": 1, "新城镇": 0}
    # Q2: a0 (closed 5-1) and a4 (open at 6-30, no leader) in town A; b3 (no leader) in town B.
    assert led(scorecard(w.district, Q2)) == {"海滨街道": 1, "双港镇": 0, "新城镇": 0}
    # Not scored: the totals stay those of the hand-counted fixture.
    assert {r["node_name"]: r["total"] for r in scorecard(w.district, Q3)["rows"]}["海滨街道"] == 58.3
    assert scorecard(w.district, Quarter(2026, 1))["rows"][0]["led"] == 0


def test_page_links_api_and_excel(client, w):
    assert login(client, "qu_center").status_code in (302, 303)
    page = client.get("/reports/scorecard?node=120116000000&period=2026-Q3").get_data(as_text=True)
    assert "包案" in page
    links = LED_LINK.findall(page)
    assert sorted(int(n) for n, _ in links) == [0, 1, 2]
    for count, href in links:
        listing = client.get(html.unescape(href)).get_data(as_text=True)
        found = TOTAL.search(listing)
        assert (int(found.group(1)) if found else 0) == int(count), href

    r = client.get(
        "/api/v1/reports/scorecard?node=120116000000&period=2026-Q3", headers=w.district_staff.headers
    )
    assert r.status_code == 200
    assert {row["node_name"]: row["led"] for row in r.get_json()["rows"]} == {
        "海滨街道": 2,
        "双港镇": 1,
        "新城镇": 0,
    }
    assert "包案领导" in r.get_json()["led_definition"]

    x = client.get("/reports/scorecard.xlsx?node=120116000000&period=2026-Q3")
    sheet = load_workbook(io.BytesIO(x.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(row for row in rows if "名次" in row)
    col = header.index("包案（不计分）")
    assert {row[1]: row[col] for row in rows if row[1] in ("海滨街道", "双港镇", "新城镇")} == {
        "海滨街道": 2,
        "双港镇": 1,
        "新城镇": 0,
    }


def test_the_notice_names_the_leader_of_an_overdue_case(client, w):
    r = client.post(
        "/api/v1/reports/notices",
        json={"node": w.district.code, "period": "2026-Q3"},
        headers=w.district_staff.headers,
    )
    assert r.status_code == 201, r.get_json()
    notice_id = r.get_json()["id"]
    notice = db.session.get(Notice, notice_id)
    assert {c["case_no"]: c["leader"] for c in notice.snapshot["overdue"]} == {
        w.a3.case_no: "街道党工委书记李四",
        w.b3.case_no: None,
    }
    text = pdf_text(notice.pdf)
    assert "包案领导" in text and "街道党工委书记李四" in text
