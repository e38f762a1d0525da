"""In headless Chromium, under the Content-Security-Policy without 'unsafe-inline' for scripts: the
pages whose scripts moved to static files still work, and the browser reports no CSP violation."""

from __future__ import annotations

import pytest

from mediation.extensions import db
from mediation.ledger.models import LedgerJob
from tests.browser import login

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    return found


def test_api_docs_start_swagger_ui(live_server, page):
    violations = _violations(page)
    page.goto(live_server.url_for("/api/v1/docs"))
    page.locator(".swagger-ui .opblock").first.wait_for()  # the operations, read from openapi.json
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert not violations, violations


def test_ledger_job_page_polls_and_shows_the_result(app, world, live_server, page):
    job = LedgerJob(
        kind="import",
        user_id=world.center_user_a.user.id,
        filename="台账.xlsx",
        status="running",
        stage="校验",
        rows_done=3,
        rows_total=10,
    )
    db.session.add(job)
    db.session.commit()
    job_id = job.id  # not read from the ORM object inside the browser's callbacks
    violations = _violations(page)
    login(page, live_server, "center_a")
    with page.expect_response(lambda r: r.url.endswith(f"/ledger/jobs/{job_id}/progress")):
        page.goto(live_server.url_for(f"/ledger/jobs/{job_id}"))
    assert page.locator("#ledger-stage").inner_text() == "校验"

    job.status, job.stage, job.rows_done = "done", "完成", 10
    job.result = {"ok": True, "partial": False, "summary": "台账导入完成：新增案件 10 件、当事人 12 人。"}
    db.session.commit()
    page.get_by_text("台账导入完成：新增案件 10 件").wait_for()  # the script reloaded the page
    assert page.locator("#ledger-progress").count() == 0
    assert not violations, violations
