"""台账 jobs outlive the web worker that queued them: the request only stores the upload and a queued
row; a worker (another app instance, another thread, another process) claims and runs it. Claims are
atomic, running jobs beat, a dead worker's job is taken over or failed with a message, a worker that
lost its job writes nothing, and uploads and results leave the database on time. SQLite by default,
PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from mediation import clock, create_app
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.ledger import jobs
from mediation.ledger.models import LedgerJob, LedgerRecord
from tests.test_ledger import case, party, write_ledger
from tests.test_ledger_web import job_id_of
from tests.test_ledger_web import upload as web_upload

ROOT = Path(__file__).resolve().parent.parent


# --- helpers ---------------------------------------------------------------------------------------------------


def fresh(job_id: int) -> LedgerJob:
    db.session.rollback()
    return db.session.get(LedgerJob, job_id, populate_existing=True)


def files(job_id: int) -> set[str]:
    db.session.rollback()
    names = jobs.file_names(job_id)
    db.session.rollback()
    return names


def disputes() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Dispute.id)))


def in_thread(fn, timeout: float = 180):
    out, errors = [], []

    def target():
        try:
            out.append(fn())
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread
            errors.append(err)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the worker thread did not finish"
    if errors:
        raise errors[0]
    return out[0]


@pytest.fixture
def other_app(db_url, tmp_path):
    """Factory of further application instances on the same database (as another process has)."""
    made = []

    def make(**config):
        other = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": db_url,
                "SECRET_KEY": "test-secret",
                "INSTANCE_DIR": str(tmp_path / f"other-{len(made)}"),
                "LEDGER_WORK_DIR": str(tmp_path / "work"),
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                **config,
            }
        )
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def cli_env(db_url: str, tmp_path: Path, **extra) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret",
        "PYTHONPATH": str(ROOT),
        "SCHEDULER_MODE": "external",
        "LEDGER_WORK_DIR": str(tmp_path / "work"),
        "PYTHONUNBUFFERED": "1",
        **{k: str(v) for k, v in extra.items()},
    }
    for name in ("FLASK_DEBUG", "TEST_DATABASE_URL", "MEDIATION_CLOCK_FILE", "MEDIATION_CLOCK"):
        env.pop(name, None)
    return env


def run_cli(args: list[str], env: dict) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "mediation", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=600)
    return proc, out, err


def wait_for(check, timeout: float = 120.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def small_ledger(tmp_path: Path, name: str = "台账.xlsx", prefix: str = "D") -> Path:
    return write_ledger(tmp_path / name, [case(f"{prefix}-1"), case(f"{prefix}-2")], [party(f"{prefix}-1")])


def big_ledger(tmp_path: Path, rows: int) -> Path:
    return write_ledger(
        tmp_path / "big.xlsx", [case(f"B-{i}") for i in range(rows)], [party(f"B-{i}") for i in range(rows)]
    )


def queue_export(world) -> int:
    job_id = jobs.enqueue_export(world.center_user_b.user, world.town_b)
    db.session.commit()
    return job_id


def make_dead(job_id: int, *, attempts: int | None = None, beat_ago: float | None = 3600) -> None:
    """The job as a worker left it that was killed while running it."""
    values = {
        "status": "running",
        "worker": "dead-host:99999:deadbeef",
        "heartbeat_at": None if beat_ago is None else clock.real_now() - timedelta(seconds=beat_ago),
    }
    if attempts is not None:
        values["attempts"] = attempts
    db.session.execute(update(LedgerJob).where(LedgerJob.id == job_id).values(**values))
    db.session.commit()


# --- the request queues, a worker elsewhere runs ----------------------------------------------------------------


def test_the_request_only_queues_and_another_app_instance_runs_the_job(app, world, web, tmp_path, other_app):
    web.login("center_b")
    job_id = job_id_of(web_upload(web, small_ledger(tmp_path)))
    job = fresh(job_id)
    assert job.status == "queued" and job.worker is None and job.attempts == 0
    assert files(job_id) == {"upload"}  # in the database, not on this web machine's disk
    assert disputes() == 0
    progress = web.client.get(f"/ledger/jobs/{job_id}/progress").get_json()
    assert progress["status"] == "queued" and progress["finished"] is False
    db.session.rollback()

    worker = jobs.JobWorker(other_app(), name="worker-host:1:aaaa")
    assert in_thread(worker.run_once) == 1
    job = fresh(job_id)
    assert (job.status, job.worker, job.attempts, job.result["imported"]) == (
        "done",
        "worker-host:1:aaaa",
        1,
        2,
    )
    assert disputes() == 2
    assert files(job_id) == {"report"}  # the upload (full ID numbers) is gone with the job's end
    assert list((tmp_path / "work").iterdir()) == []  # and so is the worker's scratch copy
    html = web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True)
    assert "台账导入完成：新增案件 2 件、当事人 1 人。" in html and "下载完整报告" in html
    report = web.client.get(f"/ledger/jobs/{job_id}/report")
    assert report.status_code == 200 and report.get_data().decode("utf-8-sig").startswith(
        "类别,工作表,行号,列,说明"
    )
    db.session.rollback()


def test_a_worker_process_runs_the_job_queued_by_the_web(app, world, web, tmp_path, db_url):
    web.login("center_b")
    job_id = job_id_of(web_upload(web, small_ledger(tmp_path)))
    db.session.commit()
    proc, out, err = run_cli(["ledger", "work", "--once"], cli_env(db_url, tmp_path))
    assert proc.returncode == 0, err
    assert "已处理台账任务 1 个" in out
    job = fresh(job_id)
    assert job.status == "done" and job.result["imported"] == 2, (job.status, job.message)
    assert job.worker.split(":")[1] == str(proc.pid)  # run by that process, not by this one
    assert files(job_id) == {"report"}
    assert list((tmp_path / "work").iterdir()) == []


def test_the_scheduler_process_runs_jobs_and_a_sigterm_leaves_none_running(app, world, web, tmp_path, db_url):
    web.login("center_b")
    r = web.client.post(
        "/ledger/export", data={"csrf_token": web.csrf("/ledger/"), "node": world.town_b.code}
    )
    job_id = job_id_of(r)
    db.session.commit()
    env = cli_env(db_url, tmp_path, LEDGER_JOB_POLL=0.2)
    with open(tmp_path / "scheduler.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "mediation", "scheduler", "--interval", "3600"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: fresh(job_id).finished, what="the scheduler process to run the export")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    assert proc.returncode == 0, (tmp_path / "scheduler.log").read_text()
    job = fresh(job_id)
    assert job.status == "done" and job.worker.split(":")[1] == str(proc.pid)
    download = web.client.get(f"/ledger/jobs/{job_id}/export")
    assert download.status_code == 200
    assert load_workbook(io.BytesIO(download.get_data()), read_only=True).sheetnames == ["纠纷", "当事人"]
    db.session.rollback()


def test_the_embedded_scheduler_runs_jobs_in_the_flask_run_process(app, world, db_url, tmp_path):
    from mediation.followups.scheduler import EXTENSION_KEY

    job_id = queue_export(world)
    embedded = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "x",
            "SCHEDULER_AUTOSTART": True,
            "SCHEDULER_INTERVAL": 3600,
            "LEDGER_JOB_POLL": 0.2,
            "LEDGER_WORK_DIR": str(tmp_path / "work"),
        }
    )
    runner = embedded.extensions[EXTENSION_KEY]
    try:
        assert runner.job_worker.running
        wait_for(lambda: fresh(job_id).finished, what="the embedded worker to run the export")
    finally:
        runner.stop()
        with embedded.app_context():
            db.engine.dispose()
    assert fresh(job_id).status == "done" and not runner.job_worker.running


# --- one job, one worker -------------------------------------------------------------------------------------------


def test_concurrent_claims_never_hand_out_one_job_twice(app, world, other_app):
    queued = sorted(queue_export(world) for _ in range(40))
    apps = [other_app(), other_app()]
    barrier = threading.Barrier(4)
    claimed: dict[str, list[int]] = {}
    errors = []

    def claimer(worker_app, name):
        try:
            with worker_app.app_context():
                barrier.wait()
                got = claimed.setdefault(name, [])
                while (job_id := jobs.claim(name)) is not None:
                    got.append(job_id)
                db.session.remove()
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=claimer, args=(apps[i % 2], f"w{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    every = [j for got in claimed.values() for j in got]
    assert sorted(every) == queued  # each job claimed exactly once
    db.session.rollback()
    rows = db.session.execute(
        select(LedgerJob.id, LedgerJob.status, LedgerJob.worker, LedgerJob.attempts)
    ).all()
    owner = {j: name for name, got in claimed.items() for j in got}
    assert all(
        status == "running" and attempts == 1 and worker == owner[job_id]
        for job_id, status, worker, attempts in rows
    )


def test_two_workers_running_at_once_run_each_job_once(app, world, other_app):
    queued = [queue_export(world) for _ in range(6)]
    first, second = jobs.JobWorker(other_app(), name="w1"), jobs.JobWorker(other_app(), name="w2")
    results = []
    threads = [threading.Thread(target=lambda w=w: results.append(w.run_once())) for w in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert sum(results) == len(queued)  # every job ran, none twice
    for job_id in queued:
        job = fresh(job_id)
        assert job.status == "done" and job.attempts == 1 and job.worker in ("w1", "w2")
        assert files(job_id) == {"export"}


# --- dead workers ---------------------------------------------------------------------------------------------


def test_the_job_of_a_dead_worker_is_taken_over_and_a_live_one_is_left_alone(
    app, world, web, tmp_path, other_app
):
    web.login("center_b")
    dead = job_id_of(web_upload(web, small_ledger(tmp_path)))
    alive = queue_export(world)
    assert jobs.claim("dead-host:99999:deadbeef") == dead
    assert jobs.claim("busy-host:2:cafe") == alive  # its worker is beating
    make_dead(dead, beat_ago=3600)

    worker = jobs.JobWorker(other_app(LEDGER_JOB_TIMEOUT=60), name="rescuer")
    assert in_thread(worker.run_once) == 1
    job = fresh(dead)
    assert (job.status, job.worker, job.attempts, job.message) == ("done", "rescuer", 2, None)
    assert job.result["imported"] == 2 and disputes() == 2
    other = fresh(alive)
    assert (other.status, other.worker, other.attempts) == ("running", "busy-host:2:cafe", 1)


def test_a_dead_workers_job_is_failed_with_a_message_after_the_last_attempt(
    app, world, web, tmp_path, other_app
):
    web.login("center_b")
    job_id = job_id_of(web_upload(web, small_ledger(tmp_path)))
    export_id = queue_export(world)
    jobs.claim("dead-host:99999:deadbeef")
    jobs.claim("dead-host:99999:deadbeef")
    make_dead(job_id, attempts=3, beat_ago=None)  # it never even beat
    make_dead(export_id, attempts=3, beat_ago=600)

    worker = jobs.JobWorker(other_app(LEDGER_JOB_TIMEOUT=60, LEDGER_JOB_ATTEMPTS=3), name="rescuer")
    assert in_thread(worker.run_once) == 0
    job = fresh(job_id)
    assert job.status == "failed" and job.finished_at is not None
    assert (
        job.message
        == "处理中断：处理进程多次停止（例如服务重启），导入未完成，未导入任何数据。请重新上传文件。"
    )
    assert fresh(export_id).message == "处理中断：处理进程多次停止（例如服务重启），导出未完成。请重新导出。"
    assert files(job_id) == set()  # the upload does not outlive the job
    html = web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True)
    assert "导入未完成，未导入任何数据" in html and 'role="alert"' in html
    assert web.client.get(f"/ledger/jobs/{job_id}/progress").get_json()["finished"] is True
    db.session.rollback()


def test_a_worker_that_lost_its_job_writes_nothing(app, world, web, tmp_path, other_app):
    web.login("center_b")
    job_id = job_id_of(web_upload(web, small_ledger(tmp_path)))
    assert jobs.claim("slow-host:1:a") == job_id
    # While slow-host was paused its heartbeat went stale and another worker took the job over.
    db.session.execute(
        update(LedgerJob).where(LedgerJob.id == job_id).values(worker="fast-host:2:b", attempts=2)
    )
    db.session.commit()
    worker_app = other_app()

    def resume_slow_worker():
        with worker_app.app_context():
            return jobs.run(job_id, "slow-host:1:a")

    assert in_thread(resume_slow_worker) == "lost"
    assert disputes() == 0  # its import was rolled back
    job = fresh(job_id)
    assert (job.status, job.worker, job.result) == ("running", "fast-host:2:b", {})
    assert files(job_id) == {"upload"}  # the new owner still has the file


def test_a_worker_killed_mid_import_is_taken_over_by_another_process(app, world, web, tmp_path, db_url):
    rows = 1500
    web.login("center_b")
    job_id = job_id_of(web_upload(web, big_ledger(tmp_path, rows)))
    db.session.commit()
    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "flask", "--app", "mediation", "ledger", "work"]
    env = cli_env(db_url, tmp_path, LEDGER_JOB_POLL=0.2, LEDGER_JOB_HEARTBEAT=0.3)
    postgres = db.engine.dialect.name == "postgresql"
    with open(tmp_path / "worker-1.log", "w") as log:
        victim = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:

            def midway():
                job = fresh(job_id)
                assert victim.poll() is None, (tmp_path / "worker-1.log").read_text()
                assert job.status != "done", "the import ended before the worker could be killed"
                if postgres:  # PostgreSQL shows the write pass's progress
                    return job.status == "running" and job.rows_done > 0 and job.stage == "导入"
                # SQLite: the check pass may end before its first heartbeat, and the write pass holds the
                # one write lock (no progress rows): running, with its scratch copy made, is midway.
                return (
                    job.status == "running"
                    and work.exists()
                    and any(any(p.iterdir()) for p in work.iterdir() if p.name.startswith(jobs.WORK_PREFIX))
                )

            wait_for(midway, what="the worker to be in the middle of the import")
            scratch = [p for p in work.iterdir() if p.name.startswith(jobs.WORK_PREFIX)]
            assert len(scratch) == 1 and stat.S_IMODE(scratch[0].stat().st_mode) == 0o700
            inside = list(scratch[0].iterdir())
            assert inside and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in inside), inside
        finally:
            victim.kill()  # kill -9: no clean-up, no release
            victim.wait(30)
    job = fresh(job_id)
    assert job.status == "running" and job.worker.split(":")[1] == str(victim.pid)
    assert disputes() == 0  # all or nothing: nothing yet

    time.sleep(1.2)  # the heartbeat is now older than the timeout below
    rescuer, _, err = run_cli(["ledger", "work", "--once"], {**env, "LEDGER_JOB_TIMEOUT": "1"})
    assert rescuer.returncode == 0, err
    job = fresh(job_id)
    assert job.status == "done" and job.attempts == 2, (job.status, job.message)
    assert job.worker.split(":")[1] == str(rescuer.pid)
    assert job.result["imported"] == rows and job.result["duplicates"] == 0
    assert disputes() == rows
    assert db.session.scalar(select(func.count(LedgerRecord.id)).where(LedgerRecord.job_id == job_id)) == rows
    assert files(job_id) == {"report"}
    assert list(work.iterdir()) == []  # the dead worker's scratch copy is purged as well


def test_a_stopping_worker_puts_its_job_back_at_once(app, world, web, tmp_path, other_app):
    web.login("center_b")
    job_id = job_id_of(web_upload(web, big_ledger(tmp_path, 1500)))
    db.session.commit()
    worker = jobs.JobWorker(other_app(LEDGER_JOB_POLL=0.1), name="stopping").start()
    try:
        wait_for(lambda: (jobs._LIVE.get(job_id) or ("", 0, None))[1] > 0, what="the job to make progress")
    finally:
        worker.stop()
    job = fresh(job_id)
    assert (job.status, job.worker, job.attempts, job.stage) == ("queued", None, 0, "排队")
    assert disputes() == 0 and files(job_id) == {"upload"}
    assert in_thread(jobs.JobWorker(other_app(), name="next").run_once) == 1
    job = fresh(job_id)
    assert (job.status, job.attempts, job.result["imported"]) == ("done", 1, 1500)


# --- files ------------------------------------------------------------------------------------------------------


def test_the_upload_is_kept_for_its_days_then_purged_and_results_later(app, world, web, tmp_path, other_app):
    web.login("center_b")
    path = write_ledger(
        tmp_path / "mixed.xlsx", [case("M-1"), case("M-2", 属地="没有这个地方")], [party("M-1"), party("M-2")]
    )
    job_id = job_id_of(web_upload(web, path, partial=True))
    config = {"LEDGER_UPLOAD_KEEP_DAYS": 2, "LEDGER_RESULT_KEEP_DAYS": 7}
    assert in_thread(jobs.JobWorker(other_app(**config)).run_once) == 1
    assert files(job_id) == {"upload", "rejects", "report"}
    app.config.update(config)
    start = fresh(job_id).finished_at
    try:
        clock.set(start + timedelta(days=1))
        in_thread(jobs.JobWorker(other_app(**config)).run_once)
        assert files(job_id) == {"upload", "rejects", "report"}
        clock.set(start + timedelta(days=2, minutes=1))
        in_thread(jobs.JobWorker(other_app(**config)).run_once)
        assert files(job_id) == {"rejects", "report"}
        html = web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True)
        assert "下载错误行" in html and "已清除" not in html
        clock.set(start + timedelta(days=7, minutes=1))
        in_thread(jobs.JobWorker(other_app(**config)).run_once)
        assert files(job_id) == set()
    finally:
        clock.reset()
    html = web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True)
    assert "结果文件只保留 7 天，已清除" in html and "下载错误行" not in html
    assert "台账部分导入" in html  # the summary itself stays
    assert web.client.get(f"/ledger/jobs/{job_id}/rejects").status_code == 404
    db.session.rollback()


def test_no_page_or_answer_shows_a_server_path(app, world, web, tmp_path, other_app):
    web.login("center_b")
    path = write_ledger(
        tmp_path / "mixed.xlsx", [case("M-1"), case("M-2", 属地="没有这个地方")], [party("M-1"), party("M-2")]
    )
    job_id = job_id_of(web_upload(web, path, partial=True))
    in_thread(jobs.JobWorker(other_app()).run_once)
    pages = [
        web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True),
        web.client.get(f"/ledger/jobs/{job_id}/progress").get_data(as_text=True),
        web.client.get(f"/ledger/jobs/{job_id}/report").get_data().decode("utf-8-sig"),
        web.client.get("/ledger/").get_data(as_text=True),
    ]
    db.session.rollback()
    assert "错误行已另存为工作簿" in pages[0]  # named, never with a path
    for text in pages:
        assert str(tmp_path) not in text and jobs.WORK_PREFIX not in text and app.instance_path not in text
    rejects = web.client.get(f"/ledger/jobs/{job_id}/rejects")
    assert rejects.status_code == 200 and "mixed-" in rejects.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(rejects.get_data()), read_only=True)
    assert [r[0] for r in wb["纠纷"].iter_rows(min_row=2, values_only=True)] == ["M-2"]
    db.session.rollback()


def test_large_files_are_stored_in_chunks_and_read_back_whole(app, world):
    job_id = queue_export(world)
    payload = os.urandom(jobs.CHUNK * 2 + 12345)
    jobs.store_file(job_id, jobs.EXPORT, io.BytesIO(payload))
    db.session.commit()
    assert jobs.file_names(job_id) == {"export"}
    stream = jobs.open_file(job_id, jobs.EXPORT)
    assert stream.read() == payload
    assert jobs.open_file(job_id, jobs.REJECTS) is None


def test_the_page_explains_a_long_wait_in_the_queue(app, world, web):
    web.login("center_b")
    r = web.client.post(
        "/ledger/export", data={"csrf_token": web.csrf("/ledger/"), "node": world.town_b.code}
    )
    job_id = job_id_of(r)
    assert web.client.get(f"/ledger/jobs/{job_id}/progress").get_json()["note"] is None
    try:
        clock.set(fresh(job_id).created_at + timedelta(minutes=3))  # no worker has taken it
        progress = web.client.get(f"/ledger/jobs/{job_id}/progress").get_json()
        html = web.client.get(f"/ledger/jobs/{job_id}").get_data(as_text=True)
    finally:
        clock.reset()
    assert progress["status"] == "queued" and progress["note"] == jobs.QUEUED_LONG_NOTE
    assert jobs.QUEUED_LONG_NOTE in html
    db.session.rollback()
