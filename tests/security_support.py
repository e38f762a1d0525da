"""Shared by the security tests (test_security_matrix, test_csrf, test_security_headers).

* ``security_env``: one app and database for a whole test module, holding a world in town A (海滨街道)
  with one object of every kind the URLs name — an open case (routed, accepted, an agreement draft,
  a 督办 order), a closed case (调解成功, so a 满意度回访 follow-up), a notification of a town-A user,
  a month close of town A with a reopen request, a ledger export job (when the ledger area exists),
  a routing rule, a time limit, a holiday notice and a unit seal — plus a grid worker in town B.
* ``routes``: the app's routes from ``app.url_map``, so new endpoints are covered automatically.
* ``PARAMS``: every URL parameter name, mapped to values belonging to town A.
* ``json_body`` / ``form_body``: a valid request body per endpoint, so that a request is refused by
  the access rule and not merely by validation.
* ``snapshot``: every row of every table, to prove that a refused request changed nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select, text

from mediation import create_app
from mediation.common.enums import OrgKind, Role, UnitType
from mediation.common.time import local_today
from mediation.extensions import db
from mediation.orgs.models import MediationOrg

TOWN_B_ROLES = ("mediator_b", "center_b", "grid_b")
PUBLIC_API = ("api-docs.openapi_json", "api-docs.openapi_swagger_ui", "swagger_assets")

# Town A's secrets: none of these may appear in an answer to a user of town B.
PARTY_A = "海滨甲某"
PARTY_B = "海滨乙某"
SUMMARY_A = "海滨街道机密案情：三号楼屋顶漏水。"
FACTS_A = "海滨街道协议事实：漏水修复费用由乙方承担。"
ORG_HEAD_A = "海滨甲调委主任"  # the 负责人 in town A's committee's 调解组织 profile
ID_NUMBER_A = "12011619720304231"


# --------------------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    arguments: tuple[str, ...]

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")


@functools.cache
def collection_app():
    """An app only for reading the url_map while pytest collects the tests (no database used)."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "collect"})


def routes(app=None) -> list[Route]:
    app = app or collection_app()
    out = []
    for rule in app.url_map.iter_rules():
        methods = tuple(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        out.append(Route(rule.rule, rule.endpoint, methods, tuple(sorted(rule.arguments))))
    return sorted(out, key=lambda r: (r.rule, r.endpoint))


def has_endpoint(endpoint: str) -> bool:
    return endpoint in collection_app().view_functions


# ------------------------------------------------------------------------ URL parameters of town A


def _const(value):
    return lambda env: value


def _workflow_actions() -> list[str]:
    from mediation.disputes.workflow_schemas import ACTION_SCHEMAS

    return list(ACTION_SCHEMAS)


# name → {label: value or env → value}. Every URL parameter of every object-scoped route must be
# here (tests fail loudly for one that is not): a new endpoint gets a town-A value before it ships.
MEDIATOR_A = "海滨甲调解员"  # a town-A mediator: never shown to town B
KEY_GROUP_A = "海滨甲重点群体"  # a town-A 重点群体: never shown to town B

PARAMS: dict[str, dict] = {
    "dispute_id": {"open": lambda e: e.open_id, "closed": lambda e: e.closed_id},
    "agreement_id": {"draft": lambda e: e.agreement_id},
    "followup_id": {"satisfaction": lambda e: e.followup_id},
    "order_id": {"supervision": lambda e: e.order_id},
    "notification_id": {"of_mediator_a": lambda e: e.notification_id},
    "close_id": {"month_close": lambda e: e.close_id},
    "report_notice_id": {"town_a_notice": lambda e: e.report_notice_id},
    "request_id": {"reopen": lambda e: e.request_id},
    "job_id": {"export": lambda e: e.job_id},
    "rule_id": {"rule": lambda e: e.rule_id},
    "limit_id": {"limit": lambda e: e.limit_id},
    "notice_id": {"calendar_notice": lambda e: e.notice_id},
    "unit_id": {"committee_a": lambda e: e.unit_id},
    "unit_code": {"committee_a": _const("TW-A")},
    "mediator_id": {"of_committee_a": lambda e: e.mediator_id},
    "entry_id": {"key_group_a": lambda e: e.key_entry_id},
    "token_id": {"of_mediator_a": lambda e: e.token_id},
    "session_id": {"planned": lambda e: e.session_id},
    "photo_id": {"of_open_case": lambda e: e.photo_id},
    "kind": {"application": _const("application"), "followup": _const("followup")},
    "who": {"party-0": _const("party-0"), "mediator": _const("mediator")},
    "action": {a: _const(a) for a in _workflow_actions()},
    "fmt": {"xlsx": _const("xlsx"), "pdf": _const("pdf")},
    "what": {w: _const(w) for w in ("export", "rejects", "report")},
    # The parties' door (/c/<case code>): the open case of town A.
    "case_code": {"open": lambda e: e.case_code},
    # 排查: the sweep report of town A's grid and its open finding.
    "screening_id": {"of_grid_a": lambda e: e.screening_id},
    "finding_id": {"open": lambda e: e.finding_id},
}
# The same name meaning something else on one endpoint.
ENDPOINT_PARAMS: dict[str, dict[str, dict]] = {
    "reports.download": {"kind": {k: _const(k) for k in ("monthly", "shuangbai", "channels")}},
}


class UnknownParameter(LookupError):
    pass


def param_choices(route: Route) -> list[dict[str, str]]:
    """Every combination of labelled values for the route's URL parameters: [{name: label}]."""
    combos: list[dict[str, str]] = [{}]
    for name in route.arguments:
        choices = ENDPOINT_PARAMS.get(route.endpoint, {}).get(name) or PARAMS.get(name)
        if choices is None:
            raise UnknownParameter(
                f"{route.rule}（{route.endpoint}）的 URL 参数 <{name}> 不在 PARAMS 中：请在 "
                "tests/security_support.py 中为它指定一个属于海滨街道的值。"
            )
        combos = [{**c, name: label} for c in combos for label in choices]
    return combos


def resolve(env, route: Route, labels: dict[str, str]) -> dict:
    values = {}
    for name, label in labels.items():
        choice = (ENDPOINT_PARAMS.get(route.endpoint, {}).get(name) or PARAMS[name])[label]
        values[name] = choice(env) if callable(choice) else choice
    return values


def url_for_route(route: Route, values: dict) -> str:
    path = route.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^<>:]+:)?" + re.escape(name) + r">", str(value), path)
    assert "<" not in path, path
    return path


def label_of(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


# ----------------------------------------------------------------------------- request bodies


def _today(days: int = 0) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


AGREEMENT = {
    "facts": FACTS_A,
    "issues": "漏水修复费用的承担。",
    "responsibilities": "乙方未及时维修水管。",
    "terms": "乙方赔偿甲方修复费用人民币叁仟伍佰元整。",
    "performance_method": "银行转账一次性支付。",
}


# A planned session (调解安排) in two days, without invitees: the body passes the schema, so a refusal
# is the route's access check, not a validation error.
SESSION = {"date": (local_today() + timedelta(days=2)).isoformat(), "time": "10:00", "place": "安全测试地点"}


def _action_body(action: str) -> dict:
    from tests.workflow_support import valid_body

    body = dict(valid_body(action))
    if action == "route":
        body["unit"] = "TW-A"
    return body


def json_body(env, route: Route, method: str, values: dict):
    """A body the endpoint accepts (None: the endpoint takes none)."""
    if method not in ("POST", "PUT", "PATCH"):
        return None
    e = route.endpoint
    if e.startswith("workflow_api.") and e.split(".", 1)[1] in _workflow_actions():
        return _action_body(e.split(".", 1)[1])
    from tests.factories import dispute_payload

    bodies = {
        "disputes_api.Disputes": lambda: dispute_payload(env.grid_a_code),
        "workflow_api.CourtReferrals": lambda: {
            **dispute_payload(env.grid_a_code),
            "kind": "诉前委派",
            "court_case_no": "（2026）津0116民诉前调9号",
            "unit": "TW-A",
        },
        "routing_api.RoutingRules": lambda: {"name": "安全测试规则", "channel": "人民调解"},
        "routing_api.TimeLimits": lambda: {"channel": "人民调解", "category": "邻里", "days": 31},
        "documents_api.DisputeAgreements": lambda: dict(AGREEMENT),
        "documents_api.AgreementItem": lambda: {"terms": "篡改后的协议内容。"},
        "documents_api.AgreementSignatures": lambda: {
            "signer": "当事人",
            "party_index": 0,
            "method": "纸质签名",
        },
        "documents_api.AgreementSupplements": lambda: dict(AGREEMENT),
        "followups_api.FollowUpCompletion": lambda: {"result": "当事人表示满意。", "satisfaction": 5},
        "followups_api.FollowUpRescheduling": lambda: {"due_on": _today(3), "reason": "当事人外出务工。"},
        "followups_api.DisputeSupervisions": lambda: {"reply_by": _today(7), "level": "普通"},
        "mediators_api.MediatorTrainings": lambda: {
            "held_on": _today(),
            "hours": "2",
            "topic": "安全测试培训",
            "organiser": "区司法局",
        },
        "mediators_api.CaseMediators": lambda: {"mediators": [env.mediator_id]},
        "keypeople_api.Entries": lambda: {
            "name": "篡改群体",
            "kind": "重大不稳定群体",
            "group_size": 5,
            "node": env.town_a_code,
            "unit": "TW-A",
            "measures": "安全测试。",
            "review_days": 7,
        },
        "keypeople_api.Reviews": lambda: {"on": _today(), "note": "安全测试复查。"},
        "keypeople_api.CaseLeader": lambda: {"name": "篡改", "post": "安全测试", "since": _today()},
        "followups_api.SupervisionReplying": lambda: {"reply": "已按督办要求约谈双方。"},
        "reports_api.Supervise": lambda: {"note": "请抓紧办理。"},
        "reports_api.Screenings": lambda: {"node": env.grid_a_code, "found": 1},
        "reports_api.ScreeningFindings": lambda: {"description": "篡改的排查发现", "category": "邻里"},
        "reports_api.RegisterFinding": lambda: {},
        "reports_api.LinkFinding": lambda: {"case_no": env.case_nos[0]},
        "reports_api.ExplainFinding": lambda: {"reason": "当场化解"},
        "reports_api.MonthCloses": lambda: {"node": env.town_a_code, "month": env.closed_month},
        "reports_api.Notices": lambda: {"node": env.town_a_code, "period": env.closed_month},
        "reports_api.CarryOver": lambda: {
            "dispute": env.open_id,
            "month": env.month,
            "reason": "当事人在外地，下月继续。",
        },
        "reports_api.ReopenRequests": lambda: {"reason": "统计有误，申请重新打开。"},
        "reports_api.ReopenDecision": lambda: {"approve": True, "note": "同意。"},
        "sessions_api.DisputeSessions": lambda: SESSION,
        "sessions_api.SessionItem": lambda: {"date": _today(5), "place": "篡改后的地点"},
        "sessions_api.SessionCancel": lambda: {"reason": "安全测试取消。"},
    }
    make = bodies.get(e)
    return make() if make else {}


def form_body(env, route: Route, method: str, values: dict) -> dict:
    """Form fields the web endpoint accepts (without the CSRF token)."""
    if method != "POST":
        return {}
    e = route.endpoint
    if e == "workflow.act":
        return {k: str(v) for k, v in _action_body(values["action"]).items()}
    if e == "disputes.new":
        from tests.factories import dispute_payload

        payload = dispute_payload(env.grid_a_code)
        form = {k: str(v) for k, v in payload.items() if k not in ("parties", "flags")}
        for i, party in enumerate(payload["parties"]):
            form.update({f"parties-{i}-{k}": v for k, v in party.items()})
        form["idempotency_token"] = uuid.uuid4().hex
        return form
    bodies = {
        "documents.create_agreement": lambda: dict(AGREEMENT),
        "mediators.add_training": lambda: {
            "held_on": _today(),
            "hours": "2",
            "topic": "安全测试培训",
            "organiser": "区司法局",
        },
        "mediators.edit": lambda: {
            "name": "篡改",
            "units": "TW-A",
            "employment": "专职",
            "background": "律师",
        },
        "mediators.assign": lambda: {"mediators": str(env.mediator_id)},
        "keypeople.new": lambda: {
            "name": "篡改群体",
            "kind": "重大不稳定群体",
            "group_size": "5",
            "node": env.town_a_code,
            "unit": "TW-A",
            "measures": "安全测试。",
            "review_days": "7",
        },
        "keypeople.edit": lambda: {
            "name": "篡改群体",
            "kind": "重大不稳定群体",
            "group_size": "5",
            "node": env.town_a_code,
            "unit": "TW-A",
            "measures": "安全测试。",
            "review_days": "7",
        },
        "keypeople.review": lambda: {"on": _today(), "note": "安全测试复查。"},
        "keypeople.set_leader": lambda: {"name": "篡改", "post": "安全测试", "since": _today()},
        "mediators.export": lambda: {"node": env.town_a_code},
        "reports.issue_notice": lambda: {
            "node": env.town_a_code,
            "period": env.closed_month,
            "confirmed": "1",
        },
        "mediators.new": lambda: {
            "name": "周杰",
            "units": "TW-A",
            "employment": "专职",
            "background": "律师",
        },
        "documents.save_agreement": lambda: {**AGREEMENT, "terms": "篡改后的协议内容。"},
        "documents.sign_submit": lambda: {"method": "纸质签名", "confirmed": "1"},
        "documents.form_page": lambda: {
            "requests": "请求调解。",
            "visited_on": _today(),
            "method": "电话回访",
            "visitor": "调解员",
            "visited": "当事人",
            "performance": "已履行。",
        },
        "documents.seals": lambda: {"unit": "TW-A"},
        # The caller's own password, right, with no new one: refused field by field, nothing changes.
        "accounts.password": lambda: {
            "current_password": "password123",
            "new_password": "",
            "confirm_password": "",
        },
        "followups.complete": lambda: {"result": "当事人表示满意。", "satisfaction": "5"},
        "followups.reschedule": lambda: {"due_on": _today(3), "reason": "当事人外出务工。"},
        "followups.supervise": lambda: {"reply_by": _today(7), "level": "普通"},
        "followups.reply": lambda: {"reply": "已按督办要求约谈双方。"},
        "reports.supervise": lambda: {"note": "请抓紧办理。"},
        "reports.reopen_request": lambda: {"reason": "统计有误，申请重新打开。"},
        "reports.reopen_decide": lambda: {"decision": "approve", "note": "同意。"},
        "reports.close_month": lambda: {"node": env.town_a_code, "month": env.closed_month, "confirmed": "1"},
        "reports.carry_over": lambda: {
            "node": env.town_a_code,
            "month": env.month,
            f"reason-{env.open_id}": "当事人在外地，下月继续。",
        },
        "reports.screening": lambda: {"node": env.grid_a_code, "date": _today(), "found": "1"},
        "reports.add_finding": lambda: {"description": "篡改的排查发现", "category": "邻里"},
        "reports.explain_finding": lambda: {"reason": "当场化解"},
        "reports.link_finding": lambda: {"case_no": env.case_nos[0]},
        "routing.add_rule": lambda: {"name": "安全测试规则", "channel": "人民调解"},
        "routing.set_limit": lambda: {"channel": "人民调解", "category": "邻里", "days": "31"},
        "routing.add_notice": lambda: {
            "year": "2027",
            "title": "国务院办公厅关于2027年部分节假日安排的通知",
            "annual": "on",
            "days": "2027-02-05 至 2027-02-13 放假 春节",
        },
        "routing.notice": lambda: {
            "year": "2027",
            "title": "篡改后的通知",
            "annual": "on",
            "days": "2027-02-14 上班 春节",
        },
        "ledger.export": lambda: {"node": env.town_a_code},
        "sessions.schedule": lambda: dict(SESSION),
        "sessions.reschedule": lambda: {"date": _today(5), "time": "10:00", "place": "篡改后的地点"},
        "sessions.cancel": lambda: {"reason": "安全测试取消。"},
        "orgs.edit": lambda: {"kind": "乡镇（街道）人民调解委员会", "head": "篡改后的负责人"},
    }
    make = bodies.get(e)
    return make() if make else {}


# ---------------------------------------------------------------------------------- snapshot

# Columns that legitimately change on a refused request.
VOLATILE = {("api_token", "last_used_at")}  # stamped on every request with a valid token


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table (ordered by primary key), except the VOLATILE columns."""
    db.session.commit()
    out = {}
    for table in db.metadata.sorted_tables:
        cols = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
        rows = db.session.execute(select(*cols).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(r) for r in rows]
    db.session.commit()
    return out


@functools.cache
def _fingerprint_sql(dialect: str) -> str:
    """One statement giving, per table, a digest (PostgreSQL) or the text (SQLite) of all its rows."""
    quote = db.engine.dialect.identifier_preparer.quote
    parts = []
    for table in db.metadata.sorted_tables:
        cols = [quote(c.name) for c in table.columns if (table.name, c.name) not in VOLATILE]
        order = ", ".join(quote(c.name) for c in table.primary_key.columns)
        name = quote(table.name)
        if dialect == "postgresql":
            parts.append(
                f"(SELECT md5(coalesce(string_agg(row({', '.join(cols)})::text, E'\\n' ORDER BY {order}), '')) "
                f"FROM {name})"
            )
        else:
            line = " || ',' || ".join(f"quote({c})" for c in cols)
            parts.append(
                f"(SELECT group_concat(line, char(10)) FROM (SELECT {line} AS line FROM {name} "
                f"ORDER BY {order}))"
            )
    return "SELECT " + ",\n".join(parts)


def fingerprint() -> tuple:
    """Every row of every table in one query (cheap enough to take after each request)."""
    db.session.commit()
    row = tuple(db.session.execute(text(_fingerprint_sql(db.engine.dialect.name))).one())
    db.session.commit()
    return row


def changes(before: dict, after: dict) -> list[str]:
    out = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, []), after.get(name, [])
        if a != b:
            gone = [r for r in a if r not in b][:2]
            new = [r for r in b if r not in a][:2]
            out.append(f"{name}: {len(a)}→{len(b)} 行；删除/修改前 {gone!r}；新增/修改后 {new!r}")
    return out


# -------------------------------------------------------------------------------- responses


def response_text(response) -> str:
    """The body as a reader sees it (JSON decoded, so escaped Chinese is compared as text) and the
    headers that may carry data (Location)."""
    if response.is_json:
        data = response.get_json(silent=True)
        text = json.dumps(data, ensure_ascii=False) if data is not None else response.get_data(as_text=True)
    elif response.mimetype.startswith("text/") or response.mimetype in ("application/json",):
        text = response.get_data(as_text=True)
    elif response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        import io

        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        text = "\n".join(
            str(v)
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
            for v in row
            if v is not None
        )
    else:
        text = response.get_data().decode("utf-8", "replace")
    return text + "\n" + response.headers.get("Location", "")


def leaks(env, text: str) -> list[str]:
    return [m for m in env.markers if m in text]


def take_flashes(client) -> list[tuple[str, str]]:
    """The messages a request flashed (and clears them, so they do not pile up)."""
    with client.session_transaction() as sess:
        flashes = list(sess.pop("_flashes", []))
    return flashes


# ------------------------------------------------------------------------------ a party


PARTY_PHONE = "13800138000"  # 海滨甲某's phone on file (tests/factories.dispute_payload)


def party_client(env):
    """A browser of 海滨甲某 signed in on the parties' door of town A's open case (made once per module:
    the codes' resend wait would refuse a second code): the code is read from the outbox."""
    if getattr(env, "party", None) is not None:
        return env.party
    from mediation.sms.models import SmsMessage
    from tests.conftest import csrf_token

    client = env.app.test_client()
    door = f"/c/{env.case_code}"
    r = client.post(door, data={"phone": PARTY_PHONE, "csrf_token": csrf_token(client, door)})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    code = db.session.scalar(
        select(SmsMessage.params)
        .where(SmsMessage.phone == PARTY_PHONE, SmsMessage.template == "verify_code")
        .order_by(SmsMessage.id.desc())
    )["code"]
    r = client.post(
        f"{door}/verify", data={"phone": PARTY_PHONE, "code": code, "csrf_token": csrf_token(client, door)}
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    client.csrf = csrf_token(client, f"{door}/case")
    env.party = client
    return client


# ------------------------------------------------------------------------------ the world


def _ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), (
        response.status_code,
        response.get_data(as_text=True)[:500],
    )
    return response.get_json() if response.is_json else response


def _login(app, username: str):
    from tests.conftest import csrf_token, login

    client = app.test_client()
    r = login(client, username)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    client.csrf = csrf_token(client, "/disputes/")
    return client


def build_town_a(app, env: SimpleNamespace) -> None:
    """The town-A objects, made through the API and the web as users make them."""
    from mediation.documents import service as documents
    from mediation.followups.models import FollowUp, Notification
    from tests.documents_helpers import seal_jpeg
    from tests.factories import dispute_payload, make_id

    w = env.world
    api = app.test_client()
    id_number = make_id(ID_NUMBER_A)
    env.id_number_a = id_number

    def register(summary: str) -> dict:
        payload = dispute_payload(w.grid_a.code, summary=summary)
        payload["parties"][0].update(name=PARTY_A, id_number=id_number)
        payload["parties"][1].update(name=PARTY_B)
        return _ok(api.post("/api/v1/disputes", json=payload, headers=w.center_user_a.headers), 201)

    def act(who, dispute_id, segment, body):
        return _ok(api.post(f"/api/v1/disputes/{dispute_id}/{segment}", json=body, headers=who.headers))

    routed = {"channel": "人民调解", "unit": "TW-A"}
    opened = register(SUMMARY_A)
    closed = register(SUMMARY_A + "（已办结）")
    for case in (opened, closed):
        act(w.center_user_a, case["id"], "route", routed)
        act(w.mediator_a, case["id"], "accept", {"date": _today()})
    env.open_id, env.closed_id = opened["id"], closed["id"]
    env.case_code, env.closed_case_code = opened["case_code"], closed["case_code"]
    env.case_nos = (opened["case_no"], closed["case_no"])

    agreement = _ok(
        api.post(f"/api/v1/disputes/{env.open_id}/agreements", json=AGREEMENT, headers=w.mediator_a.headers),
        201,
    )
    env.agreement_id = agreement["id"]
    order = _ok(
        api.post(
            f"/api/v1/disputes/{env.open_id}/supervisions",
            json={"reply_by": _today(7), "level": "普通", "note": "请尽快调处。"},
            headers=w.center_user_a.headers,
        ),
        201,
    )
    env.order_id = order["id"]
    from mediation.disputes.models import Party

    parties = db.session.scalars(select(Party.id).where(Party.dispute_id == env.open_id)).all()
    planned = _ok(
        api.post(
            f"/api/v1/disputes/{env.open_id}/scheduled-sessions",
            json={"date": _today(3), "time": "09:30", "place": "海滨街道调解室", "parties": list(parties)},
            headers=w.mediator_a.headers,
        ),
        201,
    )
    env.session_id = planned["id"]
    act(w.mediator_a, env.closed_id, "close", {"outcome": "调解成功", "date": _today(), "note": "达成协议。"})

    followup = db.session.scalar(select(FollowUp).where(FollowUp.dispute_id == env.closed_id))
    assert followup is not None and followup.kind == "满意度回访", (
        "closing as 调解成功 must create a 满意度回访"
    )
    env.followup_id = followup.id
    note = db.session.scalar(select(Notification).where(Notification.user_id == w.mediator_a.user.id))
    assert note is not None, "the 督办 must notify the supervised unit (mediator_a)"
    env.notification_id = note.id

    from mediation.reports.common import Month

    this = Month.of(local_today())
    env.month, env.closed_month = this.key, this.shift(-1).key
    close = _ok(
        api.post(
            "/api/v1/month-closes",
            json={"node": w.town_a.code, "month": env.closed_month},
            headers=w.center_user_a.headers,
        ),
        201,
    )
    env.close_id = close["id"]
    req = _ok(
        api.post(
            f"/api/v1/month-closes/{env.close_id}/reopen-requests",
            json={"reason": "统计有误，申请重新打开。"},
            headers=w.center_user_a.headers,
        ),
        201,
    )
    env.request_id = req["id"]
    notice = _ok(
        api.post(
            "/api/v1/reports/notices",
            json={"node": w.town_a.code, "period": env.closed_month},
            headers=w.center_user_a.headers,
        ),
        201,
    )
    env.report_notice_id = notice["id"]

    rule = _ok(
        api.post(
            "/api/v1/routing-rules",
            json={
                "name": "海滨街道物业纠纷",
                "channel": "人民调解",
                "category": "物业",
                "node": w.town_a.code,
            },
            headers=w.admin.headers,
        ),
        201,
    )
    env.rule_id = rule["id"]
    limits = _ok(api.get("/api/v1/time-limits", headers=w.admin.headers))  # seeds the defaults
    env.limit_id = limits[0]["id"]
    from mediation.routing.notices import CalendarNoticeIn, save_notice

    notice = save_notice(
        CalendarNoticeIn().load(
            {"year": "2026", "title": "补充通知（安全测试）", "days": "2026-12-31 放假 测试"}
        ),
        w.admin.user,
    )
    db.session.commit()
    env.notice_id = notice.id

    documents.upload_seal(w.admin.user, w.committee_a, seal_jpeg())
    db.session.commit()
    env.unit_id = w.committee_a.id

    env.photo_id = _town_a_photo(env.open_id)

    sweep = _ok(
        api.post(
            "/api/v1/screenings", json={"node": w.grid_a.code, "found": 0}, headers=w.grid_a_user.headers
        ),
        201,
    )
    env.screening_id = sweep["id"]
    finding = _ok(
        api.post(
            f"/api/v1/screenings/{env.screening_id}/findings",
            json={"description": "海滨甲乙两户因漏水争执", "parties": "海滨甲", "category": "邻里"},
            headers=w.grid_a_user.headers,
        ),
        201,
    )
    env.finding_id = finding["id"]

    env.job_id = None
    if "ledger.export" in app.view_functions:  # the ledger area (may land after this file)
        from mediation.ledger import jobs
        from mediation.ledger.models import LedgerJob

        center_a = _login(app, "center_a")
        r = center_a.post("/ledger/export", data={"node": w.town_a.code, "csrf_token": center_a.csrf})
        assert r.status_code in (302, 303), r.status_code
        job = db.session.scalar(select(LedgerJob).order_by(LedgerJob.id.desc()))
        db.session.commit()
        jobs.JobWorker(app).run_once()  # the worker process's part, in its own app context
        db.session.expire_all()
        env.job_id = job.id


def _town_a_photo(dispute_id: int) -> int:
    """A photo of an online application on town A's open case (the staff's photo view)."""
    from mediation.applications.models import ApplicationPhoto, OnlineApplication
    from mediation.applications.photos import reencode
    from tests.documents_helpers import seal_jpeg

    photo = reencode(seal_jpeg())
    application = OnlineApplication(
        dispute_id=dispute_id,
        token="a" * 32,
        phone="13800138000",
        address="127.0.0.1",
        created_on=local_today(),
    )
    application.photos.append(
        ApplicationPhoto(
            dispute_id=dispute_id,
            width=photo.width,
            height=photo.height,
            size=len(photo.data),
            data=photo.data,
        )
    )
    db.session.add(application)
    db.session.commit()
    return application.photos[0].id


@contextlib.contextmanager
def security_env(tmp_path, pg_url: str | None):
    """One app, database and town-A world for a whole test module."""
    from tests.conftest import IsolatedClient, _truncate_all
    from tests.factories import build_world, unit, user

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": pg_url or f"sqlite:///{tmp_path / 'security.sqlite'}",
            "SECRET_KEY": "test-secret",
            "INSTANCE_DIR": str(tmp_path),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.test_client_class = IsolatedClient
    ctx = app.app_context()
    ctx.push()
    try:
        if pg_url:
            _truncate_all()
        else:
            db.create_all()
        w = build_world()
        w.grid_unit_b = unit("WG-B1", "双港村第1网格", UnitType.OTHER, w.grid_b)
        db.session.flush()
        w.grid_b_user = user("grid_b", Role.GRID, w.grid_unit_b)
        db.session.add(MediationOrg(unit=w.committee_a, kind=OrgKind.TOWN, head=ORG_HEAD_A))
        db.session.commit()
        env = SimpleNamespace(
            app=app, world=w, town_a_code=w.town_a.code, grid_a_code=w.grid_a.code, town_b_code=w.town_b.code
        )
        build_town_a(app, env)
        from mediation.mediators.models import Background, Employment, Mediator

        mediator_a = Mediator(
            name=MEDIATOR_A,
            employment=Employment.FULL_TIME,
            background=Background.LAWYER,
            units=[w.committee_a],
        )
        db.session.add(mediator_a)
        db.session.commit()
        env.mediator_id = mediator_a.id
        from mediation.keypeople.models import KeyEntry, KeyKind

        key_entry = KeyEntry(
            name=KEY_GROUP_A,
            is_group=True,
            group_size=12,
            kind=KeyKind.UNSTABLE_GROUP,
            node=w.village_a,
            unit=w.committee_a,
            measures="海滨甲稳控措施",
            review_days=7,
            next_review_on=local_today(),
        )
        db.session.add(key_entry)
        db.session.commit()
        env.key_entry_id = key_entry.id
        env.markers = (
            *env.case_nos,
            PARTY_A,
            PARTY_B,
            SUMMARY_A,
            FACTS_A,
            env.id_number_a,
            MEDIATOR_A,
            ORG_HEAD_A,
            KEY_GROUP_A,
        )
        env.users = {
            "mediator_b": w.mediator_b,
            "center_b": w.center_user_b,
            "grid_b": w.grid_b_user,
            "court": w.court_user,
            "admin": w.admin,
            "mediator_a": w.mediator_a,
            "center_a": w.center_user_a,
            "grid_a": w.grid_a_user,
            "district": w.district_staff,
        }
        env.web = {}

        def web(role: str):
            if role not in env.web:
                env.web[role] = _login(app, env.users[role].username)
            return env.web[role]

        env.web_client = web
        for role in env.users:  # signed in before the baseline: a sign-in writes its session row
            web(role)
        from mediation.accounts.models import ApiToken

        env.token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == w.mediator_a.user.id))
        env.api = app.test_client()
        env.baseline = snapshot()
        env.fingerprint = fingerprint()
        yield env
    finally:
        db.session.remove()
        ctx.pop()
        with app.app_context():
            db.engine.dispose()
