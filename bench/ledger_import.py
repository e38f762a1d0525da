"""Benchmark of ``ledger import``: N rows into a fresh database, rows per second and peak memory.

    python bench/ledger_import.py --rows 100000                       # fresh SQLite file
    python bench/ledger_import.py --rows 100000 --pg postgresql+psycopg://user@host/db

The ledger, tree and units come from bench/gen_ledger.py (generated once per row count into
``--workdir``). Each database runs in its own child process, so that the peak resident memory
(``ru_maxrss``) measured is the import's alone. The PostgreSQL database is emptied first
(``drop_all``/``create_all``): give it a scratch database. ``--export`` also times the export of the
imported ledger (in its own process), ``--tracemalloc`` adds the peak of Python allocations (slower).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_app(url: str):
    from mediation import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})


def child_import(url: str, workdir: Path, use_tracemalloc: bool) -> dict:
    from sqlalchemy import func, select, text

    from mediation.disputes.models import Dispute, Event, Party
    from mediation.extensions import db
    from mediation.geo.service import import_tree, import_units
    from mediation.ledger.service import import_ledger

    app = make_app(url)
    with app.app_context():
        db.drop_all()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        import_tree(workdir / "tree.csv")
        import_units(workdir / "units.csv")
        db.session.commit()
        baseline = rss_mb()
        stages: dict[str, float] = {}

        def progress(done, total, stage):
            stages.setdefault(stage, time.perf_counter())

        if use_tracemalloc:
            import tracemalloc

            tracemalloc.start()
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = import_ledger(workdir / "ledger.xlsx", progress=progress)
        db.session.commit()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        traced = None
        if use_tracemalloc:
            traced = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        assert result.ok, result.report_lines(limit=20)
        counts = {
            m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
            for m in (Dispute, Party, Event)
        }
        validate = stages.get("导入", t0 + seconds) - t0
        return {
            "database": db.engine.dialect.name,
            "dispute_rows": result.dispute_rows,
            "party_rows": result.party_rows,
            "imported": result.imported,
            "parties": result.parties,
            "counts": counts,
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "validate_seconds": round(validate, 1),
            "write_seconds": round(seconds - validate, 1),
            "rows_per_second": round(result.dispute_rows / seconds),
            "all_rows_per_second": round((result.dispute_rows + result.party_rows) / seconds),
            "baseline_rss_mb": round(baseline, 1),
            "peak_rss_mb": round(rss_mb(), 1),
            "tracemalloc_peak_mb": round(traced, 1) if traced is not None else None,
        }


def child_export(url: str, workdir: Path) -> dict:
    from sqlalchemy import select

    from mediation.extensions import db
    from mediation.geo.models import Node
    from mediation.ledger.service import export_ledger

    app = make_app(url)
    with app.app_context():
        root = db.session.scalar(select(Node).where(Node.parent_id.is_(None)))
        baseline = rss_mb()
        t0 = time.perf_counter()
        summary = export_ledger(workdir / "export.xlsx", root)
        seconds = time.perf_counter() - t0
        return {
            "exported": summary["disputes"],
            "export_parties": summary["parties"],
            "export_seconds": round(seconds, 1),
            "export_rows_per_second": round(summary["disputes"] / seconds),
            "export_baseline_rss_mb": round(baseline, 1),
            "export_peak_rss_mb": round(rss_mb(), 1),
        }


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ledger-bench"))
    parser.add_argument("--pg", help="PostgreSQL URL of a scratch database (emptied first)")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--export", action="store_true", help="also time the export")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure Python allocations (slower)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    workdir = args.workdir / str(args.rows)
    if args.child:
        kind, url = args.child
        result = (
            child_import(url, workdir, args.tracemalloc) if kind == "import" else child_export(url, workdir)
        )
        print(json.dumps(result, ensure_ascii=False))
        return

    if not (workdir / "ledger.xlsx").exists():
        from bench.gen_ledger import generate

        t0 = time.perf_counter()
        info = generate(args.rows, workdir)
        print(
            f"生成台账：{info['rows']} 件纠纷、{info['parties']} 行当事人（{time.perf_counter() - t0:.1f} s）",
            file=sys.stderr,
        )
    size = (workdir / "ledger.xlsx").stat().st_size / 2**20
    targets = [] if args.no_sqlite else [f"sqlite:///{workdir / 'bench.sqlite'}"]
    if args.pg:
        targets.append(args.pg)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; ledger.xlsx {size:.1f} MiB"
    )
    for url in targets:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).unlink(missing_ok=True)
        extra = ["--tracemalloc"] if args.tracemalloc else []
        result = run_child(
            "--rows", str(args.rows), "--workdir", str(args.workdir), *extra, "--child", "import", url
        )
        if args.export:
            result.update(
                run_child("--rows", str(args.rows), "--workdir", str(args.workdir), "--child", "export", url)
            )
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
