"""The one writer of cells into the files the product hands out: every ``.xlsx`` (openpyxl, normal
or write-only) and every ``.csv``.

Two rules, applied here and nowhere else:

* **Text is text, never a formula.** Any ``str`` is stored with the explicit string data type
  (``data_type = "s"``, an inline string in the file), so ``=HYPERLINK(…)``, ``+1``, ``-2+3``,
  ``@SUM(A1)``, a tab- or CR-led text or ``#N/A`` stay literal text whatever the user typed.
  Only a :class:`Formula`, which only code creates, becomes a formula cell. In a CSV there is no
  data type, so a text starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a leading
  single quote (OWASP, "CSV Injection"); numbers are written as numbers.
* **Text is storable.** Characters that XML 1.0 (the inside of an ``.xlsx``) cannot hold or that
  break an export — C0 control characters other than tab and line feed (NUL, U+0001 … U+001F),
  lone surrogates (U+D800 … U+DFFF) and the Unicode noncharacters (U+FDD0 … U+FDEF and the last two
  code points of every plane, U+FFFE/U+FFFF … U+10FFFE/U+10FFFF) — are **replaced with U+FFFD**
  (�), so that the reader sees that something was there; a carriage return (CR LF or a lone CR) is
  written as a line feed. :func:`clean_text` is the same cleaning for other outputs (the PDFs).
"""

from __future__ import annotations

import csv
import re
from enum import Enum

REPLACEMENT = "\ufffd"

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
# the noncharacters beyond the BMP: a separate pattern, searched only in text that has such code
# points (a character class with them is several times slower on every cell)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_UNSTORABLE_ASTRAL = re.compile(
    "[" + "".join(f"{chr(plane << 16 | 0xFFFE)}-{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17)) + "]"
)

# OWASP: cells starting with these are formulas (or DDE) to Excel, LibreOffice and Google Sheets;
# a line feed too, since clean_text turns a leading CR into one
CSV_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")


class Formula(str):
    """A formula that the product writes on purpose, e.g. ``Formula("=SUM(B5:B9)")``. The only way
    to get a formula cell out of this module: user text is a plain ``str`` and stays text."""

    __slots__ = ()

    def __new__(cls, text: str) -> Formula:
        if not text.startswith("="):
            raise ValueError(f"a formula starts with '=': {text!r}")
        return super().__new__(cls, text)


def clean_text(text: str) -> str:
    """``text`` without the characters that an export cannot store: each is replaced with U+FFFD,
    CR LF and a lone CR become a line feed. Tab and line feed stay."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNSTORABLE.sub(REPLACEMENT, text)
    if not text.isascii() and _ASTRAL.search(text):
        text = _UNSTORABLE_ASTRAL.sub(REPLACEMENT, text)
    return text


def _typed(value):
    """(value to store, openpyxl data type to force or None) for one cell."""
    if isinstance(value, Formula):
        return str(value), "f"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return clean_text(value), "s"
    return value, None


def set_cell(cell, value):
    """Put ``value`` into an openpyxl cell (of a normal or a write-only worksheet) by the rules
    above, and return the cell."""
    value, data_type = _typed(value)
    cell.value = value  # openpyxl guesses "f" for "=…" and "e" for "#N/A"…: overruled just below
    if data_type is not None:
        cell.data_type = data_type
    return cell


def put(ws, row: int, column: int, value):
    """``ws.cell(row, column, value)`` of a normal worksheet, by the rules above."""
    return set_cell(ws.cell(row=row, column=column), value)


def write_only_cell(ws, value=None):
    """A cell for a write-only worksheet (to style it before ``ws.append``), by the rules above."""
    from openpyxl.cell import WriteOnlyCell  # heavy: openpyxl stays out of start-up

    return set_cell(WriteOnlyCell(ws), value)


def write_only_row(ws, values) -> list:
    """One row for ``ws.append`` of a write-only worksheet: every text and formula as a cell with
    its data type set; numbers, dates and cells from :func:`write_only_cell` as they are."""
    # heavy: openpyxl stays out of start-up
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    row = []
    for value in values:
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, str) and not isinstance(value, Formula):
            value = clean_text(value)
            if value[:1] != "=" and value not in ERROR_CODES:
                # openpyxl stores such text with data type "s" itself: the very same cell, without
                # building a cell object per text (a large ledger export is mostly text)
                row.append(value)
                continue
        if isinstance(value, str):
            value = set_cell(WriteOnlyCell(ws), value)
        row.append(value)
    return row


def csv_value(value):
    """One CSV field: text cleaned and, when it would start a formula, led by a single quote."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        value = clean_text(value)
        if value.startswith(CSV_DANGEROUS_START):
            value = "'" + value
    return value


class CsvWriter:
    """``csv.writer`` with every field through :func:`csv_value`."""

    def __init__(self, fh, **kwargs):
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, row) -> None:
        self._writer.writerow([csv_value(v) for v in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fh, **kwargs) -> CsvWriter:
    return CsvWriter(fh, **kwargs)
