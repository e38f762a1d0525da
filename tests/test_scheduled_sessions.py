"""Planned mediation sessions (调解安排): schedule, move, cancel (web and API), the SMS to the invited,
the reminder the day before exactly once, the calendar page, the .ics export and the parties' view.

SQLite by default, PostgreSQL with TEST_DATABASE_URL (the two concurrent sweeps matter most there)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from mediation import clock
from mediation.accounts.models import User
from mediation.demo.small import make_case
from mediation.disputes import workflow
from mediation.disputes.models import Dispute, Event
from mediation.disputes.workflow_schemas import AcceptIn, RouteIn, SessionIn
from mediation.extensions import db
from mediation.followups.service import run_sweep
from mediation.sessions import service
from mediation.sessions.models import ScheduledSession, SessionStatus
from mediation.sessions.schemas import ScheduleIn
from mediation.sms.models import SmsMessage
from mediation.worklist import SESSION, worklist
from tests.conftest import PG_URL, login
from tests.test_jobs_durable import other_app  # noqa: F401  (a fixture)

# Tuesday 1 December 2026, 10:00 in Shanghai.
NOW = datetime(2026, 12, 1, 2, 0)
TODAY = date(2026, 12, 1)
PHONE = "13800138000"  # 张三's mobile; 李四 has a landline only (tests/factories.py)


@pytest.fixture
def now(app):
    clock.set(NOW)
    yield NOW
    clock.reset()


@pytest.fixture
def case(world, now):
    d = make_case(world)
    d.unit = None
    db.session.commit()
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    db.session.commit()
    return d


def api(client, who, method, path, json=None, **kwargs):
    return client.open(path, method=method, json=json, headers=who.headers, **kwargs)


def body(day: date, at: str = "14:30", parties=None, **extra) -> dict:
    return {"date": day.isoformat(), "time": at, "place": "调解室", "parties": parties or [], **extra}


def messages(template: str | None = None) -> list[SmsMessage]:
    db.session.rollback()
    stmt = select(SmsMessage).order_by(SmsMessage.id)
    if template:
        stmt = stmt.where(SmsMessage.template == template)
    return list(db.session.scalars(stmt))


def events(dispute_id: int, type_: str) -> list[Event]:
    db.session.rollback()
    return list(db.session.scalars(select(Event).where(Event.dispute_id == dispute_id, Event.type == type_)))


def party_ids(case) -> list[int]:
    return [p.id for p in case.parties]


def schedule(client, world, case, day: date, at: str = "14:30", **extra):
    r = api(
        client,
        world.mediator_a,
        "POST",
        f"/api/v1/disputes/{case.id}/scheduled-sessions",
        body(day, at, party_ids(case), **extra),
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# --- schedule, validation, retries ------------------------------------------------------------------


def test_scheduling_texts_each_invited_party_with_a_mobile_once_even_when_retried(client, world, case):
    day = TODAY + timedelta(days=3)
    first = schedule(client, world, case, day, place="海滨街道调委会调解室，二楼；东侧")
    assert first["status"] == "已安排" and first["version"] == 1
    assert first["local_date"] == day.isoformat() and first["local_time"] == "14:30"
    assert first["starts_at"].startswith(f"{day.isoformat()}T06:30:00")  # stored UTC
    assert sorted(p["name"] for p in first["parties"]) == ["张三", "李四"]

    again = schedule(client, world, case, day, place="海滨街道调委会调解室，二楼；东侧")  # a retried request
    assert again["id"] == first["id"]
    assert db.session.scalar(select(func.count(ScheduledSession.id))) == 1

    acceptance, *sent = messages()
    assert (acceptance.phone, acceptance.template) == (PHONE, "case_code")  # the case code SMS of 受理
    assert [(m.phone, m.template) for m in sent] == [(PHONE, "session_invite")]  # 李四: landline, no SMS
    zhang = next(p for p in case.parties if p.name == "张三")
    assert sent[0].dedupe_key == f"session:{first['id']}:v1:invite:{zhang.id}"
    assert sent[0].params == {
        "when": "12月4日（周五）14:30",
        "place": "海滨街道调委会调解室，二楼；东侧",
        "unit": "海滨街道人民调解委员会",
    }
    assert sent[0].dispute_id == case.id
    (event,) = events(case.id, "session_scheduled")
    assert (
        "2026-12-04 14:30" in event.note
        and "已短信通知：张三" in event.note
        and "无手机号未通知：李四" in event.note
    )
    assert event.label == "安排调解"


def test_a_past_time_or_someone_not_a_party_of_the_case_is_refused_in_chinese(client, world, case, now):
    url = f"/api/v1/disputes/{case.id}/scheduled-sessions"
    r = api(client, world.mediator_a, "POST", url, body(TODAY, "09:00", party_ids(case)))  # 09:00 < 10:00 now
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["date"] == [service.PAST_MESSAGE]

    other = make_case(world, summary="另一起纠纷")
    r = api(
        client, world.mediator_a, "POST", url, body(TODAY + timedelta(days=1), "09:00", [other.parties[0].id])
    )
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["parties"] == ["所选当事人不是本案的当事人。"]

    r = api(client, world.mediator_a, "POST", url, body(TODAY + timedelta(days=1), "25:61", party_ids(case)))
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["time"] == ["时间格式应为 时:分，如 14:30。"]

    r = api(client, world.mediator_a, "POST", url, {"date": "2026-12-05", "time": "09:00"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["place"] == ["必填项。"]
    assert db.session.scalar(select(func.count(ScheduledSession.id))) == 0
    assert [m.template for m in messages()] == ["case_code"]  # only the case code SMS of 受理


def test_only_the_handling_unit_schedules_and_another_town_gets_404(client, world, case):
    url = f"/api/v1/disputes/{case.id}/scheduled-sessions"
    r = api(
        client, world.center_user_a, "POST", url, body(TODAY + timedelta(days=1), parties=party_ids(case))
    )
    assert r.status_code == 403
    assert "只有牵头单位、联办单位的工作人员可以安排调解" in r.get_json()["message"]
    made = schedule(client, world, case, TODAY + timedelta(days=2))
    for method, path, json in (
        ("GET", url, None),
        ("POST", url, body(TODAY + timedelta(days=1), parties=party_ids(case))),
        ("GET", f"/api/v1/scheduled-sessions/{made['id']}", None),
        ("PATCH", f"/api/v1/scheduled-sessions/{made['id']}", {"place": "别处"}),
        ("POST", f"/api/v1/scheduled-sessions/{made['id']}/cancel", {"reason": "不办了"}),
    ):
        assert api(client, world.mediator_b, method, path, json).status_code == 404, (method, path)
    r = api(
        client,
        world.mediator_b,
        "GET",
        "/api/v1/sessions",
        query_string={"from": "2026-12-01", "to": "2026-12-31"},
    )
    assert r.status_code == 200 and r.get_json() == []
    db.session.rollback()
    assert db.session.get(ScheduledSession, made["id"]).place == "调解室"


# --- move and cancel -----------------------------------------------------------------------------------


def test_moving_and_cancelling_text_the_invited_and_a_retry_sends_nothing_more(client, world, case):
    made = schedule(client, world, case, TODAY + timedelta(days=3))
    path = f"/api/v1/scheduled-sessions/{made['id']}"
    r = api(client, world.mediator_a, "PATCH", path, {"date": "2026-12-08", "time": "9:00", "version": 1})
    assert r.status_code == 200, r.get_json()
    moved = r.get_json()
    assert (moved["version"], moved["local_date"], moved["local_time"]) == (2, "2026-12-08", "09:00")
    r = api(client, world.mediator_a, "PATCH", path, {"date": "2026-12-09", "version": 1})  # stale
    assert r.status_code == 409 and "已被他人修改" in r.get_json()["message"]
    r = api(client, world.mediator_a, "PATCH", path, {"date": "2026-11-30", "version": 2})
    assert r.status_code == 422 and r.get_json()["errors"]["json"]["date"] == [service.PAST_MESSAGE]

    changed = messages("session_changed")
    assert len(changed) == 1 and changed[0].params["when"] == "12月8日（周二）09:00"
    assert ":v2:changed:" in changed[0].dedupe_key

    r = api(client, world.mediator_a, "POST", path + "/cancel", {"reason": "当事人住院。", "version": 2})
    assert r.status_code == 200 and r.get_json()["status"] == "已取消"
    again = api(client, world.mediator_a, "POST", path + "/cancel", {"reason": "当事人住院。", "version": 2})
    assert again.status_code == 200 and again.get_json()["version"] == 3
    assert [m.params["when"] for m in messages("session_cancelled")] == ["12月8日（周二）09:00"]
    r = api(client, world.mediator_a, "PATCH", path, {"place": "别处"})
    assert r.status_code == 409 and "已取消" in r.get_json()["message"]
    assert len(events(case.id, "session_rescheduled")) == 1
    (cancelled,) = events(case.id, "session_cancelled")
    assert "当事人住院" in cancelled.note
    r = api(client, world.mediator_a, "POST", path + "/cancel", {})
    assert r.status_code in (200, 422)


def test_removing_an_invitee_tells_them_it_is_off_and_adding_one_invites_them(client, world, case):
    zhang, li = case.parties[0], case.parties[1]
    li.phone = "13900139000"
    db.session.commit()
    made = schedule(client, world, case, TODAY + timedelta(days=3))
    r = api(
        client, world.mediator_a, "PATCH", f"/api/v1/scheduled-sessions/{made['id']}", {"parties": [zhang.id]}
    )
    assert r.status_code == 200 and [p["name"] for p in r.get_json()["parties"]] == ["张三"]
    assert [(m.phone, m.template) for m in messages()] == [
        (PHONE, "case_code"),  # 受理 (李四's mobile was added after it)
        (PHONE, "session_invite"),
        ("13900139000", "session_invite"),
        ("13900139000", "session_cancelled"),
    ]


# --- the reminder ----------------------------------------------------------------------------------------


def reminders() -> list[SmsMessage]:
    return messages("session_reminder")


def test_the_reminder_goes_out_once_on_the_day_before_whoever_runs_the_sweep_how_often(client, world, case):
    made = schedule(client, world, case, TODAY + timedelta(days=3))  # Friday 4 December
    clock.set(datetime(2026, 12, 2, 1, 0))  # Wednesday: too early
    assert run_sweep().errors == []
    assert reminders() == []
    clock.set(datetime(2026, 12, 3, 0, 5))  # Thursday 08:05 in Shanghai
    first = run_sweep()
    assert first.session_reminders == 1 and first.errors == []
    assert run_sweep().session_reminders == 0
    assert service.run_reminders().session_reminders == 0
    (sent,) = reminders()
    assert sent.phone == PHONE and sent.params["when"] == "12月4日（周五）14:30"
    assert sent.dedupe_key.startswith(f"session:{made['id']}:v1:reminder:")
    clock.set(datetime(2026, 12, 4, 0, 5))  # the day itself: no late "明天" reminder
    assert run_sweep().session_reminders == 0


def test_a_cancelled_or_moved_session_never_sends_its_old_reminder(client, world, case):
    a = schedule(client, world, case, TODAY + timedelta(days=3), "09:00")
    b = schedule(client, world, case, TODAY + timedelta(days=3), "15:00")
    api(
        client,
        world.mediator_a,
        "POST",
        f"/api/v1/scheduled-sessions/{a['id']}/cancel",
        {"reason": "和解了。"},
    )
    r = api(
        client, world.mediator_a, "PATCH", f"/api/v1/scheduled-sessions/{b['id']}", {"date": "2026-12-10"}
    )
    assert r.status_code == 200
    r = api(
        client,
        world.mediator_a,
        "PATCH",
        f"/api/v1/scheduled-sessions/{b['id']}",
        {"date": "2026-12-04", "time": "09:00"},
    )
    assert r.status_code == 200  # onto the cancelled one's time: fine
    r = api(
        client,
        world.mediator_a,
        "PATCH",
        f"/api/v1/scheduled-sessions/{b['id']}",
        {"date": "2026-12-10", "time": "15:00"},
    )
    assert r.status_code == 200 and r.get_json()["version"] == 4
    c = schedule(client, world, case, TODAY + timedelta(days=9), "11:00")
    r = api(client, world.mediator_a, "PATCH", f"/api/v1/scheduled-sessions/{c['id']}", {"time": "15:00"})
    assert r.status_code == 409 and r.get_json()["message"] == "本案在该时间、地点已有调解安排。"
    clock.set(datetime(2026, 12, 3, 1, 0))  # the old reminder day
    assert run_sweep().session_reminders == 0
    clock.set(datetime(2026, 12, 9, 1, 0))  # the new one
    assert run_sweep().session_reminders == 2  # b (moved here) and c
    sent = next(m for m in reminders() if m.params["when"].endswith("15:00"))
    assert sent.dedupe_key.startswith(f"session:{b['id']}:v4:reminder:")
    assert sent.params["when"] == "12月10日（周四）15:00"


def test_a_session_scheduled_for_tomorrow_gets_the_invitation_and_no_second_reminder(client, world, case):
    schedule(client, world, case, TODAY + timedelta(days=1))
    assert run_sweep().session_reminders == 0
    assert len(messages("session_invite")) == 1


def test_a_case_closed_before_the_day_sends_no_reminder(client, world, case):
    schedule(client, world, case, TODAY + timedelta(days=3))
    r = api(
        client,
        world.mediator_a,
        "POST",
        f"/api/v1/disputes/{case.id}/close",
        {"outcome": "调解成功", "note": "当事人自行和解。"},
    )
    assert r.status_code == 200, r.get_json()
    clock.set(datetime(2026, 12, 3, 1, 0))
    assert run_sweep().session_reminders == 0


def test_two_schedulers_at_once_send_each_reminder_once(client, world, case, other_app):  # noqa: F811
    for i in range(6):
        schedule(client, world, case, TODAY + timedelta(days=3), f"{9 + i}:00")
    clock.set(datetime(2026, 12, 3, 1, 0))
    apps = [other_app(), other_app()]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep(app):
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(service.run_reminders().session_reminders)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(results) == 6
    sent = reminders()
    assert len(sent) == 6 and len({m.dedupe_key for m in sent}) == 6
    assert run_sweep().session_reminders == 0


# --- held, worklist, the parties' view ------------------------------------------------------------------------


def test_recording_the_session_on_its_day_marks_the_plan_held_and_the_worklist_counts_today(
    client, world, case
):
    made = schedule(client, world, case, TODAY, "16:00")
    item = [i for i in worklist(world.mediator_a.user).items if i.kind == SESSION]
    assert [i.title for i in item] == ["16:00 调解室 · 已安排"]
    assert worklist(world.mediator_b.user).counts[SESSION] == 0
    clock.set(datetime(2026, 12, 1, 9, 0))  # 17:00
    data = SessionIn().load(
        {
            "held_on": TODAY.isoformat(),
            "place": "调解室",
            "mediators": "调解员甲",
            "attendees": "张三、李四",
            "record": "双方陈述。",
        }
    )
    workflow.perform(world.mediator_a.user, case, "session", data)
    db.session.commit()
    planned = db.session.get(ScheduledSession, made["id"], populate_existing=True)
    assert planned.status == SessionStatus.HELD and planned.held_session is not None
    assert planned.held_session.record == "双方陈述。"
    assert worklist(world.mediator_a.user).counts[SESSION] == 1  # the record now, not twice


def test_sessions_for_party_gives_time_and_place_only_of_sessions_they_are_invited_to(client, world, case):
    zhang, li = case.parties[0], case.parties[1]
    soon = schedule(client, world, case, TODAY + timedelta(days=2), note="内部：张三情绪激动")
    later = api(
        client,
        world.mediator_a,
        "POST",
        f"/api/v1/disputes/{case.id}/scheduled-sessions",
        body(TODAY + timedelta(days=9), "10:00", [zhang.id]),
    ).get_json()
    mine = service.sessions_for_party(case, zhang)
    assert [s.id for s in mine] == [soon["id"], later["id"]]
    assert mine[0].when == "12月3日（周四）14:30" and mine[0].place == "调解室"
    assert mine[0].unit == "海滨街道人民调解委员会" and mine[0].upcoming
    assert not hasattr(mine[0], "note") and "内部" not in repr(mine)
    assert [s.id for s in service.sessions_for_party(case, li)] == [soon["id"]]


# --- web: case page, calendar, .ics ------------------------------------------------------------------------------


def test_web_schedules_from_the_case_page_refuses_a_past_date_and_shows_the_calendar(
    client, web, world, case
):
    web.login("mediator_a")
    page = f"/disputes/{case.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="schedule-form"' in html
    token = web.csrf(page)
    form = {
        "csrf_token": token,
        "date": "2026-11-30",
        "time": "10:00",
        "place": "调解室",
        "parties": party_ids(case),
    }
    r = client.post(f"/disputes/{case.id}/scheduled-sessions", data=form, follow_redirects=True)
    assert f"调解安排未保存：日期：{service.PAST_MESSAGE}" in r.get_data(as_text=True)
    form["date"] = "2026-12-03"
    r = client.post(f"/disputes/{case.id}/scheduled-sessions", data=form, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "已安排调解" in text and "12月3日（周四）10:00" in text
    (made,) = db.session.scalars(select(ScheduledSession)).all()

    form = {
        "csrf_token": token,
        "date": "2026-12-04",
        "time": "15:30",
        "place": "村委会",
        "version": "1",
        "parties": party_ids(case),
    }
    r = client.post(f"/scheduled-sessions/{made.id}/reschedule", data=form, follow_redirects=True)
    assert "调解安排已变更" in r.get_data(as_text=True)

    cal = client.get("/sessions/?view=week&date=2026-12-02").get_data(as_text=True)
    assert case.case_no in cal and "15:30" in cal and "村委会" in cal
    assert case.case_no in client.get("/sessions/?view=month&date=2026-12-20").get_data(as_text=True)
    assert case.case_no not in client.get("/sessions/?view=week&date=2026-12-20").get_data(as_text=True)
    assert "/sessions/" in client.get("/worklist/").get_data(as_text=True)  # the menu links it

    r = client.post(
        f"/scheduled-sessions/{made.id}/cancel",
        data={"csrf_token": token, "reason": "", "version": "2"},
        follow_redirects=True,
    )
    assert "取消调解未保存：取消原因：必填项。" in r.get_data(as_text=True)
    r = client.post(
        f"/scheduled-sessions/{made.id}/cancel",
        data={"csrf_token": token, "reason": "和解", "version": "2"},
        follow_redirects=True,
    )
    assert "调解已取消" in r.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(ScheduledSession, made.id).status == SessionStatus.CANCELLED


def test_the_web_forms_need_a_csrf_token_and_another_town_gets_404(client, web, world, case):
    made = schedule(client, world, case, TODAY + timedelta(days=2))
    web.login("mediator_b")
    token = web.csrf("/sessions/")
    r = client.post(
        f"/disputes/{case.id}/scheduled-sessions",
        data={"csrf_token": token, **body(TODAY + timedelta(days=3))},
    )
    assert r.status_code == 404
    r = client.post(f"/scheduled-sessions/{made['id']}/cancel", data={"csrf_token": token, "reason": "x"})
    assert r.status_code == 404
    assert case.case_no not in client.get("/sessions/?view=month").get_data(as_text=True)
    assert "VEVENT" not in client.get("/sessions/calendar.ics").get_data(as_text=True)
    own = client.application.test_client()
    login(own, "mediator_a")
    r = own.post(f"/scheduled-sessions/{made['id']}/cancel", data={"reason": "x"})
    assert r.status_code == 400
    db.session.rollback()
    assert db.session.get(ScheduledSession, made["id"]).status == SessionStatus.SCHEDULED


def test_the_ics_export_parses_back_with_the_right_times_and_no_phone_or_id_number(client, web, world, case):
    made = schedule(
        client,
        world,
        case,
        TODAY + timedelta(days=3),
        place="调解室, 二楼; 东侧",
        other_attendees="王五, 律师",
    )
    schedule(client, world, case, TODAY + timedelta(days=5), "08:00")
    web.login("mediator_a")
    r = client.get("/sessions/calendar.ics")
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    raw = r.get_data()
    text = raw.decode()
    assert "\r\n" in text and not re.search(r"[^\r]\n", text)  # CRLF line ends only
    unfolded = text.replace("\r\n ", "")
    assert "LOCATION:调解室\\, 二楼\\; 东侧\r\n" in unfolded  # RFC 5545 3.3.11 escapes
    assert "\\n其他参加人：王五\\, 律师\\n" in unfolded
    assert PHONE not in text and case.parties[0].id_number not in text
    cal = Calendar.from_ical(raw)
    found = {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}
    assert len(found) == 2
    ev = next(e for e in found.values() if str(e["LOCATION"]).startswith("调解室,"))
    assert str(ev["LOCATION"]) == "调解室, 二楼; 东侧"
    assert str(ev["DESCRIPTION"]).split("\n")[:2] == ["参加当事人：张三、李四", "其他参加人：王五, 律师"]
    assert ev.decoded("DTSTART") == datetime(2026, 12, 4, 6, 30, tzinfo=UTC)
    assert ev.decoded("DTEND") == datetime(2026, 12, 4, 7, 30, tzinfo=UTC)
    assert str(ev["SUMMARY"]) == f"调解：{case.case_no}（{case.category}）"
    uid = str(ev["UID"])
    assert uid == f"scheduled-session-{made['id']}@" + uid.split("@")[1]

    api(client, world.mediator_a, "PATCH", f"/api/v1/scheduled-sessions/{made['id']}", {"time": "16:00"})
    moved = {
        str(e["UID"]): e
        for e in Calendar.from_ical(client.get("/sessions/calendar.ics").get_data()).walk("VEVENT")
    }
    assert moved[uid].decoded("DTSTART") == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert int(moved[uid]["SEQUENCE"]) == 1


def test_the_calendar_api_lists_the_users_sessions_in_a_range_and_checks_it(client, world, case):
    schedule(client, world, case, TODAY + timedelta(days=3))
    schedule(client, world, case, TODAY + timedelta(days=40))
    r = api(client, world.mediator_a, "GET", "/api/v1/sessions")
    assert r.status_code == 200 and [s["local_date"] for s in r.get_json()] == ["2026-12-04"]
    r = api(
        client,
        world.mediator_a,
        "GET",
        "/api/v1/sessions",
        query_string={"from": "2026-12-01", "to": "2027-01-31"},
    )
    assert len(r.get_json()) == 2
    r = api(
        client,
        world.mediator_a,
        "GET",
        "/api/v1/sessions",
        query_string={"from": "2026-12-10", "to": "2026-12-01"},
    )
    assert r.status_code == 422 and r.get_json()["errors"]["query"]["to"] == ["截止日期不能早于起始日期。"]
    r = api(client, world.mediator_a, "GET", f"/api/v1/disputes/{case.id}/scheduled-sessions")
    assert [s["note"] for s in r.get_json()] == [None, None]


def test_dates_out_of_any_sane_range_are_refused_not_crashed(client, web, world, case):
    url = f"/api/v1/disputes/{case.id}/scheduled-sessions"
    r = api(client, world.mediator_a, "POST", url, body(date(1, 1, 1), "00:00", party_ids(case)))
    assert r.status_code == 422 and r.get_json()["errors"]["json"]["date"] == [
        "日期超出范围（2000年至2099年）。"
    ]
    r = api(client, world.mediator_a, "GET", "/api/v1/sessions", query_string={"from": "9999-12-31"})
    assert r.status_code == 422
    web.login("mediator_a")
    assert client.get("/sessions/?view=month&date=9999-12-31").status_code == 200


@pytest.mark.skipif(
    not PG_URL, reason="row locks of a concurrent insert: PostgreSQL (SQLite serialises writing requests)"
)
def test_the_same_request_sent_twice_at_once_makes_one_session_and_one_sms(world, case, other_app):  # noqa: F811
    """The first request has inserted (not committed) when the second checks for an existing one: the
    second's insert waits on the unique index, fails when the first commits, and answers the first's."""
    payload = ScheduleIn().load(body(TODAY + timedelta(days=4), "10:00", party_ids(case)))
    first = service.schedule(world.mediator_a.user, case, payload)  # flushed, not committed
    second_app = other_app()
    answers, errors = [], []

    def second():
        try:
            with second_app.app_context():
                user = db.session.get(User, world.mediator_a.user.id)
                answers.append(service.schedule(user, db.session.get(Dispute, case.id), payload).id)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive()  # waiting on the first one's uncommitted row
    db.session.commit()
    thread.join(timeout=30)
    assert errors == [] and answers == [first.id]
    db.session.rollback()
    assert db.session.scalar(select(func.count(ScheduledSession.id))) == 1
    assert len(messages("session_invite")) == 1
