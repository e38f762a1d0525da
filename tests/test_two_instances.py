"""The web tier is stateless: two gunicorn instances (different ports, the same database, the production
settings of deploy/gunicorn.conf.py and MEDIATION_ENV=production) serve one user alternately, over real
HTTP, with a real 台账 worker process. Nothing a request needs lives in one instance's memory or folder:
the session is a database row behind a cookie signed with the shared SECRET_KEY (CSRF too), the upload
and the job are rows, the worker is another process, tokens and sign-in failures are rows.

Runs on SQLite (one file shared by the processes of one machine, WAL) and on PostgreSQL
(TEST_DATABASE_URL). README "Running more than one instance" says what must be shared."""

from __future__ import annotations

import http.client
import io
import json
import re
import signal
import subprocess
import sys
import threading
import tokenize
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from mediation import create_app
from mediation.accounts.models import ApiToken, hash_token
from mediation.config import build_config
from mediation.demo.small import PASSWORD, dispute_payload
from mediation.extensions import db
from mediation.ledger.models import LedgerJob
from tests.server_process import ROOT, ServerProcess
from tests.test_jobs_durable import cli_env, run_cli, small_ledger, wait_for
from tests.test_migrations import _diff, fresh_url  # noqa: F401  (fixture)

PUBLIC = "https://tiaojie.example.gov.cn"
NEW_PASSWORD = "Xq7-two-instances"


@pytest.fixture
def production(db_url, tmp_path) -> dict:
    """The environment every process of the deployment shares (deploy/env.example): production mode,
    one SECRET_KEY, one PUBLIC_URL, one database; signing material and scratch space configured."""
    return {
        "MEDIATION_ENV": "production",
        "SECRET_KEY": "shared-" + uuid.uuid4().hex * 2,
        "PUBLIC_URL": PUBLIC,
        "DATABASE_URL": db_url,
        "SIGNING_DIR": str(tmp_path / "signing"),  # no demo certificate: production starts
        "LEDGER_WORK_DIR": str(tmp_path / "work"),
        "LEDGER_JOB_POLL": "0.2",
    }


@pytest.fixture
def start_two(world, production, tmp_path):
    """``start_two(**env)``: instances A and B, started side by side after the world is in the
    database, with the production environment (and ``env``); killed at the end of the test."""
    servers = []

    def start(**env) -> list[ServerProcess]:
        db.session.commit()  # SQLite: the test holds no lock while the servers start
        pair = [
            ServerProcess(
                production["DATABASE_URL"],
                log_dir=tmp_path / name,
                workers=1,
                threads=2,
                env={**production, **env},
            )
            for name in ("a", "b")
        ]
        for server in pair:
            server.log_dir.mkdir()
            servers.append(server)
        with ThreadPoolExecutor(2) as pool:
            for started in [pool.submit(server.start) for server in pair]:
                started.result()
        assert pair[0].port != pair[1].port
        return pair

    try:
        yield start
    finally:
        for server in servers:
            server.kill()


@pytest.fixture
def two(start_two):
    return start_two()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Browser:
    """One user's browser: its cookies go with every request, to whichever instance it asks (as behind a
    load balancer without sticky sessions). Cookies are kept by hand: the production session cookie is
    Secure and these servers speak plain HTTP on loopback."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, server, method: str, path: str, body: bytes | None = None, headers=None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            conn.close()
        for raw in reply.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if not morsel.value or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, server, path: str, headers=None) -> Reply:
        return self.request(server, "GET", path, headers=headers)

    def post(self, server, path: str, fields: dict, headers=None) -> Reply:
        body = urlencode(fields).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request(server, "POST", path, body, sent)

    def csrf(self, server, path: str) -> str:
        reply = self.get(server, path)
        assert reply.status == 200, (path, reply.status, reply.text[:300])
        match = re.search(r'name="csrf_token" value="([^"]+)"', reply.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def sign_in(self, server, username: str, password: str = PASSWORD, headers=None) -> Reply:
        token = self.csrf(server, "/login")
        fields = {"username": username, "password": password, "csrf_token": token}
        return self.post(server, "/login", fields, headers)

    def upload(self, server, path: Path, csrf_token: str) -> Reply:
        boundary = uuid.uuid4().hex
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_token}\r\n'.encode(),
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="ledger.xlsx"\r\n'.encode(),
                b"Content-Type: application/octet-stream\r\n\r\n",
                path.read_bytes(),
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        return self.request(
            server,
            "POST",
            "/ledger/import",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )


def signed_in(browser: Browser, server) -> bool:
    """The cookie opens a staff page on this instance (else: a redirect to the sign-in form)."""
    reply = browser.get(server, "/ledger/")
    if reply.status == 302:
        assert "/login" in reply.location, reply.location
        return False
    assert reply.status == 200, reply.status
    return True


def api_status(server, token: str) -> int:
    return Browser().get(server, "/api/v1/disputes", headers={"Authorization": f"Bearer {token}"}).status


def job_of(reply: Reply) -> int:
    assert reply.status == 302, (reply.status, reply.text[:500])
    match = re.search(r"/ledger/jobs/(\d+)$", reply.location)
    assert match, reply.location
    return int(match.group(1))


def test_one_user_alternates_between_two_instances(two, world, production, tmp_path):
    a, b = two
    user = Browser()

    # Signed in on A (the form with its CSRF token), the same cookie opens pages on B.
    reply = user.sign_in(a, "center_b")
    assert reply.status == 302, reply.text[:300]
    assert "session" in user.cookies
    worklist = user.get(b, reply.location.removeprefix("http://localhost"))
    assert worklist.status == 200 and "center_b" in worklist.text

    # A 台账 upload posted to A with the CSRF token of B's page, followed on B, run by a worker
    # process that is neither, and its result read on A and B.
    token_from_b = user.csrf(b, "/ledger/")
    job_id = job_of(user.upload(a, small_ledger(tmp_path), token_from_b))
    progress = user.get(b, f"/ledger/jobs/{job_id}/progress")
    assert progress.status == 200 and '"status":"queued"' in progress.text.replace(" ", "")
    env = cli_env(production["DATABASE_URL"], tmp_path, **production)
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "mediation", "ledger", "work"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(
                lambda: (
                    '"finished":true' in user.get(a, f"/ledger/jobs/{job_id}/progress").text.replace(" ", "")
                ),
                what="the worker process to finish the import",
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
    db.session.rollback()
    job = db.session.get(LedgerJob, job_id, populate_existing=True)
    assert (job.status, job.worker.split(":")[1]) == ("done", str(worker.pid))
    db.session.rollback()
    page = user.get(b, f"/ledger/jobs/{job_id}")
    assert page.status == 200 and "台账导入完成：新增案件 2 件、当事人 1 人。" in page.text
    report = user.get(a, f"/ledger/jobs/{job_id}/report")
    assert report.status == 200 and report.body.decode("utf-8-sig").startswith("类别,工作表,行号,列,说明")

    # An API token issued by the CLI (there is no page that issues one) works on A and on B; revoked
    # through A's page, B refuses it at once.
    proc, out, err = run_cli(["user", "token", "center_b"], env)
    assert proc.returncode == 0, err
    token = out.strip().splitlines()[-1]
    assert api_status(a, token) == 200 and api_status(b, token) == 200
    # A registration sent to A and retried on B (the answer was lost on the way) is one case.
    sent = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": "two-instances-1",
    }
    body = json.dumps(dispute_payload(world.village_b.code)).encode()
    first = Browser().request(a, "POST", "/api/v1/disputes", body, sent)
    retry = Browser().request(b, "POST", "/api/v1/disputes", body, sent)
    assert (first.status, retry.status, retry.headers["Idempotent-Replayed"]) == (201, 201, "true"), (
        retry.text
    )
    assert json.loads(retry.body)["id"] == json.loads(first.body)["id"]
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
    db.session.rollback()
    revoked = user.post(
        a, f"/account/tokens/{token_id}/revoke", {"csrf_token": user.csrf(b, "/account/tokens")}
    )
    assert revoked.status == 302
    assert api_status(b, token) == 401 and api_status(a, token) == 401

    # Signing out on B ends the session on A too, even for a copy of the cookie.
    copy = Browser()
    copy.cookies = dict(user.cookies)
    assert signed_in(copy, a)
    out_reply = user.post(b, "/logout", {"csrf_token": user.csrf(a, "/ledger/")})
    assert out_reply.status == 302 and "/login" in out_reply.location
    assert not signed_in(copy, a) and not signed_in(copy, b)


def test_a_password_change_on_one_instance_ends_the_other_sessions_on_both(two):
    a, b = two
    here, elsewhere = Browser(), Browser()
    assert here.sign_in(a, "center_b").status == 302
    assert elsewhere.sign_in(b, "center_b").status == 302
    assert signed_in(elsewhere, a) and signed_in(here, b)

    form = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        "csrf_token": here.csrf(b, "/account/password"),
    }
    assert here.post(a, "/account/password", form).status == 302
    assert not signed_in(elsewhere, a) and not signed_in(elsewhere, b)
    assert signed_in(here, a) and signed_in(here, b)  # the browser that changed it stays signed in
    # The new password works on the other instance, the old one on neither.
    assert Browser().sign_in(b, "center_b", NEW_PASSWORD).status == 302
    assert Browser().sign_in(a, "center_b").status == 401


def test_sign_in_failures_are_counted_across_both_instances(two):
    a, b = two
    attacker = Browser()
    # LOGIN_MAX_FAILURES = 5, spread over the two instances. Without PROXY_COUNT a forged
    # X-Forwarded-For is ignored: the address is the connection's.
    for i, server in enumerate((a, b, a, b, a)):
        forged = {"X-Forwarded-For": f"10.0.0.{i}"}
        assert attacker.sign_in(server, "mediator_b", "wrong-password", forged).status == 401
    # Locked on both, even with the right password and from a fresh browser.
    assert Browser().sign_in(b, "mediator_b").status == 429
    assert Browser().sign_in(a, "mediator_b").status == 429
    # Another account from the same address is not locked (the pair counts, not the address).
    assert Browser().sign_in(b, "mediator_a").status == 302


def test_behind_a_load_balancer_each_client_is_counted_by_its_own_address(start_two):
    """PROXY_COUNT=1: one proxy (the load balancer) appends the client's address to X-Forwarded-For.
    Failures count per real client across both instances; a client's forged entries (left of the
    proxy's) change nothing; a colleague behind the same load balancer is not locked out."""
    a, b = start_two(PROXY_COUNT="1")
    for i, server in enumerate((a, b, a, b, a)):
        as_proxied = {"X-Forwarded-For": f"10.0.0.{i}, 203.0.113.7"}  # forged by the client, then the LB's
        assert Browser().sign_in(server, "mediator_b", "wrong-password", as_proxied).status == 401
    client = {"X-Forwarded-For": "203.0.113.7"}
    assert Browser().sign_in(b, "mediator_b", headers=client).status == 429
    assert Browser().sign_in(a, "mediator_b", headers=client).status == 429
    colleague = {"X-Forwarded-For": "198.51.100.9"}
    assert Browser().sign_in(a, "mediator_b", headers=colleague).status == 302


def test_instances_starting_at_once_upgrade_the_schema_once(fresh_url, tmp_path):  # noqa: F811
    """Every web instance runs `flask db upgrade` as it starts (deploy/systemd/mediation-web.service):
    two starting at once on an empty database both succeed, and only one of them migrates."""
    env = cli_env(fresh_url, tmp_path)
    command = [sys.executable, "-m", "flask", "--app", "mediation", "db", "upgrade"]
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    logs = [proc.communicate(timeout=600)[1] for proc in procs]
    for proc, log in zip(procs, logs, strict=True):
        assert proc.returncode == 0, log[-3000:]
    assert sorted(log.count("Running upgrade") > 0 for log in logs) == [False, True], logs
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        assert _diff(db.engine) == []
        db.engine.dispose()


def test_processes_starting_at_once_in_development_share_one_generated_key(tmp_path, monkeypatch):
    """Development without SECRET_KEY: the key generated into the instance folder is the same for every
    process of the machine that starts at the same moment (two instances, the scheduler), or a cookie
    signed by one would be refused by the other."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("MEDIATION_ENV", raising=False)
    for attempt in range(20):
        folder = tmp_path / f"instance-{attempt}"
        folder.mkdir()
        barrier = threading.Barrier(8)

        def start(_, folder=folder, barrier=barrier) -> str:
            barrier.wait()
            return build_config(folder)["SECRET_KEY"]

        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(start, range(8)))
        assert keys == {(folder / "secret_key").read_text().strip()}, attempt
        assert sorted(p.name for p in folder.iterdir()) == ["secret_key"]


def test_one_function_names_the_client_address():
    """Every limit per client (sign-in lockout, /apply, /c/) counts the address from one function,
    `accounts.views.client_address`, which PROXY_COUNT makes the real client's behind a proxy: no other
    module reads `request.remote_addr` or X-Forwarded-For itself."""

    def code(path: Path) -> str:  # the module without its comments and docstrings
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        return " ".join(t.string for t in tokens if t.type not in (tokenize.COMMENT, tokenize.STRING))

    readers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "mediation").rglob("*.py")
        if "remote_addr" in (text := code(path)) or "X_FORWARDED" in text.upper().replace("-", "_")
    )
    assert readers == ["mediation/accounts/views.py"], readers
