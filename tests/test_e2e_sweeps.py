"""End to end on a 390×844 phone: a grid worker files a sweep report that found two disputes, lists
them, registers one in one tap (the registration form prefilled from the finding), explains the other,
and sees 「发现2件，登记1件」 on the report."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mediation.extensions import db
from mediation.reports.models import Screening
from tests.browser import login, shot

pytestmark = pytest.mark.browser


def fits(pg) -> bool:
    return pg.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_grid_worker_registers_one_finding_and_explains_the_other(live_server, new_page, world):
    phone = new_page(width=390, height=844)
    login(phone, live_server, "grid_a")
    phone.goto(live_server.url_for("/reports/screening"))
    phone.get_by_label("发现纠纷数").fill("2")
    with phone.expect_navigation(url=re.compile(r"/reports/screening$")):
        phone.get_by_role("button", name="提交排查报告").click()
    phone.get_by_role("link", name=re.compile("发现 2 件")).click()
    phone.wait_for_url(re.compile(r"/reports/screening/\d+$"))

    for description, parties, category in (
        ("两户因楼道堆物发生争执", "王五、赵六", "邻里"),
        ("小区门口两人口角", "", "其他"),
    ):
        phone.get_by_label("简要情况").fill(description)
        phone.get_by_label("当事人姓名（可不填，多人用顿号分隔）").fill(parties)
        phone.get_by_label("类别").select_option(category)
        with phone.expect_navigation(url=re.compile(r"/reports/screening/\d+$")):
            phone.get_by_role("button", name="添加").click()
    counts = phone.get_by_test_id("sweep-counts")
    assert "发现2件，登记0件" in counts.inner_text()
    assert fits(phone)

    # one tap: the registration form comes prefilled from the finding; saving links the new case
    phone.get_by_test_id("register-1").click()
    phone.wait_for_url(re.compile(r"/disputes/new\?finding=\d+"))
    assert phone.get_by_test_id("from-finding").is_visible()
    assert phone.locator("textarea[name=summary]").input_value() == "两户因楼道堆物发生争执"
    assert phone.locator("select[name=source]").input_value() == "网格员排查"
    assert phone.locator("input[name='parties-0-name']").input_value() == "王五"
    phone.get_by_role("button", name="提交登记").click()
    phone.wait_for_url(re.compile(r"/reports/screening/\d+$"))
    assert phone.get_by_text(re.compile("登记成功，案号")).is_visible()

    # the other: explained (当场化解)
    second = phone.get_by_test_id("finding-2")
    second.get_by_label("无需登记的原因").select_option("当场化解")
    with phone.expect_navigation(url=re.compile(r"/reports/screening/\d+$")):
        second.get_by_role("button", name="提交说明").click()
    counts = phone.get_by_test_id("sweep-counts")
    assert "发现2件，登记1件" in counts.inner_text() and "说明1件" in counts.inner_text()
    assert "已闭环" in counts.inner_text()
    assert fits(phone)
    shot(phone, "e2e_sweep_findings_phone")

    db.session.expire_all()
    row = db.session.scalar(select(Screening))
    assert [f.state for f in row.findings] == ["已登记", "已说明"]
    assert row.findings[0].dispute.summary == "两户因楼道堆物发生争执"
