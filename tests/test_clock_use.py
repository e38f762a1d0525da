"""One calendar: a date counted by the application or a test is Shanghai's, from ``mediation.clock``.

``date.today()`` is the machine's date. On a server or CI machine set to UTC it is a day behind
Shanghai from 16:00 to 24:00 UTC, and a month behind on the last evening of a month: a test that
built "this month" with it and posted to the app, which counts in Shanghai time, would fail only at
those hours. ``clock.today()`` is Shanghai's date, and follows the frozen test clock."""

from __future__ import annotations

import ast

from mediation import ROOT

ALLOWED = {ROOT / "mediation" / "clock.py"}


def machine_dates(source: str) -> list[int]:
    """Lines of ``date.today()`` / ``datetime.date.today()`` calls in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "today"
            and not node.args
            and (
                (isinstance(node.func.value, ast.Name) and node.func.value.id == "date")
                or (isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "date")
            )
        ):
            found.append(node.lineno)
    return sorted(found)


def test_no_code_or_test_reads_the_machine_date():
    offenders = []
    for folder in ("mediation", "tests", "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in ALLOWED:
                continue
            for line in machine_dates(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, "用 mediation.clock.today()（上海日期）代替 date.today()：" + ", ".join(offenders)


def test_the_check_sees_a_machine_date():
    source = "from datetime import date\nimport datetime\nmonth = date.today().strftime('%Y-%m')\nx = datetime.date.today()\n"
    assert machine_dates(source) == [3, 4]
    assert machine_dates("from mediation import clock\nday = clock.today()\n") == []
