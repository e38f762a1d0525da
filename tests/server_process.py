"""The app under gunicorn as a real subprocess (its own process group) on a free loopback port.

    server = ServerProcess(database_url, log_dir=tmp_path).start()   # waits until it answers
    server.url                  # http://127.0.0.1:PORT (a new port on every start)
    server.kill()               # kill -9 of the master and every worker (the process group)
    server.terminate()          # SIGTERM, then SIGKILL if it does not stop in time
    server.start()              # again, after a kill or a terminate

The command line is deploy/gunicorn.conf.py's production settings with the test's port, worker count
and timeouts. Readiness: ``GET /healthz`` answers 200 (or, in a tree without /healthz, ``GET /login`` does). The
fixture ``gunicorn_server`` is a factory whose servers are always killed at the end of the test.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pg_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
APP = "mediation:create_app()"
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def http_get(url: str, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class ServerProcess:
    def __init__(
        self,
        database_url: str,
        *,
        log_dir: Path,
        workers: int = 2,
        threads: int = 4,
        env: dict | None = None,
        timeout: int = 30,
    ):
        self.database_url = database_url
        self.log_dir = Path(log_dir)
        self.workers = workers
        self.threads = threads
        self.extra_env = env or {}
        self.worker_timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.health_path = "/healthz"  # "/login" when the app has no /healthz
        self.port = 0
        self.starts = 0
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"gunicorn-{self.starts}.log"

    def env(self) -> dict:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "fault-test-secret",
            "SCHEDULER_MODE": "external",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        for name in ("FLASK_DEBUG", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "TEST_DATABASE_URL"):
            env.pop(name, None)
        return env

    def start(self, ready_timeout: float = 30.0) -> ServerProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self.port = free_port()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in _reap
        # The production settings (deploy/gunicorn.conf.py), with the test's port and sizes. --preload:
        # the app is built once in the master and the workers fork from it (a faster start; the
        # app opens no database connection while it is built).
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            *(["--config", str(CONFIG)] if CONFIG.exists() else []),
            "--workers",
            str(self.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(self.threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            str(self.worker_timeout),
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            "--preload",
            APP,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self.wait_ready(ready_timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        self.health_path = "/healthz"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                status, _ = http_get(self.url, self.health_path, timeout=2.0)
                if status == 404 and self.health_path == "/healthz":
                    self.health_path = "/login"  # a tree without the health endpoint
                    continue
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{self.log_text()}")
            time.sleep(0.1)

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)  # the master leads its own session: pgid == pid
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """kill -9 of the master and its workers at once (no graceful shutdown, no answer sent)."""
        self._signal_group(signal.SIGKILL)
        self._reap()

    def terminate(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (gunicorn's graceful stop); SIGKILL if it is still there after ``timeout``."""
        if self.proc is None:
            return None
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
        code = self.proc.poll()
        self._reap()
        return code

    def _reap(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            # Workers left behind by a master that died first: same process group.
            self._signal_group(signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        texts = []
        for i in range(1, self.starts + 1):
            path = self.log_dir / f"gunicorn-{i}.log"
            if path.exists():
                texts.append(f"--- {path.name} ---\n" + path.read_text(errors="replace")[-6000:])
        return "\n".join(texts)


@pytest.fixture
def gunicorn_server(tmp_path):
    """``gunicorn_server(database_url, **options)`` starts a server; all are killed at teardown."""
    servers: list[ServerProcess] = []

    def make(database_url: str, **options) -> ServerProcess:
        server = ServerProcess(database_url, log_dir=options.pop("log_dir", tmp_path), **options)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.kill()
