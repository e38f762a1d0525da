"""The walk-in case: a mediator of a 调委会 registers a case and accepts it for their own committee in
one go (本委员会直接受理) — on the form and on the API — through the transition table; the 综治中心
responsible for the place is told and can still transfer or escalate. A case needs at least one party
to be registered and both sides to be accepted."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from mediation.accounts.access import may_register_and_accept
from mediation.common.enums import Channel, Role
from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import Notification
from mediation.routing.deadlines import time_limit_for
from tests.factories import dispute_payload, user
from tests.workflow_support import act, get, ok, register, snapshot, today

ONE_PARTY = [{"role": "申请人", "kind": "自然人", "name": "张三"}]


@pytest.fixture
def w(world):
    """The standard world plus a user of the police station (a 行政机关, not a 调委会)."""
    world.police_user = user("police_b", Role.MEDIATOR, world.police_b)
    db.session.commit()
    return world


def walk_in(client, who, node_code: str, **overrides):
    return client.post(
        "/api/v1/disputes", json=dispute_payload(node_code, accept=True, **overrides), headers=who.headers
    )


def notifications(who) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == who.user.id).order_by(Notification.id)
        )
    )


def dispute_count() -> int:
    return db.session.scalar(select(func.count(Dispute.id)))


def assert_walked_in(body: dict, unit: str = "TW-B", handler: str = "mediator_b") -> None:
    assert body["status"] == "办理中" and body["channel"] == "人民调解" and body["unit"] == unit
    assert body["accepted_on"] == today() and body["handler"] == handler
    expected = time_limit_for(Channel.PEOPLE, body["category"]).deadline(local_today())
    assert body["deadline"] == expected.isoformat()  # as for a normal acceptance
    types = [e["type"] for e in body["events"]]
    assert types[:1] == ["registered"] and types[-2:] == ["routed", "accepted"]
    routed = body["events"][-2]
    assert routed["data"]["unit"] == unit and routed["data"]["direct"] is True and routed["by"] == handler


# --- the one predicate ---------------------------------------------------------------------------


def test_who_may_register_and_accept(w):
    assert may_register_and_accept(w.mediator_b.user) and may_register_and_accept(w.mediator_a.user)
    for other in (w.police_user, w.center_user_b, w.admin, w.court_user, w.grid_a_user):
        assert not may_register_and_accept(other.user), other.username
    w.mediator_b.user.active = False
    assert not may_register_and_accept(w.mediator_b.user)


# --- the API -------------------------------------------------------------------------------------


def test_api_register_and_accept_in_one_request(client, w):
    r = walk_in(client, w.mediator_b, w.village_b.code)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert_walked_in(body)
    # The 综治中心 responsible for the place hears about it, once; the mediator does not.
    [note] = notifications(w.center_user_b)
    assert (
        note.kind == "直接受理" and note.dispute_id == body["id"] and note.link == f"/disputes/{body['id']}"
    )
    assert body["case_no"] in note.text and "双港镇人民调解委员会" in note.text
    assert notifications(w.mediator_b) == [] and notifications(w.district_staff) == []
    # The casework shows the case as handled, with 记录调解 available.
    cw = client.get(f"/api/v1/disputes/{body['id']}/casework", headers=w.mediator_b.headers).get_json()
    assert cw["stage"] == "办理中" and "session" in cw["allowed_actions"]


def test_api_accept_action_on_an_own_pending_case_routes_and_accepts(client, w):
    dispute_id = register(client, w.mediator_b, w.village_b.code)
    assert get(client, w.mediator_b, dispute_id)["status"] == "待分流"
    cw = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.mediator_b.headers).get_json()
    assert "accept" in cw["allowed_actions"]
    before = get(client, w.mediator_b, dispute_id)["version"]
    body = ok(act(client, w.mediator_b, dispute_id, "accept", {"date": today(), "version": before}))
    assert_walked_in(body)
    assert [n.kind for n in notifications(w.center_user_b)] == ["直接受理"]


def test_refused_for_a_user_whose_unit_is_no_committee(client, w):
    count = dispute_count()
    for who in (w.police_user, w.center_user_b, w.admin):
        r = walk_in(client, who, w.village_b.code)
        assert r.status_code == 422, (who.username, r.get_json())
        assert "人民调解委员会的调解员" in r.get_json()["errors"]["json"]["accept"][0]
    assert dispute_count() == count  # nothing half-written
    # The accept action on a pending case the police station registered itself: still the 综治中心's.
    dispute_id = register(client, w.police_user, w.village_b.code)
    before = snapshot(dispute_id)
    r = act(client, w.police_user, dispute_id, "accept")
    assert r.status_code == 409 and "「待分流」" in r.get_json()["message"]
    assert snapshot(dispute_id) == before


def test_refused_for_a_case_another_unit_registered(client, w):
    dispute_id = register(client, w.center_user_b, w.village_b.code)
    before = snapshot(dispute_id)
    r = act(client, w.mediator_b, dispute_id, "accept")
    assert r.status_code == 409, r.get_json()
    assert "「待分流」" in r.get_json()["message"] and "本委员会登记" in r.get_json()["message"]
    assert snapshot(dispute_id) == before
    cw = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.mediator_b.headers).get_json()
    assert "accept" not in cw["allowed_actions"]
    assert notifications(w.center_user_b) == []


def test_refused_without_both_sides(client, w):
    count = dispute_count()
    r = walk_in(client, w.mediator_b, w.village_b.code, parties=ONE_PARTY)
    assert r.status_code == 422, r.get_json()
    assert "双方当事人" in r.get_json()["errors"]["json"]["parties"][0]
    assert dispute_count() == count
    # The accept action on an own pending case with one party: 409, nothing routed.
    dispute_id = register(client, w.mediator_b, w.village_b.code, parties=ONE_PARTY)
    before = snapshot(dispute_id)
    r = act(client, w.mediator_b, dispute_id, "accept")
    assert r.status_code == 409 and "双方当事人" in r.get_json()["message"]
    assert snapshot(dispute_id) == before
    # And the ordinary path: a routed case with one party cannot be accepted either.
    ok(act(client, w.center_user_b, dispute_id, "route"))
    before = snapshot(dispute_id)
    r = act(client, w.mediator_b, dispute_id, "accept")
    assert r.status_code == 409 and "双方当事人" in r.get_json()["message"]
    assert snapshot(dispute_id) == before


def test_two_parties_of_any_role_are_both_sides(client, w):
    parties = [{"role": "申请人", "name": "张三"}, {"role": "第三人", "name": "王五"}]
    r = walk_in(client, w.mediator_b, w.village_b.code, parties=parties)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "办理中"


def test_a_case_without_parties_is_not_registered(client, w):
    count = dispute_count()
    for body in (
        dispute_payload(w.village_b.code, parties=[]),
        {k: v for k, v in dispute_payload(w.village_b.code).items() if k != "parties"},
    ):
        r = client.post("/api/v1/disputes", json=body, headers=w.center_user_b.headers)
        assert r.status_code == 422
        assert r.get_json()["errors"]["json"]["parties"] == ["请至少登记一名当事人。"]
    assert dispute_count() == count


def test_the_centre_can_still_transfer_and_escalate_after_a_direct_accept(client, w):
    dispute_id = walk_in(client, w.mediator_b, w.village_b.code).get_json()["id"]
    cw = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.center_user_b.headers).get_json()
    assert {"escalate", "transfer"} <= set(cw["allowed_actions"])
    # The committee transfers it to the police station, which must accept it again.
    moved = ok(act(client, w.mediator_b, dispute_id, "transfer"))
    assert moved["unit"] == "PCS-B" and moved["accepted_on"] is None
    assert [n.kind for n in notifications(w.police_user)] == ["移交"]
    ok(act(client, w.police_user, dispute_id, "accept"))
    # The 综治中心 moves it back to the committee, which accepts it again.
    back = ok(
        act(client, w.center_user_b, dispute_id, "transfer", {"unit": "TW-B", "reason": "仍由调委会调解。"})
    )
    assert back["unit"] == "TW-B" and back["accepted_on"] is None
    assert [n.kind for n in notifications(w.mediator_b)] == ["移交"]
    ok(act(client, w.mediator_b, dispute_id, "accept"))
    # The 综治中心 escalates it to the district.
    up = ok(act(client, w.center_user_b, dispute_id, "escalate"))
    assert up["status"] == "待分流" and up["center"] == "ZZ-QU"
    assert [n.kind for n in notifications(w.district_staff)] == ["上报"]


def test_court_referrals_take_no_accept_flag(client, w):
    body = dispute_payload(
        w.village_b.code, kind="诉前委派", court_case_no="（2026）津0116民诉前调1号", unit="TW-B", accept=True
    )
    r = client.post("/api/v1/court-referrals", json=body, headers=w.court_user.headers)
    assert r.status_code == 422 and "accept" in r.get_json()["errors"]["json"]


# --- the form ------------------------------------------------------------------------------------


def form_data(web, node_code: str, parties=None, **extra) -> dict:
    html = web.client.get("/disputes/new").get_data(as_text=True)
    token = re.search(r'name="idempotency_token" value="([0-9a-f]+)"', html).group(1)
    data = {
        "csrf_token": web.csrf("/disputes/new"),
        "idempotency_token": token,
        "category": "邻里",
        "source": "群众来访",
        "summary": "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。",
        "node": node_code,
        "risk_level": "一般",
    }
    parties = [("申请人", "张三"), ("被申请人", "李四")] if parties is None else parties
    for i, (role, name) in enumerate(parties):
        data.update({f"parties-{i}-role": role, f"parties-{i}-kind": "自然人", f"parties-{i}-name": name})
    data.update(extra)
    return data


def test_the_form_offers_the_option_only_to_committee_mediators(web, w):
    web.login("mediator_b")
    assert 'data-testid="walk-in-accept"' in web.client.get("/disputes/new").get_data(as_text=True)
    for other in ("center_b", "police_b"):
        web.client.post("/logout", data={"csrf_token": web.csrf("/disputes/new")})
        web.login(other)
        html = web.client.get("/disputes/new").get_data(as_text=True)
        assert "本委员会直接受理" not in html, other


def test_form_register_and_accept_lands_on_the_case_page(web, w):
    web.login("mediator_b")
    r = web.client.post("/disputes/new", data=form_data(web, w.village_b.code, accept="1"))
    assert r.status_code == 303
    dispute_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    html = web.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已由本委员会直接受理" in html and 'data-action="session"' in html
    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert d.accepted_on == local_today() and d.unit.code == "TW-B" and d.channel == Channel.PEOPLE
    assert [e.type for e in d.events] == ["registered", "routed", "accepted"]
    assert [n.kind for n in notifications(w.center_user_b)] == ["直接受理"]


def test_form_refusals_are_field_messages(web, w):
    web.login("mediator_b")
    count = dispute_count()
    r = web.client.post(
        "/disputes/new", data=form_data(web, w.village_b.code, parties=[("申请人", "张三")], accept="1")
    )
    assert r.status_code == 422 and "双方当事人" in r.get_data(as_text=True)
    r = web.client.post("/disputes/new", data=form_data(web, w.village_b.code, parties=[]))
    assert r.status_code == 422 and "请至少登记一名当事人。" in r.get_data(as_text=True)
    assert dispute_count() == count
    # A forged option from a user who may not accept: refused, nothing registered.
    web.client.post("/logout", data={"csrf_token": web.csrf("/disputes/new")})
    web.login("center_b")
    r = web.client.post("/disputes/new", data=form_data(web, w.village_b.code, accept="1"))
    assert r.status_code == 422 and "人民调解委员会的调解员" in r.get_data(as_text=True)
    assert dispute_count() == count


def test_form_accept_button_on_an_own_pending_case(web, client, w):
    dispute_id = register(client, w.mediator_b, w.village_b.code)
    web.login("mediator_b")
    html = web.client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert 'data-action="accept"' in html
    r = web.client.post(
        f"/disputes/{dispute_id}/actions/accept",
        data={"csrf_token": web.csrf(f"/disputes/{dispute_id}"), "date": today()},
        follow_redirects=True,
    )
    assert "已受理" in r.get_data(as_text=True)
    assert_walked_in(get(client, w.mediator_b, dispute_id))
