"""我的待办 (mediation.worklist): each kind appears for the user it is for and not for another unit's
user, the counts, the API returning the page's items, and sign-in landing on the page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from mediation import clock
from mediation.common.enums import Status
from mediation.disputes.casework import MediationSession
from mediation.documents import service as documents
from mediation.extensions import db
from mediation.followups import service as followups
from mediation.followups.models import FollowUpKind
from mediation.reports import month_close
from mediation.reports.common import Month
from mediation.worklist import KINDS, worklist
from tests.documents_helpers import AGREEMENT
from tests.reports_data import case
from tests.test_followups_support import make_case

TODAY = date(2026, 11, 16)


@pytest.fixture
def today(app):
    clock.set(TODAY)
    yield TODAY
    clock.reset()


def kinds_of(user, dispute) -> set[str]:
    """The kinds under which the case is in the user's worklist."""
    return {i.kind for i in worklist(user.user, TODAY).items if i.dispute_id == dispute.id}


@pytest.fixture
def cases(world, today):
    """One case for every kind, all of 海滨街道 (centre ZZ-A, lead unit TW-A, mediator_a)."""
    w = world
    c = {}
    c["pending"] = make_case(w, status=Status.PENDING)
    c["pending"].channel = None
    c["pending"].unit = None
    c["awaiting"] = make_case(w)  # routed to TW-A, not accepted
    c["overdue"] = make_case(w, accepted_on=TODAY - timedelta(days=40), deadline=TODAY - timedelta(days=10))
    c["warning"] = make_case(w, accepted_on=TODAY - timedelta(days=25), deadline=TODAY + timedelta(days=5))
    c["normal"] = make_case(w, accepted_on=TODAY - timedelta(days=2), deadline=TODAY + timedelta(days=28))
    c["session"] = make_case(w, accepted_on=TODAY - timedelta(days=2), deadline=TODAY + timedelta(days=28))
    db.session.add(
        MediationSession(
            dispute=c["session"],
            held_on=TODAY,
            place="调解室",
            mediators="调解员甲",
            attendees="张三、李四",
            record="双方陈述。",
        )
    )
    c["followup"] = make_case(w, status=Status.CLOSED, accepted_on=TODAY - timedelta(days=30))
    followups.create_followup(
        c["followup"], FollowUpKind.SATISFACTION, TODAY - timedelta(days=20), TODAY - timedelta(days=1)
    )
    c["followup_later"] = make_case(w, status=Status.CLOSED, accepted_on=TODAY - timedelta(days=30))
    followups.create_followup(
        c["followup_later"], FollowUpKind.SATISFACTION, TODAY, TODAY + timedelta(days=3)
    )
    c["supervised"] = make_case(w, accepted_on=TODAY - timedelta(days=3), deadline=TODAY + timedelta(days=27))
    followups.issue_supervision(w.center_user_a.user, c["supervised"], "普通", TODAY + timedelta(days=3))
    c["signing"] = make_case(w, accepted_on=TODAY - timedelta(days=3), deadline=TODAY + timedelta(days=27))
    agreement = documents.draft_agreement(w.mediator_a.user, c["signing"], AGREEMENT)
    documents.submit_for_signing(w.mediator_a.user, agreement)
    # last month's open 突出问题 of 海滨街道 without a carry-over reason
    c["prominent"] = case(w, w.grid_a, date(2026, 10, 5), prominent=True)
    db.session.commit()
    return c


def test_each_kind_is_for_the_right_user(world, cases):
    w, c = world, cases
    assert kinds_of(w.center_user_a, c["pending"]) == {"待分流"}
    assert kinds_of(w.mediator_a, c["awaiting"]) == {"待受理"}
    assert kinds_of(w.mediator_a, c["overdue"]) == {"超期"}
    assert kinds_of(w.mediator_a, c["warning"]) == {"预警"}
    assert kinds_of(w.mediator_a, c["normal"]) == set()
    assert kinds_of(w.mediator_a, c["session"]) == {"今日调解"}
    assert kinds_of(w.mediator_a, c["followup"]) == {"回访"}
    assert kinds_of(w.mediator_a, c["followup_later"]) == set()  # not due yet
    assert kinds_of(w.mediator_a, c["supervised"]) == {"督办"}
    assert kinds_of(w.mediator_a, c["signing"]) == {"待签署"}
    assert kinds_of(w.center_user_a, c["prominent"]) == {"月结"}

    # another unit's users see none of it, though the district centre may see the cases: it only
    # has the 突出问题 to explain for its own month close (its subtree's, month_close.missing_reasons)
    for other in (w.mediator_b, w.center_user_b):
        assert not [i for i in worklist(other.user, TODAY).items if i.dispute_id is not None], other
    assert [(i.kind, i.dispute_id) for i in worklist(w.district_staff.user, TODAY).items if i.dispute_id] == [
        ("月结", c["prominent"].id)
    ]
    # the mediator does not triage, and the centre does not accept for the 调委会
    assert kinds_of(w.mediator_a, c["pending"]) == set()
    assert kinds_of(w.center_user_a, c["awaiting"]) == set()
    assert kinds_of(w.center_user_a, c["overdue"]) == set()


def test_counts_and_order(world, cases):
    w, c = world, cases
    wl = worklist(w.mediator_a.user, TODAY)
    assert set(wl.counts) == set(KINDS)
    assert wl.counts == {
        **{k: 0 for k in KINDS},
        "超期": 1,
        "预警": 1,
        "待受理": 1,
        "今日调解": 1,
        "回访": 1,
        "督办": 1,
        "待签署": 1,
    }
    assert wl.total == 7 == len(wl.items)
    assert [i.kind for i in wl.items][:2] == ["超期", "预警"]
    overdue = wl.of("超期")[0]
    assert overdue.due == c["overdue"].deadline and overdue.case_no == c["overdue"].case_no

    # a second overdue case counts; the earlier deadline comes first
    second = make_case(w, accepted_on=TODAY - timedelta(days=50), deadline=TODAY - timedelta(days=20))
    wl = worklist(w.mediator_a.user, TODAY)
    assert wl.counts["超期"] == 2 and [i.dispute_id for i in wl.of("超期")] == [second.id, c["overdue"].id]

    # a case handed to another mediator of the unit leaves mediator_a's list (分给我的)
    c["overdue"].handler = w.mediator_b.user  # any other user
    db.session.commit()
    assert worklist(w.mediator_a.user, TODAY).counts["超期"] == 1

    # done work leaves the list: the 督办 replied, the follow-up completed
    order = db.session.scalars(followups.supervisions_query(w.mediator_a.user, mine=True)).one()
    followups.reply_supervision(w.mediator_a.user, order, "已约双方下周调解。")
    fu = db.session.scalars(followups.followups_query(w.mediator_a.user, dispute_id=c["followup"].id)).one()
    followups.complete_followup(w.mediator_a.user, fu, "当事人表示满意。", 5)
    db.session.commit()
    counts = worklist(w.mediator_a.user, TODAY).counts
    assert counts["督办"] == 0 and counts["回访"] == 0


def test_month_close_items(world, cases):
    w, c = world, cases
    wl = worklist(w.center_user_a.user, TODAY)
    [item] = wl.of("月结")
    assert (
        item.dispute_id == c["prominent"].id and "/reports/close" in item.url and "month=2026-10" in item.url
    )
    # 双港镇 has nothing to explain: its item is the close itself
    [other] = worklist(w.center_user_b.user, TODAY).of("月结")
    assert other.dispute_id is None and "尚未结账" in other.title
    # once the reason is written, the close is what remains; once closed, nothing
    month_close.write_carry_over(
        w.center_user_a.user, c["prominent"], Month(2026, 10), "当事人住院，下月继续。"
    )
    db.session.commit()
    [item] = worklist(w.center_user_a.user, TODAY).of("月结")
    assert item.dispute_id is None
    close = month_close.close_month(w.center_user_a.user, w.town_a, Month(2026, 10), TODAY)
    db.session.commit()
    assert worklist(w.center_user_a.user, TODAY).of("月结") == []
    # a reopen request waits for the district centre it was submitted to
    month_close.request_reopen(w.center_user_a.user, close, "结转说明需要更正。")
    db.session.commit()
    assert [i.kind for i in worklist(w.district_staff.user, TODAY).items if i.kind == "月结审批"] == [
        "月结审批"
    ]
    assert worklist(w.center_user_b.user, TODAY).counts["月结审批"] == 0


def page_items(html: str) -> dict[str, list[int]]:
    """{kind: [case ids]} as the 我的待办 page lists them."""
    out = {}
    for section in re.findall(r'<section class="worklist-group".*?</section>', html, re.S):
        kind = re.search(r'data-kind="([^"]+)"', section).group(1)
        ids = [int(x) for x in re.findall(r'data-dispute="(\d+)"', section)]
        ids += [int(x) for x in re.findall(r'data-followup-case="(\d+)"', section)]
        out[kind] = ids
    return out


@pytest.mark.parametrize("username", ["mediator_a", "center_a", "mediator_b"])
def test_api_returns_the_page_items(web, client, world, cases, username):
    who = {"mediator_a": world.mediator_a, "center_a": world.center_user_a, "mediator_b": world.mediator_b}[
        username
    ]
    r = client.get("/api/v1/worklist", headers=who.headers)
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert data["today"] == TODAY.isoformat() and set(data["counts"]) == set(KINDS)
    assert data["total"] == sum(data["counts"].values())
    api = {}
    for item in data["items"]:
        assert set(item) == {"kind", "dispute_id", "case_no", "due", "title", "url"}
        if item["dispute_id"] is not None:
            api.setdefault(item["kind"], []).append(item["dispute_id"])

    web.login(username)
    html = web.client.get("/worklist/").get_data(as_text=True)
    assert {k: v for k, v in page_items(html).items() if v} == api
    for kind, n in data["counts"].items():
        if n:
            assert f'data-testid="count-{kind}">{n}<' in html
    if username == "mediator_b":
        assert data["total"] == 0 and "今天没有需要您办理的事项" in html


def test_items_link_to_their_action(web, world, cases):
    c = cases
    web.login("mediator_a")
    html = web.client.get("/worklist/").get_data(as_text=True)
    assert f'href="/disputes/{c["awaiting"].id}#action-accept"' in html
    assert f'href="/disputes/{c["overdue"].id}#workflow"' in html
    assert re.search(r'href="/supervisions/\?scope=mine#supervision-\d+"', html)
    assert re.search(r'href="/agreements/\d+"', html)
    # the 回访 due is done right on the page: its form is there
    assert re.search(r'action="/followups/\d+/complete"', html)
    page = web.client.get(f"/disputes/{c['awaiting'].id}").get_data(as_text=True)
    assert 'id="action-accept"' in page and "open-target.js" in page
    sup = web.client.get("/supervisions/?scope=mine").get_data(as_text=True)
    assert re.search(r'id="supervision-\d+"', sup)


def test_sign_in_lands_on_the_worklist(web, world, today):
    r = web.login("mediator_a")
    assert r.status_code == 302 and r.headers["Location"] == "/worklist/"
    assert web.client.get("/").headers["Location"].endswith("/worklist/")
    html = web.client.get("/worklist/").get_data(as_text=True)
    assert "我的待办" in html and 'aria-current="page">我的待办' in html


def test_worklist_needs_sign_in(client, world):
    assert client.get("/worklist/").status_code == 302
    assert client.get("/api/v1/worklist").status_code == 401


def test_worklist_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/worklist"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/WorklistOut")
    schema = spec["components"]["schemas"]["WorklistOut"]
    assert set(schema["properties"]) == {"today", "total", "counts", "items"}
    item = spec["components"]["schemas"]["WorklistItemOut"]
    assert {"kind", "dispute_id", "case_no", "due"} <= set(item["properties"])
    # the case list documents its new filters and the whitelisted sort keys
    params = {p["name"]: p for p in spec["paths"]["/api/v1/disputes"]["get"]["parameters"]}
    assert {"stage", "level", "unit", "mine", "sort"} <= set(params)
