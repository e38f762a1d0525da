"""The 人民调解文书 besides the agreement, read back from the PDFs they produce: each form bound to
the case's data and available in the states it belongs to, dates written 2026年3月5日, the 调解记录's
signature rows on the page of their session, the 卷宗 holding every document with page numbers that
match its 卷内目录, and the 月清月结 report (PDF and Excel) whose rows add up to its 合计."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from mediation import clock
from mediation.common.time import cn_date
from mediation.disputes import workflow
from mediation.disputes.workflow_schemas import AcceptIn, CloseIn, RejectIn, RouteIn, SessionIn
from mediation.documents import forms as F
from mediation.documents import service
from mediation.extensions import db
from tests.documents_helpers import configure_signing, effective_agreement, make_case, pdf_pages, pdf_text

# All cases of this module are registered on 2026-03-05 (Shanghai) and handled that day: a date
# whose month and day have one digit each, so that zero padding would show.
DAY = date(2026, 3, 5)


@pytest.fixture(autouse=True)
def march_fifth():
    with clock.frozen(datetime(2026, 3, 5, 2, 0)):  # 10:00 in Shanghai
        yield


@pytest.fixture
def signing_dir(app, tmp_path):
    return configure_signing(app, tmp_path)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_texts(pdf: bytes, tmp_path) -> list[str]:
    return [pdf_text(pdf, n, n) for n in range(1, pdf_pages(pdf, tmp_path) + 1)]


def new_case(world, **overrides):
    return make_case(world, **{"occurred_on": "2026-03-01", **overrides})


def routed(world, **overrides):
    d = new_case(world, **overrides)
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    db.session.commit()
    return d


def accepted(world, **overrides):
    d = routed(world, **overrides)
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    db.session.commit()
    return d


def rejected(world):
    d = routed(world)
    workflow.perform(
        world.mediator_a.user, d, "reject", RejectIn().load({"reason": "该纠纷已由人民法院受理。"})
    )
    db.session.commit()
    return d


def session(world, d, record: str, place: str = "调解室"):
    workflow.perform(
        world.mediator_a.user,
        d,
        "session",
        SessionIn().load(
            {
                "held_on": DAY.isoformat(),
                "place": place,
                "mediators": "调解员甲",
                "attendees": "张三、李四",
                "record": record,
            }
        ),
    )
    db.session.commit()


def failed(world):
    d = accepted(world)
    session(world, d, "双方各执一词。")
    workflow.perform(
        world.mediator_a.user,
        d,
        "close",
        CloseIn().load({"outcome": "调解不成功", "note": "双方对赔偿数额分歧过大。"}),
    )
    db.session.commit()
    return d


def form_text(d, kind: str) -> str:
    return flat(pdf_text(service.render_form_pdf(d, kind)))


# ------------------------------------------------------------------------------------------ dates


def test_one_date_rule_without_zero_padding(world, signing_dir):
    assert cn_date(date(2026, 3, 12)) == "2026年3月12日"
    assert cn_date("2026-03-05") == "2026年3月5日"
    assert cn_date(datetime(2026, 3, 4, 17, 30)) == "2026年3月5日"  # 01:30 on the 5th in Shanghai
    assert cn_date(None, "—") == "—"
    d = accepted(world)
    for kind in ("application", "registration", "rights"):
        text = form_text(d, kind)
        assert "2026年3月5日" in text, kind
        assert "03月" not in text and "月05日" not in text, kind
    # No document template or documents module formats dates by itself.
    found = subprocess.run(
        ["grep", "-rnE", r"strftime|%m|%d|'%02d'", "templates/documents", "mediation/documents"],
        capture_output=True,
        text=True,
    ).stdout
    assert found == "", found


# ------------------------------------------------------------------------ which form, in which state


def test_forms_follow_the_state_of_the_case(world):
    pending = new_case(world)
    applies = {k for k in F.FORMS if service.form_applies(pending, k)}
    assert applies == {"application", "registration", "cover"}
    d = accepted(world)
    assert {"rights", "record", "oral", "termination"} <= {k for k in F.FORMS if service.form_applies(d, k)}
    assert not service.form_applies(d, "rejection")
    r = rejected(world)
    applies = {k for k in F.FORMS if service.form_applies(r, k)}
    assert applies == {"application", "registration", "rejection", "cover"}


def test_rejected_case_gets_a_rejection_notice_with_reason_and_remedy(world, web):
    d = rejected(world)
    text = form_text(d, "rejection")
    assert "不予受理通知书" in text and "张三、李四" in text
    assert "经审查，该纠纷已由人民法院受理。依照《中华人民共和国人民调解法》第十七条、第十八条" in text
    assert "本委员会决定不予受理" in text
    assert "申请行政调解" in text and "向人民法院提起诉讼" in text
    assert "2026年3月5日" in text
    # The 终止人民调解告知书 is not issued for it.
    with pytest.raises(service.DocumentError) as err:
        service.render_form_pdf(d, "termination")
    assert err.value.status == 409 and "不予受理通知书" in err.value.message
    with pytest.raises(service.DocumentError):
        service.save_form(world.mediator_a.user, d, "termination", {"reason": "x"})
    web.login("mediator_a")
    r = web.client.get(f"/disputes/{d.id}/forms/termination.pdf")
    assert r.status_code == 303
    page = web.client.get(f"/disputes/{d.id}/documents").get_data(as_text=True)
    assert f"/disputes/{d.id}/forms/rejection" in page
    assert f"/disputes/{d.id}/forms/termination" not in page
    assert web.client.get(f"/disputes/{d.id}/forms/rejection").status_code == 200
    assert web.client.get(f"/disputes/{d.id}/forms/rights").status_code == 303  # not for this case
    assert "受理意见不予受理" in form_text(d, "registration")


def test_rights_notice_is_given_at_acceptance(world):
    d = accepted(world)
    text = form_text(d, "rights")
    assert "人民调解当事人权利义务告知书" in text
    assert "已于2026年3月5日受理" in text
    for line in (
        "选择或者接受人民调解员",
        "接受调解、拒绝调解或者要求终止调解",
        "如实陈述纠纷事实",
        "尊重对方当事人行使权利",
    ):
        assert line in text
    assert "申请人张三（签收）" in text and "被申请人李四（签收）" in text


def test_oral_agreement_is_recorded_and_confirmed_by_the_parties(world):
    d = accepted(world)
    service.save_form(
        world.mediator_a.user,
        d,
        "oral",
        {
            "agreed_on": "2026-03-05",
            "content": "李四当场赔偿张三修复费用800元，双方再无争议。",
            "performance": "当场以现金支付。",
        },
    )
    db.session.commit()
    text = form_text(d, "oral")
    assert "口头协议登记表" in text and "李四当场赔偿张三修复费用800元，双方再无争议。" in text
    assert "当场以现金支付。" in text and "第二十八条" in text
    assert "申请人张三（签名或按指印确认）" in text and "被申请人李四（签名或按指印确认）" in text
    assert "人民调解员（签名）" in text
    with pytest.raises(service.DocumentError) as err:
        service.save_form(world.mediator_a.user, d, "oral", {"content": "x"})
    assert err.value.status == 422 and "agreed_on" in err.value.errors


# ---------------------------------------------------------------------------- bound to their data


def test_application_prints_the_registered_request(world):
    d = accepted(world, summary="楼上李四家卫生间漏水导致张三家墙面受损，要求李四修缮并赔偿损失3500元。")
    text = form_text(d, "application")
    assert "（未填写）" not in text
    assert re.search("申请事项要求李四修缮并赔偿损失3500元。事实和理由", text), text


def test_followup_record_shows_method_and_person_visited(world):
    from mediation.followups.models import FollowUp, FollowUpKind
    from mediation.followups.service import complete_followup

    d = accepted(world)
    workflow.perform(world.mediator_a.user, d, "close", CloseIn().load({"outcome": "调解成功"}))
    db.session.flush()
    rows = []
    for kind in (FollowUpKind.PERFORMANCE, FollowUpKind.SATISFACTION):
        fu = db.session.scalars(
            select(FollowUp).where(FollowUp.dispute_id == d.id, FollowUp.kind == kind)
        ).first()
        if fu is None:
            fu = FollowUp(dispute=d, kind=kind, anchor_on=DAY, due_on=DAY, unit=world.committee_a)
            db.session.add(fu)
        rows.append(fu)
    db.session.flush()
    complete_followup(
        world.mediator_a.user, rows[0], "被申请人已按约定履行。", method="上门回访", visited="申请人张三"
    )
    # Recorded without them (as before): read from the result and the parties.
    complete_followup(world.mediator_a.user, rows[1], "电话回访李四，对调解结果表示满意。", 5)
    db.session.commit()
    text = form_text(d, "followup")
    assert "回访方式上门回访" in text and "被回访人申请人张三" in text
    assert "回访方式电话回访" in text and "被回访人被申请人李四" in text
    assert "非常满意" in text


def test_record_has_a_mediator_signature_row_kept_with_its_session(world, tmp_path):
    d = accepted(world)
    # A long first session, then a last one that, left alone, starts at the foot of page 1 and
    # leaves its signature rows for page 2 (measured: lengths (10, 3) do that without the rule).
    lengths = (10, 3)
    for n, count in enumerate(lengths, start=1):
        body = "\n".join(
            f"第{n}次调解第{i}段：双方陈述意见，调解员释法明理，当事人表示考虑。" for i in range(count)
        )
        session(world, d, f"会谈{n}开始。\n{body}\n会谈{n}结束。")
    pdf = service.render_form_pdf(d, "record")
    pages = [flat(t) for t in page_texts(pdf, tmp_path)]
    assert len(pages) >= 2
    for n in range(1, len(lengths) + 1):
        start = next(i for i, t in enumerate(pages) if f"会谈{n}开始" in t)
        end = next(i for i, t in enumerate(pages) if f"会谈{n}结束" in t)
        assert start == end, (n, start, end)
        after = pages[end].split(f"会谈{n}结束", 1)[1]
        assert "调解员（签名）" in after and "当事人（签名）" in after and "记录人（签名）" in after, n
    assert "会谈2结束" in pages[-1] and "调解员（签名）" in pages[-1].split("会谈2结束", 1)[1]


def test_termination_notice_reads_correctly(world):
    d = failed(world)
    text = form_text(d, "termination")
    assert (
        "你（们）之间的邻里纠纷，海滨街道人民调解委员会于2026年3月5日受理并进行了调解。"
        "因双方对赔偿数额分歧过大，依照《中华人民共和国人民调解法》第二十六条的规定，本委员会决定终止调解。"
    ) in text
    assert "你（们）可以依法通过仲裁、行政、司法等途径维护自己的权利。" in text
    assert text.count("决定终止调解") == 1
    assert "。，" not in text and "。。" not in text


def test_confirmation_is_a_joint_application_of_both_parties(world, signing_dir):
    d = accepted(world)
    effective_agreement(world, d)
    service.save_form(world.mediator_a.user, d, "confirmation", {"court": "海滨区人民法院"})
    db.session.commit()
    text = form_text(d, "confirmation")
    assert "被申请人" not in text
    assert (
        text.count("申请人张三（签名、盖章或按指印）") == 1
        and text.count("申请人李四（签名、盖章或按指印）") == 1
    )
    assert "（（" not in text and "））" not in text
    assert "共同申请人民法院确认" in text and "此致海滨区人民法院" in text


# ------------------------------------------------------------------------------------ the case file


def _toc_rows(pdf: bytes) -> list[tuple[str, int]]:
    toc = pdf_text(pdf, 2, 2, layout=True)
    rows = []
    for line in toc.splitlines():
        match = re.match(r"^\s*(\d+)\s+(\S+)\s.*?(\d+)\s*$", line)
        if match:
            rows.append((match.group(2), int(match.group(3))))
    return rows


def test_case_file_holds_every_document_in_order_with_matching_page_numbers(world, signing_dir, tmp_path):
    from mediation.disputes.casework import JudicialConfirmation

    d = accepted(world)
    user = world.mediator_a.user
    session(world, d, "双方陈述意见，初步达成一致。")
    effective_agreement(world, d)
    service.save_form(user, d, "oral", {"agreed_on": "2026-03-05", "content": "张三同意李四分两次付清。"})
    workflow.perform(user, d, "close", CloseIn().load({"outcome": "调解成功"}))
    # 司法确认 applied for (casework row): the case file must hold the 司法确认申请书.
    db.session.add(
        JudicialConfirmation(dispute_id=d.id, agreement_on=DAY, applied_on=DAY, court_id=world.court.id)
    )
    service.save_form(
        user,
        d,
        "followup",
        {
            "visited_on": "2026-03-05",
            "method": "电话回访",
            "visitor": "调解员甲",
            "visited": "张三",
            "performance": "已履行完毕。",
        },
    )
    db.session.commit()
    pdf = service.case_file_pdf(user, d).content
    rows = _toc_rows(pdf)
    titles = [t for t, _ in rows]
    assert titles == [
        "卷内目录",
        "人民调解申请书",
        "人民调解受理登记表",
        "人民调解受理通知书",
        "人民调解当事人权利义务告知书",
        "人民调解记录",
        "人民调解协议书",
        "口头协议登记表",
        "司法确认申请书",
        "人民调解回访记录",
    ], titles
    pages = [flat(t) for t in page_texts(pdf, tmp_path)]
    numbers = [n for _, n in rows]
    assert numbers == sorted(numbers) and numbers[0] == 2
    for title, number in rows:
        # The page the index names starts with that document: its number, then its title.
        lines = [flat(line) for line in pdf_text(pdf, number, number).splitlines() if line.strip()]
        assert lines[:2] == [str(number), title], (title, number, lines[:3])
    # One numbering: every page after the cover carries its own number (top right) and nothing else.
    for index, page in enumerate(pages[1:], start=2):
        first_line = pdf_text(pdf, index, index, layout=True).strip().splitlines()[0].strip()
        assert first_line == str(index), (index, first_line)
        assert not re.search(r"第\d+页共\d+页", page), index


def test_rejected_case_file_has_the_rejection_notice(world, signing_dir):
    d = rejected(world)
    pdf = service.case_file_pdf(world.mediator_a.user, d).content
    titles = [t for t, _ in _toc_rows(pdf)]
    assert titles == ["卷内目录", "人民调解申请书", "人民调解受理登记表", "不予受理通知书"], titles


# -------------------------------------------------------------------------------------- the report


def _october(world):
    from tests.reports_data import case

    w = world
    case(w, w.grid_a, date(2026, 9, 10), prominent=True, reason="当事人外出，下月继续调解。")
    case(w, w.grid_a, date(2026, 10, 1), closed_on=date(2026, 10, 1))
    case(w, w.village_b, date(2026, 10, 31))
    # 属地 = the district itself: counted in the district's 合计, in none of its towns.
    case(w, w.district, date(2026, 10, 8), closed_on=date(2026, 10, 20))
    case(w, w.district, date(2026, 10, 9))
    db.session.commit()


KEYS = ["上月结转", "本月新增", "本月办结", "调解成功", "稳控", "结转下月", "超期"]


def test_monthly_report_rows_add_up_to_the_total_with_the_direct_row(world, web):
    _october(world)
    web.login("qu_center")
    r = web.client.get(f"/reports/monthly.pdf?node={world.district.code}&month=2026-10")
    assert r.status_code == 200
    text = pdf_text(r.data, layout=True)
    section = text.split("下级节点", 1)[1].split("按类别与渠道", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\s*(\S+)\s+((?:\d+\s+){7})", line)
        if match:
            rows[match.group(1)] = [int(x) for x in match.group(2).split()]
    assert set(rows) == {"海滨街道", "双港镇", "海滨区（本级直属）", "合计"}, rows
    total = [sum(col) for col in zip(*(v for k, v in rows.items() if k != "合计"), strict=True)]
    assert total == rows["合计"] and rows["海滨区（本级直属）"][1] == 2
    assert section.count("合计") == 1

    # Excel: the same rows, the 合计 a SUM over all of them.
    r = web.client.get(f"/reports/monthly.xlsx?node={world.district.code}&month=2026-10")
    ws = load_workbook(io.BytesIO(r.data))["下级节点"]
    names = [ws.cell(row=i, column=1).value for i in range(5, 9)]
    assert names == ["海滨街道", "双港镇", "海滨区（本级直属）", "合计"]
    for col in range(3, 10):
        values = [ws.cell(row=i, column=col).value for i in range(5, 8)]
        assert sum(values) == rows["合计"][col - 3]
        assert (
            ws.cell(row=8, column=col).value == f"=SUM({ws.cell(row=5, column=col).column_letter}5:"
            f"{ws.cell(row=5, column=col).column_letter}7)"
        )


def test_direct_row_is_printed_even_when_zero(world, web):
    from tests.reports_data import case

    case(world, world.grid_a, date(2026, 10, 1))
    db.session.commit()
    web.login("qu_center")
    r = web.client.get(f"/reports/monthly.pdf?node={world.district.code}&month=2026-10")
    text = flat(pdf_text(r.data))
    assert "海滨区（本级直属）0000000" in text


def test_long_report_table_repeats_its_header_and_prints_the_total_once(world, web, tmp_path):
    from mediation.common.enums import NodeLevel
    from tests.factories import node
    from tests.reports_data import case

    for i in range(60):  # enough child nodes for the table to run over a page
        case(
            world,
            node(f"12011699{i:04d}", f"测试镇{i:02d}", NodeLevel.TOWN, world.district),
            date(2026, 10, 2),
        )
    db.session.commit()
    web.login("qu_center")
    r = web.client.get(f"/reports/monthly.pdf?node={world.district.code}&month=2026-10")
    pages = [pdf_text(r.data, n, n) for n in range(1, pdf_pages(r.data, tmp_path) + 1)]
    table_pages = [p for p in pages if "测试镇" in p]
    assert len(table_pages) >= 2
    for p in table_pages:
        assert "上月结转" in p and "本月办结" in p  # the header, on every page of the table
    assert sum(flat(p).count("合计") for p in table_pages) == 1
    assert "合计" in table_pages[-1]


def test_followup_completion_takes_method_and_person_visited_on_api_and_web(world, client, web):
    from mediation.disputes.models import Event
    from mediation.followups.models import FollowUp, FollowUpKind

    d = accepted(world)
    visits = []
    for kind in (FollowUpKind.PERFORMANCE, FollowUpKind.CONFIRMATION):
        fu = FollowUp(dispute=d, kind=kind, anchor_on=DAY, due_on=DAY, unit=world.committee_a)
        db.session.add(fu)
        visits.append(fu)
    db.session.commit()
    h = world.mediator_a.headers
    r = client.post(
        f"/api/v1/followups/{visits[0].id}/complete",
        headers=h,
        json={"result": "已履行。", "method": "飞鸽传书"},
    )
    assert r.status_code == 422 and "method" in r.get_json()["errors"]["json"]
    r = client.post(
        f"/api/v1/followups/{visits[0].id}/complete",
        headers=h,
        json={"result": "已履行。", "method": "电话回访", "visited": "被申请人李四"},
    )
    assert r.status_code == 200, r.get_json()
    web.login("mediator_a")
    page = web.client.get("/followups/").get_data(as_text=True)
    assert f'id="fu-{visits[1].id}-method"' in page and f'id="fu-{visits[1].id}-visited"' in page
    token = web.csrf("/followups/")
    r = web.client.post(
        f"/followups/{visits[1].id}/complete",
        data={
            "csrf_token": token,
            "result": "双方未申请司法确认。",
            "method": "当面回访",
            "visited": "申请人张三",
        },
    )
    assert r.status_code in (302, 303)
    done = db.session.scalars(
        select(Event).where(Event.dispute_id == d.id, Event.type == "followup_done").order_by(Event.id)
    ).all()
    assert [(e.data.get("method"), e.data.get("visited")) for e in done] == [
        ("电话回访", "被申请人李四"),
        ("当面回访", "申请人张三"),
    ]
    text = form_text(d, "followup")
    assert "回访方式电话回访" in text and "被回访人被申请人李四" in text and "回访方式当面回访" in text
