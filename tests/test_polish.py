"""Everyday work without friction (issue 12): confirmation before irreversible or upward-reported
actions, every validation error at once, what a person's name may hold, and timeline words a
user understands (no ids, codes or English enum values)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from mediation import clock
from mediation.common.validators import normalize_person_name, person_name_error
from mediation.disputes.models import Dispute, Event
from mediation.disputes.schemas import DisputeCreate
from mediation.disputes.views import event_data_filter
from mediation.documents import service as doc_service
from mediation.documents.models import Signature
from mediation.extensions import db
from mediation.ledger.schemas import LedgerPartyRow
from mediation.reports import month_close
from mediation.reports.common import Month
from mediation.reports.models import MonthClose, Screening
from mediation.reports.views import close_question
from tests.demo_support import demo_world
from tests.documents_helpers import AGREEMENT
from tests.documents_helpers import make_case as make_doc_case
from tests.factories import dispute_payload, make_id
from tests.workflow_support import Stage, make_case, snapshot, today

# ------------------------------------------------------------------------------ the name rule

ACCEPTED = [
    ("张三", "张三"),
    ("𠀀", "𠀀"),  # Extension B
    ("䶮", "䶮"),  # Extension A (刘䶮)
    ("王〇", "王〇"),
    ("阿卜杜·热合曼", "阿卜杜·热合曼"),
    ("阿卜杜•热合曼", "阿卜杜·热合曼"),  # U+2022 normalised to ·
    ("阿卜杜‧热合曼", "阿卜杜·热合曼"),  # U+2027
    ("阿卜杜・热合曼", "阿卜杜·热合曼"),  # U+30FB
    ("艾力 · 买买提", "艾力·买买提"),
    ("O'Neil", "O'Neil"),
    ("O’Neil", "O'Neil"),
    ("Anne-Marie", "Anne-Marie"),
    ("Zoë  Müller", "Zoë Müller"),
    ("\U00030000", "\U00030000"),  # Extension G
    ("\U00031350", "\U00031350"),  # Extension H
    ("\uf900", "\uf900"),  # a compatibility ideograph, kept as typed
]
REFUSED = [
    "😀",
    "张三😀",
    "张3",
    "3",
    "<script>",
    "张三<script>",
    "·张三",
    "张三-",
    "a--b",
    "李_四",
    "王@五",
    "",
    "   ",
    "张\u0301",
]


@pytest.mark.parametrize(("name", "stored"), ACCEPTED)
def test_person_names_accepted(name, stored):
    assert person_name_error(name) is None
    assert normalize_person_name(name) == stored


@pytest.mark.parametrize("name", REFUSED)
def test_person_names_refused(name):
    assert person_name_error(name)


def _party(**fields) -> dict:
    return {"role": "申请人", "kind": "自然人", "name": "张三", **fields}


def test_the_one_name_rule_in_api_schema_and_ledger_import(app, world):
    # the registration schema (API and form) stores the normalised name
    data = DisputeCreate().load(dispute_payload(world.grid_a.code, parties=[_party(name="阿卜杜•热合曼")]))
    assert data["parties"][0]["name"] == "阿卜杜·热合曼"
    with pytest.raises(ValidationError) as err:
        DisputeCreate().load(dispute_payload(world.grid_a.code, parties=[_party(name="张3")]))
    assert "姓名只能由汉字" in err.value.messages["parties"][0]["name"][0]
    # organisations may hold digits, brackets and letters
    org = {"role": "被申请人", "kind": "法人", "name": "天津市第3建筑工程有限公司（滨海分公司）ABC"}
    assert (
        DisputeCreate().load(dispute_payload(world.grid_a.code, parties=[org]))["parties"][0]["name"]
        == org["name"]
    )
    # the ledger's party rows: the same rule
    with pytest.raises(ValidationError) as err:
        LedgerPartyRow().load({"case_no": "X1", "role": "申请人", "kind": "自然人", "name": "😀"})
    assert "name" in err.value.messages
    row = LedgerPartyRow().load({"case_no": "X1", "role": "申请人", "kind": "自然人", "name": "O’Neil"})
    assert row["name"] == "O'Neil"


# ------------------------------------------------------------------- every error at once


def _bad_parties() -> list[dict]:
    good_id = make_id()
    bad_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    return [
        _party(phone="12345", id_number=bad_check),  # phone AND ID check digit
        _party(role="被申请人", name="李4", id_number=bad_check),  # name AND ID
        {
            "role": "第三人",
            "kind": "法人",
            "name": "某某公司",
            "id_number": "91120116MA0000000X",
            "phone": "abc",
        },
    ]


def test_api_reports_every_error_of_every_party_in_one_422(client, world):
    body = dispute_payload(world.grid_a.code, parties=_bad_parties())
    r = client.post("/api/v1/disputes", json=body, headers=world.mediator_a.headers)
    assert r.status_code == 422
    parties = r.get_json()["errors"]["json"]["parties"]
    assert set(parties["0"]) == {"phone", "id_number"}
    assert parties["0"]["id_number"] == ["居民身份证号码校验位错误。"]
    assert set(parties["1"]) == {"name", "id_number"}
    assert set(parties["2"]) == {"phone", "id_number"}
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0


def test_the_form_shows_every_party_error_next_to_its_field(web, world):
    web.login("mediator_a")
    token = web.csrf("/disputes/new")
    form = {k: str(v) for k, v in dispute_payload(world.grid_a.code).items() if k not in ("parties", "flags")}
    for i, party in enumerate(_bad_parties()):
        for key, value in party.items():
            form[f"parties-{i}-{key}"] = value
    r = web.client.post("/disputes/new", data={"csrf_token": token, "idempotency_token": "0" * 32, **form})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for i, field in (
        (0, "phone"),
        (0, "id_number"),
        (1, "name"),
        (1, "id_number"),
        (2, "phone"),
        (2, "id_number"),
    ):
        control = re.search(rf'<(?:input|select)[^>]*id="f-parties-{i}-{field}"[^>]*>', html)
        assert control and 'aria-invalid="true"' in control.group(0), (i, field)
    assert html.count("居民身份证号码校验位错误。") >= 2
    assert "电话号码格式不正确" in html and "姓名只能由汉字" in html


# ------------------------------------------------------------- confirmation before acting


def _post(web, dispute_id: int, action: str, data: dict):
    token = web.csrf(f"/disputes/{dispute_id}")
    return web.client.post(f"/disputes/{dispute_id}/actions/{action}", data={"csrf_token": token, **data})


@pytest.mark.parametrize(
    ("stage", "action", "data"),
    [
        (Stage.AWAITING, "reject", {"reason": "已进入诉讼程序。", "date": today()}),
        (Stage.AWAITING, "refuse", {"party": "李四", "note": "李四表示只接受诉讼。"}),
        (Stage.HANDLING, "close", {"outcome": "撤回", "date": today(), "note": "申请人撤回申请。"}),
        (Stage.HANDLING, "close", {"outcome": "不予受理", "date": today(), "note": "不属于调解范围。"}),
    ],
)
def test_case_ending_refusals_are_not_done_without_confirmation(client, web, world, stage, action, data):
    dispute_id = make_case(client, world, stage)
    web.login("mediator_b")
    page = web.client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert "data-confirm=" in page
    before = snapshot(dispute_id)
    r = _post(web, dispute_id, action, data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="confirm-page"' in html
    assert "案件将办结" in html and 'name="confirmed" value="1"' in html and "取消，返回" in html
    assert snapshot(dispute_id) == before  # nothing done
    r = _post(web, dispute_id, action, {**data, "confirmed": "1"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute_id).status == "已办结"


def test_an_ordinary_close_needs_no_confirmation(client, web, world):
    dispute_id = make_case(client, world, Stage.HANDLING)
    web.login("mediator_b")
    r = _post(web, dispute_id, "close", {"outcome": "调解成功", "date": today(), "note": "达成协议。"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute_id).outcome == "调解成功"


def test_month_close_asks_first_and_says_how_many_lower_levels_have_not_reported(web, world):
    month = Month.of(date(2026, 10, 1))
    month_close.close_month(world.center_user_a.user, world.town_a, month)
    db.session.commit()
    subs = month_close.submissions(world.district, month)
    assert (subs["total"], subs["submitted"]) == (2, 1)
    question = close_question(world.district, month)
    assert "下级还有1个（共2个）尚未上报" in question

    web.login("qu_center")
    page = f"/reports/close?node={world.district.code}&month={month.key}"
    assert "下级还有1个（共2个）尚未上报" in web.client.get(page).get_data(as_text=True)
    token = web.csrf(page)
    r = web.client.post(
        "/reports/close", data={"csrf_token": token, "node": world.district.code, "month": month.key}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="confirm-page"' in html and "下级还有1个" in html
    assert month_close.active_close(world.district, month) is None
    r = web.client.post(
        "/reports/close",
        data={"csrf_token": token, "node": world.district.code, "month": month.key, "confirmed": "1"},
    )
    assert r.status_code == 302
    assert month_close.active_close(world.district, month) is not None
    assert db.session.scalar(select(func.count()).select_from(MonthClose)) == 2


def test_a_zero_report_does_not_silently_overwrite_disputes_found(client, web, world):
    day = clock.today().isoformat()
    api = world.grid_a_user.headers
    body = {"node": world.grid_a.code, "date": day}
    assert client.post("/api/v1/screenings", json={**body, "found": 3}, headers=api).status_code == 201
    r = client.post("/api/v1/screenings", json={**body, "found": 0}, headers=api)
    assert r.status_code == 409 and "发现纠纷3件" in r.get_json()["message"]
    row = db.session.scalar(select(Screening))
    db.session.refresh(row)
    assert row.found == 3

    web.login("grid_a")
    token = web.csrf("/reports/screening")
    form = {"csrf_token": token, "node": world.grid_a.code, "date": day, "zero": "1"}
    r = web.client.post("/reports/screening", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="confirm-page"' in html and "发现纠纷3件" in html
    db.session.refresh(row)
    assert row.found == 3
    r = web.client.post("/reports/screening", data={**form, "confirmed": "1"})
    assert r.status_code == 302
    db.session.refresh(row)
    assert row.found == 0
    # the API's own confirmation
    assert client.post("/api/v1/screenings", json={**body, "found": 2}, headers=api).status_code == 201
    r = client.post("/api/v1/screenings", json={**body, "found": 0, "confirm_overwrite": True}, headers=api)
    assert r.status_code == 201 and r.get_json()["found"] == 0


def test_a_paper_signature_is_recorded_only_once_confirmed(web, world):
    dispute = make_doc_case(world)
    a = doc_service.draft_agreement(world.mediator_a.user, dispute, dict(AGREEMENT))
    doc_service.submit_for_signing(world.mediator_a.user, a)
    db.session.commit()
    web.login("mediator_a")
    url = f"/agreements/{a.id}/sign/party-1"
    page = web.client.get(url).get_data(as_text=True)
    assert "data-confirm=" in page and "按指印" in page
    token = web.csrf(url)
    r = web.client.post(url, data={"csrf_token": token, "method": "按指印"})
    assert r.status_code == 200 and 'data-testid="confirm-page"' in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0
    r = web.client.post(url, data={"csrf_token": token, "method": "按指印", "confirmed": "1"})
    assert r.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


# ------------------------------------------------------------------- words a user understands


def test_timeline_data_in_words(client, world):
    names = {
        "unit": {"TW-B": "双港镇人民调解委员会"},
        "user": {"mediator_b": "调解员乙"},
        "agreement": {"8": "（2026）双港镇调字第0001号-协1"},
    }
    rows = dict(
        event_data_filter(
            {
                "agreement_id": 8,
                "code": "J6BXDDN5KF",
                "followup": 11,
                "order": 2,
                "override": True,
                "to_handler": "mediator_b",
                "mystery_key": "x",
                "suggested": {"channel": "人民调解", "unit": "TW-B"},
            },
            names,
        )
    )
    assert rows == {
        "协议书编号": "（2026）双港镇调字第0001号-协1",
        "采纳分流建议": "否",
        "新承办人": "调解员乙",
        "分流建议": "人民调解 · 双港镇人民调解委员会",
    }
    assert dict(event_data_filter({"override": False}))["采纳分流建议"] == "是"
    assert event_data_filter({"agreement_id": 99}, {}) == []  # never the bare id


# The demo's case pages: no "协议 8", no verification code, no English words in the timeline.
@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, _pg_schema):
    with demo_world(tmp_path_factory.mktemp("polish-demo"), _pg_schema, 40) as (app, _result):
        yield app


def test_demo_case_pages_show_no_ids_codes_or_english(demo_app):
    from mediation.demo import DEMO_PASSWORD

    with demo_app.app_context():
        ids = list(db.session.scalars(select(Event.dispute_id).distinct()))
        types = set(db.session.scalars(select(Event.type).distinct()))
        db.session.remove()
    assert {"agreement_signed", "routed", "followup_done"} <= types
    client = demo_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token})
    checked = 0
    for dispute_id in ids:
        r = client.get(f"/disputes/{dispute_id}")
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        timeline = html[html.index('<ol class="timeline">') :]
        timeline = timeline[: timeline.index("</ol>")]
        assert not re.search(r"协议\s*\d", timeline), dispute_id
        assert "校验码" not in timeline and ">code<" not in timeline
        for label, text in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", timeline):
            assert not re.search(r"[A-Za-z_]", label), (dispute_id, label)
            assert not re.fullmatch(r"[a-z_]+", text), (dispute_id, label, text)
            assert not re.fullmatch(r"\d{1,6}", text) or label in ("当事人数", "满意度"), (
                dispute_id,
                label,
                text,
            )
        labels = re.findall(r'<strong class="event-label">(.*?)</strong>', timeline)
        assert labels and all(not re.search(r"[A-Za-z_]", x) for x in labels), (dispute_id, labels)
        checked += 1
    assert checked == len(ids) >= 40
