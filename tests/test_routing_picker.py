"""The unit picker of route / transfer / co-handlers (联办), and the reach rule behind it.

- The picker offers the suggested unit first, then the units of the case's 属地 and of each node above
  it (nearest first), then the rest of the triaging centre's territory — exactly the units the
  workflow accepts on submit (routing.reachable_units), never one it refuses: checked by submitting
  every demo unit through the workflow.
- The demo ships routing rules, and its cases waiting for routing get a suggestion; a second
  `flask --app mediation demo` changes neither.
- GET /api/v1/disputes/<id>/candidate-units is the web picker's list, in the same order.

The demo tests come first: on PostgreSQL the per-test fixtures of the factory-world tests below empty
the shared tables.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from mediation.accounts.models import ApiToken, User
from mediation.common.enums import NodeLevel, Role, Status
from mediation.demo import DEMO_PASSWORD, DEMO_RULES
from mediation.disputes import workflow
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage, stage_of
from mediation.extensions import db
from mediation.geo.models import Unit
from mediation.routing.models import RoutingRule
from mediation.routing.service import (
    SUGGESTED_GROUP,
    candidate_units,
    check_reach,
    reachable_units,
    responsible_center,
)
from tests.conftest import login
from tests.demo_support import demo_world, run_demo
from tests.workflow_support import act, get, make_case, ok, register

DISPUTES = 60


# ------------------------------------------------------------------------------------ the demo


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, _pg_schema):
    with demo_world(tmp_path_factory.mktemp("routing-demo"), _pg_schema, DISPUTES) as loaded:
        yield loaded


@pytest.fixture
def demo(demo_app):
    with demo_app[0].app_context():
        yield demo_app[0]
        db.session.remove()


def pending_cases() -> list[Dispute]:
    return list(
        db.session.scalars(select(Dispute).where(Dispute.status == Status.PENDING).order_by(Dispute.id))
    )


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def test_the_demo_ships_rules_and_its_waiting_cases_get_a_suggestion(demo, demo_app):
    rules = db.session.scalars(select(RoutingRule).order_by(RoutingRule.priority)).all()
    assert [r.name for r in rules] == [name for _, name, *_ in DEMO_RULES]
    assert any(r.category == "劳动争议/欠薪" and r.unit.name == "海滨区劳动争议人民调解委员会" for r in rules)
    assert any(r.category == "医疗" and r.unit.name == "海滨区医疗纠纷人民调解委员会" for r in rules)
    assert f"分流规则：{len(DEMO_RULES)} 条（新增 {len(DEMO_RULES)}）" in demo_app[1].output

    pending = pending_cases()
    assert pending, "the demo has cases waiting for routing"
    for d in pending:
        assert d.suggested_channel is not None and d.suggested_unit is not None, d.case_no
        first = candidate_units(d)[0]
        assert first.suggested and first.unit.id == d.suggested_unit_id and first.group == SUGGESTED_GROUP
    before = {d.id: (d.suggested_channel, d.suggested_unit_id) for d in pending}
    db.session.commit()

    again = run_demo(demo, "--disputes", str(DISPUTES))  # idempotent: nothing new, nothing changed
    assert f"分流规则：{len(DEMO_RULES)} 条（新增 0）；0 件" in again.output
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count(RoutingRule.id))) == len(DEMO_RULES)
    assert {d.id: (d.suggested_channel, d.suggested_unit_id) for d in pending_cases()} == before


def test_a_labour_dispute_is_suggested_to_the_labour_committee(demo):
    """A 劳动 case registered now meets the demo's rule (registration records the suggestion)."""
    from mediation.disputes.schemas import DisputeCreate
    from mediation.disputes.service import register as register_case
    from tests.factories import dispute_payload

    center = db.session.scalar(select(User).where(User.username == "zhenzhongxin"))
    payload = dispute_payload("120116100201", category="劳动争议/欠薪", amount="8000.00")
    d = register_case(center, DisputeCreate().load(payload)).dispute
    assert (d.suggested_channel, d.suggested_unit.code) == ("人民调解", "120116000000-LTW")
    assert candidate_units(d)[0].unit.code == "120116000000-LTW"
    db.session.rollback()


def _route_body(unit: Unit, co: list[Unit] | None = None) -> dict:
    return {"channel": "人民调解", "unit": unit.code, "co_units": [u.code for u in co or []]}


def test_every_offered_unit_is_accepted_and_every_other_refused_on_submit(demo):
    """For a waiting case of a village, of a town, of a community and of a grid, routed by the admin
    and by the town's 综治中心: each demo unit is either in that user's picker and accepted by the
    workflow (as lead, and as co-handler), or not in the picker and refused."""
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    cases: dict[str, Dispute] = {}
    for d in pending_cases():
        cases.setdefault(str(d.node.level), d)
    # A case of each level the demo places cases at (new ones where the generator gave none).
    from mediation.disputes.schemas import DisputeCreate
    from mediation.disputes.service import register as register_case
    from tests.factories import dispute_payload

    center = db.session.scalar(select(User).where(User.username == "quzhongxin"))
    for level, code in (
        (NodeLevel.VILLAGE, "120116100202"),
        (NodeLevel.TOWN, "120116101000"),
        (NodeLevel.GRID, "120116003001G02"),
        (NodeLevel.COMMUNITY, "120116001001"),
    ):
        if str(level) not in cases:
            cases[str(level)] = register_case(center, DisputeCreate().load(dispute_payload(code))).dispute
    db.session.commit()
    ids = [d.id for d in cases.values()]
    for dispute_id in ids:
        d = db.session.get(Dispute, dispute_id)
        town = d.node.ancestors()[1]
        town_center = db.session.scalar(
            select(User)
            .join(Unit, User.unit_id == Unit.id)
            .where(Unit.code == f"{town.code}-ZZ", User.role == Role.CENTER)
            .order_by(User.id)
        )
        # The admin routes within the reach of the centre that triages the case; the town's centre,
        # when that is a village's platform, within its whole town.
        for who in (admin(), town_center):
            _probe_every_unit(dispute_id, who, units, co_handlers=who is town_center and dispute_id == ids[0])
        if responsible_center(d).node.id != town.id:
            assert {c.unit.code for c in candidate_units(d)} < {
                c.unit.code for c in candidate_units(d, town_center)
            }


def _probe_every_unit(dispute_id: int, who: User, units: list[Unit], co_handlers: bool) -> None:
    d = db.session.get(Dispute, dispute_id)
    offered = [c.unit.code for c in candidate_units(d, who)]
    assert len(offered) == len(set(offered)), "a unit is offered once"
    assert set(offered) == {u.code for u in reachable_units(d, who)}
    assert all(u.node.level != NodeLevel.GRID for u in reachable_units(d, who))
    # The 属地's units and every node above it are reachable: 小事不出村, but the district's
    # departments are always there.
    ancestors = {n.id for n in d.node.ancestors()}
    assert {u.code for u in units if u.node_id in ancestors and u.node.level != NodeLevel.GRID} <= set(
        offered
    )
    lead_probe = next(c.unit for c in candidate_units(d, who) if c.unit.type.value == "人民调解委员会")
    for unit in units:
        d = db.session.get(Dispute, dispute_id)
        try:
            workflow.perform(db.session.merge(who), d, "route", _route_body(unit))
            accepted = True
        except ValidationError as err:
            assert set(err.messages) == {"unit"} and "不在可选范围内" in err.messages["unit"][0]
            accepted = False
        db.session.rollback()
        assert accepted == (unit.code in offered), (d.case_no, d.node.name, who.username, unit.name)
        if not co_handlers or unit.id == lead_probe.id:
            continue
        d = db.session.get(Dispute, dispute_id)
        try:
            workflow.perform(db.session.merge(who), d, "route", _route_body(lead_probe, [unit]))
            accepted = True
        except ValidationError as err:
            assert set(err.messages) == {"co_units"}
            accepted = False
        db.session.rollback()
        assert accepted == (unit.code in offered), ("co", d.case_no, who.username, unit.name)


def test_transfer_reaches_the_same_units(demo):
    routed = next(
        d
        for d in db.session.scalars(
            select(Dispute).where(Dispute.status == Status.HANDLING).order_by(Dispute.id)
        )
        if stage_of(d) in (Stage.AWAITING, Stage.HANDLING)
    )
    dispute_id, current = routed.id, routed.unit_id
    offered = {c.unit.code for c in candidate_units(routed)}
    for unit in db.session.scalars(select(Unit).where(Unit.id != current).order_by(Unit.code)).all():
        d = db.session.get(Dispute, dispute_id)
        try:
            workflow.perform(admin(), d, "transfer", {"unit": unit.code, "reason": "测试移交。"})
            accepted = True
        except ValidationError:
            accepted = False
        db.session.rollback()
        assert accepted == (unit.code in offered), unit.name


def _select_options(page: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert block, select_id
    return [html_lib.unescape(v) for v in re.findall(r'<option value="([^"]+)"', block.group(1))]


def _checkboxes(page: str, fieldset_id: str) -> list[str]:
    block = re.search(rf'<fieldset class="unit-checklist" id="{fieldset_id}"(.*?)</fieldset>', page, re.S)
    assert block, fieldset_id
    return re.findall(r'<input type="checkbox" name="co_units" value="([^"]+)"', block.group(1))


def test_the_api_list_equals_the_web_list(demo):
    d = pending_cases()[0]
    center = responsible_center(d)
    staff = db.session.scalar(
        select(User).where(User.unit_id == center.id, User.role == Role.CENTER, User.active.is_(True))
    )
    assert staff is not None, center.name
    _, token = ApiToken.issue(staff)
    db.session.commit()
    client = demo.test_client()
    api = client.get(f"/api/v1/disputes/{d.id}/candidate-units", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.get_json()
    items = api.get_json()
    assert items[0]["suggested"] is True and items[0]["code"] == d.suggested_unit.code
    assert [i["suggested"] for i in items[1:]] == [False] * (len(items) - 1)
    assert items[0]["group"] == SUGGESTED_GROUP
    chain = [n.name for n in reversed(d.node.ancestors())]  # the 属地 first, then each node above it
    groups = [
        i["group"].removesuffix("（属地）") for i in items[1:] if not i["group"].endswith("辖区其他单位")
    ]
    assert groups == sorted(groups, key=chain.index)
    assert login(client, staff.username, DEMO_PASSWORD).status_code in (302, 303)
    page = client.get(f"/disputes/{d.id}").get_data(as_text=True)
    codes = [i["code"] for i in items]
    assert _select_options(page, "wf-route-unit") == codes
    assert _checkboxes(page, "wf-route-co_units") == codes
    assert re.search(rf'<option value="{re.escape(codes[0])}" [^>]*selected', page)
    assert 'src="/static/unit-picker.js"' in page and "<script>" not in page
    # The API describes each unit.
    assert {
        "code",
        "name",
        "short_name",
        "type",
        "channel",
        "node",
        "node_name",
        "group",
        "suggested",
    } <= set(items[0])


# ------------------------------------------------------------------------- the factory world


def post_rule(client, who, **fields):
    r = client.post("/api/v1/routing-rules", json={"name": "测试规则", **fields}, headers=who.headers)
    assert r.status_code == 201, r.get_json()


def candidates_api(client, who, dispute_id: int):
    return client.get(f"/api/v1/disputes/{dispute_id}/candidate-units", headers=who.headers)


def test_order_suggested_first_then_the_territory_nearest_first(client, world):
    post_rule(client, world.admin, channel="行政调解", unit="PCS-B")
    dispute_id = register(client, world.center_user_b, world.grid_b.code)  # 双港村第1网格
    r = candidates_api(client, world.center_user_b, dispute_id)
    assert r.status_code == 200
    items = r.get_json()
    # PCS-B (the suggestion), then 双港镇's units, then 海滨区's; never the other town's (TW-A, ZZ-A)
    # nor a grid's unit (WG-A1): a town centre's reach is its town and the nodes above it.
    assert [(i["code"], i["group"], i["suggested"]) for i in items] == [
        ("PCS-B", "分流建议", True),
        ("TW-B", "双港镇", False),
        ("ZZ-B", "双港镇", False),
        ("FY", "海滨区", False),
        ("ZZ-QU", "海滨区", False),
    ]
    # The district centre, once the case is escalated, reaches the whole district (after the chain).
    ok(act(client, world.center_user_b, dispute_id, "escalate"))
    items = candidates_api(client, world.district_staff, dispute_id).get_json()
    assert [i["code"] for i in items] == ["PCS-B", "TW-B", "ZZ-B", "FY", "ZZ-QU", "TW-A", "ZZ-A"]
    assert {i["group"] for i in items[5:]} == {"海滨区辖区其他单位"}
    ok(
        act(
            client,
            world.district_staff,
            dispute_id,
            "route",
            {"channel": "人民调解", "unit": "TW-B", "co_units": ["TW-A", "PCS-B"]},
        )
    )
    assert get(client, world.admin, dispute_id)["co_units"] == ["TW-A", "PCS-B"]


def test_the_own_node_comes_first_with_its_label(client, world):
    dispute_id = register(client, world.center_user_b, world.town_b.code)  # the 属地 is the town itself
    items = candidates_api(client, world.center_user_b, dispute_id).get_json()
    assert [(i["code"], i["group"]) for i in items] == [
        ("PCS-B", "双港镇（属地）"),
        ("TW-B", "双港镇（属地）"),
        ("ZZ-B", "双港镇（属地）"),
        ("FY", "海滨区"),
        ("ZZ-QU", "海滨区"),
    ]


def test_an_unreachable_suggestion_is_not_offered(client, world, web):
    post_rule(client, world.admin, channel="人民调解", unit="TW-A")  # the other town's committee
    dispute_id = register(client, world.center_user_b, world.village_b.code)
    assert get(client, world.center_user_b, dispute_id)["suggested_unit"] == "TW-A"
    items = candidates_api(client, world.center_user_b, dispute_id).get_json()
    assert "TW-A" not in [i["code"] for i in items] and not any(i["suggested"] for i in items)
    web.login("center_b")
    page = web.client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert "不在本案可分流范围内" in page
    assert "TW-A" not in _select_options(page, "wf-route-unit")
    r = act(client, world.center_user_b, dispute_id, "route", {"channel": "人民调解", "unit": "TW-A"})
    assert r.status_code == 422 and "跨辖区的请先升级上报" in r.get_json()["errors"]["json"]["unit"][0]


def test_the_web_refuses_an_unreachable_unit_field_by_field(client, world, web):
    dispute_id = make_case(client, world, Stage.PENDING)
    web.login("center_b")
    token = web.csrf(f"/disputes/{dispute_id}")
    r = web.client.post(
        f"/disputes/{dispute_id}/actions/route",
        follow_redirects=True,
        data={"csrf_token": token, "channel": "人民调解", "unit": "TW-B", "co_units": ["PCS-B", "TW-A"]},
    )
    page = r.get_data(as_text=True)
    assert "分流未保存：联办单位：「海滨街道人民调解委员会」不在可选范围内" in page
    assert get(client, world.admin, dispute_id)["status"] == "待分流"


def test_transfer_picker_leaves_out_the_current_unit(client, world, web):
    dispute_id = make_case(client, world, Stage.HANDLING)
    web.login("mediator_b")
    page = web.client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert _select_options(page, "wf-transfer-unit") == ["PCS-B", "ZZ-B", "FY", "ZZ-QU"]
    items = candidates_api(client, world.mediator_b, dispute_id).get_json()
    assert [i["code"] for i in items] == ["PCS-B", "TW-B", "ZZ-B", "FY", "ZZ-QU"]


def test_candidate_units_need_sight_of_the_case(client, world):
    dispute_id = make_case(client, world, Stage.PENDING)
    assert candidates_api(client, world.mediator_a, dispute_id).status_code == 404
    assert client.get(f"/api/v1/disputes/{dispute_id}/candidate-units").status_code == 401


def test_check_reach_names_every_refused_unit(app, world):
    from mediation.disputes.schemas import DisputeCreate
    from mediation.disputes.service import register as register_case
    from tests.factories import dispute_payload

    d = register_case(
        world.center_user_b.user, DisputeCreate().load(dispute_payload(world.village_b.code))
    ).dispute
    with pytest.raises(ValidationError) as err:
        check_reach(
            d, [("unit", world.committee_a), ("co_units", world.grid_unit_a), ("co_units", world.police_b)]
        )
    assert set(err.value.messages) == {"unit", "co_units"}
    assert len(err.value.messages["co_units"]) == 1 and "第1网格" in err.value.messages["co_units"][0]
    db.session.rollback()
