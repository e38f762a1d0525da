"""End to end in headless Chromium on a 390×844 phone: a party applies online (网上申请调解) — the
SMS code read from the outbox table, the place picked level by level, a photo — and sees the case
code at once. With JavaScript (the picker asks for the next level by itself) and without it (the
"下一级" button), as in a WeChat browser that blocks scripts."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.sms.models import SmsMessage
from tests.browser import release_db, shot

pytestmark = pytest.mark.browser

PHONE = "13912345678"


def outbox_code() -> str:
    db.session.expire_all()
    message = db.session.scalar(
        select(SmsMessage).where(SmsMessage.phone == PHONE, SmsMessage.template == "verify_code")
    )
    assert message is not None, "no verification code in the outbox"
    code = message.params["code"]
    release_db()
    return code


def photo_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 160, 90)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_apply_online_on_a_phone(live_server, new_page, world, javascript):
    page = new_page(width=390, height=844, java_script_enabled=javascript)
    page.goto(live_server.url_for("/apply"))
    page.get_by_label("您的姓名").fill("王小明")
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_test_id("send-code").click()
    page.wait_for_load_state()
    assert "验证码已发送至 139****5678" in page.locator("#apply-notice").inner_text()
    assert page.get_by_label("您的姓名").input_value() == "王小明"  # kept
    page.get_by_label("短信验证码").fill(outbox_code())

    page.get_by_label("姓名或单位名称").fill("赵大强")
    page.get_by_label("纠纷类别").select_option("邻里")
    for level, node in enumerate((world.district, world.town_a, world.village_a)):
        picker = page.locator(f"#f-place-{level}")
        if javascript:
            with page.expect_navigation():
                picker.select_option(node.code)
        else:
            picker.select_option(node.code)
            page.get_by_role("button", name="下一级").click()
            page.wait_for_load_state()
    assert "新家园社区" in page.get_by_test_id("chosen-place").inner_text()
    assert page.get_by_label("您的姓名").input_value() == "王小明"  # still kept after the steps
    page.get_by_label("事情经过").fill("楼上邻居家装修，连续一个月每天晚上十点后施工，噪音很大。")
    page.get_by_label("您的请求").fill("请对方晚上十点后停止施工。")
    page.locator("#f-photos").set_input_files(
        [{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}]
    )
    page.locator("#f-consent").check()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form is wider than the phone: {width}px"
    shot(page, f"e2e_apply_form_{'js' if javascript else 'nojs'}")
    page.get_by_test_id("apply-submit").click()
    page.wait_for_load_state()

    code = page.get_by_test_id("case-code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", code), code
    shot(page, f"e2e_apply_done_{'js' if javascript else 'nojs'}")
    db.session.expire_all()
    d = db.session.scalar(select(Dispute))
    assert d.case_code == code.replace("-", "") and d.source == "网上申请" and d.status == "待分流"
    assert page.get_by_test_id("case-url").inner_text().endswith(f"/c/{d.case_code}")
    assert len(d.parties) == 2
    release_db()
