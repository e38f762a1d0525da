"""The ledger web pages: upload with CSRF, background job with progress, result, downloads, access."""

from __future__ import annotations

import io
import re
import threading

from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select

from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.ledger import jobs
from mediation.ledger.models import LedgerJob, LedgerRecord
from tests.test_ledger import by_case_no, case, error_file, party, run, write_csv, write_ledger


def run_worker(app) -> int:
    """Run the job worker once, as a worker process would: in its own thread and app context."""
    ran = []
    thread = threading.Thread(target=lambda: ran.append(jobs.JobWorker(app).run_once()))
    thread.start()
    thread.join(120)
    assert ran, "the worker did not finish"
    return ran[0]


def settle(job_id: int | None = None) -> None:
    """End the test session's transaction (on SQLite it would hold the write lock the worker
    needs); with a job, run the worker until the queue is empty and check the job ended."""
    db.session.rollback()
    if job_id is not None:
        run_worker(current_app._get_current_object())
        db.session.rollback()
        assert db.session.get(LedgerJob, job_id).finished
    db.session.rollback()


def upload(web, path, *, partial=False, token=None):
    token = token or web.csrf("/ledger/")
    data = {"csrf_token": token, "file": (io.BytesIO(path.read_bytes()), path.name)}
    if partial:
        data["partial"] = "1"
    r = web.client.post("/ledger/import", data=data, content_type="multipart/form-data")
    settle()
    return r


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/ledger/jobs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def finished(web, job_id: int) -> str:
    settle(job_id)
    progress = web.client.get(f"/ledger/jobs/{job_id}/progress").get_json()
    settle()
    assert progress["finished"] is True and progress["status"] == "done", progress
    html = web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True)
    settle()
    return html


def test_upload_runs_in_the_background_and_shows_the_result(app, world, web, tmp_path):
    web.login("center_b")
    page = web.client.get("/ledger/").get_data(as_text=True)
    assert 'action="/ledger/import"' in page and 'name="csrf_token"' in page
    path = write_ledger(tmp_path / "台账2025.xlsx", [case("W-1"), case("W-2")], [party("W-1")])
    r = upload(web, path)
    job_id = job_id_of(r)
    running = web.client.get(f"/ledger/jobs/{job_id}")
    settle()
    assert running.status_code == 200
    html = finished(web, job_id)
    assert "台账导入完成：新增案件 2 件、当事人 1 人。" in html
    assert "下载完整报告" in html
    assert {d.case_no for d in db.session.scalars(select(Dispute))} == {"W-1", "W-2"}
    d = by_case_no("W-1")
    assert d.registered_by.username == "center_b" and d.registering_unit.code == "ZZ-B"
    job = db.session.get(LedgerJob, job_id)
    assert job.filename == "台账2025.xlsx" and job.rows_done == job.rows_total == 3
    record = db.session.scalar(select(LedgerRecord).where(LedgerRecord.dispute_id == d.id))
    assert record.job_id == job_id and record.source_file == "台账2025.xlsx"
    progress = web.client.get(f"/ledger/jobs/{job_id}/progress").get_json()
    assert progress["percent"] == 100 and progress["stage"] == "导入"
    listing = web.client.get("/ledger/").get_data(as_text=True)
    assert f"/ledger/jobs/{job_id}" in listing and "台账2025.xlsx" in listing
    settle()


def test_upload_requires_csrf_token(app, world, web, tmp_path):
    web.login("center_b")
    path = write_ledger(tmp_path / "l.xlsx", [case("W-1")])
    r = web.client.post(
        "/ledger/import",
        data={"file": (io.BytesIO(path.read_bytes()), path.name)},
        content_type="multipart/form-data",
    )
    settle()
    assert r.status_code == 400
    assert db.session.scalar(select(LedgerJob.id)) is None


def test_failed_import_page_lists_every_error_and_offers_the_report(app, world, web, tmp_path):
    web.login("center_b")
    job_id = job_id_of(upload(web, error_file(tmp_path)))
    html = finished(web, job_id)
    assert "未导入任何数据" in html
    assert "<td>纠纷</td><td>3</td><td>登记日期</td>" in html
    assert "<td>当事人</td><td>4</td><td>案件编号</td>" in html
    assert db.session.scalar(select(Dispute.id)) is None
    report = web.client.get(f"/ledger/jobs/{job_id}/report")
    settle()
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    text = report.get_data().decode("utf-8-sig")
    assert text.splitlines()[0] == "类别,工作表,行号,列,说明"
    assert "错误,纠纷,13,涉及金额,金额最多保留两位小数。" in text
    assert web.client.get(f"/ledger/jobs/{job_id}/rejects").status_code == 404  # not a partial import
    settle()


def test_partial_upload_offers_the_rejects_workbook(app, world, web, tmp_path):
    web.login("center_b")
    path = write_ledger(
        tmp_path / "mixed.xlsx", [case("M-1"), case("M-2", 属地="没有这个地方")], [party("M-1"), party("M-2")]
    )
    job_id = job_id_of(upload(web, path, partial=True))
    html = finished(web, job_id)
    assert "台账部分导入" in html and "下载错误行" in html
    assert by_case_no("M-1") is not None and by_case_no("M-2") is None
    r = web.client.get(f"/ledger/jobs/{job_id}/rejects")
    settle()
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.get_data()), read_only=True)
    rows = list(wb["纠纷"].iter_rows(values_only=True))
    assert rows[0][-1] == "错误原因" and rows[1][0] == "M-2" and "属地：行政区划中没有" in rows[1][-1]
    assert [r[0] for r in wb["当事人"].iter_rows(min_row=2, values_only=True)] == ["M-2"]


def test_csv_upload(app, world, web, tmp_path):
    web.login("admin")
    job_id = job_id_of(upload(web, write_csv(tmp_path / "l.csv", [case("CSV-1")])))
    assert "新增案件 1 件" in finished(web, job_id)


def test_only_admin_and_center_staff_may_import_and_only_into_their_subtree(app, world, web, tmp_path):
    path = write_ledger(tmp_path / "l.xlsx", [case("A-1")])
    web.login("mediator_b")
    page = web.client.get("/ledger/").get_data(as_text=True)
    assert 'action="/ledger/import"' not in page and 'action="/ledger/export"' in page
    assert upload(web, path).status_code == 403
    web.client.post("/logout", data={"csrf_token": web.csrf("/ledger/")})
    settle()
    web.login("center_a")  # 海滨街道: the row is in 双港镇
    html = finished(web, job_id_of(upload(web, path)))
    assert "该属地不在您单位的辖区内，无权导入。" in html
    assert by_case_no("A-1") is None


def test_jobs_of_other_users_are_not_shown(app, world, web, tmp_path):
    web.login("center_b")
    job_id = job_id_of(upload(web, write_ledger(tmp_path / "l.xlsx", [case("J-1")])))
    finished(web, job_id)
    web.client.post("/logout", data={"csrf_token": web.csrf("/ledger/")})
    web.login("center_a")
    for url in (f"/ledger/jobs/{job_id}", f"/ledger/jobs/{job_id}/progress", f"/ledger/jobs/{job_id}/report"):
        assert web.client.get(url).status_code == 404, url
    settle()


def test_bad_upload_is_refused(app, world, web, tmp_path):
    web.login("center_b")
    token = web.csrf("/ledger/")
    r = web.client.post(
        "/ledger/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"x"), "l.docx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    settle()
    assert "只支持 .xlsx" in r.get_data(as_text=True)
    assert db.session.scalar(select(LedgerJob.id)) is None


def export(web, node_code):
    r = web.client.post("/ledger/export", data={"csrf_token": web.csrf("/ledger/"), "node": node_code})
    settle()
    return r


def test_export_downloads_a_workbook_of_a_node_the_user_may_see(app, world, web, tmp_path):
    assert run(
        write_ledger(
            tmp_path / "l.xlsx", [case("X-1"), case("X-2", 属地="海滨街道/新家园社区")], [party("X-1")]
        )
    ).ok
    web.login("center_b")
    page = web.client.get("/ledger/").get_data(as_text=True)
    assert f'value="{world.town_b.code}"' in page and f'value="{world.town_a.code}"' not in page
    settle()
    job_id = job_id_of(export(web, world.town_b.code))
    html = finished(web, job_id)
    assert "已导出案件 1 件、当事人 1 人。" in html
    r = web.client.get(f"/ledger/jobs/{job_id}/export")
    settle()
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.get_data()), read_only=True)
    assert [row[0] for row in wb["纠纷"].iter_rows(min_row=2, values_only=True)] == ["X-1"]
    party_row = next(wb["当事人"].iter_rows(min_row=2, values_only=True))
    assert "*" in party_row[4]  # 综治中心 staff see masked personal ID numbers

    r = export(web, world.town_a.code)  # not in 双港镇's subtree
    assert r.status_code == 302 and r.headers["Location"].endswith("/ledger/")
    assert db.session.scalars(select(LedgerJob)).all()[-1].node_id == world.town_b.id
