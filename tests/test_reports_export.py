"""Exports: Excel with the inputs of every rate as cells and the rate as a formula, PDF with the
CJK fonts embedded and the charts, names by node and month (RFC 5987), and a PDF fetcher that only
serves the project's static files."""

from __future__ import annotations

import io
import re
from datetime import date
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from mediation.extensions import db
from mediation.reports.common import Month
from mediation.reports.figures import monthly_report
from tests.reports_data import case
from tests.test_documents_size import FONT_PROGRAM_LIMIT, embedded_fonts


@pytest.fixture
def october(world):
    w = world
    case(w, w.grid_a, date(2026, 9, 10), prominent=True, reason="当事人外出，下月继续调解。")
    case(w, w.grid_a, date(2026, 10, 1), closed_on=date(2026, 10, 1))
    case(w, w.grid_a, date(2026, 10, 9), closed_on=date(2026, 10, 30), outcome="调解不成功")
    case(w, w.village_b, date(2026, 10, 31), venue="学校")
    db.session.commit()


def download(web, url):
    r = web.client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    disposition = r.headers["Content-Disposition"]
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert match and disposition.startswith("attachment;")
    assert re.search(r'filename="[\x20-\x7e]+"', disposition)  # an ASCII fallback for old clients
    return r, unquote(match.group(1))


def _rate(ws, formula_cell):
    """Evaluate our IF(den=0,"",num/den) formulas from the input cells they reference."""
    formula = ws[formula_cell].value
    match = re.fullmatch(r'=IF\(\((.+)\)=0,"",\((.+)\)/\((.+)\)\)', formula)
    assert match, formula

    def total(expr):
        return sum(ws[ref].value for ref in expr.split("+"))

    den = total(match.group(1))
    return None if den == 0 else round(total(match.group(2)) / total(match.group(3)), 4)


def test_monthly_workbook(web, world, october):
    web.login("qu_center")
    r, name = download(web, f"/reports/monthly.xlsx?node={world.district.code}&month=2026-10")
    assert name == "海滨区_2026-10_月清月结.xlsx"
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["月清月结", "下级节点", "近12个月", "突出问题结转", "满意率"]
    ws = wb["月清月结"]
    report = monthly_report(world.district, Month(2026, 10))
    labels = {ws.cell(row=i, column=1).value: i for i in range(5, 14)}
    assert ws.cell(row=4, column=1).value == "指标" and ws.cell(row=4, column=1).font.bold
    assert ws.column_dimensions["A"].width >= 20
    for label, key in (
        ("上月结转", "carried_in"),
        ("本月新增", "new"),
        ("本月办结", "closed"),
        ("调解成功", "resolved"),
        ("稳控", "stabilized"),
        ("超期", "overdue"),
    ):
        assert ws.cell(row=labels[label], column=2).value == report[key]
        assert ws.cell(row=labels[label], column=3).value == report["prominent"][key]
    assert ws.cell(row=labels["结转下月"], column=2).value.startswith("=")
    clearance = ws.cell(row=labels["办结率"], column=2)
    assert clearance.number_format == "0.00%"
    assert _rate(ws, clearance.coordinate) == report["clearance_rate"]
    assert _rate(ws, f"B{labels['化解成功率']}") == report["resolution_rate"]
    assert _rate(ws, f"C{labels['化解成功率']}") is None  # no prominent case closed: empty, like null
    children = wb["下级节点"]
    names = [children.cell(row=i, column=1).value for i in range(5, 9)]
    assert names == ["海滨街道", "双港镇", "海滨区（本级直属）", "合计"]  # 本级直属 even when zero
    assert children["C8"].value == "=SUM(C5:C7)"
    carried = wb["突出问题结转"]
    assert carried["G5"].value == "当事人外出，下月继续调解。"


def test_shuangbai_and_channels_workbooks(web, world, october):
    web.login("center_b")
    r, name = download(web, f"/reports/shuangbai.xlsx?node={world.town_b.code}&month=2026-10")
    assert name == "双港镇_2026-10_双百.xlsx"
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb["双百"]
    assert ws["A5"].value == "网格总数" and ws["B5"].value == 1 and ws["B6"].value == 0
    assert ws["B7"].value == '=IF((B5)=0,"",(B6)/(B5))'
    assert wb["未报告网格"]["C5"].value == world.grid_b.code
    r, name = download(web, f"/reports/channels.xlsx?node={world.town_b.code}&month=2026-10")
    assert name == "双港镇_2026-10_渠道统计.xlsx"
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["分渠道", "分类别", "民转刑及五进", "属地属事"]
    assert wb["分渠道"]["G5"].value == '=IF((D5)=0,"",(E5)/(D5))'


def _pdf_fonts(data: bytes) -> set[str]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(data))

    def pages(node):
        if node["/Type"] == "/Pages":
            for kid in node["/Kids"]:
                yield from pages(kid.get_object())
        else:
            yield node

    fonts = set()
    for page in pages(reader.root["/Pages"]):
        resources = page["/Resources"]
        resources = resources.get_object() if hasattr(resources, "get_object") else resources
        table = resources.get("/Font", {})
        table = table.get_object() if hasattr(table, "get_object") else table
        fonts |= {str(f.get_object()["/BaseFont"]) for f in table.values()}
    return fonts


def test_pdf_exports(web, world, october):
    web.login("qu_center")
    for kind, label in (("monthly", "月清月结"), ("shuangbai", "双百"), ("channels", "渠道统计")):
        r, name = download(web, f"/reports/{kind}.pdf?node={world.district.code}&month=2026-10")
        assert name == f"海滨区_2026-10_{label}.pdf" and r.mimetype == "application/pdf"
        assert r.data.startswith(b"%PDF")
        fonts = _pdf_fonts(r.data)
        assert any("Noto-Sans-CJK-SC" in f for f in fonts), fonts


def test_pdf_exports_go_through_the_documents_renderer(web, world, october):
    """The report PDF is written like every document: the strict fetcher (static files and the
    rendering's own data URIs, nothing else) and font programs of the glyphs drawn only (with the
    glyph ids kept, one Noto face weighed ≥ 260,000 bytes whatever the text)."""
    web.login("qu_center")
    r, _ = download(web, f"/reports/monthly.pdf?node={world.district.code}&month=2026-10")
    fonts = embedded_fonts(r.data)
    assert fonts and all(name.startswith("Noto-") for name in fonts), fonts
    for name, (key, subtype, size) in fonts.items():
        assert (key, subtype) == ("/FontFile3", "/CIDFontType0C"), name
        assert size < FONT_PROGRAM_LIMIT, (name, size)
