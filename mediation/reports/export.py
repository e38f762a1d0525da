"""Exports of each report: an Excel workbook (openpyxl: headers, widths, number formats, the inputs
of every rate as cells and the rate as a formula) and a PDF (WeasyPrint, with the same inline SVG
charts as the page). Files are named by node and period: 海滨区_2026-10_月清月结.xlsx,
海滨区_2026-W48_周报.xlsx (周报 and 同比环比: Excel only)."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Response, render_template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from mediation.common.spreadsheet import Formula, clean_text, put
from mediation.common.time import to_local, utcnow
from mediation.documents.render import Renderer
from mediation.geo.models import Node
from mediation.reports import charts, figures
from mediation.reports.common import Period
from mediation.reports.figures import FIGURE_LABELS, VENUE_KEYS
from mediation.reports.scorecard import scorecard

KIND_LABELS = {
    "monthly": "月清月结",
    "shuangbai": "双百",
    "channels": "渠道统计",
    "weekly": "周报",
    "comparison": "同比环比",
    "scorecard": "考核排名",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"

HEADER_FILL = PatternFill("solid", fgColor="1F5FA8")
HEADER_FONT = Font(name="Noto Sans CJK SC", bold=True, color="FFFFFF")
TITLE_FONT = Font(name="Noto Sans CJK SC", bold=True, size=14)
BODY_FONT = Font(name="Noto Sans CJK SC", size=11)
NOTE_FONT = Font(name="Noto Sans CJK SC", size=9, color="5D6B7A")
TOTAL_FILL = PatternFill("solid", fgColor="E8F0FA")
THIN = Side(style="thin", color="D9E0E8")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
PERCENT = "0.00%"
COUNT = "#,##0"


def filename(node: Node, month: Period, kind: str, ext: str) -> str:
    safe = "".join(ch for ch in clean_text(node.name) if ch not in '\\/:*?"<>|').strip() or node.code
    return f"{safe}_{month.key}_{KIND_LABELS[kind]}.{ext}"


def attachment(data: bytes, name: str, mimetype: str, fallback: str = "report") -> Response:
    """The file as a download; the UTF-8 name per RFC 5987 (filename*), an ASCII one for old clients."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def ascii_filename(node: Node, month: Period, kind: str, ext: str) -> str:
    return f"{node.code}_{month.key}_{kind}.{ext}"


def download(kind: str, fmt: str, node: Node, month: Period) -> Response:
    """The report as an .xlsx or .pdf attachment."""
    context = report_context(kind, node, month)
    data = WORKBOOKS[kind](context) if fmt == "xlsx" else pdf(context)
    return attachment(
        data,
        filename(node, month, kind, fmt),
        XLSX if fmt == "xlsx" else PDF,
        ascii_filename(node, month, kind, fmt),
    )


def report_context(kind: str, node: Node, month: Period) -> dict:
    ctx = {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "node": node,
        "month": month,
        "generated_at": to_local(utcnow()),
        "labels": FIGURE_LABELS,
    }
    if kind == "weekly":
        ctx.update(figures.weekly_page(node, month))
    elif kind == "comparison":
        ctx["report"] = figures.comparison_report(node, month)
    elif kind == "scorecard":
        ctx["report"] = scorecard(node, month)
    elif kind == "monthly":
        ctx.update(figures.monthly_page(node, month))
        ctx["charts"] = [
            charts.trend_chart(ctx["points"], f"{node.name}近12个月趋势"),
            charts.category_chart(ctx["channels"]["categories"], title="按类别（本月新增）"),
            charts.channel_chart(ctx["channels"]["channels"]),
        ]
    elif kind == "shuangbai":
        ctx["report"] = figures.shuangbai_report(node, month)
        ctx["missing"] = figures.grids_not_reported(node, month)
        ctx["charts"] = [charts.venue_chart(ctx["report"]["by_venue"])]
    else:
        ctx["report"] = figures.channel_report(node, month)
        ctx["charts"] = [
            charts.channel_chart(ctx["report"]["channels"]),
            charts.category_chart(ctx["report"]["categories"], "received", "按类别（受理）"),
        ]
    return ctx


# ------------------------------------------------------------------------------------- Excel


def _title(ws: Worksheet, title: str, note: str, width: int) -> None:
    put(ws, 1, 1, title).font = TITLE_FONT
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    put(ws, 2, 1, note).font = NOTE_FONT
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.row_dimensions[1].height = 24


def _header(ws: Worksheet, row: int, headers: list[str], widths: list[int]) -> None:
    for col, (text, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = put(ws, row, col, text)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=row + 1, column=2)


def _put(ws: Worksheet, row: int, col: int, value, fmt: str | None = None, bold: bool = False, fill=None):
    """One cell (text stays text; only a Formula is a formula: mediation.common.spreadsheet)."""
    cell = put(ws, row, col, value)
    cell.font = Font(name="Noto Sans CJK SC", size=11, bold=bold)
    cell.border = BOX
    if fmt:
        cell.number_format = fmt
        cell.alignment = Alignment(horizontal="right")
    if fill:
        cell.fill = fill
    return cell


def _ratio(num: str, den: str) -> Formula:
    """A rate as a formula; empty (not 0) when the denominator is 0, like null in the API."""
    return Formula(f'=IF(({den})=0,"",({num})/({den}))')


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _scope_note(ctx: dict) -> str:
    w = ctx["month"].words  # a week's words (统计周次) for 周报
    return (
        f"统计范围：属地在{ctx['node'].name}（代码 {ctx['node'].code}）及其下级；{w('统计月份')} {ctx['month'].key}"
        f"（{ctx['month'].first:%Y-%m-%d} 至 {ctx['month'].last:%Y-%m-%d}）；"
        f"生成时间 {ctx['generated_at']:%Y-%m-%d %H:%M}。比率单元格为公式，分母为0时留空。"
    )


FIGURE_ROWS = ("carried_in", "new", "closed", "resolved", "stabilized", "carried_out", "overdue")


def _monthly_summary_sheet(wb: Workbook, ctx: dict) -> None:
    """月清月结 (or 周报: the same sheet in a week's words): the figures of the node, all cases and the
    prominent ones, with the rates."""
    report, node, month = ctx["report"], ctx["node"], ctx["month"]
    w = month.words
    ws = wb.active
    ws.title = ctx["kind_label"]
    _title(ws, f"{node.name}{month.label}矛盾纠纷{ctx['kind_label']}统计", _scope_note(ctx), 3)
    _header(ws, 4, ["指标", "全部纠纷", "其中：突出问题"], [26, 16, 18])
    rows = {}
    for i, key in enumerate(FIGURE_ROWS):
        r = 5 + i
        rows[key] = r
        _put(ws, r, 1, w(FIGURE_LABELS[key]))
        for col, values in ((2, report), (3, report["prominent"])):
            letter = get_column_letter(col)
            value = values[key]
            if key == "carried_out":
                value = Formula(
                    f"={letter}{rows['carried_in']}+{letter}{rows['new']}-{letter}{rows['closed']}"
                )
            _put(ws, r, col, value, COUNT)
    r = 5 + len(FIGURE_ROWS)
    for j, (key, num, den) in enumerate(
        (("clearance_rate", ["closed"], ["carried_in", "new"]), ("resolution_rate", ["resolved"], ["closed"]))
    ):
        _put(ws, r + j, 1, FIGURE_LABELS[key], bold=True)
        for col in (2, 3):
            letter = get_column_letter(col)
            _put(
                ws,
                r + j,
                col,
                _ratio(
                    "+".join(f"{letter}{rows[k]}" for k in num), "+".join(f"{letter}{rows[k]}" for k in den)
                ),
                PERCENT,
                bold=True,
            )
    notes = [
        "办结率 = 本月办结 ÷（上月结转 + 本月新增）；化解成功率 = 调解成功 ÷ 本月办结。",
        "结转下月 = 上月结转 + 本月新增 - 本月办结（即月末未办结）；超期 = 月末未办结且办理期限早于月末。",
        "稳控 = 月末未办结且处于稳控；突出问题 = 风险等级重大、特别重大，或有任一风险标记。",
    ]
    for k, text in enumerate(notes):
        put(ws, r + 3 + k, 1, w(text)).font = NOTE_FONT


def _monthly_children_sheet(wb: Workbook, ctx: dict) -> None:
    """下级节点: one row per child node and one for the node's own cases, with a 合计 row."""
    node, month = ctx["node"], ctx["month"]
    ws2 = wb.create_sheet("下级节点")
    heads = (
        ["节点", "层级"]
        + [month.words(FIGURE_LABELS[k]) for k in FIGURE_ROWS]
        + ["办结率", "化解成功率", "突出问题结转下月"]
    )
    _title(ws2, f"{node.name}{month.label}分节点统计", _scope_note(ctx), len(heads))
    _header(ws2, 4, heads, [22, 8] + [11] * len(FIGURE_ROWS) + [11, 12, 16])
    lines = [(c["node_name"], c["level"], c) for c in ctx["drill"]["children"]]
    direct = ctx["drill"]["direct"]
    # Cases whose 属地 is the node itself: always a row, so that the rows add up to the 合计.
    lines.append((f"{node.name}（本级直属）", node.level.value, direct))
    r = 5
    for name, level, values in lines:
        _put(ws2, r, 1, name)
        _put(ws2, r, 2, level)
        for j, key in enumerate(FIGURE_ROWS):
            _put(ws2, r, 3 + j, values[key], COUNT)
        c = {k: f"{get_column_letter(3 + j)}{r}" for j, k in enumerate(FIGURE_ROWS)}
        _put(ws2, r, 10, _ratio(c["closed"], f"{c['carried_in']}+{c['new']}"), PERCENT)
        _put(ws2, r, 11, _ratio(c["resolved"], c["closed"]), PERCENT)
        _put(ws2, r, 12, values["prominent"]["carried_out"], COUNT)
        r += 1
    first, last = 5, r - 1
    _put(ws2, r, 1, "合计", bold=True, fill=TOTAL_FILL)
    _put(ws2, r, 2, "", fill=TOTAL_FILL)
    for j in range(len(FIGURE_ROWS)):
        letter = get_column_letter(3 + j)
        _put(
            ws2,
            r,
            3 + j,
            Formula(f"=SUM({letter}{first}:{letter}{last})") if last >= first else 0,
            COUNT,
            True,
            TOTAL_FILL,
        )
    c = {k: f"{get_column_letter(3 + j)}{r}" for j, k in enumerate(FIGURE_ROWS)}
    _put(ws2, r, 10, _ratio(c["closed"], f"{c['carried_in']}+{c['new']}"), PERCENT, True, TOTAL_FILL)
    _put(ws2, r, 11, _ratio(c["resolved"], c["closed"]), PERCENT, True, TOTAL_FILL)
    _put(ws2, r, 12, Formula(f"=SUM(L{first}:L{last})") if last >= first else 0, COUNT, True, TOTAL_FILL)


def _monthly_trend_sheet(wb: Workbook, ctx: dict) -> None:
    """近12个月: the main figures month by month."""
    node = ctx["node"]
    ws3 = wb.create_sheet("近12个月")
    heads = ["月份", "上月结转", "本月新增", "本月办结", "调解成功", "结转下月", "办结率", "化解成功率"]
    _title(ws3, f"{node.name}近12个月趋势", _scope_note(ctx), len(heads))
    _header(ws3, 4, heads, [10, 11, 11, 11, 11, 11, 11, 12])
    for i, p in enumerate(ctx["points"]):
        r = 5 + i
        _put(ws3, r, 1, p["month"])
        for j, key in enumerate(("carried_in", "new", "closed", "resolved")):
            _put(ws3, r, 2 + j, p[key], COUNT)
        _put(ws3, r, 6, Formula(f"=B{r}+C{r}-D{r}"), COUNT)
        _put(ws3, r, 7, _ratio(f"D{r}", f"B{r}+C{r}"), PERCENT)
        _put(ws3, r, 8, _ratio(f"E{r}", f"D{r}"), PERCENT)


def _monthly_prominent_sheet(wb: Workbook, ctx: dict) -> None:
    """突出问题结转: the prominent cases still open at the end of the month."""
    report, node, month = ctx["report"], ctx["node"], ctx["month"]
    ws4 = wb.create_sheet("突出问题结转")
    heads = ["案件编号", "属地", "纠纷类别", "风险等级", "状态", "登记日期", "结转说明"]
    _title(ws4, f"{node.name}{month.label}月末未办结的突出问题", _scope_note(ctx), len(heads))
    _header(ws4, 4, heads, [28, 16, 14, 10, 8, 12, 60])
    for i, c in enumerate(report["prominent_carry_over"]):
        r = 5 + i
        for j, key in enumerate(
            ("case_no", "node", "category", "risk_level", "status", "registered_on", "carry_over_reason")
        ):
            cell = _put(ws4, r, 1 + j, c[key] if c[key] is not None else "（未填写）")
            if key == "carry_over_reason":
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _monthly_satisfaction_sheet(wb: Workbook, ctx: dict) -> None:
    """满意率: one row per handling unit (answered, satisfied, the rate as a formula) and 合计."""
    sat, node, month = ctx["report"]["satisfaction"], ctx["node"], ctx["month"]
    ws = wb.create_sheet("满意率")
    heads = ["承办单位", "单位代码", "满意度答复", "满意", "满意率"]
    _title(ws, f"{node.name}{month.label}满意率（按承办单位）", _scope_note(ctx), len(heads))
    _header(ws, 4, heads, [28, 12, 12, 10, 10])
    r = 5
    for u in sat["by_unit"]:
        _put(ws, r, 1, u["unit_name"])
        _put(ws, r, 2, u["unit"])
        _put(ws, r, 3, u["answered"], COUNT)
        _put(ws, r, 4, u["satisfied"], COUNT)
        _put(ws, r, 5, _ratio(f"D{r}", f"C{r}"), PERCENT)
        r += 1
    first, last = 5, r - 1
    _put(ws, r, 1, "合计", bold=True, fill=TOTAL_FILL)
    _put(ws, r, 2, "", fill=TOTAL_FILL)
    for col, letter in ((3, "C"), (4, "D")):
        value = Formula(f"=SUM({letter}{first}:{letter}{last})") if last >= first else 0
        _put(ws, r, col, value, COUNT, True, TOTAL_FILL)
    _put(ws, r, 5, _ratio(f"D{r}", f"C{r}"), PERCENT, True, TOTAL_FILL)
    notes = [
        "满意率 = 满意 ÷ 满意度答复，按案件计；分母为0时留空。",
        "满意度答复：本月（北京时间）有当事人评价或回访满意度评分的案件，按案件的承办单位统计。",
        "满意：本月当事人评价的最低分为4–5分；本月无当事人评价的，以本月回访满意度评分的最低分为准。",
    ]
    for k, text in enumerate(notes):
        put(ws, r + 2 + k, 1, text).font = NOTE_FONT


def monthly_workbook(ctx: dict) -> bytes:
    wb = Workbook()
    _monthly_summary_sheet(wb, ctx)
    _monthly_children_sheet(wb, ctx)
    _monthly_trend_sheet(wb, ctx)
    _monthly_prominent_sheet(wb, ctx)
    _monthly_satisfaction_sheet(wb, ctx)
    return _save(wb)


def shuangbai_workbook(ctx: dict) -> bytes:
    report, node, month = ctx["report"], ctx["node"], ctx["month"]
    wb = Workbook()
    ws = wb.active
    ws.title = "双百"
    _title(ws, f"{node.name}{month.label}矛盾纠纷“双百”行动统计", _scope_note(ctx), 2)
    _header(ws, 4, ["指标", "数值"], [34, 14])
    lines = [
        ("网格总数", report["grids_total"]),
        ("已报告网格（含零报告）", report["grids_reported"]),
        ("排查率（排查100%）", _ratio("B6", "B5")),
        ("在办范围（上月结转+本月新增）", report["in_scope"]),
        ("调解成功", report["resolved"]),
        ("稳控", report["stabilized"]),
        ("化解稳控率（化解稳控100%）", _ratio("B9+B10", "B8")),
        ("民转刑（目标为0）", report["civil_to_criminal"]),
    ]
    for i, (label, value) in enumerate(lines):
        r = 5 + i
        is_rate = isinstance(value, Formula)
        _put(ws, r, 1, label, bold=is_rate)
        _put(ws, r, 2, value, PERCENT if is_rate else COUNT, bold=is_rate)
    r = 5 + len(lines) + 1
    _put(ws, r, 1, "本月新增按发现场所（五进）", bold=True, fill=TOTAL_FILL)
    _put(ws, r, 2, "件数", bold=True, fill=TOTAL_FILL)
    for i, key in enumerate(VENUE_KEYS):
        _put(ws, r + 1 + i, 1, key)
        _put(ws, r + 1 + i, 2, report["by_venue"][key], COUNT)
    last = r + len(VENUE_KEYS)
    _put(ws, last + 1, 1, "合计", bold=True)
    _put(ws, last + 1, 2, Formula(f"=SUM(B{r + 1}:B{last})"), COUNT, True)

    ws2 = wb.create_sheet("未报告网格")
    heads = ["网格", "所在", "网格代码", "最近一次报告"]
    _title(ws2, f"{node.name}{month.label}未提交排查报告的网格", _scope_note(ctx), len(heads))
    _header(ws2, 4, heads, [14, 36, 20, 14])
    for i, g in enumerate(ctx["missing"]):
        for j, key in enumerate(("name", "place", "code", "last_report")):
            _put(ws2, 5 + i, 1 + j, g[key] or "从未报告")
    return _save(wb)


def _channel_sheet(
    ws: Worksheet, rows: list[tuple[str, dict]], first_header: str, title: str, note: str
) -> None:
    heads = [first_header, "本月新增", "受理", "调处", "调处成功", "办结（全部）", "成功率"]
    _title(ws, title, note, len(heads))
    _header(ws, 4, heads, [18, 11, 11, 11, 11, 13, 11])
    r = 5
    for label, row in rows:
        _put(ws, r, 1, label)
        for j, key in enumerate(("new", "received", "handled", "resolved", "closed")):
            _put(ws, r, 2 + j, row[key], COUNT)
        _put(ws, r, 7, _ratio(f"E{r}", f"D{r}"), PERCENT)
        r += 1
    _put(ws, r, 1, "合计", bold=True, fill=TOTAL_FILL)
    for j in range(5):
        letter = get_column_letter(2 + j)
        _put(
            ws, r, 2 + j, Formula(f"=SUM({letter}5:{letter}{r - 1})") if r > 5 else 0, COUNT, True, TOTAL_FILL
        )
    _put(ws, r, 7, _ratio(f"E{r}", f"D{r}"), PERCENT, True, TOTAL_FILL)


def channels_workbook(ctx: dict) -> bytes:
    report, node, month = ctx["report"], ctx["node"], ctx["month"]
    note = _scope_note(ctx) + " 受理=受理日期在本月；调处=本月办结且调解成功或不成功；成功率=调处成功÷调处。"
    wb = Workbook()
    ws = wb.active
    ws.title = "分渠道"
    _channel_sheet(
        ws,
        [(c["channel"], c) for c in report["channels"]],
        "化解渠道",
        f"{node.name}{month.label}分渠道化解情况",
        note,
    )
    _channel_sheet(
        wb.create_sheet("分类别"),
        [(c["category"], c) for c in report["categories"]],
        "纠纷类别",
        f"{node.name}{month.label}分类别化解情况",
        note,
    )
    ws3 = wb.create_sheet("民转刑及五进")
    _title(ws3, f"{node.name}{month.label}民转刑与发现场所", _scope_note(ctx), 2)
    _header(ws3, 4, ["指标", "件数"], [30, 12])
    _put(ws3, 5, 1, "民转刑（在办范围内，目标为0）")
    _put(ws3, 5, 2, report["civil_to_criminal"], COUNT)
    for i, key in enumerate(VENUE_KEYS):
        _put(ws3, 6 + i, 1, f"本月新增：发现于{key}" if key != "未填" else "本月新增：未填发现场所")
        _put(ws3, 6 + i, 2, report["by_venue"][key], COUNT)
    ws4 = wb.create_sheet("属地属事")
    d = report["double"]
    _title(ws4, f"{node.name}{month.label}属地属事双化解、双稳控", _scope_note(ctx), 2)
    _header(ws4, 4, ["指标", "件数"], [40, 12])
    lines = [
        ("在办范围内已明确属事单位的案件", d["cases"]),
        ("其中本月调解成功（双化解）", d["resolved"]),
        ("其中月末稳控（双稳控）", d["stabilized"]),
        ("其中属事单位在本辖区之外", d["outside"]),
    ]
    for i, (label, value) in enumerate(lines):
        _put(ws4, 5 + i, 1, label)
        _put(ws4, 5 + i, 2, value, COUNT)
    _put(ws4, 9, 1, "双化解双稳控率", bold=True)
    _put(ws4, 9, 2, _ratio("B6+B7", "B5"), PERCENT, True)
    return _save(wb)


def weekly_workbook(ctx: dict) -> bytes:
    """周报: the 月清月结 summary and per-node sheets over the week (rates as formulas)."""
    wb = Workbook()
    _monthly_summary_sheet(wb, ctx)
    _monthly_children_sheet(wb, ctx)
    return _save(wb)


COMPARISON_HEADS = [
    "纠纷类别",
    "本月",
    "去年同月",
    "上月",
    "同比增减",
    "同比增幅",
    "环比增减",
    "环比增幅",
    "同比下降",
]


def _change(current: str, base: str) -> Formula:
    """A rate of change as a formula; “—” when the base is 0 (as on the page)."""
    return Formula(f'=IF({base}=0,"—",({current}-{base})/{base})')


def _comparison_sheet(ws: Worksheet, ctx: dict, key: str) -> None:
    report, node, month = ctx["report"], ctx["node"], ctx["month"]
    part = report[key]
    note = (
        _scope_note(ctx)
        + f" 本月 {month.key}；去年同月 {report['last_year_month']}；上月 {report['previous_month']}。"
        + "增幅 =（本月 - 基数）÷ 基数，基数为0时显示“—”。"
    )
    _title(ws, f"{node.name}{month.label}分类别{part['label']}同比、环比", note, len(COMPARISON_HEADS))
    heads = [*COMPARISON_HEADS]
    heads[1:4] = [
        f"本月（{month.key}）",
        f"去年同月（{report['last_year_month']}）",
        f"上月（{report['previous_month']}）",
    ]
    _header(ws, 4, heads, [18, 14, 18, 16, 11, 11, 11, 11, 10])
    r = 5
    for row in part["rows"]:
        _put(ws, r, 1, row["category"])
        for j, k in enumerate(("current", "last_year", "previous")):
            _put(ws, r, 2 + j, row[k], COUNT)
        _comparison_formulas(ws, r)
        r += 1
    _put(ws, r, 1, "合计", bold=True, fill=TOTAL_FILL)
    for j in range(3):
        letter = get_column_letter(2 + j)
        _put(
            ws, r, 2 + j, Formula(f"=SUM({letter}5:{letter}{r - 1})") if r > 5 else 0, COUNT, True, TOTAL_FILL
        )
    _comparison_formulas(ws, r, bold=True)


def _comparison_formulas(ws: Worksheet, r: int, bold: bool = False) -> None:
    fill = TOTAL_FILL if bold else None
    _put(ws, r, 5, Formula(f"=B{r}-C{r}"), COUNT, bold, fill)
    _put(ws, r, 6, _change(f"B{r}", f"C{r}"), PERCENT, bold, fill)
    _put(ws, r, 7, Formula(f"=B{r}-D{r}"), COUNT, bold, fill)
    _put(ws, r, 8, _change(f"B{r}", f"D{r}"), PERCENT, bold, fill)
    _put(ws, r, 9, Formula(f'=IF(B{r}<C{r},"是","")'), None, bold, fill)


def comparison_workbook(ctx: dict) -> bytes:
    """同比环比: one sheet per compared figure (新增, 办结), a line per category and a total."""
    wb = Workbook()
    for i, key in enumerate(figures.COMPARED):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = "新增" if key == "new" else "办结"
        _comparison_sheet(ws, ctx, key)
    return _save(wb)


def scorecard_workbook(ctx: dict) -> bytes:
    """考核排名: a line per unit — rank, total, the previous period's rank and total, each figure's value
    (rates: numerator and denominator as cells, the rate a formula) — and the definitions below."""
    card = ctx["report"]
    wb = Workbook()
    ws = wb.active
    ws.title = "考核排名"
    figs = card["figures"]
    headers = ["名次", "单位", "总分", "上期名次", "上期总分"]
    widths = [8, 22, 10, 10, 10]
    for f in figs:
        if f["kind"] == "rate":
            headers += [f["label"] + "分子", f["label"] + "分母", f["label"]]
            widths += [10, 10, 12]
        else:
            headers.append(f["label"])
            widths.append(10)
    headers.append("包案（不计分）")
    widths.append(10)
    _title(ws, f"{card['node_name']} · {card['period_label']} · 考核排名", _term_note(card), len(headers))
    _header(ws, 4, headers, widths)
    for i, r in enumerate(card["rows"]):
        row = 5 + i
        for col, value in enumerate(
            (r["rank"], r["node_name"], r["total"], r["previous_rank"], r["previous_total"]), start=1
        ):
            _put(ws, row, col, value, None if col == 2 else "0.0" if col in (3, 5) else COUNT)
        col = 6
        for f in figs:
            cell = r["figures"][f["key"]]
            if f["kind"] == "rate":
                _put(ws, row, col, cell["numerator"], COUNT)
                _put(ws, row, col + 1, cell["denominator"], COUNT)
                a, b = get_column_letter(col), get_column_letter(col + 1)
                _put(ws, row, col + 2, _ratio(f"{a}{row}", f"{b}{row}"), PERCENT)
                col += 3
            else:
                _put(ws, row, col, cell["value"], COUNT)
                col += 1
        _put(ws, row, col, r["led"], COUNT)
    row = 6 + len(card["rows"])
    put(ws, row, 1, "口径与权重").font = Font(name="Noto Sans CJK SC", bold=True)
    for j, f in enumerate(figs, start=1):
        weight = f"权重 {f['weight']:g}" if f["counted"] else "不计入总分"
        put(ws, row + j, 1, f"{f['label']}（{weight}）：{f['definition']}").font = NOTE_FONT
    put(ws, row + len(figs) + 1, 1, f"包案：{card['led_definition']}").font = NOTE_FONT
    return _save(wb)


def _term_note(card: dict) -> str:
    return (
        f"各单位含其下级（按属地）；考核期间 {card['period']}（{card['first']} 至 {card['last']}）；"
        f"上期 {card['previous_period']}；生成于 {to_local(utcnow()):%Y-%m-%d %H:%M}（北京时间）"
    )


WORKBOOKS = {
    "monthly": monthly_workbook,
    "shuangbai": shuangbai_workbook,
    "channels": channels_workbook,
    "weekly": weekly_workbook,
    "comparison": comparison_workbook,
    "scorecard": scorecard_workbook,
}


# --------------------------------------------------------------------------------------- PDF


def pdf(ctx: dict) -> bytes:
    """The report as PDF, written by the documents' renderer: the same fetcher (static files and the
    rendering's own data URIs only) and the same compact font subsets."""
    return Renderer().pdf(render_template("reports/pdf.html", **ctx))
