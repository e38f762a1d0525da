"""台账 upload hardening: what a workbook may expand to (zip bombs, XML bombs, external entities,
huge cells, rows and lines), measured peak memory of an import of a bomb, and who may import what
(units and 属地 outside the importer's reach, messages that reveal nothing outside their scope)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl.xml
import pytest

from mediation.common.tabular import TableError, read_rows
from mediation.common.upload_limits import TableLimits, check_xlsx
from mediation.ledger.workbook import LedgerWorkbook
from tests.test_ledger import by_case_no, case, run, write_csv, write_ledger

ROOT = Path(__file__).resolve().parent.parent
SST = "xl/sharedStrings.xml"
SST_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
)


def rebuild(base: Path, out: Path, replace: dict[str, bytes | None] | None = None, stream=None) -> Path:
    """A copy of the workbook ``base`` with some parts replaced (None: left out); ``stream`` =
    (part name, iterable of byte chunks) is written in streaming fashion (never held whole)."""
    replace = dict(replace or {})
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        if SST in replace or stream and stream[0] == SST:  # declare it, so that openpyxl reads it
            types = src.read("[Content_Types].xml")
            replace.setdefault(
                "[Content_Types].xml",
                types.replace(
                    b"</Types>",
                    (
                        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
                    ),
                ),
            )
        for info in src.infolist():
            if stream and info.filename == stream[0]:
                continue
            if info.filename in replace:
                if replace[info.filename] is not None:
                    dst.writestr(info.filename, replace[info.filename])
                continue
            dst.writestr(info, src.read(info))
        for name, data in replace.items():
            if data is not None and name not in src.namelist():
                dst.writestr(name, data)
        if stream:
            with dst.open(stream[0], "w", force_zip64=True) as fh:
                for chunk in stream[1]:
                    fh.write(chunk)
    return out


def sst_bomb(megabytes: int):
    """One shared string of ``megabytes`` MiB of 'A' (deflates about 1000:1)."""
    yield SST_HEAD + b"<si><t>"
    block = b"A" * (1 << 20)
    for _ in range(megabytes):
        yield block
    yield b"</t></si></sst>"


@pytest.fixture
def base_book(app, world, tmp_path) -> Path:
    return write_ledger(tmp_path / "base.xlsx", [case()])


def _refusal(result) -> str:
    assert not result.ok and not result.written and result.imported == 0
    return " ".join(i.reason for i in result.errors)


# -- zip bombs ------------------------------------------------------------------------------------

PEAK_SCRIPT = r"""
import json, resource, sys
from mediation import create_app
from mediation.extensions import db
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[2], "SECRET_KEY": "x",
                  "INSTANCE_DIR": sys.argv[3]})
with app.app_context():
    db.create_all()
    from mediation.ledger.service import import_ledger
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = import_ledger(sys.argv[1])
    db.session.rollback()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "peak_kib": peak, "errors": [i.reason for i in result.errors]}))
"""

# The bound stated in the README: importing any file adds at most this much to the process's
# peak memory beyond the app itself (a refused bomb adds almost nothing; the largest accepted
# shared-strings table, XLSX_MAX_SHARED_STRINGS_BYTES = 64 MiB, is the dominant term).
BOMB_EXTRA_BOUND_MIB = 40


def _peak(path: Path, tmp_path: Path) -> dict:
    db_file = tmp_path / f"peak-{path.stem}.sqlite"
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path), f"sqlite:///{db_file}", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_shared_strings_bomb_is_refused_before_openpyxl_and_memory_stays_bounded(base_book, tmp_path):
    """A 160 MiB sharedStrings.xml that deflates to about 160 KiB: the import is refused from the zip
    directory, and the importing process's peak RSS, measured, grows by less than the bound."""
    bomb = rebuild(base_book, tmp_path / "bomb.xlsx", stream=(SST, sst_bomb(160)))
    assert bomb.stat().st_size < 1024 * 1024
    small = _peak(base_book, tmp_path)  # a normal one-row import: the baseline of this process
    big = _peak(bomb, tmp_path)
    assert any("XLSX_MAX_RATIO" in e or "XLSX_MAX_SHARED_STRINGS_BYTES" in e for e in big["errors"]), big
    grown_mib = (big["peak_kib"] - small["peak_kib"]) / 1024
    assert grown_mib < BOMB_EXTRA_BOUND_MIB, (small, big)
    assert (big["peak_kib"] - big["before_kib"]) / 1024 < BOMB_EXTRA_BOUND_MIB, big


def test_zip_directory_limits_each_name_the_limit_hit(base_book, tmp_path):
    def refused(path, **limits) -> str:
        with pytest.raises(TableError) as err:
            check_xlsx(path, TableLimits(**limits))
        return str(err.value)

    bomb = rebuild(base_book, tmp_path / "ratio.xlsx", stream=(SST, sst_bomb(8)))
    assert "XLSX_MAX_RATIO" in refused(bomb) and "压缩比" in refused(bomb)
    assert "XLSX_MAX_SHARED_STRINGS_BYTES" in refused(
        bomb, xlsx_max_ratio=10**6, xlsx_max_shared_strings_bytes=1024 * 1024
    )
    many = rebuild(
        base_book,
        tmp_path / "many.xlsx",
        {SST: SST_HEAD + b"".join(b"<si><t>%d</t></si>" % i for i in range(2000)) + b"</sst>"},
    )
    assert "XLSX_MAX_SHARED_STRINGS" in refused(many, xlsx_max_shared_strings=1000)
    check_xlsx(many)
    assert "XLSX_MAX_TOTAL_BYTES" in refused(bomb, xlsx_max_ratio=10**6, xlsx_max_total_bytes=4 * 1024 * 1024)
    assert "XLSX_MAX_SHEET_BYTES" in refused(bomb, xlsx_max_ratio=10**6, xlsx_max_sheet_bytes=1024 * 1024)
    assert "XLSX_MAX_ENTRIES" in refused(base_book, xlsx_max_entries=3)
    assert "UPLOAD_MAX_FILE_BYTES" in refused(base_book, upload_max_file_bytes=1000)
    # any part that openpyxl parses whole (styles, workbook, relations) is small
    styles = b"<styleSheet>" + b"<!-- padding -->" * 400_000 + b"</styleSheet>"
    padded = rebuild(base_book, tmp_path / "styles.xlsx", {"xl/styles.xml": styles})
    assert "XLSX_MAX_PART_BYTES" in refused(padded, xlsx_max_ratio=10**6)
    # a relation that points the styles at a worksheet-sized part does not make it a worksheet
    with zipfile.ZipFile(base_book) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").replace(b'Target="styles.xml"', b'Target="/xl/big.xml"')
    renamed = rebuild(
        base_book, tmp_path / "renamed.xlsx", {"xl/_rels/workbook.xml.rels": rels, "xl/big.xml": styles}
    )
    assert "XLSX_MAX_PART_BYTES" in refused(renamed, xlsx_max_ratio=10**6)
    # not a zip at all
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    assert "不是有效的 .xlsx" in refused(garbage)
    check_xlsx(base_book)  # a normal workbook passes


def test_a_bomb_through_the_import_is_a_chinese_report_not_a_crash(base_book, tmp_path):
    bomb = rebuild(base_book, tmp_path / "bomb.xlsx", stream=(SST, sst_bomb(8)))
    reason = _refusal(run(bomb))
    assert "超出导入限制" in reason and "XLSX_MAX_RATIO" in reason and "未导入任何数据" in reason


# -- XML bombs and external entities --------------------------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE sst [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
)
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>'
)


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True


def test_billion_laughs_is_refused(base_book, tmp_path):
    bomb = rebuild(base_book, tmp_path / "laughs.xlsx", {SST: LAUGHS})
    assert "不安全的 XML" in _refusal(run(bomb))
    with pytest.raises(TableError, match="不安全的 XML"):
        list(read_rows(bomb))


def test_external_entities_are_refused(base_book, tmp_path):
    xxe = rebuild(base_book, tmp_path / "xxe.xlsx", {SST: XXE})
    reason = _refusal(run(xxe))
    assert "不安全的 XML" in reason and "root:" not in reason


def test_a_dtd_hidden_behind_a_long_prolog_is_refused_by_defusedxml(base_book, tmp_path):
    """The byte scan looks at a worksheet's first 64 KiB only: beyond it, openpyxl's parser (defusedxml)
    refuses the entity declarations, and the import reports it in Chinese."""
    with zipfile.ZipFile(base_book) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    hidden = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!--'
        + b" " * 100_000
        + b'-->\n<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">'
        + b"".join(b' <!ENTITY l%d "%s">' % (i, b"ha" * 10) for i in range(3))
        + b"]>"
        + sheet
    )
    book = rebuild(base_book, tmp_path / "hidden.xlsx", {"xl/worksheets/sheet1.xml": hidden})
    assert "不安全的 XML" in _refusal(run(book))


# -- rows, cells, lines ---------------------------------------------------------------------------


def test_cells_rows_columns_and_csv_lines_are_bounded(app, world, tmp_path):
    # (openpyxl itself cuts an xlsx cell to Excel's 32,767 characters; a CSV cell is checked here)
    long_cell = write_ledger(tmp_path / "cell.xlsx", [case()])
    with zipfile.ZipFile(long_cell) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    far = sheet.replace(
        b"</sheetData>",
        b'<row r="1000000000"><c r="A1000000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    far_book = rebuild(
        write_ledger(tmp_path / "ok.xlsx", [case()]), tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": far}
    )
    assert "TABLE_MAX_ROWS" in _refusal(run(far_book))

    wide = sheet.replace(
        b"</sheetData>",
        b'<row r="3">' + b'<c t="inlineStr"><is><t>1</t></is></c>' * 2000 + b"</row></sheetData>",
    )
    wide_book = rebuild(long_cell, tmp_path / "wide.xlsx", {"xl/worksheets/sheet1.xml": wide})
    assert "TABLE_MAX_COLUMNS" in _refusal(run(wide_book))

    fat_row = sheet.replace(
        b"</sheetData>",
        b'<row r="3"><c t="inlineStr"><is><t>'
        + random.Random(7).randbytes(9 * 1024 * 1024 // 2).hex().encode()
        + b"</t></is></c></row></sheetData>",
    )
    fat_book = rebuild(long_cell, tmp_path / "fat.xlsx", {"xl/worksheets/sheet1.xml": fat_row})
    assert "XLSX_MAX_ROW_BYTES" in _refusal(run(fat_book))

    csv_path = write_csv(tmp_path / "ledger.csv", [case()])
    with csv_path.open("a", encoding="utf-8") as fh:
        fh.write("x" * (2 * 1024 * 1024) + "\n")
    assert "CSV_MAX_LINE_CHARS" in _refusal(run(csv_path))
    csv_cell = write_csv(tmp_path / "cell.csv", [case(简要情况="漏" * 40_000)])
    assert "TABLE_MAX_CELL_CHARS" in _refusal(run(csv_cell))


def test_limits_are_settings(app, world, tmp_path):
    app.config["TABLE_MAX_ROWS"] = 3
    path = write_ledger(tmp_path / "rows.xlsx", [case(f"（2025）海滨调字第{n:04d}号") for n in range(1, 6)])
    assert "TABLE_MAX_ROWS" in _refusal(run(path))
    with pytest.raises(TableError, match="TABLE_MAX_ROWS"):
        with LedgerWorkbook(path) as book:
            list(book.open("纠纷").rows())
    app.config["TABLE_MAX_ROWS"] = 1_048_576
    result = run(path)
    assert result.ok and result.imported == 5 and by_case_no("（2025）海滨调字第0005号") is not None


# -- who may import what --------------------------------------------------------------------------

PATH_A = "海滨街道/新家园社区/第1网格"


def _reasons(result, column: str | None = None) -> list[str]:
    return [i.reason for i in result.errors if column is None or i.column == column]


def test_a_town_cannot_import_cases_led_by_another_towns_units(app, world, tmp_path):
    """海滨街道's 综治中心 imports a case of its own 属地, but closed as 调解成功 by 双港镇's committee with
    双港派出所 as co-handler: an error row, nothing written. Units of its own town and of the levels
    above (the district court) are fine; the CLI (no user) and an admin may name any unit."""
    from mediation.disputes.models import Dispute

    user = world.center_user_a.user
    foreign = case(
        "（2025）海滨街道调字第0101号", 属地=PATH_A, 承办单位="双港镇人民调解委员会", 联办单位="双港派出所"
    )
    path = write_ledger(tmp_path / "foreign.xlsx", [foreign])
    result = run(path, user=user)
    assert not result.written and result.imported == 0
    assert any("双港镇人民调解委员会" in r and "无权" in r for r in _reasons(result, "承办单位"))
    assert any("双港派出所" in r and "无权" in r for r in _reasons(result, "联办单位"))
    assert by_case_no(foreign["案件编号"]) is None

    lead_only = case("（2025）海滨街道调字第0102号", 属地=PATH_A, 承办单位="双港镇人民调解委员会")
    result = run(
        write_ledger(
            tmp_path / "partial.xlsx",
            [
                lead_only,
                case(
                    "（2025）海滨街道调字第0103号",
                    属地=PATH_A,
                    承办单位="海滨街道人民调解委员会",
                    联办单位="海滨区人民法院",
                ),
            ],
        ),
        user=user,
        partial=True,
    )
    assert result.imported == 1 and result.rejected_disputes == 1
    assert by_case_no("（2025）海滨街道调字第0103号").unit.code == "TW-A"
    assert by_case_no("（2025）海滨街道调字第0102号") is None

    # 属地 in another town: refused as before
    result = run(write_ledger(tmp_path / "node.xlsx", [case("（2025）海滨街道调字第0104号")]), user=user)
    assert not result.written and any("辖区" in r for r in _reasons(result, "属地"))

    # the CLI acts as the system, an admin likewise
    assert run(path).imported == 1
    other = case("（2025）海滨街道调字第0105号", 属地=PATH_A, 承办单位="双港镇人民调解委员会")
    assert run(write_ledger(tmp_path / "admin.xlsx", [other]), user=world.admin.user).imported == 1
    assert db_count(Dispute) == 3


def db_count(model) -> int:
    from sqlalchemy import func, select

    from mediation.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def test_a_case_number_of_another_town_is_refused_without_revealing_it(app, world, tmp_path):
    """A number taken by a case the importer cannot see, and a number in another town's numbering that
    does not exist, get the same neutral message; the owner town sees its own duplicate as usual."""
    from mediation.ledger.service import CASE_NO_UNAVAILABLE

    abbr = world.committee_b.abbreviation
    taken = f"（2025）{abbr}调字第0007号"
    assert run(write_ledger(tmp_path / "b.xlsx", [case(taken)])).imported == 1  # 双港镇's case (CLI)

    user_a = world.center_user_a.user
    rows = [
        case(taken, 属地=PATH_A, 承办单位="海滨街道人民调解委员会"),
        case(f"（2025）{abbr}调字第0999号", 属地=PATH_A, 承办单位="海滨街道人民调解委员会"),
    ]
    result = run(write_ledger(tmp_path / "a.xlsx", rows), user=user_a)
    assert not result.written and result.duplicates == []
    by_row = {i.row: i.reason for i in result.errors if i.column == "案件编号"}
    assert by_row == {2: CASE_NO_UNAVAILABLE, 3: CASE_NO_UNAVAILABLE}
    text = "\n".join(result.report_lines())
    assert "已存在" not in text

    # a legacy number (not the system's numbering) taken in another town: the same message
    run(write_ledger(tmp_path / "b2.xlsx", [case("旧台账-0001")]))
    result = run(
        write_ledger(
            tmp_path / "a2.xlsx", [case("旧台账-0001", 属地=PATH_A, 承办单位="海滨街道人民调解委员会")]
        ),
        user=user_a,
    )
    assert [i.reason for i in result.errors] == [CASE_NO_UNAVAILABLE] and result.duplicates == []

    # the owner town: its own case is a duplicate, as before
    result = run(write_ledger(tmp_path / "b3.xlsx", [case(taken)]), user=world.center_user_b.user)
    assert result.ok and [i.reason for i in result.duplicates] == [
        f"案件编号「{taken}」已存在，按重复处理，未更新。"
    ]
    # a fresh number of the importer's own numbering is fine
    own = f"（2025）{world.committee_a.abbreviation}调字第0001号"
    result = run(
        write_ledger(tmp_path / "a3.xlsx", [case(own, 属地=PATH_A, 承办单位="海滨街道人民调解委员会")]),
        user=user_a,
    )
    assert result.ok and result.imported == 1


def test_the_web_upload_is_user_scoped(app, world, web, tmp_path):
    from tests.test_ledger_web import finished, job_id_of, upload

    web.login("center_a")
    foreign = case("（2025）海滨街道调字第0201号", 属地=PATH_A, 承办单位="双港镇人民调解委员会")
    html = finished(web, job_id_of(upload(web, write_ledger(tmp_path / "web.xlsx", [foreign]))))
    assert "无权以该单位的名义导入" in html and "未导入任何数据" in html
    assert by_case_no("（2025）海滨街道调字第0201号") is None
