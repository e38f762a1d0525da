"""Sign-in: hashed passwords, CSRF on the form, rate limiting, safe redirects."""

from __future__ import annotations

from sqlalchemy import select

from mediation.accounts.models import LoginAttempt, User
from mediation.extensions import db
from tests.conftest import csrf_token


def test_password_is_hashed(world):
    user = db.session.scalar(select(User).where(User.username == "mediator_a"))
    assert "password123" not in user.password_hash and user.check_password("password123")


def test_login_requires_csrf(client, world):
    r = client.post("/login", data={"username": "mediator_a", "password": "password123"})
    assert r.status_code == 400
    assert client.get("/disputes/").status_code == 302  # still signed out


def test_login_and_logout(web, world):
    r = web.login("mediator_a")
    assert r.status_code == 302
    assert web.client.get("/disputes/").status_code == 200
    token = web.csrf("/disputes/")
    assert web.client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert web.client.get("/disputes/").status_code == 302


def test_wrong_password_is_refused_in_chinese(web, world):
    r = web.login("mediator_a", "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.get_data(as_text=True)


def test_login_is_rate_limited(app, web, world):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert web.login("mediator_a", "bad").status_code == 401
    locked = web.login("mediator_a")  # even the right password, while locked
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    # Other accounts from another address are not affected.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    token = csrf_token(other, "/login")
    r = other.post("/login", data={"username": "mediator_b", "password": "password123", "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(LoginAttempt).where(LoginAttempt.username == "mediator_b")) is None


def test_next_parameter_cannot_redirect_off_site(client, world):
    token = csrf_token(client, "/login")
    r = client.post(
        "/login?next=//evil.example/x",
        data={"username": "mediator_a", "password": "password123", "csrf_token": token},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/worklist/"
