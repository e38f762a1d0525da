"""Accounts, sessions and tokens (issue 11): deactivation, token revocation and expiry, password change,
server-side sign-out, the password policy, the sign-in lockout per (account, address) and the equal
work for unknown accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mediation import create_app
from mediation.accounts import models as account_models
from mediation.accounts.models import ApiToken, LoginAttempt, User, UserSession
from mediation.accounts.passwords import common_passwords, password_problems
from mediation.clock import real_now
from mediation.demo import DEMO_PASSWORD
from mediation.extensions import db
from tests.conftest import IsolatedClient, csrf_token, login
from tests.test_migrations import fresh_url  # noqa: F401  (fixture)

NEW_PASSWORD = "Qiao-Liang#2026"


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def signed_in(app, username: str, ip: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    r = login(client, username)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def web_ok(client) -> bool:
    """True when the client's cookie still opens a page; a refused one is sent to the sign-in page."""
    r = client.get("/disputes/")
    if r.status_code == 302:
        assert "/login" in r.headers["Location"]
        return False
    assert r.status_code == 200
    return True


def api_status(app, headers) -> int:
    return app.test_client().get("/api/v1/ping", headers=headers).status_code


def user_row(username: str) -> User:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.username == username))


def token_count(user_id: int, *, valid: bool) -> int:
    stmt = select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
    if valid:
        stmt = stmt.where(ApiToken.revoked.is_(False))
    return db.session.scalar(stmt)


# --------------------------------------------------------------------------- deactivate, revoke-tokens


def test_deactivate_ends_sessions_and_tokens_at_once(app, world):
    web = signed_in(app, "mediator_a")
    other = signed_in(app, "mediator_b")
    assert web_ok(web) and api_status(app, world.mediator_a.headers) == 200

    result = cli(app, "user", "deactivate", "mediator_a")
    assert result.exit_code == 0, result.output
    assert "已停用" in result.output

    assert not web_ok(web)  # the very next request
    assert api_status(app, world.mediator_a.headers) == 401
    assert web_ok(other) and api_status(app, world.mediator_b.headers) == 200  # nobody else
    assert login(app.test_client(), "mediator_a").status_code == 401

    # Activated again, the old cookie and token stay dead: they were ended, not just suspended.
    assert cli(app, "user", "activate", "mediator_a").exit_code == 0
    assert not web_ok(web)
    assert api_status(app, world.mediator_a.headers) == 401
    assert web_ok(signed_in(app, "mediator_a"))

    assert cli(app, "user", "deactivate", "nobody").exit_code == 1


def test_revoke_tokens_command(app, world):
    web = signed_in(app, "mediator_a")
    result = cli(app, "user", "revoke-tokens", "mediator_a")
    assert result.exit_code == 0, result.output
    assert "撤销 1 个" in result.output
    assert api_status(app, world.mediator_a.headers) == 401
    assert api_status(app, world.mediator_b.headers) == 200
    assert web_ok(web)  # the web session is not a token
    # A new token works again.
    result = cli(app, "user", "token", "mediator_a")
    token = result.output.rstrip("\n").splitlines()[-1]
    assert api_status(app, {"Authorization": f"Bearer {token}"}) == 200


# --------------------------------------------------------------------------------- password change


def change_password(client, current, new, confirm=None):
    token = csrf_token(client, "/account/password")
    return client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_password_change_on_the_web_ends_other_sessions_and_all_tokens(app, world):
    here = signed_in(app, "mediator_a")
    elsewhere = signed_in(app, "mediator_a", ip="10.1.1.1")
    colleague = signed_in(app, "mediator_b")
    _, second_token = ApiToken.issue(world.mediator_a.user)
    db.session.commit()

    r = change_password(here, "password123", NEW_PASSWORD)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert "密码已修改" in here.get(r.headers["Location"]).get_data(as_text=True)

    assert web_ok(here)  # this browser stays signed in
    assert not web_ok(elsewhere)
    assert api_status(app, world.mediator_a.headers) == 401
    assert api_status(app, {"Authorization": f"Bearer {second_token}"}) == 401
    assert web_ok(colleague) and api_status(app, world.mediator_b.headers) == 200

    assert login(app.test_client(), "mediator_a", "password123").status_code == 401
    assert login(app.test_client(), "mediator_a", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("wrong-password", NEW_PASSWORD, None, "current_password", "当前密码不正确"),
        ("password123", "short", None, "new_password", "密码至少10位"),
        ("password123", "alllowercase", None, "new_password", "至少3类"),
        ("password123", "Mediator_A-2026", None, "new_password", "不能包含用户名"),
        ("password123", "Password@123", None, "new_password", "常见密码"),
        ("password123", NEW_PASSWORD, NEW_PASSWORD + "x", "confirm_password", "两次输入的新密码不一致"),
    ],
)
def test_password_change_refuses_with_a_chinese_message_beside_the_field(
    app, world, current, new, confirm, field, message
):
    client = signed_in(app, "mediator_a")
    r = change_password(client, current, new, confirm)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="err-{field}"' in html and message in html
    # Nothing changed: the old password, the session and the token still work.
    assert web_ok(client) and api_status(app, world.mediator_a.headers) == 200
    assert user_row("mediator_a").check_password("password123")


def test_password_page_requires_sign_in_and_is_linked_from_the_header(app, world):
    r = app.test_client().get("/account/password")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    client = signed_in(app, "mediator_a")
    html = client.get("/disputes/").get_data(as_text=True)
    assert 'href="/account/password"' in html
    page = client.get("/account/password").get_data(as_text=True)
    assert "至少10位" in page and 'href="/account/tokens"' in page


def test_cli_user_create_with_a_new_password_is_a_password_change(app, world):
    web = signed_in(app, "mediator_a")
    # The same password (updating role or unit only) ends nothing.
    args = ["user", "create", "mediator_a", "--role", "mediator", "--unit", "TW-A"]
    assert cli(app, *args, "--password", "password123").exit_code == 0
    assert web_ok(web) and api_status(app, world.mediator_a.headers) == 200

    result = cli(app, *args, "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    assert not web_ok(web)
    assert api_status(app, world.mediator_a.headers) == 401
    assert login(app.test_client(), "mediator_a", NEW_PASSWORD).status_code == 302


def test_cli_user_create_checks_the_policy_and_saves_nothing(app, world):
    result = cli(
        app, "user", "create", "newbie", "--role", "mediator", "--unit", "TW-A", "--password", "password123"
    )
    assert result.exit_code == 1
    assert "至少3类" in result.stderr and "常见密码" in result.stderr
    assert user_row("newbie") is None
    # An existing account keeps its password when the new one is refused.
    result = cli(
        app,
        "user",
        "create",
        "mediator_a",
        "--role",
        "mediator",
        "--unit",
        "TW-A",
        "--password",
        "mediator_a-Pass1",
    )
    assert result.exit_code == 1 and "不能包含用户名" in result.stderr
    assert user_row("mediator_a").check_password("password123")
    assert api_status(app, world.mediator_a.headers) == 200


# ---------------------------------------------------------------------------------- sign-out


def test_a_cookie_replayed_after_sign_out_is_refused(app, world):
    client = signed_in(app, "mediator_a")
    cookie = client.get_cookie("session").value
    second = signed_in(app, "mediator_a")  # another browser of the same person

    r = client.post("/logout", data={"csrf_token": csrf_token(client, "/disputes/")})
    assert r.status_code == 302
    assert not web_ok(client)

    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert not web_ok(thief)
    assert web_ok(second)  # signing out here does not sign out the other browser


def test_sign_out_holds_in_every_web_process(app, world, db_url, tmp_path):
    """Two application objects on one database stand for two gunicorn workers."""
    other_app = create_app(
        {
            **{k: app.config[k] for k in ("SECRET_KEY", "PASSWORD_HASH_METHOD")},
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db_url,
            "INSTANCE_DIR": str(tmp_path),
        }
    )
    other_app.test_client_class = IsolatedClient
    client = signed_in(app, "mediator_a")
    cookie = client.get_cookie("session").value
    with other_app.app_context():
        replay = other_app.test_client()
        replay.set_cookie("session", cookie)
        assert web_ok(replay)  # the same cookie works in the other worker …
    client.post("/logout", data={"csrf_token": csrf_token(client, "/disputes/")})
    with other_app.app_context():
        assert not web_ok(replay)  # … until it is signed out in the first
        db.session.remove()
        db.engine.dispose()


def test_a_session_ends_after_session_max_hours(app, world):
    client = signed_in(app, "mediator_a")
    assert web_ok(client)
    hours = app.config["SESSION_MAX_HOURS"]
    db.session.execute(update(UserSession).values(created_at=real_now() - timedelta(hours=hours, minutes=1)))
    db.session.commit()
    assert not web_ok(client)


def test_sign_in_clears_the_accounts_finished_sessions(app, world):
    for _ in range(3):
        client = signed_in(app, "mediator_a")
        client.post("/logout", data={"csrf_token": csrf_token(client, "/disputes/")})
    signed_in(app, "mediator_a")
    db.session.rollback()
    rows = db.session.scalars(select(UserSession)).all()
    assert len(rows) == 1 and rows[0].ended_at is None


# ----------------------------------------------------------------------------------- tokens


def test_token_expiry(app, world):
    app.config["API_TOKEN_DAYS"] = 30
    result = cli(app, "user", "token", "court")
    assert result.exit_code == 0, result.output
    token = result.output.rstrip("\n").splitlines()[-1]
    assert token.startswith("med_") and " " not in token
    assert "30 天后" in result.output
    db.session.rollback()
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == account_models.hash_token(token)))
    assert abs(row.expires_at - (real_now() + timedelta(days=30))) < timedelta(minutes=1)
    headers = {"Authorization": f"Bearer {token}"}
    assert api_status(app, headers) == 200

    row.expires_at = real_now() - timedelta(seconds=1)
    db.session.commit()
    assert api_status(app, headers) == 401
    assert api_status(app, world.court_user.headers) == 200  # the other token of the same user


def test_my_tokens_page_lists_and_revokes_own_tokens_only(app, world):
    mine = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.mediator_a.user.id))
    theirs = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.mediator_b.user.id))
    mine_id, theirs_id = mine.id, theirs.id
    client = signed_in(app, "mediator_a")
    html = client.get("/account/tokens").get_data(as_text=True)
    assert "我的令牌" in html and world.mediator_a.token[:10] in html
    assert world.mediator_b.token[:10] not in html
    assert world.mediator_a.token not in html and mine.token_hash not in html  # never the token itself
    assert ">有效</span>" in html

    csrf = csrf_token(client, "/account/tokens")
    assert client.post(f"/account/tokens/{theirs_id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert api_status(app, world.mediator_b.headers) == 200
    assert client.get("/admin/tokens").status_code == 403

    r = client.post(f"/account/tokens/{mine_id}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/tokens")
    assert api_status(app, world.mediator_a.headers) == 401
    assert "已撤销" in client.get("/account/tokens").get_data(as_text=True)


def test_admin_lists_and_revokes_anyones_token(app, world):
    theirs = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.mediator_b.user.id))
    theirs_id = theirs.id
    admin = signed_in(app, "admin")
    html = admin.get("/admin/tokens").get_data(as_text=True)
    assert "令牌管理" in html and "mediator_b" in html and world.mediator_b.token[:10] in html
    assert "court" in html
    narrowed = admin.get("/admin/tokens?user=mediator_b").get_data(as_text=True)
    assert world.mediator_b.token[:10] in narrowed and world.court_user.token[:10] not in narrowed

    csrf = csrf_token(admin, "/admin/tokens")
    r = admin.post(
        f"/account/tokens/{theirs_id}/revoke",
        data={"csrf_token": csrf, "next": "/admin/tokens?user=mediator_b"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/tokens?user=mediator_b")
    assert api_status(app, world.mediator_b.headers) == 401
    assert api_status(app, world.court_user.headers) == 200


# ------------------------------------------------------------------------------ password policy


@pytest.mark.parametrize(
    "password",
    [
        "password123",
        "12345678910",
        "qwertyuiop",
        "admin12345",
        "Password@123",
        "P@ssw0rd123",
        "1qaz2wsx3edc",
        "Woaini1314!",
        "Admin@2024",
    ],
)
def test_common_passwords_are_refused(password):
    assert password.lower() in common_passwords()
    assert "这是常见密码，容易被猜中，请换一个。" in password_problems(password, "someone")


def test_password_policy_rules():
    assert password_problems("Tiaojie@2026", "tiaojieyuan") == []
    assert password_problems(NEW_PASSWORD, "mediator_a") == []
    assert password_problems("Ab1-" * 2, "x") == ["密码至少10位（现在8位）。"]
    assert password_problems("abcdefghXY", "x") == [
        "密码须包含大写字母、小写字母、数字、符号中的至少3类（现在只有：小写字母、大写字母）。"
    ]
    assert password_problems("调解调解调解-abc9", "x") == []  # Chinese characters count as symbols
    assert password_problems("Zhang.San-99", "zhang.san") == ["密码不能包含用户名。"]
    assert password_problems("ZHANG.san-99x", "Zhang.San") == ["密码不能包含用户名。"]
    assert password_problems("A" * 100 + "b1" * 20, "x") == ["密码不能超过128位。"]


def test_the_demo_password_meets_the_policy():
    from mediation.demo import DEMO_USERS

    for username, *_ in DEMO_USERS:
        assert password_problems(DEMO_PASSWORD, username) == [], username


# ------------------------------------------------------------------------------------- lockout


def test_lockout_is_per_account_and_address(app, world):
    limit = app.config["LOGIN_MAX_FAILURES"]
    office = "10.20.30.40"
    typist = app.test_client()
    typist.environ_base["REMOTE_ADDR"] = office
    for _ in range(limit):
        assert login(typist, "mediator_a", "typo-typo").status_code == 401
    assert login(typist, "mediator_a").status_code == 429  # locked, even with the right password

    # The rest of the office (same public address) signs in; so does the same person elsewhere.
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = office
    assert login(colleague, "center_a").status_code == 302
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.99.0.1"
    assert login(elsewhere, "mediator_a").status_code == 302


def test_address_ceiling_stops_password_spraying(app, world):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 8
    sprayer = app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    names = ["admin", "court", "center_a", "center_b", "mediator_a", "mediator_b", "grid_a", "qu_center"]
    for name in names:  # one guess per account: no pair reaches LOGIN_MAX_FAILURES
        assert login(sprayer, name, "Password@123").status_code == 401
    assert login(sprayer, "mediator_b").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    assert login(other, "mediator_b").status_code == 302


def test_a_successful_sign_in_clears_only_its_own_pairs_failures(app, world):
    office = "10.20.30.40"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = office
    login(client, "mediator_a", "typo-typo")
    login(client, "center_a", "typo-typo")
    assert login(client, "mediator_a").status_code == 302
    db.session.rollback()
    left = db.session.scalars(select(LoginAttempt.username)).all()
    assert left == ["center_a"]


# ----------------------------------------------------------------------- equal work for unknown users


@pytest.fixture
def hash_calls(monkeypatch):
    calls = []
    real = account_models.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(account_models, "check_password_hash", counting)
    return calls


def test_unknown_and_deactivated_accounts_cost_one_password_hash_like_known_ones(app, world, hash_calls):
    world.grid_a_user.user.active = False
    db.session.commit()
    method = app.config["PASSWORD_HASH_METHOD"]
    for username in ("mediator_a", "no_such_user", "grid_a"):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.7.0.{len(hash_calls) + 1}"
        hash_calls.clear()
        r = login(client, username, "wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
        assert len(hash_calls) == 1, username
        assert hash_calls[0].startswith(method.split(":")[0] + ":"), (
            hash_calls
        )  # the same method, so the same work
    hash_calls.clear()
    assert login(app.test_client(), "grid_a").status_code == 401  # right password, deactivated: refused
    assert len(hash_calls) == 1


# ------------------------------------------------------------------------------------ migration


def test_migration_gives_existing_tokens_an_expiry_from_the_upgrade(fresh_url):  # noqa: F811
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="8ffe0e8cf7d8")
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO node (id, code, name, level, path) VALUES (1, '1', '海滨区', '区', '/1/')")
            )
            conn.execute(
                text("INSERT INTO unit (id, code, name, type, node_id) VALUES (1, 'U', '单位', '其他', 1)")
            )
            conn.execute(
                text(
                    "INSERT INTO user_account (id, username, display_name, password_hash, role, unit_id, "
                    "active, created_at) VALUES (1, 'old', '', 'x', 'admin', 1, true, '2025-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_token (id, user_id, token_hash, created_at, revoked) "
                    "VALUES (1, 1, 'abc', '2025-01-01 00:00:00', false)"
                )
            )
        upgrade()
        with db.engine.begin() as conn:
            hint, expires_at = conn.execute(text("SELECT hint, expires_at FROM api_token")).one()
        if isinstance(expires_at, str):  # SQLite
            from datetime import datetime

            expires_at = datetime.fromisoformat(expires_at)
        assert hint == ""
        assert abs(expires_at - (real_now() + timedelta(days=180))) < timedelta(minutes=5)
        downgrade(revision="8ffe0e8cf7d8")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT token_hash FROM api_token")).scalar_one() == "abc"
        db.engine.dispose()
