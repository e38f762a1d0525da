"""/healthz (no authentication, asks the database) and /api/v1/ping (bearer token, nothing else)."""

from __future__ import annotations

from sqlalchemy import select

from mediation import create_app
from mediation.accounts.models import ApiToken
from mediation.extensions import db


def test_healthz_answers_without_login_and_asks_the_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"ok": True}
    assert r.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_with_a_chinese_message_when_the_database_is_gone(tmp_path):
    # A real database that cannot be opened: its directory does not exist.
    broken = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SCHEDULER_MODE": "external",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}",
        }
    )
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["ok"] is False
    assert body["message"] == "数据库不可用。"
    assert "sqlite" not in r.get_data(as_text=True).lower()  # no driver details leak out


def test_ping_needs_a_valid_bearer_token(client, world):
    assert client.get("/api/v1/ping").status_code == 401
    r = client.get("/api/v1/ping", headers={"Authorization": "Bearer med_not-a-token"})
    assert r.status_code == 401
    assert "令牌" in r.get_json()["message"]

    r = client.get("/api/v1/ping", headers=world.grid_a_user.headers)
    assert r.status_code == 200
    assert r.get_json() == {"ok": True}


def test_ping_refuses_a_revoked_token_and_an_inactive_user(client, world):
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world.court_user.user.id))
    row.revoked = True
    db.session.commit()
    assert client.get("/api/v1/ping", headers=world.court_user.headers).status_code == 401

    world.grid_a_user.user.active = False
    db.session.commit()
    assert client.get("/api/v1/ping", headers=world.grid_a_user.headers).status_code == 401
    assert client.get("/api/v1/ping", headers=world.mediator_a.headers).status_code == 200


def test_ping_is_documented_with_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/ping"]["get"]
    assert "200" in op["responses"]
    assert spec["security"] == [{"bearerAuth": []}]
    assert "/healthz" not in spec["paths"]  # the web side, not the API
