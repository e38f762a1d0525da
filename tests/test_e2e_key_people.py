"""End to end in headless Chromium on a 390×844 phone: a 综治中心 user registers a 重大不稳定群体, links
a case of the town to it, and records a review; the next review date moves and the history shows it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mediation import clock
from mediation.extensions import db
from mediation.keypeople.models import KeyEntry
from tests.browser import login, shot
from tests.reports_data import case

pytestmark = pytest.mark.browser


@pytest.fixture
def town_case(world):
    clock.set(date(2026, 11, 18))
    d = case(world, world.village_b, date(2026, 11, 2))
    db.session.commit()
    yield d
    clock.reset()


def test_register_a_group_link_a_case_and_record_a_review(live_server, new_page, world, town_case):
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(page, live_server, "center_b")
    page.goto(live_server.url_for("/key-people/"))
    page.get_by_test_id("new-entry").click()
    page.get_by_label("类别").select_option("重大不稳定群体")
    page.get_by_label("姓名或群体名称").fill("双港村拆迁安置户")
    page.get_by_label("群体人数").fill("23")
    page.get_by_label("所在地").select_option(world.village_b.code)
    page.get_by_label("责任单位").select_option(world.committee_b.code)
    page.get_by_label("稳控措施").fill("村委会每周走访；镇综治中心每月约谈牵头人。")
    page.get_by_label("复查周期（天）").fill("14")
    page.get_by_label("关联案件编号").fill(town_case.case_no)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(page, "e2e_key_people_form_phone")
    page.get_by_role("button", name="保存").click()

    page.get_by_test_id("entry-name").filter(has_text="双港村拆迁安置户").wait_for()
    assert page.get_by_test_id("group-size").inner_text() == "23"
    assert town_case.case_no in page.get_by_test_id("linked-cases").inner_text()
    assert page.get_by_test_id("next-review").inner_text().startswith("2026-12-02")
    form = page.get_by_test_id("review-form")
    form.get_by_label("复查日期", exact=True).fill("2026-11-17")
    form.get_by_label("复查情况").fill("走访牵头人，情绪稳定，未发现集访苗头。")
    form.get_by_role("button", name="保存复查记录").click()
    page.get_by_test_id("history").filter(has_text="未发现集访苗头").wait_for()
    assert page.get_by_test_id("next-review").inner_text().startswith("2026-12-01")  # 11-17 + 14 days
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "e2e_key_people_entry_phone")

    db.session.rollback()
    entry = db.session.scalar(select(KeyEntry).where(KeyEntry.name == "双港村拆迁安置户"))
    assert [d.id for d in entry.cases] == [town_case.id]
    assert [h.kind.value for h in entry.history] == ["复查", "关联案件", "登记"]
