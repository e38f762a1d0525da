"""End to end in headless Chromium on a 390×844 phone: a district 综治中心 opens the coverage of
村（居）调委会 from the menu, taps a town and sees its uncovered village; nothing is wider than the
screen."""

from __future__ import annotations

import re

import pytest

from tests.browser import login, shot
from tests.test_orgs import add_orgs

pytestmark = pytest.mark.browser


def _fits(pg) -> bool:
    return pg.evaluate("document.documentElement.scrollWidth") <= 390


def test_phone_coverage_drill_down_to_an_uncovered_village(live_server, new_page, world):
    w = add_orgs(world)
    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "qu_center")
    phone.get_by_role("button", name="菜单").tap()
    phone.get_by_role("link", name="调解组织").tap()
    phone.wait_for_url(re.compile(r"/orgs/coverage"))
    assert phone.get_by_role("heading", name="海滨区 · 村（居）调委会覆盖").is_visible()
    assert phone.get_by_test_id("coverage-rate").inner_text() == "40.0%"
    assert _fits(phone)
    shot(phone, "e2e_orgs_coverage_phone")

    town = phone.get_by_test_id("coverage-towns").get_by_role("link", name="双港镇")
    town.scroll_into_view_if_needed()
    town.tap()
    phone.wait_for_url(re.compile(rf"node={w.town_b.code}"))
    assert phone.get_by_role("heading", name="双港镇 · 村（居）调委会覆盖").is_visible()
    assert phone.get_by_test_id("coverage-rate").inner_text() == "33.3%"
    uncovered = phone.get_by_test_id("uncovered-list")
    assert uncovered.get_by_text("西小站村").is_visible()
    assert "海韵社区" not in uncovered.inner_text()  # another town's
    rows = phone.get_by_test_id("coverage-places").locator("tbody tr")
    assert [r.split("\t")[:2] for r in rows.all_inner_texts()] == [
        ["双港村", "未覆盖"],
        ["东堤头村", "已覆盖"],
        ["西小站村", "未覆盖"],
    ]
    assert _fits(phone)
    shot(phone, "e2e_orgs_coverage_town_phone")


def test_phone_registry_is_a_list_of_cards_without_sideways_scrolling(live_server, new_page, world):
    add_orgs(world)
    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "center_b")
    phone.goto(live_server.url_for("/orgs/"))
    names = phone.get_by_test_id("org-list").locator("a.case-no").all_inner_texts()
    assert names == ["双港镇人民调解委员会", "东堤头村人民调解委员会", "西小站村某某公司人民调解委员会"]
    assert _fits(phone)
    phone.get_by_role("link", name="东堤头村人民调解委员会").tap()
    phone.wait_for_url(re.compile(r"/orgs/CW-B2$"))
    assert phone.get_by_test_id("org-profile").get_by_text("村（居）人民调解委员会").is_visible()
    assert _fits(phone)
