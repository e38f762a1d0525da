"""End to end in headless Chromium, on a desktop and on a 390×844 phone: a mediator of a 调委会
registers a walk-in case with 本委员会直接受理 and lands on the case page in 办理中 with 记录调解
available; the 综治中心 user sees the notification and follows its link to the case."""

from __future__ import annotations

import re

import pytest

from mediation.disputes.models import Dispute
from mediation.extensions import db
from tests.browser import login, shot

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def logout(pg) -> None:
    pg.get_by_role("button", name="退出").click()
    pg.wait_for_url(re.compile(r"/login"))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_walk_in_case_registered_and_accepted_then_the_centre_follows_the_notice(
    live_server, new_page, world, viewport
):
    width, height = VIEWPORTS[viewport]
    page = new_page(width=width, height=height)
    login(page, live_server, "mediator_b")
    page.goto(live_server.url_for("/disputes/new"))
    page.get_by_label("纠纷类别").select_option("邻里")
    page.get_by_label("来源").select_option("群众来访")
    page.get_by_label("属地").select_option(world.village_b.code)
    page.get_by_label("简要情况").fill("邻居在公共楼道堆放杂物，双方争执，当事人到调委会申请调解。")
    first = page.locator("[data-party]").nth(0)
    first.get_by_label("姓名/名称").fill("王小明")
    page.get_by_role("button", name="添加当事人").click()
    second = page.locator("[data-party]").nth(1)
    second.get_by_label("角色").select_option("被申请人")
    second.get_by_label("姓名/名称").fill("赵大海")
    option = page.get_by_test_id("walk-in-accept")
    option.scroll_into_view_if_needed()
    assert option.is_visible()
    option.check()
    shot(page, f"e2e_walkin_form_{viewport}")
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url(re.compile(r"/disputes/\d+$"))
    dispute_id = int(page.url.rsplit("/", 1)[1])

    assert "已由本委员会直接受理" in page.locator(".flashes").inner_text()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "办理中"
    session = page.locator("#workflow details[data-action='session'] > summary")
    session.scroll_into_view_if_needed()
    assert session.is_visible() and session.inner_text() == "记录调解"
    assert page.locator("#workflow details[data-action='accept']").count() == 0
    box = page.locator("#workflow").bounding_box()
    assert box is not None and box["width"] <= width  # nothing wider than the screen
    shot(page, f"e2e_walkin_case_{viewport}")
    logout(page)

    login(page, live_server, "center_b")
    page.goto(live_server.url_for("/notifications/"))
    item = page.locator("[data-kind='直接受理']")
    assert item.count() == 1
    assert "双港镇人民调解委员会已直接受理" in item.inner_text()
    shot(page, f"e2e_walkin_notice_{viewport}")
    item.get_by_test_id("notification-open").click()
    page.wait_for_url(re.compile(rf"/disputes/{dispute_id}$"))
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "办理中"
    timeline = page.locator(".timeline").inner_text()
    assert "本委员会直接受理" in timeline and "受理" in timeline
    # Read now: the navigation shows no unread count.
    assert page.get_by_test_id("unread-count").count() == 0

    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert (d.status, d.unit.code, d.channel) == ("办理中", "TW-B", "人民调解")
    assert [e.type for e in d.events] == ["registered", "routed", "accepted"]
    db.session.rollback()
