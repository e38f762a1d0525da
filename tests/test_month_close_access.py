"""Who may see and act on a month close: the rules are named predicates in ``reports.month_close``,
and the pages and the API answer the same yes/no for every role, on a town's close (submitted to the
district) and on a village's (submitted to its town).

For each role the same user acts on the same close through the API (bearer token) and the web
(signed-in session, CSRF): see the close (404 when not), ask to reopen it, decide on a reopen
request, close a month. What happened is read from the database; what one channel did is undone
before the other tries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select

from mediation.common.enums import Role, UnitType
from mediation.common.time import local_today
from mediation.extensions import db
from mediation.reports import month_close
from mediation.reports.common import Month
from mediation.reports.models import MonthClose, ReopenRequest
from tests.conftest import csrf_token, login
from tests.factories import unit, user

ROLES = ("mediator", "village_center", "town_center", "district_center", "admin", "other_town")

# (see, request reopen, decide on reopening, close the month) for each close, by role: the rules.
EXPECTED = {
    "town": {
        "mediator": (True, False, False, False),
        "village_center": (False, False, False, False),
        "town_center": (True, True, False, True),
        "district_center": (True, False, True, False),
        "admin": (True, True, True, True),
        "other_town": (False, False, False, False),
    },
    "village": {
        "mediator": (True, False, False, False),
        "village_center": (True, True, False, True),
        "town_center": (True, False, True, False),
        "district_center": (True, False, False, False),
        "admin": (True, True, True, True),
        "other_town": (False, False, False, False),
    },
}


@pytest.fixture
def closes(app, world):
    w = world
    w.village_center_unit = unit("ZZ-A1", "新家园社区综治中心", UnitType.CENTER, w.village_a)
    db.session.flush()
    w.village_center = user("village_center", Role.CENTER, w.village_center_unit)
    db.session.commit()
    month = Month.of(local_today()).shift(-1)
    town = month_close.close_month(w.center_user_a.user, w.town_a, month)
    village = month_close.close_month(w.village_center.user, w.village_a, month)
    db.session.commit()
    assert town.submitted_to_id == w.district.id and village.submitted_to_id == w.town_a.id
    users = {
        "mediator": w.mediator_a,
        "village_center": w.village_center,
        "town_center": w.center_user_a,
        "district_center": w.district_staff,
        "admin": w.admin,
        "other_town": w.center_user_b,
    }
    return SimpleNamespace(
        world=w,
        users=users,
        month=month,
        closes={"town": (town, w.center_user_a), "village": (village, w.village_center)},
    )


def _requests(close_id: int) -> int:
    return db.session.scalar(select(func.count()).where(ReopenRequest.month_close_id == close_id))


def _forget_requests(close_id: int) -> None:
    db.session.execute(delete(ReopenRequest).where(ReopenRequest.month_close_id == close_id))
    db.session.commit()


def _try_request(api, browser, who, close) -> tuple[bool, bool, bool, bool]:
    """(API saw it, API asked, web saw it, web asked) for a reopen request."""
    r = api.post(
        f"/api/v1/month-closes/{close.id}/reopen-requests",
        json={"reason": "统计数据有误，申请重新打开。"},
        headers=who.headers,
    )
    assert r.status_code in (201, 403, 404), (r.status_code, r.get_json())
    api_saw, api_asked = r.status_code != 404, _requests(close.id) == 1
    assert api_asked == (r.status_code == 201)
    _forget_requests(close.id)
    token = csrf_token(browser, "/reports/screening")
    r = browser.post(
        f"/reports/close/{close.id}/reopen",
        data={"csrf_token": token, "reason": "统计数据有误，申请重新打开。"},
    )
    assert r.status_code in (302, 303, 404), r.status_code
    web_saw, web_asked = r.status_code != 404, _requests(close.id) == 1
    _forget_requests(close.id)
    return api_saw, api_asked, web_saw, web_asked


def _try_decide(api, browser, who, close, closer) -> tuple[bool, bool]:
    """(API decided, web decided) on a pending request of the closing level (refusing it)."""
    decided = []
    for channel in ("api", "web"):
        req = month_close.request_reopen(closer.user, close, "统计数据有误，申请重新打开。")
        db.session.commit()
        if channel == "api":
            r = api.post(
                f"/api/v1/reopen-requests/{req.id}/decision",
                json={"approve": False, "note": "数据无误。"},
                headers=who.headers,
            )
            assert r.status_code in (200, 403, 404), (r.status_code, r.get_json())
        else:
            token = csrf_token(browser, "/reports/screening")
            r = browser.post(
                f"/reports/reopen/{req.id}/decide",
                data={"csrf_token": token, "decision": "refuse", "note": "数据无误。"},
            )
            assert r.status_code in (302, 303, 404), r.status_code
        db.session.expire_all()
        decided.append(db.session.get(ReopenRequest, req.id).status == ReopenRequest.REFUSED)
        _forget_requests(close.id)
    return decided[0], decided[1]


def _closes_of(node, month: Month) -> int:
    return db.session.scalar(
        select(func.count()).where(MonthClose.node_id == node.id, MonthClose.month == month.key)
    )


def _try_close(api, browser, who, node, month: Month) -> tuple[bool, bool]:
    """(API closed, web closed) the node's month."""
    closed = []
    for channel in ("api", "web"):
        if channel == "api":
            r = api.post(
                "/api/v1/month-closes", json={"node": node.code, "month": month.key}, headers=who.headers
            )
            assert r.status_code in (201, 403), (r.status_code, r.get_json())
        else:
            token = csrf_token(browser, "/reports/screening")
            r = browser.post(
                "/reports/close",
                data={"csrf_token": token, "node": node.code, "month": month.key, "confirmed": "1"},
            )
            assert r.status_code in (302, 303, 403), r.status_code
        closed.append(_closes_of(node, month) == 1)
        db.session.execute(
            delete(MonthClose).where(MonthClose.node_id == node.id, MonthClose.month == month.key)
        )
        db.session.commit()
    return closed[0], closed[1]


@pytest.mark.parametrize("role", ROLES)
def test_web_and_api_agree_on_who_may_see_and_act_on_a_close(app, closes, role):
    who = closes.users[role]
    api, browser = app.test_client(), app.test_client()
    assert login(browser, who.username).status_code in (302, 303)
    earlier = closes.month.shift(-1)
    for kind, (close, closer) in closes.closes.items():
        see, request, decide, close_it = EXPECTED[kind][role]
        # The rules, as the predicates state them ...
        assert month_close.may_see_close(who.user, close) is see, (kind, "see")
        assert month_close.may_request_reopen(who.user, close) is request, (kind, "request")
        assert month_close.may_decide_reopen(who.user, close) is decide, (kind, "decide")
        assert month_close.may_close(who.user, close.node) is close_it, (kind, "close")
        # ... and as the API and the web apply them: the same answer on both.
        assert _try_request(api, browser, who, close) == (see, request, see, request), (kind, "request")
        assert _try_decide(api, browser, who, close, closer) == (decide, decide), (kind, "decide")
        assert _try_close(api, browser, who, close.node, earlier) == (close_it, close_it), (kind, "close")


@pytest.mark.parametrize("role", ROLES)
def test_the_list_of_a_nodes_closes_agrees_with_the_close_page(app, closes, role):
    """The API's list of a node's closes and the web close page are one rule
    (``may_view_closes_of``): a mediator, who sees the node's cases, is refused on both."""
    who = closes.users[role]
    api, browser = app.test_client(), app.test_client()
    assert login(browser, who.username).status_code in (302, 303)
    for node in (closes.world.town_a, closes.world.village_a):
        allowed = month_close.may_view_closes_of(who.user, node)
        query = f"node={node.code}&month={closes.month.key}"
        r = api.get(f"/api/v1/month-closes?{query}", headers=who.headers)
        assert r.status_code in (200, 403), (r.status_code, r.get_json())
        page = browser.get(f"/reports/close?{query}")
        assert page.status_code in (200, 403), page.status_code
        assert (r.status_code == 200, page.status_code == 200) == (allowed, allowed), (node.code, role)
    assert month_close.may_view_closes_of(closes.users["mediator"].user, closes.world.town_a) is False
