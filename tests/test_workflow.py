"""The life of a case through the API: the transition table (every allowed and every forbidden
transition), who may act, escalation, co-handling units, court referrals, 司法确认, sessions, 民转刑
warnings, refusals, extensions, optimistic locking and a real race between two threads."""

from __future__ import annotations

import threading

import pytest
from flask import g
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from mediation.common.enums import Role
from mediation.disputes import workflow
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import TRANSITIONS, Stage
from mediation.disputes.workflow_api import ACTIONS, run_action
from mediation.extensions import db
from tests.factories import user
from tests.workflow_support import (
    act,
    get,
    make_case,
    make_referred_case,
    ok,
    register,
    snapshot,
    today,
    valid_body,
)

API_ACTIONS = [a for a in TRANSITIONS if a not in ("refer", "take")]  # take: part of a walk-in accept


@pytest.fixture
def w(world):
    """The standard world plus a second mediator in 双港镇调委会 and a user of the police station."""
    world.mediator_b2 = user("mediator_b2", Role.MEDIATOR, world.committee_b)
    world.police_user = user("police_b", Role.MEDIATOR, world.police_b)
    db.session.commit()
    return world


def actor_for(w, action: str, stage: Stage):
    """Someone the table lets perform ``action`` on the standard case (not an admin)."""
    if action in ("route", "escalate", "refuse_application") or (
        action == "notify_police" and stage == Stage.PENDING
    ):
        return w.center_user_b
    return w.mediator_b


def prepare(client, w, dispute_id: int, action: str) -> None:
    if action == "rule_confirmation":
        ok(act(client, w.mediator_b, dispute_id, "apply_confirmation"))


def test_every_action_of_the_api_is_in_the_table():
    from mediation.disputes.models import EVENT_LABELS

    assert set(ACTIONS) == set(API_ACTIONS)
    for t in TRANSITIONS.values():
        assert t.sources and (t.target is None or isinstance(t.target, Stage))
        assert t.event in EVENT_LABELS, t.event


ALLOWED = [(a, s) for a in API_ACTIONS for s in Stage if s in TRANSITIONS[a].sources]
FORBIDDEN = [(a, s) for a in API_ACTIONS for s in Stage if s not in TRANSITIONS[a].sources]


@pytest.mark.parametrize(("action", "stage"), ALLOWED, ids=[f"{a}-{s.name}" for a, s in ALLOWED])
def test_allowed_transition(client, w, action, stage):
    # 退回法院 is for the cases a court referred (its guard refuses the others: tests/test_court.py).
    dispute_id = (make_referred_case if action == "return_to_court" else make_case)(
        client, w, stage, **({"source": "网上申请"} if action == "refuse_application" else {})
    )
    prepare(client, w, dispute_id, action)
    before = get(client, w.admin, dispute_id)
    r = act(client, actor_for(w, action, stage), dispute_id, action)
    body = ok(r)
    t = TRANSITIONS[action]
    expected = t.target or stage
    assert workflow.STAGE_STATUS[expected].value == body["status"]
    db.session.expire_all()
    assert workflow.stage_of(db.session.get(Dispute, dispute_id)) == expected
    assert body["version"] > before["version"]
    new_events = body["events"][len(before["events"]) :]
    assert [e["type"] for e in new_events] == [t.event]
    assert new_events[0]["by"] == actor_for(w, action, stage).username


@pytest.mark.parametrize(("action", "stage"), FORBIDDEN, ids=[f"{a}-{s.name}" for a, s in FORBIDDEN])
def test_forbidden_transition_is_409_and_changes_nothing(client, w, action, stage):
    dispute_id = make_case(client, w, stage)
    before = snapshot(dispute_id)
    r = act(client, w.admin, dispute_id, action)  # even an admin: the table, not the role, refuses
    assert r.status_code == 409, r.get_json()
    assert f"「{stage.value}」" in r.get_json()["message"]
    assert snapshot(dispute_id) == before


def test_route_accept_close_life_and_deadline(client, w):
    dispute_id = make_case(client, w, Stage.PENDING)
    routed = ok(
        act(
            client,
            w.center_user_b,
            dispute_id,
            "route",
            {"channel": "人民调解", "unit": "TW-B", "co_units": ["PCS-B"]},
        )
    )
    assert routed["status"] == "办理中" and routed["accepted_on"] is None and routed["deadline"] is None
    assert routed["unit"] == "TW-B" and routed["co_units"] == ["PCS-B"]
    accepted = ok(act(client, w.mediator_b, dispute_id, "accept", {"date": today()}))
    assert accepted["accepted_on"] == today()
    assert accepted["deadline"] is not None and accepted["warning_level"] == "正常"
    assert accepted["handler"] == "mediator_b"
    closed = ok(
        act(
            client,
            w.mediator_b,
            dispute_id,
            "close",
            {"outcome": "调解不成功", "date": today(), "note": "已告知可向法院起诉。"},
        )
    )
    assert (
        closed["status"] == "已办结" and closed["outcome"] == "调解不成功" and closed["closed_on"] == today()
    )
    assert closed["warning_level"] is None
    assert [e["type"] for e in closed["events"]] == ["registered", "routed", "accepted", "closed"]


def test_invalid_bodies_are_422_and_change_nothing(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    before = snapshot(dispute_id)
    cases = [
        ("close", {"outcome": "和解"}, "outcome"),
        ("close", {"outcome": "调解成功", "date": "2099-01-01"}, "date"),
        ("close", {"outcome": "调解成功", "date": "2000-01-01"}, "date"),  # before registration
        ("close", {"outcome": "不予受理"}, "note"),
        ("close", {"outcome": "调解成功", "colour": "red"}, "colour"),
        ("transfer", {"unit": "NO-SUCH", "reason": "x"}, "unit"),
        ("transfer", {"unit": "TW-B", "reason": "x"}, "unit"),  # already there
        ("reassign", {"handler": "mediator_a"}, "handler"),  # not in the lead unit
        ("stabilize", {}, "note"),
        ("extend", {"days": 0, "reason": "x", "approver": "y"}, "days"),
        ("session", {"held_on": today()}, "place"),
        (
            "notify_police",
            {"notified_at": "2099-01-01T10:00", "police_unit": "x", "note": "y"},
            "notified_at",
        ),
    ]
    for action, body, field in cases:
        r = act(client, w.mediator_b, dispute_id, action, body)
        assert r.status_code == 422, (action, body, r.get_json())
        assert field in r.get_json()["errors"]["json"], (action, r.get_json())
    assert snapshot(dispute_id) == before
    r = act(client, w.mediator_b, dispute_id, "close", {"outcome": "调解成功", "date": "2000-01-01"})
    assert "登记日期" in r.get_json()["errors"]["json"]["date"][0]


def test_accept_date_not_before_routing_or_in_the_future(client, w):
    dispute_id = make_case(client, w, Stage.AWAITING)
    r = act(client, w.mediator_b, dispute_id, "accept", {"date": "2099-12-31"})
    assert r.status_code == 422 and "晚于今天" in r.get_json()["errors"]["json"]["date"][0]


# --- who may act -------------------------------------------------------------------------------


def test_roles_and_units(client, w):
    dispute_id = make_case(client, w, Stage.PENDING)
    # A mediator of the town sees the case (属地 in its subtree) but may not route it.
    r = act(client, w.mediator_b, dispute_id, "route")
    assert r.status_code == 403 and "综治中心" in r.get_json()["message"]
    # A user of another town does not even see it.
    assert act(client, w.mediator_a, dispute_id, "route").status_code == 404
    assert act(client, w.center_user_a, dispute_id, "route").status_code == 404
    # The district centre (above the town centre) may route.
    ok(act(client, w.district_staff, dispute_id, "route"))
    # The centre may not accept for the committee; a grid worker may not either.
    r = act(client, w.center_user_b, dispute_id, "accept")
    assert r.status_code == 403 and "牵头单位" in r.get_json()["message"]
    assert act(client, w.court_user, dispute_id, "accept").status_code == 403  # not a 诉调对接 case
    ok(act(client, w.mediator_b, dispute_id, "accept"))
    # Reassignment is for the lead unit only.
    ok(act(client, w.mediator_b, dispute_id, "reassign", {"handler": "mediator_b2"}))
    assert get(client, w.admin, dispute_id)["handler"] == "mediator_b2"
    r = act(client, w.mediator_b, dispute_id, "reassign", {"handler": "mediator_b2"})
    assert r.status_code == 422  # already theirs
    assert act(client, w.admin, dispute_id, "stabilize").status_code == 200


def test_grid_worker_cannot_act(client, w):
    dispute_id = register(client, w.grid_a_user, w.grid_a.code)
    for action in API_ACTIONS:
        r = act(client, w.grid_a_user, dispute_id, action)
        assert r.status_code in (403, 409), (action, r.status_code)
    r = act(client, w.grid_a_user, dispute_id, "route")
    assert r.status_code == 403


def test_co_handling_unit_sees_and_works_on_the_case(client, w):
    dispute_id = make_case(client, w, Stage.PENDING)
    # 海滨街道调委会 is in another town: it does not see the case …
    assert client.get(f"/api/v1/disputes/{dispute_id}", headers=w.mediator_a.headers).status_code == 404
    listed = client.get("/api/v1/disputes", headers=w.mediator_a.headers).get_json()
    assert dispute_id not in [d["id"] for d in listed["items"]]
    # A town centre cannot bring in another town's unit (outside its reach: routing.reachable_units);
    # the district centre, after an escalation, can.
    r = act(
        client,
        w.center_user_b,
        dispute_id,
        "route",
        {"channel": "人民调解", "unit": "TW-B", "co_units": ["TW-A"]},
    )
    assert r.status_code == 422 and "co_units" in r.get_json()["errors"]["json"]
    ok(act(client, w.center_user_b, dispute_id, "escalate"))
    ok(
        act(
            client,
            w.district_staff,
            dispute_id,
            "route",
            {"channel": "人民调解", "unit": "TW-B", "co_units": ["TW-A"]},
        )
    )
    # … until it is a co-handling unit (联办): then it sees it, lists it and works on it.
    assert get(client, w.mediator_a, dispute_id)["co_units"] == ["TW-A"]
    listed = client.get("/api/v1/disputes", headers=w.mediator_a.headers).get_json()
    assert dispute_id in [d["id"] for d in listed["items"]]
    ok(act(client, w.mediator_a, dispute_id, "accept"))
    ok(act(client, w.mediator_a, dispute_id, "session"))
    # but reassigning inside the lead unit is the lead unit's business
    assert act(client, w.mediator_a, dispute_id, "reassign", {"handler": "mediator_b2"}).status_code == 403
    ok(act(client, w.mediator_a, dispute_id, "stabilize"))
    # Transferring the lead to the co-handling unit removes it from the co-handlers.
    ok(act(client, w.mediator_a, dispute_id, "resume"))
    body = ok(
        act(client, w.mediator_a, dispute_id, "transfer", {"unit": "TW-A", "reason": "由海滨街道牵头。"})
    )
    assert body["unit"] == "TW-A" and body["co_units"] == [] and body["accepted_on"] is None
    # The former lead unit no longer sees it through the unit, but 双港镇 still does through its 属地.
    assert get(client, w.mediator_b, dispute_id)["unit"] == "TW-A"
    assert act(client, w.mediator_b, dispute_id, "accept").status_code == 403
    ok(act(client, w.mediator_a, dispute_id, "accept"))


def test_transfer_resets_acceptance(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    body = ok(act(client, w.mediator_b, dispute_id, "transfer"))
    assert body["status"] == "办理中" and body["unit"] == "PCS-B"
    assert body["accepted_on"] is None and body["deadline"] is None and body["handler"] is None
    event = body["events"][-1]
    assert event["type"] == "transferred" and event["data"] == {"from_unit": "TW-B", "to_unit": "PCS-B"}
    assert act(client, w.mediator_b, dispute_id, "accept").status_code == 403  # the old unit can't accept
    ok(act(client, w.police_user, dispute_id, "accept"))


# --- escalation ------------------------------------------------------------------------------------


def test_escalation_goes_to_the_parent_centre(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    body = ok(act(client, w.center_user_b, dispute_id, "escalate"))
    assert body["status"] == "待分流" and body["center"] == "ZZ-QU"
    assert body["unit"] is None and body["channel"] is None and body["accepted_on"] is None
    event = body["events"][-1]
    assert event["type"] == "escalated" and event["data"]["from_center"] == "ZZ-B"
    assert event["data"]["to_center"] == "ZZ-QU"
    assert event["data"]["previous"]["unit"] == "TW-B"
    # The town centre still sees the case but no longer routes it; the district centre does.
    r = act(client, w.center_user_b, dispute_id, "route")
    assert r.status_code == 403
    ok(act(client, w.district_staff, dispute_id, "route", {"channel": "行政调解", "unit": "PCS-B"}))


def test_no_centre_above_the_top_one(client, w):
    dispute_id = make_case(client, w, Stage.PENDING)
    ok(act(client, w.center_user_b, dispute_id, "escalate"))
    before = snapshot(dispute_id)
    r = act(client, w.district_staff, dispute_id, "escalate")
    assert r.status_code == 409 and "上一级综治中心" in r.get_json()["message"]
    assert snapshot(dispute_id) == before


def test_village_case_escalates_from_the_nearest_centre(client, w):
    from tests.factories import unit

    village_center = unit("ZZ-CUN", "双港村综合服务管理平台", "综治中心", w.village_b)
    village_staff = user("cun_center", Role.CENTER, village_center)
    db.session.commit()
    dispute_id = make_case(client, w, Stage.PENDING)
    assert (
        client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=village_staff.headers).get_json()[
            "center"
        ]
        == "ZZ-CUN"
    )
    body = ok(act(client, village_staff, dispute_id, "escalate"))
    assert body["center"] == "ZZ-B"
    body = ok(act(client, w.center_user_b, dispute_id, "escalate"))
    assert body["center"] == "ZZ-QU"


# --- 诉调对接 -----------------------------------------------------------------------------------------


def referral_body(w, **overrides):
    from tests.factories import dispute_payload

    body = dispute_payload(w.village_b.code)
    body.pop("source")
    body.update(kind="诉前委派", court_case_no="（2026）津0116民诉前调1234号", unit="TW-B")
    body.update(overrides)
    return body


def test_court_referral_registers_and_routes(client, w):
    r = client.post("/api/v1/court-referrals", json=referral_body(w), headers=w.court_user.headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "办理中" and body["channel"] == "诉调对接" and body["unit"] == "TW-B"
    assert body["source"] == "法院委派"
    assert [e["type"] for e in body["events"]] == ["registered", "court_referred"]
    assert body["events"][-1]["data"]["court_case_no"] == "（2026）津0116民诉前调1234号"
    work = client.get(f"/api/v1/disputes/{body['id']}/casework", headers=w.mediator_b.headers).get_json()
    assert work["referral"] == {
        "kind": "诉前委派",
        "court_case_no": "（2026）津0116民诉前调1234号",
        "court": "FY",
        "unit": "TW-B",
        "referred_on": today(),
    }
    assert work["stage"] == "待受理" and "accept" in work["allowed_actions"]
    # The receiving unit accepts and returns the result; extension needs both parties' consent.
    ok(act(client, w.mediator_b, body["id"], "accept"))
    r = act(client, w.mediator_b, body["id"], "extend", {"days": 15, "reason": "鉴定", "approver": "庭长"})
    assert r.status_code == 422 and "parties_consent" in r.get_json()["errors"]["json"]
    ok(
        act(
            client,
            w.mediator_b,
            body["id"],
            "extend",
            {"days": 15, "reason": "鉴定", "approver": "庭长", "parties_consent": True},
        )
    )
    # The court liaison works on 诉调对接 cases too.
    ok(act(client, w.court_user, body["id"], "session"))
    ok(act(client, w.mediator_b, body["id"], "close"))


@pytest.mark.parametrize(
    "number",
    [
        "2026津0116民诉前调1234号",
        "（26）津0116民诉前调1234号",
        "（2026）津0116民诉前调号",
        "（2026）津0116民诉前调1234",
    ],
)
def test_court_case_number_shape(client, w, number):
    r = client.post(
        "/api/v1/court-referrals", json=referral_body(w, court_case_no=number), headers=w.court_user.headers
    )
    assert r.status_code == 422 and "court_case_no" in r.get_json()["errors"]["json"]
    assert client.get("/api/v1/disputes", headers=w.admin.headers).get_json()["total"] == 0


def test_court_case_number_brackets_normalised(client, w):
    r = client.post(
        "/api/v1/court-referrals",
        json=referral_body(w, kind="诉中委托", court_case_no="(2026)津0116民初 77号"),
        headers=w.court_user.headers,
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["events"][-1]["data"]["court_case_no"] == "（2026）津0116民初77号"


def test_only_court_liaisons_refer(client, w):
    r = client.post("/api/v1/court-referrals", json=referral_body(w), headers=w.center_user_b.headers)
    assert r.status_code == 403
    assert client.get("/api/v1/disputes", headers=w.admin.headers).get_json()["total"] == 0


@pytest.mark.parametrize("stage", [s for s in Stage if s != Stage.PENDING])
def test_refer_only_from_pending(client, w, stage):
    dispute_id = make_case(client, w, stage)
    dispute = db.session.get(Dispute, dispute_id)
    with pytest.raises(workflow.Conflict):
        workflow.perform(
            w.court_user.user,
            dispute,
            "refer",
            {"kind": "诉前委派", "court_case_no": "（2026）津0116民诉前调1号", "unit": "TW-B"},
        )
    db.session.rollback()


def test_judicial_confirmation(client, w):
    dispute_id = make_case(client, w, Stage.CLOSED)
    r = act(
        client,
        w.mediator_b,
        dispute_id,
        "apply_confirmation",
        {"applied_on": today(), "agreement_on": "2026-01-01", "court": "FY"},
    )
    assert r.status_code == 422  # agreement before the registration
    r = act(client, w.mediator_b, dispute_id, "apply_confirmation", {"applied_on": today(), "court": "TW-B"})
    assert r.status_code == 422 and "court" in r.get_json()["errors"]["json"]
    body = ok(act(client, w.mediator_b, dispute_id, "apply_confirmation"))
    assert body["events"][-1]["type"] == "confirmation_applied"
    r = act(client, w.mediator_b, dispute_id, "apply_confirmation")
    assert r.status_code == 409 and "待裁定" in r.get_json()["message"]
    r = act(
        client,
        w.court_user,
        dispute_id,
        "rule_confirmation",
        {"ruling_no": "津0116民特88号", "result": "确认有效"},
    )
    assert r.status_code == 422
    body = ok(act(client, w.court_user, dispute_id, "rule_confirmation"))
    assert body["events"][-1]["type"] == "confirmation_ruled"
    work = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.court_user.headers).get_json()
    assert work["confirmations"][0]["result"] == "确认有效"
    assert work["confirmations"][0]["ruling_no"] == "（2026）津0116民特88号"
    assert act(client, w.mediator_b, dispute_id, "rule_confirmation").status_code == 409
    r = act(client, w.mediator_b, dispute_id, "apply_confirmation")
    assert r.status_code == 409 and "确认有效" in r.get_json()["message"]


def test_judicial_confirmation_window_is_30_days(client, w, app):
    from datetime import timedelta

    from mediation.common.time import local_today

    dispute_id = make_case(client, w, Stage.CLOSED)
    d = db.session.get(Dispute, dispute_id)
    d.registered_on = local_today() - timedelta(days=60)
    db.session.commit()
    agreement = local_today() - timedelta(days=40)
    r = act(
        client,
        w.mediator_b,
        dispute_id,
        "apply_confirmation",
        {
            "agreement_on": agreement.isoformat(),
            "applied_on": (agreement + timedelta(days=31)).isoformat(),
            "court": "FY",
        },
    )
    assert r.status_code == 422 and "30日内" in r.get_json()["errors"]["json"]["applied_on"][0]
    ok(
        act(
            client,
            w.mediator_b,
            dispute_id,
            "apply_confirmation",
            {
                "agreement_on": agreement.isoformat(),
                "applied_on": (agreement + timedelta(days=30)).isoformat(),
                "court": "FY",
            },
        )
    )


def test_only_successful_agreements_go_to_confirmation(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    ok(act(client, w.mediator_b, dispute_id, "close", {"outcome": "撤回", "date": today()}))
    r = act(client, w.mediator_b, dispute_id, "apply_confirmation")
    assert r.status_code == 409 and "调解成功" in r.get_json()["message"]


# --- sessions, refusal, 民转刑 ----------------------------------------------------------------------


def test_sessions_are_recorded(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    ok(act(client, w.mediator_b, dispute_id, "session"))
    ok(act(client, w.mediator_b, dispute_id, "session", {**valid_body("session"), "place": "双港村委会"}))
    work = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.mediator_b.headers).get_json()
    assert [s["place"] for s in work["sessions"]] == ["双港镇人民调解委员会调解室", "双港村委会"]
    assert work["sessions"][0]["attendees"] == "张三、李四"


def test_refusal_closes_as_not_accepted(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    body = ok(act(client, w.mediator_b, dispute_id, "refuse"))
    assert body["status"] == "已办结" and body["outcome"] == "不予受理"
    event = body["events"][-1]
    assert event["type"] == "refused" and "第十七条" in event["note"] and "李四" in event["note"]


def test_police_notification_sets_the_flag(client, w):
    dispute_id = make_case(client, w, Stage.PENDING)
    assert get(client, w.admin, dispute_id)["prominent"] is False
    body = ok(act(client, w.center_user_b, dispute_id, "notify_police"))
    assert "民转刑风险" in body["flags"] and body["prominent"] is True and body["civil_to_criminal"] is False
    event = body["events"][-1]
    assert event["type"] == "police_notified" and event["data"]["police_unit"] == "双港派出所"
    assert event["data"]["notified_at"] == f"{today()} 00:00"  # shown in Beijing time
    body = ok(
        act(
            client,
            w.center_user_b,
            dispute_id,
            "notify_police",
            {**valid_body("notify_police"), "converted": True, "officer": "赵警官"},
        )
    )
    assert body["civil_to_criminal"] is True and body["flags"].count("民转刑风险") == 1
    work = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.center_user_b.headers).get_json()
    assert [n["converted"] for n in work["police_notifications"]] == [False, True]


# --- optimistic locking --------------------------------------------------------------------------


def test_second_writer_with_the_same_version_gets_409(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    version = get(client, w.mediator_b, dispute_id)["version"]
    ok(act(client, w.mediator_b, dispute_id, "session", {**valid_body("session"), "version": version}))
    before = snapshot(dispute_id)
    r = act(client, w.mediator_b2, dispute_id, "stabilize", {**valid_body("stabilize"), "version": version})
    assert r.status_code == 409 and "已被他人修改" in r.get_json()["message"]
    assert snapshot(dispute_id) == before
    # With the current version it goes through.
    current = get(client, w.mediator_b, dispute_id)["version"]
    ok(act(client, w.mediator_b2, dispute_id, "stabilize", {**valid_body("stabilize"), "version": current}))


def test_stale_write_detected_at_flush_is_409(app, client, w):
    """The window between reading a case and writing it: another transaction commits in between.
    The UPDATE … WHERE version = <read version> matches nothing, SQLAlchemy raises StaleDataError,
    and the API answers 409 with nothing saved."""
    dispute_id = make_case(client, w, Stage.HANDLING)
    session = db.session()
    session.expire_on_commit = False
    dispute = session.get(Dispute, dispute_id)
    _ = (dispute.version, dispute.co_units, dispute.events, dispute.node, dispute.unit)
    session.commit()  # keeps the loaded (soon stale) state; ends the read transaction
    with db.engine.begin() as other:  # another user's write, committed meanwhile
        other.execute(
            text("UPDATE dispute SET version = version + 1, summary = '他人的修改' WHERE id = :id"),
            {"id": dispute_id},
        )
    with app.test_request_context():
        g.api_user = w.mediator_b.user
        with pytest.raises(HTTPException) as raised:
            run_action("stabilize", dispute_id, valid_body("stabilize"))
    assert raised.value.code == 409
    session.expire_on_commit = True
    snap = snapshot(dispute_id)
    assert snap["summary"] == "他人的修改" and snap["status"] == "办理中" and snap["Event"] == 3


def test_real_race_between_two_threads(app, client, w):
    """Two people act on the same case at the same moment: exactly one wins, the other gets 409."""
    dispute_id = make_case(client, w, Stage.HANDLING)
    version = get(client, w.mediator_b, dispute_id)["version"]
    db.session.commit()
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def worker(action, who):
        c = app.test_client()
        barrier.wait(timeout=10)
        r = c.post(
            f"/api/v1/disputes/{dispute_id}/{ACTIONS[action][0]}",
            json={**valid_body(action), "version": version},
            headers=who.headers,
        )
        results[action] = r.status_code

    threads = [
        threading.Thread(target=worker, args=("close", w.mediator_b)),
        threading.Thread(target=worker, args=("transfer", w.mediator_b2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == [200, 409], results
    winner = next(a for a, code in results.items() if code == 200)
    body = get(client, w.admin, dispute_id)
    assert [e["type"] for e in body["events"]][3:] == [TRANSITIONS[winner].event]
    assert body["status"] == ("已办结" if winner == "close" else "办理中")


def test_race_without_versions_still_one_winner(app, client, w):
    """Without a version in the body the table still protects the case: after either action the other
    is not allowed (close → no transfer; transfer → not accepted, so no close)."""
    dispute_id = make_case(client, w, Stage.HANDLING)
    db.session.commit()
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def worker(action, who):
        c = app.test_client()
        barrier.wait(timeout=10)
        results[action] = c.post(
            f"/api/v1/disputes/{dispute_id}/{ACTIONS[action][0]}",
            json=valid_body(action),
            headers=who.headers,
        ).status_code

    threads = [threading.Thread(target=worker, args=(a, w.mediator_b)) for a in ("close", "transfer")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == [200, 409], results
    assert len(get(client, w.admin, dispute_id)["events"]) == 4
