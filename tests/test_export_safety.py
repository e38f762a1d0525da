"""Every workbook and CSV the product writes stores user text as text: a formula planted in a
reason, a name, a summary or a column header stays literal text (data type "s", never "f"), while
the product's own formulas stay formulas; characters a workbook cannot hold (U+FFFE, NUL and the
other C0 controls) in legacy rows are replaced with U+FFFD instead of breaking the export. The
hostile rows are written straight into the tables, past input validation, as legacy rows would be.
Also: the PDF exports of the same data render."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from mediation.common.enums import PartyKind, PartyRole
from mediation.common.spreadsheet import Formula, clean_text, csv_value, put, write_only_row
from mediation.disputes.models import Dispute, Party
from mediation.extensions import db
from mediation.ledger.models import LedgerRecord
from mediation.ledger.service import DISPUTE_SHEET, ImportResult, Issue, export_ledger
from tests.reports_data import case as report_case
from tests.test_ledger import HEADERS, case, invoke
from tests.test_ledger_web import finished, job_id_of, settle, upload
from tests.test_reports_export import download

HYPERLINK = '=HYPERLINK("http://evil","x")'
FORMULAS = [HYPERLINK, "+1", "-2+3", "@SUM(A1)"]


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def broken(prefix: str = "王") -> str:
    """A name with characters a workbook cannot hold; PostgreSQL refuses NUL in text, so there a
    C0 control character other than NUL stands in for it."""
    return f"{prefix}\ufffe五{'' if is_postgres() else chr(0)}\x01六"


def cleaned(text: str) -> str:
    return text.replace("\ufffe", "\ufffd").replace("\x00", "\ufffd").replace("\x01", "\ufffd")


def assert_text(cell, expected: str) -> None:
    assert (cell.value, cell.data_type) == (expected, "s"), cell.coordinate


def assert_formula(cell) -> None:
    assert cell.data_type == "f" and str(cell.value).startswith("="), (cell.coordinate, cell.value)


def column_cells(ws, column: int, first: int = 5) -> list:
    return [ws.cell(row=r, column=column) for r in range(first, ws.max_row + 1)]


@pytest.fixture
def hostile(world):
    """Legacy rows of October 2026: prominent cases carried over with formula-like reasons and
    categories, a town and a grid whose names are formulas, a town whose name cannot be stored."""
    w = world
    w.town_a.name = HYPERLINK
    w.town_b.name = broken("双港")
    w.grid_b.name = "@SUM(A1)"
    w.cases = []
    for i, text in enumerate([*FORMULAS, broken()]):
        w.cases.append(
            report_case(
                w,
                w.grid_a if i % 2 else w.grid_b,
                date(2026, 10, 1 + i),
                prominent=True,
                category=text,
                reason=text,
            )
        )
    report_case(w, w.grid_a, date(2026, 10, 9), closed_on=date(2026, 10, 20))
    db.session.commit()
    return w


# -- reports exports ----------------------------------------------------------------------------


def test_monthly_workbook_keeps_user_text_as_text(web, hostile):
    web.login("qu_center")
    r, _ = download(web, f"/reports/monthly.xlsx?node={hostile.district.code}&month=2026-10")
    wb = load_workbook(io.BytesIO(r.data))
    carried = wb["突出问题结转"]
    expected = [cleaned(t) for t in [*FORMULAS, broken()]]
    for cell, text in zip(column_cells(carried, 7), expected, strict=True):  # 结转说明
        assert_text(cell, text)
    for cell, text in zip(column_cells(carried, 3), expected, strict=True):  # 纠纷类别
        assert_text(cell, text)
    places = {c.value for c in column_cells(carried, 2)}  # 属地: the grids' names
    assert places == {"第1网格", "@SUM(A1)"}
    assert all(c.data_type == "s" for c in column_cells(carried, 2))

    children = wb["下级节点"]
    assert_text(children["A5"], HYPERLINK)
    assert_text(children["A6"], cleaned(broken("双港")))
    assert children["A7"].value.endswith("（本级直属）")  # cases whose 属地 is the district itself
    assert_text(children["A8"], "合计")
    # the product's own formulas are still formulas
    for ref in ("J5", "K5", "C8", "J8", "L8"):
        assert_formula(children[ref])
    main = wb["月清月结"]
    labels = {main.cell(row=i, column=1).value: i for i in range(5, 14)}
    for label in ("结转下月", "办结率", "化解成功率"):
        assert_formula(main.cell(row=labels[label], column=2))
        assert_formula(main.cell(row=labels[label], column=3))
    assert main.cell(row=labels["本月新增"], column=2).data_type == "n"
    assert_formula(wb["近12个月"]["F5"])
    assert_formula(wb["近12个月"]["G5"])


def test_shuangbai_workbook_keeps_user_text_as_text(web, hostile):
    web.login("qu_center")
    r, _ = download(web, f"/reports/shuangbai.xlsx?node={hostile.district.code}&month=2026-10")
    wb = load_workbook(io.BytesIO(r.data))
    missing = wb["未报告网格"]
    names = {c.value: c for c in column_cells(missing, 1)}
    assert set(names) == {"第1网格", "@SUM(A1)"}
    assert_text(names["@SUM(A1)"], "@SUM(A1)")
    places = column_cells(missing, 2)
    assert {c.value for c in places} == {
        f"{HYPERLINK}/新家园社区/第1网格",
        f"{cleaned(broken('双港'))}/双港村/@SUM(A1)",
    }
    assert all(c.data_type == "s" for c in places)
    ws = wb["双百"]
    assert_formula(ws["B7"])
    assert_formula(ws["B11"])


def test_channels_workbook_keeps_user_text_as_text(web, hostile):
    web.login("qu_center")
    r, _ = download(web, f"/reports/channels.xlsx?node={hostile.district.code}&month=2026-10")
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb["分类别"]
    cells = {c.value: c for c in column_cells(ws, 1)}
    for text in [*FORMULAS, broken()]:
        assert_text(cells[cleaned(text)], cleaned(text))
    total = ws.max_row
    assert ws.cell(row=total, column=1).value == "合计"
    assert_formula(ws.cell(row=5, column=7))
    assert_formula(ws.cell(row=total, column=2))
    assert_formula(ws.cell(row=total, column=7))


def test_pdf_exports_render_the_same_text(web, hostile):
    web.login("qu_center")
    for kind in ("monthly", "shuangbai", "channels"):
        r, _ = download(web, f"/reports/{kind}.pdf?node={hostile.district.code}&month=2026-10")
        assert r.data.startswith(b"%PDF"), kind


# -- ledger -------------------------------------------------------------------------------------


def test_ledger_export_keeps_user_text_as_text(app, hostile, tmp_path):
    w = hostile
    bad = broken()
    texts = [*FORMULAS, "\t=1+1", "#N/A"]
    d = db.session.get(Dispute, w.cases[0].id)
    d.summary = texts[0]
    d.source = "+1"
    for i, text in enumerate([*texts, bad]):
        kind = PartyKind.PERSON if i % 2 else PartyKind.ORGANIZATION
        db.session.add(
            Party(dispute_id=d.id, position=i, role=PartyRole.APPLICANT, kind=kind, name=text, address=text)
        )
    db.session.add(LedgerRecord(dispute_id=d.id, source_row=2, extra={HYPERLINK: "-2+3", "备注": bad}))
    db.session.commit()

    out = tmp_path / "export.xlsx"
    export_ledger(out, w.district)
    wb = load_workbook(out)
    disputes = wb[DISPUTE_SHEET]
    header = {c.value: c for c in disputes[1]}
    assert_text(header[HYPERLINK], HYPERLINK)  # a column header from an imported workbook
    row = {h: disputes.cell(row=2, column=c.column) for h, c in header.items()}
    assert row["案件编号"].value == d.case_no
    assert_text(row["简要情况"], HYPERLINK)
    assert_text(row["来源"], "+1")
    assert_text(row["结转说明"], HYPERLINK)
    assert_text(row[HYPERLINK], "-2+3")
    assert_text(row["备注"], cleaned(bad))
    assert row["登记日期"].is_date
    places = {
        disputes.cell(row=r, column=header["属地"].column).value for r in range(2, disputes.max_row + 1)
    }
    assert f"海滨区/{cleaned(broken('双港'))}/双港村/@SUM(A1)" in places
    reasons = [disputes.cell(row=r, column=header["结转说明"].column) for r in range(2, disputes.max_row + 1)]
    assert cleaned(bad) in [c.value for c in reasons] and all(c.data_type == "s" for c in reasons if c.value)

    parties = wb["当事人"]
    names = [parties.cell(row=r, column=4) for r in range(2, parties.max_row + 1)]
    addresses = [parties.cell(row=r, column=7) for r in range(2, parties.max_row + 1)]
    for cells in (names, addresses):
        for cell, text in zip(cells, [*texts, cleaned(bad)], strict=True):
            assert_text(cell, text)


def write_hostile_csv(path, rows: list[dict], extra: dict[str, str]):
    headers = [*HEADERS, *extra]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(headers)
        for r in rows:
            out.writerow([{**r, **extra}.get(h, "") for h in headers])
    return path


def test_rejects_workbook_of_a_partial_import_keeps_user_text_as_text(app, world, tmp_path):
    bad_name = "赵\ufffe六\x00\x01"  # in the file: a CSV can hold them; the bad row is not stored
    path = write_hostile_csv(
        tmp_path / "台账.csv",
        [
            case("G-1"),
            case(
                "B-1",
                状态="没有这种状态",
                简要情况=HYPERLINK,
                来源="+1",
                结转说明="-2+3",
                纠纷类别="@SUM(A1)",
            ),
            case("B-2", 属地="无此地", 简要情况=bad_name),
        ],
        {HYPERLINK: "@SUM(A1)"},
    )
    rejects = tmp_path / "rejects.xlsx"
    r = invoke(app, "ledger", "import", str(path), "--partial", "--rejects", str(rejects), "--quiet")
    assert r.exit_code == 2, r.stderr
    db.session.rollback()
    assert db.session.scalar(select(Dispute.case_no)) == "G-1"

    ws = load_workbook(rejects)[DISPUTE_SHEET]
    header = {c.value: c.column for c in ws[1]}
    assert_text(ws.cell(row=1, column=header[HYPERLINK]), HYPERLINK)
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    assert set(rows) == {"B-1", "B-2"}
    b1 = rows["B-1"]
    for column, text in (
        ("简要情况", HYPERLINK),
        ("来源", "+1"),
        ("结转说明", "-2+3"),
        ("纠纷类别", "@SUM(A1)"),
        (HYPERLINK, "@SUM(A1)"),
    ):
        assert_text(ws.cell(row=b1, column=header[column]), text)
    assert_text(ws.cell(row=rows["B-2"], column=header["简要情况"]), "赵\ufffd六\ufffd\ufffd")
    assert "状态" in ws.cell(row=b1, column=header["错误原因"]).value


def read_report(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_import_report_csv_is_cleaned(app, world, web, tmp_path):
    legacy = report_case(world, world.grid_b, date(2025, 3, 3))
    legacy.case_no = broken("D-")
    db.session.commit()
    path = write_hostile_csv(tmp_path / "台账.csv", [case(broken("D-")), case("E-2", 状态="")], {})
    web.login("admin")
    job_id = job_id_of(upload(web, path))
    finished(web, job_id)
    r = web.client.get(f"/ledger/jobs/{job_id}/report")
    settle()
    assert r.status_code == 200
    text = r.get_data().decode("utf-8-sig")
    assert "\ufffe" not in text and "\x00" not in text and "\x01" not in text
    rows = read_report(r.get_data())
    duplicate = next(row for row in rows if row[0] == "重复")
    assert duplicate[1:4] == ["纠纷", "2", "案件编号"]
    assert f"「{cleaned(broken('D-'))}」已存在" in duplicate[4]


def test_import_report_csv_never_starts_a_formula(app, tmp_path):
    from mediation.ledger.jobs import _write_report

    result = ImportResult(source="x.csv")
    result.notes = ["@SUM(A1)", "\t=1+1"]
    result.errors = [Issue(DISPUTE_SHEET, 3, HYPERLINK, "-2+3"), Issue(DISPUTE_SHEET, 4, "", "+1")]
    out = tmp_path / "report.csv"
    _write_report(out, result)
    rows = read_report(out.read_bytes())
    assert rows[2][4] == "'@SUM(A1)" and rows[3][4] == "'\t=1+1"
    assert rows[4] == ["错误", "纠纷", "3", "'" + HYPERLINK, "'-2+3"]
    assert rows[5] == ["错误", "纠纷", "4", "", "'+1"]


# -- the writer itself --------------------------------------------------------------------------


def test_writer_rules():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for i, text in enumerate([*FORMULAS, "\t=1+1", "#DIV/0!", "\r=1"], start=1):
        put(ws, i, 1, text)
    put(ws, 10, 1, Formula("=SUM(A1:A2)"))
    put(ws, 11, 1, -5)
    put(ws, 12, 1, "a\x00b\ufffe\uffff\ud800\ufdd0\U0010fffe\U0001f600\tc\r\nd")
    buf = io.BytesIO()
    wb.save(buf)
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    for i, text in enumerate([*FORMULAS, "\t=1+1", "#DIV/0!", "\n=1"], start=1):
        assert_text(ws.cell(row=i, column=1), text)
    assert_formula(ws["A10"])
    assert ws["A11"].value == -5
    assert_text(ws["A12"], "a\ufffdb\ufffd\ufffd\ufffd\ufffd\ufffd\U0001f600\tc\nd")
    with pytest.raises(ValueError):
        Formula("SUM(A1)")

    from openpyxl import Workbook as W

    wo = W(write_only=True).create_sheet("x")
    cells = write_only_row(wo, [HYPERLINK, "ok", Formula("=A1"), 3, None])
    assert [getattr(c, "data_type", None) for c in cells] == ["s", None, "f", None, None]
    assert clean_text("ok\tfine\n") == "ok\tfine\n"
    assert [csv_value(v) for v in ("=1", "+1", "-1", "@a", "\ta", "\ra", "ok", -1, None)] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\ta",
        "'\na",
        "ok",
        -1,
        None,
    ]
