"""排查 that leads to 化解: the disputes a sweep report found (findings), each registered in one tap from
the report, linked to a case the user can see, or explained; found N / registered M / explained K; the
flag to the grid's 综治中心 when a finding is left open past SWEEP_REGISTER_DAYS (once); and the 双百
figure 排查闭环率 against a hand-counted fixture, the existing figures unchanged."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from mediation import clock, create_app
from mediation.demo.small import make_case
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import Notification, NotificationKind
from mediation.followups.service import run_sweep
from mediation.reports import screenings
from mediation.reports.common import Month
from mediation.reports.figures import grid_counts, shuangbai_report
from mediation.reports.models import Screening, SweepFinding
from mediation.worklist import worklist
from tests import test_migrations
from tests.conftest import csrf_token, login
from tests.factories import dispute_payload

fresh_url = test_migrations.fresh_url  # an empty database of the kind under test
TODAY = date(2026, 11, 30)
OCT = Month(2026, 10)


@pytest.fixture
def today():
    with clock.frozen(TODAY):
        yield TODAY


def sweep(client, who, node, found=0, on=None):
    body = {"node": node.code, "found": found, **({"date": on.isoformat()} if on else {})}
    r = client.post("/api/v1/screenings", json=body, headers=who.headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def add(client, who, screening_id, **body):
    body = {"description": "张三李四因宅基地边界发生争执", "category": "邻里", **body}
    return client.post(f"/api/v1/screenings/{screening_id}/findings", json=body, headers=who.headers)


def detail(client, who, screening_id):
    r = client.get(f"/api/v1/screenings/{screening_id}", headers=who.headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def town_case(client, who, node):
    r = client.post("/api/v1/disputes", json=dispute_payload(node.code), headers=who.headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# ------------------------------------------------------------------------------ the API


def test_found_registered_explained_counts(client, world, today):
    g = world.grid_a_user
    sid = sweep(client, g, world.grid_a)
    first = add(client, g, sid, parties="张三、李四")
    assert first.status_code == 201, first.get_json()
    assert add(client, g, sid, parties="张三，李四").headers.get("Idempotent-Replayed") == "true"  # a retry
    second = add(client, g, sid, description="楼道堆物引发口角", category="物业")
    third = add(client, g, sid, description="两户因停车位争吵", category="邻里")
    assert detail(client, g, sid)["counts"] == {
        "found": 3,
        "listed": 3,
        "registered": 0,
        "explained": 0,
        "open": 3,
        "complete": False,
    }

    r = client.post(f"/api/v1/sweep-findings/{first.get_json()['id']}/register", json={}, headers=g.headers)
    assert r.status_code == 201, r.get_json()
    case = db.session.get(Dispute, r.get_json()["case_id"])
    assert r.get_json()["state"] == "已登记" and r.get_json()["case_no"] == case.case_no
    assert case.summary == "张三李四因宅基地边界发生争执" and case.category == "邻里"
    assert case.source == "网格员排查" and case.node_id == world.grid_a.id
    assert [(p.role, p.name) for p in case.parties] == [("申请人", "张三"), ("被申请人", "李四")]

    existing = town_case(client, world.center_user_a, world.grid_a)
    r = client.post(
        f"/api/v1/sweep-findings/{second.get_json()['id']}/link",
        json={"case_no": existing["case_no"]},
        headers=g.headers,
    )
    assert r.status_code == 200 and r.get_json()["state"] == "已关联", r.get_json()
    r = client.post(
        f"/api/v1/sweep-findings/{third.get_json()['id']}/explain",
        json={"reason": "当场化解", "note": "网格员当场调解，双方和解"},
        headers=g.headers,
    )
    assert r.status_code == 200 and r.get_json()["state"] == "已说明"
    body = detail(client, g, sid)
    assert body["counts"] == {
        "found": 3,
        "listed": 3,
        "registered": 2,
        "explained": 1,
        "open": 0,
        "complete": True,
    }
    assert [f["state"] for f in body["findings"]] == ["已登记", "已关联", "已说明"]
    # one of the three, once: a second action is refused
    r = client.post(f"/api/v1/sweep-findings/{third.get_json()['id']}/register", json={}, headers=g.headers)
    assert r.status_code == 409 and "已处理" in r.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 2


def test_field_errors_are_chinese_and_named(client, world, today):
    g = world.grid_a_user
    sid = sweep(client, g, world.grid_a)
    r = add(client, g, sid, category="不存在的类别")
    assert r.status_code == 422 and r.get_json()["errors"]["json"]["category"] == ["未知的纠纷类别。"]
    r = add(client, g, sid, node=world.grid_b.code)
    assert r.status_code == 422 and "网格" in r.get_json()["errors"]["json"]["node"][0]
    r = add(client, g, sid, description="")
    assert r.status_code == 422 and "description" in r.get_json()["errors"]["json"]
    fid = add(client, g, sid).get_json()["id"]
    r = client.post(f"/api/v1/sweep-findings/{fid}/explain", json={"reason": "其他"}, headers=g.headers)
    assert r.status_code == 422 and r.get_json()["errors"]["json"]["note"] == ["选择“其他”时请写明原因。"]
    r = client.post(f"/api/v1/sweep-findings/{fid}/explain", json={"reason": "没空"}, headers=g.headers)
    assert r.status_code == 422 and "当场化解" in r.get_json()["errors"]["json"]["reason"][0]
    r = client.post(f"/api/v1/sweep-findings/{fid}/register", json={"parties": []}, headers=g.headers)
    assert r.status_code == 422 and "parties" in r.get_json()["errors"]["json"]  # no names: say so
    assert db.session.get(SweepFinding, fid).is_open
    # the report's count cannot fall below the findings listed
    r = client.post("/api/v1/screenings", json={"node": world.grid_a.code, "found": 0}, headers=g.headers)
    assert r.status_code == 422 and "不能少于1" in r.get_json()["errors"]["json"]["found"][0]


def test_linking_only_to_visible_cases(client, web, world, today):
    g = world.grid_a_user
    sid = sweep(client, g, world.grid_a)
    fid = add(client, g, sid).get_json()["id"]
    other = town_case(client, world.center_user_b, world.village_b)  # 双港镇: not the grid worker's
    r = client.post(
        f"/api/v1/sweep-findings/{fid}/link", json={"case_no": other["case_no"]}, headers=g.headers
    )
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["case_no"] == ["未找到该案号的案件，或您无权查看该案件。"]
    mine = town_case(client, world.center_user_a, world.grid_a)
    web.login("grid_a")
    page = web.client.get(f"/reports/sweep-findings/{fid}/link").get_data(as_text=True)
    assert mine["case_no"] in page and other["case_no"] not in page
    page = web.client.get(f"/reports/sweep-findings/{fid}/link?q={other['case_no']}").get_data(as_text=True)
    assert "没有找到您可查看的案件" in page and f'name="case_no" value="{other["case_no"]}"' not in page
    token = csrf_token(web.client, f"/reports/sweep-findings/{fid}/link")
    r = web.client.post(
        f"/reports/sweep-findings/{fid}/link", data={"csrf_token": token, "case_no": mine["case_no"]}
    )
    assert r.status_code == 303
    f = db.session.get(SweepFinding, fid)
    db.session.refresh(f)
    assert f.dispute.case_no == mine["case_no"] and f.linked


def test_who_sees_and_acts(client, world, today):
    sid = sweep(client, world.grid_a_user, world.grid_a)
    fid = add(client, world.grid_a_user, sid).get_json()["id"]
    for who in (world.center_user_b, world.mediator_a, world.court_user):
        assert client.get(f"/api/v1/screenings/{sid}", headers=who.headers).status_code == 404
        r = client.post(
            f"/api/v1/sweep-findings/{fid}/explain", json={"reason": "当场化解"}, headers=who.headers
        )
        assert r.status_code == 404
    assert client.get(f"/api/v1/screenings/{sid}", headers=world.admin.headers).status_code == 200
    r = client.post(
        f"/api/v1/sweep-findings/{fid}/explain", json={"reason": "当场化解"}, headers=world.admin.headers
    )
    assert r.status_code == 403
    # the 综治中心 of the grid reads and acts
    assert add(client, world.center_user_a, sid, description="综治中心补充的线索").status_code == 201
    r = client.post(
        f"/api/v1/sweep-findings/{fid}/explain",
        json={"reason": "不属于纠纷"},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 200


# ------------------------------------------------------------------------------ the web, one tap


def test_one_tap_registration_prefills_and_links(client, web, world, today):
    g = world.grid_a_user
    sid = sweep(client, g, world.grid_a)
    fid = add(client, g, sid, parties="王五、赵六", category="物业").get_json()["id"]
    web.login("grid_a")
    page = web.client.get(f"/reports/screening/{sid}").get_data(as_text=True)
    assert "发现1件，登记0件" in page and f'href="/disputes/new?finding={fid}"' in page
    form = web.client.get(f"/disputes/new?finding={fid}").get_data(as_text=True)
    assert f'name="finding" value="{fid}"' in form
    assert "张三李四因宅基地边界发生争执</textarea>" in form
    assert re.search(r'value="王五"', form) and re.search(r'value="赵六"', form)
    assert re.search(r'<option value="物业"\s+selected', form)
    assert re.search(r'<option value="网格员排查"\s+selected', form)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    idem = re.search(r'name="idempotency_token" value="([^"]+)"', form).group(1)
    data = {
        "csrf_token": token,
        "idempotency_token": idem,
        "finding": str(fid),
        "category": "物业",
        "source": "网格员排查",
        "summary": "张三李四因宅基地边界发生争执",
        "node": world.grid_a.code,
        "risk_level": "一般",
        "parties-0-role": "申请人",
        "parties-0-kind": "自然人",
        "parties-0-name": "王五",
        "parties-1-role": "被申请人",
        "parties-1-kind": "自然人",
        "parties-1-name": "赵六",
    }
    r = web.client.post("/disputes/new", data=data)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/reports/screening/{sid}")
    r2 = web.client.post("/disputes/new", data=data)  # the same form again: not a second case
    assert r2.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 1
    f = db.session.get(SweepFinding, fid)
    db.session.refresh(f)
    assert f.dispute is not None and f.dispute.category == "物业" and not f.linked
    page = web.client.get(f"/reports/screening/{sid}").get_data(as_text=True)
    assert "发现1件，登记1件" in page and f.dispute.case_no in page
    again = web.client.get(f"/disputes/new?finding={fid}")  # done already: back to the report
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/reports/screening/{sid}")


def test_a_finding_of_another_town_is_not_prefilled(client, web, world, today):
    sid = sweep(client, world.grid_a_user, world.grid_a)
    fid = add(client, world.grid_a_user, sid).get_json()["id"]
    login(web.client, "center_b")
    assert web.client.get(f"/disputes/new?finding={fid}").status_code == 404
    assert web.client.get(f"/reports/screening/{sid}").status_code == 404


# ------------------------------------------------------------------------------ the flag, once


def test_open_findings_are_flagged_once_to_the_grids_centre(app, client, web, world):
    g = world.grid_a_user
    with clock.frozen(date(2026, 11, 20)):
        sid = sweep(client, g, world.grid_a)  # 20 November
        late = add(client, g, sid).get_json()["id"]
        done = add(client, g, sid, description="已当场化解的口角").get_json()["id"]
        client.post(f"/api/v1/sweep-findings/{done}/explain", json={"reason": "当场化解"}, headers=g.headers)
    app.config["SWEEP_REGISTER_DAYS"] = 3

    def flags():
        db.session.expire_all()
        return db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.SWEEP_OPEN)
        ).all()

    with clock.frozen(date(2026, 11, 23)):  # the third day: still within the limit
        run_sweep()
        assert flags() == []
        assert screenings.overdue_findings(world.center_user_a.user) == []
    with clock.frozen(date(2026, 11, 24)):
        run_sweep()
        run_sweep()  # twice: still once
        rows = flags()
        assert [(n.user_id, n.key) for n in rows] == [(world.center_user_a.user.id, f"sweep-finding:{late}")]
        assert "已超过3天未登记也未说明" in rows[0].text and rows[0].link == f"/reports/screening/{sid}"
        assert db.session.get(SweepFinding, late).flagged_at is not None
        assert [f.id for f in screenings.overdue_findings(world.center_user_a.user)] == [late]
        assert screenings.overdue_findings(world.center_user_b.user) == []
        assert worklist(world.center_user_a.user).counts["排查未登记"] == 1
        assert worklist(world.center_user_b.user).counts["排查未登记"] == 0
        assert worklist(g.user).counts["排查未登记"] == 0
        web.login("center_a")
        page = web.client.get("/reports/sweep-findings/overdue").get_data(as_text=True)
        assert "超过3天未登记（1件）" in page and f"/reports/screening/{sid}" in page
        r = client.get("/api/v1/sweep-findings/overdue", headers=world.center_user_a.headers)
        assert [f["id"] for f in r.get_json()] == [late]
        assert client.get("/api/v1/sweep-findings/overdue", headers=g.headers).status_code == 403
    with clock.frozen(date(2026, 11, 25)):
        run_sweep()
        assert len(flags()) == 1


# ------------------------------------------------------------------------------ the figure


def hand_counted(world):
    """October in 海滨区 (grid A of 海滨街道, grid B of 双港镇), by hand:

    grid A: 10-02 zero report — complete; 10-09 found 2, one registered (linked), one explained —
    complete; 10-16 found 2, one explained, one open — NOT; 10-23 found 3, two listed, both
    explained — NOT (one not listed). grid B: 10-05 found 1, explained — complete. September's report
    (grid A, open finding) is not in October. District: 5 sweeps, 3 complete → 0.6; 海滨街道 4 / 2 → 0.5;
    双港镇 1 / 1 → 1.0."""
    ga, gb = world.grid_a_user.user, world.center_user_b.user
    case = make_case(world)

    def s(node, user, day, found, *states):
        row = Screening(node=node, user=user, reported_on=day, found=found)
        for st in states:
            f = SweepFinding(description="发现的纠纷", category="邻里", node=node)
            if st == "case":
                f.dispute, f.linked = case, True
            elif st == "explained":
                f.explained_reason = "当场化解"
            row.findings.append(f)
        db.session.add(row)

    s(world.grid_a, ga, date(2026, 10, 2), 0)
    s(world.grid_a, ga, date(2026, 10, 9), 2, "case", "explained")
    s(world.grid_a, ga, date(2026, 10, 16), 2, "explained", "open")
    s(world.grid_a, ga, date(2026, 10, 23), 3, "explained", "explained")
    s(world.grid_b, gb, date(2026, 10, 5), 1, "explained")
    s(world.grid_a, ga, date(2026, 9, 30), 1, "open")
    db.session.commit()


def test_sweep_closure_rate_against_a_hand_counted_fixture(app, client, web, world):
    before = shuangbai_report(world.district, OCT)
    hand_counted(world)
    after = shuangbai_report(world.district, OCT)
    assert (after["sweeps"], after["sweeps_complete"], after["sweep_closure_rate"]) == (5, 3, 0.6)
    a = screenings.sweep_closure(world.town_a, OCT)
    b = screenings.sweep_closure(world.town_b, OCT)
    assert (a, b) == (
        {"sweeps": 4, "sweeps_complete": 2, "sweep_closure_rate": 0.5},
        {"sweeps": 1, "sweeps_complete": 1, "sweep_closure_rate": 1.0},
    )
    assert screenings.sweep_closure(world.town_a, OCT.shift(-1))["sweep_closure_rate"] == 0.0
    # the existing figures under their names: 排查率 still counts a grid with any report (zero or not)
    assert (after["grids_total"], after["grids_reported"], after["screening_rate"]) == (2, 2, 1.0)
    assert grid_counts(world.district, OCT) == (2, 2)
    for key in (
        "in_scope",
        "resolved",
        "stabilized",
        "resolve_or_stabilize_rate",
        "civil_to_criminal",
        "by_venue",
    ):
        assert after[key] == before[key], key
    r = client.get(
        "/api/v1/reports/shuangbai",
        query_string={"node": world.district.code, "month": OCT.key},
        headers=world.district_staff.headers,
    )
    assert r.get_json()["sweep_closure_rate"] == 0.6 and r.get_json()["screening_rate"] == 1.0
    # the drill-down is a list of sweep reports (not of cases), and agrees with the figure
    web.login("qu_center")
    page = web.client.get(f"/reports/shuangbai?node={world.district.code}&month={OCT.key}").get_data(
        as_text=True
    )
    assert "排查闭环率" in page and re.search(r"60(\.0)?%", page)
    listing = web.client.get(f"/reports/sweeps?node={world.district.code}&month={OCT.key}").get_data(
        as_text=True
    )
    assert re.search(r'data-testid="sweeps-total">5<', listing)
    listing = web.client.get(
        f"/reports/sweeps?node={world.district.code}&month={OCT.key}&incomplete=1"
    ).get_data(as_text=True)
    assert re.search(r'data-testid="sweeps-total">2<', listing)
    assert web.client.get(f"/reports/sweeps?node={world.town_b.code}&month={OCT.key}").status_code == 200
    other = app.test_client()
    login(other, "center_b")
    r = other.get(f"/reports/sweeps?node={world.town_a.code}&month={OCT.key}")
    assert r.status_code in (403, 404, 422)


def test_a_zero_report_is_complete_and_a_count_without_findings_is_not(world):
    db.session.add_all(
        [
            Screening(node=world.grid_a, user=world.grid_a_user.user, reported_on=date(2026, 10, 1), found=0),
            Screening(node=world.grid_a, user=world.grid_a_user.user, reported_on=date(2026, 10, 2), found=1),
        ]
    )
    db.session.commit()
    assert screenings.sweep_closure(world.district, OCT) == {
        "sweeps": 2,
        "sweeps_complete": 1,
        "sweep_closure_rate": 0.5,
    }


# ------------------------------------------------------------------------------ the migration


def test_the_migration_adds_the_findings_table_and_its_downgrade_drops_it(fresh_url):
    """a7d2e9c4b1f6: sweep_finding with its registered-or-explained check and the cascade from its
    sweep report; the downgrade removes it and leaves the sweep reports."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="f3c9a1d27b64")
        assert "sweep_finding" not in inspect(db.engine).get_table_names()
        upgrade(revision="a7d2e9c4b1f6")
        insp = inspect(db.engine)
        checks = {c["name"] for c in insp.get_check_constraints("sweep_finding")}
        assert "ck_sweep_finding_registered_or_explained" in checks
        fks = {fk["referred_table"]: fk for fk in insp.get_foreign_keys("sweep_finding")}
        assert fks["screening"]["options"].get("ondelete") == "CASCADE"
        downgrade(revision="f3c9a1d27b64")
        tables = set(inspect(db.engine).get_table_names())
        assert "sweep_finding" not in tables and "screening" in tables
        db.engine.dispose()
