"""End to end in headless Chromium: the 综治中心 routes a case from its page, the committee's mediator
accepts it, records a session and closes it."""

from __future__ import annotations

import re

import pytest

from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from tests.browser import login, shot
from tests.workflow_support import make_case

pytestmark = pytest.mark.browser


def open_action(pg, action: str) -> None:
    pg.locator(f"#workflow details[data-action='{action}'] > summary").click()


def logout(pg) -> None:
    pg.get_by_role("button", name="退出").click()
    pg.wait_for_url(re.compile(r"/login"))


def test_route_accept_and_close_from_the_case_page(client, live_server, page, world):
    dispute_id = make_case(client, world, Stage.PENDING)
    case_url = live_server.url_for(f"/disputes/{dispute_id}")

    login(page, live_server, "center_b")
    page.goto(case_url)
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "待分流"
    assert page.locator("#workflow details[data-action='accept']").count() == 0
    open_action(page, "route")
    page.locator("#wf-route-channel").select_option("人民调解")
    page.locator("#wf-route-unit").select_option("TW-B")
    page.locator("#wf-route-note").fill("邻里纠纷，由镇调委会调解。")
    shot(page, "e2e_workflow_route")
    with page.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        page.get_by_role("button", name="确认分流").click()
    assert page.get_by_text("已分流至双港镇人民调解委员会，等待受理。").is_visible()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "待受理"
    logout(page)

    login(page, live_server, "mediator_b")
    page.goto(case_url)
    open_action(page, "accept")
    with page.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        page.get_by_role("button", name="确认受理").click()
    assert page.get_by_text(re.compile(r"已受理，办理期限至\d{4}-\d{2}-\d{2}。")).is_visible()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "办理中"
    assert page.locator("#workflow [data-testid=warning-level]").inner_text() == "正常"

    open_action(page, "session")
    page.locator("#wf-session-place").fill("双港镇人民调解委员会调解室")
    page.locator("#wf-session-record").fill("双方陈述事实，调解员释法明理，双方同意赔偿方案。")
    with page.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        page.get_by_role("button", name="确认记录调解").click()
    assert page.get_by_text("调解记录已保存。").is_visible()

    open_action(page, "close")
    page.locator("#wf-close-outcome").select_option("调解成功")
    page.locator("#wf-close-note").fill("达成书面调解协议，当场履行。")
    with page.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        page.get_by_role("button", name="确认办结").click()
    assert page.get_by_text("案件已办结（调解成功）。").is_visible()
    assert page.locator("#workflow [data-testid=stage]").inner_text() == "已办结"
    shot(page, "e2e_workflow_closed")

    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert (d.status, d.outcome, d.unit.code) == ("已办结", "调解成功", "TW-B")
    assert [e.type for e in d.events] == ["registered", "routed", "accepted", "session", "closed"]
    db.session.rollback()
