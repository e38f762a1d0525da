"""One table of every benchmark next to its floor (``bench/run_all.sh``).

    python bench/summary.py snapshot OUT.json          # date, CPU count, load average and CPU probe, now
    python bench/summary.py table DIR [--mode quick]   # the table from the --json files in DIR

``table`` reads what the benchmarks wrote with ``--json`` (``http.json``, ``reports-sqlite.json``,
``reports-postgresql.json``, ``documents.json``) and the ``machine-before.json`` /
``machine-after.json`` snapshots, and prints one Markdown table: the figure and its floor (minimum /
median / maximum of the runs), the ratio of the medians, the goal, and whether it is met. A goal
marked "in every run" is checked with the figure's worst run (the slowest time, the lowest rate)
against the floor's median. A benchmark that did not produce its file gives a row "not measured".
Exit status 1 if a row is not measured.

The snapshots also hold a *CPU probe*: the CPU time of a fixed pure-Python loop, best of five. A
virtual machine's cores do not always run at one speed (a busy host, a busy sibling thread): on the
2-core machine of the README, whole benchmarks ran 1.6 × slower for a while, in CPU time, with
nothing else running. ``run_all.sh`` takes a snapshot before each benchmark (``machine-step-NAME.json``),
and the table's header lists the probes, marking those over 1.25 × the run's fastest: the rows measured
then are worth less, above all the absolute limits (the 卷宗's 1 s), which no floor in the same run
corrects.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SIZE_LIMIT_KB = 300
CASE_FILE_LIMIT_MS = 1000  # the 卷宗 rendered and signed in under 1 s
HTTP_CLIENTS = 16


@dataclass
class Row:
    """A figure, its floor and the goal for figure ÷ floor."""

    figure: str
    samples: list[float] | None  # None: not measured
    unit: str  # "ms", "req/s", "KB"
    floor: str
    floor_samples: list[float] | None
    goal: float  # the bound on figure ÷ floor (median ÷ median)
    higher_is_better: bool = False  # rates: the ratio must reach the goal; times and sizes: stay under it
    every_run: bool = False  # check the figure's worst run, not its median
    percent: bool = False  # show ratio and goal as a percentage instead of "× floor"
    goal_text: str | None = None  # instead of the computed "≤ 1.5 ×" / "≥ 40 %"
    strict: bool = False  # the ratio must stay under the goal, not reach it ("< 1 s")

    @property
    def measured(self) -> bool:
        return bool(self.samples) and bool(self.floor_samples)

    def ratio(self) -> float:
        return statistics.median(self.samples) / statistics.median(self.floor_samples)

    def checked_ratio(self) -> float:
        """The ratio the goal is checked on."""
        if not self.every_run:
            return self.ratio()
        worst = min(self.samples) if self.higher_is_better else max(self.samples)
        return worst / statistics.median(self.floor_samples)

    def met(self) -> bool:
        r = self.checked_ratio()
        if self.higher_is_better:
            return r >= self.goal
        return r < self.goal if self.strict else r <= self.goal


def fmt_number(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_stats(samples: list[float] | None, unit: str) -> str:
    """``min / median / max unit`` (one value when there is one sample)."""
    if not samples:
        return "—"
    if len(samples) == 1:
        return f"{fmt_number(samples[0])} {unit}"
    lo, mid, hi = min(samples), statistics.median(samples), max(samples)
    return f"{fmt_number(lo)} / {fmt_number(mid)} / {fmt_number(hi)} {unit} ({len(samples)} runs)"


def fmt_ratio(value: float, percent: bool) -> str:
    return f"{value * 100:.0f} %" if percent else f"{value:.2f} ×"


def fmt_goal(row: Row) -> str:
    if row.goal_text:
        return row.goal_text
    sign = "≥" if row.higher_is_better else "≤"
    bound = f"{row.goal * 100:.0f} %" if row.percent else f"{row.goal:g} ×"
    return f"{sign} {bound}" + (" in every run" if row.every_run else "")


def fmt_row(row: Row) -> str:
    if not row.measured:
        cells = [
            row.figure,
            fmt_stats(row.samples, row.unit),
            row.floor,
            fmt_stats(row.floor_samples, row.unit),
        ]
        return "| " + " | ".join(cells + ["—", fmt_goal(row), "not measured"]) + " |"
    ratio = fmt_ratio(row.ratio(), row.percent)
    if row.every_run:
        worst = "lowest" if row.higher_is_better else "slowest"
        ratio += f" (the {worst} run: {fmt_ratio(row.checked_ratio(), row.percent)})"
    cells = [
        row.figure,
        fmt_stats(row.samples, row.unit),
        row.floor,
        fmt_stats(row.floor_samples, row.unit),
        ratio,
        fmt_goal(row),
        "**met**" if row.met() else "not met",
    ]
    return "| " + " | ".join(cells) + " |"


# The benchmarks run_all.sh times, in its order (a snapshot is taken before each: machine-step-NAME.json).
TIMED_STEPS = ("reports-sqlite", "reports-postgresql", "documents", "http")
SLOW_PROBE = 1.25  # a probe this much over the run's fastest marks a slow spell of the machine


def cpu_probe_ms(runs: int = 5) -> float:
    """The CPU time of a fixed pure-Python loop in ms, the best of ``runs``: how fast the machine runs
    Python right now (lower is faster; comparable between runs on one machine only)."""
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        sum(i * i for i in range(300_000))
        best = min(best, time.process_time() - start)
    return best * 1000


def fmt_probes(probes: list[tuple[str, float]]) -> str:
    """``before 16.8, documents 26.9 (1.60 × the fastest: a slow spell), after 17.0`` (ms)."""
    if not probes:
        return ""
    fastest = min(ms for _, ms in probes)
    parts = []
    for name, ms in probes:
        slow = ms / fastest
        mark = f" ({slow:.2f} × the fastest: a slow spell)" if slow > SLOW_PROBE else ""
        parts.append(f"{name} {ms:.1f}{mark}")
    return (
        "CPU probe at the start of each benchmark (ms of CPU for a fixed Python loop, best of 5; lower is faster): "
        + ", ".join(parts)
        + "."
    )


def fmt_load(snapshot: dict | None) -> str:
    if not snapshot:
        return "unknown"
    one, five, fifteen = snapshot["load"]
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) at {snapshot['date']}"


def build_table(
    rows: list[Row],
    before: dict | None,
    after: dict | None,
    title: str = "",
    steps: dict[str, dict] | None = None,
) -> str:
    """``steps``: the snapshot taken before each benchmark, by name (in the order run)."""
    cpus = (before or after or {}).get("cpus", "?")
    lines = []
    if title:
        lines += [title, ""]
    lines.append(f"Machine: {cpus} CPUs; load average before {fmt_load(before)}; after {fmt_load(after)}.")
    named = [("before", before), *(steps or {}).items(), ("after", after)]
    probes = [(name, snap["probe_ms"]) for name, snap in named if snap and "probe_ms" in snap]
    if probes:
        lines.append(fmt_probes(probes))
    lines += [
        "",
        "| figure | min / median / max | floor | floor min / median / max | ratio (medians) | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [fmt_row(row) for row in rows]
    met = sum(1 for r in rows if r.measured and r.met())
    lines += ["", f"{met} of {len(rows)} goals met."]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# From the benchmarks' --json files to rows
# ---------------------------------------------------------------------------------------------


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def http_rows(data: dict | None, clients: int = HTTP_CLIENTS) -> list[Row]:
    rates: dict[str, list[float]] = {"register": [], "ping": []}
    for cell in (data or {}).get("cells", []):
        if cell["clients"] == clients and cell["scenario"] in rates and cell["errors"] == 0:
            rates[cell["scenario"]].append(cell["rps"])
    return [
        Row(
            f"registration over HTTP (`POST /api/v1/disputes`), gunicorn + PostgreSQL, {clients} clients",
            rates["register"] or None,
            "req/s",
            "`GET /api/v1/ping` on the same server",
            rates["ping"] or None,
            0.40,
            higher_is_better=True,
            percent=True,
        )
    ]


def reports_rows(sqlite: dict | None, pg: dict | None) -> list[Row]:
    def samples(data: dict | None, key: str) -> list[float] | None:
        return ((data or {}).get("samples_ms") or {}).get(key)

    def cases(data: dict | None) -> str:
        return f"{data['disputes']:,} cases" if data else "? cases"

    return [
        Row(
            f"overdue review, whole 区, {cases(pg)}, PostgreSQL",
            samples(pg, "overdue"),
            "ms",
            "hand-written SQL (the same league with names and first page of 50)",
            samples(pg, "floor_overdue"),
            1.5,
        ),
        Row(
            f"月清月结 figures, whole 区, {cases(sqlite)}, SQLite",
            samples(sqlite, "monthly"),
            "ms",
            "hand-written SQL (the same figures, open 突出问题 and 满意率)",
            samples(sqlite, "floor_monthly"),
            1.5,
        ),
        Row(
            f"月清月结 figures, whole 区, {cases(pg)}, PostgreSQL",
            samples(pg, "monthly"),
            "ms",
            "hand-written SQL (the same figures, open 突出问题 and 满意率)",
            samples(pg, "floor_monthly"),
            1.5,
            every_run=True,
        ),
    ]


def documents_rows(data: dict | None) -> list[Row]:
    samples = (data or {}).get("samples_ms") or {}
    signed = (data or {}).get("signed_bytes")
    pages = (data or {}).get("pages", "?")
    case_pages = (data or {}).get("case_file_pages", "?")
    return [
        Row(
            f"agreement PDF render ({pages} pages)",
            samples.get("render"),
            "ms",
            "WeasyPrint rendering an empty A4 page, same stylesheet and fonts, same process",
            samples.get("empty_page"),
            3.0,
        ),
        Row(
            "agreement PDF, signed, size",
            [signed / 1000] if signed else None,
            "KB",
            f"the limit, {SIZE_LIMIT_KB} KB",
            [float(SIZE_LIMIT_KB)],
            1.0,
            goal_text=f"≤ {SIZE_LIMIT_KB} KB",
        ),
        Row(
            f"卷宗 (case file, {case_pages} pages) rendered and signed",
            samples.get("case_file"),
            "ms",
            f"the limit, {CASE_FILE_LIMIT_MS / 1000:g} s",
            [float(CASE_FILE_LIMIT_MS)],
            1.0,
            goal_text=f"< {CASE_FILE_LIMIT_MS / 1000:g} s",
            strict=True,
        ),
    ]


def all_rows(directory: Path) -> list[Row]:
    return (
        http_rows(_load(directory / "http.json"))
        + reports_rows(_load(directory / "reports-sqlite.json"), _load(directory / "reports-postgresql.json"))
        + documents_rows(_load(directory / "documents.json"))
    )


def snapshot() -> dict:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load": list(os.getloadavg()),
        "probe_ms": round(cpu_probe_ms(), 2),
    }


def step_snapshots(directory: Path) -> dict[str, dict]:
    """The snapshots run_all.sh took before each timed benchmark, in its order."""
    found = {name: _load(directory / f"machine-step-{name}.json") for name in TIMED_STEPS}
    return {name: snap for name, snap in found.items() if snap}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="write date, CPU count, load average and CPU probe to a JSON file")
    snap.add_argument("out")
    table = sub.add_parser("table", help="print the table from the benchmarks' JSON files")
    table.add_argument("directory")
    table.add_argument("--mode", default="", help="a word for the title: quick or full")
    args = parser.parse_args(argv)

    if args.command == "snapshot":
        Path(args.out).write_text(json.dumps(snapshot()))
        return 0
    directory = Path(args.directory)
    rows = all_rows(directory)
    title = f"Benchmarks next to their floors{f' ({args.mode} run)' if args.mode else ''}"
    print(
        build_table(
            rows,
            _load(directory / "machine-before.json"),
            _load(directory / "machine-after.json"),
            title,
            step_snapshots(directory),
        )
    )
    return 0 if all(r.measured for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
