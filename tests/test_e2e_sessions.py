"""End to end in headless Chromium on a 390×844 phone: the mediator schedules a mediation session from
the case page (调解安排) and finds it on the calendar (调解日程), reached from the menu; the invited
party with a mobile number has an SMS in the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.sessions.models import ScheduledSession
from mediation.sms.models import SmsMessage
from tests.browser import login, shot
from tests.workflow_support import make_case

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844, "is_mobile": True, "has_touch": True}


def _no_horizontal_overflow(pg) -> bool:
    return pg.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_the_mediator_schedules_a_session_on_a_phone_and_sees_it_on_the_calendar(
    client, live_server, new_page, world
):
    dispute_id = make_case(client, world, Stage.HANDLING)  # handled by mediator_b (双港镇调委会)
    case_no = db.session.get(Dispute, dispute_id).case_no
    day = local_today() + timedelta(days=2)

    page = new_page(**PHONE)
    login(page, live_server, "mediator_b")
    page.goto(live_server.url_for(f"/disputes/{dispute_id}"))
    panel = page.locator("#scheduled-sessions")
    panel.locator("#action-schedule-session > summary").click()
    form = panel.locator("[data-testid=schedule-form]")
    form.get_by_label("日期").fill(day.isoformat())
    form.get_by_label("时间").fill("15:00")
    form.get_by_label("地点").fill("双港镇人民调解委员会调解室")
    assert form.locator("input[name=parties]:checked").count() == 2
    assert _no_horizontal_overflow(page)
    shot(page, "e2e_sessions_form_phone")
    with page.expect_navigation():
        form.get_by_role("button", name="安排调解").click()
    assert "已安排调解" in page.locator("body").inner_text()
    item = page.locator("#scheduled-sessions li[data-status='已安排']")
    assert item.count() == 1 and "15:00" in item.inner_text()

    menu = page.get_by_role("button", name="菜单")
    if menu.is_visible():  # on a phone the navigation is behind the menu button
        menu.click()
    page.get_by_role("link", name="调解日程").click()
    page.wait_for_url(re.compile(r"/sessions/$"))
    calendar = page.locator("[data-testid=calendar]")
    if not calendar.count() or case_no not in calendar.inner_text():  # the session falls in next week
        page.get_by_role("link", name=re.compile("下一周")).click()
        page.wait_for_url(re.compile(r"/sessions/\?.*date="))
        calendar = page.locator("[data-testid=calendar]")
    text = calendar.inner_text()
    assert case_no in text and "15:00" in text and "双港镇人民调解委员会调解室" in text
    assert f"{day.month}月{day.day}日" in text
    assert _no_horizontal_overflow(page)
    shot(page, "e2e_sessions_calendar_phone")
    ics = page.get_by_test_id("ics-link")
    assert ics.get_attribute("href").endswith("/sessions/calendar.ics")

    db.session.rollback()
    (planned,) = db.session.scalars(select(ScheduledSession)).all()
    sms = db.session.scalars(select(SmsMessage).where(SmsMessage.template == "session_invite")).all()
    assert [m.dedupe_key for m in sms] == [f"session:{planned.id}:v1:invite:{planned.parties[0].id}"]
