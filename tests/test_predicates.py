"""Every "may this user …" rule is one named predicate, and the web and the API that depend on it agree.

``mediation.accounts.access.PREDICATES`` records every function marked ``@predicate``. For each one,
:data:`SURFACES` names the web page and the API endpoint that ask it; the test signs in every user of
the test world (the standard world plus a 综治中心 role given at a 调委会, a second mediator and an
inactive one) and checks that the page lets the user in exactly when the API does. Where the rule
decides alone (no scope rule on top), the outcome must also equal the predicate. A rule that one
surface only asks is listed in :data:`ONE_SURFACE` with the reason. A new predicate fails
``test_every_predicate_is_checked`` until it has its row.

The second half scans the view and API modules for role tests written inline (``user.role == …``,
``current_user.role in (…)``, ``User.role.in_(…)``): those belong in a predicate.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

import mediation
from mediation.accounts.access import PREDICATES
from mediation.common.enums import Role
from mediation.demo.small import AGREEMENT, make_id
from mediation.demo.small import make_case as make_town_a_case
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.documents.models import Agreement
from mediation.extensions import db
from mediation.followups.models import SupervisionOrder
from mediation.reports.models import Notice, Screening, SweepFinding
from tests.conftest import login
from tests.factories import dispute_payload, user
from tests.workflow_support import act, make_case

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_WEB = {200, 302, 303}
REFUSED = {403, 404}


@pytest.fixture
def w(world):
    """The standard world, plus: a 综治中心 role given to someone of 双港镇调委会 (not a 综治中心 unit),
    a second mediator of 双港镇调委会 and an inactive one."""
    world.odd_center = user("odd_center", Role.CENTER, world.committee_b)
    world.mediator_b2 = user("mediator_b2", Role.MEDIATOR, world.committee_b)
    world.retired_b = user("retired_b", Role.MEDIATOR, world.committee_b)
    world.retired_b.user.active = False
    db.session.commit()
    world.people = [
        getattr(world, name)
        for name in (
            "admin",
            "district_staff",
            "center_user_a",
            "center_user_b",
            "mediator_a",
            "mediator_b",
            "grid_a_user",
            "court_user",
            "odd_center",
            "mediator_b2",
            "retired_b",
        )
    ]
    world.active = [p for p in world.people if p.user.active]
    return world


def browser(app, who):
    client = app.test_client()
    r = login(client, who.username)
    assert r.status_code in (302, 303), who.username
    return client


def csrf(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, url
    return match.group(1)


def web_status(code: int) -> bool:
    assert code in ALLOWED_WEB | REFUSED, code
    return code in ALLOWED_WEB


def api_status(code: int, allowed: set[int]) -> bool:
    assert code in allowed | REFUSED | {409, 422}, code
    return code in allowed


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def forms(html: str) -> set[str]:
    return set(re.findall(r'action="/disputes/\d+/actions/([a-z_]+)"', html))


# ------------------------------------------------------------------------------------------ surfaces


@dataclass
class Surface:
    """How the web and the API answer ``who`` (True: let in). ``setup`` builds what both need once;
    ``decides``: the outcome must equal the predicate (no scope rule on top)."""

    web: Callable
    api: Callable
    args: Callable = lambda env, who: (who.user,)
    setup: Callable = lambda env: None
    decides: bool = True
    people: str = "active"
    admin_too: bool = False  # the surface also lets admins in (the workflow's admin override)


def _pending_town_b_case(env):
    return make_case(env.client, env.w, Stage.PENDING)


def _allowed_actions(env, who, dispute_id):
    r = env.client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=who.headers)
    return set(r.get_json()["allowed_actions"]) if r.status_code == 200 else set()


def _page_forms(env, who, dispute_id):
    r = browser(env.app, who).get(f"/disputes/{dispute_id}")
    return forms(r.get_data(as_text=True)) if r.status_code == 200 else set()


# 综治中心 staff triage: the route action on a pending case of 双港镇.
def _route_web(env, who):
    return "route" in _page_forms(env, who, env.data)


def _route_api(env, who):
    return "route" in _allowed_actions(env, who, env.data)


# 本委员会直接受理: the accept action of a pending case the user's committee registered.
def _walk_in_setup(env):
    r = env.client.post(
        "/api/v1/disputes", json=dispute_payload(env.w.village_b.code), headers=env.w.mediator_b.headers
    )
    assert r.status_code == 201, r.get_json()
    return db.session.get(Dispute, r.get_json()["id"])


def _walk_in_web(env, who):
    return "accept" in _page_forms(env, who, env.data.id)


def _walk_in_api(env, who):
    return "accept" in _allowed_actions(env, who, env.data.id)


# Register and accept in one go: the form's checkbox, and the API's "accept": true.
def _register_accept_web(env, who):
    r = browser(env.app, who).get("/disputes/new")
    return r.status_code == 200 and 'name="accept"' in r.get_data(as_text=True)


def _register_accept_api(env, who):
    body = dispute_payload(who.user.unit.node.code, accept=True)
    r = env.client.post("/api/v1/disputes", json=body, headers=who.headers)
    return api_status(r.status_code, {201})


# 内部改派: who the case may be given to. The page's list of names (as the admin sees it) and the
# API's reassign action (as the admin performs it).
def _take_over_setup(env):
    dispute_id = make_case(env.client, env.w, Stage.HANDLING)
    d = db.session.get(Dispute, dispute_id)
    d.handler = None
    db.session.commit()
    return d


def _take_over_web(env, who):
    html = browser(env.app, env.w.admin).get(f"/disputes/{env.data.id}").get_data(as_text=True)
    select_html = html.split('name="handler"', 1)[1].split("</select>", 1)[0]
    return f'value="{who.username}"' in select_html


def _take_over_api(env, who):
    r = act(env.client, env.w.admin, env.data.id, "reassign", {"handler": who.username})
    allowed = api_status(r.status_code, {200})
    if allowed:  # put the case back as it was
        d = db.session.get(Dispute, env.data.id)
        db.session.refresh(d)
        d.handler = None
        db.session.commit()
    return allowed


# The full ID number of a party of a case in 海滨街道.
def _id_setup(env):
    return make_town_a_case(env.w)


def _id_web(env, who):
    r = browser(env.app, who).get(f"/disputes/{env.data.id}")
    return r.status_code == 200 and make_id() in r.get_data(as_text=True)


def _id_api(env, who):
    r = env.client.get(f"/api/v1/disputes/{env.data.id}", headers=who.headers)
    return r.status_code == 200 and make_id() in r.get_data(as_text=True)


# 督办: issue an order on a fresh case of 海滨街道 (one per request: a second pending order is refused).
def _supervise_web(env, who):
    d = make_town_a_case(env.w)
    client = browser(env.app, who)
    before = count(SupervisionOrder)
    r = client.post(
        f"/disputes/{d.id}/supervise",
        data={"csrf_token": csrf(client, "/followups/"), "level": "普通", "reply_by": "2099-03-09"},
    )
    web_status(r.status_code)
    return count(SupervisionOrder) == before + 1


def _supervise_api(env, who):
    d = make_town_a_case(env.w)
    r = env.client.post(
        f"/api/v1/disputes/{d.id}/supervisions",
        json={"level": "普通", "reply_by": "2099-03-09"},
        headers=who.headers,
    )
    return api_status(r.status_code, {201})


# Draft an agreement on a fresh case of 海滨街道.
def _draft_web(env, who):
    d = make_town_a_case(env.w)
    client = browser(env.app, who)
    before = count(Agreement)
    r = client.post(
        f"/disputes/{d.id}/agreements", data={"csrf_token": csrf(client, "/followups/"), **AGREEMENT}
    )
    web_status(r.status_code)
    return count(Agreement) == before + 1


def _draft_api(env, who):
    d = make_town_a_case(env.w)
    r = env.client.post(f"/api/v1/disputes/{d.id}/agreements", json=AGREEMENT, headers=who.headers)
    return api_status(r.status_code, {201})


# The 卷宗 (case file) of an open case of 海滨街道: a reader gets past the rule to the refusal of an
# open case (API 409, the web sends back to the documents page), anyone else 403/404.
def _case_file_web(env, who):
    return web_status(browser(env.app, who).get(f"/disputes/{env.data.id}/case-file.pdf").status_code)


def _case_file_api(env, who):
    r = env.client.get(f"/api/v1/disputes/{env.data.id}/case-file", headers=who.headers)
    return api_status(r.status_code, {200, 409})


# The overdue review.
def _review_web(env, who):
    return web_status(browser(env.app, who).get("/reports/overdue").status_code)


def _review_api(env, who):
    return api_status(env.client.get("/api/v1/reports/overdue", headers=who.headers).status_code, {200})


# 考核通报: issuing one for 海滨街道 (the scorecard page's button; the API answers 422 for a period not
# begun once the rule lets the user in, 403 before), and opening the district's notice of a past quarter.
def _issue_notice_web(env, who):
    r = browser(env.app, who).get(f"/reports/scorecard?node={env.w.town_a.code}&period=2099")
    return r.status_code == 200 and 'id="issue-notice"' in r.get_data(as_text=True)


def _issue_notice_api(env, who):
    body = {"node": env.w.town_a.code, "period": "2099"}
    r = env.client.post("/api/v1/reports/notices", json=body, headers=who.headers)
    return api_status(r.status_code, {201}) or r.status_code == 422


def _notice_setup(env):
    r = env.client.post(
        "/api/v1/reports/notices",
        json={"node": env.w.district.code, "period": "2026-Q3"},
        headers=env.w.district_staff.headers,
    )
    assert r.status_code == 201, r.get_json()
    return db.session.get(Notice, r.get_json()["id"])


def _see_notice_web(env, who):
    return web_status(browser(env.app, who).get(f"/reports/notices/{env.data.id}.pdf").status_code)


def _see_notice_api(env, who):
    r = env.client.get(f"/api/v1/reports/notices/{env.data.id}/pdf", headers=who.headers)
    return api_status(r.status_code, {200})


# 诉调对接: the court's list of referrals, and referring a case.
def _court_web(env, who):
    return web_status(browser(env.app, who).get("/court/").status_code)


def _court_api(env, who):
    return api_status(env.client.get("/api/v1/court-referrals", headers=who.headers).status_code, {200})


def _refer_web(env, who):
    return web_status(browser(env.app, who).get("/court/refer").status_code)


def _refer_api(env, who):
    body = dispute_payload(env.w.village_b.code)
    body.pop("source")
    body.update(kind="诉前委派", court_case_no="（2026）津0116民诉前调1234号", unit="TW-B")
    r = env.client.post("/api/v1/court-referrals", json=body, headers=who.headers)
    return api_status(r.status_code, {201})


# The mediators' registry: a mediator of 双港镇调委会 (TW-B).
def _mediator_setup(env):
    from mediation.mediators.models import Background, Employment, Mediator

    m = Mediator(
        name="王芳",
        employment=Employment.FULL_TIME,
        background=Background.LAWYER,
        units=[env.w.committee_b],
        phone="13812345678",
    )
    db.session.add(m)
    db.session.commit()
    return m


def _training_count() -> int:
    from mediation.mediators.models import Training

    return count(Training)


def _training(who, n: int) -> dict:
    return {"held_on": f"2026-0{n}-01", "hours": "2", "topic": f"培训{who.username}", "organiser": "区司法局"}


def _edit_mediator_web(env, who):
    client = browser(env.app, who)
    before = _training_count()
    r = client.post(
        f"/mediators/{env.data.id}/trainings",
        data={"csrf_token": csrf(client, "/followups/"), **_training(who, 3)},
    )
    web_status(r.status_code)
    return _training_count() == before + 1


def _edit_mediator_api(env, who):
    r = env.client.post(
        f"/api/v1/mediators/{env.data.id}/trainings", json=_training(who, 4), headers=who.headers
    )
    return api_status(r.status_code, {201})


def _mediator_phone_web(env, who):
    r = browser(env.app, who).get(f"/mediators/{env.data.id}")
    return r.status_code == 200 and "13812345678" in r.get_data(as_text=True)


def _mediator_phone_api(env, who):
    r = env.client.get(f"/api/v1/mediators/{env.data.id}", headers=who.headers)
    return r.status_code == 200 and r.get_json()["phone"] == "13812345678"


def _assign_setup(env):
    m = _mediator_setup(env)
    return SimpleNamespace(id=make_case(env.client, env.w, Stage.HANDLING), mediator=m)


def _assign_web(env, who):
    r = browser(env.app, who).get(f"/disputes/{env.data.id}")
    return r.status_code == 200 and 'data-testid="case-mediators-form"' in r.get_data(as_text=True)


def _assign_api(env, who):
    r = env.client.put(
        f"/api/v1/disputes/{env.data.id}/mediators",
        json={"mediators": [env.data.mediator.id]},
        headers=who.headers,
    )
    return api_status(r.status_code, {200})


# The 重点人员 register: a group at 双港村 whose 责任单位 is 双港镇调委会 (TW-B).
def _key_entry_setup(env):
    from mediation.keypeople.models import KeyEntry, KeyKind

    entry = KeyEntry(
        name="双港村拆迁安置户",
        is_group=True,
        group_size=20,
        kind=KeyKind.UNSTABLE_GROUP,
        node=env.w.village_b,
        unit=env.w.committee_b,
        measures="每周走访。",
        review_days=7,
        next_review_on=date(2026, 12, 1),
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _key_list_web(env, who):
    return web_status(browser(env.app, who).get("/key-people/").status_code)


def _key_list_api(env, who):
    return api_status(env.client.get("/api/v1/key-people", headers=who.headers).status_code, {200})


def _key_entry_web(env, who):
    return web_status(browser(env.app, who).get(f"/key-people/{env.data.id}").status_code)


def _key_entry_api(env, who):
    return api_status(
        env.client.get(f"/api/v1/key-people/{env.data.id}", headers=who.headers).status_code, {200}
    )


def _key_register_web(env, who):
    return web_status(browser(env.app, who).get("/key-people/new").status_code)


def _key_register_api(env, who):
    unit = who.user.unit
    body = {
        "name": f"信访人{who.username}",
        "kind": "重点信访人员",
        "node": unit.node.code,
        "unit": unit.code,
        "measures": "每月约谈。",
        "review_days": 30,
    }
    return api_status(
        env.client.post("/api/v1/key-people", json=body, headers=who.headers).status_code, {201}
    )


def _leader_web(env, who):
    r = browser(env.app, who).get(f"/disputes/{env.data}")
    return r.status_code == 200 and 'data-testid="case-leader-form"' in r.get_data(as_text=True)


def _leader_api(env, who):
    body = {"name": "王建国", "post": "镇党委副书记", "since": "2026-01-05"}
    r = env.client.put(f"/api/v1/disputes/{env.data}/leader", json=body, headers=who.headers)
    return api_status(r.status_code, {200})


# 排查 findings: a sweep report of 新家园社区第1网格 filed by its grid worker, with one finding.
def _sweep_setup(env):
    r = env.client.post(
        "/api/v1/screenings", json={"node": env.w.grid_a.code, "found": 0}, headers=env.w.grid_a_user.headers
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _sweep_args(env, who):
    return (who.user, db.session.get(Screening, env.data))


def _see_sweep_web(env, who):
    return web_status(browser(env.app, who).get(f"/reports/screening/{env.data}").status_code)


def _see_sweep_api(env, who):
    return api_status(
        env.client.get(f"/api/v1/screenings/{env.data}", headers=who.headers).status_code, {200}
    )


def _finding_count() -> int:
    return count(SweepFinding)


def _work_sweep_web(env, who):
    client = browser(env.app, who)
    before = _finding_count()
    r = client.post(
        f"/reports/screening/{env.data}/findings",
        data={
            "csrf_token": csrf(client, "/followups/"),
            "description": f"网页{who.username}",
            "category": "邻里",
        },
    )
    web_status(r.status_code)
    return _finding_count() == before + 1


def _work_sweep_api(env, who):
    r = env.client.post(
        f"/api/v1/screenings/{env.data}/findings",
        json={"description": f"接口{who.username}", "category": "邻里"},
        headers=who.headers,
    )
    return api_status(r.status_code, {201})


SURFACES: dict[str, Surface] = {
    "is_center_user": Surface(
        _route_web, _route_api, setup=_pending_town_b_case, decides=False, admin_too=True
    ),
    "may_accept_walk_in": Surface(
        _walk_in_web, _walk_in_api, args=lambda env, who: (who.user, env.data), setup=_walk_in_setup
    ),
    "may_register_and_accept": Surface(_register_accept_web, _register_accept_api),
    "may_take_over": Surface(
        _take_over_web,
        _take_over_api,
        args=lambda env, who: (who.user, env.data),
        setup=_take_over_setup,
        people="all",
    ),
    "may_read_id_numbers": Surface(_id_web, _id_api, setup=_id_setup, decides=False),
    "may_issue_supervision": Surface(_supervise_web, _supervise_api, decides=False),
    "may_write": Surface(_draft_web, _draft_api, decides=False),
    "may_read_documents": Surface(_case_file_web, _case_file_api, setup=_id_setup, decides=False),
    "may_review": Surface(_review_web, _review_api),
    "may_issue_notice": Surface(
        _issue_notice_web, _issue_notice_api, args=lambda env, who: (who.user, env.w.town_a)
    ),
    "may_see_notice": Surface(
        _see_notice_web,
        _see_notice_api,
        args=lambda env, who: (who.user, db.session.get(Notice, env.data.id)),
        setup=_notice_setup,
    ),
    "may_use_court_page": Surface(_court_web, _court_api),
    "may_refer": Surface(_refer_web, _refer_api),
    "may_edit_mediator": Surface(
        _edit_mediator_web,
        _edit_mediator_api,
        args=lambda env, who: (who.user, env.data),
        setup=_mediator_setup,
    ),
    "may_read_mediator_phones": Surface(
        _mediator_phone_web, _mediator_phone_api, setup=_mediator_setup, decides=False
    ),
    "may_see_sweep": Surface(_see_sweep_web, _see_sweep_api, args=_sweep_args, setup=_sweep_setup),
    "may_work_on_sweep": Surface(_work_sweep_web, _work_sweep_api, args=_sweep_args, setup=_sweep_setup),
    "may_assign_case_mediators": Surface(
        _assign_web,
        _assign_api,
        args=lambda env, who: (who.user, db.session.get(Dispute, env.data.id)),
        setup=_assign_setup,
    ),
    "may_see_key_people": Surface(_key_list_web, _key_list_api, setup=_key_entry_setup),
    "may_see_entry": Surface(
        _key_entry_web, _key_entry_api, args=lambda env, who: (who.user, env.data), setup=_key_entry_setup
    ),
    "may_manage_key_people": Surface(_key_register_web, _key_register_api),
    "may_set_case_leader": Surface(
        _leader_web,
        _leader_api,
        args=lambda env, who: (who.user, db.session.get(Dispute, env.data)),
        setup=lambda env: make_case(env.client, env.w, Stage.HANDLING),
        decides=False,
    ),
}

# Rules only one surface asks (the API has no such endpoint), or whose web and API are checked against
# each other in their area's tests, with where they are tested.
ONE_SURFACE: dict[str, str] = {
    "is_admin": "the admin pages (tokens, seals, routing rules); tests/test_accounts_hardening.py, the matrix",
    "may_revoke_token": "web only (API tokens are managed on the account page); tests/test_accounts_hardening.py",
    "may_manage_seals": "web only (/admin/seals); the API has no seal upload; tests/test_documents_web.py",
    "may_import_ledger": "web and CLI only (the ledger has no API); tests/test_ledger_web.py",
    "may_see_job": "web only (the ledger's job pages); tests/test_ledger_web.py",
    "may_sign_as_mediator": "web and API sign through documents.service.sign; tests/test_documents_web.py",
    "may_affix_seal": "web and API seal through documents.service.affix_seal; tests/test_documents*.py",
    "may_view_outbox": "web (/admin/sms/) and CLI only; tests/test_sms.py, the security matrix (admin only)",
    "may_edit_org": "web only (the 调解组织 profile form; the API is read-only); tests/test_orgs.py, the security matrix",
    # Web and API checked against each other in their area's tests:
    "may_read_routing_rules": "tests/test_routing.py::test_web_and_api_agree_on_who_reads_and_manages_the_rules",
    "may_manage_routing_rules": "tests/test_routing.py::test_web_and_api_agree_on_who_reads_and_manages_the_rules",
    "may_close": "tests/test_month_close_access.py (web and API, every role, a town's and a village's close)",
    "may_request_reopen": "tests/test_month_close_access.py",
    "may_decide_reopen": "tests/test_month_close_access.py",
    "may_see_close": "tests/test_month_close_access.py",
    "may_see_node_closes": "the building block of may_see_close and may_view_closes_of; tests/test_month_close_access.py",
    "may_work_on_closes": "the building block of may_view_closes_of; tests/test_month_close_access.py",
    "may_view_closes_of": "tests/test_month_close_access.py::test_the_list_of_a_nodes_closes_agrees_with_the_close_page",
    # The mediators' registry (mediation/mediators/service.py):
    "may_manage_mediators": "web and CLI only (the create form and the import; the API has no create); tests/test_mediators.py",
}


def test_every_predicate_is_checked():
    for module in pkgutil.walk_packages(mediation.__path__, "mediation."):  # every @predicate registered
        importlib.import_module(module.name)
    missing = set(PREDICATES) - set(SURFACES) - set(ONE_SURFACE)
    assert not missing, f"add a row to SURFACES (or ONE_SURFACE, with the reason) for: {sorted(missing)}"
    assert not (set(SURFACES) | set(ONE_SURFACE)) - set(PREDICATES), "a row names no registered predicate"
    assert not set(SURFACES) & set(ONE_SURFACE)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_web_and_api_agree(app, client, w, name):
    surface = SURFACES[name]
    env = type("Env", (), {})()
    env.app, env.client, env.w = app, client, w
    env.data = surface.setup(env)
    rule = PREDICATES[name]
    seen = {}
    for who in w.people if surface.people == "all" else w.active:
        on_web, on_api = surface.web(env, who), surface.api(env, who)
        seen[who.username] = (on_web, on_api)
        assert on_web == on_api, f"{name}: {who.username} web {on_web}, API {on_api}"
        if surface.decides:
            assert on_web == rule(*surface.args(env, who)), f"{name}: {who.username}"
        elif on_web:  # a scope rule may refuse on top of the predicate, never let in without it
            assert rule(*surface.args(env, who)) or (
                surface.admin_too and PREDICATES["is_admin"](who.user)
            ), f"{name}: {who.username} let in without the rule"
    outcomes = set(seen.values())
    assert outcomes == {(True, True), (False, False)}, f"{name}: the world does not exercise it: {seen}"


def test_a_center_role_at_another_kind_of_unit_is_not_center_staff(app, client, w):
    """The three copies disagreed: the overdue review and the routing actor checked the role only.
    Now the one rule checks the unit too."""
    odd = w.odd_center
    assert not PREDICATES["is_center_user"](odd.user)
    assert client.get("/api/v1/reports/overdue", headers=odd.headers).status_code == 403
    dispute_id = make_case(client, w, Stage.PENDING)
    assert "route" not in _allowed_actions(type("E", (), {"client": client})(), odd, dispute_id)
    assert act(client, odd, dispute_id, "route").status_code in REFUSED


# ------------------------------------------------------------------------------- no inline role tests

SCANNED = ("views.py", "api.py", "_views.py", "_api.py")

# Written inline, to be moved by the helper who owns the area (issue 14): remove the line then.
PENDING: dict[tuple[str, str], str] = {}


def _role_tests(tree: ast.AST):
    """(function, line) of every comparison with a ``….role`` and every ``….role.in_(…)``."""

    def is_role(node) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "role"

    found = []

    def walk(node, where: str):
        for child in ast.iter_child_nodes(node):
            name = where
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{where}.{child.name}" if where else child.name
            if isinstance(child, ast.Compare) and any(is_role(x) for x in (child.left, *child.comparators)):
                found.append((name, child.lineno))
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in ("in_", "not_in")
                and is_role(child.func.value)
            ):
                found.append((name, child.lineno))
            walk(child, name)

    walk(tree, "")
    return found


def _scanned_modules():
    return sorted(
        p for p in (ROOT / "mediation").rglob("*.py") if p.name.endswith(SCANNED) and "demo" not in p.parts
    )


def test_no_inline_role_test_in_views_and_apis():
    inline, pending_seen = [], set()
    for path in _scanned_modules():
        rel = path.relative_to(ROOT).as_posix()
        for where, line in _role_tests(ast.parse(path.read_text(encoding="utf-8"))):
            if (rel, where) in PENDING:
                pending_seen.add((rel, where))
            else:
                inline.append(f"{rel}:{line} in {where or 'module'}")
    assert not inline, "role tests written inline (make them a @predicate): " + "; ".join(inline)
    assert pending_seen == set(PENDING), f"moved already, drop from PENDING: {set(PENDING) - pending_seen}"


def test_no_inline_role_test_in_templates():
    hits = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "templates").rglob("*.html"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"user\.role\s*(==|!=|in\b|not\s+in\b)", line)
    ]
    assert not hits, "role tests in templates (use predicates.<name>(current_user)): " + "; ".join(hits)


def test_the_scanner_sees_what_it_must():
    src = (
        "def a(u):\n    return u.role == 'x'\n"
        "class V:\n    def get(self):\n        if current_user.role not in (1, 2): pass\n"
        "def b():\n    return select(User).where(User.role.in_([1]))\n"
        "def c(p):\n    return p.kind == 'role'\n"
    )
    assert _role_tests(ast.parse(src)) == [("a", 2), ("V.get", 5), ("b", 7)]
    assert any(p.name == "workflow_views.py" for p in _scanned_modules())
    assert any(p.name == "api.py" and p.parent.name == "reports" for p in _scanned_modules())
