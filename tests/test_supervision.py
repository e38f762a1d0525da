"""督办: a 综治中心 issues a supervision order with a reply deadline; the unit replies; an unanswered order
escalates once to the next 综治中心 up when its deadline passes."""

from __future__ import annotations

from datetime import date

import pytest
from flask import render_template_string
from flask_login import login_user

from mediation.common.enums import Status
from mediation.extensions import db
from mediation.followups import service
from mediation.followups.models import SupervisionOrder, SupervisionStatus
from mediation.followups.service import run_sweep
from tests import test_followups_support as support
from tests.test_followups_support import (
    close,
    count,
    events,
    make_case,
    notifications,
)

at = support.at  # fixture


def _issue(client, who, dispute_id, **body):
    return client.post(f"/api/v1/disputes/{dispute_id}/supervisions", json=body, headers=who.headers)


def test_issue_reply(app, client, world, at):
    d = make_case(world, handler=world.mediator_a.user)
    r = _issue(client, world.center_user_a, d.id, level="挂牌", reply_by="2026-03-09", note="请报告化解进展")
    assert r.status_code == 201, r.get_json()
    order = r.get_json()
    assert (order["level"], order["status"], order["reply_by"]) == ("挂牌", "待回复", "2026-03-09")
    assert order["issued_by_unit"]["code"] == "ZZ-A" and order["target_unit"]["code"] == "TW-A"
    (event,) = events(d, "supervised")
    assert (
        event.note == "请报告化解进展"
        and event.data["level"] == "挂牌"
        and event.data["deadline"] == "2026-03-09"
    )
    (told,) = notifications(world.mediator_a.user)
    assert told.kind == "督办" and "挂牌督办" in told.text and "2026-03-09" in told.text

    # A second pending order from the same centre on the same case: refused.
    r = _issue(client, world.center_user_a, d.id, reply_by="2026-03-10")
    assert r.status_code == 409 and "未回复的督办" in r.get_json()["message"]

    # Only the supervised unit replies, once.
    url = f"/api/v1/supervisions/{order['id']}/reply"
    assert client.post(url, json={"reply": "代答"}, headers=world.center_user_a.headers).status_code == 403
    assert client.post(url, json={"reply": "越权"}, headers=world.mediator_b.headers).status_code == 404
    assert client.post(url, json={}, headers=world.mediator_a.headers).status_code == 422
    r = client.post(
        url, json={"reply": "已组织双方调解两次，本周内再次调解。"}, headers=world.mediator_a.headers
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "已回复" and r.get_json()["replied_by"] == "mediator_a"
    assert client.post(url, json={"reply": "再答"}, headers=world.mediator_a.headers).status_code == 409
    (event,) = events(d, "supervision_replied")
    assert event.note.startswith("已组织双方调解")
    assert [n.kind for n in notifications(world.center_user_a.user)] == ["督办回复"]

    # Lists.
    mine = client.get("/api/v1/supervisions?mine", headers=world.mediator_a.headers).get_json()
    assert [i["id"] for i in mine["items"]] == [order["id"]]
    issued = client.get("/api/v1/supervisions?issued", headers=world.center_user_a.headers).get_json()
    assert [i["id"] for i in issued["items"]] == [order["id"]]
    assert client.get("/api/v1/supervisions", headers=world.mediator_b.headers).get_json()["total"] == 0
    listed = client.get(
        f"/api/v1/disputes/{d.id}/supervisions", headers=world.center_user_a.headers
    ).get_json()
    assert listed["total"] == 1


def test_who_may_issue_and_when(app, client, world, at):
    d = make_case(world)
    assert _issue(client, world.mediator_a, d.id, reply_by="2026-03-09").status_code == 403
    assert _issue(client, world.center_user_b, d.id, reply_by="2026-03-09").status_code == 404  # not in scope
    r = _issue(client, world.center_user_a, d.id, reply_by="2026-03-01")
    assert r.status_code == 422 and "reply_by" in r.get_json()["errors"]["json"]
    r = _issue(client, world.center_user_a, d.id, reply_by="2026-03-09", level="加急")
    assert r.status_code == 422 and "level" in r.get_json()["errors"]["json"]
    r = _issue(client, world.center_user_a, d.id, reply_by="2026-03-09", target_unit="TW-B")
    assert r.status_code == 422 and "target_unit" in r.get_json()["errors"]["json"]

    pending = make_case(world, unit=None, status=Status.PENDING)
    pending.unit = None
    db.session.commit()
    assert _issue(client, world.center_user_a, pending.id, reply_by="2026-03-09").status_code == 409

    close(d, world.mediator_a.user)
    r = _issue(client, world.center_user_a, d.id, reply_by="2026-03-09")
    assert r.status_code == 409 and "已办结" in r.get_json()["message"]
    assert count(SupervisionOrder) == 0


def test_issue_supervision_service_for_other_areas(app, world, at):
    """The reports area's overdue review calls issue_supervision(user, dispute, level, reply_by, note)."""
    d = make_case(world)
    order = service.issue_supervision(
        world.district_staff.user, d, "普通", date(2026, 3, 6), "超期案件，请说明原因"
    )
    db.session.commit()
    assert (
        order.issued_by_unit_id == world.district_center.id and order.target_unit_id == world.committee_a.id
    )
    with pytest.raises(service.Forbidden):
        service.issue_supervision(world.mediator_a.user, d, "普通", date(2026, 3, 6), "x")


def test_unanswered_order_escalates_once_to_the_next_centre_up(app, client, world, at):
    d = make_case(world)
    r = _issue(client, world.center_user_a, d.id, reply_by="2026-03-05")
    order_id = r.get_json()["id"]

    at(date(2026, 3, 5))  # the reply day itself is still in time
    assert run_sweep().escalated == 0
    at(date(2026, 3, 6))
    result = run_sweep()
    assert (result.escalated, result.lapsed) == (1, 0)
    assert run_sweep().escalated == 0
    at(date(2026, 3, 20))
    assert run_sweep().escalated == 0

    order = db.session.get(SupervisionOrder, order_id, populate_existing=True)
    assert order.status == SupervisionStatus.ESCALATED and order.escalated_to_id == world.district_center.id
    (event,) = events(d, "supervision_escalated")
    assert event.data["to_unit"] == "ZZ-QU" and event.by_name == "系统"
    # The district centre is told; the issuing centre and the unit too.
    assert [n.kind for n in notifications(world.district_staff.user)] == ["督办升级"]
    assert "督办升级" in [n.kind for n in notifications(world.center_user_a.user)]
    assert "督办升级" in [n.kind for n in notifications(world.mediator_a.user)]
    # The district centre now lists it among its orders.
    issued = client.get("/api/v1/supervisions?issued", headers=world.district_staff.headers).get_json()
    assert [i["id"] for i in issued["items"]] == [order_id]

    # A late reply is still taken.
    r = client.post(
        f"/api/v1/supervisions/{order_id}/reply",
        json={"reply": "已化解，正在办结"},
        headers=world.mediator_a.headers,
    )
    assert r.status_code == 200 and r.get_json()["status"] == "已回复"
    assert r.get_json()["escalated_to"]["code"] == "ZZ-QU"
    assert [n.kind for n in notifications(world.district_staff.user)] == ["督办升级", "督办回复"]


def test_order_from_the_top_centre_lapses(app, client, world, at):
    d = make_case(world)
    order_id = _issue(client, world.district_staff, d.id, reply_by="2026-03-03").get_json()["id"]
    at(date(2026, 3, 4))
    result = run_sweep()
    assert (result.escalated, result.lapsed) == (0, 1)
    assert run_sweep().lapsed == 0
    order = db.session.get(SupervisionOrder, order_id, populate_existing=True)
    assert order.status == SupervisionStatus.LAPSED and order.escalated_to_id is None
    assert len(events(d, "supervision_lapsed")) == 1 and events(d, "supervision_escalated") == []


def test_web_form_on_the_case_page(app, world, web, at):
    d = make_case(world)
    with app.test_request_context(f"/disputes/{d.id}"):
        login_user(world.center_user_a.user)
        panel = render_template_string('{% include "disputes/_followups.html" %}', dispute=d)
    assert f'action="/disputes/{d.id}/supervise"' in panel and "挂牌督办" in panel

    web.login("center_a")
    token = web.csrf("/followups/")
    r = web.client.post(
        f"/disputes/{d.id}/supervise",
        data={"csrf_token": token, "level": "挂牌", "reply_by": "2026-03-09", "note": "请于一周内报告"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/disputes/{d.id}#followups")
    (order,) = db.session.scalars(db.select(SupervisionOrder)).all()
    assert order.level == "挂牌" and order.note == "请于一周内报告"
    assert "请于一周内报告" in web.client.get("/supervisions/?scope=issued").get_data(as_text=True)

    # The supervised unit sees the reply form on the case panel and replies from the 督办 page.
    with app.test_request_context(f"/disputes/{d.id}"):
        login_user(world.mediator_a.user)
        panel = render_template_string('{% include "disputes/_followups.html" %}', dispute=d)
    assert f'action="/supervisions/{order.id}/reply"' in panel and "督办" in panel
    assert f"/disputes/{d.id}/supervise" not in panel  # a mediator cannot issue

    web.client.post("/logout", data={"csrf_token": web.csrf("/followups/")})
    web.login("mediator_a")
    page = web.client.get("/supervisions/").get_data(as_text=True)
    assert d.case_no in page and "回复督办" in page
    r = web.client.post(
        f"/supervisions/{order.id}/reply",
        data={
            "csrf_token": web.csrf("/supervisions/"),
            "reply": "已调解，双方达成初步意向",
            "next": "/supervisions/",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(SupervisionOrder, order.id).status == SupervisionStatus.REPLIED


def test_no_escalation_once_the_case_is_closed(app, client, world, at):
    d = make_case(world)
    order_id = _issue(client, world.center_user_a, d.id, reply_by="2026-03-03").get_json()["id"]
    close(d, world.mediator_a.user)
    at(date(2026, 3, 10))
    assert run_sweep().escalated == 0
    assert (
        db.session.get(SupervisionOrder, order_id, populate_existing=True).status == SupervisionStatus.PENDING
    )
