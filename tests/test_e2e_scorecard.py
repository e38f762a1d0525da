"""End to end in headless Chromium: a district 综治中心 opens the scorecard (考核排名) of a quarter,
clicks one figure, lands on exactly those cases, goes back, issues the 通报 (confirming it) and sees
it listed; on a 390×844 phone the ranking fits the screen (its table scrolls inside its card), and so
does the ranking by 调解员, whose 受理数 opens as many cases."""

from __future__ import annotations

import re

import pytest

from mediation.extensions import db
from tests.browser import login, shot
from tests.scorecard_data import build
from tests.test_scorecard_mediators import mediator

pytestmark = pytest.mark.browser


def _count(page) -> int:
    return int(page.locator("p.result-count strong").inner_text())


def test_scorecard_to_the_cases_and_back_then_issue_the_notice(live_server, page, world):
    w = build(world)
    login(page, live_server, "qu_center")
    page.goto(live_server.url_for(f"/reports/scorecard?node={w.district.code}&period=2026-Q3"))
    assert page.get_by_role("heading", name="海滨区 · 2026年第三季度考核排名").is_visible()
    row = page.locator(f'#scorecard tr[data-node="{w.town_a.code}"]')
    assert row.locator("td.rank").inner_text() == "1"
    assert row.locator("td.total").inner_text() == "58.3"
    link = row.locator('a.fig-link[data-figure="received"]').first
    assert link.inner_text() == "3"
    link.click()
    page.wait_for_url(re.compile(r"/disputes/\?.*figure=received"))
    assert page.get_by_role("heading", name="海滨街道 · 2026年第三季度 · 本期受理").is_visible()
    assert _count(page) == 3
    shot(page, "e2e_scorecard_cases")

    page.get_by_role("link", name="‹ 返回考核排名").click()
    page.wait_for_url(re.compile(r"/reports/scorecard\?.*period=2026-Q3"))
    page.locator("#issue-notice").click()
    with page.expect_navigation(url=re.compile(r"/reports/notices")):
        page.get_by_role("button", name="确认印发").click()
    listed = page.locator("#notices tbody tr").first
    assert "海滨区综治中心通报〔2026〕1号" in listed.inner_text()
    assert "海滨街道" in listed.inner_text()
    shot(page, "e2e_scorecard_notices")


def test_phone_scorecard_fits_the_screen(live_server, new_page, world):
    w = build(world)
    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "qu_center")
    phone.goto(live_server.url_for(f"/reports/scorecard?node={w.district.code}&period=2026-Q3"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    first = phone.locator('#scorecard tr[data-node] a.fig-link[data-figure="received"]').first
    first.scroll_into_view_if_needed()
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(phone, "e2e_scorecard_phone")


def test_phone_scorecard_by_mediator_to_the_cases(live_server, new_page, world):
    """The ranking by 调解员 on a phone: it fits, and a mediator's 受理数 opens as many cases."""
    w = build(world)
    mediator("陈明", w.committee_a, [w.a1, w.a2, w.a3, w.a4])
    db.session.commit()
    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "qu_center")
    phone.goto(live_server.url_for(f"/reports/scorecard?node={w.district.code}&period=2026-Q3"))
    phone.locator("#by-mediator").click()
    phone.wait_for_url(re.compile(r"by=mediator"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    link = phone.locator('#scorecard-mediators tr[data-mediator] a.fig-link[data-figure="received"]').first
    link.scroll_into_view_if_needed()
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    expected = int(link.get_attribute("data-count"))
    assert expected == 3
    link.click()
    phone.wait_for_url(re.compile(r"/disputes/"))
    assert _count(phone) == expected
    shot(phone, "e2e_scorecard_mediators_phone")
