"""End to end in headless Chromium on a 390×844 phone: a party opens the case's public address
/c/<case code>, asks for the code, reads it from the SMS outbox, sees the case page in plain words
and downloads the 受理通知书 (PDF); on a closed case, the party rates the handling."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mediation import clock
from mediation.disputes import workflow
from mediation.disputes.workflow_schemas import ACTION_SCHEMAS, AcceptIn, RouteIn
from mediation.extensions import db
from mediation.followups.models import PartyRating
from mediation.sms.models import SmsMessage
from tests.browser import shot
from tests.documents_helpers import make_case

pytestmark = pytest.mark.browser

PHONE = "13800138000"


def test_a_party_opens_the_case_on_a_phone_and_downloads_the_acceptance_notice(live_server, new_page, world):
    d = make_case(world)
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    db.session.commit()
    sms = db.session.scalar(select(SmsMessage).where(SmsMessage.template == "case_code"))
    assert sms.phone == PHONE and sms.params["url"].endswith(f"/c/{d.case_code}")  # the SMS of 受理

    page = new_page(width=390, height=844)
    page.goto(live_server.url_for(f"/c/{d.case_code}"))
    assert "张三" not in page.content()  # nothing of the case before the code
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    assert "若该号码为本案登记的当事人号码，验证码已发送" in page.get_by_test_id("door-notice").inner_text()
    db.session.expire_all()
    code = db.session.scalar(
        select(SmsMessage.params)
        .where(SmsMessage.phone == PHONE, SmsMessage.template == "verify_code")
        .order_by(SmsMessage.id.desc())
    )["code"]
    shot(page, "e2e_parties_code_phone")
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="查看我的纠纷").click()
    page.wait_for_url(re.compile(rf"/c/{d.case_code}/case$"))

    stage = page.get_by_test_id("party-stage").inner_text()
    assert "您的纠纷已受理，调解员将联系您安排调解" in stage and "张三" in stage
    assert world.committee_a.name in page.get_by_test_id("party-unit").inner_text()
    assert page.get_by_test_id("party-deadline").is_visible()
    assert "调解安排" in page.get_by_test_id("party-sessions").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width}px"
    shot(page, "e2e_parties_case_phone")

    link = page.get_by_test_id("doc-acceptance")
    link.scroll_into_view_if_needed()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf") and "受理通知书" in download.suggested_filename
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(rf"/c/{d.case_code}$"))
    page.goto(live_server.url_for(f"/c/{d.case_code}/case"))
    assert page.url.endswith(f"/c/{d.case_code}")  # signed out: back at the door


def test_a_party_rates_the_closed_case_on_a_phone(live_server, new_page, world):
    d = make_case(world)
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    close = {"outcome": "调解成功", "date": clock.today().isoformat(), "note": "达成协议。"}
    workflow.perform(world.mediator_a.user, d, "close", ACTION_SCHEMAS["close"]().load(close))
    db.session.commit()

    page = new_page(width=390, height=844)
    page.goto(live_server.url_for(f"/c/{d.case_code}"))
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_test_id("door-notice").wait_for()  # the server has answered, so the code is stored
    db.session.expire_all()
    code = db.session.scalar(
        select(SmsMessage.params)
        .where(SmsMessage.phone == PHONE, SmsMessage.template == "verify_code")
        .order_by(SmsMessage.id.desc())
    )["code"]
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="查看我的纠纷").click()
    page.wait_for_url(re.compile(rf"/c/{d.case_code}/case$"))
    assert "调解成功" in page.get_by_test_id("party-stage").inner_text()

    page.locator("input[name=score][value='5']").check()
    page.get_by_label("意见或建议（选填）").fill("调解员很耐心，谢谢。")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url(re.compile(rf"/c/{d.case_code}/case#rating$"))
    assert "感谢您的评价" in page.locator("#rating").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width}px"
    shot(page, "e2e_parties_rating_phone")
    db.session.expire_all()
    row = db.session.scalar(select(PartyRating))
    assert (row.dispute_id, row.score, row.comment) == (d.id, 5, "调解员很耐心，谢谢。")
