"""End to end in headless Chromium: a 综治中心 opens 月清月结, clicks a figure and lands on the case
list of exactly those cases (desktop); on a 390×844 phone the figure links are on screen and
tappable (a finger-sized target) and lead to the same list."""

from __future__ import annotations

import re

import pytest

from mediation.reports import figures
from tests.browser import login, shot
from tests.test_report_drilldown import OCT, build_cases

pytestmark = pytest.mark.browser


def _count(page) -> int:
    return int(page.locator("p.result-count strong").inner_text())


def test_center_clicks_a_monthly_figure_and_gets_its_cases(live_server, page, world):
    build_cases(world)
    report = figures.monthly_report(world.district, OCT, cases=False)
    assert report["closed"] > 0
    login(page, live_server, "qu_center")
    page.goto(live_server.url_for(f"/reports/?node={world.district.code}&month={OCT.key}"))
    assert page.get_by_role("heading", name=f"海滨区 · {OCT.label}月清月结").is_visible()

    row = page.locator('table.figures tr[data-key="closed"]')
    link = row.locator("a.fig-link").first
    assert link.inner_text() == str(report["closed"])
    link.click()
    page.wait_for_url(re.compile(r"/disputes/\?.*figure=closed"))
    assert page.get_by_role("heading", name=f"海滨区 · {OCT.label} · 本月办结").is_visible()
    assert _count(page) == report["closed"]
    shot(page, "e2e_report_drilldown_list")

    # Back to the report, then a rate: it leads to its numerator's cases (调解成功).
    page.get_by_role("link", name="‹ 返回月清月结").click()
    page.wait_for_url(re.compile(r"/reports/"))
    page.locator('table.figures tr[data-key="resolution_rate"] a.rate-link').first.click()
    page.wait_for_url(re.compile(r"figure=resolved"))
    assert _count(page) == report["resolved"]


def test_phone_figure_links_are_tappable(live_server, new_page, world):
    build_cases(world)
    report = figures.monthly_report(world.district, OCT, cases=False)
    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "qu_center")
    phone.goto(live_server.url_for(f"/reports/?node={world.district.code}&month={OCT.key}"))
    kpi = phone.locator(".kpis a.fig-link[data-figure='new']").first
    kpi.scroll_into_view_if_needed()
    box = kpi.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["height"] >= 32 and box["width"] >= 32  # a finger-sized target
    shot(phone, "e2e_report_drilldown_phone")
    kpi.tap()
    phone.wait_for_url(re.compile(r"figure=new"))
    assert _count(phone) == report["new"]
    assert phone.locator("#figure-head").is_visible()
