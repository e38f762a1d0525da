"""The overdue review: 预警 / 超期 computed in SQL like routing.deadlines.level_for, riskiest and
longest overdue first, filtered by unit, the per-unit league, and one-click 督办."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mediation.common.enums import RiskLevel
from mediation.common.time import local_today
from mediation.disputes.models import Event
from mediation.extensions import db
from mediation.reports.models import OverdueSupervision
from mediation.reports.service import overdue_review
from mediation.routing.deadlines import level_for
from tests.reports_data import case

TODAY = date(2026, 11, 20)


@pytest.fixture
def cases(world):
    w = world
    a, b = w.grid_a, w.village_b
    c = {}
    # 30-day limits accepted on different days: 24 of 30 days used is exactly 80 % → 预警.
    c["warn_exact"] = case(w, a, date(2026, 10, 27), accepted_on=date(2026, 10, 27), deadline=date(2026, 11, 26),
                           channel="人民调解", unit=w.committee_a)
    c["normal"] = case(w, a, date(2026, 10, 28), accepted_on=date(2026, 10, 28), deadline=date(2026, 11, 27),
                       channel="人民调解", unit=w.committee_a)
    c["due_today"] = case(w, a, date(2026, 10, 21), accepted_on=date(2026, 10, 21), deadline=TODAY,
                          channel="人民调解", unit=w.committee_a)
    c["over_1"] = case(w, a, date(2026, 10, 20), accepted_on=date(2026, 10, 20), deadline=date(2026, 11, 19),
                       channel="人民调解", unit=w.committee_a)
    c["over_10_major"] = case(w, b, date(2026, 10, 1), accepted_on=date(2026, 10, 1), deadline=date(2026, 11, 10),
                              channel="行政调解", unit=w.police_b, risk_level=RiskLevel.SERIOUS.value, prominent=True)
    c["over_30"] = case(w, b, date(2026, 9, 1), accepted_on=date(2026, 9, 1), deadline=date(2026, 10, 21),
                        channel="人民调解", unit=w.committee_b)
    c["closed_overdue"] = case(w, b, date(2026, 9, 1), accepted_on=date(2026, 9, 1), deadline=date(2026, 10, 1),
                               closed_on=date(2026, 11, 1), channel="人民调解", unit=w.committee_b)
    c["no_deadline"] = case(w, b, date(2026, 9, 1))
    c["stabilized_over"] = case(w, b, date(2026, 9, 2), accepted_on=date(2026, 9, 2), deadline=date(2026, 10, 2),
                                status="稳控", stabilized_on=date(2026, 9, 20), channel="人民调解", unit=w.committee_b)
    db.session.commit()
    return c


def test_levels_match_the_routing_rule(world, cases):
    review = overdue_review(world.district, TODAY)
    levels = {i["case_no"]: i["level"] for i in review["items"]}
    for name, d in cases.items():
        expected = level_for(d.accepted_on, d.deadline, TODAY) if d.closed_on is None else None
        if expected in ("预警", "超期"):
            assert levels.get(d.case_no) == expected, name
        else:
            assert d.case_no not in levels, name
    assert levels[cases["warn_exact"].case_no] == "预警"
    assert levels[cases["due_today"].case_no] == "预警"  # the deadline day itself is not overdue
    assert cases["normal"].case_no not in levels
    assert review["overdue"] == 4 and review["warning"] == 2 and review["total"] == 6


def test_sorted_by_risk_then_days_overdue(world, cases):
    items = overdue_review(world.district, TODAY)["items"]
    order = [i["case_no"] for i in items]
    assert order[0] == cases["over_10_major"].case_no  # 重大 first
    rest = [i for i in items[1:]]
    assert [i["days_overdue"] for i in rest] == sorted((i["days_overdue"] for i in rest), reverse=True)
    by_no = {i["case_no"]: i for i in items}
    assert by_no[cases["over_30"].case_no]["days_overdue"] == 30
    assert by_no[cases["over_1"].case_no]["days_overdue"] == 1
    assert by_no[cases["warn_exact"].case_no]["days_overdue"] == -6


def test_subtree_unit_filter_and_league(world, cases):
    town_a = overdue_review(world.town_a, TODAY)
    assert {i["case_no"] for i in town_a["items"]} == {cases[k].case_no for k in ("warn_exact", "due_today", "over_1")}
    only = overdue_review(world.district, TODAY, unit_id=world.committee_b.id)
    assert {i["case_no"] for i in only["items"]} == {cases["over_30"].case_no, cases["stabilized_over"].case_no}
    assert (only["overdue"], only["warning"], only["total"]) == (2, 0, 2)
    warnings = overdue_review(world.district, TODAY, level="预警")
    assert {i["level"] for i in warnings["items"]} == {"预警"}
    assert (warnings["overdue"], warnings["warning"], warnings["total"]) == (0, 2, 2)
    league = {row["unit"]: (row["overdue"], row["warning"]) for row in overdue_review(world.district, TODAY)["league"]}
    assert league == {"TW-B": (2, 0), "TW-A": (1, 2), "PCS-B": (1, 0)}
    assert overdue_review(world.district, TODAY)["league"][0]["unit"] == "TW-B"


def test_overdue_api_and_page_for_center_staff_only(client, web, world, cases):
    r = client.get("/api/v1/reports/overdue", headers=world.district_staff.headers)
    assert r.status_code == 200 and r.get_json()["node"] == world.district.code
    assert client.get("/api/v1/reports/overdue", headers=world.mediator_a.headers).status_code == 403
    r = client.get("/api/v1/reports/overdue", query_string={"node": world.town_b.code},
                   headers=world.center_user_a.headers)
    assert r.status_code == 403
    r = client.get("/api/v1/reports/overdue", query_string={"unit": "TW-B", "level": "超期"},
                   headers=world.district_staff.headers)
    assert r.status_code == 200
    web.login("mediator_a")
    assert web.client.get("/reports/overdue").status_code == 403


def test_one_click_supervision(web, world, cases):
    web.login("qu_center")
    target = cases["over_30"]
    html = web.client.get("/reports/overdue").get_data(as_text=True)
    assert target.case_no in html and "各单位超期排行" in html
    token = web.csrf("/reports/overdue")
    r = web.client.post(f"/reports/overdue/{target.id}/supervise", data={"csrf_token": token})
    assert r.status_code == 302
    db.session.expire_all()
    records = db.session.scalars(select(OverdueSupervision).where(OverdueSupervision.dispute_id == target.id)).all()
    assert len(records) == 1 and records[0].target_unit_id == world.committee_b.id
    assert records[0].level == level_for(target.accepted_on, target.deadline, local_today())
    events = db.session.scalars(select(Event).where(Event.dispute_id == target.id, Event.type == "supervised")).all()
    assert len(events) == 1 and events[0].user_id == world.district_staff.user.id


def test_supervision_api(client, world, cases):
    target = cases["over_1"]
    r = client.post(f"/api/v1/reports/overdue/{target.id}/supervise",
                    json={"note": "请三日内反馈进展。", "reply_due_on": (local_today() + timedelta(days=3)).isoformat()},
                    headers=world.center_user_a.headers)
    assert r.status_code == 201, r.get_json()
    ev = db.session.scalars(select(Event).where(Event.dispute_id == target.id, Event.type == "supervised")).one()
    assert ev.note == "请三日内反馈进展。"
    # Outside the user's subtree: not found; a mediator may not 督办; closed cases need none.
    assert client.post(f"/api/v1/reports/overdue/{cases['over_30'].id}/supervise", json={},
                       headers=world.center_user_a.headers).status_code == 404
    assert client.post(f"/api/v1/reports/overdue/{target.id}/supervise", json={},
                       headers=world.mediator_a.headers).status_code == 403
    assert client.post(f"/api/v1/reports/overdue/{cases['closed_overdue'].id}/supervise", json={},
                       headers=world.district_staff.headers).status_code == 409
