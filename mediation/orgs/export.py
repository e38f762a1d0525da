"""Excel exports of 调解组织: the registry (as filtered) and the coverage of a node. Every cell goes
through mediation/common/spreadsheet.py (text stays text); the download through reports.export's
``attachment`` (RFC 5987 file name, no-store)."""

from __future__ import annotations

import io

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from mediation.common.spreadsheet import clean_text, put
from mediation.common.time import to_local, utcnow
from mediation.orgs.schemas import LABELS
from mediation.reports.export import XLSX, attachment

PERCENT = "0.0%"
BOLD = Font(bold=True)

REGISTRY_COLUMNS = (
    ("code", "单位代码", 18),
    ("name", "名称", 34),
    ("kind", LABELS["kind"], 26),
    ("industry", LABELS["industry"], 10),
    ("node_name", "所属节点", 14),
    ("founded_on", LABELS["founded_on"], 12),
    ("head", LABELS["head"], 10),
    ("address", LABELS["address"], 30),
    ("phone", LABELS["phone"], 16),
    ("member_count", "有账号成员数", 12),
    ("other_members", LABELS["other_members"], 30),
)


def _sheet(ws, title: str, note: str, headers: list[tuple[str, int]], rows: list[list]) -> None:
    put(ws, 1, 1, title).font = Font(bold=True, size=14)
    put(ws, 2, 1, note)
    for col, (text, width) in enumerate(headers, start=1):
        put(ws, 3, col, text).font = BOLD
        ws.column_dimensions[get_column_letter(col)].width = width
    for r, values in enumerate(rows, start=4):
        for c, value in enumerate(values, start=1):
            cell = put(ws, r, c, value)
            if isinstance(value, float) and headers[c - 1][0].endswith("率"):
                cell.number_format = PERCENT
    ws.freeze_panes = "A4"


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _stamp() -> str:
    return f"导出时间：{to_local(utcnow()):%Y-%m-%d %H:%M}"


def _safe(name: str) -> str:
    return "".join(ch for ch in clean_text(name) if ch not in '\\/:*?"<>|').strip()


def registry_download(items: list[dict], scope: str) -> Response:
    wb = Workbook()
    ws = wb.active
    ws.title = "调解组织"
    rows = [[item.get(key) for key, _, _ in REGISTRY_COLUMNS] for item in items]
    _sheet(
        ws,
        f"{scope}调解组织名册",
        f"{_stamp()}；共 {len(items)} 个",
        [(label, width) for _, label, width in REGISTRY_COLUMNS],
        rows,
    )
    return attachment(_save(wb), f"{_safe(scope)}_调解组织名册.xlsx", XLSX, "orgs.xlsx")


def coverage_download(report: dict) -> Response:
    node = report["node"]
    wb = Workbook()
    ws = wb.active
    ws.title = "按乡镇（街道）"
    towns = [[t["name"], t["total"], t["covered"], t["uncovered"], t["rate"]] for t in report["towns"]]
    towns.append(["合计", report["total"], report["covered"], report["uncovered"], report["rate"]])
    _sheet(
        ws,
        f"{node['name']}村（居）人民调解委员会覆盖情况",
        f"{_stamp()}；覆盖：该村（社区）设有村（居）人民调解委员会",
        [("乡镇（街道）", 16), ("村（社区）数", 12), ("已覆盖", 10), ("未覆盖", 10), ("覆盖率", 10)],
        towns,
    )
    for cell in ws[ws.max_row]:
        cell.font = BOLD
    for title, places in (
        ("未覆盖的村（社区）", report["uncovered_places"]),
        ("全部村（社区）", report["places"]),
    ):
        sheet = wb.create_sheet(title)
        rows = [
            [p["town_name"], p["name"], p["code"], "已覆盖" if p["covered"] else "未覆盖", p["committee"]]
            for p in places
        ]
        _sheet(
            sheet,
            f"{node['name']}{title}",
            _stamp(),
            [("乡镇（街道）", 16), ("村（社区）", 16), ("代码", 16), ("状态", 8), ("调委会", 30)],
            rows,
        )
    return attachment(_save(wb), f"{_safe(node['name'])}_调委会覆盖.xlsx", XLSX, "coverage.xlsx")
