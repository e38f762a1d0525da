"""Everyday work in the browser, on a desktop and on a 390×844 phone: the menu button shows every
navigation item, the case page's main action is in the first screen and stands out from the
refusal beside it, 不予受理 asks first (cancelling changes nothing), and the browser's own checks
speak Chinese."""

from __future__ import annotations

import re

import pytest

from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from tests.browser import login, shot
from tests.workflow_support import make_case, snapshot

pytestmark = pytest.mark.browser

NAV_ITEMS = ["纠纷列表", "登记纠纷", "台账导入导出", "统计报表", "回访督办", "消息"]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def test_the_phone_menu_shows_every_navigation_item(live_server, new_page, world):
    pg = new_page(*SIZES["phone"])
    login(pg, live_server, "mediator_a")
    pg.goto(live_server.url_for("/disputes/"))
    nav = pg.locator("#main-nav")
    toggle = pg.get_by_role("button", name="菜单")
    assert toggle.is_visible() and not nav.is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    for item in NAV_ITEMS:
        link = nav.get_by_role("link", name=re.compile(item))
        assert link.is_visible(), item
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES["phone"][0], item  # no sideways scrolling
    assert pg.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"][0]
    shot(pg, "e2e_polish_phone_menu", full_page=False)
    toggle.click()
    assert not nav.is_visible()


def test_the_desktop_shows_the_navigation_without_a_menu_button(live_server, new_page, world):
    pg = new_page(*SIZES["desktop"])
    login(pg, live_server, "mediator_a")
    pg.goto(live_server.url_for("/disputes/"))
    assert not pg.get_by_role("button", name="菜单").is_visible()
    for item in NAV_ITEMS:
        assert pg.locator("#main-nav").get_by_role("link", name=re.compile(item)).is_visible(), item


@pytest.mark.parametrize("size", list(SIZES))
def test_the_main_action_is_in_the_first_screen_and_stands_out(client, live_server, new_page, world, size):
    dispute_id = make_case(client, world, Stage.AWAITING)
    width, height = SIZES[size]
    pg = new_page(width, height)
    login(pg, live_server, "mediator_b")
    pg.goto(live_server.url_for(f"/disputes/{dispute_id}"))
    accept = pg.locator("#workflow details[data-action='accept'] > summary")
    reject = pg.locator("#workflow details[data-action='reject'] > summary")
    box = accept.bounding_box()
    assert accept.is_visible() and box["y"] >= 0 and box["y"] + box["height"] <= height, box
    style = "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]"
    accept_bg, accept_fg = accept.evaluate(style)
    reject_bg, reject_fg = reject.evaluate(style)
    assert accept_bg != reject_bg and accept_fg != reject_fg
    assert accept_bg == "rgb(31, 95, 168)"  # the primary blue
    assert reject_fg == "rgb(180, 35, 24)"  # the danger red, outlined
    shot(pg, f"e2e_polish_case_{size}", full_page=False)


@pytest.mark.parametrize("size", list(SIZES))
def test_reject_asks_first_and_cancelling_changes_nothing(client, live_server, new_page, world, size):
    dispute_id = make_case(client, world, Stage.AWAITING)
    before = snapshot(dispute_id)
    pg = new_page(*SIZES[size])
    login(pg, live_server, "mediator_b")
    case_url = live_server.url_for(f"/disputes/{dispute_id}")
    pg.goto(case_url)
    pg.locator("#workflow details[data-action='reject'] > summary").click()
    pg.locator("#wf-reject-reason").fill("已进入诉讼程序。")
    pg.get_by_role("button", name="确认不予受理").click()
    dialog = pg.locator("dialog.confirm-dialog")
    assert dialog.is_visible()
    assert "案件将办结" in dialog.inner_text() and "不予受理" in dialog.inner_text()
    shot(pg, f"e2e_polish_confirm_{size}", full_page=False)
    dialog.get_by_role("button", name="取消").click()
    assert not dialog.is_visible()
    assert pg.url == case_url
    pg.reload()
    assert pg.locator("#workflow [data-testid=stage]").inner_text() == "待受理"
    assert snapshot(dispute_id) == before

    pg.locator("#workflow details[data-action='reject'] > summary").click()
    pg.locator("#wf-reject-reason").fill("已进入诉讼程序。")
    pg.get_by_role("button", name="确认不予受理").click()
    with pg.expect_navigation():
        pg.locator("dialog.confirm-dialog").get_by_role("button", name="确认不予受理").click()
    assert pg.get_by_text("已决定不予受理，案件办结。").is_visible()
    db.session.expire_all()
    assert db.session.get(Dispute, dispute_id).outcome == "不予受理"


@pytest.mark.parametrize("size", list(SIZES))
def test_a_required_field_message_is_chinese(live_server, new_page, world, size):
    pg = new_page(*SIZES[size], locale="en-US")  # the browser's own language would say "Please fill out…"
    login(pg, live_server, "mediator_a")
    pg.goto(live_server.url_for("/disputes/new"))
    pg.get_by_role("button", name="提交登记").click()
    assert "/disputes/new" in pg.url  # stopped in the browser
    message = pg.locator("#f-summary").evaluate("el => el.validationMessage")
    assert message == "请填写此项。"
    pg.locator("#f-summary").fill("楼上漏水，楼下墙面受损。")
    assert pg.locator("#f-summary").evaluate("el => el.validationMessage") == ""


def test_without_javascript_the_server_asks(client, live_server, new_page, world):
    dispute_id = make_case(client, world, Stage.AWAITING)
    before = snapshot(dispute_id)
    pg = new_page(*SIZES["phone"], java_script_enabled=False)
    login(pg, live_server, "mediator_b")
    pg.goto(live_server.url_for(f"/disputes/{dispute_id}"))
    assert pg.locator("#main-nav").get_by_role("link", name="纠纷列表").is_visible()  # no menu button needed
    pg.locator("#workflow details[data-action='reject'] > summary").click()
    pg.locator("#wf-reject-reason").fill("已进入诉讼程序。")
    with pg.expect_navigation():
        pg.get_by_role("button", name="确认不予受理").click()
    assert pg.locator("[data-testid=confirm-page]").is_visible()
    assert "案件将办结" in pg.locator("[data-testid=confirm-page]").inner_text()
    with pg.expect_navigation():
        pg.get_by_role("link", name="取消，返回").click()
    assert snapshot(dispute_id) == before
    pg.locator("#workflow details[data-action='reject'] > summary").click()
    pg.locator("#wf-reject-reason").fill("已进入诉讼程序。")
    with pg.expect_navigation():
        pg.get_by_role("button", name="确认不予受理").click()
    with pg.expect_navigation():
        pg.locator("[data-testid=confirm-page]").get_by_role("button", name="确认不予受理").click()
    db.session.expire_all()
    assert db.session.get(Dispute, dispute_id).outcome == "不予受理"


def test_a_disabled_button_looks_disabled(live_server, new_page, world):
    from datetime import date

    from tests.reports_data import case

    case(
        world, world.grid_a, date(2026, 10, 5), prominent=True
    )  # an open 突出问题 without a carry-over reason
    db.session.commit()
    pg = new_page(*SIZES["desktop"])
    login(pg, live_server, "center_a")
    pg.goto(live_server.url_for(f"/reports/close?node={world.town_a.code}&month=2026-10"))
    button = pg.get_by_role("button", name="结账并上报")
    assert button.is_disabled()
    bg, cursor = button.evaluate("el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).cursor]")
    assert bg == "rgb(233, 237, 241)" and cursor == "not-allowed"  # grey, not the primary blue


def test_record_session_and_close_are_in_the_first_phone_screen(client, live_server, new_page, world):
    dispute_id = make_case(client, world, Stage.HANDLING)
    width, height = SIZES["phone"]
    pg = new_page(width, height)
    login(pg, live_server, "mediator_b")
    pg.goto(live_server.url_for(f"/disputes/{dispute_id}"))
    for action in ("session", "close"):
        summary = pg.locator(f"#workflow details[data-action='{action}'] > summary")
        box = summary.bounding_box()
        assert summary.is_visible() and box["y"] + box["height"] <= height, (action, box)
    shot(pg, "e2e_polish_case_handling_phone", full_page=False)
