"""月清月结 and 双百 figures on hand-built cases, checked against counts worked out by hand.

October 2026 (s = 10-01, e = 10-31). The cases of 海滨街道 (most at 第1网格, two directly at the
street) and 双港镇 are listed in ``october``; the expected figures below are counted by hand from
that list, following INTERFACES.md to the letter."""

from __future__ import annotations

from datetime import date

import pytest

from mediation.common.enums import NodeLevel, RiskLevel
from mediation.extensions import db
from mediation.reports.common import Month, rate
from mediation.reports.figures import monthly_report, shuangbai_report, trend
from mediation.reports.models import Screening
from tests.factories import node
from tests.reports_data import case

OCT = Month(2026, 10)
D = date


@pytest.fixture
def october(world):
    w = world
    g = w.grid_a
    c = {}
    c[1] = case(w, g, D(2026, 9, 15), prominent=True)  # carried in, open
    c[2] = case(w, g, D(2026, 9, 30), closed_on=D(2026, 10, 1))  # closed on the 1st
    c[3] = case(w, g, D(2026, 9, 20), closed_on=D(2026, 9, 30), civil_to_criminal=True)  # out of scope
    c[4] = case(w, w.town_a, D(2026, 10, 1), venue="家庭")  # new on the 1st
    c[5] = case(w, w.town_a, D(2026, 10, 31), venue=None)  # new on the 31st
    c[6] = case(w, g, D(2026, 10, 10), closed_on=D(2026, 10, 10), outcome="调解不成功", venue="学校")
    c[7] = case(w, g, D(2026, 10, 31), closed_on=D(2026, 10, 31), prominent=True)  # same day, last day
    c[8] = case(w, g, D(2026, 11, 1))  # next month
    c[9] = case(w, g, D(2026, 10, 5), closed_on=D(2026, 11, 1))  # open on e
    c[10] = case(w, g, D(2026, 8, 1), closed_on=D(2026, 10, 31), outcome="撤回", civil_to_criminal=True)
    c[11] = case(
        w,
        g,
        D(2026, 9, 1),
        status="稳控",
        stabilized_on=D(2026, 9, 10),
        prominent=True,
        risk_level=RiskLevel.SERIOUS.value,
    )
    c[12] = case(w, g, D(2026, 10, 3), status="稳控", accepted_on=D(2026, 10, 4))  # imported 稳控
    c[13] = case(w, g, D(2026, 10, 20), status="稳控", stabilized_on=D(2026, 11, 2))  # 稳控 after e
    c[14] = case(w, g, D(2026, 9, 5), stabilized_on=D(2026, 10, 10), closed_on=D(2026, 11, 5))
    c[15] = case(w, g, D(2026, 9, 6))  # resumed: 办理中
    c[16] = case(w, g, D(2026, 9, 1), accepted_on=D(2026, 9, 2), deadline=D(2026, 10, 2))
    c[17] = case(w, g, D(2026, 10, 1), accepted_on=D(2026, 10, 1), deadline=D(2026, 10, 31))
    c[18] = case(w, g, D(2026, 10, 1), accepted_on=D(2026, 10, 1), deadline=D(2026, 10, 30), prominent=True)
    c[19] = case(
        w, g, D(2026, 9, 1), accepted_on=D(2026, 9, 1), deadline=D(2026, 9, 20), closed_on=D(2026, 10, 15)
    )
    c[20] = case(w, w.village_b, D(2026, 10, 15), prominent=True, reason="双方分歧较大，下月继续调解。")
    c[21] = case(w, w.grid_b, D(2026, 9, 10), closed_on=D(2026, 10, 20))
    db.session.commit()
    return c


TOWN_A = {
    "carried_in": 8,
    "new": 9,
    "closed": 5,
    "resolved": 3,
    "stabilized": 3,
    "carried_out": 12,
    "overdue": 2,
    "clearance_rate": 0.2941,
    "resolution_rate": 0.6,
}
TOWN_A_PROMINENT = {
    "carried_in": 2,
    "new": 2,
    "closed": 1,
    "resolved": 1,
    "stabilized": 1,
    "carried_out": 3,
    "overdue": 1,
    "clearance_rate": 0.25,
    "resolution_rate": 1.0,
}
TOWN_B = {
    "carried_in": 1,
    "new": 1,
    "closed": 1,
    "resolved": 1,
    "stabilized": 0,
    "carried_out": 1,
    "overdue": 0,
    "clearance_rate": 0.5,
    "resolution_rate": 1.0,
}
TOWN_B_PROMINENT = {
    "carried_in": 0,
    "new": 1,
    "closed": 0,
    "resolved": 0,
    "stabilized": 0,
    "carried_out": 1,
    "overdue": 0,
    "clearance_rate": 0.0,
    "resolution_rate": None,
}
DISTRICT = {
    "carried_in": 9,
    "new": 10,
    "closed": 6,
    "resolved": 4,
    "stabilized": 3,
    "carried_out": 13,
    "overdue": 2,
    "clearance_rate": 0.3158,
    "resolution_rate": 0.6667,
}
DISTRICT_PROMINENT = {
    "carried_in": 2,
    "new": 3,
    "closed": 1,
    "resolved": 1,
    "stabilized": 1,
    "carried_out": 4,
    "overdue": 1,
    "clearance_rate": 0.2,
    "resolution_rate": 1.0,
}
KEYS = set(TOWN_A)


def figures(report: dict) -> dict:
    return {k: report[k] for k in KEYS}


def test_each_figure_of_a_town(world, october):
    report = monthly_report(world.town_a, OCT)
    assert figures(report) == TOWN_A
    assert figures(report["prominent"]) == TOWN_A_PROMINENT


def test_the_parent_is_the_sum_of_its_children(world, october):
    report = monthly_report(world.district, OCT)
    assert figures(report) == DISTRICT
    assert figures(report["prominent"]) == DISTRICT_PROMINENT
    b = monthly_report(world.town_b, OCT)
    assert figures(b) == TOWN_B and figures(b["prominent"]) == TOWN_B_PROMINENT


def test_a_node_below_leaves_out_the_cases_of_its_parent(world, october):
    """Cases 4 and 5 sit directly at 海滨街道: its community does not count them."""
    village = monthly_report(world.village_a, OCT)
    assert village["new"] == TOWN_A["new"] - 2
    assert village["carried_out"] == TOWN_A["carried_out"] - 2
    assert village["carried_in"] == TOWN_A["carried_in"]
    grid = monthly_report(world.grid_a, OCT)
    assert figures(grid) == figures(village)


def test_first_and_last_days_of_the_month(world, october):
    """Registered on the 1st and the 31st count as new; closed on the 1st and the 31st count as
    closed; the month before and after see them on the right side of the border."""
    sept, nov = monthly_report(world.town_a, OCT.shift(-1)), monthly_report(world.town_a, OCT.shift(1))
    # September: case 3 (closed 09-30) closed in September; case 2 (closed 10-01) still open on 09-30.
    assert sept["closed"] == 1
    assert sept["carried_out"] == TOWN_A["carried_in"]
    # November carries in what October carried out; case 8 (11-01) is new in November.
    assert nov["carried_in"] == TOWN_A["carried_out"]
    assert nov["new"] == 1
    assert nov["closed"] == 2  # case 9 closed 11-01, case 14 closed 11-05


def test_rates_are_null_on_zero_denominators(world, october):
    empty = monthly_report(world.town_a, Month(2025, 1))
    assert {k: empty[k] for k in KEYS - {"clearance_rate", "resolution_rate"}} == dict.fromkeys(
        KEYS - {"clearance_rate", "resolution_rate"}, 0
    )
    assert empty["clearance_rate"] is None and empty["resolution_rate"] is None
    assert empty["prominent"]["clearance_rate"] is None
    assert monthly_report(world.town_b, OCT)["prominent"]["resolution_rate"] is None


def test_rates_have_at_most_four_decimals():
    assert rate(1, 3) == 0.3333 and rate(2, 3) == 0.6667 and rate(0, 5) == 0.0 and rate(3, 0) is None


def test_carried_out_is_carried_in_plus_new_minus_closed_and_the_open_cases(world, october):
    for month in [OCT.shift(i) for i in range(-3, 3)]:
        for place in (world.district, world.town_a, world.town_b, world.village_a, world.grid_b):
            r = monthly_report(place, month)
            assert r["carried_out"] == r["carried_in"] + r["new"] - r["closed"]
            p = r["prominent"]
            assert p["carried_out"] == p["carried_in"] + p["new"] - p["closed"]
            e = month.last
            expected_open = sum(
                1
                for d in october.values()
                if d.node.path.startswith(place.path)
                and d.registered_on <= e
                and not (d.closed_on and d.closed_on <= e)
            )
            assert r["carried_out"] == expected_open, (place.name, month)


def test_prominent_open_cases_carry_their_reasons(world, october):
    report = monthly_report(world.district, OCT)
    listed = {c["case_no"]: c["carry_over_reason"] for c in report["prominent_carry_over"]}
    assert set(listed) == {october[i].case_no for i in (1, 11, 18, 20)}
    assert listed[october[20].case_no] == "双方分歧较大，下月继续调解。"
    assert listed[october[1].case_no] is None


def test_trend_matches_the_monthly_figures(world, october):
    points = trend(world.town_a, OCT, monthly_report(world.town_a, OCT)["carried_out"], months=4)
    assert [p["month"] for p in points] == ["2026-07", "2026-08", "2026-09", "2026-10"]
    for p in points:
        r = monthly_report(world.town_a, Month.parse(p["month"]))
        assert (p["carried_in"], p["new"], p["closed"], p["resolved"], p["carried_out"]) == (
            r["carried_in"],
            r["new"],
            r["closed"],
            r["resolved"],
            r["carried_out"],
        )


# ------------------------------------------------------------------------------------- 双百


def test_shuangbai_figures(world, october):
    db.session.add_all(
        [
            Screening(
                node=world.grid_a, reported_on=D(2026, 10, 31), found=0, user=world.grid_a_user.user
            ),  # 零报告
            Screening(node=world.grid_b, reported_on=D(2026, 9, 30), found=2, user=world.center_user_b.user),
        ]
    )
    db.session.commit()
    r = shuangbai_report(world.district, OCT)
    assert r["grids_total"] == 2 and r["grids_reported"] == 1 and r["screening_rate"] == 0.5
    assert r["in_scope"] == DISTRICT["carried_in"] + DISTRICT["new"] == 19
    assert r["resolved"] == 4 and r["stabilized"] == 3
    assert r["resolve_or_stabilize_rate"] == round(7 / 19, 4)
    assert r["civil_to_criminal"] == 1  # case 10; case 3 is out of scope
    assert r["by_venue"] == {"村": 7, "家庭": 1, "学校": 1, "企业": 0, "单位": 0, "未填": 1}
    b = shuangbai_report(world.town_b, OCT)
    assert (b["grids_total"], b["grids_reported"], b["screening_rate"]) == (1, 0, 0.0)
    sept = shuangbai_report(world.town_b, OCT.shift(-1))
    assert sept["grids_reported"] == 1 and sept["screening_rate"] == 1.0


def test_shuangbai_without_grids_or_cases_is_null(world):
    town = node("120116200000", "新城镇", NodeLevel.TOWN, world.district)
    db.session.commit()
    r = shuangbai_report(town, OCT)
    assert r["grids_total"] == 0 and r["grids_reported"] == 0 and r["screening_rate"] is None
    assert r["in_scope"] == 0 and r["resolve_or_stabilize_rate"] is None
    assert r["by_venue"] == {"村": 0, "家庭": 0, "学校": 0, "企业": 0, "单位": 0, "未填": 0}


def test_a_grid_with_only_zero_reports_counts_as_reported(world):
    db.session.add(
        Screening(node=world.grid_b, reported_on=D(2026, 10, 1), found=0, user=world.center_user_b.user)
    )
    db.session.commit()
    assert shuangbai_report(world.town_b, OCT)["grids_reported"] == 1


# ------------------------------------------------------------------------------------- API

MONTHLY_KEYS = {
    "carried_in",
    "new",
    "closed",
    "resolved",
    "stabilized",
    "carried_out",
    "overdue",
    "clearance_rate",
    "resolution_rate",
    "prominent",
}
SHUANGBAI_KEYS = {
    "grids_total",
    "grids_reported",
    "screening_rate",
    "in_scope",
    "resolved",
    "stabilized",
    "resolve_or_stabilize_rate",
    "civil_to_criminal",
    "by_venue",
}


def test_monthly_api(client, world, october):
    r = client.get(
        "/api/v1/reports/monthly",
        query_string={"node": world.district.code, "month": "2026-10"},
        headers=world.district_staff.headers,
    )
    assert r.status_code == 200
    body = r.get_json()
    assert MONTHLY_KEYS <= set(body)
    assert {k: body[k] for k in KEYS} == DISTRICT
    assert {k: body["prominent"][k] for k in KEYS} == DISTRICT_PROMINENT
    assert set(body["prominent"]) >= KEYS
    assert isinstance(body["clearance_rate"], float)


def test_shuangbai_api(client, world, october):
    r = client.get(
        "/api/v1/reports/shuangbai",
        query_string={"node": world.town_b.code, "month": "2026-10"},
        headers=world.center_user_b.headers,
    )
    assert r.status_code == 200
    body = r.get_json()
    assert SHUANGBAI_KEYS <= set(body)
    assert body["in_scope"] == 2 and body["grids_total"] == 1 and body["grids_reported"] == 0
    assert body["screening_rate"] == 0.0


def test_report_access(client, world, october):
    def get(who, code, month="2026-10", path="monthly"):
        return client.get(
            f"/api/v1/reports/{path}", query_string={"node": code, "month": month}, headers=who.headers
        )

    # A town user reads its own town and below, not the other town nor the district.
    assert get(world.center_user_a, world.town_a.code).status_code == 200
    assert get(world.center_user_a, world.village_a.code).status_code == 200
    for code in (world.town_b.code, world.district.code, world.grid_b.code):
        r = get(world.center_user_a, code)
        assert r.status_code == 403 and "辖区" in r.get_json()["message"]
        assert get(world.center_user_a, code, path="shuangbai").status_code == 403
        assert get(world.center_user_a, code, path="channels").status_code == 403
    assert get(world.grid_a_user, world.grid_a.code).status_code == 200
    assert get(world.grid_a_user, world.village_a.code).status_code == 403
    assert get(world.admin, world.town_b.code).status_code == 200
    assert (
        client.get(
            "/api/v1/reports/monthly", query_string={"node": world.town_a.code, "month": "2026-10"}
        ).status_code
        == 401
    )


@pytest.mark.parametrize(
    "params,field",
    [
        ({"node": "999999", "month": "2026-10"}, "node"),
        ({"node": "120116000000", "month": "2026-13"}, "month"),
        ({"node": "120116000000", "month": "202610"}, "month"),
        ({"node": "120116000000"}, "month"),
        ({"month": "2026-10"}, "node"),
    ],
)
def test_bad_node_or_month_is_422_in_chinese(client, world, params, field):
    r = client.get("/api/v1/reports/monthly", query_string=params, headers=world.district_staff.headers)
    assert r.status_code == 422
    messages = r.get_json()["errors"]["query"][field]
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in messages)


def test_report_pages_and_drill_down(web, world, october):
    web.login("qu_center")
    html = web.client.get("/reports/?month=2026-10").get_data(as_text=True)
    assert "海滨区 · 2026年10月月清月结" in html
    assert f'href="/reports/?node={world.town_a.code}&amp;month=2026-10"' in html
    assert html.count("<svg") >= 3 and 'class="bar' in html and 'class="line' in html
    child = web.client.get(f"/reports/?node={world.town_a.code}&month=2026-10").get_data(as_text=True)
    assert "海滨街道 · 2026年10月月清月结" in child and "新家园社区" in child
    assert web.client.get("/reports/?node=nope&month=2026-10").status_code == 404
    for path in ("/reports/shuangbai", "/reports/channels"):
        assert web.client.get(f"{path}?node={world.town_b.code}&month=2026-10").status_code == 200


def test_report_pages_refuse_other_towns(web, world, october):
    web.login("center_a")
    assert web.client.get(f"/reports/?node={world.town_b.code}&month=2026-10").status_code == 403
    assert web.client.get(f"/reports/monthly.xlsx?node={world.town_b.code}&month=2026-10").status_code == 403
    html = web.client.get("/reports/?month=2026-10").get_data(as_text=True)
    assert "海滨街道 · 2026年10月" in html and world.town_b.code not in html
