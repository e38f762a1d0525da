"""A private, throw-away PostgreSQL cluster for tests that need to stop, restart or kill the server.

``initdb`` into a fresh directory under /tmp, ``pg_ctl start`` on a free loopback port with its socket
in that directory; as root the tools run as the ``postgres`` user (``runuser``), the directory being
handed to it first. The binaries are the newest ``/usr/lib/postgresql/*/bin``. Trust authentication
for the superuser ``mediation`` on 127.0.0.1 only; fsync off (the data is thrown away).

Fixture: ``pg_cluster`` (one cluster per test module, always stopped and removed at the end).
``cluster.create_database(name)`` returns a SQLAlchemy URL; ``restart()``, ``stop()``, ``start()``
and ``kill()`` (SIGKILL of the postmaster) are the faults. ``cluster.standby()`` makes a streaming
replica of it (``pg_basebackup -R``: standby.signal and primary_conninfo, hot standby) on another free
port; ``pause_replay()``, ``resume_replay()`` and ``wait_replayed(primary)`` drive the standby.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SUPERUSER = "mediation"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> Path:
    dirs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
    )
    if dirs:
        return Path(dirs[-1])
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin)")


class PgCluster:
    def __init__(self, root: Path | None = None, bindir: Path | None = None):
        self.bindir = bindir or pg_bindir()
        self.root = root or Path(tempfile.mkdtemp(prefix="mediation-fault-pg."))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]

    # -- commands -------------------------------------------------------------------------------

    def _run(
        self, tool: str, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        cmd = [*self.run_as, str(self.bindir / tool), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                f"{self.log_tail()}"
            )
        return result

    def _options(self) -> str:
        return (
            # synchronous_commit stays on (the default, as in production): with it off the WAL position
            # read just after a commit (pg_current_wal_lsn, what mediation/replica.py keeps for a web
            # user's read-your-writes, and what wait_replayed waits for) could still be before the
            # commit's record, which the WAL writer writes up to 200 ms later; the replica then looked
            # caught up without the write (tests/test_replica.py failed so under load).
            f"-k {self.root} -h 127.0.0.1 -p {self.port} -c fsync=off -c full_page_writes=off "
            "-c max_connections=100"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def init(self) -> PgCluster:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        return self

    def start(self) -> PgCluster:
        """Start the server; on the first start pick a free port (retried if someone took it)."""
        attempts = 1 if self.port else 5
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_port()
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                self._options(),
                "start",
                check=False,
                timeout=90,
            )
            if result.returncode == 0:
                return self
        raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m MODE``: the same port, every connection is cut."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            mode,
            "-w",
            "-t",
            "60",
            "-o",
            self._options(),
            "restart",
            timeout=120,
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash): the next start runs crash recovery. The orphaned
        backends notice the postmaster's death and exit; wait for them (bounded)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (Path(f"/proc/{pid}").exists() or self._backends_alive()):
            time.sleep(0.1)

    def _backends_alive(self) -> bool:
        """Any process (a zombie included) whose working directory is the data directory."""
        data = str(self.data)
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if os.readlink(proc / "cwd") == data:
                    return True
            except OSError:
                continue
        return False

    def destroy(self) -> None:
        """Stop (immediately) and remove everything; never raises."""
        try:
            if self.data.exists() and self.running():
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    "30",
                    "stop",
                    check=False,
                    timeout=60,
                )
            if self.postmaster_pid() and self.running():
                self.kill()
        except Exception:  # noqa: BLE001 - teardown must go on
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    # -- streaming replication ------------------------------------------------------------------

    def standby(self) -> PgCluster:
        """A hot standby of this (running) cluster, streaming from it, started on its own port."""
        replica = PgCluster(bindir=self.bindir)
        try:
            self._run(
                "pg_basebackup",
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-D", str(replica.data)),
                *("-R", "-X", "stream", "-c", "fast", "--no-sync"),
                timeout=120,
            )
            replica.start()
        except Exception:
            replica.destroy()
            raise
        return replica

    def pause_replay(self, timeout: float = 30) -> None:
        """Pause replay on this standby; returns once it is paused (a pause is only requested at first)."""
        deadline = time.monotonic() + timeout
        with self.connect(autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                if time.monotonic() > deadline:
                    raise TimeoutError("standby replay did not pause")
                time.sleep(0.01)

    def resume_replay(self) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def wait_replayed(self, primary: PgCluster, timeout: float = 30) -> None:
        """Until this standby has replayed everything the primary has written so far."""
        with primary.connect(autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect(autocommit=True) as conn:
            while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"standby did not replay up to {target}")
                time.sleep(0.02)

    # -- databases ------------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=dbname, connect_timeout=10, **kwargs
        )

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new, empty database (or a copy of ``template``, which must have no open connection)."""
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect() as conn:
                    conn.execute("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@pytest.fixture(scope="module")
def pg_cluster():
    cluster = PgCluster()
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.destroy()
