"""The 人民调解协议书 itself: its number (issued by the mediating 调委会, its own yearly series, no
doubled 调), the 补充协议's own number and its citation of the original, the party block (person and
organisation, no empty cells), the signature block kept with the last lines of the text (or
"（以下无正文）" where it had to break), typed structure (numbered terms, instalment tables), and the
new party fields through the API, the form and the ledger."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from mediation.common.time import local_today
from mediation.disputes import service as dispute_service
from mediation.disputes.models import Dispute, Party
from mediation.disputes.schemas import DisputeCreate
from mediation.documents import service
from mediation.documents.models import AgreementKind
from mediation.documents.render import formatted_text
from mediation.extensions import db
from mediation.geo.models import number_mark
from tests.documents_helpers import (
    AGREEMENT,
    configure_signing,
    data_url,
    effective_agreement,
    make_case,
    pdf_pages,
    pdf_text,
    signature_png,
)
from tests.factories import dispute_payload, make_id, zh_number
from tests.test_ledger import make_uscc, run
from tests.test_ledger_export import empty_the_cases


@pytest.fixture
def signing_dir(app, world, tmp_path):
    return configure_signing(app, tmp_path)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pages(pdf: bytes, tmp_path) -> list[str]:
    return [pdf_text(pdf, n, n, layout=True) for n in range(1, pdf_pages(pdf, tmp_path) + 1)]


PERSON = {
    "role": "申请人",
    "kind": "自然人",
    "name": "张三",
    "id_number": make_id(),
    "phone": "13800138000",
    "address": "新家园社区3号楼2门101",
    "ethnicity": "回",
    "occupation": "个体工商户",
}
COMPANY = {
    "role": "被申请人",
    "kind": "法人",
    "name": "海滨物业服务有限公司",
    "id_number": make_uscc(),
    "phone": "022-25881234",
    "address": "海滨街道海滨大道88号",
    "legal_rep_name": "王五",
    "legal_rep_title": "总经理",
    "agent_name": "赵六",
}


# ---------------------------------------------------------------- numbers


def test_number_mark_never_doubles_the_tiao():
    assert number_mark("双港镇人调", "双港") == "双港镇"
    assert number_mark("海滨医调", "海滨") == "海滨医"
    assert number_mark(None, "双港") == "双港"
    assert number_mark("海滨", "海滨") == "海滨"


def test_agreement_number_is_the_committees_own_series_and_never_doubles_tiao(world, signing_dir, tmp_path):
    world.committee_a.short_name = "海滨街道人调"  # a 简称 ending in 调, as the demo's units have
    db.session.commit()
    first = effective_agreement(world)
    assert first.unit == world.committee_a
    assert first.number == f"（{local_today().year}）海滨街道调协字第0001号"
    second = effective_agreement(world)  # another case of the same 调委会: the next number
    assert second.number == f"（{local_today().year}）海滨街道调协字第0002号"
    for a in (first, second):
        assert "调调" not in a.number and "-协" not in a.number and "调调" not in a.dispute.case_no
    # the case number uses the same 字号 (the one function), not "海滨街道人调调字"
    case = make_case(world)
    assert "调调" not in case.case_no
    pdf = service.signed_agreement(first).pdf
    page = _flat(pdf_text(pdf))
    assert first.number in page and "调调" not in page
    assert page.count("海滨街道人民调解委员会（印）") == 1


def test_agreement_number_follows_the_configured_pattern(app, world, signing_dir):
    app.config["AGREEMENT_NO_PATTERN"] = "{unit}协{year}-{seq:03d}"
    a = service.draft_agreement(world.mediator_a.user, make_case(world), AGREEMENT)
    assert a.number == f"{world.committee_a.abbreviation}协{local_today().year}-001"


def test_the_issuer_is_a_committee_never_a_grid_or_a_center(world, signing_dir):
    dispute = make_case(world)
    dispute.unit = world.grid_unit_a  # the case sits with a grid: the mediator's 调委会 issues
    db.session.commit()
    a = service.draft_agreement(world.mediator_a.user, dispute, AGREEMENT)
    assert a.unit == world.committee_a and "网格" not in a.number
    world.mediator_a.user.unit = world.center_a
    db.session.commit()
    with pytest.raises(service.DocumentError) as err:
        service.draft_agreement(world.mediator_a.user, dispute, AGREEMENT)
    assert err.value.status == 409 and "人民调解委员会" in err.value.message


def test_first_supplement_has_its_own_number_and_cites_the_original(world, signing_dir):
    original = effective_agreement(world)
    user = world.mediator_a.user
    supplement = service.draft_supplement(
        user,
        original,
        {"terms": "一、原协议第一条的赔偿金额更正为人民币叁仟捌佰元整。", "performance_method": "同原协议。"},
    )
    db.session.commit()
    assert supplement.kind == AgreementKind.SUPPLEMENT
    year = local_today().year
    mark = world.committee_a.abbreviation
    assert supplement.number == f"（{year}）{mark}调协字第0002号" and "补2" not in supplement.number
    day = original.effective_on
    cited = f"{day.year}年{day.month}月{day.day}日出具的人民调解协议书（{original.number}）"
    assert cited in supplement.facts
    service.submit_for_signing(user, supplement)
    service.sign(user, supplement, "当事人", party_index=0, method="按指印")
    service.sign(user, supplement, "当事人", party_index=1, method="纸质签名")
    service.affix_seal(user, supplement)
    service.sign(user, supplement, "调解员", image=data_url(signature_png()))
    db.session.commit()
    text = _flat(pdf_text(service.signed_agreement(supplement).pdf))
    assert text.startswith("补充协议") or "补充协议" + supplement.number in text
    assert supplement.number in text and cited in text and "补2" not in text


# ---------------------------------------------------------------- the party block


class _Cells(HTMLParser):
    """The cells of the agreement's party table."""

    def __init__(self):
        super().__init__()
        self.inside, self.cell, self.cells = 0, None, []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "agreement-parties" in (dict(attrs).get("class") or ""):
            self.inside = 1
        elif tag in ("td", "th") and self.inside:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.cells.append(self.cell.strip())
            self.cell = None
        elif tag == "table":
            self.inside = 0

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _cells(html: str) -> list[str]:
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def test_person_and_organisation_party_blocks_have_no_empty_cells(world, signing_dir, tmp_path):
    bare = {"role": "第三人", "kind": "自然人", "name": "孙八"}  # nothing but a name: no empty rows for it
    dispute = make_case(world, parties=[PERSON, COMPANY, bare])
    a = effective_agreement(world, dispute)
    cells = _cells(service.render_agreement_html(a))
    assert cells and all(cells), cells
    pairs = list(zip(cells[::2], cells[1::2], strict=True))
    assert pairs == [
        ("申请人", "张三"),
        ("性别", "男"),
        ("民族", "回族"),
        ("出生日期", "1980年1月1日"),
        ("职业或职务", "个体工商户"),
        ("联系方式", "13800138000"),
        ("身份证号码", PERSON["id_number"]),
        ("住所", PERSON["address"]),
        ("被申请人", COMPANY["name"]),
        ("统一社会信用代码", COMPANY["id_number"]),
        ("住所", COMPANY["address"]),
        ("法定代表人", "王五（总经理）"),
        ("委托代理人", "赵六"),
        ("联系方式", COMPANY["phone"]),
        ("第三人", "孙八"),
    ]
    assert cells.count("性别") == 1 and cells.count("身份证号码") == 1  # none for 孙八

    text = _flat(pdf_text(service.signed_agreement(a).pdf))
    for expected in (
        "民族回族",
        "职业或职务个体工商户",
        "法定代表人王五（总经理）",
        "委托代理人赵六",
        "统一社会信用代码" + COMPANY["id_number"],
        "第三人孙八",
    ):
        assert expected in text, expected
    # the signature lines print each name, with room for a signature or a fingerprint, and a date
    layout = pdf_text(service.signed_agreement(a).pdf, layout=True)
    assert re.search(r"申请人：\s*张三\s+签名或按指印：", layout)
    assert re.search(r"第三人：\s*孙八\s+签名或按指印：（已按指印）", layout)
    assert "盖章或按指印：（已按指印）" in layout  # the company's line
    assert re.search(r"人民调解员：\s*mediator_a\s+签名：", layout)


# ---------------------------------------------------------------- long agreements


def _long_terms(n: int) -> str:
    return "\n".join(
        f"{i}. 第{i}项约定：李四于每月五日前向张三支付修复费用分期款，并承担逾期付款的违约责任，"
        f"双方对此无异议。"
        for i in range(1, n + 1)
    )


def test_the_signature_block_stays_with_the_last_lines_of_a_long_agreement(world, signing_dir, tmp_path):
    a = effective_agreement(world, terms=_long_terms(28))
    pdf = service.signed_agreement(a).pdf
    pages = _pages(pdf, tmp_path)
    assert len(pages) >= 2
    sign_pages = [i for i, p in enumerate(pages) if "人民调解员：" in p]
    last_text = [i for i, p in enumerate(pages) if "申请司法确认" in _flat(p)]
    seal_line = [i for i, p in enumerate(pages) if "海滨街道人民调解委员会（印）" in _flat(p)]
    assert sign_pages == last_text == seal_line, (sign_pages, last_text, seal_line)
    # the block did not stand alone: the text's last paragraphs came along, and no note was needed
    assert "本协议一式" in _flat(pages[sign_pages[0]])
    assert "以下无正文" not in _flat("".join(pages))


def test_where_the_block_must_break_the_text_ends_with_no_further_text_note(world, signing_dir, tmp_path):
    many = [
        {"role": "申请人" if i % 2 else "被申请人", "kind": "自然人", "name": f"当事人{zh_number(i)}"}
        for i in range(1, 19)
    ]
    dispute = make_case(world, parties=many, people_count=18)
    a = service.draft_agreement(world.mediator_a.user, dispute, {**AGREEMENT, "terms": _long_terms(6)})
    db.session.commit()
    pdf = service.preview_pdf(a)
    pages = _pages(pdf, tmp_path)
    note = [i for i, p in enumerate(pages) if "（以下无正文）" in p]
    text_end = [i for i, p in enumerate(pages) if "申请司法确认" in _flat(p)]
    assert note == text_end and len(note) == 1
    assert any("人民调解员：" in p for p in pages[note[0] + 1 :])  # the signatures go on after it


# ---------------------------------------------------------------- typed structure

INSTALMENTS = (
    "一、李四分三期向张三支付赔偿款共计人民币叁仟元整。\n"
    "期数|付款日期|金额（元）\n"
    "第一期|2026年1月5日|1000\n"
    "第二期\t2026年2月5日\t1000\n"
    "第三期 | 2026年3月5日 | 1000\n"
    "二、任何一期逾期未付的，张三可就剩余款项一并主张。\n"
    "（一）<b>不是标记</b>"
)


def test_formatter_escapes_first_then_structures():
    html = str(formatted_text(INSTALMENTS))
    assert "<b>" not in html and "&lt;b&gt;不是标记&lt;/b&gt;" in html
    assert html.count('<p class="term">') == 3
    assert '<table class="typed">' in html and html.count("<tr>") == 4
    assert "<td>第二期</td><td>2026年2月5日</td><td>1000</td>" in html
    assert str(formatted_text("a|<script>x</script>\nb|c")).count("<script>") == 0


def test_instalment_table_and_numbered_terms_keep_their_structure_in_the_pdf(world, signing_dir, tmp_path):
    a = effective_agreement(world, terms=INSTALMENTS)
    layout = pdf_text(service.signed_agreement(a).pdf, layout=True)
    lines = [line.strip() for line in layout.splitlines()]
    assert any(re.fullmatch(r"第二期\s{2,}2026年2月5日\s{2,}1000", line) for line in lines), layout
    assert any(re.fullmatch(r"第三期\s{2,}2026年3月5日\s{2,}1000", line) for line in lines)
    assert any(line.startswith("一、李四分三期") for line in lines)
    assert any(line.startswith("二、任何一期逾期未付") for line in lines)
    assert "|" not in layout and "<b>" in layout  # the cell separators became a table, the tag stayed text


# ---------------------------------------------------------------- the party fields


def test_api_accepts_and_returns_the_new_party_fields(client, world):
    body = dispute_payload(world.grid_a.code, parties=[PERSON, COMPANY])
    r = client.post("/api/v1/disputes", json=body, headers=world.mediator_a.headers)
    assert r.status_code == 201, r.get_json()
    got = client.get(f"/api/v1/disputes/{r.get_json()['id']}", headers=world.mediator_a.headers).get_json()
    person, company = got["parties"]
    assert (person["ethnicity"], person["occupation"]) == ("回族", "个体工商户")
    assert (company["legal_rep_name"], company["legal_rep_title"], company["agent_name"]) == (
        "王五",
        "总经理",
        "赵六",
    )

    bad = dispute_payload(
        world.grid_a.code,
        parties=[
            {**PERSON, "ethnicity": "火星", "legal_rep_name": "某某"},
            {**COMPANY, "occupation": "物业"},
        ],
    )
    r = client.post("/api/v1/disputes", json=bad, headers=world.mediator_a.headers)
    assert r.status_code == 422
    errors = r.get_json()["errors"]["json"]["parties"]
    assert "56个民族" in errors["0"]["ethnicity"][0] and "法定代表人" in errors["0"]["legal_rep_name"][0]
    assert "职业" in errors["1"]["occupation"][0]
    assert db.session.scalar(select(Dispute.id).where(Dispute.id > 1)) is None  # nothing half-written


def test_registration_form_takes_the_new_party_fields(web, world):
    from tests.test_web import form_data, open_form

    web.login("mediator_a")
    html = web.client.get("/disputes/new").get_data(as_text=True)
    for name in ("ethnicity", "occupation", "legal_rep_name", "legal_rep_title", "agent_name"):
        assert f'name="parties-0-{name}"' in html
    hidden = open_form(web)
    r = web.client.post(
        "/disputes/new",
        data=form_data(
            world.grid_a.code,
            hidden,
            **{
                "parties-0-ethnicity": "汉族",
                "parties-0-occupation": "教师",
                "parties-1-legal_rep_name": "王五",
                "parties-1-legal_rep_title": "总经理",
                "parties-1-agent_name": "赵六",
            },
        ),
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    person, company = db.session.scalar(select(Dispute)).parties
    assert (person.ethnicity, person.occupation) == ("汉族", "教师")
    assert (company.legal_rep_name, company.legal_rep_title, company.agent_name) == ("王五", "总经理", "赵六")
    page = web.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "王五（总经理）" in page and "赵六" in page

    hidden = open_form(web)
    r = web.client.post(
        "/disputes/new", data=form_data(world.grid_a.code, hidden, **{"parties-1-ethnicity": "汉族"})
    )
    assert r.status_code == 422
    assert "只有自然人填写民族" in r.get_data(as_text=True)


def test_ledger_export_and_import_round_trip_the_new_party_fields(app, world, tmp_path):
    from mediation.ledger.service import export_ledger

    data = DisputeCreate().load(dispute_payload(world.grid_a.code, parties=[PERSON, COMPANY]))
    dispute_service.register(world.mediator_a.user, data)
    db.session.commit()
    out = tmp_path / "parties.xlsx"
    export_ledger(out, world.district)
    sheet = list(load_workbook(out, read_only=True)["当事人"].iter_rows(values_only=True))
    header = list(sheet[0])
    for column in ("民族", "职业或职务", "法定代表人", "法定代表人职务", "委托代理人"):
        assert column in header
    rows = [dict(zip(header, r)) for r in sheet[1:]]  # noqa: B905 (read-only rows drop trailing blanks)
    assert rows[0]["民族"] == "回族" and rows[1]["法定代表人"] == "王五" and rows[1]["委托代理人"] == "赵六"

    empty_the_cases()
    result = run(out)
    assert result.ok, result.report_lines()
    parties = {p.name: p for p in db.session.scalars(select(Party))}
    assert (parties["张三"].ethnicity, parties["张三"].occupation) == ("回族", "个体工商户")
    company = parties[COMPANY["name"]]
    assert (company.legal_rep_name, company.legal_rep_title, company.agent_name) == ("王五", "总经理", "赵六")


@pytest.mark.browser
def test_registration_form_shows_the_details_of_the_partys_kind(live_server, page, world):
    from tests.browser import login, shot

    login(page, live_server, "mediator_a")
    page.goto(live_server.url_for("/disputes/new"))
    page.get_by_label("纠纷类别").select_option("邻里")
    page.get_by_label("来源").select_option("群众来访")
    page.get_by_label("属地").select_option(world.grid_a.code)
    page.get_by_label("简要情况").fill("物业费纠纷，浏览器端到端测试。")
    page.get_by_label("风险等级").select_option("一般")
    first = page.locator("[data-party]").nth(0)
    first.get_by_label("姓名/名称").fill("王小明")
    assert first.get_by_label("民族（自然人）").is_visible()
    assert not first.get_by_label("法定代表人职务").is_visible()  # a person has none
    first.get_by_label("民族（自然人）").fill("满族")
    first.get_by_label("职业或职务（自然人）").fill("退休职工")
    page.get_by_role("button", name="添加当事人").click()
    second = page.locator("[data-party]").nth(1)
    second.get_by_label("角色").select_option("被申请人")
    second.get_by_label("类型").select_option("法人")
    assert not second.get_by_label("民族（自然人）").is_visible()
    second.get_by_label("姓名/名称").fill("海滨物业服务有限公司")
    second.get_by_label("法定代表人（法人、其他组织）").fill("王五")
    second.get_by_label("法定代表人职务").fill("总经理")
    second.get_by_label("委托代理人").fill("赵六")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "e2e_register_party_details_phone")
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url(re.compile(r"/disputes/\d+$"))
    assert "王五（总经理）" in page.content()
    db.session.expire_all()
    person, company = db.session.scalars(select(Dispute)).one().parties
    assert (person.ethnicity, person.occupation) == ("满族", "退休职工")
    assert (company.legal_rep_name, company.legal_rep_title, company.agent_name) == ("王五", "总经理", "赵六")


def test_ledger_import_names_a_bad_party_detail_cell(app, world, tmp_path):
    from tests.test_ledger import PARTY_HEADERS, case, issues, party, write_ledger

    headers = [*PARTY_HEADERS, "民族", "法定代表人"]
    path = write_ledger(
        tmp_path / "bad.xlsx",
        [case("B-1")],
        [
            party("B-1", 民族="火星"),
            party("B-1", 角色="被申请人", 姓名或名称="李四", 证件号码="", 法定代表人="某某"),
        ],
        party_headers=headers,
    )
    result = run(path)
    assert not result.ok
    assert {(sheet, column) for sheet, _row, column in issues(result)} == {
        ("当事人", "民族"),
        ("当事人", "法定代表人"),
    }
    assert db.session.scalar(select(Dispute.id)) is None  # nothing half-written
