"""The OpenAPI document and its browsable page, which must work offline."""

from __future__ import annotations

import re


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/disputes" in spec["paths"]
    post = spec["paths"]["/api/v1/disputes"]["post"]
    assert "201" in post["responses"] and "422" in post["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in post.get("parameters", []))
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    create = spec["components"]["schemas"]["DisputeCreate"]
    assert {"category", "source", "summary", "node", "risk_level"} <= set(create["required"])


def test_docs_page_loads_assets_from_this_server(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "swagger" in html.lower()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    for url in urls:
        assert not url.startswith(("http://", "https://", "//")), f"external asset {url}"
        assert client.get(url).status_code == 200, url


def test_routing_has_its_own_section(client):
    """Routing's endpoints (rules, time limits, the unit picker) are routing's blueprint, at the same URLs."""
    spec = client.get("/api/v1/openapi.json").get_json()
    routing_paths = {
        "/api/v1/routing-rules": {"get", "post"},
        "/api/v1/routing-rules/{rule_id}": {"delete"},
        "/api/v1/time-limits": {"get", "put"},
        "/api/v1/time-limits/{limit_id}": {"delete"},
        "/api/v1/disputes/{dispute_id}/candidate-units": {"get"},
    }
    for path, methods in routing_paths.items():
        operations = {m: op for m, op in spec["paths"][path].items() if m != "parameters"}
        assert set(operations) == methods, path
        assert all(op["tags"] == ["routing_api"] for op in operations.values()), path
    workflow = {
        p
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
        if m != "parameters" and "workflow_api" in op.get("tags", [])
    }
    assert workflow and not workflow & set(routing_paths)


def test_the_case_answer_carries_the_case_code(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for name in ("DisputeOut", "DisputeSummaryOut"):
        assert "case_code" in spec["components"]["schemas"][name]["properties"], name
