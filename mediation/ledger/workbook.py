"""Streaming access to the ledger workbook: read ``.xlsx`` (openpyxl read-only) or a ``.csv`` of the
first sheet, and write ``.xlsx`` (openpyxl write-only). Neither side holds a whole sheet in memory."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from mediation.common.files import open_private
from mediation.common.spreadsheet import write_only_cell, write_only_row
from mediation.common.tabular import TableError
from mediation.common.upload_limits import (
    TableLimits,
    bounded_lines,
    bounded_rows,
    check_file_size,
    check_xlsx,
)

DISPUTE_SHEET = "纠纷"
PARTY_SHEET = "当事人"
DATE_FORMAT = "yyyy-mm-dd"


def cell_text(value) -> str:
    """A cell as text. A real Excel date (a datetime cell) is its calendar day, ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _dimensions_or_nothing(self) -> None:
    """openpyxl's ReadOnlyWorksheet reads the ``<dimension>`` element when a worksheet is opened;
    when a file has none (openpyxl's own write-only files, many generators) its parser listens for
    *end* events and so walks the whole sheet before giving up, once per sheet and per load. This
    replacement stops at the start of ``<sheetData>``: same answer, no scan."""
    # heavy: openpyxl stays out of start-up
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse  # defusedxml's when installed (it is a dependency)

    with self._get_source() as src:
        for _event, element in iterparse(src, events=("start",)):
            if element.tag == f"{{{SHEET_MAIN_NS}}}dimension":
                bounds = SheetDimension.from_tree(element).boundaries
                if bounds is not None:
                    self._min_column, self._min_row, self._max_column, self._max_row = bounds
                return
            if element.tag == f"{{{SHEET_MAIN_NS}}}sheetData":
                return


def _install_fast_dimensions() -> None:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet  # heavy: openpyxl stays out of start-up

    if getattr(ReadOnlyWorksheet._get_size, "__name__", "") != _dimensions_or_nothing.__name__:
        ReadOnlyWorksheet._get_size = _dimensions_or_nothing


class Sheet:
    """One sheet opened for a single streaming pass: ``header`` then ``rows()``."""

    def __init__(self, header: list[str], rows: Iterator[tuple[int, list[str]]], close=None):
        self.header = header
        self._rows = rows
        self._close = close

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number as the spreadsheet shows it, cells as text) for each non-empty row."""
        try:
            for number, cells in self._rows:
                if any(cells):
                    yield number, cells
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


class LedgerWorkbook:
    """The file to import, opened once (close it, or use ``with``). ``sheet_names`` is known at
    once; each ``open(sheet)`` starts a streaming pass over one sheet."""

    def __init__(self, path: str | Path, limits: TableLimits | None = None):
        self.path = Path(path)
        self.wb = None
        self.limits = limits or TableLimits.current()
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            self.kind = "csv"
            self.sheet_names = [DISPUTE_SHEET]
            check_file_size(self.path, self.limits)
        elif suffix in (".xlsx", ".xlsm"):
            self.kind = "xlsx"
            check_xlsx(self.path, self.limits)  # before openpyxl: what the zip may expand to
            self.wb = wb = self._load()
            self.sheet_names = [name.strip() for name in wb.sheetnames]
            self._real_names = dict(zip(self.sheet_names, wb.sheetnames, strict=True))
            self._estimates: dict[str, int | None] = {}
            self._parts: dict[str, str] = {}
            for name, real in self._real_names.items():
                ws = self._sheet(real)
                self._parts[name] = getattr(ws, "_worksheet_path", "")
                rows = getattr(ws, "_max_row", None)
                self._estimates[name] = max(rows - 1, 0) if rows else None
        else:
            raise TableError("只支持 .xlsx 工作簿或 .csv 文件（UTF-8 编码）。")

    def close(self) -> None:
        if self.wb is not None:
            self.wb.close()
            self.wb = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _load(self):
        from openpyxl import load_workbook  # heavy: openpyxl stays out of start-up

        _install_fast_dimensions()
        from defusedxml import DefusedXmlException  # heavy: defusedxml only for uploaded workbooks

        try:
            return load_workbook(self.path, read_only=True, data_only=True)
        except DefusedXmlException as err:
            raise TableError(_unsafe_xml(self.path, err)) from None
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
            cause = err.__cause__ or err.__context__  # openpyxl wraps what its parser raised
            if isinstance(cause, DefusedXmlException):
                raise TableError(_unsafe_xml(self.path, cause)) from None
            raise TableError(
                f"无法读取工作簿「{self.path.name}」：文件不是有效的 .xlsx 格式（{type(err).__name__}）。"
            ) from None
        except Exception as err:  # openpyxl raises its own InvalidFileException and friends
            text = str(err).replace(str(self.path), self.path.name)  # no server path on the page
            raise TableError(f"无法读取工作簿「{self.path.name}」：{text}") from None

    def _sheet(self, real_name: str):
        """A worksheet (opening it reads its <dimension>, so a hostile sheet may fail here)."""
        from defusedxml import DefusedXmlException  # heavy: defusedxml only for uploaded workbooks

        try:
            return self.wb[real_name]
        except DefusedXmlException as err:
            self.close()
            raise TableError(_unsafe_xml(self.path, err)) from None
        except (ValueError, KeyError, TypeError, IndexError, SyntaxError, OSError) as err:
            self.close()
            raise TableError(
                f"无法读取工作簿「{self.path.name}」：工作表内容有误（{type(err).__name__}）。"
            ) from None

    def has(self, sheet: str) -> bool:
        return sheet in self.sheet_names

    def estimate(self, sheet: str) -> int | None:
        """Data rows of a sheet as the file declares them (an estimate: empty rows count)."""
        if not self.has(sheet):
            return 0
        if self.kind == "csv":
            count = -1
            with self.path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    count += chunk.count(b"\n")
            return max(count + 1, 0)
        if self._estimates.get(sheet) is None:
            self._estimates[sheet] = self._count_rows(self._parts.get(sheet, ""))
        return self._estimates.get(sheet)

    def _count_rows(self, part: str) -> int | None:
        """Workbooks written in write-only mode carry no <dimension>: count the <row> elements of
        the sheet's XML (a byte scan, no parsing)."""
        if not part:
            return None
        count = 0
        tail = b""
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(part.lstrip("/")) as fh:
                while chunk := fh.read(1 << 20):
                    data = tail + chunk
                    count += data.count(b"<row ") + data.count(b"<row>")
                    tail = data[-4:]  # too short to hold a whole tag: nothing is counted twice
        except (KeyError, OSError, zipfile.BadZipFile):
            return None
        return max(count - 1, 0)

    def open(self, sheet: str) -> Sheet:
        if self.kind == "csv":
            return self._open_csv()
        ws = self._sheet(self._real_names[sheet])
        ws.reset_dimensions()  # read every row present, whatever <dimension> claims
        values = _readable(self.path, ws.iter_rows(values_only=True))
        cells = bounded_rows(
            ((n, [cell_text(c) for c in r]) for n, r in enumerate(values, start=1)), self.limits, sheet
        )
        first = next(cells, None)
        header = first[1] if first else []
        return Sheet(header, cells, close=values.close)

    def _open_csv(self) -> Sheet:
        fh = self.path.open("rb")
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        reader = csv.reader(bounded_lines(text, self.limits, self.path.name))

        def rows():
            try:
                for cells in reader:
                    yield reader.line_num, [c.strip() for c in cells]
            except UnicodeDecodeError:
                raise TableError(
                    "CSV 文件应为 UTF-8 编码（可带 BOM）。请在 Excel 中另存为“CSV UTF-8”。"
                ) from None
            except csv.Error as err:
                raise TableError(f"CSV 文件第{reader.line_num}行格式有误：{err}") from None

        cells = bounded_rows(rows(), self.limits, DISPUTE_SHEET)
        try:
            first = next(cells, None)
        except TableError:
            text.close()
            raise
        header = [c.strip() for c in first[1]] if first else []
        return Sheet(header, cells, close=text.close)


def _unsafe_xml(path: Path, err: Exception) -> str:
    return (
        f"文件「{path.name}」含有不安全的 XML 结构（{type(err).__name__}：实体定义或外部引用），已拒绝导入。"
    )


def _readable(path: Path, values):
    """openpyxl's rows, with what a hostile sheet makes it raise turned into a TableError."""
    from defusedxml import DefusedXmlException  # heavy: defusedxml only for uploaded workbooks

    class Rows:
        def __iter__(self):
            try:
                yield from values
            except DefusedXmlException as err:
                raise TableError(_unsafe_xml(path, err)) from None
            except (ValueError, KeyError, TypeError, IndexError, SyntaxError) as err:
                raise TableError(
                    f"无法读取工作簿「{path.name}」：工作表内容有误（{type(err).__name__}）。"
                ) from None

        def close(self):
            values.close()

    return Rows()


class LedgerWriter:
    """A write-only workbook: sheets are appended row by row and flushed to temporary files. Every
    cell goes through mediation.common.spreadsheet: text (headers included) is stored as text,
    never as a formula, and cleaned of characters a workbook cannot hold."""

    def __init__(self):
        from openpyxl import Workbook  # heavy: openpyxl stays out of start-up

        self.wb = Workbook(write_only=True)
        self.sheets = {}

    def sheet(self, name: str, header: list[str], widths: dict[str, int] | None = None):
        # heavy: openpyxl stays out of start-up
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet(name)
        for i, h in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(h, max(10, 2 * len(h) + 2))
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for h in header:
            c = write_only_cell(ws, h)
            c.font = bold
            cells.append(c)
        ws.append(cells)
        self.sheets[name] = ws
        return ws

    def append(self, name: str, values: list) -> None:
        ws = self.sheets[name]
        row = []
        for v in values:
            if isinstance(v, date):
                c = write_only_cell(ws, v)
                c.number_format = DATE_FORMAT
                v = c
            elif isinstance(v, Decimal):
                c = write_only_cell(ws, v)
                c.number_format = "0.00"
                v = c
            row.append(v)
        ws.append(write_only_row(ws, row))

    def save(self, path: str | Path) -> None:
        with open_private(path) as fh:  # personal data: 0600
            self.wb.save(fh)
