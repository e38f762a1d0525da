"""The routing rule table: conditions, priority, the suggestion recorded on registration, the
综治中心 confirming or overriding it, and the admin's API and page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mediation.common.enums import Channel, RiskLevel
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.routing import service as routing
from mediation.routing.models import RoutingRule
from tests.workflow_support import act, get, ok, register


def case(world, **kw) -> Dispute:
    """A transient case (not saved) to evaluate rules against."""
    values = {
        "category": "邻里",
        "node": world.village_b,
        "amount": Decimal("3500.00"),
        "people_count": 2,
        "risk_level": RiskLevel.ORDINARY,
        "flags": [],
    }
    values.update(kw)
    return Dispute(**values)


def rule(**kw) -> RoutingRule:
    values = {"name": "规则", "priority": 100, "channel": Channel.PEOPLE}
    values.update(kw)
    r = RoutingRule(**values)
    db.session.add(r)
    db.session.flush()
    return r


@pytest.mark.parametrize(
    ("condition", "matching", "not_matching"),
    [
        ({"category": "邻里"}, {}, {"category": "合同"}),
        ({"min_amount": Decimal("3500")}, {}, {"amount": Decimal("3499.99")}),
        ({"min_amount": Decimal("1")}, {"amount": Decimal("1.00")}, {"amount": None}),
        ({"min_people": 30}, {"people_count": 30}, {"people_count": 29}),
        ({"min_people": 2}, {}, {"people_count": None}),
        (
            {"min_risk": RiskLevel.MAJOR},
            {"risk_level": RiskLevel.EXTREME},
            {"risk_level": RiskLevel.ORDINARY},
        ),
        ({"min_risk": RiskLevel.MAJOR}, {"risk_level": RiskLevel.MAJOR}, {}),
        ({"flags": ["群体性", "涉众"]}, {"flags": ["涉众"]}, {"flags": ["涉军"]}),
    ],
)
def test_each_condition(world, condition, matching, not_matching):
    r = rule(**condition)
    assert routing.rule_matches(r, case(world, **matching))
    assert not routing.rule_matches(r, case(world, **not_matching))


def test_place_condition_is_a_subtree(world):
    r = rule(node=world.town_b)
    assert routing.rule_matches(r, case(world, node=world.village_b))
    assert routing.rule_matches(r, case(world, node=world.grid_b))
    assert routing.rule_matches(r, case(world, node=world.town_b))
    assert not routing.rule_matches(r, case(world, node=world.grid_a))
    assert not routing.rule_matches(r, case(world, node=world.district))


def test_empty_rule_matches_everything_and_all_conditions_must_hold(world):
    assert routing.rule_matches(rule(), case(world))
    strict = rule(category="邻里", min_people=3)
    assert not routing.rule_matches(strict, case(world))
    assert routing.rule_matches(strict, case(world, people_count=3))


def test_priority_order_inactive_and_nearest_unit(world):
    rule(name="兜底", priority=1000)
    rule(
        name="群体性纠纷", priority=10, flags=["群体性"], channel=Channel.ADMINISTRATIVE, unit=world.police_b
    )
    rule(name="停用", priority=1, active=False, channel=Channel.COURT_LINK)
    rule(name="金额大", priority=20, min_amount=Decimal("100000"), channel=Channel.COURT_LINK)
    s = routing.suggest(case(world, flags=["群体性"], amount=Decimal("200000")))
    assert (s.rule.name, s.channel, s.unit) == ("群体性纠纷", Channel.ADMINISTRATIVE, world.police_b)
    s = routing.suggest(case(world, amount=Decimal("200000")))
    assert (s.rule.name, s.channel, s.unit) == (
        "金额大",
        Channel.COURT_LINK,
        world.court,
    )  # the district's court
    s = routing.suggest(case(world))
    assert (s.rule.name, s.unit) == ("兜底", world.committee_b)  # nearest 人民调解 unit above 双港村
    s = routing.suggest(case(world, node=world.grid_a))
    assert s.unit == world.committee_a


def test_no_rule_no_suggestion(world):
    s = routing.suggest(case(world))
    assert s.channel is None and s.unit is None and s.rule is None


def test_same_priority_earlier_rule_first(world):
    rule(name="先建", priority=5, unit=world.committee_b)
    rule(name="后建", priority=5, unit=world.committee_a)
    assert routing.suggest(case(world)).rule.name == "先建"


# --- the API ---------------------------------------------------------------------------------------


def post_rule(client, who, **body):
    payload = {"name": "邻里纠纷", "channel": "人民调解"}
    payload.update(body)
    return client.post("/api/v1/routing-rules", json=payload, headers=who.headers)


def test_rule_api(client, world):
    assert post_rule(client, world.center_user_b).status_code == 403
    r = post_rule(
        client,
        world.admin,
        category="邻里",
        node=world.town_b.code,
        min_amount="1000",
        min_people=2,
        min_risk="一般",
        flags=["群体性"],
        unit="TW-B",
        priority=5,
    )
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert (
        created["node"] == world.town_b.code
        and created["unit"] == "TW-B"
        and created["min_amount"] == "1000.00"
    )
    assert "类别=邻里" in created["conditions"]
    for bad, field in [
        ({"channel": "调解"}, "channel"),
        ({"node": "000"}, "node"),
        ({"unit": "NOPE"}, "unit"),
        ({"category": "打架"}, "category"),
        ({"flags": ["火灾"]}, "flags"),
        ({"min_amount": "-1"}, "min_amount"),
        ({"name": ""}, "name"),
        ({"x": 1}, "x"),
    ]:
        r = post_rule(client, world.admin, **bad)
        assert r.status_code == 422, (bad, r.get_json())
        assert field in r.get_json()["errors"]["json"], (bad, r.get_json())
    assert client.get("/api/v1/routing-rules", headers=world.mediator_b.headers).status_code == 403
    listed = client.get("/api/v1/routing-rules", headers=world.center_user_b.headers).get_json()
    assert [x["id"] for x in listed] == [created["id"]]
    assert (
        client.delete(f"/api/v1/routing-rules/{created['id']}", headers=world.mediator_b.headers).status_code
        == 403
    )
    assert (
        client.delete(f"/api/v1/routing-rules/{created['id']}", headers=world.admin.headers).status_code
        == 204
    )
    assert (
        client.delete(f"/api/v1/routing-rules/{created['id']}", headers=world.admin.headers).status_code
        == 404
    )
    assert client.get("/api/v1/routing-rules", headers=world.admin.headers).get_json() == []


def test_registration_records_the_suggestion(client, world):
    ok_rule = post_rule(
        client, world.admin, name="劳动争议", category="劳动争议/欠薪", channel="行政调解", unit="PCS-B"
    )
    assert ok_rule.status_code == 201
    dispute_id = register(client, world.center_user_b, world.village_b.code, category="劳动争议/欠薪")
    body = get(client, world.center_user_b, dispute_id)
    assert body["suggested_channel"] == "行政调解" and body["suggested_unit"] == "PCS-B"
    assert body["status"] == "待分流" and body["channel"] is None
    work = client.get(
        f"/api/v1/disputes/{dispute_id}/casework", headers=world.center_user_b.headers
    ).get_json()
    assert work["suggestion"] == {"channel": "行政调解", "unit": "PCS-B"}
    other = register(client, world.center_user_b, world.village_b.code)
    assert get(client, world.center_user_b, other)["suggested_channel"] is None


def test_centre_confirms_the_suggestion(client, world):
    post_rule(client, world.admin, channel="人民调解")  # no unit: nearest 人民调解 unit
    dispute_id = register(client, world.center_user_b, world.village_b.code)
    assert get(client, world.center_user_b, dispute_id)["suggested_unit"] == "TW-B"
    body = ok(act(client, world.center_user_b, dispute_id, "route", {"channel": "人民调解", "unit": "TW-B"}))
    event = body["events"][-1]
    assert event["type"] == "routed" and event["data"]["override"] is False
    assert event["data"]["suggested"] == {"channel": "人民调解", "unit": "TW-B"}
    assert event["note"] is None


def test_centre_overrides_the_suggestion(client, world):
    post_rule(client, world.admin, channel="人民调解", unit="TW-B")
    dispute_id = register(client, world.center_user_b, world.village_b.code)
    body = ok(
        act(
            client,
            world.center_user_b,
            dispute_id,
            "route",
            {"channel": "行政调解", "unit": "PCS-B", "note": "涉及治安，由派出所调解。"},
        )
    )
    assert body["channel"] == "行政调解" and body["unit"] == "PCS-B"
    event = body["events"][-1]
    assert event["data"]["override"] is True
    assert event["data"]["suggested"] == {"channel": "人民调解", "unit": "TW-B"}
    assert "未采纳分流建议" in event["note"] and "双港镇人民调解委员会" in event["note"]
    assert "涉及治安" in event["note"]
    # Same channel, other unit is an override too.
    other = register(client, world.center_user_b, world.village_b.code)
    body = ok(act(client, world.center_user_b, other, "route", {"channel": "人民调解", "unit": "PCS-B"}))
    assert body["events"][-1]["data"]["override"] is True


def test_route_validation(client, world):
    dispute_id = register(client, world.center_user_b, world.village_b.code)
    for body, field in [
        ({"channel": "人民调解"}, "unit"),
        ({"unit": "TW-B"}, "channel"),
        ({"channel": "人民调解", "unit": "TW-B", "co_units": ["TW-B"]}, "co_units"),
        ({"channel": "人民调解", "unit": "TW-B", "co_units": ["XX"]}, "co_units"),
    ]:
        r = act(client, world.center_user_b, dispute_id, "route", body)
        assert r.status_code == 422 and field in r.get_json()["errors"]["json"], (body, r.get_json())
    assert get(client, world.admin, dispute_id)["status"] == "待分流"


# --- the admin page ----------------------------------------------------------------------------------


def test_admin_page_lists_adds_and_deletes(web, world):
    web.login("admin")
    page = web.client.get("/admin/routing/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "分流规则" in html and "劳动争议调解仲裁法第十四条" in html  # default limits seeded
    token = web.csrf("/admin/routing/")
    r = web.client.post(
        "/admin/routing/rules",
        data={
            "csrf_token": token,
            "name": "群体性纠纷上交",
            "priority": "10",
            "category": "",
            "node": world.town_b.code,
            "min_people": "30",
            "flags": ["群体性", "涉众"],
            "channel": "行政调解",
            "unit": "PCS-B",
            "active": "on",
        },
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert "已添加分流规则「群体性纠纷上交」" in html and "人数≥30" in html
    saved = db.session.scalars(db.select(RoutingRule)).one()
    assert saved.flags == ["群体性", "涉众"] and saved.category is None and saved.active is True
    # Invalid input: a Chinese message, nothing saved.
    r = web.client.post(
        "/admin/routing/rules",
        data={"csrf_token": token, "name": "坏规则", "channel": "人民调解", "min_people": "0"},
        follow_redirects=True,
    )
    assert "最少人数：人数应不小于1。" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(RoutingRule)) == 1
    # Without the CSRF token the post is refused.
    assert (
        web.client.post("/admin/routing/rules", data={"name": "x", "channel": "人民调解"}).status_code == 400
    )
    r = web.client.post(
        f"/admin/routing/rules/{saved.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "已删除分流规则" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(RoutingRule)) == 0


def test_admin_page_time_limits(web, world):
    web.login("admin")
    token = web.csrf("/admin/routing/")
    r = web.client.post(
        "/admin/routing/time-limits",
        data={
            "csrf_token": token,
            "channel": "人民调解",
            "category": "邻里",
            "days": "10",
            "working_days": "on",
            "basis": "本镇规定",
        },
        follow_redirects=True,
    )
    assert "已保存时限：人民调解 / 邻里 10个工作日" in r.get_data(as_text=True)
    from mediation.routing.deadlines import time_limit_for

    assert time_limit_for("人民调解", "邻里").working_days is True


def test_admin_page_is_for_admins(web, world):
    """Only the admin changes the rules and limits; 综治中心 staff see the page read-only (as the API
    lets them read the rules); mediators, grid workers and the court do not see it."""
    rule(name="邻里就近规则")
    db.session.commit()
    web.login("center_b")
    page = web.client.get("/admin/routing/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "邻里就近规则" in html and "劳动争议调解仲裁法第十四条" in html and "只读" in html
    for form in ("/admin/routing/rules", "/admin/routing/time-limits", "/delete", "/admin/routing/calendar"):
        assert form not in html, form
    token = web.csrf("/admin/routing/")  # the sign-out form's
    r = web.client.post(
        "/admin/routing/rules", data={"csrf_token": token, "name": "x", "channel": "人民调解"}
    )
    assert r.status_code == 403
    r = web.client.post("/admin/routing/time-limits", data={"csrf_token": token, "days": "5"})
    assert r.status_code == 403
    assert (
        web.client.post(
            f"/admin/routing/rules/{db.session.scalars(db.select(RoutingRule)).one().id}/delete",
            data={"csrf_token": token},
        ).status_code
        == 403
    )
    assert web.client.get("/admin/routing/calendar").status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(RoutingRule)) == 1
    for username in ("mediator_b", "grid_a", "court"):
        web.client.post("/logout", data={"csrf_token": token})
        web.login(username)
        token = web.csrf("/disputes/")
        assert web.client.get("/admin/routing/").status_code == 403, username


ROLES = {"admin": "admin", "center": "center_user_b", "mediator": "mediator_b", "court": "court_user"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_web_and_api_agree_on_who_reads_and_manages_the_rules(app, web, world, role):
    """One predicate per rule (routing.service.may_read_routing_rules / may_manage_routing_rules), and the
    page and the API answer by it for every role."""
    user = getattr(world, ROLES[role])  # the user with its API token
    api = app.test_client()
    may_read = routing.may_read_routing_rules(user.user)
    may_manage = routing.may_manage_routing_rules(user.user)
    assert (may_read, may_manage) == {
        "admin": (True, True),
        "center": (True, False),
        "mediator": (False, False),
        "court": (False, False),
    }[role]
    web.login(user.username)
    token = web.csrf("/disputes/")
    # reading the rules
    assert (web.client.get("/admin/routing/").status_code == 200) is may_read
    assert (api.get("/api/v1/routing-rules", headers=user.headers).status_code == 200) is may_read
    # adding and deleting a rule
    body = {"name": f"{role}的规则", "channel": "人民调解"}
    web_add = web.client.post("/admin/routing/rules", data={**body, "csrf_token": token})
    api_add = api.post(
        "/api/v1/routing-rules", json={**body, "name": f"{role}的规则（API）"}, headers=user.headers
    )
    assert web_add.status_code == (303 if may_manage else 403)
    assert api_add.status_code == (201 if may_manage else 403)
    existing = rule(name="已有规则")
    db.session.commit()
    web_delete = web.client.post(f"/admin/routing/rules/{existing.id}/delete", data={"csrf_token": token})
    assert web_delete.status_code == (303 if may_manage else 403)
    other = rule(name="另一条规则")
    db.session.commit()
    api_delete = api.delete(f"/api/v1/routing-rules/{other.id}", headers=user.headers)
    assert api_delete.status_code == (204 if may_manage else 403)
    # the time limits: changed by the same rule
    limit = {"channel": "人民调解", "category": "邻里", "days": 12}
    web_limit = web.client.post(
        "/admin/routing/time-limits", data={**limit, "days": "12", "csrf_token": token}
    )
    api_limit = api.put("/api/v1/time-limits", json={**limit, "days": 13}, headers=user.headers)
    assert web_limit.status_code == (303 if may_manage else 403)
    assert api_limit.status_code == (200 if may_manage else 403)
    # the working-day calendar (web only): entered by the same rule
    assert (web.client.get("/admin/routing/calendar").status_code == 200) is may_manage
    names = set(db.session.scalars(db.select(RoutingRule.name)))
    expected = {f"{role}的规则", f"{role}的规则（API）"} if may_manage else {"已有规则", "另一条规则"}
    assert names == expected
