"""End to end in headless Chromium: the court liaison refers a case on the web, the mediator of the
receiving 调委会 accepts it and returns it as 调解不成功 with a reason, and the court sees the reason on
its 诉调对接 page (desktop, and the list on a 390×844 phone)."""

from __future__ import annotations

import re

import pytest

from mediation.disputes.casework import CourtReferral
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import Notification
from tests.browser import login, shot

pytestmark = pytest.mark.browser

NUMBER = "（2026）津0116民诉前调4321号"
REASON = "经两次调解，被申请人不同意赔偿，双方未能达成协议。"


def logout(pg) -> None:
    pg.get_by_role("button", name="退出").click()
    pg.wait_for_url(re.compile(r"/login"))


def fits(pg) -> bool:
    return pg.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_refer_return_and_the_court_sees_the_reason(live_server, page, new_page, world):
    # 1. The court liaison refers a case from the 诉调对接 page.
    login(page, live_server, "court")
    page.get_by_role("link", name="诉调对接").click()
    page.wait_for_url(re.compile(r"/court/$"))
    assert page.get_by_text("本院尚未委派案件。").is_visible()
    page.get_by_role("link", name="＋ 委派调解").click()
    page.wait_for_url(re.compile(r"/court/refer$"))
    page.locator("#f-kind").select_option("诉前委派")
    page.locator("#f-court_case_no").fill(NUMBER)
    page.locator("#f-unit").select_option("TW-B")
    page.locator("#f-category").select_option("邻里")
    page.locator("#f-node").select_option(world.village_b.code)
    page.locator("#f-summary").fill(
        "张三诉李四相邻关系纠纷，法院征得双方同意后诉前委派双港镇人民调解委员会调解。"
    )
    page.locator("#f-parties-0-name").fill("张三")
    page.get_by_role("button", name="添加当事人").click()  # 受理 needs both sides
    second = page.locator("[data-party]").nth(1)
    second.get_by_label("角色").select_option("被申请人")
    second.get_by_label("姓名/名称").fill("李四")
    shot(page, "e2e_court_refer")
    page.get_by_role("button", name="提交委派").click()
    page.wait_for_url(re.compile(r"/court/$"))
    assert page.get_by_text(re.compile(r"已诉前委派双港镇人民调解委员会调解，案号：")).is_visible()
    row = page.locator(f"tr[data-court-case-no='{NUMBER}']")
    assert row.locator("[data-testid=stage]").inner_text() == "待受理"
    dispute_id = int(row.get_attribute("data-referral"))
    logout(page)

    # 2. The mediator of the receiving 调委会 accepts it and returns it to the court with a reason.
    login(page, live_server, "mediator_b")
    page.goto(live_server.url_for(f"/disputes/{dispute_id}"))
    page.locator("#workflow details[data-action='accept'] > summary").click()
    with page.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        page.get_by_role("button", name="确认受理").click()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "办理中"
    page.locator("#workflow details[data-action='return_to_court'] > summary").click()
    page.locator("#wf-return_to_court-reason").fill(REASON)
    shot(page, "e2e_court_return")
    with page.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        page.get_by_role("button", name="确认退回法院").click()
    assert page.get_by_text("案件已以调解不成功办结，并退回法院。").is_visible()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "已办结"
    logout(page)

    # 3. The court sees the case back, with the reason, and a message.
    login(page, live_server, "court")
    page.goto(live_server.url_for("/court/"))
    row = page.locator(f"tr[data-referral='{dispute_id}']")
    assert row.locator("[data-testid=stage]").inner_text() == "已办结"
    assert row.locator("[data-testid=return-reason]").inner_text() == f"退回理由：{REASON}"
    assert page.locator("[data-testid=unread-count]").inner_text() == "1"
    shot(page, "e2e_court_page")
    page.get_by_role("link", name="已退回法院").click()
    page.wait_for_url(re.compile(r"/court/\?.*state=returned"))
    assert page.locator(f"tr[data-referral='{dispute_id}'] [data-testid=return-reason]").is_visible()

    # 4. The same list on a phone: cards, no sideways scrolling, the reason readable.
    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "court")
    phone.goto(live_server.url_for("/court/"))
    card = phone.locator(f"tr[data-referral='{dispute_id}']")
    assert card.locator("[data-testid=return-reason]").is_visible()
    assert card.get_by_text(NUMBER).is_visible()
    assert fits(phone)
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(phone, "e2e_court_phone")

    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert (d.status, d.outcome, d.source) == ("已办结", "调解不成功", "法院委派")
    assert [e.type for e in d.events] == ["registered", "court_referred", "accepted", "returned_to_court"]
    assert d.events[-1].note == REASON
    assert db.session.query(CourtReferral).filter_by(dispute_id=dispute_id).one().court_case_no == NUMBER
    assert db.session.query(Notification).filter_by(user_id=world.court_user.user.id).count() == 1
    db.session.rollback()
