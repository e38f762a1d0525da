"""考核 per 调解员 (reports/scorecard.py, ``by=mediator``): the mediators of the node's subtree ranked on
受理数, 调解成功率, 按期办结率, 超期数, 回访完成率 and 满意率 over the cases that name them as 承办调解员,
against a hand count over tests/scorecard_data.py; every figure of the page links to a case list
(``mediator=<id>``) of exactly as many cases; the API; the list's ``mediator`` filter keeps to the
cases the user sees."""

from __future__ import annotations

import html
import re

import pytest

from mediation.extensions import db
from mediation.mediators.models import Background, Employment, Mediator
from mediation.reports.scorecard import mediator_scorecard
from tests.conftest import login
from tests.scorecard_data import Q3, build

LINK = re.compile(r'<a class="fig-link[^"]*" data-figure="([^"]+)" data-count="(\d+)"[^>]*?href="([^"]+)"')
TOTAL = re.compile(r'class="result-count" role="status">共 <strong>(\d+)</strong> 件')


def mediator(name, unit, cases, active=True):
    m = Mediator(name=name, employment=Employment.FULL_TIME, background=Background.LAWYER, active=active)
    m.units.append(unit)
    m.cases.extend(cases)
    db.session.add(m)
    return m


@pytest.fixture
def w(world):
    w = build(world)
    # 陈明 (海滨街道调委会): a1 a2 a3 a4; 周红 (海滨街道调委会): a1 and b1 (a case of 双港镇);
    # 吴刚 (双港镇调委会): b1 b2 b3; 郑平 (双港镇调委会): none.
    w.m1 = mediator("陈明", w.committee_a, [w.a1, w.a2, w.a3, w.a4])
    w.m2 = mediator("周红", w.committee_a, [w.a1, w.b1])
    w.m3 = mediator("吴刚", w.committee_b, [w.b1, w.b2, w.b3])
    w.m4 = mediator("郑平", w.committee_b, [])
    db.session.commit()
    return w


# Q3, counted by hand from tests/scorecard_data.py (value, numerator, denominator):
# 陈明: received a1 a2 a3 = 3; handled a1 a2, resolved a1 → 1/2; closed a1 a2 a4, on time a1 a4 → 2/3;
#       overdue a3 = 1; 回访 due a1 (done) a4 (open), a2's cancelled → 1/2; satisfaction a1 (5) → 1/1.
# 周红: received a1 b1 = 2; 2/2 resolved; 2/2 on time; overdue 0; 回访 a1 b1 done → 2/2;
#       satisfaction a1 (party 5) yes, b1 (staff 3) no → 1/2.
# 吴刚: received b1 b2 = 2; 2/2; 2/2; overdue b3 = 1; 回访 b1 → 1/1; satisfaction b1 (3) → 0/1.
# 郑平: no case → not scored.
EXPECTED = {
    "陈明": {
        "received": 3,
        "success_rate": (0.5, 1, 2),
        "on_time_rate": (0.6667, 2, 3),
        "overdue": 1,
        "followup_rate": (0.5, 1, 2),
        "satisfaction_rate": (1.0, 1, 1),
    },
    "周红": {
        "received": 2,
        "success_rate": (1.0, 2, 2),
        "on_time_rate": (1.0, 2, 2),
        "overdue": 0,
        "followup_rate": (1.0, 2, 2),
        "satisfaction_rate": (0.5, 1, 2),
    },
    "吴刚": {
        "received": 2,
        "success_rate": (1.0, 2, 2),
        "on_time_rate": (1.0, 2, 2),
        "overdue": 1,
        "followup_rate": (1.0, 1, 1),
        "satisfaction_rate": (0.0, 0, 1),
    },
}
# Default weights of the six figures: received 10, success 20, on time 20, overdue 15, 回访 10, 满意 10
# (85; 督办 and 排查 do not apply). Largest 受理数 3, largest 超期数 1.
# 陈明: 10×100 + 20×50 + 20×66.67 + 15×0 + 10×50 + 10×100 = 4833.4 / 85 = 56.9
# 周红: 10×66.67 + 20×100 + 20×100 + 15×100 + 10×100 + 10×50 = 7666.7 / 85 = 90.2
# 吴刚: 10×66.67 + 20×100 + 20×100 + 15×0 + 10×100 + 10×0 = 5666.7 / 85 = 66.7
# Q2: 陈明 a4 (received 6-10, open, not overdue) → (1000 + 1500) / 25 = 100.0, rank 1;
#     吴刚 b3 (received 5-1, overdue) → 1000 / 25 = 40.0, rank 2; 周红 nothing in Q2.
TOTALS = {"周红": 90.2, "吴刚": 66.7, "陈明": 56.9, "郑平": None}


def by_name(card):
    return {r["name"]: r for r in card["rows"]}


def test_figures_and_ranking_match_the_hand_count(app, w):
    card = mediator_scorecard(w.district, Q3)
    assert card["by"] == "mediator"
    assert [f["key"] for f in card["figures"]] == [
        "received",
        "success_rate",
        "on_time_rate",
        "overdue",
        "followup_rate",
        "satisfaction_rate",
    ]
    rows = by_name(card)
    for name, expected in EXPECTED.items():
        for key, want in expected.items():
            cell = rows[name]["figures"][key]
            if isinstance(want, tuple):
                assert (cell["value"], cell["numerator"], cell["denominator"]) == want, (name, key)
            else:
                assert cell["value"] == want, (name, key)
    assert {n: r["total"] for n, r in rows.items()} == TOTALS
    assert [(r["name"], r["rank"]) for r in card["rows"]] == [
        ("周红", 1),
        ("吴刚", 2),
        ("陈明", 3),
        ("郑平", None),
    ]
    assert [(r["previous_rank"], r["previous_total"]) for r in card["rows"]] == [
        (None, None),
        (2, 40.0),
        (1, 100.0),
        (None, None),
    ]
    assert rows["陈明"]["rank_change"] == -2 and rows["周红"]["units"] == ["海滨街道人民调解委员会"]


def test_a_town_counts_its_own_cases_and_mediators(app, w):
    rows = by_name(mediator_scorecard(w.town_a, Q3))
    assert set(rows) == {"陈明", "周红"}  # 双港镇's mediators are not 海滨街道's
    # 周红's b1 lies in 双港镇: only a1 counts here.
    assert rows["周红"]["figures"]["received"]["value"] == 1
    assert rows["陈明"]["figures"]["received"]["value"] == 3


def test_every_link_lists_as_many_cases_as_its_figure(client, w):
    assert login(client, "qu_center").status_code in (302, 303)
    r = client.get("/reports/scorecard?node=120116000000&period=2026-Q3&by=mediator")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "调解员考核排名" in page and "周红" in page and ">督办按期回复率" not in page
    links = LINK.findall(page)
    assert {f for f, _, _ in links} == {
        "received",
        "resolved",
        "handled",
        "closed_on_time",
        "closed",
        "overdue",
        "followup_done",
        "followup_due",
        "satisfied",
        "satisfaction_answered",
    }
    assert len(links) == 4 * 10 + 4 * 4  # four people: six figures, four rates with their two parts
    for figure, count, href in links:
        assert "mediator=" in href
        listing = client.get(html.unescape(href))
        assert listing.status_code == 200, href
        text = listing.get_data(as_text=True)
        found = TOTAL.search(text)
        assert (int(found.group(1)) if found else 0) == int(count), (figure, href)
        assert "返回考核排名" in text and "by=mediator" in text
    # The unit scorecard links here, and a wrong ``by`` is refused.
    assert "by=mediator" in client.get("/reports/scorecard?node=120116000000&period=2026-Q3").get_data(
        as_text=True
    )
    assert client.get("/reports/scorecard?node=120116000000&period=2026-Q3&by=people").status_code == 422


def test_api(client, w):
    url = "/api/v1/reports/scorecard?node=120116000000&period=2026-Q3&by=mediator"
    r = client.get(url, headers=w.district_staff.headers)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["by"] == "mediator"
    first = body["rows"][0]
    assert (first["name"], first["mediator"], first["rank"], first["total"]) == ("周红", w.m2.id, 1, 90.2)
    assert first["figures"]["satisfaction_rate"]["denominator"] == 2
    assert client.get(url.replace("mediator", "people"), headers=w.district_staff.headers).status_code == 422
    # Another town's node: refused as for the units.
    other = f"/api/v1/reports/scorecard?node={w.town_a.code}&period=2026-Q3&by=mediator"
    assert client.get(other, headers=w.center_user_b.headers).status_code == 403
    assert login(client, "center_b").status_code in (302, 303)
    page = client.get(f"/reports/scorecard?node={w.town_a.code}&period=2026-Q3&by=mediator")
    assert page.status_code == 403
    # The list's drill-down through the API agrees.
    api = client.get(
        f"/api/v1/disputes?figure=received&node=120116000000&period=2026-Q3&mediator={w.m1.id}",
        headers=w.district_staff.headers,
    )
    assert api.status_code == 200 and api.get_json()["total"] == 3


def test_the_mediator_filter_lists_only_cases_the_user_sees(client, w):
    def total(who, mediator_id):
        r = client.get(f"/api/v1/disputes?mediator={mediator_id}", headers=who.headers)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["total"]

    assert total(w.district_staff, w.m2.id) == 2  # a1 and b1
    assert total(w.center_user_a, w.m2.id) == 1  # a1 only
    assert total(w.center_user_b, w.m1.id) == 0  # 海滨街道's cases are not 双港镇's to see
    assert total(w.center_user_b, w.m3.id) == 3
    # A crafted drill-down into another town does not widen what one sees.
    r = client.get(
        f"/api/v1/disputes?figure=received&node={w.town_a.code}&period=2026-Q3&mediator={w.m1.id}",
        headers=w.center_user_b.headers,
    )
    assert r.status_code != 200 or r.get_json()["total"] == 0
    bad = client.get("/api/v1/disputes?mediator=abc", headers=w.district_staff.headers)
    assert bad.status_code == 422 and "mediator" in bad.get_json()["errors"]["query"]
    assert login(client, "qu_center").status_code in (302, 303)
    page = client.get("/disputes/?mediator=999999").get_data(as_text=True)
    assert "未知的调解员" in page
