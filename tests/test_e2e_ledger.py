"""End to end in headless Chromium: a 综治中心 user uploads a 台账; the page shows it queued while no
worker runs, follows the progress once a job worker (another thread with its own app contexts, as
the scheduler process would be) takes it, and shows the result with its report download."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.ledger.jobs import JobWorker
from tests.browser import login, shot
from tests.test_ledger import case, party, write_ledger

pytestmark = pytest.mark.browser


def test_upload_waits_for_the_worker_then_shows_the_result(live_server, page, world, app, tmp_path):
    path = write_ledger(tmp_path / "台账2025.xlsx", [case("E-1"), case("E-2")], [party("E-1")])
    login(page, live_server, "center_b")
    page.goto(live_server.url_for("/ledger/"))
    page.set_input_files("#ledger-file", str(path))
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url(re.compile(r"/ledger/jobs/\d+$"))
    assert page.locator("#ledger-stage").inner_text() == "排队"  # queued: the request ran nothing
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
    db.session.commit()

    worker = JobWorker(app, name="e2e-worker", poll=0.1).start()
    try:
        page.get_by_role("status").filter(has_text="台账导入完成").wait_for()  # the poll reloads the page
    finally:
        worker.stop()
    assert "新增案件 2 件、当事人 1 人" in page.get_by_role("status").inner_text()
    shot(page, "e2e_ledger_result")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载完整报告（.csv）").click()
    assert info.value.suggested_filename == "台账2025-导入报告.csv"
    db.session.rollback()
    assert db.session.scalar(select(func.count(Dispute.id))) == 2
