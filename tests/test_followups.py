"""Follow-ups (回访): created by timeline events, due on the controllable clock, on the assignee's to-do
list, completed with a result (and a satisfaction score) or rescheduled with a reason."""

from __future__ import annotations

from datetime import date

from flask import render_template_string
from flask_login import login_user

from mediation.common.enums import Channel, Status
from mediation.extensions import db
from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus
from mediation.followups.service import run_sweep
from tests import test_followups_support as support
from tests.test_followups_support import (
    close,
    count,
    emit,
    events,
    followups,
    make_case,
    notifications,
)

at = support.at  # fixture


def _complete(client, who, fu_id, **body):
    return client.post(f"/api/v1/followups/{fu_id}/complete", json=body, headers=who.headers)


def test_agreement_effective_creates_performance_and_confirmation_visits(app, client, world, at):
    d = make_case(world, handler=world.mediator_a.user, accepted_on=date(2026, 2, 20))
    data = {"effective_on": "2026-03-02", "performance_due": "2026-03-20"}
    emit(d, "agreement_effective", world.mediator_a.user, data=data)
    emit(d, "agreement_effective", world.mediator_a.user, data=data)  # the same event again: nothing new

    rows = followups(d)
    assert [(f.kind, f.due_on) for f in rows] == [
        (FollowUpKind.PERFORMANCE, date(2026, 3, 20)),
        (FollowUpKind.CONFIRMATION, date(2026, 4, 1)),  # 30 days after the agreement took effect
    ]
    assert all(f.unit_id == world.committee_a.id and f.user_id == world.mediator_a.user.id for f in rows)
    performance, confirmation = rows

    # Not due yet: the sweep notifies nobody.
    at(date(2026, 3, 19))
    assert run_sweep().followups_due == 0
    # Due: the assignee is told once, however often the sweep runs.
    at(date(2026, 3, 20))
    assert run_sweep().followups_due == 1
    assert run_sweep().followups_due == 0
    sent = notifications(world.mediator_a.user, "followup:")
    assert len(sent) == 1 and "履行回访" in sent[0].text and d.case_no in sent[0].text

    # On the to-do list (API ?mine), due today.
    listing = client.get("/api/v1/followups?mine", headers=world.mediator_a.headers).get_json()
    assert [(i["id"], i["due"], i["overdue"]) for i in listing["items"]] == [
        (performance.id, True, False),
        (confirmation.id, False, False),
    ]

    r = _complete(
        client, world.mediator_a, performance.id, result="双方已按协议履行，赔偿款已付清。", satisfaction=5
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "已完成" and body["satisfaction"] == 5 and body["done_by"] == "mediator_a"
    done = events(d, "followup_done")
    assert len(done) == 1 and done[0].note.startswith("双方已按协议履行")
    assert done[0].data["kind"] == "履行回访" and done[0].on == date(2026, 3, 20)
    assert _complete(client, world.mediator_a, performance.id, result="再来一次").status_code == 409

    # The 司法确认 window ends: due, notified, completed (no satisfaction score for this one).
    at(date(2026, 4, 1))
    assert run_sweep().followups_due == 1
    r = _complete(client, world.mediator_a, confirmation.id, result="当事人未申请司法确认。", satisfaction=3)
    assert r.status_code == 422 and "satisfaction" in r.get_json()["errors"]["json"]
    r = _complete(client, world.mediator_a, confirmation.id, result="当事人未申请司法确认。")
    assert r.status_code == 200 and r.get_json()["status"] == "已完成"
    assert len(events(d, "followup_done")) == 2


def test_court_mediation_needs_no_confirmation_window(app, world, at):
    d = make_case(world)
    d.channel = Channel.JUDICIAL
    emit(d, "agreement_effective", world.mediator_a.user, data={"effective_on": "2026-03-02"})
    assert followups(d) == []  # no performance date given, and a 民事调解书 needs no 司法确认


def test_closing_schedules_a_satisfaction_visit_after_the_configured_days(app, client, world, at):
    app.config["SATISFACTION_VISIT_DAYS"] = 3
    d = make_case(world)  # no handler: assigned to the unit
    close(d, world.mediator_a.user)
    (visit,) = followups(d)
    assert visit.kind == FollowUpKind.SATISFACTION and visit.due_on == date(2026, 3, 5)
    assert visit.unit_id == world.committee_a.id and visit.user_id == world.mediator_a.user.id  # the closer

    at(date(2026, 3, 5))
    assert run_sweep().followups_due == 1
    assert len(notifications(world.mediator_a.user, "followup:")) == 1

    assert _complete(client, world.mediator_a, visit.id, result="当事人表示满意。").status_code == 422
    r = _complete(client, world.mediator_a, visit.id, result="当事人表示满意。", satisfaction=6)
    assert r.status_code == 422
    assert "1到5" in r.get_json()["errors"]["json"]["satisfaction"][0]
    r = _complete(client, world.mediator_a, visit.id, result="当事人表示满意。", satisfaction=4)
    assert r.status_code == 200 and r.get_json()["satisfaction"] == 4
    assert events(d, "followup_done")[0].data["satisfaction"] == 4


def test_stabilize_visits_repeat_while_stabilized_and_stop_when_closed(app, client, world, at):
    d = make_case(world, handler=world.mediator_a.user, accepted_on=date(2026, 2, 1))
    emit(d, "stabilized", world.mediator_a.user, status=Status.STABILIZED, stabilized_on=date(2026, 3, 2))
    (first,) = followups(d)
    assert (first.kind, first.round, first.due_on) == (FollowUpKind.STABILIZE, 1, date(2026, 3, 17))

    at(date(2026, 3, 16))
    result = run_sweep()
    assert (result.stabilize_created, result.followups_due) == (0, 0)
    at(date(2026, 3, 17))  # the first visit is due: notified, and the next one is scheduled
    result = run_sweep()
    assert (result.stabilize_created, result.followups_due) == (1, 1)
    assert [(f.round, f.due_on) for f in followups(d)] == [(1, date(2026, 3, 17)), (2, date(2026, 4, 1))]
    result = run_sweep()
    assert (result.stabilize_created, result.followups_due) == (0, 0)
    assert _complete(client, world.mediator_a, first.id, result="当事人情绪稳定。").status_code == 200

    # The scheduler was down for weeks: one visit is due (the 2nd), the missed periods are not
    # created one by one; the next visit is the first one after today.
    at(date(2026, 5, 20))
    result = run_sweep()
    assert (result.stabilize_created, result.followups_due) == (1, 1)
    assert [(f.round, f.due_on, f.status) for f in followups(d)] == [
        (1, date(2026, 3, 17), FollowUpStatus.DONE),
        (2, date(2026, 4, 1), FollowUpStatus.OPEN),
        (6, date(2026, 5, 31), FollowUpStatus.OPEN),
    ]

    # Closed: the open 稳控 visits stop, a satisfaction visit is scheduled, no new 稳控 visits.
    close(d, world.mediator_a.user)
    kinds = [(f.kind, f.status) for f in followups(d)]
    assert (FollowUpKind.STABILIZE, FollowUpStatus.OPEN) not in kinds
    assert (FollowUpKind.SATISFACTION, FollowUpStatus.OPEN) in kinds
    at(date(2026, 7, 1))
    assert run_sweep().stabilize_created == 0
    assert count(FollowUp, FollowUp.dispute_id == d.id, FollowUp.kind == FollowUpKind.STABILIZE) == 3


def test_leaving_stabilized_stops_the_visits(app, world, at):
    d = make_case(world)
    emit(d, "stabilized", world.mediator_a.user, status=Status.STABILIZED, stabilized_on=date(2026, 3, 2))
    emit(d, "resumed", world.mediator_a.user, status=Status.HANDLING, stabilized_on=None)
    (visit,) = followups(d)
    assert visit.status == FollowUpStatus.CANCELLED and "稳控" in visit.result
    at(date(2026, 4, 1))
    result = run_sweep()
    assert (result.stabilize_created, result.followups_due) == (0, 0)


def test_reschedule_with_a_reason(app, client, world, at):
    d = make_case(world, handler=world.mediator_a.user)
    close(d, world.mediator_a.user)
    (visit,) = followups(d)
    url = f"/api/v1/followups/{visit.id}/reschedule"
    h = world.mediator_a.headers

    r = client.post(url, json={"due_on": "2026-03-20"}, headers=h)
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    r = client.post(url, json={"due_on": "2026-03-01", "reason": "当事人外出"}, headers=h)
    assert r.status_code == 422 and "due_on" in r.get_json()["errors"]["json"]

    at(date(2026, 3, 9))  # due: notified
    assert run_sweep().followups_due == 1
    r = client.post(url, json={"due_on": "2026-03-20", "reason": "当事人外出务工，月底返回"}, headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["due_on"], body["rescheduled_from"], body["reschedule_reason"]) == (
        "2026-03-20",
        "2026-03-09",
        "当事人外出务工，月底返回",
    )
    (event,) = events(d, "followup_rescheduled")
    assert event.note == "当事人外出务工，月底返回"
    assert event.data["old_deadline"] == "2026-03-09" and event.data["new_deadline"] == "2026-03-20"

    assert run_sweep().followups_due == 0  # not due any more
    at(date(2026, 3, 20))
    assert run_sweep().followups_due == 1  # due again on the new date: told again, once
    assert run_sweep().followups_due == 0
    assert len(notifications(world.mediator_a.user, "followup:")) == 2


def test_access_rule_and_assignee_unit(app, client, world, at):
    d = make_case(world, handler=world.mediator_a.user)
    close(d, world.mediator_a.user)
    (visit,) = followups(d)

    # Another town's mediator does not see the case: 404, and nothing in their lists.
    assert client.get(f"/api/v1/followups/{visit.id}", headers=world.mediator_b.headers).status_code == 404
    assert _complete(client, world.mediator_b, visit.id, result="越权").status_code == 404
    assert client.get("/api/v1/followups", headers=world.mediator_b.headers).get_json()["total"] == 0

    # The 街道 综治中心 sees it (in its subtree) but is not the assignee unit: 403.
    assert client.get(f"/api/v1/followups/{visit.id}", headers=world.center_user_a.headers).status_code == 200
    r = _complete(client, world.center_user_a, visit.id, result="代为回访", satisfaction=5)
    assert r.status_code == 403 and "承办单位" in r.get_json()["message"]
    mine = client.get("/api/v1/followups?mine=1", headers=world.center_user_a.headers).get_json()
    assert mine["total"] == 0
    everything = client.get("/api/v1/followups", headers=world.center_user_a.headers).get_json()
    assert [i["id"] for i in everything["items"]] == [visit.id]
    assert client.get("/api/v1/followups", headers={}).status_code == 401

    # Filters.
    h = world.mediator_a.headers
    assert client.get("/api/v1/followups?mine&status=已完成", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/followups?mine&kind=满意度回访", headers=h).get_json()["total"] == 1
    assert (
        client.get(f"/api/v1/followups?dispute={d.id}&due_before=2026-03-08", headers=h).get_json()["total"]
        == 0
    )
    assert client.get("/api/v1/followups?status=某状态", headers=h).status_code == 422


def test_transfer_moves_open_followups_to_the_new_lead_unit(app, world, at):
    d = make_case(world, handler=world.mediator_a.user)
    close(d, world.mediator_a.user)
    emit(
        d,
        "transferred",
        world.center_user_a.user,
        unit=world.committee_b,
        handler=None,
        status=Status.HANDLING,
    )
    (visit,) = followups(d)
    assert (visit.unit_id, visit.user_id) == (world.committee_b.id, None)


def test_web_todo_list_and_case_panel(app, world, web, at):
    d = make_case(world, handler=world.mediator_a.user)
    close(d, world.mediator_a.user)
    (visit,) = followups(d)

    web.login("mediator_a")
    html = web.client.get("/followups/").get_data(as_text=True)
    assert d.case_no in html and "满意度回访" in html and f'data-followup="{visit.id}"' in html

    token = web.csrf("/followups/")
    r = web.client.post(
        f"/followups/{visit.id}/complete",
        data={"csrf_token": token, "result": "当事人满意", "next": "/followups/"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, visit.id).status == FollowUpStatus.OPEN  # no score: refused
    html = web.client.get("/followups/").get_data(as_text=True)
    assert "满意度回访须填写满意度评分" in html

    r = web.client.post(
        f"/followups/{visit.id}/complete",
        data={"csrf_token": token, "result": "当事人满意", "satisfaction": "5", "next": "/followups/"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/followups/")
    db.session.expire_all()
    assert db.session.get(FollowUp, visit.id).status == FollowUpStatus.DONE
    assert "没有待办的回访" in web.client.get("/followups/").get_data(as_text=True)
    done = web.client.get("/followups/?status=已完成").get_data(as_text=True)
    assert "当事人满意" in done and "5 分" in done

    # An external "next" is not followed.
    r = web.client.post(
        f"/followups/{visit.id}/reschedule",
        data={"csrf_token": token, "due_on": "2026-03-20", "reason": "改期", "next": "//evil.example/"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/followups/")

    # The case page partial (disputes/_followups.html) renders the case's follow-ups.
    with app.test_request_context(f"/disputes/{d.id}"):
        login_user(world.mediator_a.user)
        panel = render_template_string('{% include "disputes/_followups.html" %}', dispute=d)
    assert 'id="followups"' in panel and "满意度回访" in panel and "当事人满意" in panel
