"""一案一码: every case has a case code (random, checked, unique) on every path that creates one; it
is found again however it is typed; the API and the case page show it with the QR code of its public
address (built from PUBLIC_URL); the 受理通知书, the 权利义务告知书 and the agreement print it; the
acceptance calls the parties' notification hook."""

from __future__ import annotations

import base64
import io
import re
from itertools import pairwise

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation.common import codes
from mediation.common.qr import qr_png
from mediation.disputes import case_code, workflow
from mediation.disputes.models import CASE_CODE_LENGTH, Dispute, new_case_code
from mediation.disputes.workflow_schemas import AcceptIn, RouteIn
from mediation.documents import service as documents
from mediation.extensions import db
from mediation.ledger.service import import_ledger
from tests.documents_helpers import PUBLIC_URL, configure_signing, effective_agreement, make_case
from tests.factories import dispute_payload
from tests.test_ledger import case as ledger_case
from tests.test_ledger import party as ledger_party
from tests.test_ledger import write_ledger
from tests.test_walkin import form_data

CODE_RE = re.compile(f"[{codes.ALPHABET}]{{{CASE_CODE_LENGTH}}}")


def assert_valid(code: str) -> None:
    assert CODE_RE.fullmatch(code), code
    assert case_code.is_case_code(code), code


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def accepted_case(world) -> Dispute:
    d = make_case(world)
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    db.session.commit()
    return d


# --- the code: format, check character, normalisation ---------------------------------------------


def test_codes_are_random_well_formed_and_checked(seeded_random):
    drawn = {new_case_code() for _ in range(2000)}
    assert len(drawn) == 2000  # 31^9 possibilities: no repeats in a few thousand draws
    for code in drawn:
        assert_valid(code)
    # Every character of the alphabet appears in every random position (unguessable, not a counter).
    for position in range(CASE_CODE_LENGTH - 1):
        assert {c[position] for c in drawn} == set(codes.ALPHABET)


def test_the_check_character_catches_every_single_typo_and_every_swap(seeded_random):
    for _ in range(50):
        code = codes.with_check("".join(seeded_random.choice(codes.ALPHABET) for _ in range(9)))
        assert case_code.is_case_code(code)
        for i in range(len(code)):
            for other in codes.ALPHABET:
                if other != code[i]:
                    typo = code[:i] + other + code[i + 1 :]
                    assert not case_code.is_case_code(typo), (code, typo)
        for i, j in pairwise(range(len(code))):
            if code[i] != code[j]:
                swapped = code[:i] + code[j] + code[i] + code[j + 1 :]
                assert not case_code.is_case_code(swapped), (code, swapped)


def test_normalisation_of_what_people_type():
    assert case_code.normalize_case_code(" abcde-fghjk ") == "ABCDEFGHJK"
    assert case_code.normalize_case_code("ABCDE FGHJK") == "ABCDEFGHJK"
    assert case_code.normalize_case_code("ＡＢＣＤＥ－ＦＧＨＪＫ") == "ABCDEFGHJK"  # full width (an IME)
    assert case_code.normalize_case_code("abcde—fghjk") == "ABCDEFGHJK"
    assert case_code.normalize_case_code(None) == ""
    assert codes.grouped("ABCDEFGHJK") == "ABCDE-FGHJK"


def test_find_by_case_code_however_it_is_typed(world):
    d = make_case(world)
    other = make_case(world, summary="另一起纠纷，双方因借款发生争执。")
    code = d.case_code
    assert_valid(code)
    assert_valid(other.case_code)
    assert code != other.case_code
    for typed in (
        code,
        code.lower(),
        f"{code[:5]}-{code[5:]}",
        f" {code[:3]} {code[3:]} ",
        f"{code[:5].lower()}－{code[5:]}",
    ):
        assert case_code.find_by_case_code(typed) is d, typed
    wrong = code[:-1] + next(c for c in codes.ALPHABET if c != code[-1])
    assert case_code.find_by_case_code(wrong) is None  # a typo: caught by the check, no lookup
    assert case_code.find_by_case_code("") is None
    assert case_code.find_by_case_code(code + "2") is None
    assert case_code.find_by_case_code("' OR 1=1 --") is None
    unused = new_case_code(db.session.connection())
    assert case_code.find_by_case_code(unused) is None


# --- unique on every path -------------------------------------------------------------------------


def test_the_database_refuses_a_second_case_with_the_same_code(world):
    first = make_case(world)
    second = make_case(world, summary="另一起纠纷，双方因借款发生争执。")
    second.case_code = first.case_code
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_code_already_taken_is_drawn_again(world, monkeypatch):
    taken = make_case(world)
    bodies = iter([taken.case_code[:-1], taken.case_code[:-1], "ABCDEFGHJ"])
    monkeypatch.setattr(codes, "random_code", lambda length: next(bodies))
    d = make_case(world, summary="另一起纠纷，双方因借款发生争执。")
    assert d.case_code == codes.with_check("ABCDEFGHJ") != taken.case_code


def test_api_registration_and_answer_carry_the_code(client, world):
    r = client.post(
        "/api/v1/disputes", json=dispute_payload(world.grid_a.code), headers=world.mediator_a.headers
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert_valid(body["case_code"])
    d = db.session.get(Dispute, body["id"])
    assert body["case_code"] == d.case_code
    got = client.get(f"/api/v1/disputes/{d.id}", headers=world.mediator_a.headers).get_json()
    assert got["case_code"] == d.case_code
    listed = client.get("/api/v1/disputes", headers=world.mediator_a.headers).get_json()
    assert [i["case_code"] for i in listed["items"]] == [d.case_code]


def test_web_form_walk_in_and_court_referral_get_codes(web, client, world):
    web.login("mediator_b")
    r = web.client.post("/disputes/new", data=form_data(web, world.village_b.code))
    assert r.status_code == 303
    walked = web.client.post("/disputes/new", data=form_data(web, world.village_b.code, accept="1"))
    assert walked.status_code == 303
    body = dispute_payload(world.village_b.code)
    body.pop("source")
    body.update(kind="诉前委派", court_case_no="（2026）津0116民诉前调1234号", unit="TW-B")
    referred = client.post("/api/v1/court-referrals", json=body, headers=world.court_user.headers)
    assert referred.status_code == 201, referred.get_json()
    db.session.expire_all()
    disputes = db.session.scalars(select(Dispute).order_by(Dispute.id)).all()
    assert len(disputes) == 3
    assert disputes[1].accepted_on is not None  # the walk-in, accepted in the same request
    for d in disputes:
        assert_valid(d.case_code)
    assert len({d.case_code for d in disputes}) == 3


def test_ledger_import_gives_every_imported_case_a_code(app, world, tmp_path):
    numbers = [f"（2025）海滨调字第{n:04d}号" for n in range(101, 106)]
    path = write_ledger(
        tmp_path / "ledger.xlsx", [ledger_case(n) for n in numbers], [ledger_party(n) for n in numbers]
    )
    result = import_ledger(path)
    assert not result.errors, result.errors
    db.session.commit()
    imported = db.session.scalars(select(Dispute).where(Dispute.case_no.in_(numbers))).all()
    assert len(imported) == 5
    for d in imported:
        assert_valid(d.case_code)
    assert len({d.case_code for d in imported}) == 5


# --- public address and QR code ---------------------------------------------------------------------


def test_public_url_and_qr_come_from_public_url(app, world):
    app.config["PUBLIC_URL"] = PUBLIC_URL + "/"
    d = make_case(world)
    url = case_code.case_public_url(d)
    assert url == f"{PUBLIC_URL}/c/{d.case_code}"
    link = case_code.case_link(d)
    assert link["url"] == link["qr_data"] == url  # what the QR code encodes
    assert link["qr_png"] == qr_png(url)
    assert link["display"] == f"{d.case_code[:5]}-{d.case_code[5:]}"


def test_case_page_shows_code_and_qr_to_whoever_sees_the_case(app, web, world):
    app.config["PUBLIC_URL"] = PUBLIC_URL
    d = make_case(world)
    web.login("mediator_a")
    html = web.client.get(f"/disputes/{d.id}").get_data(as_text=True)
    assert case_code.display_code(d) in html
    assert f"{PUBLIC_URL}/c/{d.case_code}" in html
    qr = re.search(r'class="case-qr" src="(data:image/png;base64,[^"]+)"', html).group(1)
    assert qr == "data:image/png;base64," + base64.b64encode(qr_png(f"{PUBLIC_URL}/c/{d.case_code}")).decode()
    web.client.post("/logout", data={"csrf_token": web.csrf(f"/disputes/{d.id}")})
    web.login("mediator_b")  # another town's 调委会: the case is not theirs
    r = web.client.get(f"/disputes/{d.id}")
    assert r.status_code == 404 and d.case_code not in r.get_data(as_text=True)


# --- documents ------------------------------------------------------------------------------------------


def test_acceptance_notice_prints_code_qr_and_address_for_each_party(app, world, tmp_path):
    configure_signing(app, tmp_path)
    d = accepted_case(world)
    assert documents.form_applies(d, "acceptance")
    pdf = documents.render_form_pdf(d, "acceptance")
    reader = PdfReader(io.BytesIO(pdf))
    pages = [re.sub(r"\s+", "", p.extract_text()) for p in reader.pages]
    assert len(pages) == 2  # one copy per party
    for page, name in zip(pages, ("张三", "李四"), strict=True):
        assert "人民调解受理通知书" in page
        assert f"{name}：" in page
        assert d.case_no in page and "海滨街道人民调解委员会" in page
        assert case_code.display_code(d) in page
        assert f"{PUBLIC_URL}/c/{d.case_code}" in page
        assert f"调解期限至{d.deadline.year}年{d.deadline.month}月{d.deadline.day}日" in page
        assert "人民调解员mediator_a" in page or f"人民调解员{d.handler.name}" in page
        assert "拒绝调解" in page  # the rights, in one line
    images = [img for p in reader.pages for img in p.images]
    assert len(images) == 2  # the QR code, once per copy (embedded, never fetched)


def test_acceptance_notice_belongs_to_accepted_cases_and_the_case_file(app, world):
    pending = make_case(world)
    assert not documents.form_applies(pending, "acceptance")
    with pytest.raises(documents.DocumentError):
        documents.render_form_pdf(pending, "acceptance")
    d = accepted_case(world)
    assert documents.form_has_content(d, "acceptance")
    from mediation.documents import forms as F

    order = F.CASE_FILE_ORDER
    assert order.index("registration") < order.index("acceptance") < order.index("rights")


def test_rights_notice_and_agreement_print_the_code(app, world, tmp_path):
    configure_signing(app, tmp_path)
    d = accepted_case(world)
    rights = pdf_text(documents.render_form_pdf(d, "rights"))
    assert case_code.display_code(d) in rights and f"{PUBLIC_URL}/c/" in rights
    agreement = effective_agreement(world, d)
    doc = documents.signed_agreement(agreement)
    text = pdf_text(doc.pdf)
    assert case_code.display_code(d) in text
    assert doc.code in text  # the verification block stays
    assert documents.verify(doc.code).genuine


# --- the acceptance hook ------------------------------------------------------------------------------------


def test_notify_parties_queues_the_case_code_to_each_mobile_once(world):
    from mediation.sms.models import SmsMessage

    d = make_case(
        world,
        parties=[
            {"role": "申请人", "kind": "自然人", "name": "张三", "phone": "13800138000"},
            {"role": "被申请人", "kind": "自然人", "name": "李四", "phone": "022-25881234"},
            {"role": "被申请人", "kind": "自然人", "name": "王五", "phone": "13800138000"},
            {"role": "第三人", "kind": "自然人", "name": "赵六"},
            {"role": "第三人", "kind": "自然人", "name": "钱七", "phone": "139 0000 1111"},
        ],
    )
    before = db.session.scalar(select(db.func.count()).select_from(Dispute))
    assert case_code.notify_parties(d) == ["13800138000", "13900001111"]
    db.session.commit()
    rows = db.session.scalars(select(SmsMessage).order_by(SmsMessage.id)).all()
    assert [(r.phone, r.template, r.dispute_id) for r in rows] == [
        ("13800138000", "case_code", d.id),
        ("13900001111", "case_code", d.id),
    ]
    assert rows[0].params == {
        "case_no": d.case_no,
        "case_code": case_code.display_code(d),
        "url": case_code.case_public_url(d),
    }
    # a second call (re-acceptance after 移交, a retried request) sends nothing more
    assert case_code.notify_parties(d) == ["13800138000", "13900001111"]
    db.session.commit()
    assert db.session.scalar(select(db.func.count(SmsMessage.id))) == 2
    assert db.session.scalar(select(db.func.count()).select_from(Dispute)) == before


def test_acceptance_calls_the_hook_once(world, monkeypatch):
    calls = []
    monkeypatch.setattr(case_code, "notify_parties", lambda dispute: calls.append(dispute) or [])
    d = make_case(world)
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    assert calls == []  # registered and routed: not yet
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    assert calls == [d]
