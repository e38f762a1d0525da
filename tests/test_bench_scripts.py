"""The table of bench/run_all.sh (bench/summary.py) on canned numbers: ratios, goals, formatting.

No benchmark runs here and nothing is timed: the numbers are made up.
"""

import json

import pytest

from tests.bench_modules import bench_module


@pytest.fixture(scope="module")
def summary():
    with bench_module("summary") as module:
        yield module


def test_times_ratio_of_medians_and_goal(summary):
    row = summary.Row(
        "overdue review", [40.0, 30.0, 90.0], "ms", "hand-written query", [20.0, 25.0, 10.0], 1.5
    )
    assert row.ratio() == pytest.approx(40.0 / 20.0)
    assert not row.met()
    line = summary.fmt_row(row)
    assert "| 30.0 / 40.0 / 90.0 ms (3 runs) |" in line
    assert "| 10.0 / 20.0 / 25.0 ms (3 runs) |" in line
    assert "| 2.00 × | ≤ 1.5 × | not met |" in line

    row.samples = [25.0, 29.0, 31.0]
    assert row.ratio() == pytest.approx(1.45)
    assert row.met()
    assert line != summary.fmt_row(row) and summary.fmt_row(row).endswith("| 1.45 × | ≤ 1.5 × | **met** |")


def test_every_run_checks_the_slowest_run(summary):
    row = summary.Row(
        "月清月结, PostgreSQL", [60.0, 70.0, 1832.0], "ms", "floor", [50.0, 50.0, 55.0], 1.5, every_run=True
    )
    assert row.ratio() == pytest.approx(1.4)  # the medians alone would pass
    assert row.checked_ratio() == pytest.approx(1832.0 / 50.0)
    assert not row.met()
    line = summary.fmt_row(row)
    assert "1.40 × (the slowest run: 36.64 ×)" in line
    assert "| ≤ 1.5 × in every run | not met |" in line
    assert "60.0 / 70.0 / 1,832 ms" in line


def test_rates_are_percent_of_the_floor_and_must_reach_the_goal(summary):
    row = summary.Row(
        "registration",
        [91.0, 88.0, 95.0],
        "req/s",
        "ping",
        [559.0, 500.0, 600.0],
        0.40,
        higher_is_better=True,
        percent=True,
    )
    assert row.ratio() == pytest.approx(91.0 / 559.0)
    assert not row.met()
    assert summary.fmt_row(row).endswith("| 16 % | ≥ 40 % | not met |")
    row.samples = [230.0, 240.0, 250.0]
    assert row.met()
    assert summary.fmt_row(row).endswith("| 43 % | ≥ 40 % | **met** |")


def test_number_formatting(summary):
    assert summary.fmt_stats([1234.5], "ms") == "1,234 ms"  # one sample: no min/max
    assert summary.fmt_stats([3.14159, 2.0, 9.999], "ms") == "2.00 / 3.14 / 10.00 ms (3 runs)"
    assert (
        summary.fmt_stats([1.0, 2.0, 3.0, 400.0], "ms") == "1.00 / 2.50 / 400 ms (4 runs)"
    )  # even: mean of the middle two
    assert summary.fmt_stats(None, "ms") == "—"


def test_table_from_the_benchmarks_json_files(summary, tmp_path):
    (tmp_path / "http.json").write_text(
        json.dumps(
            {
                "cells": [
                    {"scenario": "register", "clients": 16, "rps": 80.0, "errors": 0, "run": 1},
                    {"scenario": "register", "clients": 16, "rps": 100.0, "errors": 0, "run": 2},
                    {"scenario": "register", "clients": 1, "rps": 30.0, "errors": 0, "run": 1},  # other level
                    {
                        "scenario": "register",
                        "clients": 16,
                        "rps": 999.0,
                        "errors": 3,
                        "run": 3,
                    },  # failed cell
                    {"scenario": "ping", "clients": 16, "rps": 400.0, "errors": 0, "run": 1},
                    {"scenario": "ping", "clients": 16, "rps": 500.0, "errors": 0, "run": 2},
                ]
            }
        )
    )
    (tmp_path / "reports-sqlite.json").write_text(
        json.dumps(
            {"disputes": 20000, "samples_ms": {"monthly": [14.0, 15.0, 16.0], "floor_monthly": [10.0, 11.0]}}
        )
    )
    # reports-postgresql.json is missing: that benchmark failed.
    (tmp_path / "documents.json").write_text(
        json.dumps(
            {
                "pages": 2,
                "signed_bytes": 389_000,
                "case_file_pages": 13,
                "samples_ms": {
                    "render": [200.0],
                    "empty_page": [40.0],
                    "case_file": [1200.0, 900.0, 1000.0, 950.0],
                },
            }
        )
    )
    for name, load in (("machine-before", [3.5, 4.0, 5.7]), ("machine-after", [4.25, 4.0, 5.0])):
        (tmp_path / f"{name}.json").write_text(
            json.dumps({"date": "2026-11-30 12:00 UTC", "cpus": 2, "load": load})
        )

    rows = summary.all_rows(tmp_path)
    assert [r.measured for r in rows] == [True, False, True, False, True, True, True]
    table = summary.build_table(
        rows,
        json.loads((tmp_path / "machine-before.json").read_text()),
        json.loads((tmp_path / "machine-after.json").read_text()),
    )
    lines = table.splitlines()
    assert lines[0] == (
        "Machine: 2 CPUs; load average before 3.50 / 4.00 / 5.70 (1 / 5 / 15 min) at 2026-11-30 12:00 UTC; "
        "after 4.25 / 4.00 / 5.00 (1 / 5 / 15 min) at 2026-11-30 12:00 UTC."
    )
    http, overdue, monthly_sqlite, monthly_pg, render, size, case_file = (
        line for line in lines if line.startswith("| ") and "---" not in line and "figure |" not in line
    )
    assert "16 clients | 80.0 / 90.0 / 100 req/s (2 runs) |" in http
    assert http.endswith("| 20 % | ≥ 40 % | not met |")  # 90 / 450
    assert overdue.endswith("| — | ≤ 1.5 × | not measured |")
    assert "20,000 cases, SQLite" in monthly_sqlite
    assert monthly_sqlite.endswith("| 1.43 × | ≤ 1.5 × | **met** |")  # 15 / 10.5
    assert monthly_pg.endswith("| — | ≤ 1.5 × in every run | not measured |")
    assert "agreement PDF render (2 pages) | 200 ms |" in render
    assert render.endswith("| 5.00 × | ≤ 3 × | not met |")
    assert "| 389 KB | the limit, 300 KB | 300 KB |" in size
    assert size.endswith("| ≤ 300 KB | not met |")
    # The 卷宗: an absolute goal, its median (975 ms) under 1 s.
    assert "| 卷宗 (case file, 13 pages) rendered and signed | 900 / 975 / 1,200 ms (4 runs) |" in case_file
    assert case_file.endswith("| the limit, 1 s | 1,000 ms | 0.97 × | < 1 s | **met** |")
    assert lines[-1] == "2 of 7 goals met."


def test_an_absolute_time_goal_is_strict(summary):
    (row,) = [
        r for r in summary.documents_rows({"samples_ms": {"case_file": [1000.0]}}) if "卷宗" in r.figure
    ]
    assert row.ratio() == pytest.approx(1.0) and not row.met()  # "< 1 s": 1,000 ms is not under it
    assert summary.fmt_row(row).endswith("| 1.00 × | < 1 s | not met |")
    row.samples = [999.0]
    assert row.met()


def test_cpu_probes_in_the_header_mark_a_slow_spell(summary):
    snap = {"date": "2026-11-30 12:00 UTC", "cpus": 2, "load": [0.5, 0.5, 0.5]}
    steps = {
        "reports-sqlite": {**snap, "probe_ms": 17.0},
        "documents": {**snap, "probe_ms": 27.2},  # 1.6 × the fastest: the row's times are inflated
        "http": {**snap, "probe_ms": 20.0},  # 1.18 ×: within what the threshold (1.25 ×) tolerates
    }
    table = summary.build_table([], {**snap, "probe_ms": 16.9}, {**snap, "probe_ms": 17.1}, steps=steps)
    probe_line = table.splitlines()[1]
    assert probe_line == (
        "CPU probe at the start of each benchmark (ms of CPU for a fixed Python loop, best of 5; lower is faster): "
        "before 16.9, reports-sqlite 17.0, documents 27.2 (1.61 × the fastest: a slow spell), http 20.0, after 17.1."
    )
    # Snapshots from before the probe existed: no probe line, the table as it was.
    assert "CPU probe" not in summary.build_table([], snap, snap, steps={"documents": snap})


def test_step_snapshots_are_read_in_run_order(summary, tmp_path):
    for name, probe in (("http", 18.0), ("documents", 25.0), ("reports-sqlite", 17.0)):
        (tmp_path / f"machine-step-{name}.json").write_text(json.dumps({"probe_ms": probe}))
    (tmp_path / "machine-step-generate-sqlite.json").write_text(json.dumps({"probe_ms": 99.0}))  # not timed
    assert list(summary.step_snapshots(tmp_path)) == ["reports-sqlite", "documents", "http"]


def test_command_line(summary, tmp_path, capsys):
    assert summary.main(["snapshot", str(tmp_path / "machine-before.json")]) == 0
    snap = json.loads((tmp_path / "machine-before.json").read_text())
    assert snap["cpus"] >= 1 and len(snap["load"]) == 3 and snap["date"].endswith("UTC")
    assert snap["probe_ms"] > 0
    assert summary.main(["table", str(tmp_path), "--mode", "quick"]) == 1  # nothing measured
    out = capsys.readouterr().out
    assert out.startswith("Benchmarks next to their floors (quick run)")
    assert out.count("not measured") == 7
