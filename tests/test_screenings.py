"""Sweep reports (排查): the API, its idempotent retry, the one-tap phone form, and the 双百 page
listing the grids that have not reported."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mediation.common.enums import NodeLevel
from mediation.common.time import local_today
from mediation.extensions import db
from mediation.reports.common import Month
from mediation.reports.models import Screening
from tests.factories import node


def post(client, who, **body):
    payload = {"node": body.pop("node"), "found": body.pop("found", 0), **body}
    return client.post("/api/v1/screenings", json=payload, headers=who.headers)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Screening))


def test_file_a_zero_report(client, world):
    r = post(
        client,
        world.grid_a_user,
        node=world.grid_a.code,
        date=local_today().isoformat(),
        found=0,
        note="本期未发现矛盾纠纷",
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["node"] == world.grid_a.code and body["found"] == 0 and body["zero_report"] is True
    assert body["date"] == local_today().isoformat()
    assert count() == 1


def test_a_retry_does_not_duplicate(client, world):
    day = local_today().isoformat()
    assert post(client, world.grid_a_user, node=world.grid_a.code, date=day, found=2).status_code == 201
    again = post(client, world.grid_a_user, node=world.grid_a.code, date=day, found=3, note="补充一件")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert count() == 1
    row = db.session.scalar(select(Screening))
    db.session.refresh(row)
    assert row.found == 3 and row.note == "补充一件"
    # Another day is another report.
    earlier = (local_today() - timedelta(days=1)).isoformat()
    assert post(client, world.grid_a_user, node=world.grid_a.code, date=earlier, found=0).status_code == 201
    assert count() == 2


def test_date_defaults_to_today(client, world):
    r = client.post(
        "/api/v1/screenings", json={"node": world.grid_a.code, "found": 1}, headers=world.grid_a_user.headers
    )
    assert r.status_code == 201 and r.get_json()["date"] == local_today().isoformat()


def test_validation(client, world):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    cases = [
        ({"node": world.grid_a.code, "found": -1}, "found"),
        ({"node": world.grid_a.code, "found": "三"}, "found"),
        ({"node": world.grid_a.code}, "found"),
        ({"node": world.grid_a.code, "found": 0, "date": tomorrow}, "date"),
        ({"node": world.grid_a.code, "found": 0, "date": "2026/10/01"}, "date"),
        ({"node": world.village_a.code, "found": 0}, "node"),  # not a grid
        ({"node": "NOPE", "found": 0}, "node"),
        ({"found": 0}, "node"),
    ]
    for body, field in cases:
        r = client.post("/api/v1/screenings", json=body, headers=world.grid_a_user.headers)
        assert r.status_code == 422, body
        messages = r.get_json()["errors"]["json"][field]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in messages), messages
    assert count() == 0


def test_grid_outside_the_subtree_is_forbidden(client, world):
    r = post(client, world.grid_a_user, node=world.grid_b.code)
    assert r.status_code == 403 and "辖区" in r.get_json()["message"]
    r = post(client, world.center_user_a, node=world.grid_b.code)
    assert r.status_code == 403
    assert post(client, world.center_user_b, node=world.grid_b.code).status_code == 201
    assert client.post("/api/v1/screenings", json={"node": world.grid_a.code, "found": 0}).status_code == 401


def test_one_tap_phone_form(web, world):
    web.login("grid_a")
    html = web.client.get("/reports/screening").get_data(as_text=True)
    assert "本期零报告" in html and 'name="found"' in html
    token = web.csrf("/reports/screening")
    r = web.client.post(
        "/reports/screening",
        data={"csrf_token": token, "node": world.grid_a.code, "date": local_today().isoformat(), "zero": "1"},
    )
    assert r.status_code == 302
    row = db.session.scalar(select(Screening))
    assert row.found == 0 and row.node_id == world.grid_a.id and row.user_id == world.grid_a_user.user.id
    # The count field, then a retry of the same day: one row, updated.
    r = web.client.post(
        "/reports/screening",
        data={
            "csrf_token": token,
            "node": world.grid_a.code,
            "date": local_today().isoformat(),
            "found": "4",
        },
        follow_redirects=True,
    )
    assert "已更新" in r.get_data(as_text=True)
    db.session.expire_all()
    assert count() == 1 and db.session.scalar(select(Screening)).found == 4
    bad = web.client.post(
        "/reports/screening",
        data={
            "csrf_token": token,
            "node": world.grid_a.code,
            "date": local_today().isoformat(),
            "found": "-2",
        },
    )
    assert bad.status_code == 200 and "发现纠纷数应为0到100000之间的整数" in bad.get_data(as_text=True)


def test_shuangbai_page_lists_grids_that_have_not_reported(client, web, world):
    extra = node("120116100001G02", "第2网格", NodeLevel.GRID, world.village_b)
    db.session.commit()
    month = Month.of(local_today())
    post(client, world.grid_a_user, node=world.grid_a.code, found=0)
    web.login("qu_center")
    html = web.client.get(f"/reports/shuangbai?month={month.key}").get_data(as_text=True)
    missing = html[html.index('id="missing-grids"') :]
    assert "本期未报告的网格（2 个）" in missing
    assert world.grid_b.code in missing and extra.code in missing and world.grid_a.code not in missing
    r = client.get(
        "/api/v1/reports/shuangbai",
        query_string={"node": world.district.code, "month": month.key},
        headers=world.district_staff.headers,
    ).get_json()
    assert (r["grids_total"], r["grids_reported"], r["screening_rate"]) == (3, 1, 0.3333)
