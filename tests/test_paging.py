"""One way to page (issue 14): every paged API answer is the same envelope (items, total, page,
per_page, pages), every paged web page the same pager keeping its filters, every list refuses
out-of-range ``page`` / ``per_page`` with a Chinese message, and no module cuts a page out of a
query by hand (``.offset(``) outside ``mediation/common/paging.py``."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from mediation import clock
from mediation.accounts.models import ApiToken
from mediation.common.enums import OrgKind
from mediation.common.paging import MAX_PAGE, Page, PageArgs, PageOut
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus, Notification, NotificationKind
from mediation.keypeople.models import KeyEntry, KeyKind
from mediation.mediators.models import Background, Employment, Mediator
from mediation.orgs.models import MediationOrg
from mediation.orgs.service import ensure_profiles as ensure_org_profiles
from tests.conftest import login
from tests.reports_data import case as report_case
from tests.workflow_support import make_referred_case

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mediation"
ENVELOPE = {"items", "total", "page", "per_page", "pages"}
# The paged endpoints of the API (the spec must document ``page`` on exactly these).
API_LISTS = {
    "/api/v1/disputes",
    "/api/v1/followups",
    "/api/v1/notifications",
    "/api/v1/supervisions",
    "/api/v1/court-referrals",
    "/api/v1/reports/overdue",
    "/api/v1/orgs",
    "/api/v1/mediators",
    "/api/v1/key-people",
}


@pytest.fixture
def lists(app, client, world):
    """Three of everything each paged list shows, for the district 综治中心 (qu_center) and the court."""
    w = world
    today = clock.today()
    cases = [
        report_case(
            w,
            w.grid_a,
            today - timedelta(days=40),
            accepted_on=today - timedelta(days=40),
            deadline=today - timedelta(days=5 + i),
            channel="人民调解",
            unit=w.committee_a,
        )
        for i in range(3)
    ]
    for i, d in enumerate(cases):
        db.session.add(
            FollowUp(
                dispute_id=d.id,
                kind=FollowUpKind.PERFORMANCE,
                anchor_on=today,
                status=FollowUpStatus.OPEN,
                unit_id=w.district_center.id,
                due_on=today + timedelta(days=i),
            )
        )
        db.session.add(
            Notification(
                user_id=w.district_staff.user.id,
                dispute_id=d.id,
                kind=NotificationKind.OVERDUE,
                key=f"paging-test-{i}",
                text=f"测试消息{i}",
            )
        )
    for _ in range(2):  # three API tokens of qu_center
        ApiToken.issue(w.district_staff.user)
    ensure_org_profiles()  # three 调解组织: the two towns' committees and 海滨区人民法院 as a 驻庭调解室
    db.session.add(MediationOrg(unit=w.court, kind=OrgKind.STATIONED))
    db.session.commit()
    for d in cases:
        r = client.post(
            f"/api/v1/reports/overdue/{d.id}/supervise", json={}, headers=w.district_staff.headers
        )
        assert r.status_code == 201, r.get_json()
    for _ in range(3):
        make_referred_case(client, w, Stage.AWAITING)
    for name in ("东港小区业主群体", "西岸拆迁户群体", "南湖渔民群体"):  # three 重点群体 of town A
        db.session.add(
            KeyEntry(
                name=name,
                is_group=True,
                group_size=20,
                kind=KeyKind.UNSTABLE_GROUP,
                node=w.village_a,
                unit=w.committee_a,
                measures="落实专人联系，定期走访。",
                review_days=30,
                next_review_on=today + timedelta(days=30),
            )
        )
    for name in ("王芳", "李明", "赵刚"):  # three mediators of the district
        db.session.add(
            Mediator(
                name=name,
                employment=Employment.FULL_TIME,
                background=Background.LAWYER,
                units=[w.committee_a],
            )
        )
    db.session.commit()
    return w


def _client_of(app, username):
    c = app.test_client()
    r = login(c, username)
    assert r.status_code in (302, 303), r.status_code
    return c


# ---------------------------------------------------------------------------------- the rule itself


def test_no_module_pages_a_query_by_hand():
    """``.offset(`` (and the page-count sums) only in the paging helper; the pager markup only in
    the macro."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "common" / "paging.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\.offset\(", r"per_page\s*-\s*1\)\s*//", r"math\.ceil\(\s*total"):
            offenders += [f"{path.relative_to(ROOT)}: {pattern}" for _ in re.finditer(pattern, text)]
    assert offenders == []
    templates = ROOT / "templates"
    markup = [
        str(p.relative_to(ROOT))
        for p in sorted(templates.rglob("*.html"))
        if 'class="pagination"' in p.read_text(encoding="utf-8") and p.name != "_pager.html"
    ]
    assert markup == []


def test_page_arithmetic():
    assert Page(items=[], total=0, page=1, per_page=20).pages == 0
    assert Page(items=[], total=20, page=1, per_page=20).pages == 1
    assert Page(items=[], total=21, page=2, per_page=20).pages == 2
    p = Page(items=[1], total=41, page=2, per_page=20)
    assert p.has_prev and p.has_next and set(p.envelope()) == ENVELOPE
    assert p.envelope(unread=3)["unread"] == 3
    sized = PageArgs.sized(50, 500)
    assert sized is PageArgs.sized(50, 500) and issubclass(sized, PageArgs)
    assert sized().load({}) == {"page": 1, "per_page": 50}
    assert sized().validate({"per_page": 501}) == {"per_page": ["每页条数应在1到500之间。"]}
    assert PageArgs().validate({"page": MAX_PAGE + 1}) == {"page": [f"页码应在1到{MAX_PAGE}之间。"]}


# ------------------------------------------------------------------------------------------ the API


def _paged_paths(spec) -> dict[str, dict]:
    return {
        path: item["get"]
        for path, item in spec["paths"].items()
        if any(p["name"] == "page" for p in item.get("get", {}).get("parameters", []))
    }


def _response_schema(spec, operation) -> dict:
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_every_api_list_documents_the_same_arguments_and_envelope(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paged = _paged_paths(spec)
    assert set(paged) == API_LISTS
    for path, operation in paged.items():
        params = {p["name"]: p for p in operation["parameters"]}
        assert params["page"]["schema"]["minimum"] == 1 and params["page"]["schema"]["maximum"] == MAX_PAGE
        assert params["per_page"]["schema"]["minimum"] == 1, path
        assert params["per_page"]["description"].startswith("每页条数，默认"), path
        properties = _response_schema(spec, operation)["properties"]
        assert ENVELOPE <= set(properties), (path, sorted(properties))
        for key in ENVELOPE - {"items"}:  # the fields of PageOut, not look-alikes
            assert properties[key]["type"] == "integer", (path, key)
            assert properties[key]["description"] == PageOut._declared_fields[key].metadata["description"]


def test_every_api_list_answers_the_envelope_and_refuses_out_of_range_paging(client, lists):
    w = lists
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operation in _paged_paths(spec).items():
        headers = (w.court_user if path == "/api/v1/court-referrals" else w.district_staff).headers
        maximum = {p["name"]: p for p in operation["parameters"]}["per_page"]["schema"]["maximum"]
        r = client.get(path, query_string={"per_page": 1, "page": 2}, headers=headers)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:300])
        body = r.get_json()
        assert ENVELOPE <= set(body), (path, sorted(body))
        assert body["page"] == 2 and body["per_page"] == 1 and len(body["items"]) == 1, path
        assert body["total"] >= 3 and body["pages"] == body["total"], path
        # Out of range, one key at a time: 422 with the Chinese message of that key.
        for key, value, message in (
            ("page", 0, f"页码应在1到{MAX_PAGE}之间。"),
            ("page", MAX_PAGE + 1, f"页码应在1到{MAX_PAGE}之间。"),
            ("per_page", 0, f"每页条数应在1到{maximum}之间。"),
            ("per_page", maximum + 1, f"每页条数应在1到{maximum}之间。"),
            ("page", "abc", "应为整数。"),
        ):
            r = client.get(path, query_string={key: value}, headers=headers)
            assert r.status_code == 422, (path, key, value, r.status_code)
            assert r.get_json()["errors"]["query"][key] == [message], (path, key, value)
        # Past the last page: an empty page, not an error.
        body = client.get(path, query_string={"page": 999}, headers=headers).get_json()
        assert body["items"] == [] and body["page"] == 999 and body["total"] >= 3, path


# ---------------------------------------------------------------------------------------- the pages

# (endpoint URL, who, the list's own filters the page links must keep)
WEB_LISTS = [
    ("/disputes/", "qu_center", {"category": "邻里"}),
    ("/followups/", "qu_center", {"scope": "all", "status": "待办"}),
    ("/notifications/", "qu_center", {"unread": "1"}),
    ("/reports/overdue", "qu_center", {"level": "超期"}),
    ("/court/", "court", {"state": "open"}),
    ("/mediators/", "qu_center", {"background": "律师"}),
    ("/account/tokens", "qu_center", {}),
    ("/admin/tokens", "admin", {"user": "qu_center"}),
    ("/orgs/", "qu_center", {"node": "120116000000"}),
    ("/key-people/", "qu_center", {"kind": "重大不稳定群体"}),
]


@pytest.mark.parametrize("url, username, filters", WEB_LISTS, ids=[u for u, _, _ in WEB_LISTS])
def test_every_web_list_has_the_one_pager_and_refuses_out_of_range_paging(app, lists, url, username, filters):
    c = _client_of(app, username)
    r = c.get(url, query_string={**filters, "per_page": "1", "page": "2"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    nav = re.search(r'<nav class="pagination" aria-label="分页">(.*?)</nav>', html, re.S)
    assert nav, url
    assert '<span class="current" aria-current="page">2</span>' in nav.group(1), url
    links = {unescape(h) for h in re.findall(r'<a href="([^"]+)"', nav.group(1))}
    assert {parse_qs(urlsplit(h).query)["page"][0] for h in links} >= {"1", "3"}, (url, links)
    for href in links:
        query = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}
        assert urlsplit(href).path == url, href
        assert query.pop("per_page") == "1" and query.pop("page"), href
        assert {k: v for k, v in query.items() if k in filters} == filters, (url, href)
    # Out of range: a Chinese message naming the field; the page still shows the list.
    for key, value, message in (
        ("page", "0", f"页码：页码应在1到{MAX_PAGE}之间。"),
        ("page", str(MAX_PAGE + 1), f"页码：页码应在1到{MAX_PAGE}之间。"),
        ("per_page", "0", "每页条数：每页条数应在1到"),
        ("per_page", "100000", "每页条数：每页条数应在1到"),
        ("page", "abc", "页码：应为整数。"),
    ):
        r = c.get(url, query_string={**filters, key: value})
        assert r.status_code == 200, (url, key, value)
        assert message in unescape(r.get_data(as_text=True)), (url, key, value)
