"""The court's side of 诉调对接: refer a case on the web and through the API (one rule), the receiving
unit within the court's reach, the court's page of its referrals (stage, deadline, outcome, agreements),
退回法院 with a reason the court sees, and the 司法确认 ruling recorded on the web."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.common.enums import Channel, NodeLevel, Role, UnitType
from mediation.common.time import local_today
from mediation.disputes.casework import CourtReferral, JudicialConfirmation
from mediation.disputes.models import Dispute, Event
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.followups.models import Notification
from tests.factories import dispute_payload, node, unit, user
from tests.workflow_support import act, make_case, make_referred_case, ok, snapshot, today

NUMBER = "（2026）津0116民诉前调1234号"


@pytest.fixture
def w(world):
    """The standard world, plus a district outside the court's reach with its own 调委会, the court's
    诉调对接中心 and a second court of the district with its liaison."""
    world.other_district = node("120117000000", "邻区", NodeLevel.DISTRICT)
    world.other_committee = unit(
        "TW-X", "邻区人民调解委员会", UnitType.COMMITTEE, world.other_district, Channel.PEOPLE
    )
    world.link_centre = unit(
        "SD", "海滨区人民法院诉调对接中心", UnitType.COURT, world.district, Channel.COURT_LINK
    )
    world.court2 = unit("FY2", "海滨区第二人民法院", UnitType.COURT, world.district, Channel.JUDICIAL)
    db.session.flush()
    world.court2_user = user("court2", Role.COURT, world.court2)
    db.session.commit()
    return world


def referral_body(w, **overrides) -> dict:
    body = dispute_payload(w.village_b.code)
    body.pop("source")
    body.update(kind="诉前委派", court_case_no=NUMBER, unit="TW-B")
    body.update(overrides)
    return body


def referral_form(web, w, **overrides) -> dict:
    """The web form's fields for ``referral_body``: parties as parties-<n>-<field>."""
    body = referral_body(w, **overrides)
    form = {k: str(v) for k, v in body.items() if k not in ("parties", "flags")}
    for i, party in enumerate(body["parties"]):
        form.update({f"parties-{i}-{k}": v for k, v in party.items()})
    form["csrf_token"] = web.csrf("/disputes/")
    form["idempotency_token"] = uuid.uuid4().hex  # as the form's hidden field
    return form


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def html(response) -> str:
    return response.get_data(as_text=True)


def court_page(web, **query) -> str:
    r = web.client.get("/court/", query_string=query)
    assert r.status_code == 200
    return html(r)


# ---------------------------------------------------------------- refer: web and API, one rule


def shape(d: Dispute) -> dict:
    r = db.session.scalar(select(CourtReferral).where(CourtReferral.dispute_id == d.id))
    return {
        "status": d.status,
        "channel": d.channel,
        "unit": d.unit.code,
        "source": d.source,
        "category": d.category,
        "summary": d.summary,
        "node": d.node.code,
        "accepted_on": d.accepted_on,
        "deadline": d.deadline,
        "parties": [(p.role, p.kind, p.name, p.id_number, p.phone) for p in d.parties],
        "events": [e.type for e in d.events if e.type != "duplicate_warning"],  # the second one is warned
        "referral": (r.kind, r.court_case_no, r.court.code, r.unit.code, r.referred_on),
    }


def test_refer_on_the_web_and_the_api_make_the_same_case(client, web, w):
    r = client.post("/api/v1/court-referrals", json=referral_body(w), headers=w.court_user.headers)
    assert r.status_code == 201, r.get_json()
    by_api = db.session.get(Dispute, r.get_json()["id"])

    web.login("court")
    page = html(web.client.get("/court/refer"))
    assert "委派信息" in page and 'name="court_case_no"' in page and 'name="source"' not in page
    form = referral_form(web, w, court_case_no="(2026)津0116民诉前调 1234号")  # normalised like the API
    r = web.client.post("/court/refer", data=form)
    assert r.status_code == 303 and r.headers["Location"].endswith("/court/")
    by_web = db.session.scalar(select(Dispute).where(Dispute.id != by_api.id))
    assert shape(by_web) == shape(by_api)
    assert shape(by_web)["status"] == "办理中" and shape(by_web)["channel"] == Channel.COURT_LINK
    assert shape(by_web)["source"] == "法院委派" and shape(by_web)["events"] == [
        "registered",
        "court_referred",
    ]
    page = html(web.client.get("/court/"))
    assert f"已诉前委派双港镇人民调解委员会调解，案号：{by_web.case_no}" in page
    # The same form sent again (double click, back button) makes no second case.
    r = web.client.post("/court/refer", data=form)
    assert r.status_code == 303 and count(Dispute) == 2


def test_web_referral_errors_are_shown_field_by_field_and_nothing_is_saved(web, w):
    web.login("court")
    form = referral_form(web, w, court_case_no="2026津0116民诉前调1234号", summary="")
    r = web.client.post("/court/refer", data=form)
    assert r.status_code == 422
    page = html(r)
    assert "法院案号" in page and "法院案号格式应如（2026）津0116民诉前调1234号。" in page
    assert "简要情况" in page and 'value="2026津0116民诉前调1234号"' in page  # typed values kept
    assert count(Dispute) == 0 and count(CourtReferral) == 0 and count(Event) == 0


def test_only_court_liaisons_refer_on_the_web(web, w):
    web.login("mediator_b")
    assert web.client.get("/court/refer").status_code == 403
    form = {**referral_form(web, w)}
    assert web.client.post("/court/refer", data=form).status_code == 403
    assert count(Dispute) == 0


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("TW-X", "该单位不在本院可委派的范围内。"),  # another district
        ("PCS-B", "应选择人民调解委员会、综治中心或诉调对接中心。"),  # a 行政机关
        ("FY", "不能委派给本单位。"),
    ],
)
def test_receiving_unit_outside_reach_is_refused(client, web, w, code, message):
    r = client.post("/api/v1/court-referrals", json=referral_body(w, unit=code), headers=w.court_user.headers)
    assert r.status_code == 422 and r.get_json()["errors"]["json"] == {"unit": [message]}
    web.login("court")
    r = web.client.post("/court/refer", data=referral_form(web, w, unit=code))
    assert r.status_code == 422 and message in html(r)
    assert count(Dispute) == 0 and count(CourtReferral) == 0 and count(Event) == 0


def test_co_handling_units_are_checked_too(client, w):
    r = client.post(
        "/api/v1/court-referrals", json=referral_body(w, co_units=["TW-X"]), headers=w.court_user.headers
    )
    assert r.status_code == 422 and "co_units" in r.get_json()["errors"]["json"]
    assert count(Dispute) == 0


def test_the_form_offers_the_units_within_reach(web, w):
    web.login("court")
    page = html(web.client.get("/court/refer"))
    options = re.search(r'<select id="f-unit".*?</select>', page, re.S).group(0)
    for code in ("TW-A", "TW-B", "ZZ-QU", "ZZ-A", "ZZ-B", "SD"):
        assert f'value="{code}"' in options, code
    for code in ("TW-X", "PCS-B", "FY", "FY2", "WG-A1"):
        assert f'value="{code}"' not in options, code


@pytest.mark.parametrize("code", ["SD", "ZZ-B"])
def test_referral_to_the_link_centre_or_a_centre(client, w, code):
    r = client.post("/api/v1/court-referrals", json=referral_body(w, unit=code), headers=w.court_user.headers)
    assert r.status_code == 201 and r.get_json()["unit"] == code


# ---------------------------------------------------------------- the court's page


def test_court_page_lists_only_its_referrals_with_deadline_state(client, web, w):
    ours_overdue = make_referred_case(client, w, Stage.HANDLING)
    ours_warning = make_referred_case(client, w, Stage.HANDLING, court_case_no="（2026）津0116民诉前调2222号")
    ours_awaiting = make_referred_case(
        client, w, Stage.AWAITING, court_case_no="（2026）津0116民诉前调3333号"
    )
    r = client.post(
        "/api/v1/court-referrals",
        json=referral_body(w, court_case_no="（2026）津0116民诉前调9999号"),
        headers=w.court2_user.headers,
    )
    theirs = r.get_json()["id"]
    plain = make_case(client, w, Stage.HANDLING)  # in the court's district, not referred: not on its page
    day = local_today()
    a = db.session.get(Dispute, ours_overdue)
    a.accepted_on, a.deadline = day - timedelta(days=40), day - timedelta(days=2)
    b = db.session.get(Dispute, ours_warning)
    b.accepted_on, b.deadline = day - timedelta(days=10), day + timedelta(days=1)
    db.session.commit()

    web.login("court")
    page = court_page(web)
    rows = dict(re.findall(r'data-referral="(\d+)" data-court-case-no="([^"]+)"', page))
    assert set(map(int, rows)) == {ours_overdue, ours_warning, ours_awaiting}
    assert "9999" not in page and db.session.get(Dispute, plain).case_no not in page

    def row(dispute_id):
        return re.search(rf'data-referral="{dispute_id}".*?</tr>', page, re.S).group(0)

    assert "超期" in row(ours_overdue) and "已超期2天" in row(ours_overdue)
    assert "预警" in row(ours_warning) and "剩余1天" in row(ours_warning)
    assert "受理后起算" in row(ours_awaiting) and "待受理" in row(ours_awaiting)
    assert "双港镇人民调解委员会" in row(ours_awaiting)
    assert re.search(r'data-testid="count-warning">1<', page) and re.search(
        r'data-testid="count-overdue">1<', page
    )

    api = client.get("/api/v1/court-referrals", headers=w.court_user.headers).get_json()
    assert api["total"] == 3
    levels = {i["id"]: (i["stage"], i["warning_level"], i["unit"]) for i in api["items"]}
    assert levels == {
        ours_overdue: ("办理中", "超期", "TW-B"),
        ours_warning: ("办理中", "预警", "TW-B"),
        ours_awaiting: ("待受理", None, "TW-B"),
    }
    theirs_api = client.get("/api/v1/court-referrals", headers=w.court2_user.headers).get_json()
    assert [i["id"] for i in theirs_api["items"]] == [theirs]
    # The admin follows every court's referrals; other roles have no such page.
    assert client.get("/api/v1/court-referrals", headers=w.admin.headers).get_json()["total"] == 4
    assert client.get("/api/v1/court-referrals", headers=w.mediator_b.headers).status_code == 403
    assert (
        client.get(
            "/api/v1/court-referrals", query_string={"state": "x"}, headers=w.court_user.headers
        ).status_code
        == 422
    )


def test_court_page_is_for_the_court_and_the_admin(app, w):
    from tests.conftest import login

    for name, status in (
        ("mediator_b", 403),
        ("center_b", 403),
        ("grid_a", 403),
        ("court", 200),
        ("admin", 200),
    ):
        browser = app.test_client()
        login(browser, name)
        assert browser.get("/court/").status_code == status, name
        nav = html(browser.get("/disputes/"))
        assert ('href="/court/"' in nav) == (status == 200), name


# ---------------------------------------------------------------- 退回法院


def test_return_to_court_with_a_reason_the_court_sees(client, web, w):
    dispute_id = make_referred_case(client, w, Stage.HANDLING)
    reason = "经三次调解，双方对赔偿数额分歧较大，未能达成协议。"
    # The reason is required; the court itself does not return a case to itself.
    r = act(client, w.mediator_b, dispute_id, "return_to_court", {"reason": ""})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    before = snapshot(dispute_id)
    r = act(client, w.court_user, dispute_id, "return_to_court")
    assert r.status_code == 403 and snapshot(dispute_id) == before

    web.login("mediator_b")
    page = html(web.client.get(f"/disputes/{dispute_id}"))
    assert 'data-action="return_to_court"' in page and "退回理由" in page
    r = web.client.post(
        f"/disputes/{dispute_id}/actions/return_to_court",
        data={
            "csrf_token": web.csrf(f"/disputes/{dispute_id}"),
            "version": str(before["version"]),
            "reason": reason,
            "date": today(),
        },
        follow_redirects=True,
    )
    assert "案件已以调解不成功办结，并退回法院。" in html(r)
    d = db.session.get(Dispute, dispute_id)
    assert d.status == "已办结" and d.outcome == "调解不成功" and d.closed_on == local_today()
    event = d.events[-1]
    assert event.type == "returned_to_court" and event.note == reason and event.by_name == "mediator_b"
    assert event.data["court_case_no"] == NUMBER and event.data["outcome"] == "调解不成功"

    note = db.session.scalar(select(Notification).where(Notification.user_id == w.court_user.user.id))
    assert note is not None and note.kind == "退回法院" and reason in note.text and NUMBER in note.text
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "退回法院")
        )
        == 1
    )  # the court's liaisons only

    web.client.post("/logout", data={"csrf_token": web.csrf("/disputes/")})
    assert web.login("court").status_code in (302, 303)
    page = court_page(web)
    assert f"退回理由：{reason}" in page and "退回法院" in page
    assert str(dispute_id) in court_page(web, state="returned")
    assert f'data-referral="{dispute_id}"' not in court_page(web, state="open")
    item = client.get(
        "/api/v1/court-referrals", query_string={"state": "returned"}, headers=w.court_user.headers
    ).get_json()["items"][0]
    assert (item["returned"], item["return_reason"], item["outcome"]) == (True, reason, "调解不成功")


def test_return_to_court_only_on_referred_cases(client, w):
    dispute_id = make_case(client, w, Stage.HANDLING)
    before = snapshot(dispute_id)
    r = act(client, w.mediator_b, dispute_id, "return_to_court")
    assert r.status_code == 409 and r.get_json()["message"] == "只有法院委派、委托调解的案件才能退回法院。"
    assert snapshot(dispute_id) == before
    work = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=w.mediator_b.headers).get_json()
    assert "return_to_court" not in work["allowed_actions"]
    referred = make_referred_case(client, w, Stage.AWAITING)
    r = act(client, w.mediator_b, referred, "return_to_court")  # accept first (or 不予受理)
    assert r.status_code == 409 and "「待受理」" in r.get_json()["message"]


# ---------------------------------------------------------------- 司法确认 on the court's page


def test_ruling_recorded_on_the_web(client, web, w):
    dispute_id = make_referred_case(client, w, Stage.CLOSED)  # closed as 调解成功 by mediator_b
    ok(act(client, w.mediator_b, dispute_id, "apply_confirmation", {"applied_on": today(), "court": "FY"}))
    other = make_case(client, w, Stage.CLOSED)
    ok(act(client, w.mediator_b, other, "apply_confirmation", {"applied_on": today(), "court": "FY2"}))

    web.login("court")
    page = court_page(web)
    pending = re.findall(r'data-confirmation="\d+" data-dispute="(\d+)"', page)
    assert pending == [str(dispute_id)]  # the application to the other court is not ours
    token = web.csrf("/court/")
    r = web.client.post(
        f"/court/disputes/{dispute_id}/ruling",
        data={
            "csrf_token": token,
            "result": "确认有效",
            "ruling_no": "（2026）津0116民特88号",
            "ruled_on": "2000-01-01",
        },
        follow_redirects=True,
    )
    assert "登记司法确认结果未保存" in html(r)
    c = db.session.scalar(select(JudicialConfirmation).where(JudicialConfirmation.dispute_id == dispute_id))
    assert c.result is None
    r = web.client.post(
        f"/court/disputes/{dispute_id}/ruling",
        data={
            "csrf_token": token,
            "result": "驳回",
            "ruling_no": "(2026)津0116民特88号",
            "ruled_on": today(),
        },
        follow_redirects=True,
    )
    assert "已登记" in html(r) and "驳回（（2026）津0116民特88号）" in html(r)
    db.session.expire_all()
    c = db.session.get(JudicialConfirmation, c.id)
    assert (c.result, c.ruling_no, c.ruled_on) == ("驳回", "（2026）津0116民特88号", local_today())
    d = db.session.get(Dispute, dispute_id)
    assert d.events[-1].type == "confirmation_ruled" and d.events[-1].by_name == "court"
    assert 'data-confirmation="' not in court_page(web)
    # Nothing pending any more: a second ruling is refused with the table's reason.
    r = web.client.post(
        f"/court/disputes/{dispute_id}/ruling",
        data={"csrf_token": token, "result": "确认有效", "ruling_no": "（2026）津0116民特89号"},
        follow_redirects=True,
    )
    assert "没有待裁定的司法确认申请。" in html(r)


def test_ruling_of_a_case_the_user_cannot_see_is_404(client, web, w):
    dispute_id = make_case(client, w, Stage.CLOSED)
    ok(act(client, w.mediator_b, dispute_id, "apply_confirmation", {"applied_on": today(), "court": "FY"}))
    before = snapshot(dispute_id)
    web.login("mediator_a")  # 海滨街道: does not see 双港镇's case
    r = web.client.post(
        f"/court/disputes/{dispute_id}/ruling",
        data={
            "csrf_token": web.csrf("/disputes/"),
            "result": "确认有效",
            "ruling_no": "（2026）津0116民特88号",
        },
    )
    assert r.status_code == 404 and snapshot(dispute_id) == before


# ---------------------------------------------------------------- agreements reached


def test_the_court_opens_the_agreements_reached(app, client, web, w, tmp_path):
    from tests.documents_helpers import configure_signing, effective_agreement

    configure_signing(app, tmp_path)
    r = client.post(
        "/api/v1/court-referrals",
        json=referral_body(w, node=w.grid_a.code, unit="TW-A"),
        headers=w.court_user.headers,
    )
    dispute = db.session.get(Dispute, r.get_json()["id"])
    agreement = effective_agreement(w, dispute)
    web.login("court")
    page = court_page(web)
    assert f'href="/agreements/{agreement.id}"' in page and f'href="/agreements/{agreement.id}/pdf"' in page
    r = web.client.get(f"/agreements/{agreement.id}/pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    item = client.get("/api/v1/court-referrals", headers=w.court_user.headers).get_json()["items"][0]
    assert item["agreements"] == [
        {
            "id": agreement.id,
            "number": agreement.number,
            "title": "人民调解协议书",
            "effective_on": agreement.effective_on.isoformat(),
        }
    ]
