"""台账 export: the same two sheets, the subtree only, ID numbers per role, and export → import
into an empty database gives back identical cases."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from mediation.common.enums import Channel, Status
from mediation.common.time import local_today
from mediation.disputes.models import CaseSequence, Dispute, IdempotencyRecord
from mediation.extensions import db
from mediation.geo.models import Unit
from mediation.ledger.models import LedgerRecord
from mediation.ledger.service import LedgerAccessError, export_ledger
from tests.factories import dispute_payload, make_id
from tests.test_ledger import case, invoke, make_uscc, party, run, write_ledger


def rich_ledger(tmp_path):
    return write_ledger(
        tmp_path / "rich.xlsx",
        [
            case("R-1", 备注="第一本台账"),
            case(
                "R-2",
                登记日期="2025-06-01",
                受理日期="2025-06-02",
                状态="稳控",
                办结日期="",
                办结方式="",
                风险等级="特别重大",
                风险标记="民转刑风险、涉众",
                民转刑="是",
                结转说明="跨月稳控，已书面说明。",
                化解渠道="诉调对接",
                承办单位="海滨区人民法院",
                发生日期="2025-05-30",
                稳控日期="2025-06-10",
                联办单位="双港派出所、双港镇人民调解委员会",
                经办人="王五",
            ),
            case(
                "R-3",
                登记日期="2025-07-01",
                受理日期="2025-07-01",
                状态="办理中",
                办结日期="",
                办结方式="",
                办理期限="2025-09-30",
                属地="海滨街道/新家园社区/第1网格",
                承办单位="海滨街道人民调解委员会",
                登记单位="海滨街道综治中心",
                涉及金额="0",
                涉及人数="1",
            ),
            case(
                "",
                登记日期="2025-08-08",
                状态="待分流",
                化解渠道="",
                承办单位="",
                受理日期="",
                办结日期="",
                办结方式="",
                简要情况="没有编号的待分流案件",
                发现场所="",
                涉及金额="",
                涉及人数="",
            ),
            case("R-5", 状态="已办结", 办结方式="不予受理", 受理日期="", 办结日期="2025-03-03"),
        ],
        [
            party("R-1"),
            party(
                "R-1",
                角色="被申请人",
                类型="法人",
                姓名或名称="双港物业公司",
                证件号码=make_uscc(),
                联系电话="022-25881234",
                住址="",
            ),
            party("R-2", 姓名或名称="赵六", 证件号码=make_id("11010519491231002"), 联系电话=""),
            party("R-2", 角色="第三人", 类型="其他组织", 姓名或名称="业主委员会", 证件号码="", 住址="双港村"),
            party("R-3", 姓名或名称="钱七"),
        ],
    )


def snapshot() -> dict:
    """Every field a ledger carries, per case number, with related rows by code."""
    db.session.expire_all()
    out = {}
    for d in db.session.scalars(select(Dispute)):
        extra = db.session.scalar(select(LedgerRecord.extra).where(LedgerRecord.dispute_id == d.id)) or {}
        out[d.case_no] = {
            "category": d.category,
            "source": d.source,
            "summary": d.summary,
            "node": d.node.code,
            "venue": d.venue,
            "people_count": d.people_count,
            "amount": d.amount,
            "occurred_on": d.occurred_on,
            "risk_level": d.risk_level,
            "flags": d.flags,
            "prominent": d.prominent,
            "civil_to_criminal": d.civil_to_criminal,
            "registering_unit": d.registering_unit.code,
            "registered_on": d.registered_on,
            "status": d.status,
            "channel": d.channel,
            "unit": d.unit.code if d.unit else None,
            "co_units": sorted(u.code for u in d.co_units),
            "accepted_on": d.accepted_on,
            "deadline": d.deadline,
            "stabilized_on": d.stabilized_on,
            "closed_on": d.closed_on,
            "outcome": d.outcome,
            "carry_over_reason": d.carry_over_reason,
            "parties": [
                (p.position, p.role, p.kind, p.name, p.id_number, p.phone, p.address) for p in d.parties
            ],
            "timeline": [(e.type, e.on) for e in d.events if e.type not in ("imported", "duplicate_warning")],
            "extra": extra,
        }
    return out


def empty_the_cases():
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord))
    db.session.execute(delete(Dispute))
    db.session.execute(delete(CaseSequence))
    db.session.commit()
    assert db.session.scalar(select(Dispute.id)) is None


def test_export_then_import_into_an_empty_database_gives_identical_cases(app, world, client, tmp_path):
    assert run(rich_ledger(tmp_path)).ok
    # and a case registered live, then routed, accepted and handled by two units
    r = client.post(
        "/api/v1/disputes",
        json=dispute_payload(
            world.grid_b.code, flags=["群体性"], summary='=HYPERLINK("http://x") 像公式的描述'
        ),
        headers=world.mediator_b.headers,
    )
    assert r.status_code == 201, r.get_json()
    live = db.session.get(Dispute, r.get_json()["id"])
    live.status, live.channel, live.unit = Status.HANDLING, Channel.ADMINISTRATIVE, world.police_b
    live.accepted_on, live.deadline = local_today(), date(2099, 1, 1)
    live.co_units.append(db.session.get(Unit, world.committee_b.id))
    db.session.commit()
    live_no = live.case_no
    before = snapshot()
    assert len(before) == 6
    assert before[live_no]["timeline"] == [("registered", local_today())]

    out = tmp_path / "export.xlsx"
    summary = export_ledger(out, world.district)
    assert summary == {"disputes": 6, "parties": 7, "node": world.district.code}
    cells = [
        c for row in load_workbook(out)["纠纷"].iter_rows() for c in row if c.value and str(c.value)[0] == "="
    ]
    assert [(c.value, c.data_type) for c in cells] == [
        ('=HYPERLINK("http://x") 像公式的描述', "s")
    ]  # text, not a formula
    empty_the_cases()
    result = run(out)
    assert result.ok, result.report_lines()
    after = snapshot()

    assert set(after) == set(before)
    for case_no, fields in before.items():
        for name, value in fields.items():
            expected = value
            if case_no == live_no and name == "timeline":
                # a live case's ledger keeps its dates; the steps between are summarised
                expected = [
                    ("registered", local_today()),
                    ("routed", local_today()),
                    ("accepted", local_today()),
                ]
            assert after[case_no][name] == expected, (case_no, name)
    assert before["R-2"]["extra"] == {"经办人": "王五"} and before["R-1"]["extra"] == {"备注": "第一本台账"}

    # and a second export of the re-imported cases is the same workbook, cell for cell
    again = tmp_path / "again.xlsx"
    export_ledger(again, world.district)
    sheets = [
        [list(r) for r in load_workbook(p, read_only=True)[s].iter_rows(values_only=True)]
        for p in (out, again)
        for s in ("纠纷", "当事人")
    ]
    assert sheets[0] == sheets[2] and sheets[1] == sheets[3]


def test_cli_export_and_import_round_trip(app, world, tmp_path):
    assert run(rich_ledger(tmp_path)).ok
    before = snapshot()
    out = tmp_path / "cli.xlsx"
    r = invoke(app, "ledger", "export", str(out), "--node", world.district.code, "--quiet")
    assert r.exit_code == 0, r.stderr
    assert "案件 5 件、当事人 5 人" in r.stdout
    empty_the_cases()
    r = invoke(app, "ledger", "import", str(out), "--quiet")
    assert r.exit_code == 0, r.stderr
    assert snapshot() == before


def sheet_rows(path, name):
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    width = len(rows[0])
    return [dict(zip(rows[0], [*r, *[None] * (width - len(r))], strict=True)) for r in rows[1:]]


def test_export_covers_the_subtree_only(app, world, tmp_path):
    assert run(rich_ledger(tmp_path)).ok
    out = tmp_path / "b.xlsx"
    assert export_ledger(out, world.town_b)["disputes"] == 4
    rows = sheet_rows(out, "纠纷")
    assert {r["案件编号"] for r in rows} == {"R-1", "R-2", "R-5", "（2025）双港调字第0001号"}
    assert all(r["属地"].startswith("海滨区/双港镇") for r in rows)
    assert {r["案件编号"] for r in sheet_rows(out, "当事人")} == {"R-1", "R-2"}
    r1 = next(r for r in rows if r["案件编号"] == "R-1")
    assert r1["登记日期"].date() == date(2025, 3, 3) and r1["涉及金额"] == 3500.5 and r1["民转刑"] == "否"
    assert r1["备注"] == "第一本台账"
    r2 = next(r for r in rows if r["案件编号"] == "R-2")
    assert r2["风险标记"] == "民转刑风险、涉众"
    assert set(r2["联办单位"].split("、")) == {"双港派出所", "双港镇人民调解委员会"}

    out_a = tmp_path / "a.xlsx"
    assert export_ledger(out_a, world.village_a)["disputes"] == 1
    assert [r["案件编号"] for r in sheet_rows(out_a, "纠纷")] == ["R-3"]


def test_id_numbers_are_full_only_for_those_who_may_read_them(app, world, tmp_path):
    assert run(rich_ledger(tmp_path)).ok
    full, masked = tmp_path / "full.xlsx", tmp_path / "masked.xlsx"
    export_ledger(full, world.town_b, user=world.mediator_b.user)  # mediators may read them
    export_ledger(masked, world.town_b, user=world.center_user_b.user)
    numbers = {r["姓名或名称"]: r["证件号码"] for r in sheet_rows(full, "当事人")}
    shown = {r["姓名或名称"]: r["证件号码"] for r in sheet_rows(masked, "当事人")}
    assert numbers["张三"] == make_id() and shown["张三"] == make_id()[:3] + "*" * 11 + make_id()[-4:]
    assert numbers["双港物业公司"] == shown["双港物业公司"] == make_uscc()  # credit codes are public


def test_export_only_from_nodes_in_the_users_subtree(app, world, tmp_path):
    with pytest.raises(LedgerAccessError):
        export_ledger(tmp_path / "x.xlsx", world.town_b, user=world.center_user_a.user)
    assert not (tmp_path / "x.xlsx").exists()
    export_ledger(tmp_path / "ok.xlsx", world.town_b, user=world.district_staff.user)
    r = invoke(
        app, "ledger", "export", str(tmp_path / "y.xlsx"), "--node", world.town_b.code, "--user", "center_a"
    )
    assert r.exit_code == 1 and "无权导出" in r.stderr
    r = invoke(app, "ledger", "export", str(tmp_path / "z.xlsx"), "--node", "no-such-node")
    assert r.exit_code == 1 and "不存在" in r.stderr
