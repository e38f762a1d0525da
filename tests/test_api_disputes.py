"""Registration and reading through the JSON API."""

from __future__ import annotations

from tests.factories import dispute_payload, make_id


def post(client, who, body, **headers):
    return client.post("/api/v1/disputes", json=body, headers={**who.headers, **headers})


def test_register_returns_case_number_and_timeline(client, world):
    r = post(client, world.mediator_a, dispute_payload(world.grid_a.code))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["case_no"].startswith("（2026）海滨调字第0001号"[:4])
    assert body["case_no"].endswith("调字第0001号")
    assert body["status"] == "待分流"
    got = client.get(f"/api/v1/disputes/{body['id']}", headers=world.mediator_a.headers).get_json()
    assert got["case_no"] == body["case_no"]
    assert [e["type"] for e in got["events"]] == ["registered"]
    assert got["events"][0]["by"] == "mediator_a"
    assert got["amount"] == "3500.00"
    assert got["parties"][0]["id_number"] == make_id()


def test_requires_token(client, world):
    r = client.post("/api/v1/disputes", json=dispute_payload(world.grid_a.code))
    assert r.status_code == 401
    assert "令牌" in r.get_json()["message"]
