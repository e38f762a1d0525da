"""Case numbers, idempotency, duplicate warnings, masking and access through the API."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from mediation.common.time import local_today
from mediation.disputes.models import Dispute, Event
from mediation.extensions import db
from tests.factories import dispute_payload, make_id, zh_number


def post(client, who, body, **headers):
    return client.post("/api/v1/disputes", json=body, headers={**who.headers, **headers})


def count(model=Dispute):
    db.session.rollback()  # end the test's own read transaction: see what the requests committed
    return db.session.scalar(select(func.count()).select_from(model))


def test_case_numbers_per_unit_and_year(client, world):
    year = local_today().year
    a1 = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()["case_no"]
    a2 = post(client, world.mediator_a, dispute_payload(world.grid_a.code, category="债务")).get_json()[
        "case_no"
    ]
    b1 = post(client, world.mediator_b, dispute_payload(world.grid_b.code)).get_json()["case_no"]
    assert a1 == f"（{year}）海滨调字第0001号"
    assert a2 == f"（{year}）海滨调字第0002号"
    assert b1 == f"（{year}）双港调字第0001号"


def test_case_number_pattern_is_configurable(app, client, world):
    app.config["CASE_NO_PATTERN"] = "{unit}调{year}-{seq:05d}"
    no = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()["case_no"]
    assert no == f"海滨调{local_today().year}-00001"


def test_case_number_never_reused_and_taken_numbers_skipped(client, world):
    year = local_today().year
    # A number already present (e.g. from an imported ledger) is skipped, never duplicated.
    first = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
    d = db.session.get(Dispute, first["id"])
    d.case_no = f"（{year}）海滨调字第0002号"
    db.session.commit()
    nxt = post(client, world.mediator_a, dispute_payload(world.grid_a.code, category="债务")).get_json()[
        "case_no"
    ]
    assert nxt == f"（{year}）海滨调字第0003号"
    # A refused registration does not consume a number.
    assert post(client, world.mediator_a, dispute_payload(world.grid_a.code, amount="-5")).status_code == 422
    nxt = post(client, world.mediator_a, dispute_payload(world.grid_a.code, category="合同")).get_json()[
        "case_no"
    ]
    assert nxt == f"（{year}）海滨调字第0004号"


def test_concurrent_registrations_get_distinct_consecutive_numbers(app, world):
    threads, per_thread = 6, 8
    results, errors = [], []
    headers = world.mediator_a.headers
    node = world.grid_a.code
    barrier = threading.Barrier(threads)

    def worker(i):
        client = app.test_client()
        barrier.wait()
        for j in range(per_thread):
            r = client.post(
                "/api/v1/disputes",
                headers=headers,
                json=dispute_payload(
                    node,
                    summary=f"并发登记 {i}-{j}",
                    parties=[{"role": "申请人", "name": f"当事人{zh_number(i)}之{zh_number(j)}"}],
                ),
            )
            (results if r.status_code == 201 else errors).append(r.get_json())

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    numbers = sorted(r["case_no"] for r in results)
    year = local_today().year
    assert numbers == [f"（{year}）海滨调字第{n:04d}号" for n in range(1, threads * per_thread + 1)]


def test_idempotency_key_replays_first_result(client, world):
    body = dispute_payload(world.grid_a.code)
    first = post(client, world.mediator_a, body, **{"Idempotency-Key": "abc-1"})
    again = post(client, world.mediator_a, body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["case_no"] == first.get_json()["case_no"]
    assert count() == 1
    # The same key with another body is refused, not silently replayed.
    other = post(
        client,
        world.mediator_a,
        dispute_payload(world.grid_a.code, category="债务"),
        **{"Idempotency-Key": "abc-1"},
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["errors"]["json"]
    assert count() == 1
    # Keys belong to their user: another user's identical key is a new request.
    other_user = post(client, world.center_user_a, body, **{"Idempotency-Key": "abc-1"})
    assert other_user.status_code == 201 and other_user.get_json()["id"] != first.get_json()["id"]


def test_concurrent_retries_with_one_key_create_one_case(app, world):
    body = dispute_payload(world.grid_a.code)
    barrier = threading.Barrier(5)
    ids = []

    def worker():
        client = app.test_client()
        barrier.wait()
        r = client.post(
            "/api/v1/disputes", json=body, headers={**world.mediator_a.headers, "Idempotency-Key": "k"}
        )
        ids.append((r.status_code, r.get_json().get("id")))

    pool = [threading.Thread(target=worker) for _ in range(5)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert {code for code, _ in ids} == {201}
    assert len({i for _, i in ids}) == 1
    assert count() == 1


def test_duplicate_warning_not_refusal(client, world):
    first = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
    assert first["warnings"] == []
    second = post(client, world.mediator_a, dispute_payload(world.grid_a.code, summary="同一纠纷再次来访。"))
    assert second.status_code == 201
    warnings = second.get_json()["warnings"]
    assert len(warnings) == 1 and first["case_no"] in warnings[0] and "30天" in warnings[0]
    detail = client.get(
        f"/api/v1/disputes/{second.get_json()['id']}", headers=world.mediator_a.headers
    ).get_json()
    assert [e["type"] for e in detail["events"]] == ["registered", "duplicate_warning"]
    # Another category, or other parties: no warning.
    third = post(client, world.mediator_a, dispute_payload(world.grid_a.code, category="债务")).get_json()
    assert third["warnings"] == []
    fourth = post(
        client,
        world.mediator_a,
        dispute_payload(world.grid_a.code, parties=[{"role": "申请人", "name": "王五"}]),
    ).get_json()
    assert fourth["warnings"] == []


def test_duplicate_in_other_town_is_counted_not_named(client, world):
    body_b = dispute_payload(world.grid_b.code)
    b = post(client, world.mediator_b, body_b).get_json()
    a = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
    assert len(a["warnings"]) == 1
    assert b["case_no"] not in a["warnings"][0] and "其他单位已登记1件" in a["warnings"][0]


def test_old_registrations_outside_window_do_not_warn(client, world):
    first = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
    d = db.session.get(Dispute, first["id"])
    d.registered_on = d.registered_on.replace(year=d.registered_on.year - 1)
    db.session.commit()
    assert post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()["warnings"] == []


def test_id_numbers_masked_by_role(client, world):
    created = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
    full = make_id()
    masked = full[:3] + "*" * 11 + full[-4:]
    url = f"/api/v1/disputes/{created['id']}"
    assert client.get(url, headers=world.mediator_a.headers).get_json()["parties"][0]["id_number"] == full
    assert client.get(url, headers=world.court_user.headers).get_json()["parties"][0]["id_number"] == full
    for who in (world.center_user_a, world.district_staff, world.admin, world.grid_a_user):
        assert client.get(url, headers=who.headers).get_json()["parties"][0]["id_number"] == masked


def test_timeline_records_who_when_what(client, world):
    created = post(client, world.grid_a_user, dispute_payload(world.grid_a.code)).get_json()
    events = client.get(f"/api/v1/disputes/{created['id']}", headers=world.grid_a_user.headers).get_json()[
        "events"
    ]
    assert events[0]["type"] == "registered" and events[0]["label"] == "登记"
    assert events[0]["by"] == "grid_a" and events[0]["at"]
    assert events[0]["data"]["case_no"] == created["case_no"]
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


class TestAccess:
    """A user of one town cannot read, list or register in another town's cases."""

    def test_read_other_town_is_404(self, client, world):
        a = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
        for outsider in (world.mediator_b, world.center_user_b):
            r = client.get(f"/api/v1/disputes/{a['id']}", headers=outsider.headers)
            assert r.status_code == 404 and r.get_json()["message"]
        for insider in (
            world.center_user_a,
            world.district_staff,
            world.admin,
            world.court_user,
            world.grid_a_user,
        ):
            assert client.get(f"/api/v1/disputes/{a['id']}", headers=insider.headers).status_code == 200

    def test_list_only_own_subtree(self, client, world):
        a = post(client, world.mediator_a, dispute_payload(world.grid_a.code)).get_json()
        b = post(client, world.mediator_b, dispute_payload(world.grid_b.code)).get_json()

        def ids(who, **params):
            body = client.get("/api/v1/disputes", headers=who.headers, query_string=params).get_json()
            return {i["id"] for i in body["items"]}

        assert ids(world.mediator_a) == {a["id"]}
        assert ids(world.center_user_b) == {b["id"]}
        assert ids(world.district_staff) == {a["id"], b["id"]}
        # Asking for another town's node does not reveal anything either.
        assert ids(world.mediator_a, node=world.town_b.code) == set()

    def test_register_outside_subtree_refused(self, client, world):
        r = post(client, world.mediator_a, dispute_payload(world.grid_b.code))
        assert r.status_code == 422
        assert "辖区" in r.get_json()["errors"]["json"]["node"][0]
        assert count() == 0

    def test_assigned_unit_sees_case_outside_its_subtree(self, client, world):
        b = post(client, world.mediator_b, dispute_payload(world.grid_b.code)).get_json()
        assert client.get(f"/api/v1/disputes/{b['id']}", headers=world.mediator_a.headers).status_code == 404
        d = db.session.get(Dispute, b["id"])
        d.co_units.append(world.committee_a)
        db.session.commit()
        assert client.get(f"/api/v1/disputes/{b['id']}", headers=world.mediator_a.headers).status_code == 200
        d.co_units.clear()
        d.unit = world.committee_a
        db.session.commit()
        assert client.get(f"/api/v1/disputes/{b['id']}", headers=world.mediator_a.headers).status_code == 200

    def test_bad_and_revoked_tokens(self, client, world):
        assert client.get("/api/v1/disputes", headers={"Authorization": "Bearer nope"}).status_code == 401
        world.mediator_a.user.active = False
        db.session.commit()
        assert client.get("/api/v1/disputes", headers=world.mediator_a.headers).status_code == 401


def test_list_filters_and_pagination(client, world):
    for i in range(5):
        post(
            client,
            world.mediator_a,
            dispute_payload(
                world.grid_a.code,
                category="债务" if i % 2 else "邻里",
                summary=f"第{i}件纠纷",
                parties=[{"role": "申请人", "name": f"当事人{zh_number(i)}"}],
            ),
        )
    h = world.mediator_a.headers
    page = client.get("/api/v1/disputes?per_page=2&page=2", headers=h).get_json()
    assert page["total"] == 5 and page["pages"] == 3 and len(page["items"]) == 2
    assert client.get("/api/v1/disputes?category=债务", headers=h).get_json()["total"] == 2
    assert client.get("/api/v1/disputes?status=待分流", headers=h).get_json()["total"] == 5
    assert client.get("/api/v1/disputes?status=已办结", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/disputes?q=当事人三", headers=h).get_json()["total"] == 1
    assert client.get("/api/v1/disputes?q=第4件", headers=h).get_json()["total"] == 1
    today = local_today().isoformat()
    assert (
        client.get(f"/api/v1/disputes?date_from={today}&date_to={today}", headers=h).get_json()["total"] == 5
    )
    assert client.get("/api/v1/disputes?date_to=2000-01-01", headers=h).get_json()["total"] == 0
    bad = client.get("/api/v1/disputes?status=飞了", headers=h)
    assert bad.status_code == 422 and "状态" in str(bad.get_json()["errors"])
