"""Deadline warnings: a case entering 预警 (≥80% of its time used) or 超期 notifies its handlers and the
综治中心 above once per change of level, in the app and by e-mail (to a local SMTP sink)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mediation.common.enums import Role
from mediation.extensions import db
from mediation.followups.models import DeadlineAlert, Notification
from mediation.followups.service import run_sweep
from tests import test_followups_support as support
from tests.factories import user as make_user
from tests.test_followups_support import (
    count,
    emit,
    events,
    make_case,
    notifications,
)

at = support.at  # fixture
smtp_sink = support.smtp_sink  # fixture


def _recipients(key_prefix):
    return sorted(n.user.username for n in notifications(key_prefix=key_prefix))


def _case(world):
    police = make_user("police_b", Role.MEDIATOR, world.police_b)  # a co-handling unit's officer
    db.session.commit()
    d = make_case(
        world,
        handler=world.mediator_a.user,
        accepted_on=date(2026, 3, 2),
        deadline=date(2026, 4, 1),
        co_units=[world.police_b],
    )
    return d, police


def test_warning_then_overdue_once_each(app, world, at):
    d, police = _case(world)
    handlers_and_centres = sorted(["mediator_a", "police_b", "center_a", "qu_center", "admin"])

    at(date(2026, 3, 25))  # 23 of 30 days used
    assert run_sweep().alerts == 0
    at(date(2026, 3, 26))  # 24 of 30 days: 80%
    assert run_sweep().alerts == 1
    assert _recipients(f"deadline:{d.id}:预警") == handlers_and_centres  # not the other town, not grid users
    (event,) = events(d, "warning_level")
    assert event.data == {"level": "预警", "deadline": "2026-04-01"} and event.by_name == "系统"
    assert "剩余6天" in event.note

    for day in (date(2026, 3, 26), date(2026, 3, 30), date(2026, 4, 1)):  # still 预警: nothing more
        at(day)
        assert run_sweep().alerts == 0
    at(date(2026, 4, 2))  # the day after the deadline: 超期
    assert run_sweep().alerts == 1
    assert run_sweep().alerts == 0
    assert _recipients(f"deadline:{d.id}:超期") == handlers_and_centres
    assert [e.data["level"] for e in events(d, "warning_level")] == ["预警", "超期"]
    assert count(DeadlineAlert, DeadlineAlert.dispute_id == d.id) == 2

    # Extended: back to 正常; entering 预警 again for the new deadline is a new change of level.
    emit(d, "extended", world.mediator_a.user, deadline=date(2026, 4, 20))
    at(date(2026, 4, 3))
    assert run_sweep().alerts == 0
    at(date(2026, 4, 11))  # 40 of 49 days
    assert run_sweep().alerts == 1
    assert [e.data for e in events(d, "warning_level")][-1] == {"level": "预警", "deadline": "2026-04-20"}
    assert len(notifications(world.mediator_a.user)) == 3


def test_a_case_seen_late_gets_only_its_current_level(app, world, at):
    d, _ = _case(world)
    at(date(2026, 5, 1))  # the scheduler never ran while the case went through 预警
    assert run_sweep().alerts == 1
    assert [e.data["level"] for e in events(d, "warning_level")] == ["超期"]


def test_closed_cases_and_cases_without_deadline_are_not_warned(app, world, at):
    make_case(world, accepted_on=date(2026, 3, 2), deadline=None)
    d = make_case(world, accepted_on=date(2026, 1, 2), deadline=date(2026, 2, 1))
    emit(d, "closed", world.mediator_a.user, status="已办结", closed_on=date(2026, 3, 2), outcome="调解成功")
    assert run_sweep().alerts == 0


def test_notification_list_unread_count_and_mark_read(app, client, world, web, at):
    d, _ = _case(world)
    at(date(2026, 4, 2))
    run_sweep()
    h = world.mediator_a.headers
    body = client.get("/api/v1/notifications", headers=h).get_json()
    assert body["unread"] == 1 and body["total"] == 1
    (item,) = body["items"]
    assert item["kind"] == "超期" and item["dispute"]["case_no"] == d.case_no and item["read"] is False

    # Someone else's notification: 404.
    assert (
        client.post(f"/api/v1/notifications/{item['id']}/read", headers=world.mediator_b.headers).status_code
        == 404
    )
    r = client.post(f"/api/v1/notifications/{item['id']}/read", headers=h)
    assert r.status_code == 200 and r.get_json()["read"] is True
    assert client.get("/api/v1/notifications?unread", headers=h).get_json()["total"] == 0

    centre = world.center_user_a.headers
    assert client.get("/api/v1/notifications", headers=centre).get_json()["unread"] == 1
    r = client.post("/api/v1/notifications/read-all", headers=centre)
    assert r.get_json() == {"marked": 1, "unread": 0}

    # The web: the navigation shows the unread count; the list; mark read.
    web.login("qu_center")
    html = web.client.get("/disputes/").get_data(as_text=True)
    assert 'data-testid="unread-count"' in html and ">1<" in html
    page = web.client.get("/notifications/").get_data(as_text=True)
    assert d.case_no in page and "超期" in page
    row = db.session.scalar(select(Notification).where(Notification.user_id == world.district_staff.user.id))
    r = web.client.post(
        f"/notifications/{row.id}/read", data={"csrf_token": web.csrf("/notifications/"), "open": "1"}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/disputes/{d.id}")
    assert 'data-testid="unread-count"' not in web.client.get("/notifications/").get_data(as_text=True)


def test_email_to_a_local_smtp_sink(app, world, smtp_sink, at):
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_sink.port,
        MAIL_DEFAULT_SENDER="tiaojie@example.cn",
        PUBLIC_URL="https://tiaojie.example.cn",
    )
    world.mediator_a.user.email = "mediator_a@example.cn"
    world.center_user_a.user.email = "center_a@example.cn"
    d, _ = _case(world)

    at(date(2026, 3, 26))
    result = run_sweep()
    assert (result.alerts, result.emails_sent, result.emails_failed) == (1, 2, 0)
    got = sorted(m["to"][0] for m in smtp_sink.messages)
    assert got == ["center_a@example.cn", "mediator_a@example.cn"]  # only users with an address
    msg = smtp_sink.messages[0]["message"]
    assert msg["Subject"] == f"【矛盾纠纷多元化解】预警：{d.case_no}"
    assert msg["From"] == "tiaojie@example.cn"
    text = msg.get_content()
    assert (
        d.case_no in text and "已进入预警" in text and f"https://tiaojie.example.cn/disputes/{d.id}" in text
    )

    assert run_sweep().emails_sent == 0  # nothing twice
    assert len(smtp_sink.messages) == 2


def test_email_waits_while_the_server_is_down(app, world, smtp_sink, at):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_sink.port)
    world.mediator_a.user.email = "mediator_a@example.cn"
    _case(world)
    smtp_sink.stop()  # nothing listens on the port now

    at(date(2026, 4, 2))
    result = run_sweep()
    assert (result.alerts, result.emails_sent, result.emails_failed) == (1, 0, 1)
    (row,) = notifications(world.mediator_a.user)
    assert row.emailed_at is None and row.email_attempts == 1 and "无法连接邮件服务器" in row.email_error

    from tests.test_followups_support import SmtpSink

    sink = SmtpSink(port=0).start()
    try:
        app.config["MAIL_PORT"] = sink.port
        result = run_sweep()
        assert (result.alerts, result.emails_sent) == (0, 1)
        assert [m["to"] for m in sink.messages] == [["mediator_a@example.cn"]]
        (row,) = notifications(world.mediator_a.user)
        assert row.emailed_at is not None and row.email_error is None
    finally:
        sink.stop()


def test_no_email_without_mail_server(app, world, at):
    world.mediator_a.user.email = "mediator_a@example.cn"
    _case(world)
    at(date(2026, 4, 2))
    result = run_sweep()
    assert result.alerts == 1 and result.emails_sent == 0
    assert all(n.email_to is None for n in notifications())
