"""End to end in headless Chromium, on a desktop and on a 390×844 phone: a town 综治中心 opens a case
waiting for routing (待分流) in the demo's district with the demo's routing rules, sees the suggested
unit first in the picker, finds another lead unit by its 简称, picks two co-handlers (联办) from the
filterable checkbox list — by keyboard on the desktop, by tapping on the phone — routes, and the case
shows them. No script may be refused by the CSP (the picker's JS is a static file)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mediation.common.enums import Role
from mediation.demo import ensure_routing_rules, load_places
from mediation.disputes.models import Dispute
from mediation.disputes.schemas import DisputeCreate
from mediation.disputes.service import register
from mediation.extensions import db
from mediation.geo.models import Unit
from tests.browser import login, shot
from tests.factories import dispute_payload, user

pytestmark = pytest.mark.browser

LABOUR_COMMITTEE = "海滨区劳动争议人民调解委员会"  # the demo rule's unit for 劳动争议/欠薪
HRSS = "海滨区人力资源和社会保障局"  # 简称 海滨人社
TOWN_COMMITTEE = "双港镇人民调解委员会"
POLICE = "海滨区公安局双港派出所"  # 简称 双港派出所


@pytest.fixture
def labour_case(app):
    load_places()
    ensure_routing_rules()
    center = db.session.scalar(select(Unit).where(Unit.code == "120116100000-ZZ"))  # 双港镇综治中心
    staff = user("zhen_center", Role.CENTER, center)
    payload = dispute_payload(
        "120116100201",
        category="劳动争议/欠薪",
        amount="12000.00",  # 双港村
        summary="某厂拖欠三名工人两个月工资，工人多次讨要未果。",
    )
    dispute = register(staff.user, DisputeCreate().load(payload)).dispute
    db.session.commit()
    return dispute.id


@pytest.mark.parametrize(
    ("width", "height", "keyboard"), [(1280, 800, True), (390, 844, False)], ids=["desktop", "phone"]
)
def test_centre_routes_with_the_suggestion_a_short_name_search_and_two_co_handlers(
    new_page, live_server, labour_case, width, height, keyboard
):
    page = new_page(width, height)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, live_server, "zhen_center")
    page.goto(live_server.url_for(f"/disputes/{labour_case}"))
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "待分流"
    assert LABOUR_COMMITTEE in page.locator("#workflow [data-testid=suggestion]").inner_text()

    page.locator("#workflow details[data-action='route'] > summary").click()
    unit = page.locator("#wf-route-unit")
    # The suggestion comes first and is chosen.
    assert page.locator("#wf-route-unit optgroup").first.get_attribute("label") == "分流建议"
    assert (
        LABOUR_COMMITTEE in page.locator("#wf-route-unit optgroup").first.locator("option").first.inner_text()
    )
    assert unit.input_value() == "120116000000-LTW"
    # Then the 属地 and the nodes above it, nearest first.
    labels = page.locator("#wf-route-unit optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert labels[:4] == ["分流建议", "双港村（属地）", "双港镇", "海滨区"], labels

    # Another lead unit, found by its 简称.
    lead_filter = page.locator("#wf-route-unit-filter")
    assert lead_filter.is_visible()
    if keyboard:
        lead_filter.focus()
        page.keyboard.type("海滨人社")
        page.keyboard.press("Enter")  # moves to the list; does not submit the form
        assert page.evaluate("document.activeElement.id") == "wf-route-unit"
    else:
        lead_filter.fill("海滨人社")
    assert unit.input_value() == "120116000000-RS"
    assert page.locator("#wf-route-unit option[value]:not([value=''])").count() == 1
    assert page.locator("#wf-route-unit-status").inner_text() == "找到 1 个单位"
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "待分流"  # nothing submitted

    # Two co-handlers from the checkbox list with its filter box.
    co_filter = page.locator("#wf-route-co_units-filter")
    box = page.locator("#wf-route-co_units")
    for query, name in (("双港镇人调", TOWN_COMMITTEE), ("双港派出所", POLICE)):
        if keyboard:
            co_filter.fill("")
            co_filter.focus()
            page.keyboard.type(query)
            page.keyboard.press("Enter")  # to the first unit shown
            page.keyboard.press("Space")
        else:
            co_filter.fill(query)
            box.get_by_label(name).check()
        assert box.get_by_label(name).is_checked()
    co_filter.fill("双港")
    # Ticked units stay in sight; the lead unit cannot be a co-handler too.
    assert box.get_by_label(TOWN_COMMITTEE).is_visible() and box.get_by_label(POLICE).is_visible()
    co_filter.fill("海滨人社")
    assert box.get_by_label(HRSS).is_disabled()
    status = page.locator("#wf-route-co_units [data-checklist-status]").inner_text()
    assert status.startswith("已选 2 个") and TOWN_COMMITTEE in status and POLICE in status
    if not keyboard:
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    shot(page, f"e2e_routing_picker_{width}")

    with page.expect_navigation(url=re.compile(rf"/disputes/{labour_case}")):
        page.get_by_role("button", name="确认分流").click()
    assert page.get_by_text(f"已分流至{HRSS}，等待受理。").is_visible()
    co_units = page.locator("dt:text-is('联办单位') + dd").first.inner_text()
    assert TOWN_COMMITTEE in co_units and POLICE in co_units
    shot(page, f"e2e_routing_routed_{width}")
    assert refused == []

    db.session.expire_all()
    d = db.session.get(Dispute, labour_case)
    assert d.unit.name == HRSS and sorted(u.name for u in d.co_units) == sorted([TOWN_COMMITTEE, POLICE])
    routed = d.events[-1]
    assert routed.type == "routed" and routed.data["override"] is True  # the suggestion was not taken
    db.session.rollback()
