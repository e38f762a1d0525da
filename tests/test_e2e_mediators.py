"""End to end in headless Chromium on a 390×844 phone: a 综治中心 user opens the mediators' list,
filters those not trained this year, opens one and adds a training; the flag goes away."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mediation import clock
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.mediators.models import Background, Employment, Mediator, Training
from tests.browser import login, shot
from tests.workflow_support import make_case

pytestmark = pytest.mark.browser


@pytest.fixture
def registry(world):
    clock.set(date(2026, 11, 18))
    trained = Mediator(
        name="李明", employment=Employment.FULL_TIME, background=Background.LAWYER, units=[world.committee_b]
    )
    trained.trainings.append(
        Training(held_on=date(2026, 4, 2), hours=Decimal("4"), topic="人民调解实务", organiser="区司法局")
    )
    stale = Mediator(
        name="欧阳·晓红",
        employment=Employment.PART_TIME,
        background=Background.TEACHER,
        units=[world.committee_b],
    )
    db.session.add_all([trained, stale])
    db.session.commit()
    yield stale
    clock.reset()


def test_filter_untrained_open_and_add_a_training(live_server, new_page, registry):
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    login(page, live_server, "center_b")
    page.goto(live_server.url_for("/mediators/"))
    rows = page.get_by_test_id("mediator-list").locator("tbody tr")
    assert rows.count() == 2
    page.get_by_test_id("filter-untrained").check()
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**untrained=1**")
    assert rows.count() == 1 and "欧阳·晓红" in rows.first.inner_text()
    assert page.locator(".field-error").count() == 0  # the empty selects ("全部") are no error
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(page, "e2e_mediators_list_phone")

    page.get_by_role("link", name="欧阳·晓红").click()
    page.wait_for_url(re.compile(r"/mediators/\d+$"))
    assert page.get_by_test_id("untrained").is_visible()
    page.get_by_label("培训日期").fill("2026-11-10")
    page.get_by_label("学时").fill("3.5")
    page.get_by_label("培训主题").fill("婚姻家庭纠纷调解技巧")
    page.get_by_label("组织单位").fill("区司法局")
    page.get_by_role("button", name="添加培训记录").click()
    page.get_by_test_id("trainings").filter(has_text="婚姻家庭纠纷调解技巧").wait_for()
    assert page.get_by_test_id("untrained").count() == 0
    shot(page, "e2e_mediators_training_phone")
    db.session.rollback()
    m = db.session.scalar(select(Mediator).where(Mediator.name == "欧阳·晓红"))
    assert [(t.held_on, t.hours) for t in m.trainings] == [(date(2026, 11, 10), Decimal("3.5"))]


def test_the_lead_unit_names_the_case_mediators_on_the_case_page(live_server, page, app, world, registry):
    dispute_id = make_case(app.test_client(), world, Stage.HANDLING)
    db.session.commit()
    login(page, live_server, "mediator_b")
    page.goto(live_server.url_for(f"/disputes/{dispute_id}"))
    form = page.get_by_test_id("case-mediators-form")
    form.get_by_label("欧阳·晓红").check()
    form.get_by_role("button", name="保存承办调解员").click()
    page.get_by_test_id("case-mediators").filter(has_text="欧阳·晓红").wait_for()
    assert page.get_by_text("指定承办调解员").count() >= 1  # on the timeline
    shot(page, "e2e_case_mediators")
    page.get_by_test_id("case-mediators").get_by_role("link", name="欧阳·晓红").click()
    page.wait_for_url(re.compile(rf"/mediators/{registry.id}$"))
    assert dispute_id and page.get_by_test_id("cases").locator("tbody tr").count() == 1
