"""Bounds on what an uploaded table (a 台账 workbook, a tree or units file) may expand to, checked
BEFORE openpyxl opens it.

An ``.xlsx`` is a zip of XML parts. openpyxl streams the worksheets in read-only mode, but it loads
the whole shared-strings table into a Python list and parses every other part (workbook, relations,
styles, properties) into a tree: a 1.5 MB file whose ``sharedStrings.xml`` inflates to 1.5 GB took
the server from 0.4 to 3.5 GB. So the zip directory is read first (entry count, each entry's
uncompressed size, the total, the compression ratio), the few small parts that say which entry is
what are parsed (with ``defusedxml``: no entity expansion, no external entities), and only the
worksheets may be large: they are streamed. Rows, columns and cell lengths are bounded while
streaming (:func:`bounded_rows`). CSV files are bounded by size and line length.

Every limit is a setting (``config.py``, environment variables of the same name); a refusal is a
:class:`~mediation.common.tabular.TableError` whose Chinese message names the limit that was hit.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from flask import current_app, has_app_context

MIB = 1024 * 1024
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767

WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class TableLimits:
    """Defaults in bytes, characters and rows; each is overridable by the setting of the same
    name in upper case (``UPLOAD_MAX_FILE_BYTES`` …)."""

    upload_max_file_bytes: int = 64 * MIB  # the file as uploaded (xlsx or csv)
    xlsx_max_entries: int = 1000  # files in the zip
    xlsx_max_total_bytes: int = 2048 * MIB  # all entries, uncompressed
    xlsx_max_sheet_bytes: int = 1024 * MIB  # one worksheet, uncompressed (streamed, never held)
    xlsx_max_shared_strings_bytes: int = 64 * MIB  # sharedStrings.xml, uncompressed (held in memory)
    xlsx_max_shared_strings: int = 1_000_000  # strings in it (each costs ≈ 100 bytes in memory)
    xlsx_max_part_bytes: int = 2 * MIB  # any other part (parsed whole: workbook, styles, relations …)
    xlsx_max_row_bytes: int = 8 * MIB  # one <row> element of a worksheet, uncompressed
    xlsx_max_ratio: int = 100  # uncompressed : compressed, for entries above 1 MiB
    table_max_rows: int = EXCEL_MAX_ROWS  # rows of one sheet, empty rows included
    table_max_columns: int = 1024  # cells of one row
    table_max_cell_chars: int = EXCEL_MAX_CELL_CHARS  # characters of one cell
    csv_max_line_chars: int = 1 * MIB  # characters of one CSV line

    @classmethod
    def current(cls) -> TableLimits:
        """The limits of the running app (its config), or the defaults outside an app."""

        if not has_app_context():
            return cls()
        cfg = current_app.config
        return cls(**{f.name: int(cfg[f.name.upper()]) for f in fields(cls) if cfg.get(f.name.upper())})


def config_defaults(environ) -> dict:
    """The settings for config.py: each limit from the environment, else its default."""
    return {f.name.upper(): int(environ.get(f.name.upper(), f.default)) for f in fields(TableLimits)}


def _error(message: str):
    from mediation.common.tabular import TableError  # cycle: common.tabular imports upload_limits

    return TableError(message)


def _mib(n: int) -> str:
    return f"{n / MIB:.0f} MB" if n >= MIB else f"{n // 1024} KB"


def _refuse(path: Path, what: str, limit: str, setting: str) -> Exception:
    return _error(
        f"文件「{path.name}」超出导入限制（{setting}）：{what}，上限为{limit}。"
        f"未导入任何数据。若确属正常台账，请拆分为多个文件后分别导入。"
    )


def check_file_size(path: Path, limits: TableLimits) -> None:
    size = path.stat().st_size
    if size > limits.upload_max_file_bytes:
        raise _refuse(
            path, f"文件大小为 {_mib(size)}", _mib(limits.upload_max_file_bytes), "UPLOAD_MAX_FILE_BYTES"
        )


def _parse_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: TableLimits):
    """A small XML part (its size was checked), parsed with defusedxml."""
    # heavy: defusedxml only for uploaded workbooks
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(archive.read(info))
    except DefusedXmlException as err:
        raise _error(
            f"文件「{path.name}」含有不安全的 XML 结构（{type(err).__name__}：实体定义或外部引用），"
            f"已拒绝导入。"
        ) from None
    except Exception:  # noqa: BLE001 — malformed XML, bad CRC …
        raise _error(f"无法读取工作簿「{path.name}」：部件「{info.filename}」不是有效的 XML。") from None


def _part_name(name: str) -> str:
    return posixpath.normpath(name.lstrip("/"))


def check_xlsx(path: str | Path, limits: TableLimits | None = None) -> None:
    """Refuse a workbook whose zip would expand beyond the limits (see the module doc)."""
    path = Path(path)
    limits = limits or TableLimits.current()
    check_file_size(path, limits)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _error(
            f"无法读取工作簿「{path.name}」：文件不是有效的 .xlsx 格式（不是 zip 压缩包）。"
        ) from None
    with archive:
        entries = archive.infolist()
        _check_entries(entries, path, limits)
        by_name = {_part_name(i.filename): i for i in entries}
        overrides = _content_types(archive, by_name, path, limits)
        sheets, related = _workbook_relations(archive, by_name, overrides, path, limits)
        streamed = sheets - (related | _other_parts(by_name, overrides, path, limits))
        _check_small_parts(by_name, overrides, streamed, path, limits)
        for name in sorted(streamed & by_name.keys()):
            _scan_sheet(archive, by_name[name], path, limits)
        for name, kinds in overrides.items():
            if SHARED_STRINGS_TYPE in kinds and name in by_name:
                _scan_sheet(archive, by_name[name], path, limits, rows=False)


def _check_entries(entries: list[zipfile.ZipInfo], path: Path, limits: TableLimits) -> None:
    """The zip's directory: number of entries, each one's size and compression ratio, the total."""
    if len(entries) > limits.xlsx_max_entries:
        raise _refuse(
            path, f"压缩包内有 {len(entries)} 个文件", f"{limits.xlsx_max_entries} 个", "XLSX_MAX_ENTRIES"
        )
    total = 0
    for info in entries:
        total += info.file_size
        if info.file_size > limits.xlsx_max_sheet_bytes:
            raise _refuse(
                path,
                f"部件「{info.filename}」解压后为 {_mib(info.file_size)}",
                _mib(limits.xlsx_max_sheet_bytes),
                "XLSX_MAX_SHEET_BYTES",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MIB and ratio > limits.xlsx_max_ratio:
            raise _refuse(
                path,
                f"部件「{info.filename}」的压缩比为 {ratio:.0f}:1（疑似压缩炸弹）",
                f"{limits.xlsx_max_ratio}:1",
                "XLSX_MAX_RATIO",
            )
    if total > limits.xlsx_max_total_bytes:
        raise _refuse(
            path, f"解压后共 {_mib(total)}", _mib(limits.xlsx_max_total_bytes), "XLSX_MAX_TOTAL_BYTES"
        )


def _check_part_size(info: zipfile.ZipInfo, path: Path, limits: TableLimits) -> None:
    if info.file_size > limits.xlsx_max_part_bytes:
        raise _refuse(
            path,
            f"部件「{info.filename}」解压后为 {_mib(info.file_size)}",
            _mib(limits.xlsx_max_part_bytes),
            "XLSX_MAX_PART_BYTES",
        )


def _small(archive: zipfile.ZipFile, by_name: dict, name: str, path: Path, limits: TableLimits):
    """The parsed XML of a part that must be small, or None when the zip has no such part."""
    info = by_name.get(name)
    if info is None:
        return None
    _check_part_size(info, path, limits)
    return _parse_small(archive, info, path, limits)


def _content_types(
    archive: zipfile.ZipFile, by_name: dict, path: Path, limits: TableLimits
) -> dict[str, set[str]]:
    """Which entry is what: the content types [Content_Types].xml gives each part name."""
    types = _small(archive, by_name, "[Content_Types].xml", path, limits)
    overrides: dict[str, set[str]] = {}
    if types is not None:
        for node in types.iter(f"{CT_NS}Override"):
            overrides.setdefault(_part_name(node.get("PartName", "")), set()).add(node.get("ContentType", ""))
    return overrides


def _workbook_relations(
    archive: zipfile.ZipFile, by_name: dict, overrides: dict, path: Path, limits: TableLimits
) -> tuple[set[str], set[str]]:
    """The parts the workbook's relations name: (worksheets, the others). Only worksheets, and the
    shared strings, may be large."""
    sheets: set[str] = set()
    others: set[str] = set()
    for name, kinds in overrides.items():
        if not kinds & WORKBOOK_TYPES:
            continue
        rels = _small(
            archive,
            by_name,
            posixpath.join(posixpath.dirname(name), "_rels", posixpath.basename(name) + ".rels"),
            path,
            limits,
        )
        for rel in rels.iter(f"{REL_NS}Relationship") if rels is not None else ():
            target = rel.get("Target", "")
            target = _part_name(
                target if target.startswith("/") else posixpath.join(posixpath.dirname(name), target)
            )
            (sheets if rel.get("Type") == WORKSHEET_REL else others).add(target)
    return sheets, others


def _other_parts(by_name: dict, overrides: dict, path: Path, limits: TableLimits) -> set[str]:
    """Parts whose content type says they are not a worksheet (a relation's word is not enough); the
    shared strings table is checked against its own limit here."""
    others: set[str] = set()
    for name, kinds in overrides.items():
        if kinds & {SHARED_STRINGS_TYPE} and name in by_name:
            info = by_name[name]
            if info.file_size > limits.xlsx_max_shared_strings_bytes:
                raise _refuse(
                    path,
                    f"共享字符串表「{info.filename}」解压后为 {_mib(info.file_size)}",
                    _mib(limits.xlsx_max_shared_strings_bytes),
                    "XLSX_MAX_SHARED_STRINGS_BYTES",
                )
            others.add(name)
        elif not kinds <= {"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"}:
            others.add(name)
    return others


def _check_small_parts(
    by_name: dict, overrides: dict, streamed: set[str], path: Path, limits: TableLimits
) -> None:
    """Every part but the streamed worksheets and the shared strings must be small."""
    for name, info in by_name.items():
        if name in streamed or name in overrides and SHARED_STRINGS_TYPE in overrides[name]:
            continue
        _check_part_size(info, path, limits)


_PREFIX = re.compile(rb"[A-Za-z_][\w.-]{0,15}:")
_AFTER_TAG = frozenset(b" \t\r\n/>")


def _row_starts(buf: bytes, end: int):
    """(offset of "<", namespace prefix) of each <row> or <prefix:row> tag starting before ``end``.
    A search for the rare "row" and a look back is several times faster than a regex over every "<"."""
    at = buf.find(b"row", 1)
    while at != -1 and at < end + 1:
        following = buf[at + 3] if at + 3 < len(buf) else None
        if following in _AFTER_TAG:
            if buf[at - 1] == 0x3C:  # "<"
                if at - 1 < end:
                    yield at - 1, b""
            elif buf[at - 1] == 0x3A:  # ":"
                lt = buf.rfind(b"<", max(0, at - 18), at)
                if lt != -1 and lt < end and _PREFIX.fullmatch(buf, lt + 1, at):
                    yield lt, buf[lt + 1 : at]
        at = buf.find(b"row", at + 3)


def _cells(buf: bytes, start: int, end: int, prefix: bytes) -> int:
    """<c> elements in buf[start:end], with the namespace prefix of the sheet's rows. (A match
    that straddles ``end`` is counted with the next segment: the buffer keeps an overlap.)"""
    # Inside <sheetData> the only elements named c… are cells (children of <c> are f, v, is).
    return buf.count(b"<" + prefix + b"c", start, end)


_OVERLAP = 32  # longer than any match of _ROW or _CELL


def _scan_sheet(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: TableLimits, rows: bool = True
) -> None:
    """One pass over a part's bytes, without parsing: no DTD (entities) in its prolog, and, for a
    worksheet, no row longer than ``xlsx_max_row_bytes`` or with more than ``table_max_columns``
    cells (openpyxl builds each row as a tree before it yields it)."""
    unsafe = _error(
        f"文件「{path.name}」含有不安全的 XML 结构（部件「{info.filename}」有 DTD 或实体定义），已拒绝导入。"
    )
    with archive.open(info) as fh:
        chunks = _chunks(fh, unsafe)
        if rows:
            _scan_rows(chunks, info, path, limits)
        else:
            _scan_shared_strings(chunks, info, path, limits, unsafe)


def _chunks(fh, unsafe: Exception):
    """The part's bytes in chunks of 1 MiB, then b"" for the end; its prolog (the first 64 KiB) must
    not declare a DTD or entities."""
    chunk = fh.read(1 << 20)
    upper = chunk[:65536].upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise unsafe
    while chunk:
        yield chunk
        chunk = fh.read(1 << 20)
    yield b""


def _scan_shared_strings(
    chunks, info: zipfile.ZipInfo, path: Path, limits: TableLimits, unsafe: Exception
) -> None:
    """The shared strings: no entities, and not too many strings."""
    strings = 0
    for chunk in chunks:
        if not chunk:
            return
        if b"<!ENTITY" in chunk.upper():
            raise unsafe
        strings += chunk.count(b"<si>") + chunk.count(b"<si ") + chunk.count(b":si>") + chunk.count(b":si ")
        if strings > limits.xlsx_max_shared_strings:
            raise _refuse(
                path,
                f"共享字符串表「{info.filename}」有超过 {limits.xlsx_max_shared_strings} 个字符串",
                f"{limits.xlsx_max_shared_strings} 个",
                "XLSX_MAX_SHARED_STRINGS",
            )


def _scan_rows(chunks, info: zipfile.ZipInfo, path: Path, limits: TableLimits) -> None:
    """A worksheet's rows: each no longer than ``xlsx_max_row_bytes``, with at most ``table_max_columns``
    cells. Cells are counted between row starts, with bytes.count (fast)."""

    def too_wide(number: int) -> Exception:
        return _refuse(
            path,
            f"工作表「{info.filename}」的第{number}个行元素有超过 {limits.table_max_columns} 个单元格",
            f"{limits.table_max_columns} 个",
            "TABLE_MAX_COLUMNS",
        )

    def too_long(number: int) -> Exception:
        return _refuse(
            path,
            f"工作表「{info.filename}」的第{number}个行元素超过 {_mib(limits.xlsx_max_row_bytes)}",
            _mib(limits.xlsx_max_row_bytes),
            "XLSX_MAX_ROW_BYTES",
        )

    row_start, cells, row_number, prefix = 0, 0, 0, b""
    buf, base = b"", 0  # buf starts at absolute offset base
    for chunk in chunks:
        final = not chunk
        buf += chunk
        cut = len(buf) if final else max(len(buf) - _OVERLAP, 0)
        segment = 0
        for at, tag_prefix in _row_starts(buf, cut):
            cells += _cells(buf, segment, at, prefix)
            if row_number and cells > limits.table_max_columns:
                raise too_wide(row_number)
            if row_number and base + at - row_start > limits.xlsx_max_row_bytes:
                raise too_long(row_number)
            row_start, cells, row_number, segment = base + at, 0, row_number + 1, at
            prefix = tag_prefix
        cells += _cells(buf, segment, cut, prefix)
        if row_number and cells > limits.table_max_columns:
            raise too_wide(row_number)
        buf, base = buf[cut:], base + cut
    if row_number and base - row_start > limits.xlsx_max_row_bytes:
        raise too_long(row_number)


def check_upload(path: str | Path, limits: TableLimits | None = None) -> None:
    """The checks before a table file is opened, by its suffix."""
    path = Path(path)
    limits = limits or TableLimits.current()
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        check_xlsx(path, limits)
    elif path.suffix.lower() == ".csv":
        check_file_size(path, limits)


def bounded_lines(text, limits: TableLimits, name: str) -> Iterator[str]:
    """Lines of a text stream for ``csv.reader``, none longer than ``csv_max_line_chars``."""
    cap = limits.csv_max_line_chars
    number = 0
    while True:
        line = text.readline(cap + 1)
        if not line:
            return
        number += 1
        if len(line) > cap:
            raise _error(
                f"文件「{name}」超出导入限制（CSV_MAX_LINE_CHARS）：第{number}行超过 {cap} 个字符。"
                f"未导入任何数据。"
            )
        yield line


def bounded_rows(
    rows: Iterator[tuple[int, list[str]]], limits: TableLimits, sheet: str
) -> Iterator[tuple[int, list[str]]]:
    """Rows of a sheet, refused past ``table_max_rows`` (counting empty rows: a sheet may jump to
    row 1,000,000,000), ``table_max_columns`` or ``table_max_cell_chars``."""
    for number, cells in rows:
        if number > limits.table_max_rows:
            raise _error(
                f"「{sheet}」表超出导入限制（TABLE_MAX_ROWS）：行数超过 {limits.table_max_rows} 行。"
                f"未导入任何数据。"
            )
        width = len(cells)
        while width > limits.table_max_columns and not cells[width - 1]:
            width -= 1  # openpyxl pads a row to the sheet's widest: trailing empty cells do not count
        if width > limits.table_max_columns:
            raise _error(
                f"「{sheet}」表第{number}行超出导入限制（TABLE_MAX_COLUMNS）：有 {width} 列，"
                f"上限为 {limits.table_max_columns} 列。未导入任何数据。"
            )
        for i, cell in enumerate(cells):
            if len(cell) > limits.table_max_cell_chars:
                raise _error(
                    f"「{sheet}」表第{number}行第{i + 1}列超出导入限制（TABLE_MAX_CELL_CHARS）："
                    f"内容有 {len(cell)} 个字符，上限为 {limits.table_max_cell_chars} 个"
                    f"（Excel 单元格的上限）。未导入任何数据。"
                )
        yield number, cells
