"""End to end in headless Chromium, on a desktop and on a 390×844 phone: a mediator signs in, lands on
我的待办, clicks an item and arrives at the action (the 受理 form open on the case page); then filters
the case list and exports what it shows."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from tests.browser import login, shot
from tests.workflow_support import make_case

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844, "is_mobile": True, "has_touch": True},
}


def _no_horizontal_overflow(pg) -> bool:
    return pg.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_land_on_the_worklist_and_go_to_the_action(client, live_server, new_page, world, device):
    awaiting = make_case(client, world, Stage.AWAITING)  # routed to 双港镇调委会 (mediator_b)
    overdue = make_case(client, world, Stage.HANDLING)
    d = db.session.get(Dispute, overdue)
    d.accepted_on, d.deadline = local_today() - timedelta(days=40), local_today() - timedelta(days=10)
    db.session.commit()
    case_no = db.session.get(Dispute, awaiting).case_no

    page = new_page(**VIEWPORTS[device])
    login(page, live_server, "mediator_b")
    assert page.url.endswith("/worklist/")
    assert page.get_by_role("heading", name="我的待办", level=1).is_visible()
    assert page.locator("[data-testid='worklist-total']").inner_text() == "2"
    assert page.locator("[data-testid='count-待受理']").inner_text() == "1"
    assert page.locator("[data-testid='count-超期']").inner_text() == "1"
    assert _no_horizontal_overflow(page), device
    shot(page, f"e2e_worklist_{device}")

    group = page.locator("section.worklist-group[data-kind='待受理']")
    item = group.get_by_role("link", name=re.compile(re.escape(case_no)))
    assert item.is_visible()
    item.click()
    page.wait_for_url(re.compile(rf"/disputes/{awaiting}#action-accept$"))
    action = page.locator("#action-accept")
    assert action.get_attribute("open") is not None  # open-target.js opened the action
    date_input = action.get_by_label("受理日期")
    assert date_input.is_visible()
    assert (
        page.evaluate("document.getElementById('action-accept').getBoundingClientRect().top")
        < VIEWPORTS[device]["height"]
    )
    shot(page, f"e2e_worklist_action_{device}")

    # doing it takes the item off the list
    with page.expect_navigation(url=re.compile(rf"/disputes/{awaiting}")):
        action.get_by_role("button", name=re.compile("受理")).last.click()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "办理中"
    menu = page.get_by_role("button", name="菜单")
    if menu.is_visible():  # on a phone the navigation is behind the menu button
        menu.click()
    page.get_by_role("link", name="我的待办").first.click()
    page.wait_for_url(re.compile(r"/worklist/$"))
    assert page.locator("[data-testid='count-待受理']").count() == 0
    assert page.locator("[data-testid='worklist-total']").inner_text() == "1"


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_filter_the_case_list_and_export(client, live_server, new_page, world, device):
    awaiting = [make_case(client, world, Stage.AWAITING) for _ in range(2)]
    make_case(client, world, Stage.HANDLING)
    make_case(client, world, Stage.PENDING)
    numbers = {db.session.get(Dispute, i).case_no for i in awaiting}

    page = new_page(accept_downloads=True, **VIEWPORTS[device])
    login(page, live_server, "mediator_b")
    page.goto(live_server.url_for("/disputes/"))
    page.get_by_label("阶段").select_option("待受理")
    page.get_by_label("只看分给我的").check()
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"stage=%E5%BE%85%E5%8F%97%E7%90%86"))
    assert "mine=1" in page.url  # the filter is in the address: a link to share
    assert "共 2 件" in page.locator(".result-count").inner_text()
    shown = {t.strip() for t in page.locator("a.case-no").all_inner_texts()}
    assert shown == numbers
    assert all(t.strip() == "待受理" for t in page.locator("[data-testid=stage]").all_inner_texts())
    assert _no_horizontal_overflow(page), device
    shot(page, f"e2e_case_list_{device}")

    # reloading the address gives the same list (shareable)
    page.goto(page.url)
    assert {t.strip() for t in page.locator("a.case-no").all_inner_texts()} == numbers

    with page.expect_download() as info:
        page.locator("#export-xlsx").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    ws = load_workbook(io.BytesIO(open(download.path(), "rb").read()), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "案号"
    assert {r[0] for r in rows[1:]} == numbers and len(rows) == 3

    # sorting keeps the filters: a column heading on the desktop, the 排序 select on a phone
    if device == "desktop":
        page.locator("a.sort-link[data-sort='case_no']").click()
    else:
        page.get_by_label("排序").select_option("case_no")
        page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"sort=case_no"))
    assert "mine=1" in page.url and "stage=" in page.url
    assert [t.strip() for t in page.locator("a.case-no").all_inner_texts()] == sorted(numbers)
