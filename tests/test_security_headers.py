"""Security headers on every response, the session cookie's flags, and pages without remote sources.

Every GET route of ``app.url_map`` is opened by a town-A user who may open it (and the public pages
without signing in): each answer — page, JSON, PDF, spreadsheet, image, error page — carries
``X-Content-Type-Options: nosniff``, a frame restriction (``X-Frame-Options`` or CSP
``frame-ancestors``) and a ``Referrer-Policy`` that keeps URLs (which hold case ids) on the site; every
HTML answer has a Content-Security-Policy that names no remote source and allows no inline script
(script-src without 'unsafe-inline'), and loads no script, style, image or frame from elsewhere and
has no inline script or on…= handler. Every answer but the static files is ``Cache-Control: no-store``. The session cookie is HttpOnly and SameSite=Lax (Secure in production).

Sign-in is rate-limited: tests/test_auth.py::test_login_is_rate_limited (not repeated here).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mediation.config import build_config
from mediation.extensions import db
from mediation.sms.models import SmsMessage
from tests.conftest import csrf_token
from tests.security_support import (
    PARTY_PHONE,
    label_of,
    param_choices,
    party_client,
    resolve,
    routes,
    security_env,
    url_for_route,
)

SAFE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
LOCAL_SOURCES = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}
OPEN_AS = {  # who opens the page (may open it); None: not signed in
    "routing": "admin",
    "documents.seals": "admin",
    "documents.seal_image": "admin",
    "reports": "center_a",
    "routing_api.RoutingRules": "center_a",
    "ledger": "center_a",
    "reports_api": "center_a",
    "accounts.login": None,
    "parties": None,  # the parties' door, opened without a session (with one: test below)
    "documents.verify_start": None,
    "documents.verify_page": None,
    "static": None,
    "health.healthz": None,
    "api-docs": None,
    "swagger_assets": None,
}
OTHER_PARAMS = {"code": "ZZZZ-ZZZZ-ZZZZ", "filename": "swagger-ui.css"}
STATIC = {"static": "app.css"}
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
CACHEABLE = {"static", "swagger_assets"}  # the same files for everyone
REMOTE_ASSET = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*"
    r"\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//",
    re.I,
)


def opener(route) -> str | None:
    for key in (route.endpoint, route.endpoint.split(".")[0]):
        if key in OPEN_AS:
            return OPEN_AS[key]
    return "mediator_a"


def get_cases():
    cases = []
    for route in routes():
        if "GET" not in route.methods:
            continue
        try:
            labels = param_choices(route)[0]
        except LookupError:
            labels = None  # public routes with their own parameters
        cases.append(
            pytest.param(route, labels, id=f"{route.rule}" + (f"[{label_of(labels)}]" if labels else ""))
        )
    return cases


@pytest.fixture(scope="module")
def env(_pg_schema, tmp_path_factory):
    with security_env(tmp_path_factory.mktemp("security-headers"), _pg_schema) as env:
        yield env


def query_for(env, route) -> dict | None:
    if route.endpoint.startswith("reports") and route.endpoint not in ("reports.screening",):
        return {"node": env.town_a_code, "month": env.month}
    return None


def check_headers(r, what: str, cacheable: bool = False) -> None:
    h = r.headers
    if not cacheable:  # pages, API answers, downloads and errors may hold personal data
        assert "no-store" in (h.get("Cache-Control") or ""), (what, h.get("Cache-Control"))
    assert h.get("X-Content-Type-Options") == "nosniff", what
    csp = h.get("Content-Security-Policy", "")
    frame_ancestors = re.search(r"frame-ancestors\s+([^;]+)", csp)
    assert h.get("X-Frame-Options") in ("DENY", "SAMEORIGIN") or (
        frame_ancestors and set(frame_ancestors.group(1).split()) <= {"'self'", "'none'"}
    ), what
    assert h.get("Referrer-Policy") in SAFE_REFERRER, (what, h.get("Referrer-Policy"))
    if r.mimetype == "text/html":
        assert csp, f"{what}: HTML without Content-Security-Policy"
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert "default-src" in directives, csp
        for name, sources in directives.items():
            remote = [s for s in sources if s not in LOCAL_SOURCES]
            assert not remote, f"{what}: CSP {name} names remote sources {remote}"
        scripts = directives.get("script-src", directives["default-src"])
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, f"{what}: {csp}"
        body = r.get_data(as_text=True)
        inline = INLINE_SCRIPT.findall(body) + EVENT_HANDLER.findall(body)
        assert not inline, f"{what}: inline script, blocked by the CSP: {inline[:3]}"
        assets = REMOTE_ASSET.findall(body)
        assert not assets, f"{what}: loads from elsewhere: {assets[:3]}"


@pytest.mark.parametrize(("route", "labels"), get_cases())
def test_every_get_response_has_the_security_headers(env, route, labels):
    if labels is None:
        values = {n: STATIC.get(route.endpoint) or OTHER_PARAMS[n] for n in route.arguments}
    else:
        values = resolve(env, route, labels)
    path = url_for_route(route, values)
    who = opener(route)
    if route.api and who is not None:
        r = env.api.get(path, headers=env.users[who].headers, query_string=query_for(env, route))
    else:
        client = env.web_client(who) if who else env.app.test_client()
        r = client.get(path, query_string=query_for(env, route))
    what = f"{who or '未登录'} GET {path} → {r.status_code} {r.mimetype}"
    assert r.status_code < 500, what
    check_headers(r, what, cacheable=route.endpoint in CACHEABLE)


def test_pages_that_matter_were_opened_not_refused(env):
    """The control of the test above: the pages answered as pages, not as error pages."""
    web = env.web_client("mediator_a")
    for path in (f"/disputes/{env.open_id}", "/disputes/", f"/agreements/{env.agreement_id}", "/followups/"):
        r = web.get(path)
        assert r.status_code == 200 and r.mimetype == "text/html", path
        check_headers(r, path)
    r = env.web_client("center_a").get(
        "/reports/", query_string={"node": env.town_a_code, "month": env.month}
    )
    assert r.status_code == 200 and "<svg" in r.get_data(as_text=True)
    r = env.app.test_client().get("/api/v1/docs")
    assert r.status_code == 200 and "swagger" in r.get_data(as_text=True).lower()
    check_headers(r, "/api/v1/docs")


def test_party_pages_have_the_security_headers(env):
    """The parties' door with a party session (its page, a PDF, a refused PDF) and without one (the
    forms, their refusals): the same headers as every page."""
    code = env.case_code
    party = party_client(env)
    for path, status, mimetype in (
        (f"/c/{code}/case", 200, "text/html"),
        (f"/c/{code}/acceptance.pdf", 200, "application/pdf"),
        (f"/c/{code}/rejection.pdf", 404, "text/html"),
        (f"/c/{code}", 303, None),
        ("/c/", 200, "text/html"),
    ):
        r = party.get(path)
        assert r.status_code == status and (mimetype is None or r.mimetype == mimetype), (path, r.status_code)
        check_headers(r, f"party GET {path}")
    anonymous = env.app.test_client()
    for path in (f"/c/{code}", "/c/ZZZZZ-ZZZZZ"):
        r = anonymous.get(path)
        assert r.status_code == 200
        check_headers(r, f"GET {path}")
    door = f"/c/{env.closed_case_code}"
    token = csrf_token(anonymous, door)
    for path, data, status in (
        (door, {"phone": "123"}, 422),
        (door, {"phone": "13700000000"}, 200),
        (f"{door}/verify", {"phone": PARTY_PHONE, "code": "000000"}, 422),
    ):
        r = anonymous.post(path, data={**data, "csrf_token": token})
        assert r.status_code == status, (path, r.status_code)
        check_headers(r, f"POST {path}")


def test_party_cookie_is_httponly_samesite_lax_on_the_party_path(env):
    client = env.app.test_client()
    door = f"/c/{env.closed_case_code}"
    client.post(door, data={"phone": PARTY_PHONE, "csrf_token": csrf_token(client, door)})
    code = db.session.scalar(
        select(SmsMessage.params)
        .where(SmsMessage.phone == PARTY_PHONE, SmsMessage.template == "verify_code")
        .order_by(SmsMessage.id.desc())
    )["code"]
    r = client.post(
        f"{door}/verify", data={"phone": PARTY_PHONE, "code": code, "csrf_token": csrf_token(client, door)}
    )
    assert r.status_code == 303
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("party_session="))
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and flags["samesite"].lower() == "samesite=lax", cookie
    assert flags["path"].lower() == "path=/c/", cookie
    assert "expires" not in flags and "max-age" not in flags  # the server ends it (idle, maximum)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/disputes", 401),  # no token
        ("GET", "/api/v1/disputes/999999", 404),
        ("POST", "/api/v1/disputes", 422),
        ("DELETE", "/api/v1/disputes", 405),
        ("GET", "/disputes/999999", 404),
        ("GET", "/no-such-page", 404),
        ("PUT", "/login", 405),
    ],
)
def test_error_responses_have_the_security_headers(env, method, path, status):
    headers = {} if status == 401 else env.users["mediator_a"].headers
    client = env.api if path.startswith("/api/") else env.web_client("mediator_a")
    r = client.open(path, method=method, headers=headers, json={} if method == "POST" else None)
    assert r.status_code == status
    check_headers(r, f"{method} {path} → {status}")


def test_session_cookie_is_httponly_and_samesite_lax(env):
    from tests.conftest import login

    client = env.app.test_client()
    r = login(client, "mediator_a")
    assert r.status_code == 302
    cookies = [
        c
        for c in r.headers.getlist("Set-Cookie")
        if c.startswith(env.app.config["SESSION_COOKIE_NAME"] + "=")
    ]
    assert cookies, r.headers
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[-1].split(";")[1:]}
    assert "httponly" in flags and flags["samesite"].lower() == "samesite=lax", cookies[-1]
    assert "expires" not in flags and "max-age" not in flags  # a browser-session cookie (remember=False)


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("PUBLIC_URL", "https://tiaojie.example.gov.cn")
    cfg = build_config(tmp_path)
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        build_config(tmp_path)  # no made-up key in production


# ------------------------------------------------------------------ redirects stay on the site


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/\\evil.example/x",
        "/\\/evil.example",
        "/\t/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\n/evil.example",
    ],
)
def test_sign_in_never_redirects_off_site(env, target):
    from tests.conftest import csrf_token

    client = env.app.test_client()
    token = csrf_token(client, "/login")
    r = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "grid_a", "password": "password123", "csrf_token": token},
    )
    if any(ord(c) < 32 for c in target):  # a control character in a query argument is refused outright
        assert r.status_code == 422 and "Location" not in r.headers
        return
    assert r.status_code == 302
    assert r.headers["Location"] == "/worklist/", (target, r.headers["Location"])


def test_sign_in_follows_a_path_on_the_site(env):
    from tests.conftest import csrf_token

    client = env.app.test_client()
    token = csrf_token(client, "/login")
    r = client.post(
        "/login",
        query_string={"next": f"/disputes/{env.open_id}?tab=documents"},
        data={"username": "grid_a", "password": "password123", "csrf_token": token},
    )
    assert r.headers["Location"] == f"/disputes/{env.open_id}?tab=documents"


@pytest.mark.parametrize(
    ("target", "local"),
    [
        ("/disputes/", True),
        ("/reports/close?node=1&month=2026-10", True),
        ("/", True),
        ("", False),
        (None, False),
        ("disputes/", False),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("/\t/evil.example", False),
        ("/\r\n/evil.example", False),
        ("https://evil.example", False),
        ("/ /evil.example", True),  # a space is kept in the path: /%20/evil.example on this site
    ],
)
def test_is_local_path(target, local):
    from mediation.common.urls import is_local_path

    assert is_local_path(target) is local
