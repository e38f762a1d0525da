"""End to end in headless Chromium: sign in, register through the form, find the case again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.extensions import db
from tests.browser import login, shot
from tests.factories import make_id

pytestmark = pytest.mark.browser


def test_register_through_the_form_and_find_it(live_server, page, world):
    grid_code = world.grid_a.code
    login(page, live_server, "mediator_a")
    assert page.get_by_role("heading", name="我的待办").is_visible()  # where sign-in lands

    page.get_by_role("link", name="登记纠纷").first.click()
    page.wait_for_url(re.compile(r"/disputes/new$"))
    page.get_by_label("纠纷类别").select_option("邻里")
    page.get_by_label("来源").select_option("网格员排查")
    page.get_by_label("属地").select_option(grid_code)
    page.get_by_label("发生日期").fill((local_today() - timedelta(days=3)).isoformat())
    page.get_by_label("简要情况").fill("楼上装修噪音扰民，双方多次争吵，浏览器端到端测试。")
    page.get_by_label("风险等级").select_option("较大")
    page.get_by_label("涉及人数").fill("3")
    page.get_by_label("涉及金额（元）").fill("1200.50")
    page.get_by_label("群体性").check()

    first = page.locator("[data-party]").nth(0)
    first.get_by_label("姓名/名称").fill("王小明")
    first.get_by_label("证件号码").fill(make_id())
    first.get_by_label("联系电话").fill("13900001111")
    # No "删除" button while there is a single party; the JS add button is visible.
    assert not first.get_by_role("button", name="删除").is_visible()

    page.get_by_role("button", name="添加当事人").click()
    assert page.locator("[data-party]").count() == 2
    second = page.locator("[data-party]").nth(1)
    assert second.locator("legend").inner_text() == "当事人 2"
    second.get_by_label("角色").select_option("被申请人")
    second.get_by_label("姓名/名称").fill("赵大海")
    second.get_by_label("联系电话").fill("022-25881234")
    assert second.get_by_label("姓名/名称").get_attribute("name") == "parties-1-name"
    # Add and remove a third row: the numbering follows.
    page.get_by_role("button", name="添加当事人").click()
    page.locator("[data-party]").nth(2).get_by_role("button", name="删除").click()
    assert page.locator("[data-party]").count() == 2
    shot(page, "e2e_register_desktop")

    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url(re.compile(r"/disputes/\d+$"))
    case_no = page.locator("h1.case-title").inner_text().strip()
    assert re.fullmatch(r"（\d{4}）.+调字第\d{4}号", case_no), case_no
    assert "登记成功" in page.locator(".flash-success").inner_text()
    parties = page.locator(".party-card")
    assert parties.count() == 2
    assert "王小明" in parties.nth(0).inner_text() and "申请人" in parties.nth(0).inner_text()
    assert "赵大海" in parties.nth(1).inner_text() and "被申请人" in parties.nth(1).inner_text()
    assert make_id() in parties.nth(0).inner_text()  # a mediator reads full ID numbers
    assert page.locator(".timeline .event-label").first.inner_text() == "登记"
    shot(page, "e2e_case_desktop")

    # The database holds exactly that case, with both parties.
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 1
    dispute = db.session.scalar(select(Dispute))
    assert dispute.case_no == case_no
    assert [p.name for p in dispute.parties] == ["王小明", "赵大海"]
    assert dispute.flags == ["群体性"] and str(dispute.amount) == "1200.50"

    page.get_by_role("link", name="纠纷列表").first.click()
    page.wait_for_url(re.compile(r"/disputes/$"))
    page.get_by_label("关键词").fill("赵大海")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url(re.compile(r"q="))
    row_link = page.get_by_role("link", name=case_no)
    assert row_link.count() == 1
    assert "共 1 件" in page.locator(".result-count").inner_text()
    shot(page, "e2e_list_desktop")
    row_link.click()
    page.wait_for_url(re.compile(r"/disputes/\d+$"))
    assert page.locator("h1.case-title").inner_text().strip() == case_no

    # A search that matches nothing shows the empty state.
    page.goto(live_server.url_for("/disputes/?q=不存在的当事人"))
    assert page.locator(".card.empty").is_visible()


def _no_horizontal_overflow(pg) -> bool:
    return pg.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_phone_width_has_no_horizontal_overflow(live_server, new_page, world):
    page = new_page(width=375, height=800, is_mobile=True, has_touch=True)
    login(page, live_server, "grid_a")
    page.goto(live_server.url_for("/disputes/new"))
    page.get_by_role("button", name="添加当事人").click()
    assert page.evaluate("window.innerWidth") == 375
    assert _no_horizontal_overflow(page)
    shot(page, "e2e_register_phone")

    # Submit with a wrong ID number: the errors fit as well, and the input is kept.
    page.get_by_label("纠纷类别").select_option("婚姻家庭")
    page.get_by_label("来源").select_option("网格员排查")
    page.get_by_label("简要情况").fill("夫妻因家务琐事争吵，网格员入户发现。")
    first = page.locator("[data-party]").nth(0)
    first.get_by_label("姓名/名称").fill("陈某")
    first.get_by_label("证件号码").fill(make_id()[:17] + ("0" if make_id()[17] != "0" else "1"))
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_load_state()
    error = page.locator("#err-parties-0-id_number")
    assert "校验位" in error.inner_text()
    assert page.get_by_label("简要情况").input_value() == "夫妻因家务琐事争吵，网格员入户发现。"
    assert _no_horizontal_overflow(page)
    shot(page, "e2e_register_phone_errors")
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0

    # Fix it and register; the case page and the list fit the phone too.
    page.locator("[data-party]").nth(0).get_by_label("证件号码").fill(make_id())
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url(re.compile(r"/disputes/\d+$"))
    assert _no_horizontal_overflow(page)
    # A grid worker sees masked ID numbers.
    assert make_id() not in page.locator(".party-card").first.inner_text()
    assert make_id()[:3] + "*" in page.locator(".party-card").first.inner_text()
    shot(page, "e2e_case_phone")
    page.goto(live_server.url_for("/disputes/"))
    assert page.locator("table.cases tbody tr").count() == 1
    assert _no_horizontal_overflow(page)
    shot(page, "e2e_list_phone")
