"""End to end in headless Chromium: the report page of a node, a drill-down to a child, the charts
drawn as inline SVG; and a grid worker's one-tap zero report on a phone-sized screen."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from mediation.common.time import local_today
from mediation.extensions import db
from mediation.reports.common import Month
from mediation.reports.models import Screening
from tests.browser import login, shot
from tests.reports_data import case

pytestmark = pytest.mark.browser


def _cases(world):
    month = Month.of(local_today())
    w = world
    for i in range(6):
        m = month.shift(-i)
        case(
            w,
            w.grid_a,
            m.first,
            closed_on=m.first if i % 2 else None,
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=m.first,
        )
        case(
            w,
            w.grid_b,
            m.first,
            category="婚姻家庭",
            prominent=(i == 0),
            channel="行政调解",
            unit=w.police_b,
            accepted_on=m.first,
        )
    case(w, w.town_a, date(month.first.year, month.first.month, 1), category="物业")
    db.session.commit()
    return month


def _bars_drawn(page, selector: str) -> int:
    """How many bars of the chart have a visible height on screen."""
    return page.eval_on_selector_all(
        f"{selector} rect.bar", "els => els.filter(e => e.getBoundingClientRect().height > 0).length"
    )


def test_report_page_drill_down_and_charts(live_server, page, world):
    month = _cases(world)
    login(page, live_server, "qu_center")
    page.get_by_role("link", name="统计报表").click()
    page.wait_for_url(re.compile(r"/reports/"))
    assert page.get_by_role("heading", name=f"海滨区 · {month.label}月清月结").is_visible()

    trend = page.locator("svg.chart-trend")
    assert trend.count() == 1 and trend.is_visible()
    assert _bars_drawn(page, "svg.chart-trend") >= 6
    assert page.locator("svg.chart-trend path.line").count() == 1
    assert page.locator("svg.chart-category rect.bar").count() >= 2
    # 4 channels and 未分流 (the 物业 case) × 受理/调处/成功
    assert page.locator("svg.chart-channel rect.bar").count() == 15
    shot(page, "e2e_reports_district")

    drill = page.locator("#drill-down")
    assert drill.locator("tbody tr").count() == 3  # two towns and the district's 本级直属 row
    assert drill.locator("tbody tr").nth(2).inner_text().startswith(f"{world.district.name}（本级直属）")
    drill.get_by_role("link", name="海滨街道").click()
    page.wait_for_url(re.compile(rf"node={world.town_a.code}"))
    assert page.get_by_role("heading", name=f"海滨街道 · {month.label}月清月结").is_visible()
    assert page.locator("#r-node").input_value() == world.town_a.code
    assert _bars_drawn(page, "svg.chart-trend") >= 3
    assert page.locator("#drill-down").get_by_role("link", name="新家园社区").is_visible()
    # The breadcrumb leads back up.
    page.get_by_role("navigation", name="节点层级").get_by_role("link", name="海滨区").click()
    page.wait_for_url(re.compile(rf"node={world.district.code}"))
    shot(page, "e2e_reports_town")


def test_month_picker_and_other_reports(live_server, page, world):
    month = _cases(world)
    login(page, live_server, "center_b")
    page.goto(live_server.url_for("/reports/"))
    assert page.get_by_role("heading", name=f"双港镇 · {month.label}月清月结").is_visible()
    page.get_by_role("link", name="‹ 上月").click()
    page.wait_for_url(re.compile(rf"month={month.shift(-1).key}"))
    assert page.get_by_role("heading", name=f"双港镇 · {month.shift(-1).label}月清月结").is_visible()
    page.get_by_role("navigation", name="统计报表").get_by_role("link", name="双百行动").click()
    page.wait_for_url(re.compile(r"/reports/shuangbai"))
    assert page.locator("#missing-grids").get_by_text(world.grid_b.code).is_visible()
    assert page.locator("svg.chart-venue").is_visible()


def test_grid_worker_files_a_zero_report_on_a_phone(live_server, new_page, world):
    phone = new_page(width=375, height=760)
    login(phone, live_server, "grid_a")
    phone.goto(live_server.url_for("/reports/screening"))
    button = phone.get_by_role("button", name="本期零报告")
    box = button.bounding_box()
    assert box and box["width"] >= 300 and box["height"] >= 44  # a thumb-sized target
    with phone.expect_navigation(url=re.compile(r"/reports/screening$")):
        button.click()
    assert phone.get_by_text("零报告").first.is_visible()
    shot(phone, "e2e_screening_phone")
    row = db.session.scalar(select(Screening))
    assert row is not None and row.found == 0 and row.node_id == world.grid_a.id


def test_weekly_report_figure_leads_to_its_cases(live_server, page, new_page, world):
    """From 月清月结 to the week's 周报, then a figure of the week to the list of its cases; the 周报
    and the 同比环比 table fit a 390×844 phone (tables scroll inside their card)."""
    from tests.test_reports_comparison import FEB28
    from tests.test_reports_comparison import hand_counted as comparison_cases
    from tests.test_reports_weekly import W48, W48_TOWN_A, hand_counted

    hand_counted(world)
    comparison_cases(world)
    login(page, live_server, "center_a")
    page.goto(live_server.url_for("/reports/?month=2026-11"))
    page.get_by_role("navigation", name="周报与同比环比").get_by_role("link", name="第48周").click()
    page.wait_for_url(re.compile(r"/reports/weekly\?.*week=2026-W48"))
    assert page.get_by_role("heading", name=f"海滨街道 · {W48.label}周报").is_visible()
    assert page.locator("#r-week").input_value() == W48.key
    link = page.locator(".kpis a.fig-link[data-figure='carried_in']")
    assert link.inner_text() == str(W48_TOWN_A["carried_in"])
    link.click()
    page.wait_for_url(re.compile(r"/disputes/\?.*figure=carried_in.*week=2026-W48"))
    assert page.get_by_role("heading", name=f"海滨街道 · {W48.label} · 上周结转").is_visible()
    assert int(page.locator("p.result-count strong").inner_text()) == W48_TOWN_A["carried_in"]
    shot(page, "e2e_weekly_drilldown_list")
    page.get_by_role("link", name="‹ 返回周报").click()
    page.wait_for_url(re.compile(r"/reports/weekly\?.*week=2026-W48"))

    phone = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(phone, live_server, "center_a")
    for url in (f"/reports/weekly?week={W48.key}", f"/reports/comparison?month={FEB28.key}"):
        phone.goto(live_server.url_for(url))
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    assert phone.locator("#comparison-new").get_by_text("同比下降").first.is_visible()
    shot(phone, "e2e_comparison_phone")
