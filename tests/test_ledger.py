"""台账 import (LEDGER.md): validation report, all-or-nothing, --partial, idempotency, timeline, CLI."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from mediation.common.validators import uscc_check_char
from mediation.disputes.models import CaseSequence, Dispute, Event
from mediation.disputes.service import next_case_no
from mediation.extensions import db
from mediation.ledger.models import LedgerRecord
from mediation.ledger.schemas import DISPUTE_COLUMNS, PARTY_COLUMNS
from mediation.ledger.service import import_ledger
from tests.factories import make_id

HEADERS = list(DISPUTE_COLUMNS)
PARTY_HEADERS = list(PARTY_COLUMNS)
PATH_B = "双港镇/双港村/第1网格"


def make_uscc(first17: str = "91120116MA05K1234") -> str:
    return first17 + uscc_check_char(first17)


def case(case_no: str = "（2025）海滨调字第0101号", **overrides) -> dict:
    """A valid closed case of 双港镇, as a 纠纷 row keyed by header."""
    row = {
        "案件编号": case_no,
        "登记日期": "2025-03-03",
        "来源": "群众来访",
        "纠纷类别": "邻里",
        "简要情况": "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。",
        "属地": PATH_B,
        "发现场所": "家庭",
        "涉及人数": "2",
        "涉及金额": "3500.50",
        "风险等级": "一般",
        "风险标记": "",
        "化解渠道": "人民调解",
        "承办单位": "双港镇人民调解委员会",
        "受理日期": "2025-03-04",
        "状态": "已办结",
        "办结日期": "2025-03-20",
        "办结方式": "调解成功",
        "民转刑": "否",
        "结转说明": "",
    }
    row.update(overrides)
    return row


def party(case_no: str = "（2025）海滨调字第0101号", **overrides) -> dict:
    row = {
        "案件编号": case_no,
        "角色": "申请人",
        "类型": "自然人",
        "姓名或名称": "张三",
        "证件号码": make_id(),
        "联系电话": "13800138000",
        "住址": "双港村5组",
    }
    row.update(overrides)
    return row


def write_ledger(
    path: Path,
    cases: list[dict],
    parties: list[dict] | None = None,
    *,
    headers: list[str] | None = None,
    party_headers: list[str] | None = None,
    sheets: tuple[str, str] = ("纠纷", "当事人"),
) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheets[0]
    headers = headers or list(dict.fromkeys([*HEADERS, *[k for c in cases for k in c if k not in HEADERS]]))
    ws.append(headers)
    for c in cases:
        ws.append([c.get(h) for h in headers])
    if parties is not None:
        ps = wb.create_sheet(sheets[1])
        party_headers = party_headers or PARTY_HEADERS
        ps.append(party_headers)
        for p in parties:
            ps.append([p.get(h) for h in party_headers])
    wb.save(path)
    return path


def write_csv(path: Path, cases: list[dict], *, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for c in cases:
            out.writerow([c.get(h, "") for h in HEADERS])
    return path


def dump_database() -> dict:
    """Every row of every table, to compare the database before and after."""
    db.session.rollback()
    return {
        t.name: sorted(repr(tuple(r)) for r in db.session.execute(t.select()))
        for t in db.metadata.sorted_tables
    }


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def run(path, **kwargs):
    result = import_ledger(path, **kwargs)
    if result.written:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def issues(result) -> set[tuple]:
    return {(i.sheet, i.row, i.column) for i in result.errors}


def by_case_no(case_no: str) -> Dispute:
    return db.session.scalar(select(Dispute).where(Dispute.case_no == case_no))


# -- a good import -----------------------------------------------------------------------------


def test_import_sets_case_fields_and_timeline_on_ledger_dates(app, world, tmp_path):
    path = write_ledger(
        tmp_path / "ledger.xlsx",
        [
            case(),
            case(
                "（2025）海滨调字第0102号",
                登记日期="2025-05-06",
                受理日期="2025-05-08",
                状态="稳控",
                办结日期="",
                办结方式="",
                风险等级="较大",
                风险标记="群体性、信访关联",
                结转说明="当事人情绪反复，持续稳控。",
                化解渠道="行政调解",
                承办单位="双港派出所",
                纠纷类别="劳动争议/欠薪",
                民转刑="是",
            ),
            case(
                "（2025）海滨调字第0103号",
                状态="待分流",
                化解渠道="",
                承办单位="",
                受理日期="",
                办结日期="",
                办结方式="",
                涉及金额="",
                涉及人数="",
                发现场所="",
            ),
        ],
        [
            party(),
            party(
                角色="被申请人",
                类型="法人",
                姓名或名称="双港物业公司",
                证件号码=make_uscc(),
                联系电话="022-25881234",
            ),
        ],
    )

    result = run(path)

    assert result.ok, result.report_lines()
    assert (result.imported, result.parties) == (3, 2)
    closed = by_case_no("（2025）海滨调字第0101号")
    assert closed.status == "已办结" and closed.outcome == "调解成功"
    assert closed.channel == "人民调解" and closed.unit.code == "TW-B"
    assert closed.node.code == world.grid_b.code
    assert closed.registered_on == date(2025, 3, 3) and closed.accepted_on == date(2025, 3, 4)
    assert closed.closed_on == date(2025, 3, 20)
    assert closed.deadline == date(2025, 4, 3)  # 30 days counted from the day after 受理
    assert closed.amount == Decimal("3500.50") and closed.people_count == 2 and closed.venue == "家庭"
    assert closed.prominent is False and closed.civil_to_criminal is False and closed.stabilized_on is None
    # the CLI-level import registers at the 综治中心 of the 属地's town
    assert closed.registering_unit.code == "ZZ-B" and closed.registered_by is None
    assert [(e.type, e.on) for e in closed.events] == [
        ("registered", date(2025, 3, 3)),
        ("routed", date(2025, 3, 3)),
        ("accepted", date(2025, 3, 4)),
        ("closed", date(2025, 3, 20)),
        ("imported", closed.events[-1].on),
    ]
    assert closed.events[3].data["outcome"] == "调解成功"
    assert [e.at.date() for e in closed.events[:4]] == [
        date(2025, 3, 3),
        date(2025, 3, 3),
        date(2025, 3, 4),
        date(2025, 3, 20),
    ]
    assert closed.registered_at == closed.events[0].at
    assert [(p.position, p.role, p.kind, p.name) for p in closed.parties] == [
        (0, "申请人", "自然人", "张三"),
        (1, "被申请人", "法人", "双港物业公司"),
    ]
    assert closed.parties[1].id_number == make_uscc()

    stable = by_case_no("（2025）海滨调字第0102号")
    assert stable.status == "稳控" and stable.stabilized_on == date(2025, 5, 8)  # from 受理日期
    assert stable.deadline == date(2025, 5, 23)  # 劳动争议 15 days
    assert stable.prominent is True and stable.flags == ["群体性", "信访关联"]
    assert stable.civil_to_criminal is True and stable.carry_over_reason == "当事人情绪反复，持续稳控。"
    assert [(e.type, e.on) for e in stable.events][:-1] == [
        ("registered", date(2025, 5, 6)),
        ("routed", date(2025, 5, 6)),
        ("accepted", date(2025, 5, 8)),
        ("stabilized", date(2025, 5, 8)),
    ]

    pending = by_case_no("（2025）海滨调字第0103号")
    assert pending.status == "待分流" and pending.channel is None and pending.unit is None
    assert pending.deadline is None and pending.amount is None and pending.venue is None
    assert [e.type for e in pending.events] == ["registered", "imported"]


def test_stabilized_case_without_acceptance_counts_from_registration(app, world, tmp_path):
    path = write_ledger(tmp_path / "l.xlsx", [case(状态="稳控", 受理日期="", 办结日期="", 办结方式="")])
    assert run(path).ok
    d = by_case_no("（2025）海滨调字第0101号")
    assert d.stabilized_on == date(2025, 3, 3) and d.deadline is None


def test_excel_date_cells_and_numbers_are_accepted(app, world, tmp_path):
    path = write_ledger(
        tmp_path / "l.xlsx",
        [
            case(
                登记日期=datetime(2025, 3, 3),
                受理日期=date(2025, 3, 4),
                办结日期=datetime(2025, 3, 20, 15, 30),
                涉及人数=3,
                涉及金额=1200.5,
            )
        ],
    )
    result = run(path)
    assert result.ok, result.report_lines()
    d = by_case_no("（2025）海滨调字第0101号")
    assert (d.registered_on, d.accepted_on, d.closed_on) == (
        date(2025, 3, 3),
        date(2025, 3, 4),
        date(2025, 3, 20),
    )
    assert d.people_count == 3 and d.amount == Decimal("1200.50")


def test_columns_in_any_order_and_unknown_columns_kept(app, world, tmp_path):
    row = case(备注="老纠纷，曾多次调解", 经办人="王五")
    headers = list(reversed([*HEADERS, "备注", "经办人"]))
    result = run(write_ledger(tmp_path / "l.xlsx", [row], headers=headers))
    assert result.ok, result.report_lines()
    assert any("经办人、备注" in note and "原样保存" in note for note in result.notes)
    d = by_case_no("（2025）海滨调字第0101号")
    record = db.session.scalar(select(LedgerRecord).where(LedgerRecord.dispute_id == d.id))
    assert record.extra == {"经办人": "王五", "备注": "老纠纷，曾多次调解"}
    assert record.source_file == "l.xlsx" and record.source_row == 2
    imported = [e for e in d.events if e.type == "imported"][0]
    assert imported.data["extra"] == record.extra
    assert "备注：老纠纷，曾多次调解" in imported.note


def test_node_path_may_start_anywhere_but_must_be_unique(app, world, tmp_path):
    rows = [
        case(f"A-{i}", 属地=p)
        for i, p in enumerate(
            [
                "海滨区/双港镇/双港村/第1网格",
                "双港村/第1网格",
                "双港镇",
                "新家园社区",
                "第1网格",
                "海滨区/第1网格",
                "双港镇/新家园社区",
            ]
        )
    ]
    result = run(write_ledger(tmp_path / "l.xlsx", rows))
    assert issues(result) == {("纠纷", 6, "属地"), ("纠纷", 7, "属地"), ("纠纷", 8, "属地")}
    reasons = {i.row: i.reason for i in result.errors}
    assert "对应2个节点" in reasons[6] and "海滨区/海滨街道/新家园社区/第1网格" in reasons[6]
    assert "上级与所填不符" in reasons[7] and "上级与所填不符" in reasons[8]
    assert count(Dispute) == 0


def test_rows_without_case_number_get_numbers_that_skip_taken_ones(app, world, tmp_path):
    # the file itself holds the number the sequence would hand out first
    rows = [
        case("", 简要情况="无编号的纠纷一"),
        case("（2025）双港调字第0001号"),
        case("", 简要情况="无编号的纠纷二"),
    ]
    result = run(write_ledger(tmp_path / "l.xlsx", rows))
    assert result.ok, result.report_lines()
    numbers = set(db.session.scalars(select(Dispute.case_no)))
    assert numbers == {"（2025）双港调字第0001号", "（2025）双港调字第0002号", "（2025）双港调字第0003号"}
    assert (
        db.session.scalar(select(Dispute.case_no).where(Dispute.summary == "无编号的纠纷一"))
        == "（2025）双港调字第0002号"
    )
    # live numbering later continues after them
    assert next_case_no(world.center_b, 2025) == "（2025）双港调字第0004号"


def test_csv_with_and_without_bom(app, world, tmp_path):
    assert run(write_csv(tmp_path / "bom.csv", [case("C-1")], bom=True)).ok
    assert run(write_csv(tmp_path / "plain.csv", [case("C-2")], bom=False)).ok
    assert {d.case_no for d in db.session.scalars(select(Dispute))} == {"C-1", "C-2"}
    assert by_case_no("C-1").amount == Decimal("3500.50")


def test_csv_must_be_utf8(app, world, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(",".join(HEADERS).encode("gbk") + b"\n")
    result = run(path)
    assert not result.ok and "UTF-8" in result.errors[0].reason


def test_user_import_registers_at_the_users_unit_within_their_subtree(app, world, tmp_path):
    path = write_ledger(tmp_path / "l.xlsx", [case("U-1"), case("U-2", 属地="海滨街道/新家园社区")])
    result = run(path, user=world.center_user_b.user)
    assert issues(result) == {("纠纷", 3, "属地")}
    assert "不在您单位的辖区内" in result.errors[0].reason
    assert count(Dispute) == 0
    result = run(write_ledger(tmp_path / "ok.xlsx", [case("U-1")]), user=world.center_user_b.user)
    assert result.ok
    d = by_case_no("U-1")
    assert d.registering_unit.code == "ZZ-B" and d.registered_by.username == "center_b"
    imported = d.events[-1]
    assert imported.type == "imported" and imported.by_name == "center_b"


# -- every kind of error -----------------------------------------------------------------------


def error_file(tmp_path: Path) -> Path:
    cases = [
        case("E-01"),  # 2: good
        case("E-02", 登记日期="2025/03/01"),  # 3
        case("E-03", 属地="双港镇/不存在村"),  # 4
        case("E-04", 承办单位="不存在调委会"),  # 5
        case("E-05", 办结日期="2025-03-01"),  # 6: closed before registered
        case("E-06", 简要情况=""),  # 7: missing required value
        case("E-01"),  # 8: same number twice in the file
        case("E-08", 属地="第1网格"),  # 9: ambiguous
        case("E-09", 状态="已结案"),  # 10
        case("E-10", 受理日期="2025-03-01"),  # 11: accepted before registered
        case("E-11", 办结日期="", 办结方式=""),  # 12: 已办结 without date and way
        case("E-12", 涉及金额="12.345", 涉及人数="0"),  # 13
        case("E-13", 风险标记="群体性、危险"),  # 14
        case("E-14", 民转刑="可能"),  # 15
        case("E-15", 登记日期="2099-01-01", 受理日期="", 办结日期="2099-01-02"),  # 16: future
        case("E-16", 来源="路人", 纠纷类别="吵架"),  # 17
        case("E-17", 登记日期="2025-02-30"),  # 18: no such day
        case("E-18", 状态="办理中"),  # 19: open case with 办结日期
        case("E-19", 涉及金额="-5", 风险等级="很大", 化解渠道="调解"),  # 20
    ]
    parties = [
        party("E-01"),  # 2: good
        party("E-01", 证件号码=make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")),  # 3: check digit
        party("E-99"),  # 4: unknown 案件编号
        party("E-01", 联系电话="12345"),  # 5
        party("E-01", 类型="法人", 证件号码="91120116MA05K12340"),  # 6: bad USCC check character
        party("E-01", 角色="原告"),  # 7
        party("E-01", 姓名或名称=""),  # 8
    ]
    return write_ledger(tmp_path / "errors.xlsx", cases, parties)


EXPECTED_ERRORS = {
    ("纠纷", 3, "登记日期"): "YYYY-MM-DD",
    ("纠纷", 4, "属地"): "行政区划中没有",
    ("纠纷", 5, "承办单位"): "没有名为「不存在调委会」的单位",
    ("纠纷", 6, "办结日期"): "办结日期不能早于登记日期",
    ("纠纷", 7, "简要情况"): "必填",
    ("纠纷", 8, "案件编号"): "与第2行的案件编号重复",
    ("纠纷", 9, "属地"): "对应2个节点",
    ("纠纷", 10, "状态"): "未知的状态",
    ("纠纷", 11, "受理日期"): "受理日期不能早于登记日期",
    ("纠纷", 12, "办结日期"): "状态为已办结时必填",
    ("纠纷", 12, "办结方式"): "状态为已办结时必填",
    ("纠纷", 13, "涉及金额"): "两位小数",
    ("纠纷", 13, "涉及人数"): "不小于1",
    ("纠纷", 14, "风险标记"): "第2项：未知的风险标记",
    ("纠纷", 15, "民转刑"): "是”或“否",
    ("纠纷", 16, "登记日期"): "不能晚于今天",
    ("纠纷", 16, "办结日期"): "不能晚于今天",
    ("纠纷", 17, "来源"): "未知的来源",
    ("纠纷", 17, "纠纷类别"): "未知的纠纷类别",
    ("纠纷", 18, "登记日期"): "有效日期",
    ("纠纷", 19, "办结日期"): "不应填写办结日期",
    ("纠纷", 19, "办结方式"): "不应填写办结方式",
    ("纠纷", 20, "涉及金额"): "不能为负数",
    ("纠纷", 20, "风险等级"): "未知的风险等级",
    ("纠纷", 20, "化解渠道"): "未知的化解渠道",
    ("当事人", 3, "证件号码"): "校验位错误",
    ("当事人", 4, "案件编号"): "没有案件编号为「E-99」的案件",
    ("当事人", 5, "联系电话"): "电话号码格式不正确",
    ("当事人", 6, "证件号码"): "统一社会信用代码校验位错误",
    ("当事人", 7, "角色"): "未知的当事人角色",
    ("当事人", 8, "姓名或名称"): "必填",
}


def test_every_kind_of_error_is_reported_with_row_column_and_reason(app, world, tmp_path):
    result = run(error_file(tmp_path))
    assert not result.ok and not result.written
    found = {(i.sheet, i.row, i.column): i.reason for i in result.errors}
    assert set(found) == set(EXPECTED_ERRORS), sorted(set(found) ^ set(EXPECTED_ERRORS))
    for key, words in EXPECTED_ERRORS.items():
        assert words in found[key], (key, found[key])
    summary = result.summary()
    assert "「纠纷」表 18 行" in summary and "「当事人」表 6 行" in summary and "未导入任何数据" in summary
    lines = result.report_lines()
    assert "错误：「纠纷」第3行「登记日期」：日期应为 YYYY-MM-DD 格式的有效日期，如 2025-03-01。" in lines
    assert count(Dispute) == 0 and count(Event) == 0


def test_failed_import_leaves_the_database_exactly_as_it_was(app, world, client, tmp_path):
    # some history first: an imported ledger and a case registered live
    assert run(
        write_ledger(
            tmp_path / "first.xlsx", [case("H-1"), case("", 简要情况="没有编号的旧纠纷")], [party("H-1")]
        )
    ).ok
    from tests.factories import dispute_payload

    r = client.post(
        "/api/v1/disputes", json=dispute_payload(world.grid_b.code), headers=world.mediator_b.headers
    )
    assert r.status_code == 201
    before = dump_database()
    assert before["dispute"] and before["case_sequence"]

    result = run(error_file(tmp_path))
    assert not result.ok
    # rows without 案件编号 next to bad rows: numbers would have been assigned had it gone through
    result = run(
        write_ledger(tmp_path / "more.xlsx", [case("", 简要情况="新的无编号纠纷"), case("X", 属地="不存在")])
    )
    assert not result.ok

    assert dump_database() == before


def test_duplicate_case_number_in_database_is_reported_not_updated(app, world, tmp_path):
    assert run(write_ledger(tmp_path / "a.xlsx", [case("D-1")], [party("D-1")])).ok
    changed = case("D-1", 简要情况="另一份台账里的不同描述", 状态="稳控", 办结日期="", 办结方式="")
    result = run(
        write_ledger(
            tmp_path / "b.xlsx", [changed, case("D-2")], [party("D-1", 姓名或名称="新人"), party("D-2")]
        )
    )
    assert result.ok
    assert (result.imported, result.parties, result.duplicate_parties) == (1, 1, 1)
    assert [(i.row, i.column) for i in result.duplicates] == [(2, "案件编号")]
    assert "「D-1」已存在" in result.duplicates[0].reason
    d = by_case_no("D-1")
    assert (
        d.summary == case()["简要情况"] and d.status == "已办结" and [p.name for p in d.parties] == ["张三"]
    )


def test_second_import_of_the_same_file_changes_nothing(app, world, tmp_path):
    path = write_ledger(
        tmp_path / "l.xlsx",
        [
            case("S-1"),
            case("", 简要情况="编号为空的第一件"),
            case("", 简要情况="编号为空的第二件", 备注="x"),
        ],
        [party("S-1"), party("S-1", 姓名或名称="李四", 证件号码="")],
    )
    first = run(path)
    assert first.ok and first.imported == 3
    before = dump_database()
    second = run(path)
    assert second.ok and second.imported == 0 and not second.written
    assert len(second.duplicates) == 3 and second.duplicate_parties == 2
    assert "内容相同" in second.duplicates[1].reason
    assert dump_database() == before


def test_identical_rows_without_number_in_one_file_are_one_case(app, world, tmp_path):
    row = case("", 简要情况="一模一样的两行")
    result = run(write_ledger(tmp_path / "l.xlsx", [row, row]))
    assert result.ok and result.imported == 1
    assert [(i.row, "第2行" in i.reason) for i in result.duplicates] == [(3, True)]


def test_wrong_sheet_names(app, world, tmp_path):
    result = run(write_ledger(tmp_path / "l.xlsx", [case()], [party()], sheets=("Sheet1", "Sheet2")))
    assert not result.ok
    reason = result.errors[0].reason
    assert "没有名为「纠纷」的工作表" in reason and "「Sheet1」、「Sheet2」" in reason
    assert result.errors[0].row is None


def test_extra_sheets_are_reported(app, world, tmp_path):
    path = write_ledger(tmp_path / "l.xlsx", [case()], [party()])
    wb = load_workbook(path)
    wb.create_sheet("说明").append(["填写说明"])
    wb.save(path)
    result = run(path)
    assert result.ok and any("「说明」" in n for n in result.notes)


def test_missing_required_columns_and_repeated_headers(app, world, tmp_path):
    headers = [h for h in HEADERS if h not in ("登记日期", "状态")]
    result = run(write_ledger(tmp_path / "a.xlsx", [case()], headers=headers))
    assert [(i.row, i.reason) for i in result.errors] == [
        (None, "缺少必填列：登记日期、状态。请检查表头（第1行）的列名是否与台账格式一致。")
    ]
    result = run(write_ledger(tmp_path / "b.xlsx", [case()], headers=[*HEADERS, "来源"]))
    assert "表头「来源」重复" in result.errors[0].reason
    result = run(write_ledger(tmp_path / "c.xlsx", [case()], [party()], party_headers=PARTY_HEADERS[1:]))
    assert result.errors[0].sheet == "当事人" and "缺少必填列：案件编号" in result.errors[0].reason


def test_not_a_workbook(app, world, tmp_path):
    bad = tmp_path / "l.xlsx"
    bad.write_text("not a zip")
    assert "不是有效的 .xlsx" in run(bad).errors[0].reason
    other = tmp_path / "l.txt"
    other.write_text("x")
    assert "只支持" in run(other).errors[0].reason


# -- --partial --------------------------------------------------------------------------------


def test_partial_imports_good_rows_and_returns_bad_ones_with_reasons(app, world, tmp_path):
    rejects = tmp_path / "rejects.xlsx"
    result = run(error_file(tmp_path), partial=True, rejects_path=rejects)
    # E-01 is good, but its number is on two rows and it has bad party rows: the whole case waits
    assert not result.ok and result.imported == 0 and not result.written and rejects.exists()
    assert (result.rejected_disputes, result.rejected_parties) == (19, 7)
    path = write_ledger(
        tmp_path / "mixed.xlsx",
        [
            case("P-1"),
            case("P-2", 登记日期="2025/3/1"),
            case("P-3"),
            case("P-4"),
            case("", 简要情况="无编号的好行"),
        ],
        [party("P-1"), party("P-3"), party("P-3", 联系电话="123"), party("P-4"), party("P-2")],
    )
    result = run(path, partial=True, rejects_path=rejects)
    assert (result.imported, result.parties) == (3, 2)
    assert {d.case_no for d in db.session.scalars(select(Dispute))} == {
        "P-1",
        "P-4",
        "（2025）双港调字第0001号",
    }
    assert result.rejected_disputes == 2 and result.rejected_parties == 3
    assert "部分导入" in result.summary() and result.rejects_path == str(rejects)
    assert str(tmp_path) not in result.summary()  # shown on the web: no server path

    wb = load_workbook(rejects, read_only=True)
    disputes = list(wb["纠纷"].iter_rows(values_only=True))
    parties = list(wb["当事人"].iter_rows(values_only=True))
    assert disputes[0][-1] == "错误原因" and parties[0][-1] == "错误原因"
    reasons = {row[0]: row[-1] for row in disputes[1:]}
    assert set(reasons) == {"P-2", "P-3"}
    assert reasons["P-2"].startswith("登记日期：日期应为")
    assert "当事人行有错误" in reasons["P-3"]
    party_reasons = sorted((row[0], row[-1]) for row in parties[1:])
    assert [c for c, _ in party_reasons] == ["P-2", "P-3", "P-3"]
    assert any("联系电话：电话号码格式不正确" in r for _, r in party_reasons)

    # fix the rejects workbook and import it: the 错误原因 column is ignored, the rest goes in
    wb = load_workbook(rejects)
    wb["纠纷"]["B2"] = "2025-03-01"
    for row in wb["当事人"].iter_rows(min_row=2):
        if row[5].value == "123":
            row[5].value = "13900139000"
    wb.save(rejects)
    again = run(rejects)
    assert again.ok, again.report_lines()
    assert (again.imported, again.parties) == (2, 3)
    assert any("错误原因" in n for n in again.notes)


def test_partial_rejects_default_next_to_the_file(app, world, tmp_path):
    path = write_ledger(tmp_path / "台账.xlsx", [case("A"), case("B", 状态="")])
    result = run(path, partial=True)
    assert result.rejects_path == str(tmp_path / "台账-错误行.xlsx") and Path(result.rejects_path).exists()


# -- command line -----------------------------------------------------------------------------


def invoke(app, *args):
    db.session.rollback()  # SQLite: the fixture's session must not hold the write lock
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_import_exit_codes_and_report(app, world, tmp_path):
    good = write_ledger(tmp_path / "good.xlsx", [case("K-1"), case("K-2")], [party("K-1")])
    r = invoke(app, "ledger", "import", str(good))
    assert r.exit_code == 0, r.stderr
    assert "新增案件 2 件、当事人 1 人" in r.stdout
    assert "导入：" in r.stderr  # progress lines

    r = invoke(app, "ledger", "import", str(good), "--quiet")
    assert r.exit_code == 0 and "重复（已存在，未更新）2 件" in r.stdout and "重复：「纠纷」第2行" in r.stdout

    r = invoke(app, "ledger", "import", str(error_file(tmp_path)), "--quiet")
    assert r.exit_code == 1
    assert "台账导入失败" in r.stderr and "错误：「纠纷」第3行「登记日期」" in r.stderr
    assert "错误：「当事人」第8行「姓名或名称」：必填项。" in r.stderr
    assert count(Dispute) == 2

    mixed = write_ledger(tmp_path / "mixed.xlsx", [case("K-3"), case("K-4", 属地="无此地")])
    rejects = tmp_path / "out" / "bad.xlsx"
    rejects.parent.mkdir()
    r = invoke(app, "ledger", "import", str(mixed), "--partial", "--rejects", str(rejects), "--quiet")
    assert r.exit_code == 2
    assert f"错误行已写入：{rejects}" in r.stderr and rejects.exists()
    assert by_case_no("K-3") is not None and by_case_no("K-4") is None

    r = invoke(app, "ledger", "import", str(good), "--user", "nobody")
    assert r.exit_code == 1 and "不存在" in r.stderr


def test_cli_import_as_a_user(app, world, tmp_path):
    path = write_ledger(tmp_path / "l.xlsx", [case("Q-1")])
    r = invoke(app, "ledger", "import", str(path), "--user", "center_a", "--quiet")
    assert r.exit_code == 1 and "不在您单位的辖区内" in r.stderr
    r = invoke(app, "ledger", "import", str(path), "--user", "center_b", "--quiet")
    assert r.exit_code == 0
    assert by_case_no("Q-1").registered_by.username == "center_b"


def test_progress_callback_reaches_the_total(app, world, tmp_path):
    calls = []
    rows = [case(f"G-{i}") for i in range(2500)]
    run(write_ledger(tmp_path / "l.xlsx", rows), progress=lambda d, t, s: calls.append((s, d, t)))
    validate = [c for c in calls if c[0] == "校验"]
    write = [c for c in calls if c[0] == "导入"]
    assert validate[-1][1] == 2500 and validate[0][2] == 2500
    assert [d for _, d, _ in validate] == sorted(d for _, d, _ in validate)
    assert write[-1][1:] == (2500, 2500) and len(write) >= 3
    assert count(Dispute) == 2500 and count(CaseSequence) == 0


def test_a_case_number_taken_between_validation_and_writing_imports_nothing(app, world, tmp_path):
    """Another import commits the same 案件编号 while this one validates: the unique number stops
    the write, everything of this import is rolled back, and the report says why."""
    path = write_ledger(tmp_path / "l.xlsx", [case("T-1"), case("T-2")], [party("T-2")])

    def someone_else_imports_t2(done, total, stage):
        if stage == "导入" and done == 0:
            other = write_ledger(tmp_path / "other.xlsx", [case("T-2", 简要情况="另一单位先导入的同号案件")])
            from mediation import create_app

            second = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": db.engine.url.render_as_string(hide_password=False),
                    "SECRET_KEY": "x",
                    "TESTING": True,
                }
            )
            with second.app_context():
                assert run(other).imported == 1
                db.session.remove()
                db.engine.dispose()

    result = run(path, progress=someone_else_imports_t2)
    assert not result.ok and not result.written and result.imported == 0
    assert "其他用户导入或登记了相同的案件" in result.errors[-1].reason
    assert [(d.case_no, d.summary) for d in db.session.scalars(select(Dispute))] == [
        ("T-2", "另一单位先导入的同号案件")
    ]
    assert count(Event) == 5  # the other import's timeline only
