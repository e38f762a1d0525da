"""重点人员 / 重点群体 and 包案: who sees the register (jurisdiction AND role), the review due exactly
once per interval through the follow-ups sweep, the history, case links only to visible cases, the ID
number masked, and the 包案 leader on the case page, in the API's case answer and in the overdue
review."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import func, select

from mediation import clock
from mediation.disputes.models import Event
from mediation.extensions import db
from mediation.followups.models import Notification, NotificationKind
from mediation.followups.service import run_sweep
from mediation.keypeople import service
from mediation.keypeople.models import CaseLeader, KeyEntry, KeyReviewDue
from tests.conftest import csrf_token, login
from tests.factories import make_id
from tests.reports_data import case

TODAY = date(2026, 11, 20)


@pytest.fixture
def today():
    clock.set(TODAY)
    yield TODAY
    clock.reset()


def body(world, **kw) -> dict:
    data = {
        "name": "双港村拆迁安置户",
        "kind": "重大不稳定群体",
        "group_size": 23,
        "node": world.village_b.code,
        "unit": world.committee_b.code,
        "measures": "村委会每周走访；镇综治中心每月约谈牵头人。",
        "review_days": 7,
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def register(client, world, who=None, **kw) -> dict:
    r = client.post(
        "/api/v1/key-people", json=body(world, **kw), headers=(who or world.center_user_b).headers
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def web(app, who):
    client = app.test_client()
    assert login(client, who.username).status_code in (302, 303)
    return client


# ------------------------------------------------------------------------------------------ access


def test_jurisdiction_and_role_decide_who_sees_an_entry(app, client, world, today):
    entry = register(client, world)
    url = f"/api/v1/key-people/{entry['id']}"
    # 综治中心 staff of the place and above, the admin, the 责任单位's staff: they see it.
    for who in (world.center_user_b, world.district_staff, world.admin, world.mediator_b):
        listed = client.get("/api/v1/key-people", headers=who.headers)
        assert listed.status_code == 200, who.username
        assert [e["id"] for e in listed.get_json()["items"]] == [entry["id"]], who.username
        assert client.get(url, headers=who.headers).status_code == 200, who.username
    # Another town's 综治中心: the register answers, without the entry; the entry is not found.
    other = client.get("/api/v1/key-people", headers=world.center_user_a.headers)
    assert other.status_code == 200 and other.get_json()["items"] == []
    assert client.get(url, headers=world.center_user_a.headers).status_code == 404
    # Grid workers, the court and another unit's mediator: refused (not the 责任单位).
    for who in (world.grid_a_user, world.court_user, world.mediator_a):
        assert client.get("/api/v1/key-people", headers=who.headers).status_code == 403, who.username
        assert client.get(url, headers=who.headers).status_code == 404, who.username
        assert web(app, who).get("/key-people/").status_code == 403, who.username
    page = web(app, world.grid_a_user).get("/disputes/")
    assert "/key-people/" not in page.get_data(as_text=True)  # not in the menu either
    # Only 综治中心 staff and admins register; the 责任单位 does not.
    r = client.post("/api/v1/key-people", json=body(world, name="另一群体"), headers=world.mediator_b.headers)
    assert r.status_code == 403
    assert web(app, world.mediator_b).get("/key-people/new").status_code == 403


def test_a_grid_worker_who_is_the_responsible_unit_sees_that_entry_only(app, client, world, today):
    mine = register(
        client, world, who=world.district_staff, node=world.grid_a.code, unit=world.grid_unit_a.code
    )
    register(client, world, name="其他群体")
    listed = client.get("/api/v1/key-people", headers=world.grid_a_user.headers)
    assert [e["id"] for e in listed.get_json()["items"]] == [mine["id"]]
    assert web(app, world.grid_a_user).get(f"/key-people/{mine['id']}").status_code == 200


def test_the_id_number_is_masked_by_role_and_never_logged(app, client, world, today, caplog):
    number = make_id()
    caplog.set_level(logging.DEBUG)
    person = register(client, world, name="张某某", kind="重点信访人员", group_size=None, id_number=number)
    url = f"/api/v1/key-people/{person['id']}"
    assert person["id_number"] != number  # 综治中心 staff: masked (ID_NUMBER_ROLES)
    assert client.get(url, headers=world.center_user_b.headers).get_json()["id_number"].endswith(number[-4:])
    assert client.get(url, headers=world.mediator_b.headers).get_json()["id_number"] == number
    html = web(app, world.center_user_b).get(f"/key-people/{person['id']}").get_data(as_text=True)
    assert number not in html and "张某某" in html
    assert number in web(app, world.mediator_b).get(f"/key-people/{person['id']}").get_data(as_text=True)
    assert number not in caplog.text


def test_bad_input_gets_chinese_field_errors_and_a_retry_registers_nothing_twice(app, client, world, today):
    h = world.center_user_b.headers
    r = client.post("/api/v1/key-people", json={"kind": "未知"}, headers=h)
    assert r.status_code == 422
    errors = r.get_json()["errors"]["json"]
    assert {"name", "kind", "node", "unit", "measures", "review_days"} <= set(errors)
    r = client.post("/api/v1/key-people", json=body(world, group_size=None), headers=h)
    assert r.status_code == 422 and "group_size" in r.get_json()["errors"]["json"]
    r = client.post("/api/v1/key-people", json=body(world, node=world.village_a.code), headers=h)
    assert r.status_code == 422 and r.get_json()["errors"]["json"]["node"] == ["请选择您辖区内的节点。"]
    register(client, world)
    again = client.post("/api/v1/key-people", json=body(world), headers=h)
    assert again.status_code == 422 and "请勿重复登记" in again.get_json()["errors"]["json"]["name"][0]
    assert count(KeyEntry) == 1


# ----------------------------------------------------------------------------- review due (sweep)


def _due_notifications() -> int:
    return count(Notification, Notification.kind == NotificationKind.KEY_REVIEW)


def test_review_due_fires_exactly_once_per_interval_and_a_review_resets_it(app, client, world):
    try:
        clock.set(date(2026, 11, 1))
        entry = register(client, world)  # every 7 days: first due 11-08
        assert entry["next_review_on"] == "2026-11-08"
        responsible = 1  # mediator_b is the only user of 双港镇调委会
        clock.set(date(2026, 11, 7))
        assert run_sweep().key_reviews_due == 0
        clock.set(date(2026, 11, 8))
        assert run_sweep().key_reviews_due == 1
        assert run_sweep().key_reviews_due == 0  # the sweep twice the same day
        clock.set(date(2026, 11, 14))
        assert run_sweep().key_reviews_due == 0  # still the same interval
        assert _due_notifications() == responsible
        note = db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.KEY_REVIEW)
        ).one()
        assert note.user_id == world.mediator_b.user.id and note.link == f"/key-people/{entry['id']}"
        clock.set(date(2026, 11, 15))  # no review in the interval: due again, once
        assert run_sweep().key_reviews_due == 1
        assert run_sweep().key_reviews_due == 0
        assert count(KeyReviewDue) == 2
        # A review on 11-16 resets the next due date to 11-23.
        clock.set(date(2026, 11, 16))
        r = client.post(
            f"/api/v1/key-people/{entry['id']}/reviews",
            json={"on": "2026-11-16", "note": "走访牵头人，情绪稳定。"},
            headers=world.mediator_b.headers,
        )
        assert r.status_code == 201 and r.get_json()["next_review_on"] == "2026-11-23"
        clock.set(date(2026, 11, 22))
        assert run_sweep().key_reviews_due == 0
        clock.set(date(2026, 11, 23))
        assert run_sweep().key_reviews_due == 1
        assert run_sweep().key_reviews_due == 0
        assert _due_notifications() == 3
        assert count(KeyReviewDue) == 3
    finally:
        clock.reset()


def test_an_inactive_entry_is_never_due(app, client, world):
    try:
        clock.set(date(2026, 11, 1))
        entry = register(client, world)
        db.session.get(KeyEntry, entry["id"]).active = False
        db.session.commit()
        clock.set(date(2026, 12, 1))
        assert run_sweep().key_reviews_due == 0
    finally:
        clock.reset()


# ---------------------------------------------------------------------------------------- history


def test_every_review_and_change_is_on_the_history(app, client, world, today):
    done = case(world, world.village_b, date(2026, 11, 2))
    db.session.commit()
    entry = register(client, world)
    staff = web(app, world.center_user_b)
    form = {
        **{k: str(v) for k, v in body(world).items()},
        "measures": "每日电话联系牵头人。",
        "cases": done.case_no,
        "active": "1",
        "csrf_token": csrf_token(staff, f"/key-people/{entry['id']}/edit"),
    }
    r = staff.post(f"/key-people/{entry['id']}/edit", data=form)
    assert r.status_code in (302, 303), r.get_data(as_text=True)
    review = {"on": "2026-11-19", "note": "走访，情绪稳定。", "next_review_on": "2026-11-30"}
    r = client.post(
        f"/api/v1/key-people/{entry['id']}/reviews", json=review, headers=world.mediator_b.headers
    )
    assert r.status_code == 201
    again = client.post(
        f"/api/v1/key-people/{entry['id']}/reviews", json=review, headers=world.mediator_b.headers
    )
    assert again.status_code == 201  # a retry: the same review, not a second one
    history = again.get_json()["history"]
    assert [h["kind"] for h in history] == ["复查", "关联案件", "修改", "登记"]
    assert history[0] == {
        "kind": "复查",
        "on": "2026-11-19",
        "by": "mediator_b",
        "note": "走访，情绪稳定。",
        "next_review_on": "2026-11-30",
    }
    assert history[1]["note"] == done.case_no and history[2]["note"] == "修改了稳控措施"
    assert again.get_json()["next_review_on"] == "2026-11-30"
    bad = client.post(
        f"/api/v1/key-people/{entry['id']}/reviews",
        json={"on": "2026-11-19", "note": "x", "next_review_on": "2026-11-18"},
        headers=world.mediator_b.headers,
    )
    assert bad.status_code == 422 and "next_review_on" in bad.get_json()["errors"]["json"]
    future = client.post(
        f"/api/v1/key-people/{entry['id']}/reviews",
        json={"on": "2026-11-21", "note": "x"},
        headers=world.mediator_b.headers,
    )
    assert future.status_code == 422 and "on" in future.get_json()["errors"]["json"]


# ---------------------------------------------------------------------------------------- case links


def test_cases_link_only_to_visible_cases_and_show_only_to_who_may_see_them(app, client, world, today):
    mine = case(world, world.village_b, date(2026, 11, 2))
    theirs = case(world, world.village_a, date(2026, 11, 3))
    db.session.commit()
    r = client.post(
        "/api/v1/key-people", json=body(world, cases=[theirs.case_no]), headers=world.center_user_b.headers
    )
    assert r.status_code == 422 and theirs.case_no in r.get_json()["errors"]["json"]["cases"][0]
    assert count(KeyEntry) == 0
    # The district sees both towns: it links both.
    entry = register(client, world, who=world.district_staff, cases=[mine.case_no, theirs.case_no])
    assert {c["case_no"] for c in entry["cases"]} == {mine.case_no, theirs.case_no}
    seen = client.get(f"/api/v1/key-people/{entry['id']}", headers=world.center_user_b.headers).get_json()
    assert [c["case_no"] for c in seen["cases"]] == [mine.case_no]
    html = web(app, world.center_user_b).get(f"/key-people/{entry['id']}").get_data(as_text=True)
    assert mine.case_no in html and theirs.case_no not in html
    # 双港镇's edit keeps the link it cannot see.
    staff = web(app, world.center_user_b)
    form = {**{k: str(v) for k, v in body(world).items()}, "cases": "", "active": "1"}
    form["csrf_token"] = csrf_token(staff, f"/key-people/{entry['id']}/edit")
    assert staff.post(f"/key-people/{entry['id']}/edit", data=form).status_code in (302, 303)
    db.session.expire_all()
    assert [d.id for d in db.session.get(KeyEntry, entry["id"]).cases] == [theirs.id]


# ---------------------------------------------------------------------------------------------- 包案


def test_case_leader_on_the_case_page_the_api_the_timeline_and_the_overdue_review(app, client, world, today):
    d = case(
        world,
        world.village_b,
        date(2026, 10, 1),
        accepted_on=date(2026, 10, 1),
        deadline=date(2026, 10, 31),
        channel="人民调解",
        unit=world.committee_b,
    )
    db.session.commit()
    page = f"/disputes/{d.id}"
    # A mediator sees no form and is refused on the web and the API.
    mediator = web(app, world.mediator_b)
    assert 'data-testid="case-leader-form"' not in mediator.get(page).get_data(as_text=True)
    token = csrf_token(mediator, page)
    leader = {"name": "王建国", "post": "双港镇党委副书记", "since": "2026-11-18"}
    assert (
        mediator.post(f"/key-people/cases/{d.id}/leader", data={**leader, "csrf_token": token}).status_code
        == 403
    )
    api = client.put(f"/api/v1/disputes/{d.id}/leader", json=leader, headers=world.mediator_b.headers)
    assert api.status_code == 403
    # Another town's 综治中心 does not see the case.
    other = client.put(f"/api/v1/disputes/{d.id}/leader", json=leader, headers=world.center_user_a.headers)
    assert other.status_code == 404
    assert service.leader_of(d) is None
    # 综治中心 staff set it from the case page.
    staff = web(app, world.center_user_b)
    html = staff.get(page).get_data(as_text=True)
    assert 'data-testid="case-leader-form"' in html
    r = staff.post(f"/key-people/cases/{d.id}/leader", data={**leader, "csrf_token": csrf_token(staff, page)})
    assert r.status_code in (302, 303)
    assert "双港镇党委副书记 王建国（2026-11-18起包案）" in staff.get(page).get_data(as_text=True)
    db.session.expire_all()
    assert (service.leader_of(d).name, service.leader_of(d).since) == ("王建国", date(2026, 11, 18))
    events = db.session.scalars(
        select(Event).where(Event.dispute_id == d.id, Event.type == "case_leader_set")
    ).all()
    assert len(events) == 1 and events[0].label == "包案"
    # A repeat changes nothing; the API's case answer carries it.
    assert (
        client.put(
            f"/api/v1/disputes/{d.id}/leader", json=leader, headers=world.center_user_b.headers
        ).status_code
        == 200
    )
    assert count(Event, Event.type == "case_leader_set") == 1
    answer = client.get(f"/api/v1/disputes/{d.id}", headers=world.mediator_b.headers).get_json()
    assert answer["case_leader"] == {"name": "王建国", "post": "双港镇党委副书记", "since": "2026-11-18"}
    assert [e["label"] for e in answer["events"] if e["type"] == "case_leader_set"] == ["包案"]
    # The overdue review shows it (API and page).
    review = client.get(
        f"/api/v1/reports/overdue?node={world.town_b.code}", headers=world.center_user_b.headers
    ).get_json()
    assert [(i["case_no"], i["leader"]) for i in review["items"]] == [(d.case_no, "双港镇党委副书记 王建国")]
    html = staff.get(f"/reports/overdue?node={world.town_b.code}").get_data(as_text=True)
    assert "包案：双港镇党委副书记 王建国" in html
    # Bad input: Chinese errors on the API.
    bad = client.put(
        f"/api/v1/disputes/{d.id}/leader", json={"since": "2026-12-01"}, headers=world.center_user_b.headers
    )
    assert bad.status_code == 422 and {"name", "post", "since"} <= set(bad.get_json()["errors"]["json"])
    assert count(CaseLeader) == 1


def test_the_list_filters_and_pages(app, client, world, today):
    for i in range(3):
        register(client, world, name=f"群体{i}", review_days=1 + i * 10)
    register(client, world, name="张某", kind="重点信访人员", group_size=None)
    h = world.center_user_b.headers
    page = client.get("/api/v1/key-people?per_page=2", headers=h).get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (4, 2, 2)
    assert page["items"][0]["name"] == "群体0"  # soonest review first
    kind = client.get("/api/v1/key-people?kind=重点信访人员", headers=h).get_json()
    assert [e["name"] for e in kind["items"]] == ["张某"]
    clock.set(date(2026, 11, 21))
    due = client.get("/api/v1/key-people?due=1", headers=h).get_json()
    assert [e["name"] for e in due["items"]] == ["群体0"]
    html = web(app, world.center_user_b).get("/key-people/?due=1").get_data(as_text=True)
    assert "群体0" in html and "群体1" not in html and 'data-testid="review-due"' in html
    bad = client.get("/api/v1/key-people?node=" + world.town_a.code, headers=h)
    assert bad.status_code == 422
