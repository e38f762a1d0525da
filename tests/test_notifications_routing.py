"""Everyone who must act hears about it: a notification (in the app, and by e-mail when configured)
when a case is routed, transferred, escalated, referred by a court or accepted directly by a 调委会,
when a 督办 arrives, when a lower level submits a month close or asks to reopen it — exactly once
per event, to the users of the receiving unit, each with the link of the page where to act."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mediation.common.enums import Role
from mediation.common.time import local_today
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.followups import service as followups
from mediation.followups.models import Notification
from mediation.reports import month_close
from mediation.reports.common import Month
from tests.factories import dispute_payload, user
from tests.workflow_support import act, make_case, ok, register


@pytest.fixture
def w(world):
    world.police_user = user("police_b", Role.MEDIATOR, world.police_b)
    world.mediator_b2 = user("mediator_b2", Role.MEDIATOR, world.committee_b)
    db.session.commit()
    return world


def rows(kind: str | None = None) -> list[Notification]:
    db.session.expire_all()
    stmt = select(Notification).order_by(Notification.user_id, Notification.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def recipients(kind: str) -> list[str]:
    return sorted(n.user.username for n in rows(kind))


def test_routed_to_the_lead_and_co_handling_units(client, w):
    dispute_id = register(client, w.center_user_b, w.village_b.code)
    ok(
        act(
            client,
            w.center_user_b,
            dispute_id,
            "route",
            {"channel": "人民调解", "unit": "TW-B", "co_units": ["PCS-B"]},
        )
    )
    assert recipients("分流") == ["mediator_b", "mediator_b2", "police_b"]  # not the centre that routed it
    notes = rows("分流")
    assert {n.link for n in notes} == {f"/disputes/{dispute_id}"} and {n.dispute_id for n in notes} == {
        dispute_id
    }
    assert "双港镇综治中心" in notes[0].text and "请及时受理" in notes[0].text
    assert len({n.key for n in notes}) == 1  # one event, one key: once per user


def test_transferred_to_the_new_unit(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    ok(
        act(
            client,
            w.mediator_b,
            dispute_id,
            "transfer",
            {"unit": "PCS-B", "reason": "涉及治安管理，移交派出所调解。"},
        )
    )
    [note] = rows("移交")
    assert note.user.username == "police_b" and note.link == f"/disputes/{dispute_id}"
    assert "涉及治安管理" in note.text and "双港镇人民调解委员会" in note.text


def test_escalated_to_the_upper_centre(client, w):
    dispute_id = make_case(client, w, Stage.AWAITING)
    ok(act(client, w.center_user_b, dispute_id, "escalate", {"reason": "涉及两个镇街，需区综治中心统筹。"}))
    # The district centre's users (its admin account included), not the town centre that escalated.
    assert recipients("上报") == ["admin", "qu_center"]
    assert all(n.link == f"/disputes/{dispute_id}" and "请分流" in n.text for n in rows("上报"))


def test_court_referral_to_the_mediation_unit(client, w):
    body = dispute_payload(
        w.village_b.code, kind="诉前委派", court_case_no="（2026）津0116民诉前调1号", unit="TW-B"
    )
    r = client.post("/api/v1/court-referrals", json=body, headers=w.court_user.headers)
    assert r.status_code == 201, r.get_json()
    assert recipients("委派调解") == ["mediator_b", "mediator_b2"]
    note = rows("委派调解")[0]
    assert note.link == f"/disputes/{r.get_json()['id']}" and "（2026）津0116民诉前调1号" in note.text


def test_a_direct_accept_tells_the_responsible_centre_only(client, w):
    r = client.post(
        "/api/v1/disputes", json=dispute_payload(w.village_b.code, accept=True), headers=w.mediator_b.headers
    )
    assert r.status_code == 201
    assert recipients("直接受理") == ["center_b"]
    assert rows("分流") == []  # the committee is not told about its own routing


def test_supervision_links_to_the_supervision_page(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    r = client.post(
        f"/api/v1/disputes/{dispute_id}/supervisions",
        headers=w.center_user_b.headers,
        json={"reply_by": (local_today() + timedelta(days=3)).isoformat(), "note": "请尽快办理。"},
    )
    assert r.status_code == 201, r.get_json()
    order_id = r.get_json()["id"]
    assert recipients("督办") == ["mediator_b", "mediator_b2"]
    assert {n.link for n in rows("督办")} == {f"/supervisions/?scope=mine#supervision-{order_id}"}


def test_month_close_and_reopen_request_tell_the_upper_centre(client, w):
    month = Month(2026, 10)
    close = month_close.close_month(w.center_user_b.user, w.town_b, month, today=date(2026, 11, 5))
    db.session.commit()
    assert recipients("月结上报") == ["admin", "qu_center"]
    link = f"/reports/close?node={w.district.code}&month=2026-10"
    assert {n.link for n in rows("月结上报")} == {link} and "双港镇" in rows("月结上报")[0].text
    month_close.request_reopen(w.center_user_b.user, close, "需要修改一处统计数据。")
    db.session.commit()
    assert recipients("重开申请") == ["admin", "qu_center"]
    assert {n.link for n in rows("重开申请")} == {link} and "需要修改一处统计数据" in rows("重开申请")[0].text
    assert w.center_user_b.user.id not in {n.user_id for n in rows()}


def test_each_event_is_notified_once(app, client, w):
    dispute_id = register(client, w.center_user_b, w.village_b.code)
    ok(act(client, w.center_user_b, dispute_id, "route"))
    first = rows()
    # Whoever repeats the notification of the same event (a retried receiver) adds nothing.
    from mediation.disputes.models import Event
    from mediation.followups import notices

    event = db.session.scalar(select(Event).where(Event.dispute_id == dispute_id, Event.type == "routed"))
    notices._on_event("routed", event=event)
    db.session.commit()
    assert [(n.user_id, n.key) for n in rows()] == [(n.user_id, n.key) for n in first]
    # A second routing (after escalation and back) is a new event: told again.
    ok(act(client, w.mediator_b, dispute_id, "transfer", {"unit": "PCS-B", "reason": "移交派出所。"}))
    ok(act(client, w.police_user, dispute_id, "transfer", {"unit": "TW-B", "reason": "退回调委会。"}))
    kinds = [(n.user.username, n.kind) for n in rows() if n.user.username == "mediator_b"]
    assert kinds == [("mediator_b", "分流"), ("mediator_b", "移交")]


def test_e_mail_goes_to_users_with_an_address_when_configured(app, client, w):
    app.config["MAIL_SERVER"] = "localhost"
    w.mediator_b.user.email = "mediator_b@example.cn"
    db.session.commit()
    dispute_id = register(client, w.center_user_b, w.village_b.code)
    ok(act(client, w.center_user_b, dispute_id, "route"))
    mail = {n.user.username: n.email_to for n in rows("分流")}
    assert mail == {"mediator_b": "mediator_b@example.cn", "mediator_b2": None}
    app.config["PUBLIC_URL"] = "https://tiaojie.example.cn"
    note = next(n for n in rows("分流") if n.email_to)
    body = followups._mail_message(note, app.config).get_content()
    assert f"https://tiaojie.example.cn/disputes/{dispute_id}" in body


def test_the_link_is_followed_from_the_notification_list(web, client, w):
    dispute_id = register(client, w.center_user_b, w.village_b.code)
    ok(act(client, w.center_user_b, dispute_id, "route"))
    web.login("mediator_b")
    html = web.client.get("/notifications/").get_data(as_text=True)
    assert "分流" in html and 'data-testid="notification-open"' in html
    note = next(n for n in rows("分流") if n.user.username == "mediator_b")
    r = web.client.post(
        f"/notifications/{note.id}/read", data={"csrf_token": web.csrf("/notifications/"), "open": "1"}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/disputes/{dispute_id}")
    assert web.client.get(r.headers["Location"]).status_code == 200
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None


def test_the_api_lists_the_link(client, w):
    dispute_id = register(client, w.center_user_b, w.village_b.code)
    ok(act(client, w.center_user_b, dispute_id, "route"))
    items = client.get("/api/v1/notifications", headers=w.mediator_b.headers).get_json()["items"]
    assert [(i["kind"], i["link"]) for i in items] == [("分流", f"/disputes/{dispute_id}")]
