"""Where the CPU of a registration goes: many ``POST /api/v1/disputes`` in one process, profiled.

    python bench/profile_registration.py [--database-url URL] [--count 300] [--batches 5] [--ping]
        [--sort tottime|cumulative] [--top 45] [--dump FILE] [--sql] [--pg-stats]

Set-up as ``bench/http_bench.py`` does it, through the ordinary commands (``flask db upgrade``,
``flask demo --disputes 20``, one 网格员 with a token), on a fresh SQLite file (default) or an
empty PostgreSQL database (``--database-url``). Then, in this process, the production
application (``MEDIATION_ENV=production``) answers registrations (the http_bench bodies, a
unique Idempotency-Key each) through the Flask test client: 50 to warm up, ``--count`` under
cProfile, then ``--batches`` × ``--count`` without it (CPU time per request: minimum and median
of the batches). With ``--ping`` the same for ``GET /api/v1/ping``, the floor. Prints CPU ms,
Python function calls (a count: steadier than times on a shared machine) and SQL statements per
request, garbage collection, and the profile's top rows. ``--sql`` prints the statements of one
registration; ``--pg-stats`` (a server with ``shared_preload_libraries=pg_stat_statements``)
PostgreSQL's planning and execution time per statement during the unprofiled batches. No
gunicorn, no network: the WSGI server's share is the same for both requests.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402  (bench/http_bench.py: set-up and request bodies)


def set_up(url: str, scratch: Path) -> tuple[dict, str, str]:
    env = http_bench.flask_env(url, scratch / "signing")
    http_bench.flask(env, "db", "upgrade")
    demo_env = dict(env, MEDIATION_ENV="development", SIGNING_DIR=str(scratch / "demo-signing"))
    http_bench.flask(demo_env, "demo", "--disputes", "20")
    unit_code, node_code = http_bench.grid_units(1)[0]
    http_bench.flask(
        env,
        *("user", "create", "profile_grid", "--role", "grid", "--unit", unit_code),
        *("--password", "Profile-" + uuid.uuid4().hex, "--name", "剖析网格员"),
    )
    token = http_bench.flask(env, "user", "token", "profile_grid").strip().splitlines()[-1]
    return env, token, node_code


def pg_stats_reset(engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.exec_driver_sql("SELECT pg_stat_statements_reset()")


def pg_stats_print(engine, count: int) -> None:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT calls, total_plan_time, total_exec_time, query FROM pg_stat_statements "
            "WHERE strpos(query, 'pg_stat_statements') = 0 ORDER BY total_plan_time + total_exec_time DESC"
        ).all()
    plan = sum(r[1] for r in rows)
    execute = sum(r[2] for r in rows)
    print(
        f"pg_stat_statements: {sum(r[0] for r in rows) / count:.1f} statements per request "
        f"(foreign-key checks included), planning {plan / count:.3f} ms + executing {execute / count:.3f} ms"
    )
    for calls, p, e, query in rows[:25]:
        print(
            f"  {calls:6} × plan {p / calls:.3f} + exec {e / calls:.3f} ms  {' '.join(query.split())[:150]}"
        )


class Counters:
    """SQL statements (an engine event) and garbage collections (gc.callbacks) as they happen."""

    def __init__(self, engine, show_sql: bool):
        from sqlalchemy import event

        self.statements = 0
        self.shown: list[str] | None = [] if show_sql else None
        self.gc_seconds, self.gc_runs, self.gc_full, self._gc_start = 0.0, 0, 0, 0.0
        event.listen(engine, "before_cursor_execute", self._on_statement)
        gc.callbacks.append(self._on_gc)

    def _on_statement(self, conn, cursor, statement, parameters, context, executemany):
        self.statements += 1
        if self.shown is not None:
            self.shown.append(" ".join(statement.split()))

    def _on_gc(self, phase, info):
        if phase == "start":
            self._gc_start = time.process_time()
        else:
            self.gc_seconds += time.process_time() - self._gc_start
            self.gc_runs += 1
            self.gc_full += info["generation"] == 2

    def reset(self) -> None:
        self.statements, self.gc_seconds, self.gc_runs, self.gc_full = 0, 0.0, 0, 0


def measure(name: str, fn, args, counters: Counters, engine) -> None:
    for _ in range(50):
        fn()
    profile = cProfile.Profile()
    cpu = time.process_time()
    profile.enable()
    for _ in range(args.count):
        fn()
    profile.disable()
    cpu = (time.process_time() - cpu) / args.count * 1000
    calls = pstats.Stats(profile).total_calls / args.count
    # Without the profiler (it inflates times), in batches: their minimum and median are less
    # disturbed by the machine's other work than one long run.
    counters.reset()
    if args.pg_stats:
        pg_stats_reset(engine)
    batches = []
    for _ in range(args.batches):
        start = time.process_time()
        for _ in range(args.count):
            fn()
        batches.append((time.process_time() - start) / args.count * 1000)
    batches.sort()
    total = args.count * args.batches
    print(
        f"\n== {name}: {calls:,.0f} Python function calls and {counters.statements / total:.1f} SQL "
        f"statements per request; CPU per request without the profiler, {args.batches} batches of "
        f"{args.count}: min {batches[0]:.2f} / median {batches[len(batches) // 2]:.2f} ms (garbage "
        f"collection {counters.gc_seconds / total * 1000:.2f} ms: {counters.gc_runs} collections, "
        f"{counters.gc_full} full); under the profiler {cpu:.2f} ms"
    )
    if args.pg_stats:
        pg_stats_print(engine, total)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.top)
    print(out.getvalue())
    if args.dump:
        profile.dump_stats(f"{args.dump}.{name}")


def run(args, scratch: Path) -> None:
    url = args.database_url or f"sqlite:///{scratch / 'profile.sqlite'}"
    env, token, node = set_up(url, scratch)
    os.environ.update(env)
    from mediation import create_app
    from mediation.common.heap import settle_heap
    from mediation.extensions import db

    app = create_app()
    settle_heap()  # as each gunicorn worker does once it has built the app (deploy/gunicorn.conf.py)
    client = app.test_client()
    payloads = http_bench.Payloads(seed=20261101)
    auth = {"Authorization": f"Bearer {token}"}

    def register():
        r = client.post(
            "/api/v1/disputes",
            data=payloads.next(node),
            headers={**auth, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.get_data(as_text=True)

    def ping():
        r = client.get("/api/v1/ping", headers=auth)
        assert r.status_code == 200, r.get_data(as_text=True)

    with app.app_context():
        engine = db.engine
    counters = Counters(engine, args.sql)
    if args.sql:
        register()
        counters.shown.clear()
        register()
        print("\n".join(f"{i:3} {s[:300]}" for i, s in enumerate(counters.shown, 1)))
        counters.shown = None
    measure("register", register, args, counters, engine)
    if args.ping:
        measure("ping", ping, args, counters, engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--count", type=int, default=300, help="requests profiled, and per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches of --count without the profiler")
    parser.add_argument("--ping", action="store_true", help="the same for GET /api/v1/ping")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=45, help="profile rows printed")
    parser.add_argument("--dump", default=None, help="write the profiles to FILE.register, FILE.ping")
    parser.add_argument("--sql", action="store_true", help="print the statements of one registration")
    parser.add_argument(
        "--pg-stats",
        action="store_true",
        help="PostgreSQL with pg_stat_statements preloaded: its figures of the unprofiled batches",
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="profile-registration-"))
    (scratch / "signing").mkdir()
    try:
        run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
