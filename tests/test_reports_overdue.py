"""The overdue review: 预警 / 超期 computed in SQL like routing.deadlines.level_for, riskiest and
longest overdue first, filtered by unit, the per-unit league, and one-click 督办."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from mediation import clock
from mediation.common.enums import RiskLevel
from mediation.disputes.models import Event
from mediation.extensions import db
from mediation.followups.models import Notification, SupervisionLevel, SupervisionOrder, SupervisionStatus
from mediation.reports.overdue import overdue_review
from mediation.routing.deadlines import level_for
from tests.reports_data import case

TODAY = date(2026, 11, 20)


@pytest.fixture
def cases(world):
    w = world
    a, b = w.grid_a, w.village_b
    c = {}
    # 30-day limits accepted on different days: 24 of 30 days used is exactly 80 % → 预警.
    c["warn_exact"] = case(
        w,
        a,
        date(2026, 10, 27),
        accepted_on=date(2026, 10, 27),
        deadline=date(2026, 11, 26),
        channel="人民调解",
        unit=w.committee_a,
    )
    c["normal"] = case(
        w,
        a,
        date(2026, 10, 28),
        accepted_on=date(2026, 10, 28),
        deadline=date(2026, 11, 27),
        channel="人民调解",
        unit=w.committee_a,
    )
    c["due_today"] = case(
        w,
        a,
        date(2026, 10, 21),
        accepted_on=date(2026, 10, 21),
        deadline=TODAY,
        channel="人民调解",
        unit=w.committee_a,
    )
    c["over_1"] = case(
        w,
        a,
        date(2026, 10, 20),
        accepted_on=date(2026, 10, 20),
        deadline=date(2026, 11, 19),
        channel="人民调解",
        unit=w.committee_a,
    )
    c["over_10_major"] = case(
        w,
        b,
        date(2026, 10, 1),
        accepted_on=date(2026, 10, 1),
        deadline=date(2026, 11, 10),
        channel="行政调解",
        unit=w.police_b,
        risk_level=RiskLevel.SERIOUS.value,
        prominent=True,
    )
    c["over_30"] = case(
        w,
        b,
        date(2026, 9, 1),
        accepted_on=date(2026, 9, 1),
        deadline=date(2026, 10, 21),
        channel="人民调解",
        unit=w.committee_b,
    )
    c["closed_overdue"] = case(
        w,
        b,
        date(2026, 9, 1),
        accepted_on=date(2026, 9, 1),
        deadline=date(2026, 10, 1),
        closed_on=date(2026, 11, 1),
        channel="人民调解",
        unit=w.committee_b,
    )
    c["no_deadline"] = case(w, b, date(2026, 9, 1))
    c["stabilized_over"] = case(
        w,
        b,
        date(2026, 9, 2),
        accepted_on=date(2026, 9, 2),
        deadline=date(2026, 10, 2),
        status="稳控",
        stabilized_on=date(2026, 9, 20),
        channel="人民调解",
        unit=w.committee_b,
    )
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
    assert {i["case_no"] for i in town_a["items"]} == {
        cases[k].case_no for k in ("warn_exact", "due_today", "over_1")
    }
    only = overdue_review(world.district, TODAY, unit_id=world.committee_b.id)
    assert {i["case_no"] for i in only["items"]} == {
        cases["over_30"].case_no,
        cases["stabilized_over"].case_no,
    }
    assert (only["overdue"], only["warning"], only["total"]) == (2, 0, 2)
    warnings = overdue_review(world.district, TODAY, level="预警")
    assert {i["level"] for i in warnings["items"]} == {"预警"}
    assert (warnings["overdue"], warnings["warning"], warnings["total"]) == (0, 2, 2)
    league = {
        row["unit"]: (row["overdue"], row["warning"])
        for row in overdue_review(world.district, TODAY)["league"]
    }
    assert league == {"TW-B": (2, 0), "TW-A": (1, 2), "PCS-B": (1, 0)}
    assert overdue_review(world.district, TODAY)["league"][0]["unit"] == "TW-B"


def test_overdue_api_and_page_for_center_staff_only(client, web, world, cases):
    r = client.get("/api/v1/reports/overdue", headers=world.district_staff.headers)
    assert r.status_code == 200 and r.get_json()["node"] == world.district.code
    assert client.get("/api/v1/reports/overdue", headers=world.mediator_a.headers).status_code == 403
    r = client.get(
        "/api/v1/reports/overdue",
        query_string={"node": world.town_b.code},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 403
    r = client.get(
        "/api/v1/reports/overdue",
        query_string={"unit": "TW-B", "level": "超期"},
        headers=world.district_staff.headers,
    )
    assert r.status_code == 200
    web.login("mediator_a")
    assert web.client.get("/reports/overdue").status_code == 403


@pytest.fixture
def on_today():
    """The application clock on TODAY, so that the 督办 dates and notes follow from the fixture's cases."""
    clock.set(TODAY)
    yield TODAY
    clock.reset()


def orders_of(dispute) -> list[SupervisionOrder]:
    return db.session.scalars(
        select(SupervisionOrder)
        .where(SupervisionOrder.dispute_id == dispute.id)
        .order_by(SupervisionOrder.id)
        .execution_options(populate_existing=True)
    ).all()


def supervised_events(dispute) -> list[Event]:
    return db.session.scalars(
        select(Event).where(Event.dispute_id == dispute.id, Event.type == "supervised").order_by(Event.id)
    ).all()


def notes_to(user) -> list[Notification]:
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


def supervision_count(world, dispute) -> int:
    items = overdue_review(world.district, TODAY)["items"]
    return next(i["supervisions"] for i in items if i["id"] == dispute.id)


def test_one_click_supervision(web, world, cases, on_today):
    web.login("qu_center")
    target = cases["over_30"]
    html = web.client.get("/reports/overdue").get_data(as_text=True)
    assert target.case_no in html and "各单位超期排行" in html
    # One click: the options (挂牌, another reply date) are there but not needed.
    assert 'name="level"' in html and '<option value="挂牌">' in html
    assert 'name="reply_by" value="2026-11-23"' in html  # today + OVERDUE_SUPERVISION_REPLY_DAYS (3)
    token = web.csrf("/reports/overdue")
    r = web.client.post(f"/reports/overdue/{target.id}/supervise", data={"csrf_token": token})
    assert r.status_code == 302

    (order,) = orders_of(target)
    assert order.level == SupervisionLevel.ORDINARY and order.status == SupervisionStatus.PENDING
    assert order.reply_by == date(2026, 11, 23)
    assert (
        order.target_unit_id == world.committee_b.id and order.issued_by_unit_id == world.district_center.id
    )
    assert order.issued_by_id == world.district_staff.user.id
    assert order.note == "该案件已超过办理期限（2026-10-21），请抓紧办理，并于2026-11-23前反馈办理情况。"
    (event,) = supervised_events(target)
    assert event.user_id == world.district_staff.user.id and event.note == order.note
    assert event.data["order"] == order.id and event.data["level"] == "普通" and event.data["unit"] == "TW-B"
    (note,) = notes_to(world.mediator_b.user)
    assert (
        note.dispute_id == target.id and note.key == f"supervision:{order.id}" and "2026-11-23" in note.text
    )
    assert notes_to(world.mediator_a.user) == []
    assert supervision_count(world, target) == 1
    assert "已督办1次" in web.client.get("/reports/overdue").get_data(as_text=True)

    # A second click while the order awaits its reply is refused with the follow-ups' reason.
    r = web.client.post(
        f"/reports/overdue/{target.id}/supervise", data={"csrf_token": token}, follow_redirects=True
    )
    assert "已有未回复的督办" in r.get_data(as_text=True)
    assert len(orders_of(target)) == 1 and len(supervised_events(target)) == 1


def test_supervision_options_from_the_page(app, web, world, cases, on_today):
    app.config["OVERDUE_SUPERVISION_REPLY_DAYS"] = 5
    web.login("qu_center")
    target = cases["over_10_major"]
    assert 'name="reply_by" value="2026-11-25"' in web.client.get("/reports/overdue").get_data(as_text=True)
    token = web.csrf("/reports/overdue")
    # A reply date in the past is refused, naming the field; nothing is written.
    r = web.client.post(
        f"/reports/overdue/{target.id}/supervise",
        follow_redirects=True,
        data={"csrf_token": token, "level": "挂牌", "reply_by": "2026-11-19"},
    )
    assert "回复期限：回复期限不能早于今天。" in r.get_data(as_text=True)
    r = web.client.post(
        f"/reports/overdue/{target.id}/supervise",
        follow_redirects=True,
        data={"csrf_token": token, "level": "重点", "reply_by": "2026-11-30"},
    )
    assert "督办级别：" in r.get_data(as_text=True)
    assert orders_of(target) == [] and supervised_events(target) == []

    r = web.client.post(
        f"/reports/overdue/{target.id}/supervise",
        data={"csrf_token": token, "level": "挂牌", "reply_by": "2026-11-30", "note": "请周内报告。"},
    )
    assert r.status_code == 302
    (order,) = orders_of(target)
    assert (order.level, order.reply_by, order.note) == (
        SupervisionLevel.LISTED,
        date(2026, 11, 30),
        "请周内报告。",
    )
    assert order.target_unit_id == world.police_b.id
    (event,) = supervised_events(target)
    assert event.data["level"] == "挂牌" and event.data["deadline"] == "2026-11-30"
    # No one is at 双港派出所 in the test world: the notification goes to its users, i.e. nobody here.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.key == f"supervision:{order.id}")
        )
        == 0
    )
    # The default reply date follows the setting when no date is chosen.
    cases_b = cases["stabilized_over"]
    web.client.post(f"/reports/overdue/{cases_b.id}/supervise", data={"csrf_token": token})
    assert [o.reply_by for o in orders_of(cases_b)] == [date(2026, 11, 25)]


def test_supervision_api(client, world, cases, on_today):
    target = cases["over_1"]
    r = client.post(
        f"/api/v1/reports/overdue/{target.id}/supervise",
        json={"note": "请三日内反馈进展。", "level": "挂牌", "reply_by": "2026-11-23"},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    (order,) = orders_of(target)
    assert body["id"] == order.id and body["dispute"]["id"] == target.id
    assert (body["level"], body["status"], body["reply_by"]) == ("挂牌", "待回复", "2026-11-23")
    assert body["target_unit"]["code"] == "TW-A" and body["issued_by_unit"]["code"] == "ZZ-A"
    (event,) = supervised_events(target)
    assert event.note == "请三日内反馈进展。" and event.data["order"] == order.id
    (note,) = notes_to(world.mediator_a.user)
    assert note.key == f"supervision:{order.id}" and "挂牌督办" in note.text
    assert supervision_count(world, target) == 1

    # Another centre may supervise too; its default order is 普通, reply in 3 days.
    r = client.post(
        f"/api/v1/reports/overdue/{target.id}/supervise", json={}, headers=world.district_staff.headers
    )
    assert r.status_code == 201 and (r.get_json()["level"], r.get_json()["reply_by"]) == (
        "普通",
        "2026-11-23",
    )
    assert supervision_count(world, target) == 2 and len(supervised_events(target)) == 2

    def post(dispute, body, who):
        return client.post(f"/api/v1/reports/overdue/{dispute.id}/supervise", json=body, headers=who.headers)

    # Outside the user's subtree: not found; a mediator may not 督办; closed cases need none; one
    # unanswered order per centre; the reply date and the level are checked.
    assert post(cases["over_30"], {}, world.center_user_a).status_code == 404
    r = post(target, {}, world.mediator_a)
    assert r.status_code == 403 and r.get_json()["message"] == "只有综治中心可以督办。"
    r = post(cases["closed_overdue"], {}, world.district_staff)
    assert r.status_code == 409 and "已办结" in r.get_json()["message"]
    r = post(target, {}, world.center_user_a)
    assert r.status_code == 409 and "已有未回复的督办" in r.get_json()["message"]
    r = post(cases["due_today"], {"reply_by": "2026-11-19"}, world.center_user_a)
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["reply_by"] == ["回复期限不能早于今天。"]
    r = post(cases["due_today"], {"level": "重点"}, world.center_user_a)
    assert r.status_code == 422 and "level" in r.get_json()["errors"]["json"]
    assert orders_of(cases["due_today"]) == [] and supervised_events(cases["due_today"]) == []
    assert len(orders_of(target)) == 2
