"""Every endpoint refuses a user of another town: a matrix over the app's routes × roles.

The routes come from ``app.url_map``, so a new endpoint is in the matrix the day it is added. Town A
(海滨街道) holds one object of every kind the URLs name (tests/security_support.py); the users of town B
(双港镇) — a mediator, the 综治中心 and a grid worker — call every route and method on them: through the
API with their bearer token, on the web with a signed-in session and a valid CSRF token. Each request
must be refused (401/403/404/405), must not show town A's data (case numbers, party names, the case
summary, the agreement text, the ID number) and must change no row of any table.

Routes without an object in their URL are listed below with what they must do instead; a route that
is neither (a new one) fails ``test_every_route_is_classified``. A second matrix checks the role rules
that hold even for users who can see town A: the court liaison and the admin of the district.
"""

from __future__ import annotations

import pytest

from mediation.common.time import local_today
from mediation.extensions import db
from mediation.reports.common import Week
from tests.security_support import (
    PARAMS,
    PUBLIC_API,
    TOWN_B_ROLES,
    Route,
    UnknownParameter,
    changes,
    fingerprint,
    form_body,
    has_endpoint,
    json_body,
    label_of,
    leaks,
    param_choices,
    party_client,
    resolve,
    response_text,
    routes,
    security_env,
    snapshot,
    take_flashes,
    url_for_route,
)

REFUSED = {401, 403, 404, 405}

# ---------------------------------------------------------------------- routes without an object

# Public, or nothing of anyone's: not in the matrix.
PUBLIC = {
    "static": "static files",
    "index": "redirects to the case list or the sign-in page",
    "accounts.login": "the sign-in page (CSRF and rate limit: tests/test_auth.py)",
    "accounts.logout": "ends the caller's own session only",
    "documents.verify_start": "public verification of a signed document by its code (no sign-in)",
    "documents.verify_page": "public verification: shows only what the document's verification block prints",
    "api-docs.openapi_json": "the OpenAPI document",
    "api-docs.openapi_swagger_ui": "the API docs page",
    "swagger_assets": "the API docs page's static files",
    "applications.form": "网上申请调解: the public form (tests/test_applications.py: CSRF, limits, headers)",
    "applications.post": "网上申请调解: files a new case; SMS code, rate limits, idempotency (tests/test_applications.py)",
    "health.healthz": "liveness probe: answers whether the database is up, nothing else",
    "ping_api.Ping": "the benchmark's framework floor: checks the bearer token, returns {ok: true}",
    # The import runs in a background job that checks every row's 属地 against the importer's
    # subtree; tests/test_ledger_web.py::test_only_admin_and_center_staff_may_import_and_only_into_their_subtree
    # uploads a town-A row as town B's 综治中心.
    "ledger.upload": "row-level scope check of an asynchronous job: tests/test_ledger_web.py",
    # The parties' door (/c/…): no staff user opens anything there; the party role's own matrix is
    # test_party_session_reaches_no_staff_endpoint and test_party_pages_need_a_session_of_that_case below.
    "parties.enter": "type a case code: a form, nothing of anyone",
    "parties.door": "the phone form: the same neutral answer for every case code and phone",
    "parties.verify": "the code form: the same neutral answer for every wrong code",
    "parties.case": "a party session of that case only (below)",
    "parties.acceptance_pdf": "a party session of that case only (below)",
    "parties.rejection_pdf": "a party session of that case only (below)",
    "parties.agreement_pdf": "a party session of that case only (below)",
    "parties.logout": "ends the caller's own party session only",
    "parties.rating": "a party session of that case only: the party's own rating (tests/test_parties_door.py)",
}

# Lists that filter by the user's scope: they answer (or refuse the role), but show nothing of town A,
# even when asked for it by name, node or case id.
LISTS = {
    "disputes.index": lambda e: [{"q": "海滨甲"}, {"node": e.town_a_code}, {"q": e.case_nos[0][:-1]}],
    "disputes_api.Disputes:GET": lambda e: [
        {"q": "海滨甲"},
        {"node": e.town_a_code},
        {"q": e.case_nos[0][:-1]},
    ],
    "disputes.new:GET": lambda e: [{}],
    # (a node outside the subtree sends the user back to the list with the error: tests/test_case_list.py)
    "disputes.export": lambda e: [{"q": "海滨甲"}, {"q": e.case_nos[0][:-1]}, {}],
    "followups.worklist": lambda e: [{}],
    "followups_api.Worklist": lambda e: [{}],
    "followups.todo": lambda e: [{"scope": "all"}, {"scope": "all", "status": "已完成"}],
    "followups_api.FollowUps": lambda e: [{"dispute": e.closed_id}, {}],
    "followups.notifications": lambda e: [{}],
    "followups_api.Notifications": lambda e: [{}],
    "followups.supervisions": lambda e: [{"scope": "all"}, {"scope": "issued"}],
    "followups_api.Supervisions": lambda e: [{"dispute": e.open_id}, {}],
    "reports.screening:GET": lambda e: [{}],
    # 考核通报: the notices of the user's subtree and those naming the user's unit.
    "reports.notice_list": lambda e: [{}],
    "reports_api.Notices:GET": lambda e: [{}],
    # The 综治中心's list of sweep findings left open: the grids of its own area (others refused, 403).
    "reports.overdue_findings": lambda e: [{}],
    "reports_api.OverdueFindings": lambda e: [{}],
    # The user's own calendar of planned sessions (page, .ics, API): cases 分给我的 only.
    "sessions.calendar": lambda e: [{}, {"view": "month"}],
    "sessions.calendar_file": lambda e: [{}],
    "sessions_api.Sessions": lambda e: [{}, {"from": e.month + "-01"}],
    "ledger.index": lambda e: [{}],
    # The mediators' registry: those with a unit in the user's subtree (mediators.service.mediator_scope).
    "mediators.index": lambda e: [{}, {"q": "海滨甲"}, {"node": e.town_a_code}],
    "mediators_api.Mediators": lambda e: [{}, {"q": "海滨甲"}],
    "mediators.new:GET": lambda e: [{}],
    # The 重点人员 register: entries in the user's jurisdiction and role (keypeople.service.entry_scope);
    # grid workers and units that are no 责任单位 are refused (403).
    "keypeople.index": lambda e: [{}, {"q": "海滨甲"}, {"node": e.town_a_code}],
    "keypeople_api.Entries:GET": lambda e: [{}, {"q": "海滨甲"}],
    "keypeople.new:GET": lambda e: [{}],
    "accounts.tokens": lambda e: [{}],  # the caller's own API tokens
    # The court's 诉调对接 page and list: only the cases its court referred (accounts.access.referred_disputes)
    # and the 司法确认 applications to it; other roles are refused (403). The referral form (GET) is the court's.
    "court.index": lambda e: [{}, {"state": "open"}, {"state": "returned"}],
    "workflow_api.CourtReferrals:GET": lambda e: [{}, {"state": "closed"}],
    "court.refer:GET": lambda e: [{}],
    # Global configuration, not town data (the admin edits it; 综治中心 staff read it, on the routing page
    # and through the API alike: routing.service.may_read_routing_rules).
    "routing.index": lambda e: [{}],
    "routing_api.RoutingRules:GET": lambda e: [{}],
    "routing_api.TimeLimits:GET": lambda e: [{}],
    # 调解组织名册 (page, Excel, API): the organisations of the user's subtree; another town's node is refused.
    **{
        endpoint: lambda e: [{}, {"node": e.town_a_code}, {"kind": "乡镇（街道）人民调解委员会"}]
        for endpoint in ("orgs.registry", "orgs.export_registry", "orgs_api.Orgs")
    },
}
LIST_STATUSES = {200, 403}

# Reports taking a node parameter: asked for town A's node, they refuse.
NODE_QUERY = {
    endpoint: (lambda e: {"node": e.town_a_code, "month": e.month})
    for endpoint in (
        "reports.monthly",
        "reports.shuangbai",
        "reports.channels",
        "reports.download",
        "reports.overdue",
        "reports.close_page",
        "reports_api.MonthlyReport",
        "reports_api.ShuangbaiReport",
        "reports_api.ChannelReport",
        "reports_api.OverdueReview",
        "reports_api.MonthCloses:GET",
        "reports.comparison",
        "reports.comparison_export",
        "reports_api.ComparisonReport",
        "reports.sweeps",  # the sweep reports behind 排查闭环率
        "orgs.coverage",  # 村（居）调委会覆盖 (page, Excel, API)
        "orgs.export_coverage",
        "orgs_api.Coverage",
    )
}
# 考核 takes a period (a month, a quarter or a year).
NODE_QUERY.update(
    {
        endpoint: (lambda e: {"node": e.town_a_code, "period": e.closed_month})
        for endpoint in ("reports.scorecard", "reports.scorecard_export", "reports_api.Scorecard")
    }
)
# 周报 takes an ISO week instead of a month.
NODE_QUERY.update(
    {
        endpoint: (lambda e: {"node": e.town_a_code, "week": Week.of(local_today()).key})
        for endpoint in ("reports.weekly", "reports.weekly_export", "reports_api.WeeklyReport")
    }
)

# Writes that name town A in their body (a node code or a case id) rather than in the URL: refused
# with one of these statuses; "shows": the answer says why; "flash": the form sends the user back
# with this error message.
BODY_SCOPED = {
    "disputes.new:POST": {"status": {422}, "shows": "不在您单位的辖区内"},
    "disputes_api.Disputes:POST": {"status": {422}, "shows": "不在您单位的辖区内"},
    "workflow_api.CourtReferrals": {"status": {403}},
    "court.refer:POST": {"status": {403}},
    "reports_api.Screenings": {"status": {403}},
    # The phone form shows the error beside the field (re-rendered with 200, as its other errors).
    "reports.screening:POST": {"status": {200, 403, 422}, "shows": "不在您单位的辖区内"},
    "reports_api.MonthCloses:POST": {"status": {403}},
    "reports_api.Notices:POST": {"status": {403}},
    "reports.issue_notice": {"status": {403, 404}},
    "reports.close_month": {"status": {403, 404}},
    "reports.carry_over": {"status": {403, 404}},
    "reports_api.CarryOver": {"status": {403, 404}},
    "ledger.export": {"status": {302, 303}, "flash": "请选择您辖区内的节点"},
    "mediators.export": {"status": {302, 303}, "flash": "请选择您辖区内的节点"},
    # A new mediator in a town-A unit: refused beside the field (the unit is outside the user's reach).
    "mediators.new:POST": {"status": {403, 422}},
    # The upload names its units in the file: tests/test_mediators.py (units outside the reach refused).
    "mediators.upload": {"status": {302, 303, 403}},
    # A 重点人员 entry at a town-A place or with a town-A 责任单位: refused beside the field (or the role, 403).
    "keypeople.new:POST": {"status": {403, 422}},
    "keypeople_api.Entries:POST": {"status": {403, 422}},
}

# Global administration, refused to everyone but the admin.
ADMIN_ONLY = {
    "routing.add_rule",
    "routing.set_limit",
    "documents.seals",
    "routing.calendar_page",
    "routing.add_notice",
    "accounts.admin_tokens",
    "sms.outbox",  # the SMS outbox: every party's (masked) phone and messages
    "routing_api.RoutingRules:POST",
    "routing_api.TimeLimits:PUT",
}

# Actions on the caller's own rows only: they may answer, but change nothing of anyone else's.
OWN = {
    "followups.read_all": {200, 302, 303},
    "followups_api.NotificationsReadAll": {200},
    # One's own password (GET the form; POST without a new password is refused field by field).
    "accounts.password:GET": {200},
    "accounts.password:POST": {422},
}


def spec(table, route: Route, method: str):
    """The entry of a table (dict or set) for the route and method: "endpoint:METHOD" or "endpoint"."""
    for key in (f"{route.endpoint}:{method}", route.endpoint):
        if key in table:
            return table[key] if isinstance(table, dict) else True
    return None


def kind_of(route: Route, method: str) -> str | None:
    if route.endpoint in PUBLIC:
        return "public"
    for name, table in (
        ("list", LISTS),
        ("node", NODE_QUERY),
        ("body", BODY_SCOPED),
        ("admin", ADMIN_ONLY),
        ("own", OWN),
    ):
        if spec(table, route, method) is not None:
            return name
    return "object" if route.arguments else None


# ------------------------------------------------------------------------------- the cases


def town_cases():
    cases = []
    for route in routes():
        for method in route.methods:
            kind = kind_of(route, method)
            if kind in ("public", None):
                continue
            try:
                combos = param_choices(route)
            except UnknownParameter:
                combos = [None]  # fails in the test, naming the parameter
            for labels in combos:
                for role in TOWN_B_ROLES:
                    cid = f"{role}-{method}-{route.rule}" + (f"[{label_of(labels)}]" if labels else "")
                    cases.append(pytest.param(route, method, labels, role, kind, id=cid))
    return cases


@pytest.fixture(scope="module")
def env(_pg_schema, tmp_path_factory):
    with security_env(tmp_path_factory.mktemp("security-matrix"), _pg_schema) as env:
        yield env


def send(env, route: Route, method: str, values: dict, role: str, query: dict | None = None):
    """The request as the role's user makes it: bearer token for the API, a signed-in session with a
    valid CSRF token for the web. Returns (response, flashed messages)."""
    path = url_for_route(route, values)
    if route.api:
        body = json_body(env, route, method, values)
        r = env.api.open(path, method=method, json=body, query_string=query, headers=env.users[role].headers)
        return r, []
    client = env.web_client(role)
    data = None
    if method == "POST":
        data = {**form_body(env, route, method, values), "csrf_token": client.csrf}
    r = client.open(path, method=method, data=data, query_string=query)
    return r, take_flashes(client)


def check_unchanged(env, what: str) -> None:
    """No row of any table changed: a one-query fingerprint, and the rows themselves when it differs."""
    if fingerprint() == env.fingerprint:
        return
    now = snapshot()
    diff = changes(env.baseline, now) or ["（行内容相同，顺序或格式不同）"]
    env.baseline, env.fingerprint = now, fingerprint()  # the next case is judged on its own
    pytest.fail(f"{what} 修改了数据：\n" + "\n".join(diff))


def check(env, route, method, labels, role, kind, query=None):
    values = resolve(env, route, labels)
    what = f"{role} {method} {url_for_route(route, values)}" + (f"?{query}" if query else "")
    r, flashes = send(env, route, method, values, role, query)
    text = response_text(r) + "\n" + "\n".join(m for _, m in flashes)
    found = leaks(env, text)
    assert not found, f"{what} → {r.status_code} 泄露了海滨街道的数据 {found}：{text[:500]}"
    check_unchanged(env, what)
    return r, flashes, what


@pytest.mark.parametrize(("route", "method", "labels", "role", "kind"), town_cases())
def test_other_town_is_refused(env, route, method, labels, role, kind):
    if labels is None:
        param_choices(route)  # raises UnknownParameter with the name
    if kind == "list":
        for query in spec(LISTS, route, method)(env):
            r, _, what = check(env, route, method, labels, role, kind, query)
            assert r.status_code in LIST_STATUSES, f"{what} → {r.status_code}"
        return
    query = spec(NODE_QUERY, route, method)(env) if kind == "node" else None
    r, flashes, what = check(env, route, method, labels, role, kind, query)
    body = r.get_data(as_text=True)[:300]
    if kind == "body":
        expected = spec(BODY_SCOPED, route, method)
        assert r.status_code in expected["status"], f"{what} → {r.status_code} {body}"
        if "shows" in expected:
            assert expected["shows"] in response_text(r), f"{what}: no 「{expected['shows']}」"
        if "flash" in expected:
            assert any(c == "error" and expected["flash"] in m for c, m in flashes), f"{what}: {flashes}"
    elif kind == "own":
        assert r.status_code in spec(OWN, route, method), f"{what} → {r.status_code} {body}"
    else:
        assert r.status_code in REFUSED, f"{what} → {r.status_code} {body}"


# --------------------------------------------------------------- users who can see town A

# Role rules that hold inside the district too: the court liaison (海滨区人民法院), the admin and the
# district's 综治中心 see every case of the district, but these they may not do. Web forms that refuse an action the user
# may see tell why in an error message after a redirect (the case page shows it).
NOT_FOR_COURT_OR_ADMIN = {
    # A notification is its addressee's alone.
    "followups.read",
    "followups_api.NotificationRead",
    # Only the unit assigned a follow-up does it; only the supervised unit replies to a 督办.
    "followups.complete",
    "followups.reschedule",
    "followups_api.FollowUpCompletion",
    "followups_api.FollowUpRescheduling",
    "followups.reply",
    "followups_api.SupervisionReplying",
    # Only mediators draft, sign and seal agreements and fill in the forms.
    "documents.create_agreement",
    "documents.save_agreement",
    "documents.submit_agreement",
    "documents.return_agreement",
    "documents.seal_agreement",
    "documents.supplement_agreement",
    "documents.sign_submit",
    "documents.form_page:POST",
    "documents_api.DisputeAgreements:POST",
    "documents_api.AgreementItem:PATCH",
    "documents_api.AgreementSubmit",
    "documents_api.AgreementSignatures",
    "documents_api.AgreementSeal",
    "documents_api.AgreementSupplements",
    # A sweep's findings are worked on by the grid worker who filed it and the grid's 综治中心.
    "reports.add_finding",
    "reports.explain_finding",
    "reports.link_finding:POST",
    "reports_api.ScreeningFindings:POST",
    "reports_api.RegisterFinding",
    "reports_api.LinkFinding",
    "reports_api.ExplainFinding",
}
NOT_FOR_ADMIN = {
    # The documents carry full ID numbers: only ID_NUMBER_ROLES (mediator, court) open them.
    "documents.preview",
    "documents.preview_pdf",
    "documents.signed_pdf",
    "documents.form_pdf",
    "documents.case_file",
    "documents_api.AgreementPdf",
    "documents_api.CaseFile",
}
NOT_FOR_COURT = {
    # 督办, carry-over reasons, the overdue review and the month close are 综治中心 work.
    "followups.supervise",
    "followups_api.DisputeSupervisions:POST",
    "reports.supervise",
    "reports_api.Supervise",
    "reports.carry_over",
    "reports_api.CarryOver",
    "reports.overdue",
    "reports_api.OverdueReview",
    "reports.close_page",
    "reports.close_month",
    "reports_api.MonthCloses:POST",
    "reports.reopen_request",
    "reports_api.ReopenRequests",
    "reports.reopen_decide",
    "reports_api.ReopenDecision",
    # 考核通报 are issued by a 综治中心.
    "reports.issue_notice",
    "reports_api.Notices:POST",
    # A 调解组织's profile is edited by an admin or 综治中心 staff of its subtree.
    "orgs.edit",
    # Administration.
    "routing.index",
    "routing_api.RoutingRules:GET",
    "routing.add_rule",
    "routing.delete_rule",
    "routing.set_limit",
    "routing.delete_limit",
    "routing.calendar_page",
    "routing.add_notice",
    "routing.notice",
    "routing.delete_notice",
    "documents.seals",
    "documents.seal_image",
    "routing_api.RoutingRules:POST",
    "routing_api.RoutingRuleItem",
    "routing_api.TimeLimits:PUT",
    "routing_api.TimeLimitItem",
    # Someone else's ledger job; someone else's API token (its owner or the admin revokes it).
    "ledger.job",
    "ledger.progress",
    "ledger.download",
    "accounts.revoke_token",
    # The workflow of a case the court did not refer: only its own steps (judicial confirmation).
    "workflow.act",
    *(f"workflow_api.{a}" for a in PARAMS["action"]),
}
# 调解安排: scheduled, moved and cancelled by the case's handling units (the rule of 记录调解).
SESSION_WRITES = {
    "sessions.schedule",
    "sessions.reschedule",
    "sessions.cancel",
    "sessions_api.DisputeSessions:POST",
    "sessions_api.SessionItem:PATCH",
    "sessions_api.SessionCancel",
}
NOT_FOR_COURT |= SESSION_WRITES
NOT_FOR_DISTRICT = {
    # The district's 综治中心 sees town A, but a town's month is closed (and a reopening asked for)
    # by the town's own 综治中心; the district decides on the reopening.
    "reports.close_month",
    "reports_api.MonthCloses:POST",
    "reports.reopen_request",
    "reports_api.ReopenRequests",
    # Follow-ups and 督办 replies are the assigned unit's.
    "followups.complete",
    "followups.reschedule",
    "followups_api.FollowUpCompletion",
    "followups_api.FollowUpRescheduling",
    "followups.reply",
    "followups_api.SupervisionReplying",
    "followups.read",
    "followups_api.NotificationRead",
    # An API token is revoked by its owner or the admin.
    "accounts.revoke_token",
    *SESSION_WRITES,
}
COURT_ACTIONS = {"apply_confirmation", "rule_confirmation"}  # Actor.COURT in the transition table
FLASH_REFUSALS = {  # web forms that answer a refused action with a redirect and an error message
    "followups.complete",
    "followups.reschedule",
    "followups.reply",
    "followups.supervise",
    "reports.supervise",
    "reports.close_month",
    "reports.reopen_request",
    "reports.reopen_decide",
    "workflow.act",
    "reports.carry_over",
    "sessions.schedule",
    "sessions.reschedule",
    "sessions.cancel",
}


def role_cases():
    cases = []
    for route in routes():
        for method in route.methods:
            roles = [
                r
                for r, table in (
                    ("court", NOT_FOR_COURT | NOT_FOR_COURT_OR_ADMIN),
                    ("admin", NOT_FOR_ADMIN | NOT_FOR_COURT_OR_ADMIN),
                    ("district", NOT_FOR_DISTRICT),
                )
                if spec(table, route, method)
            ]
            try:
                combos = param_choices(route) if roles else []
            except UnknownParameter:
                combos = []  # test_every_url_parameter_has_a_town_a_value names it
            for labels in combos:
                action = labels.get("action") or route.endpoint.removeprefix("workflow_api.")
                for role in roles:
                    if role == "court" and action in COURT_ACTIONS:
                        continue
                    cid = f"{role}-{method}-{route.rule}" + (f"[{label_of(labels)}]" if labels else "")
                    cases.append(pytest.param(route, method, labels, role, id=cid))
    return cases


def test_role_tables_name_real_endpoints():
    known = {r.endpoint for r in routes()} | {f"{r.endpoint}:{m}" for r in routes() for m in r.methods}
    tables = NOT_FOR_COURT | NOT_FOR_ADMIN | NOT_FOR_COURT_OR_ADMIN | NOT_FOR_DISTRICT | FLASH_REFUSALS
    if not has_endpoint("ledger.job"):  # the ledger area may land after this file
        tables = {e for e in tables if not e.startswith("ledger.")}
    assert not tables - known, sorted(tables - known)


@pytest.mark.parametrize(("route", "method", "labels", "role"), role_cases())
def test_role_rule_holds_inside_the_district(env, route, method, labels, role):
    query = spec(NODE_QUERY, route, method)(env) if spec(NODE_QUERY, route, method) else None
    values = resolve(env, route, labels)
    what = f"{role} {method} {url_for_route(route, values)}"
    r, flashes = send(env, route, method, values, role, query)
    check_unchanged(env, what)
    body = r.get_data(as_text=True)[:300]
    workflow = route.endpoint == "workflow.act" or route.endpoint.startswith(
        ("workflow_api.", "sessions_api.")
    )
    if r.status_code in (302, 303) and route.endpoint in FLASH_REFUSALS:
        assert any(c == "error" for c, _ in flashes), f"{what} → {r.status_code} without an error message"
    else:
        assert r.status_code in {403, 404} | ({409} if workflow else set()), (
            f"{what} → {r.status_code} {body}"
        )


# ------------------------------------------------------------------------------- coverage


def test_every_route_is_classified():
    """A new route is either object-scoped (it names an object in its URL) or listed above."""
    missing = [f"{m} {r.rule} ({r.endpoint})" for r in routes() for m in r.methods if kind_of(r, m) is None]
    assert not missing, (
        "未分类的路由（请在 tests/test_security_matrix.py 中说明它为何不针对对象）：\n" + "\n".join(missing)
    )


def test_every_url_parameter_has_a_town_a_value():
    unknown = []
    for r in routes():
        if r.endpoint in PUBLIC:
            continue
        try:
            param_choices(r)
        except UnknownParameter as err:
            unknown.append(str(err))
    assert not unknown, "\n".join(unknown)


def test_the_matrix_is_not_empty_and_covers_every_area():
    endpoints = {p.values[0].endpoint for p in town_cases()}
    for area in ("disputes", "workflow", "documents", "followups", "reports", "routing"):
        assert any(e.split(".")[0].removesuffix("_api") == area for e in endpoints), area
    assert len(town_cases()) > 300


def test_town_a_world_is_visible_to_town_a(env):
    """The control: the same objects are there for town A's own users (so the refusals above are
    refusals, not missing rows)."""
    w = env.world
    for path in (
        f"/api/v1/disputes/{env.open_id}",
        f"/api/v1/disputes/{env.closed_id}",
        f"/api/v1/agreements/{env.agreement_id}",
        f"/api/v1/followups/{env.followup_id}",
        f"/api/v1/supervisions/{env.order_id}",
    ):
        r = env.api.get(path, headers=w.mediator_a.headers)
        assert r.status_code == 200, (path, r.get_json())
    r = env.api.get(f"/api/v1/disputes/{env.open_id}", headers=w.mediator_a.headers)
    assert env.case_nos[0] in response_text(r) and "海滨甲某" in response_text(r)
    web = env.web_client("mediator_a")
    r = web.get(f"/disputes/{env.open_id}")
    assert r.status_code == 200 and "海滨甲某" in r.get_data(as_text=True)
    r = env.api.get(
        "/api/v1/reports/monthly",
        query_string={"node": env.town_a_code, "month": env.month},
        headers=w.center_user_a.headers,
    )
    assert r.status_code == 200 and r.get_json()["new"] == 2
    check_unchanged(env, "town A's own reads")


def test_fingerprint_sees_a_changed_row(env):
    """The control of "changes nothing": one changed value in one row is seen."""
    from sqlalchemy import update

    from mediation.disputes.models import Party

    assert fingerprint() == env.fingerprint
    db.session.execute(update(Party).where(Party.name == "海滨乙某").values(phone="13900000000"))
    db.session.commit()
    assert fingerprint() != env.fingerprint
    assert any(line.startswith("party:") for line in changes(env.baseline, snapshot()))
    db.session.execute(update(Party).where(Party.name == "海滨乙某").values(phone="022-25881234"))
    db.session.commit()
    assert fingerprint() == env.fingerprint


# Lists as town A's users see them: the case shows up, so its absence for town B above means something.
LIST_CONTROLS = {
    "disputes.index": "center_a",
    "disputes_api.Disputes:GET": "center_a",
    "disputes.export": "center_a",
    "followups.todo": "mediator_a",
    "followups_api.FollowUps": "mediator_a",
    "followups.supervisions": "center_a",
    "followups_api.Supervisions": "center_a",
}


@pytest.mark.parametrize("endpoint", sorted(LIST_CONTROLS))
def test_lists_show_town_a_to_town_a(env, endpoint):
    route = next(r for r in routes() if r.endpoint == endpoint.split(":")[0])
    method = endpoint.split(":")[1] if ":" in endpoint else "GET"
    role = LIST_CONTROLS[endpoint]
    shown = []
    for query in spec(LISTS, route, method)(env):
        r, _ = send(env, route, method, {}, role, query)
        assert r.status_code == 200, (endpoint, query, r.status_code)
        shown.append(bool(leaks(env, response_text(r))))
    assert any(shown), f"{endpoint}: town A's own user does not see the case either"
    check_unchanged(env, f"{role} {endpoint}")


# ------------------------------------------------------------------------------- the party role

# Tables a party's own requests write: its session (last seen), the codes and the outbox.
PARTY_TABLES = {"party_session", "party_code_failure", "sms_code", "sms_message"}


def _staff_changes(env) -> list[str]:
    return [line for line in changes(env.baseline, snapshot()) if line.split(":")[0] not in PARTY_TABLES]


def _rebaseline(env) -> None:
    env.baseline, env.fingerprint = snapshot(), fingerprint()


def test_party_session_reaches_no_staff_endpoint(env):
    """海滨甲某, signed in on the door of town A's open case, calls every staff route and method (a valid
    CSRF token of the party's browser, town A's objects in the URL, a valid body): the web sends them
    to the staff sign-in, the API answers 401; nothing of the case shows, no staff row changes."""
    party = party_client(env)
    assert party.get(f"/c/{env.case_code}/case").status_code == 200  # the control: the party's own page
    _rebaseline(env)
    refused = {401, 403, 404, 405}
    public = set(PUBLIC) | set(PUBLIC_API)
    checked = 0
    for route in routes():
        if route.endpoint in public or route.endpoint.startswith("parties."):
            continue
        values = resolve(env, route, param_choices(route)[0])
        path = url_for_route(route, values)
        for method in route.methods:
            data = None
            if route.api:
                r = party.open(path, method=method, json=json_body(env, route, method, values))
            else:
                if method == "POST":
                    data = {**form_body(env, route, method, values), "csrf_token": party.csrf}
                r = party.open(path, method=method, data=data)
            what = f"party {method} {path} → {r.status_code}"
            if r.status_code in (302, 303):
                assert r.headers["Location"].startswith("/login"), what
            else:
                assert r.status_code in refused, what
            assert not leaks(env, response_text(r)), what
            checked += 1
    take_flashes(party)
    assert checked > 100  # every staff route and method
    assert _staff_changes(env) == []
    _rebaseline(env)


def test_party_pages_need_a_session_of_that_case(env):
    """With a session of town A's open case, the closed case's pages send the party to that case's door;
    without a session only the door's forms answer."""
    party = party_client(env)
    anonymous = env.app.test_client()
    other = env.closed_case_code
    pages = ("case", "acceptance.pdf", "rejection.pdf", f"agreements/{env.agreement_id}.pdf")
    for client, code in ((party, other), (anonymous, env.case_code), (anonymous, other)):
        for page in pages:
            r = client.get(f"/c/{code}/{page}")
            assert r.status_code == 303 and r.headers["Location"] == f"/c/{code}", (code, page, r.status_code)
        r = client.get(f"/c/{code}")
        assert r.status_code == 200 and not leaks(env, response_text(r)), code
    r = anonymous.get("/c/")
    assert r.status_code == 200 and not leaks(env, response_text(r))
    assert party.get(f"/c/{env.case_code}/case").status_code == 200
    _rebaseline(env)


# On PostgreSQL the function-scoped ``app`` fixture below empties the tables the module's ``env`` uses:
# the tests that use ``env`` come before it.
# ------------------------------------------------------- data of town A inside town B's own cases


def test_duplicate_warning_on_a_town_b_case_does_not_name_town_a_cases(client, world):
    """The 疑似重复 warning names the similar cases its reader may see. The district's 综治中心 sees
    both towns, so it is told the town-A case number when it registers the same parties in town B;
    but the warning is also written on the new case's timeline, which town B's users read: there the
    town-A case is only counted."""
    from tests.factories import dispute_payload

    def register(who, node_code):
        payload = dispute_payload(node_code)
        payload["parties"][0]["name"], payload["parties"][1]["name"] = "海滨甲某", "海滨乙某"
        r = client.post("/api/v1/disputes", json=payload, headers=who.headers)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    town_a_case = register(world.center_user_a, world.grid_a.code)
    town_b_case = register(world.district_staff, world.grid_b.code)
    assert any(town_a_case["case_no"] in w for w in town_b_case["warnings"])  # the district sees both

    r = client.get(f"/api/v1/disputes/{town_b_case['id']}", headers=world.center_user_b.headers)
    assert r.status_code == 200
    notes = [e.get("note") or "" for e in r.get_json()["events"]]
    assert any("其他单位已登记1件" in n for n in notes), notes
    assert not any(town_a_case["case_no"] in n for n in notes), notes
