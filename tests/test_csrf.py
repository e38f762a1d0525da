"""CSRF on every form, and API routes that ignore the browser's session.

Every web route accepting POST (from ``app.url_map``) is called by a signed-in user whose role may do
what the form does, with a body it would accept — but without the CSRF token, or with a forged one:
the answer is 400 and no row of any table changes. The API blueprints are exempt from CSRF because
they accept bearer tokens only: a signed-in browser session without a bearer token gets 401 from
every API route, so a cross-site request riding on the session cookie can do nothing there.
"""

from __future__ import annotations

import pytest

from mediation.common.enums import Role
from tests.security_support import (
    PUBLIC_API,
    UnknownParameter,
    changes,
    fingerprint,
    form_body,
    json_body,
    label_of,
    param_choices,
    resolve,
    routes,
    security_env,
    snapshot,
    take_flashes,
    url_for_route,
)

# Who may do what the form does (town A); anyone else would be refused before CSRF mattered.
ROLE_FOR = {
    "routing": "admin",
    "documents.seals": "admin",
    "reports.close_month": "center_a",
    "reports.carry_over": "center_a",
    "reports.reopen_request": "center_a",
    "reports.reopen_decide": "district",
    "reports.supervise": "center_a",
    "reports.screening": "grid_a",
    "followups.supervise": "center_a",
    "ledger": "center_a",
    "accounts.login": None,
    "documents.verify_start": None,
    "documents.verify_page": None,  # no sign-in
    "applications": None,  # 网上申请调解: the public form
}
CENTER_ACTIONS = {"route", "escalate", "notify_police", "refuse_application"}
OTHER_PARAMS = {"code": "ZZZZ-ZZZZ-ZZZZ"}  # a verification code (public pages)


def role_for(route, values) -> str | None:
    if route.endpoint == "workflow.act":
        return "center_a" if values["action"] in CENTER_ACTIONS else "mediator_a"
    for key in (route.endpoint, route.endpoint.split(".")[0]):
        if key in ROLE_FOR:
            return ROLE_FOR[key]
    return "mediator_a"


def combos(route):
    try:
        return param_choices(route)
    except UnknownParameter:
        return [{}]  # public pages with their own parameters (OTHER_PARAMS)


def web_post_cases():
    cases = []
    for route in routes():
        if route.api or "POST" not in route.methods:
            continue
        for labels in combos(route):
            for token in ("missing", "forged"):
                cid = f"{token}-{route.rule}" + (f"[{label_of(labels)}]" if labels else "")
                cases.append(pytest.param(route, labels, token, id=cid))
    return cases


@pytest.fixture(scope="module")
def env(_pg_schema, tmp_path_factory):
    with security_env(tmp_path_factory.mktemp("security-csrf"), _pg_schema) as env:
        yield env


def unchanged(env, what: str) -> None:
    if fingerprint() != env.fingerprint:
        now = snapshot()
        diff = changes(env.baseline, now)
        env.baseline, env.fingerprint = now, fingerprint()
        pytest.fail(f"{what} 修改了数据：\n" + "\n".join(diff))


@pytest.mark.parametrize(("route", "labels", "token"), web_post_cases())
def test_form_without_csrf_token_is_refused(env, route, labels, token):
    values = resolve(env, route, labels) if labels else {n: OTHER_PARAMS[n] for n in route.arguments}
    path = url_for_route(route, values)
    role = role_for(route, values)
    client = env.web_client(role) if role else env.app.test_client()
    data = form_body(env, route, "POST", values)
    if token == "forged":
        data["csrf_token"] = "IjAxMjM0NTY3ODlhYmNkZWYi.forged.signature"
    r = client.post(path, data=data)
    assert r.status_code == 400, f"{role} POST {path} → {r.status_code}: {r.get_data(as_text=True)[:300]}"
    assert "请求无效" in r.get_data(as_text=True)
    unchanged(env, f"{role} POST {path} without a valid CSRF token")
    if role:  # still signed in: the refused request did not end the session (/logout included)
        assert client.get("/disputes/").status_code == 200


def test_every_web_form_is_covered():
    posts = {r.endpoint for r in routes() if not r.api and "POST" in r.methods}
    covered = {p.values[0].endpoint for p in web_post_cases()}
    assert posts == covered and len(posts) > 30


def test_the_same_form_with_its_token_goes_through(env):
    """The control: the 400 above is the missing token, not the form. With the token, marking a
    notification read and the 督办 reply are done (and the baseline moves on)."""
    from mediation.extensions import db
    from mediation.followups.models import Notification, SupervisionOrder

    client = env.web_client("mediator_a")
    r = client.post(f"/notifications/{env.notification_id}/read", data={"csrf_token": client.csrf})
    assert r.status_code == 302
    r = client.post(
        f"/supervisions/{env.order_id}/reply", data={"reply": "已约谈双方。", "csrf_token": client.csrf}
    )
    assert r.status_code == 302 and ("success", "督办回复已提交。") in take_flashes(client)
    db.session.expire_all()
    assert db.session.get(Notification, env.notification_id).read_at is not None
    assert db.session.get(SupervisionOrder, env.order_id).reply == "已约谈双方。"
    env.baseline, env.fingerprint = snapshot(), fingerprint()


# ---------------------------------------------------------------------------- the API


def api_cases():
    cases = []
    for route in routes():
        if not route.api or route.endpoint in PUBLIC_API:
            continue
        for method in route.methods:
            labels = combos(route)[0]
            cases.append(pytest.param(route, method, labels, id=f"{method}-{route.rule}"))
    return cases


@pytest.mark.parametrize(("route", "method", "labels"), api_cases())
def test_api_ignores_the_session_cookie(env, route, method, labels):
    """A signed-in browser (town A's mediator, who may see all of it) without a bearer token: 401,
    even with the page's CSRF token in a header, and nothing changes."""
    values = resolve(env, route, labels)
    path = url_for_route(route, values)
    client = env.web_client("mediator_a")
    body = json_body(env, route, method, values)
    r = client.open(
        path,
        method=method,
        json=body,
        headers={"X-CSRFToken": client.csrf},
        query_string={"node": env.town_a_code, "month": env.month},
    )
    assert r.status_code == 401, f"{method} {path} → {r.status_code}: {r.get_data(as_text=True)[:300]}"
    assert r.is_json and r.get_json()["message"]
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    unchanged(env, f"session-only {method} {path}")


def test_api_with_the_bearer_token_answers(env):
    """The control: the same user's bearer token opens what the session cookie does not."""
    mediator = env.users["mediator_a"]
    assert mediator.user.role == Role.MEDIATOR
    r = env.api.get(f"/api/v1/disputes/{env.open_id}", headers=mediator.headers)
    assert r.status_code == 200 and r.get_json()["case_no"] == env.case_nos[0]
