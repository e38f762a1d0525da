"""The parties' door (/c/<case code>, issue 15): a party proves a phone on file with a one-time SMS
code and gets a short party session bound to that one case; answers are neutral (no enumeration of
cases or phones); the page says in plain words where the case stands, masks the other parties' data
and offers the documents addressed to the party; the acceptance sends the case code by SMS once."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from mediation import clock
from mediation.common.enums import OrgKind, Outcome
from mediation.disputes import case_code, workflow
from mediation.disputes.models import Dispute, new_case_code
from mediation.disputes.service import add_event
from mediation.disputes.workflow import Stage
from mediation.disputes.workflow_schemas import ACTION_SCHEMAS, AcceptIn, RejectIn, RouteIn
from mediation.documents import service as documents
from mediation.extensions import db
from mediation.followups.models import PartyRating
from mediation.mediators.models import Background, Employment, Mediator
from mediation.orgs.models import MediationOrg
from mediation.parties import plain, service
from mediation.parties.models import PartyCodeFailure, PartySession
from mediation.sms.models import SmsCode, SmsMessage
from tests.conftest import csrf_token
from tests.documents_helpers import PUBLIC_URL, configure_signing, effective_agreement, make_case, pdf_text
from tests.factories import make_id

PHONE = "13800138000"  # 张三, the applicant
OTHER_PHONE = "13900001111"  # 王五, a third party
OTHER_ID = "120116199001011234"
SUMMARY = "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。"


def parties():
    return [
        {"role": "申请人", "kind": "自然人", "name": "张三", "id_number": make_id(), "phone": PHONE},
        {"role": "被申请人", "kind": "自然人", "name": "李四", "phone": "022-25881234"},
        {
            "role": "第三人",
            "kind": "自然人",
            "name": "王五",
            "id_number": make_id(OTHER_ID[:17]),
            "phone": OTHER_PHONE,
        },
    ]


def routed_case(world) -> Dispute:
    d = make_case(world, parties=parties())
    workflow.perform(
        world.center_user_a.user, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"})
    )
    db.session.commit()
    return d


def accepted_case(world) -> Dispute:
    d = routed_case(world)
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    db.session.commit()
    return d


def ask_code(client, code: str, phone: str = PHONE):
    token = csrf_token(client, f"/c/{code}")
    return client.post(f"/c/{code}", data={"phone": phone, "csrf_token": token})


def sent_code(phone: str = PHONE) -> str:
    msg = db.session.scalar(
        select(SmsMessage)
        .where(SmsMessage.phone == phone, SmsMessage.template == "verify_code")
        .order_by(SmsMessage.id.desc())
    )
    assert msg is not None, "no code in the outbox"
    return msg.params["code"]


def enter_code(client, code: str, sms_code: str, phone: str = PHONE):
    token = csrf_token(client, f"/c/{code}")
    return client.post(f"/c/{code}/verify", data={"phone": phone, "code": sms_code, "csrf_token": token})


def sign_in(client, dispute: Dispute, phone: str = PHONE):
    r = ask_code(client, dispute.case_code, phone)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    r = enter_code(client, dispute.case_code, sent_code(phone), phone)
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    assert r.headers["Location"] == f"/c/{dispute.case_code}/case"
    return r


def page(client, dispute: Dispute):
    return client.get(f"/c/{dispute.case_code}/case")


def neutral(html: str) -> str:
    """The answer without what differs per request (the CSRF token, the path's code)."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


# --- the code flow ----------------------------------------------------------------------------------


def test_a_party_proves_the_phone_and_sees_the_case(client, world):
    d = accepted_case(world)
    r = client.get(f"/c/{d.case_code}")
    assert r.status_code == 200 and "获取验证码" in r.get_data(as_text=True)
    assert "张三" not in r.get_data(as_text=True) and d.case_no not in r.get_data(as_text=True)
    r = ask_code(client, d.case_code)
    assert r.status_code == 200 and service.CODE_SENT in r.get_data(as_text=True)
    row = db.session.scalar(select(SmsCode).where(SmsCode.phone == PHONE))
    assert row.purpose == "party" and row.scope == d.case_code and row.address == "127.0.0.1"

    r = enter_code(client, d.case_code, "000000" if sent_code() != "000000" else "111111")
    assert r.status_code == 422 and service.WRONG_CODE in r.get_data(as_text=True)
    assert page(client, d).status_code == 303  # no session yet

    r = enter_code(client, d.case_code, sent_code())
    assert r.status_code == 303 and r.headers["Location"] == f"/c/{d.case_code}/case"
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("party_session="))
    flags = [f.strip().lower() for f in cookie.split(";")[1:]]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/c/" in flags
    assert "secure" not in flags  # plain http in development; see test_party_cookie_is_secure_in_production
    row = db.session.scalar(select(PartySession))
    key = cookie.split(";")[0].split("=", 1)[1]
    assert row.key_hash != key and len(row.key_hash) == 64  # only the hash is stored
    assert row.dispute_id == d.id and row.party.name == "张三"

    r = page(client, d)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "您的纠纷已受理，调解员将联系您安排调解" in html
    assert world.committee_a.name in html and d.case_no in html
    assert str(d.deadline) in html
    assert "调解安排" in html
    # the used code does not open a second session
    fresh = client.application.test_client()
    assert enter_code(fresh, d.case_code, sent_code()).status_code == 422


def test_party_cookie_is_secure_in_production(app, client, world):
    d = accepted_case(world)
    app.config["SESSION_COOKIE_SECURE"] = True
    ask_code(client, d.case_code)
    r = client.post(
        f"/c/{d.case_code}/verify",
        data={"phone": PHONE, "code": sent_code(), "csrf_token": csrf_token(client, f"/c/{d.case_code}")},
    )
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("party_session="))
    assert "secure" in [f.strip().lower() for f in cookie.split(";")[1:]]


def test_answers_are_neutral_whatever_the_code_or_phone(client, world):
    d = accepted_case(world)
    other = accepted_case(world)
    absent = new_case_code()
    malformed = d.case_code[:-1] + ("2" if d.case_code[-1] != "2" else "3")  # bad check character
    answers = {}
    for label, code, phone in (
        ("on file", d.case_code, PHONE),
        ("not on file", d.case_code, "13700000000"),
        ("of another case", d.case_code, "13911112222"),
        ("unknown case", absent, PHONE),
        ("malformed case code", malformed, PHONE),
    ):
        assert client.get(f"/c/{code}").status_code == 200
        r = ask_code(client, code, phone)
        assert r.status_code == 200, label
        html = neutral(r.get_data(as_text=True)).replace(code, "CODE").replace(phone, "PHONE")
        answers[label] = html
        assert service.CODE_SENT in html, label
    assert len(set(answers.values())) == 1, [k for k, v in answers.items() if v != answers["on file"]]
    # only the phone on file of that case got a code
    assert db.session.scalars(select(SmsCode.phone)).all() == [PHONE]
    assert other.case_code not in "".join(answers.values())
    # entering a code: the same answer for a wrong code, an unknown case and a phone not on file
    wrong = {
        enter_code(client, d.case_code, "123456", "13700000000")
        .get_data(as_text=True)
        .count(service.WRONG_CODE),
        enter_code(client, absent, "123456").get_data(as_text=True).count(service.WRONG_CODE),
        enter_code(client, malformed, "123456").get_data(as_text=True).count(service.WRONG_CODE),
    }
    assert wrong == {1}


def test_a_bad_phone_number_is_refused_the_same_way_for_every_case(client, world):
    d = accepted_case(world)
    for code, phone in ((d.case_code, "12345"), ("ZZZZZZZZZZ", "12345"), (d.case_code, "02225881234")):
        r = ask_code(client, code, phone)  # a landline on file is no mobile: refused as any landline
        assert r.status_code == 422 and "手机号" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SmsCode.id))) == 0


def test_an_expired_code_is_refused_on_the_app_clock(app, client, world):
    d = accepted_case(world)
    clock.set(clock.now())
    try:
        ask_code(client, d.case_code)
        code = sent_code()
        clock.advance(seconds=app.config["SMS_CODE_TTL"] + 1)
        r = enter_code(client, d.case_code, code)
        assert r.status_code == 422 and service.WRONG_CODE in r.get_data(as_text=True)
        assert db.session.scalar(select(func.count(PartySession.id))) == 0
    finally:
        clock.reset()


def test_a_code_dies_after_the_allowed_tries(app, client, world):
    d = accepted_case(world)
    ask_code(client, d.case_code)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.config["SMS_CODE_MAX_ATTEMPTS"]):
        assert enter_code(client, d.case_code, wrong).status_code == 422
    assert enter_code(client, d.case_code, code).status_code == 422  # right, but too late
    assert (
        db.session.scalar(select(func.count(PartyCodeFailure.id))) == app.config["SMS_CODE_MAX_ATTEMPTS"] + 1
    )


def test_wrong_codes_are_limited_per_address_across_cases(app, client, world):
    app.config["PARTY_CHECK_ADDRESS_LIMIT"] = 3
    first, second = accepted_case(world), accepted_case(world)
    for d in (first, second, first):
        assert enter_code(client, d.case_code, "123456").status_code == 422
    ask_code(client, second.case_code)
    r = enter_code(client, second.case_code, sent_code())  # the right code, but the address is locked
    assert r.status_code == 429 and "错误次数过多" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PartySession.id))) == 0
    # another address is not locked
    r = client.post(
        f"/c/{second.case_code}/verify",
        data={
            "phone": PHONE,
            "code": sent_code(),
            "csrf_token": csrf_token(client, f"/c/{second.case_code}"),
        },
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert r.status_code == 303


def test_code_requests_are_limited_per_address_for_any_phone(app, client, world):
    app.config["SMS_CODE_ADDRESS_LIMIT"] = 1
    d = accepted_case(world)
    assert service.CODE_SENT in ask_code(client, d.case_code).get_data(as_text=True)
    for phone in (OTHER_PHONE, "13700000000"):  # on file, not on file: the same refusal
        r = ask_code(client, d.case_code, phone)
        assert r.status_code == 429 and "频繁" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SmsCode.id))) == 1


def test_the_forms_need_the_csrf_token(client, world):
    d = accepted_case(world)
    assert client.post(f"/c/{d.case_code}", data={"phone": PHONE}).status_code == 400
    assert client.post(f"/c/{d.case_code}/verify", data={"phone": PHONE, "code": "1"}).status_code == 400
    assert db.session.scalar(select(func.count(SmsCode.id))) == 0


# --- the session ------------------------------------------------------------------------------------


def test_the_session_ends_when_idle_and_after_its_maximum(app, client, world):
    d = accepted_case(world)
    clock.set(clock.now())
    try:
        sign_in(client, d)
        clock.advance(minutes=29)
        assert page(client, d).status_code == 200
        clock.advance(minutes=31)  # idle for more than PARTY_SESSION_IDLE_MINUTES
        assert page(client, d).status_code == 303
        sign_in(client, d)
        for _ in range(4):  # active every 25 minutes: 100 minutes, still open
            clock.advance(minutes=25)
            assert page(client, d).status_code == 200
        clock.advance(minutes=25)  # 125 minutes after the code: past PARTY_SESSION_MAX_HOURS
        r = page(client, d)
        assert r.status_code == 303 and r.headers["Location"] == f"/c/{d.case_code}"
    finally:
        clock.reset()


def test_the_session_opens_only_its_own_case(client, world):
    mine, theirs = accepted_case(world), accepted_case(world)
    theirs.parties[0].name = "赵某某"
    db.session.commit()
    sign_in(client, mine)
    assert page(client, mine).status_code == 200
    for path in (
        f"/c/{theirs.case_code}/case",
        f"/c/{theirs.case_code}/acceptance.pdf",
        f"/c/{theirs.case_code}/rejection.pdf",
    ):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["Location"] == f"/c/{theirs.case_code}", path
    r = client.get(f"/c/{theirs.case_code}")
    assert r.status_code == 200 and "赵某某" not in r.get_data(as_text=True)
    assert theirs.case_no not in r.get_data(as_text=True)


def test_staff_pages_and_the_api_see_no_user_with_a_party_session(client, world):
    d = accepted_case(world)
    sign_in(client, d)
    r = client.get("/disputes/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get(f"/disputes/{d.id}").status_code == 302
    assert client.get(f"/disputes/{d.id}/forms/acceptance.pdf").status_code == 302
    assert client.get("/api/v1/disputes").status_code == 401


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(client, world):
    d = accepted_case(world)
    r = sign_in(client, d)
    key = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("party_session=")).split(";")[0]
    assert page(client, d).status_code == 200
    token = csrf_token(client, f"/c/{d.case_code}/case")
    assert client.post(f"/c/{d.case_code}/logout", data={}).status_code == 400  # CSRF
    r = client.post(f"/c/{d.case_code}/logout", data={"csrf_token": token})
    assert r.status_code == 303
    assert page(client, d).status_code == 303
    other = client.application.test_client()
    other.set_cookie("party_session", key.split("=", 1)[1], path="/c/")
    assert page(other, d).status_code == 303


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_masks_the_other_parties_and_shows_no_internal_notes(client, world):
    d = accepted_case(world)
    add_event(d, "note", world.mediator_a.user, note="内部备注：当事人情绪激动。")
    db.session.commit()
    sign_in(client, d)
    html = page(client, d).get_data(as_text=True)
    for party in d.parties:
        if party.id_number:
            assert party.id_number not in html
    assert OTHER_PHONE not in html and "139****1111" in html
    assert PHONE not in html
    assert "王五" in html and "李四" in html
    assert SUMMARY not in html  # the case summary is staff information
    assert "内部备注" not in html
    assert world.center_user_a.user.name not in html


def test_the_mediator_is_named_and_no_other_staff(client, world):
    d = accepted_case(world)
    d.handler = world.mediator_a.user
    world.mediator_a.user.display_name = "调解员孙明"
    world.center_user_a.user.display_name = "中心员工周某"
    db.session.commit()
    sign_in(client, d)
    html = page(client, d).get_data(as_text=True)
    assert "调解员孙明" in html
    assert "中心员工周某" not in html


def test_the_named_mediators_and_the_organisations_contact_are_shown(client, world):
    """How to reach them: the 承办调解员 the case names (the registry, over the handler's account) and the
    调解组织's public phone and 场所 from its profile."""
    d = accepted_case(world)
    d.handler = world.mediator_a.user
    world.mediator_a.user.display_name = "调解员孙明"
    d.mediators = [
        Mediator(name="周红", employment=Employment.FULL_TIME, background=Background.LAWYER, units=[d.unit]),
        Mediator(
            name="钱离岗",
            employment=Employment.PART_TIME,
            background=Background.OTHER,
            units=[d.unit],
            active=False,
        ),
    ]
    db.session.add(
        MediationOrg(
            unit=d.unit, kind=OrgKind.VILLAGE, phone="022-25661234", address="海滨街道新家园社区服务中心二楼"
        )
    )
    db.session.commit()
    sign_in(client, d)
    html = page(client, d).get_data(as_text=True)
    assert "周红" in html and "钱离岗" not in html and "调解员孙明" not in html
    assert 'href="tel:022-25661234"' in html and "海滨街道新家园社区服务中心二楼" in html


def test_a_rejected_case_shows_the_reason_and_the_rejection_notice(client, world):
    d = routed_case(world)
    workflow.perform(
        world.mediator_a.user, d, "reject", RejectIn().load({"reason": "该纠纷已进入诉讼程序。"})
    )
    db.session.commit()
    sign_in(client, d)
    html = page(client, d).get_data(as_text=True)
    assert "您的调解申请不予受理" in html and "该纠纷已进入诉讼程序" in html
    assert 'data-testid="doc-rejection"' in html and 'data-testid="doc-acceptance"' not in html
    r = client.get(f"/c/{d.case_code}/rejection.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = re.sub(r"\s+", "", pdf_text(r.get_data()))
    assert "不予受理通知书" in text and "该纠纷已进入诉讼程序" in text
    assert client.get(f"/c/{d.case_code}/acceptance.pdf").status_code == 404


def test_the_acceptance_notice_downloads_once_accepted(client, world):
    d = routed_case(world)
    sign_in(client, d)
    html = page(client, d).get_data(as_text=True)
    assert "正在等待受理" in html and "doc-acceptance" not in html
    assert client.get(f"/c/{d.case_code}/acceptance.pdf").status_code == 404
    workflow.perform(world.mediator_a.user, d, "accept", AcceptIn().load({}))
    db.session.commit()
    assert 'data-testid="doc-acceptance"' in page(client, d).get_data(as_text=True)
    r = client.get(f"/c/{d.case_code}/acceptance.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "attachment" in r.headers["Content-Disposition"]
    text = re.sub(r"\s+", "", pdf_text(r.get_data()))
    assert "人民调解受理通知书" in text and d.case_no in text
    assert client.get(f"/c/{d.case_code}/rejection.pdf").status_code == 404


def test_the_agreement_downloads_only_after_it_takes_effect(app, client, world, tmp_path):
    configure_signing(app, tmp_path)
    d = accepted_case(world)
    other = accepted_case(world)
    draft = documents.draft_agreement(
        world.mediator_a.user,
        d,
        {
            "facts": "事实。",
            "issues": "争议。",
            "responsibilities": "责任。",
            "terms": "条款。",
            "performance_method": "转账。",
        },
    )
    db.session.commit()
    sign_in(client, d)
    assert "doc-agreement" not in page(client, d).get_data(as_text=True)
    assert client.get(f"/c/{d.case_code}/agreements/{draft.id}.pdf").status_code == 404
    theirs = effective_agreement(world, other)
    agreement = effective_agreement(world, d)
    html = page(client, d).get_data(as_text=True)
    assert f"/c/{d.case_code}/agreements/{agreement.id}.pdf" in html
    r = client.get(f"/c/{d.case_code}/agreements/{agreement.id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.get_data() == documents.signed_agreement(agreement).pdf  # the signed PDF, as issued
    assert client.get(f"/c/{d.case_code}/agreements/{theirs.id}.pdf").status_code == 404


def test_every_stage_and_outcome_has_plain_words():
    assert set(plain.STAGE_WORDS) == set(Stage) - {Stage.CLOSED}
    assert set(plain.OUTCOME_WORDS) == set(Outcome) | {None}
    words = [*plain.STAGE_WORDS.values(), *plain.OUTCOME_WORDS.values()]
    staff_terms = ("待分流", "办理中", "稳控", "分流", "承办")
    for w in words:
        assert w.status and w.next
        assert not any(t in w.status + w.next for t in staff_terms), w


def test_the_sessions_the_party_is_invited_to_are_listed(client, world):
    d = accepted_case(world)
    sign_in(client, d)
    assert "暂无调解安排" in page(client, d).get_data(as_text=True)
    day = clock.today() + timedelta(days=3)
    zhang = d.parties[0]
    r = client.post(
        f"/api/v1/disputes/{d.id}/scheduled-sessions",
        json={
            "date": day.isoformat(),
            "time": "14:30",
            "place": "海滨街道调委会调解室",
            "parties": [zhang.id],
        },
        headers=world.mediator_a.headers,
    )
    assert r.status_code == 201, r.get_json()
    html = page(client, d).get_data(as_text=True)
    assert "海滨街道调委会调解室" in html and "14:30" in html and "暂无调解安排" not in html
    # 王五 is not invited: his page lists nothing
    wang = client.application.test_client()
    sign_in(wang, d, OTHER_PHONE)
    assert "暂无调解安排" in page(wang, d).get_data(as_text=True)


# --- the rating -----------------------------------------------------------------------------------------


def rate(client, dispute: Dispute, **form):
    token = csrf_token(client, f"/c/{dispute.case_code}/case")
    return client.post(f"/c/{dispute.case_code}/rating", data={**form, "csrf_token": token})


def test_the_party_rates_the_handling_once_after_closing(client, world):
    d = accepted_case(world)
    sign_in(client, d)
    html = page(client, d).get_data(as_text=True)
    assert "案件办结或回访后" in html and 'name="score"' not in html
    r = rate(client, d, score="5")
    assert r.status_code == 422 and "本案办结或回访后才能评价" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PartyRating.id))) == 0

    workflow.perform(
        world.mediator_a.user,
        d,
        "close",
        ACTION_SCHEMAS["close"]().load(
            {"outcome": "调解成功", "date": clock.today().isoformat(), "note": "达成协议。"}
        ),
    )
    db.session.commit()
    html = page(client, d).get_data(as_text=True)
    assert "调解成功，双方已达成调解协议" in html and 'name="score"' in html
    assert client.post(f"/c/{d.case_code}/rating", data={"score": "5"}).status_code == 400  # CSRF
    r = rate(client, d, score="9")
    assert r.status_code == 422 and "请选择1至5分的评分" in r.get_data(as_text=True)
    r = rate(client, d, score="4", comment="调解员很耐心。")
    assert r.status_code == 303 and r.headers["Location"] == f"/c/{d.case_code}/case#rating"
    row = db.session.scalar(select(PartyRating))
    assert (row.dispute_id, row.party_id, row.score, row.comment) == (
        d.id,
        d.parties[0].id,
        4,
        "调解员很耐心。",
    )
    html = page(client, d).get_data(as_text=True)
    assert "感谢您的评价" in html and 'name="score"' not in html
    r = rate(client, d, score="1")
    assert r.status_code == 422 and "您已评价过本案" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PartyRating.id))) == 1


def test_a_rating_needs_a_session_of_that_case(client, world):
    mine, theirs = accepted_case(world), accepted_case(world)
    sign_in(client, mine)
    token = csrf_token(client, f"/c/{mine.case_code}/case")
    r = client.post(f"/c/{theirs.case_code}/rating", data={"score": "5", "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == f"/c/{theirs.case_code}"
    anonymous = client.application.test_client()
    token = csrf_token(anonymous, f"/c/{mine.case_code}")
    r = anonymous.post(f"/c/{mine.case_code}/rating", data={"score": "5", "csrf_token": token})
    assert r.status_code == 303
    assert db.session.scalar(select(func.count(PartyRating.id))) == 0


# --- the SMS on acceptance ---------------------------------------------------------------------------


def test_acceptance_sends_the_case_code_to_every_mobile_once(app, world):
    app.config["PUBLIC_URL"] = PUBLIC_URL
    d = accepted_case(world)
    rows = db.session.scalars(
        select(SmsMessage).where(SmsMessage.template == "case_code").order_by(SmsMessage.id)
    ).all()
    assert [r.phone for r in rows] == [PHONE, OTHER_PHONE]  # the landline gets nothing
    for r in rows:
        assert r.dispute_id == d.id
        assert r.params == {
            "case_no": d.case_no,
            "case_code": case_code.display_code(d),
            "url": f"{PUBLIC_URL}/c/{d.case_code}",
        }
    assert case_code.notify_parties(d) == [PHONE, OTHER_PHONE]  # a retry or a re-acceptance
    db.session.commit()
    assert db.session.scalar(select(func.count(SmsMessage.id)).where(SmsMessage.template == "case_code")) == 2
