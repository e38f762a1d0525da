"""调解组织: the profile of a mediation organisation, the registry (filters, API, Excel), who may edit a
profile, and the coverage of villages and communities by a 村（居）人民调解委员会 against a hand count."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from mediation.common.enums import Channel, Industry, NodeLevel, OrgKind, UnitType
from mediation.common.time import local_today
from mediation.extensions import db
from mediation.orgs.models import MediationOrg
from mediation.orgs.service import coverage, default_kind, ensure_profiles
from tests.conftest import login
from tests.factories import node, unit


def as_user(app, who: str):
    """A fresh browser signed in as ``who``."""
    client = app.test_client()
    assert login(client, who).status_code in (302, 303), who
    return client


def profile(u, kind, **kw) -> MediationOrg:
    org = MediationOrg(unit=u, kind=kind, **kw)
    db.session.add(org)
    return org


@pytest.fixture
def w(world):
    return add_orgs(world)


def add_orgs(world):
    """The standard world (海滨街道: 新家园社区; 双港镇: 双港村) plus 海韵社区 in 海滨街道 and 东堤头村,
    西小站村 in 双港镇. Hand count of 村（居）调委会: 新家园社区 and 东堤头村 have one; 双港村 has none;
    西小站村 has only an 企事业单位调委会 (not one); 海韵社区 has none. The towns' own committees (乡镇
    （街道）调委会) and a district industry committee count for no village.

        海滨区 5 places, 2 covered (40%) · 海滨街道 2 / 1 (50%) · 双港镇 3 / 1 (33.33%)"""
    w = world
    w.village_a2 = node("120116001002", "海韵社区", NodeLevel.COMMUNITY, w.town_a)
    w.village_b2 = node("120116100202", "东堤头村", NodeLevel.VILLAGE, w.town_b)
    w.village_b3 = node("120116100203", "西小站村", NodeLevel.VILLAGE, w.town_b)
    node("120116100202G01", "第1网格", NodeLevel.GRID, w.village_b2)
    w.cw_a1 = unit("CW-A1", "新家园社区人民调解委员会", UnitType.COMMITTEE, w.village_a, Channel.PEOPLE)
    w.cw_b2 = unit("CW-B2", "东堤头村人民调解委员会", UnitType.COMMITTEE, w.village_b2, Channel.PEOPLE)
    w.firm_b3 = unit("QY-B3", "西小站村某某公司人民调解委员会", UnitType.OTHER, w.village_b3, Channel.PEOPLE)
    w.medical = unit("YTW", "海滨区医疗纠纷人民调解委员会", UnitType.COMMITTEE, w.district, Channel.PEOPLE)
    db.session.flush()
    profile(w.cw_a1, OrgKind.VILLAGE, head="王主任", phone="13800138001")
    profile(w.cw_b2, OrgKind.VILLAGE)
    profile(w.firm_b3, OrgKind.ENTERPRISE)
    profile(w.committee_a, OrgKind.TOWN, head="甲主任", address="海滨街道办事处一楼")
    profile(w.committee_b, OrgKind.TOWN)
    profile(w.medical, OrgKind.INDUSTRY, industry=Industry.MEDICAL)
    db.session.commit()
    return w


# ------------------------------------------------------------------------------------ coverage


def test_coverage_matches_the_hand_count(w):
    report = coverage(w.district)
    assert (report["total"], report["covered"], report["uncovered"], report["rate"]) == (5, 2, 3, 0.4)
    towns = {t["name"]: (t["total"], t["covered"], t["uncovered"], t["rate"]) for t in report["towns"]}
    assert towns == {"海滨街道": (2, 1, 1, 0.5), "双港镇": (3, 1, 2, 0.3333)}
    assert [p["name"] for p in report["uncovered_places"]] == ["海韵社区", "双港村", "西小站村"]
    covered = {p["name"]: p["committee"] for p in report["places"] if p["covered"]}
    assert covered == {"新家园社区": "新家园社区人民调解委员会", "东堤头村": "东堤头村人民调解委员会"}

    town = coverage(w.town_b)
    assert (town["total"], town["covered"], [t["code"] for t in town["towns"]]) == (3, 1, [w.town_b.code])
    one = coverage(w.village_b2)
    assert (one["total"], one["covered"], one["rate"]) == (1, 1, 1.0)
    empty = coverage(w.grid_a)
    assert (empty["total"], empty["rate"], empty["towns"]) == (0, None, [])


def test_a_new_village_committee_raises_the_rate(w):
    profile(unit("CW-B3", "西小站村人民调解委员会", UnitType.COMMITTEE, w.village_b3), OrgKind.VILLAGE)
    db.session.commit()
    town = coverage(w.town_b)
    assert (town["covered"], [p["name"] for p in town["uncovered_places"]]) == (2, ["双港村"])


def test_coverage_page_drills_down_and_refuses_other_towns(w, web):
    web.login("qu_center")
    html = web.client.get("/orgs/coverage").get_data(as_text=True)
    assert "40.0%" in html and "2 / 5" in html
    assert f'href="/orgs/coverage?node={w.town_b.code}"' in html
    town = web.client.get(f"/orgs/coverage?node={w.town_b.code}").get_data(as_text=True)
    assert "33.3%" in town and "<strong>西小站村</strong>" in town and "东堤头村人民调解委员会" in town
    assert "<strong>海韵社区</strong>" not in town  # another town's uncovered community

    center_a = as_user(web.client.application, "center_a")
    assert center_a.get(f"/orgs/coverage?node={w.town_b.code}").status_code == 403
    mine = center_a.get("/orgs/coverage").get_data(as_text=True)
    assert "<strong>海韵社区</strong>" in mine and "西小站村" not in mine


def test_coverage_api_and_excel(w, client):
    r = client.get(f"/api/v1/orgs/coverage?node={w.district.code}", headers=w.district_staff.headers)
    assert r.status_code == 200
    body = r.get_json()
    assert (body["total"], body["covered"], body["rate"]) == (5, 2, 0.4)
    assert {t["name"]: t["covered"] for t in body["towns"]} == {"海滨街道": 1, "双港镇": 1}
    assert set(body["uncovered_places"][0]) == {
        "code",
        "name",
        "level",
        "town",
        "town_name",
        "covered",
        "committee",
    }

    r = client.get("/api/v1/orgs/coverage", headers=w.district_staff.headers)
    assert r.status_code == 422 and r.get_json()["errors"]["query"]["node"] == ["必填项。"]
    r = client.get("/api/v1/orgs/coverage?node=NOPE", headers=w.district_staff.headers)
    assert r.status_code == 422 and "未知的节点代码" in r.get_json()["errors"]["query"]["node"][0]
    r = client.get(f"/api/v1/orgs/coverage?node={w.town_a.code}", headers=w.center_user_b.headers)
    assert r.status_code == 403

    login(client, "qu_center")
    r = client.get(f"/orgs/coverage.xlsx?node={w.district.code}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.get_data()))
    rows = list(wb["按乡镇（街道）"].iter_rows(min_row=4, values_only=True))
    assert rows == [("海滨街道", 2, 1, 1, 0.5), ("双港镇", 3, 1, 2, 0.3333), ("合计", 5, 2, 3, 0.4)]
    uncovered = [r[1] for r in wb["未覆盖的村（社区）"].iter_rows(min_row=4, values_only=True)]
    assert uncovered == ["海韵社区", "双港村", "西小站村"]
    assert wb["全部村（社区）"].max_row == 3 + 5


# ------------------------------------------------------------------------------------ the registry


def test_registry_filters_by_node_and_kind(w, web):
    web.login("admin")
    html = web.client.get("/orgs/").get_data(as_text=True)
    assert "共 <strong>6</strong> 个" in html
    html = web.client.get(f"/orgs/?node={w.town_b.code}").get_data(as_text=True)
    names = re.findall(r'<a class="case-no" href="/orgs/[^"]+">([^<]+)</a>', html)
    assert names == ["双港镇人民调解委员会", "东堤头村人民调解委员会", "西小站村某某公司人民调解委员会"]
    html = web.client.get("/orgs/", query_string={"kind": OrgKind.VILLAGE.value}).get_data(as_text=True)
    assert re.findall(r'<a class="case-no" href="/orgs/[^"]+">([^<]+)</a>', html) == [
        "新家园社区人民调解委员会",
        "东堤头村人民调解委员会",
    ]
    html = web.client.get("/orgs/", query_string={"kind": "居委会"}).get_data(as_text=True)
    assert "未知的组织类型" in html and "共 <strong>6</strong> 个" in html
    html = web.client.get("/orgs/?per_page=2&page=2").get_data(as_text=True)
    assert "第 2 / 3 页" in html

    center_b = as_user(web.client.application, "center_b")
    html = center_b.get("/orgs/").get_data(as_text=True)
    assert "共 <strong>3</strong> 个" in html and "新家园社区人民调解委员会" not in html
    assert center_b.get(f"/orgs/?node={w.town_a.code}").status_code == 403
    assert center_b.get(f"/orgs/export.xlsx?node={w.town_a.code}").status_code == 403


def test_registry_api_shapes_and_errors(w, client):
    h = w.admin.headers
    r = client.get("/api/v1/orgs", query_string={"kind": OrgKind.INDUSTRY.value}, headers=h)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"items", "total", "page", "per_page", "pages"}
    assert body["total"] == 1 and body["items"][0]["industry"] == "医疗"
    assert set(body["items"][0]) == {
        "code", "name", "kind", "industry", "node", "node_name", "founded_on",
        "head", "address", "phone", "other_members", "member_count",
    }  # fmt: skip
    r = client.get(f"/api/v1/orgs?node={w.town_a.code}&per_page=1", headers=h).get_json()
    assert (r["total"], r["pages"], r["items"][0]["code"]) == (2, 2, "TW-A")
    assert r["items"][0]["member_count"] == 1  # mediator_a

    r = client.get("/api/v1/orgs?kind=居委会", headers=h)
    assert r.status_code == 422 and "未知的组织类型" in r.get_json()["errors"]["query"]["kind"][0]
    r = client.get("/api/v1/orgs?per_page=0", headers=h)
    assert r.status_code == 422 and r.get_json()["errors"]["query"]["per_page"]
    assert (
        client.get(f"/api/v1/orgs?node={w.town_a.code}", headers=w.center_user_b.headers).status_code == 403
    )
    assert client.get("/api/v1/orgs").status_code == 401

    r = client.get("/api/v1/orgs/TW-A", headers=w.center_user_a.headers)
    assert r.status_code == 200
    detail = r.get_json()
    assert (detail["head"], detail["kind"], detail["address"]) == (
        "甲主任",
        "乡镇（街道）人民调解委员会",
        "海滨街道办事处一楼",
    )
    assert detail["members"] == [{"username": "mediator_a", "name": "mediator_a", "role": "调解员"}]
    assert client.get("/api/v1/orgs/TW-A", headers=w.center_user_b.headers).status_code == 404
    assert client.get("/api/v1/orgs/ZZ-A", headers=w.admin.headers).status_code == 404  # no profile
    assert client.get("/api/v1/orgs/NOPE", headers=w.admin.headers).status_code == 404


def test_registry_excel(w, web):
    web.login("center_a")
    r = web.client.get("/orgs/export.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.get_data())).active
    assert ws.cell(3, 1).value == "单位代码" and ws.cell(3, 3).value == "组织类型"
    codes = [row[0] for row in ws.iter_rows(min_row=4, values_only=True)]
    assert codes == ["TW-A", "CW-A1"]


# ------------------------------------------------------------------------------------ editing


def _edit(client, code, **fields):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/orgs/").get_data(as_text=True))[1]
    return client.post(f"/orgs/{code}/edit", data={"csrf_token": token, **fields})


def test_who_may_edit(w, app):
    body = {"kind": OrgKind.TOWN.value, "head": "新主任"}
    for who, status in (
        ("center_b", 404),  # another town's 综治中心 does not see 海滨街道's committee
        ("mediator_a", 403),  # the committee's own mediator
        ("court", 403),
        ("grid_a", 404),  # a grid worker sees only their grid
    ):
        client = as_user(app, who)
        assert _edit(client, "TW-A", **body).status_code == status, who
        assert client.get("/orgs/TW-A/edit").status_code == status, who
    assert db.session.get(MediationOrg, w.committee_a.id).head == "甲主任"

    for who in ("center_a", "qu_center", "admin"):
        client = as_user(app, who)
        r = _edit(client, "TW-A", **{**body, "head": f"{who}改"})
        assert r.status_code == 302, (who, r.get_data(as_text=True)[:300])
        db.session.expire_all()
        assert db.session.get(MediationOrg, w.committee_a.id).head == f"{who}改"

    page = as_user(app, "mediator_a").get("/orgs/TW-A").get_data(as_text=True)
    assert "admin改" in page and "修改档案" not in page and "mediator_a" in page


def test_registering_a_unit_as_an_org_and_field_errors(w, app):
    client = as_user(app, "center_b")
    assert client.get("/orgs/PCS-B").status_code == 200  # may register it
    r = _edit(client, "PCS-B", kind=OrgKind.STATIONED.value, phone="022-25881234", founded_on="2020-05-01")
    assert r.status_code == 302
    org = db.session.get(MediationOrg, w.police_b.id)
    assert (org.kind, org.founded_on, org.phone) == (OrgKind.STATIONED, date(2020, 5, 1), "022-25881234")

    assert as_user(app, "mediator_b").get("/orgs/ZZ-B").status_code == 404  # not an org; may not register it

    cases = (
        ({}, "kind", "必填项"),
        ({"kind": OrgKind.INDUSTRY.value}, "industry", "须选择行业"),
        ({"kind": OrgKind.TOWN.value, "industry": "医疗"}, "industry", "只有行业性专业性"),
        ({"kind": OrgKind.VILLAGE.value}, "kind", "应设在村、社区一级"),
        ({"kind": OrgKind.TOWN.value, "phone": "12345"}, "phone", "电话号码格式不正确"),
        ({"kind": OrgKind.TOWN.value, "founded_on": (local_today() + timedelta(days=1)).isoformat()}, "founded_on", "不能晚于今天"),
        ({"kind": OrgKind.TOWN.value, "head": "长" * 51}, "head", "长度应在0到50"),
        ({"kind": OrgKind.INDUSTRY.value, "phone": "123"}, "industry", "须选择行业"),  # with a field error too
    )  # fmt: skip
    for fields, name, message in cases:
        r = _edit(client, "TW-B", **fields)
        html = r.get_data(as_text=True)
        assert r.status_code == 200, fields
        assert re.search(rf'<p class="field-error" id="err-{name}">[^<]*{message}', html), (
            fields,
            html[-3000:],
        )
    assert db.session.get(MediationOrg, w.committee_b.id).head is None

    r = client.post("/orgs/TW-B/edit", data={"kind": OrgKind.TOWN.value, "head": "无令牌"})
    assert r.status_code == 400  # CSRF
    assert db.session.get(MediationOrg, w.committee_b.id).head is None


# ------------------------------------------------------------------------------------ backfill


def test_default_kind_and_backfill(app):
    assert default_kind(NodeLevel.VILLAGE, "某村人民调解委员会") == (OrgKind.VILLAGE, None)
    assert default_kind(NodeLevel.COMMUNITY, "医疗社区调委会") == (OrgKind.VILLAGE, None)
    assert default_kind(NodeLevel.SUBDISTRICT, "某街道人民调解委员会") == (OrgKind.TOWN, None)
    assert default_kind(NodeLevel.TOWN, "某镇人民调解委员会") == (OrgKind.TOWN, None)
    assert default_kind(NodeLevel.DISTRICT, "区道路交通事故纠纷人民调解委员会") == (
        OrgKind.INDUSTRY,
        Industry.TRAFFIC,
    )
    assert default_kind(NodeLevel.DISTRICT, "区人民调解委员会") == (OrgKind.OTHER, None)

    d = node("120116000000", "海滨区", NodeLevel.DISTRICT)
    t = node("120116001000", "海滨街道", NodeLevel.SUBDISTRICT, d)
    v = node("120116001001", "新家园社区", NodeLevel.COMMUNITY, t)
    unit("A", "海滨区物业纠纷人民调解委员会", UnitType.COMMITTEE, d)
    unit("B", "海滨街道人民调解委员会", UnitType.COMMITTEE, t)
    unit("C", "新家园社区人民调解委员会", UnitType.COMMITTEE, v)
    unit("D", "海滨街道综治中心", UnitType.CENTER, t)
    db.session.flush()
    assert ensure_profiles() == 3
    assert ensure_profiles() == 0
    kinds = db.session.execute(
        select(MediationOrg.kind, MediationOrg.industry).order_by(MediationOrg.unit_id)
    ).all()
    assert kinds == [(OrgKind.INDUSTRY, Industry.PROPERTY), (OrgKind.TOWN, None), (OrgKind.VILLAGE, None)]


def test_registry_excel_keeps_planted_formulas_as_text(w, app):
    """A 负责人 or a members' note planted past validation (a legacy row) stays literal text."""
    org = db.session.get(MediationOrg, w.committee_a.id)
    org.head, org.other_members = '=HYPERLINK("http://evil","x")', "王某\ufffe李某"
    db.session.commit()
    r = as_user(app, "center_a").get("/orgs/export.xlsx")
    ws = load_workbook(io.BytesIO(r.get_data())).active
    head, note = ws.cell(4, 7), ws.cell(4, 11)
    assert (head.value, head.data_type) == ('=HYPERLINK("http://evil","x")', "s")
    assert note.value == "王某\ufffd李某"
