"""Reading CSV (UTF-8, with or without BOM) and XLSX sheets as rows of header → text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from mediation.common.upload_limits import TableLimits, bounded_rows, check_upload


class TableError(ValueError):
    pass


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: str | Path, sheet: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number as a spreadsheet shows it, {header: text}) for each non-empty row."""

    path = Path(path)
    limits = TableLimits.current()
    check_upload(path, limits)  # size, and for a workbook what its zip may expand to
    if path.suffix.lower() == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TableError("CSV 文件应为 UTF-8 编码（Excel 另存为“CSV UTF-8”）。") from None
        reader = csv.reader(io.StringIO(text))
        rows = ((i, r) for i, r in enumerate(reader, start=1))
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook  # heavy: openpyxl stays out of start-up

        wb = load_workbook(path, read_only=True, data_only=True)
        if sheet is not None and sheet not in wb.sheetnames:
            raise TableError(f"工作簿中没有名为「{sheet}」的工作表。")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = (
            (i, [_cell_text(c) for c in r]) for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
        )
    else:
        raise TableError("只支持 .csv 或 .xlsx 文件。")
    header: list[str] | None = None
    for number, raw in bounded_rows(
        ((n, [_cell_text(c) for c in r]) for n, r in rows), limits, sheet or path.name
    ):
        cells = [_cell_text(c) for c in raw]
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if not any(cells):
            continue
        yield number, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
    if header is None:
        raise TableError("文件为空，缺少表头。")
