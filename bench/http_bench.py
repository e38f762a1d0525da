"""Registrations over HTTP on gunicorn + PostgreSQL, next to the framework floor (GET /api/v1/ping).

    python bench/http_bench.py --database-url URL [--clients 1,8,32] [--seconds 10] [--workers 4]

Normally started by ``bench/run_http_bench.sh``, which also provides a private PostgreSQL server.

Set-up, all through the ordinary commands: ``flask db upgrade`` on the (empty) database, then
``flask db check`` (the migration must match the models), ``flask demo --disputes N`` (tree,
units, demo users and a few cases), ``flask user create`` for one 网格员 in each of ``--units``
grids, ``flask user token`` for each of them and for the demo's 调解员 ``tiaojieyuan``. Then
``gunicorn -c deploy/gunicorn.conf.py`` on a free loopback port with ``--workers`` workers.

Scenarios, each at every ``--clients`` level (Python threads, one keep-alive connection each), for
``--seconds`` after a one-second warm-up, and at most ``--max-requests`` requests per cell (with
``--repeat N`` the whole series N times over, scenarios in turns, so that each figure has N runs
taken at the same moments as its floor's):

- ``register``: ``POST /api/v1/disputes`` with a unique ``Idempotency-Key``, the clients spread
  round-robin over the grid users (each registers in its own grid, so each has its own case
  number sequence);
- ``register-1-unit``: the same, all clients as one 调解员 (one sequence row: registrations of one
  unit queue on its row lock until commit);
- ``ping``: ``GET /api/v1/ping`` as the grid users: token check, nothing else (the floor).

During each cell the CPU time of the machine, the gunicorn processes, PostgreSQL and this client
is sampled from /proc, so the table says where the time went. Afterwards the database is checked:
as many new disputes as 201 answers (and the very ids and case numbers answered), one idempotency
record each, case numbers unique and gapless per unit and year, matching the unit's sequence.
Exit status 1 when any request failed or any check does not hold.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
UNITS_CSV = ROOT / "mediation" / "demo_data" / "units.csv"
ONE_UNIT_USER = "tiaojieyuan"  # demo 调解员 of 双港镇人民调解委员会 (120116100000-TW)
ONE_UNIT_TOWN = "120116100"  # … who registers in the grids of 双港镇
TICK = os.sysconf("SC_CLK_TCK")
SHANGHAI = ZoneInfo("Asia/Shanghai")

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文雷"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国海燕志峰春梅晓东云飞雪松林波宁辉文博宇浩然思源欣怡子涵雨轩佳琪梓萱一鸣嘉怡俊杰天佑"
CATEGORIES = ("邻里", "婚姻家庭", "物业", "合同", "债务", "房屋宅基地", "损害赔偿", "消费")
SOURCES = ("网格员排查", "群众来访", "12345热线")


# ---------------------------------------------------------------------------------------------
# Set-up through the flask commands
# ---------------------------------------------------------------------------------------------


def flask_env(database_url: str, signing_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            # No certificate: production refuses to start with demo certificates (and none is needed
            # to register), so not the instance folder's signing/, where a demo may have left some.
            "SIGNING_DIR": str(signing_dir),
            "MEDIATION_ENV": "production",
            "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_hex(32),
            "PUBLIC_URL": env.get("PUBLIC_URL") or "http://127.0.0.1",  # required in production
            "SCHEDULER_MODE": "external",  # no scheduler inside the web workers (as in production)
            "FLASK_APP": "mediation",
        }
    )
    return env


def flask(env: dict, *args: str, timeout: float = 600) -> str:
    proc = subprocess.run(
        ["flask", "--app", "mediation", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"flask {' '.join(args[:2])} failed (exit {proc.returncode})")
    return proc.stdout


def grid_units(count: int) -> list[tuple[str, str]]:
    """``count`` grid units (code, node code) spread over the demo's towns."""
    with UNITS_CSV.open(encoding="utf-8-sig") as f:
        grids = [row["代码"] for row in csv.DictReader(f) if row["代码"].endswith("-WG")]
    if count > len(grids):
        raise SystemExit(f"--units: the demo has {len(grids)} grids")
    step = len(grids) / count
    chosen = [grids[int(i * step)] for i in range(count)]
    return [(code, code.removesuffix("-WG")) for code in chosen]


def town_grid_nodes(prefix: str) -> list[str]:
    with UNITS_CSV.open(encoding="utf-8-sig") as f:
        return [
            row["所属节点代码"]
            for row in csv.DictReader(f)
            if row["代码"].endswith("-WG") and row["所属节点代码"].startswith(prefix)
        ]


def set_up(env: dict, args) -> dict:
    import psycopg

    with psycopg.connect(libpq_url(args.database_url)) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()[0]
    if tables:
        raise SystemExit(
            f"The database has {tables} tables: the benchmark needs a fresh, empty database "
            "(its checks and the unique party names assume one)."
        )
    t0 = time.perf_counter()
    print("flask db upgrade …", flush=True)
    flask(env, "db", "upgrade")
    print("flask db check …", flush=True)
    proc = subprocess.run(
        ["flask", "--app", "mediation", "db", "check"],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
        raise SystemExit(
            "The migration does not match the models (flask db check): the schema is stale. "
            "Regenerate or wait for the new migration, then run again."
        )
    print(f"flask demo --disputes {args.demo_disputes} …", flush=True)
    # The demo signs its agreements with demo certificates, which production refuses: it loads in
    # development mode, its certificates in a folder of their own that the server does not read.
    demo_signing = Path(env["SIGNING_DIR"]).with_name("demo-signing")
    demo_env = dict(env, MEDIATION_ENV="development", SIGNING_DIR=str(demo_signing))
    flask(demo_env, "demo", "--disputes", str(args.demo_disputes))
    users = []
    for i, (unit_code, node_code) in enumerate(grid_units(args.units), 1):
        username = f"bench_grid{i}"
        flask(
            env,
            "user",
            "create",
            username,
            "--role",
            "grid",
            "--unit",
            unit_code,
            "--password",
            "Bench-" + secrets.token_urlsafe(12),
            "--name",
            f"压测网格员{i}",
        )
        token = flask(env, "user", "token", username).strip().splitlines()[-1]
        users.append({"username": username, "token": token, "nodes": [node_code]})
    one = flask(env, "user", "token", ONE_UNIT_USER).strip().splitlines()[-1]
    print(f"set-up done in {time.perf_counter() - t0:.0f} s", flush=True)
    return {
        "grid": users,
        "one": [{"username": ONE_UNIT_USER, "token": one, "nodes": town_grid_nodes(ONE_UNIT_TOWN)}],
    }


# ---------------------------------------------------------------------------------------------
# gunicorn
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env: dict, workers: int, log_path: Path, extra: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    log = log_path.open("w")
    proc = subprocess.Popen(
        ["gunicorn", "-c", "deploy/gunicorn.conf.py", *extra, "mediation:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200 and len(children(proc.pid)) >= workers:
                conn.close()
                return proc, port
            conn.close()
        except OSError:
            pass
        time.sleep(0.5)
    stop_gunicorn(proc)
    raise SystemExit(f"gunicorn did not answer /healthz within 120 s; see {log_path}")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# CPU accounting from /proc
# ---------------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from "state" on (field 3)


def _ppids() -> dict[int, int]:
    result = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st:
                result[int(entry)] = int(st[1])
    return result


def children(pid: int) -> list[int]:
    return [p for p, pp in _ppids().items() if pp == pid]


def tree_ticks(root: int) -> int:
    """CPU ticks of a process, its reaped children (cutime) and its live descendants."""
    ppids = _ppids()
    todo, total = [root], 0
    while todo:
        pid = todo.pop()
        st = _stat(pid)
        if st:
            total += int(st[11]) + int(st[12])  # utime, stime
            if pid == root:
                total += int(st[13]) + int(st[14])  # cutime, cstime: children that have exited
        todo.extend(p for p, pp in ppids.items() if pp == pid)
    return total


def backend_ticks(database: str) -> int:
    """CPU ticks of the PostgreSQL backends connected to ``database`` (process title
    "postgres: user database host(port) state"): on a shared server, only our share."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                title = (
                    Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
            words = title.split()
            if len(words) >= 3 and words[0] == "postgres:" and words[2] == database:
                st = _stat(int(entry))
                if st:
                    total += int(st[11]) + int(st[12])
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return total - idle, total


@dataclass
class CpuSample:
    at: float
    busy: int
    total: int
    server: int
    db: int
    client: float

    @classmethod
    def take(cls, server_pid: int, pg_pid: int | None, database: str) -> CpuSample:
        busy, total = machine_ticks()
        db_ticks = tree_ticks(pg_pid) if pg_pid else backend_ticks(database)
        return cls(time.monotonic(), busy, total, tree_ticks(server_pid), db_ticks, time.process_time())

    def cores_since(self, start: CpuSample) -> dict:
        wall = self.at - start.at
        ncpu = os.cpu_count() or 1
        machine = (self.busy - start.busy) / max(1, self.total - start.total) * ncpu
        server = (self.server - start.server) / TICK / wall
        db = (self.db - start.db) / TICK / wall
        client = (self.client - start.client) / wall
        return {
            "machine": machine,
            "server": server,
            "db": db,
            "client": client,
            "other": max(0.0, machine - server - db - client),
        }


# ---------------------------------------------------------------------------------------------
# The load
# ---------------------------------------------------------------------------------------------


def id_number(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 20000))
    first17 = f"120116{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


class Payloads:
    """Registration bodies with parties whose names do not repeat (as in real life, mostly), so
    the duplicate-registration check finds nothing and costs the same throughout the run."""

    def __init__(self, seed: int):
        self._lock = threading.Lock()
        self._n = 0
        self._rng = random.Random(seed)
        self._today = datetime.now(SHANGHAI).date()  # the server counts dates in Shanghai time

    def _name(self, n: int) -> str:
        g = len(GIVEN)
        return (
            SURNAMES[n % len(SURNAMES)]
            + GIVEN[(n // len(SURNAMES)) % g]
            + GIVEN[(n // len(SURNAMES) // g) % g]
        )

    def next(self, node: str) -> bytes:
        with self._lock:
            self._n += 1
            n = self._n
            ident = id_number(self._rng)
        body = {
            "category": CATEGORIES[n % len(CATEGORIES)],
            "source": SOURCES[n % len(SOURCES)],
            "summary": f"压测登记第{n}件：双方因相邻关系发生争执，网格员现场了解情况后登记。",
            "node": node,
            "risk_level": "一般",
            "venue": "家庭",
            "people_count": 2,
            "amount": f"{1000 + n % 9000}.00",
            "occurred_on": (self._today - timedelta(days=3)).isoformat(),
            "parties": [
                {
                    "role": "申请人",
                    "kind": "自然人",
                    "name": self._name(2 * n),
                    "id_number": ident,
                    "phone": f"138{n % 100_000_000:08d}",
                    "address": f"压测小区{n % 97 + 1}号楼",
                },
                {"role": "被申请人", "kind": "自然人", "name": self._name(2 * n + 1)},
            ],
        }
        return json.dumps(body, ensure_ascii=False).encode()


@dataclass
class Cell:
    scenario: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # what went wrong, with a sample of the answer
    wall: float = 0.0
    cpu: dict = field(default_factory=dict)
    restarts: int = 0  # gunicorn workers recycled (max_requests) during the cell
    run: int = 1  # which of the --repeat series

    @property
    def ok(self) -> int:
        return self.statuses[201 if self.scenario.startswith("register") else 200]

    @property
    def errors(self) -> int:
        return (
            sum(self.statuses.values())
            - self.ok
            + sum(n for what, n in self.failures.items() if not what.startswith("HTTP "))
        )

    def cpu_ms(self, who: str) -> float:
        """CPU milliseconds per answered request."""
        n = len(self.latencies)
        return self.cpu[who] * self.wall * 1000 / n if n else float("nan")

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        if not xs:
            return float("nan")
        return xs[min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))] * 1000


class Load:
    def __init__(self, port: int, users: dict, payloads: Payloads):
        self.port = port
        self.users = users
        self.payloads = payloads
        self.created: dict[int, str] = {}  # id → case_no of every 201, warm-ups included
        self.created_count = 0
        self.lock = threading.Lock()
        self.stop_at = 0.0

    def _client(
        self,
        scenario: str,
        user: dict,
        offset: int,
        quota: int,
        out: Cell | None,
        ready: threading.Barrier,
        go: threading.Event,
    ) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        auth = {"Authorization": f"Bearer {user['token']}"}
        nodes = user["nodes"]
        register = scenario.startswith("register")
        ready.wait()
        go.wait()
        stop_at, done = self.stop_at, 0
        while done < quota and time.perf_counter() < stop_at:
            done += 1
            if register:
                body = self.payloads.next(nodes[(offset + done) % len(nodes)])
                headers = {
                    **auth,
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"bench-{uuid.uuid4()}",
                }
                method, path = "POST", "/api/v1/disputes"
            else:
                body, headers, method, path = None, auth, "GET", "/api/v1/ping"
            t = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as err:
                conn.close()  # the next request opens a new connection
                if out is not None:
                    with self.lock:
                        out.failures[f"{type(err).__name__}: {err}"[:200]] += 1
                continue
            elapsed = time.perf_counter() - t
            status = resp.status
            if register and status == 201:
                got = json.loads(data)
                with self.lock:
                    self.created[got["id"]] = got["case_no"]
                    self.created_count += 1
                if resp.getheader("Idempotent-Replayed"):
                    status = -201  # a fresh key answered as a replay would be a bug
            if out is not None:
                with self.lock:
                    out.latencies.append(elapsed)
                    out.statuses[status] += 1
                    if status not in (200, 201):
                        out.failures[f"HTTP {status}: {data[:200].decode(errors='replace')}"] += 1
        conn.close()

    def run(
        self,
        scenario: str,
        clients: int,
        seconds: float,
        max_requests: int,
        out: Cell | None = None,
        cpu=None,
    ) -> None:
        pool = self.users["one"] if scenario == "register-1-unit" else self.users["grid"]
        quota = max(1, -(-max_requests // clients))
        ready, go = threading.Barrier(clients + 1), threading.Event()
        threads = [
            threading.Thread(
                target=self._client,
                daemon=True,
                args=(scenario, pool[i % len(pool)], i // len(pool), quota, out, ready, go),
            )
            for i in range(clients)
        ]
        for th in threads:
            th.start()
        ready.wait(timeout=60)
        before = cpu() if cpu else None
        t0 = time.perf_counter()
        self.stop_at = t0 + seconds
        go.set()
        for th in threads:
            th.join(timeout=seconds + 120)
        if any(th.is_alive() for th in threads):
            raise SystemExit("a client thread did not finish (a request hung for over 60 s)")
        if out is not None:
            out.wall = time.perf_counter() - t0
            if cpu:
                out.cpu = cpu().cores_since(before)


# ---------------------------------------------------------------------------------------------
# Checks on the database afterwards
# ---------------------------------------------------------------------------------------------

CASE_NO = re.compile(r"（(\d{4})）.*第(\d+)号$")


def libpq_url(url: str) -> str:
    return re.sub(r"^postgresql\+psycopg://", "postgresql://", url)


def db_state(url: str) -> dict:
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        return {
            "max_id": conn.execute("SELECT coalesce(max(id), 0) FROM dispute").fetchone()[0],
            "count": conn.execute("SELECT count(*) FROM dispute").fetchone()[0],
        }


def verify(url: str, before: dict, load: Load, ok_total: int) -> list[tuple[str, bool, str]]:
    import psycopg

    checks = []
    with psycopg.connect(libpq_url(url)) as conn:
        new = dict(
            conn.execute("SELECT id, case_no FROM dispute WHERE id > %s", (before["max_id"],)).fetchall()
        )
        count = conn.execute("SELECT count(*) FROM dispute").fetchone()[0]
        checks.append(
            (
                "new disputes in the database = 201 answers",
                count - before["count"] == len(new) == load.created_count,
                f"{count - before['count']} new rows, {load.created_count} answers 201 "
                f"({ok_total} in the measured cells, the rest in warm-ups)",
            )
        )
        checks.append(
            (
                "the very ids and case numbers answered are the ones stored",
                new == load.created,
                f"{len(set(new.items()) ^ set(load.created.items()))} differences",
            )
        )
        idem = conn.execute(
            "SELECT count(*), count(DISTINCT key) FROM idempotency_record WHERE dispute_id > %s",
            (before["max_id"],),
        ).fetchone()
        checks.append(
            (
                "one idempotency record per registration",
                idem[0] == idem[1] == len(new),
                f"{idem[0]} records, {idem[1]} distinct keys",
            )
        )
        events = conn.execute(
            "SELECT count(*) FROM event WHERE type = 'registered' AND dispute_id > %s", (before["max_id"],)
        ).fetchone()[0]
        parties = conn.execute(
            "SELECT count(*) FROM party WHERE dispute_id > %s", (before["max_id"],)
        ).fetchone()[0]
        checks.append(
            (
                "one 'registered' event and two parties each",
                events == len(new) and parties == 2 * len(new),
                f"{events} events, {parties} parties",
            )
        )
        dup = conn.execute(
            "SELECT count(*) FROM (SELECT case_no FROM dispute GROUP BY case_no HAVING count(*) > 1) x"
        ).fetchone()[0]
        checks.append(("case numbers unique", dup == 0, f"{dup} duplicated"))
        seqs: dict[tuple[int, int], list[int]] = defaultdict(list)
        unparsed = 0
        for unit_id, case_no in conn.execute("SELECT registering_unit_id, case_no FROM dispute"):
            m = CASE_NO.search(case_no)
            if not m:
                unparsed += 1
                continue
            seqs[(unit_id, int(m.group(1)))].append(int(m.group(2)))
        last = {(u, y): n for u, y, n in conn.execute("SELECT unit_id, year, last FROM case_sequence")}
        bad = [
            (k, len(v), last.get(k))
            for k, v in seqs.items()
            if sorted(v) != list(range(1, len(v) + 1)) or last.get(k) != len(v)
        ]
        checks.append(
            (
                "case numbers gapless per unit and year, ending at the unit's sequence",
                not bad and not unparsed,
                f"{len(seqs)} unit-years checked, {len(bad)} with gaps or a different sequence, "
                f"{unparsed} unparsed" + (f"; e.g. {bad[:3]}" if bad else ""),
            )
        )
    return checks


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def fmt_ms(x: float) -> str:
    return f"{x:,.0f} ms" if x >= 100 else f"{x:.1f} ms"


def machine_line(pg_version: str, args) -> str:
    mem_kb = int(
        next(
            line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        ).split()[1]
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    import gunicorn

    extra = f" with {' '.join(args.gunicorn_arg)}" if args.gunicorn_arg else ""
    return (
        f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}, {model}), "
        f"{mem_kb / 1024 / 1024:.0f} GB RAM, Python {platform.python_version()}, gunicorn {gunicorn.__version__} "
        f"({args.workers} gthread workers × {os.environ.get('GUNICORN_THREADS', '2')} threads, "
        f"deploy/gunicorn.conf.py{extra}), {pg_version}"
    )


def pg_settings(url: str) -> str:
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        values = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("fsync", "synchronous_commit", "wal_sync_method", "shared_buffers")
        }
    return f"PostgreSQL {version} (" + ", ".join(f"{k}={v}" for k, v in values.items()) + ")"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        required=True,
        help="an empty PostgreSQL database, e.g. postgresql+psycopg://mediation@127.0.0.1:55433/bench_http",
    )
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels (comma-separated)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per cell")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="warm-up time before each cell (not counted)"
    )
    parser.add_argument("--max-requests", type=int, default=50_000, help="upper bound of requests per cell")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument(
        "--units", type=int, default=8, help="grid users (each with its own unit) for 'register'"
    )
    parser.add_argument("--demo-disputes", type=int, default=100, help="demo cases loaded before the run")
    parser.add_argument("--scenarios", default="register,register-1-unit,ping")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the whole series of cells this many times, in turns"
    )
    parser.add_argument(
        "--pg-pid",
        type=int,
        default=None,
        help="postmaster pid of a private server: count all of its CPU (default: only the "
        "backends connected to the benchmark's database)",
    )
    parser.add_argument(
        "--gunicorn-arg",
        action="append",
        default=[],
        help="extra gunicorn option over deploy/gunicorn.conf.py, e.g. --gunicorn-arg=--preload "
        "or --gunicorn-arg=--max-requests=0 (repeatable)",
    )
    parser.add_argument("--log", default="/tmp/http_bench_gunicorn.log", help="gunicorn's output")
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    scenarios = [s.strip() for s in args.scenarios.split(",")]
    for s in scenarios:
        if s not in ("register", "register-1-unit", "ping"):
            parser.error(f"unknown scenario {s}")
    if not all(0 < n <= 256 for n in levels) or not 0 < args.seconds <= 600:
        parser.error("1 … 256 clients and 0 … 600 seconds per cell")
    if not 0 < args.repeat <= 100:
        parser.error("--repeat 1 … 100")

    scratch = Path(tempfile.mkdtemp(prefix="http-bench-"))
    atexit.register(shutil.rmtree, scratch, True)
    (scratch / "signing").mkdir()
    env = flask_env(args.database_url, scratch / "signing")
    users = set_up(env, args)
    before = db_state(args.database_url)
    load_before = os.getloadavg()[0]
    server, port = start_gunicorn(env, args.workers, Path(args.log), args.gunicorn_arg)
    cells: list[Cell] = []
    try:
        load = Load(port, users, Payloads(seed=20261101))
        database = args.database_url.rsplit("/", 1)[-1].split("?")[0]
        sample = lambda: CpuSample.take(server.pid, args.pg_pid, database)  # noqa: E731
        log = Path(args.log)

        def restarts() -> int:
            return log.read_text(errors="replace").count("Autorestarting worker")

        series = [(run, s, n) for run in range(1, args.repeat + 1) for s in scenarios for n in levels]
        for run, scenario, clients in series:
            load.run(scenario, clients, args.warmup, args.max_requests)
            cell, before_restarts = Cell(scenario, clients, run=run), restarts()
            load.run(scenario, clients, args.seconds, args.max_requests, cell, sample)
            time.sleep(0.2)  # let gunicorn write its log
            cell.restarts = restarts() - before_restarts
            cells.append(cell)
            c = cell.cpu
            print(
                f"{f'[{run}] ' if args.repeat > 1 else ''}"
                f"{scenario:>16} × {clients:>3}: {len(cell.latencies) / cell.wall:8.1f}/s  "
                f"p50 {cell.pct(0.5):7.1f} ms  p99 {cell.pct(0.99):7.1f} ms  errors {cell.errors}  "
                f"CPU/request {cell.cpu_ms('server'):.1f} + {cell.cpu_ms('db'):.1f} ms  "
                f"cores: machine {c['machine']:.2f}, gunicorn {c['server']:.2f}, PostgreSQL {c['db']:.2f}, "
                f"client {c['client']:.2f}, other {c['other']:.2f}; worker restarts {cell.restarts}",
                flush=True,
            )
    finally:
        stop_gunicorn(server)
    total_restarts = Path(args.log).read_text(errors="replace").count("Autorestarting worker")
    ok_total = sum(c.ok for c in cells if c.scenario.startswith("register"))
    checks = (
        verify(args.database_url, before, load, ok_total)
        if any(s.startswith("register") for s in scenarios)
        else []
    )

    pg = pg_settings(args.database_url)
    print()
    print(
        f"Machine: {machine_line(pg, args)}; load average before the run "
        f"{load_before:.2f}. Client: {__file__.rsplit('/', 1)[-1]}, Python threads on the same machine."
    )
    print()
    print(
        "| scenario | clients | requests | req/s | p50 | p99 | errors | CPU per request: gunicorn + PostgreSQL "
        "| cores busy: machine / gunicorn / PostgreSQL / client / other | worker restarts |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    names = {
        "register": f"POST /api/v1/disputes ({args.units} unit{'s' if args.units > 1 else ''})",
        "register-1-unit": "POST /api/v1/disputes (1 unit)",
        "ping": "GET /api/v1/ping (floor)",
    }
    for cell in cells:
        c = cell.cpu
        print(
            f"| {names[cell.scenario]}{f', run {cell.run}' if args.repeat > 1 else ''} | {cell.clients} "
            f"| {len(cell.latencies):,} "
            f"| {fmt_rate(len(cell.latencies) / cell.wall)} | {fmt_ms(cell.pct(0.5))} | {fmt_ms(cell.pct(0.99))} "
            f"| {cell.errors} | {cell.cpu_ms('server'):.1f} + {cell.cpu_ms('db'):.1f} ms "
            f"| {c['machine']:.2f} / {c['server']:.2f} / {c['db']:.2f} / {c['client']:.2f} / "
            f"{c['other']:.2f} | {cell.restarts} |"
        )
    print()
    print(f"gunicorn worker restarts (max_requests) during the run, warm-ups included: {total_restarts}")
    failed = False
    for cell in cells:
        for what, n in cell.failures.most_common(5):
            failed = True
            print(f"  {cell.scenario} × {cell.clients}: {n} × {what}")
    for name, ok, detail in checks:
        failed |= not ok
        print(f"check {'OK  ' if ok else 'FAIL'} {name}: {detail}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine_line(pg, args),
                    "restarts": total_restarts,
                    "cells": [
                        {
                            "scenario": c.scenario,
                            "clients": c.clients,
                            "requests": len(c.latencies),
                            "rps": len(c.latencies) / c.wall,
                            "p50_ms": c.pct(0.5),
                            "p99_ms": c.pct(0.99),
                            "errors": c.errors,
                            "cpu_cores": c.cpu,
                            "restarts": c.restarts,
                            "run": c.run,
                            "cpu_ms_per_request": {
                                "gunicorn": c.cpu_ms("server"),
                                "postgresql": c.cpu_ms("db"),
                            },
                        }
                        for c in cells
                    ],
                    "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
