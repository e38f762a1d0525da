"""月清月结: carry-over reasons for open 突出问题, the close (button, API, CLI), the frozen snapshot,
the submission to the next level up with its roll-up, and reopening with the upper level's consent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mediation.disputes.models import Event
from mediation.extensions import db
from mediation.reports import figures, month_close
from mediation.reports.common import Month, ReportError
from mediation.reports.models import CarryOver, MonthClose, ReopenRequest
from tests.reports_data import case

OCT = Month(2026, 10)


@pytest.fixture
def cases(world):
    w = world
    c = {
        "open_prominent": case(w, w.grid_a, date(2026, 10, 5), prominent=True),
        "closed_prominent": case(
            w, w.grid_a, date(2026, 10, 6), closed_on=date(2026, 10, 20), prominent=True
        ),
        "ordinary": case(w, w.grid_a, date(2026, 9, 28)),
        "done": case(w, w.town_a, date(2026, 10, 2), closed_on=date(2026, 10, 9)),
        "b_prominent": case(
            w, w.village_b, date(2026, 10, 7), prominent=True, status="稳控", stabilized_on=date(2026, 10, 8)
        ),
        "b_plain": case(w, w.grid_b, date(2026, 10, 9), closed_on=date(2026, 10, 30)),
    }
    db.session.commit()
    return c


def test_close_is_refused_while_a_prominent_case_lacks_a_reason(world, cases):
    with pytest.raises(ReportError) as err:
        month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    assert [c["case_no"] for c in err.value.cases] == [cases["open_prominent"].case_no]
    assert "结转说明" in err.value.message and cases["open_prominent"].case_no in err.value.message
    assert db.session.scalar(select(MonthClose)) is None


def test_carry_over_reason_is_stored_on_the_case_with_a_timeline_event(client, world, cases):
    target = cases["open_prominent"]
    r = client.post(
        "/api/v1/month-closes/carry-over",
        json={"dispute": target.id, "month": "2026-10", "reason": "当事人外出务工，约定下月初再次调解。"},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 201, r.get_json()
    db.session.expire_all()
    assert target.carry_over_reason == "当事人外出务工，约定下月初再次调解。"
    assert db.session.scalar(select(CarryOver).where(CarryOver.dispute_id == target.id)).month == "2026-10"
    event = db.session.scalar(
        select(Event).where(Event.dispute_id == target.id, Event.type == "carried_over")
    )
    assert event is not None and event.note == target.carry_over_reason
    # Not for ordinary cases; not too short; not by a mediator.
    bad = client.post(
        "/api/v1/month-closes/carry-over",
        json={"dispute": cases["ordinary"].id, "month": "2026-10", "reason": "不是突出问题的案件"},
        headers=world.center_user_a.headers,
    )
    assert bad.status_code == 422
    short = client.post(
        "/api/v1/month-closes/carry-over",
        json={"dispute": target.id, "month": "2026-10", "reason": "无"},
        headers=world.center_user_a.headers,
    )
    assert short.status_code == 422
    assert (
        client.post(
            "/api/v1/month-closes/carry-over",
            json={"dispute": target.id, "month": "2026-10", "reason": "调解员不能填写结转说明"},
            headers=world.mediator_a.headers,
        ).status_code
        == 403
    )


def _reason(world, dispute, text="涉及多方，下月继续协调化解。"):
    month_close.write_carry_over(world.center_user_a.user, dispute, OCT, text)
    db.session.commit()


def test_snapshot_is_frozen_after_later_edits(world, cases):
    _reason(world, cases["open_prominent"])
    close = month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    db.session.commit()
    snap = close.snapshot["monthly"]
    assert (snap["carried_in"], snap["new"], snap["closed"], snap["carried_out"]) == (1, 3, 2, 2)
    assert snap["prominent"]["carried_out"] == 1
    assert close.snapshot["carry_over"][0]["carry_over_reason"] == "涉及多方，下月继续协调化解。"
    assert close.submitted_to_id == world.district.id and close.submitted_at is not None

    # Later edits: a case closed in October after the close, another registered back in October.
    cases["ordinary"].closed_on, cases["ordinary"].status = date(2026, 10, 31), "已办结"
    cases["ordinary"].outcome = "调解成功"
    case(world, world.grid_a, date(2026, 10, 15))
    cases["open_prominent"].carry_over_reason = "改过的说明"
    db.session.commit()

    db.session.expire_all()
    stored = db.session.get(MonthClose, close.id)
    assert stored.snapshot["monthly"] == snap
    assert stored.snapshot["carry_over"][0]["carry_over_reason"] == "涉及多方，下月继续协调化解。"
    live = figures.monthly_report(world.town_a, OCT)
    assert (live["new"], live["closed"], live["resolved"]) == (4, 3, 3)
    diff = {(row["scope"], row["key"]): row for row in month_close.compare(stored.snapshot["monthly"], live)}
    assert diff[("全部", "new")]["diff"] == 1 and diff[("全部", "closed")]["changed"]
    assert not diff[("全部", "carried_in")]["changed"]


def test_the_close_page_shows_snapshot_next_to_live_figures(web, world, cases):
    _reason(world, cases["open_prominent"])
    web.login("center_a")
    page = f"/reports/close?node={world.town_a.code}&month=2026-10"
    token = web.csrf(page)
    r = web.client.post(
        "/reports/close",
        data={"csrf_token": token, "node": world.town_a.code, "month": "2026-10", "confirmed": "1"},
    )
    assert r.status_code == 302
    case(world, world.grid_a, date(2026, 10, 16))
    db.session.commit()
    html = web.client.get(page).get_data(as_text=True)
    assert "已结账 · 已上报" in html and "冻结的快照与实时数据对比" in html
    assert 'class="changed" data-key="new" data-scope="全部"' in html
    assert "海滨区" in html  # submitted to the district


def test_carry_over_form_then_close_button(web, world, cases):
    web.login("center_a")
    page = f"/reports/close?node={world.town_a.code}&month=2026-10"
    html = web.client.get(page).get_data(as_text=True)
    assert cases["open_prominent"].case_no in html and "未填写" in html
    assert "disabled" in html[html.index("结账并上报</button>") - 120 : html.index("结账并上报</button>")]
    token = web.csrf(page)
    refused = web.client.post(
        "/reports/close",
        data={"csrf_token": token, "node": world.town_a.code, "month": "2026-10", "confirmed": "1"},
        follow_redirects=True,
    )
    assert "尚未填写结转说明" in refused.get_data(as_text=True)
    r = web.client.post(
        "/reports/close/carry-over",
        data={
            "csrf_token": token,
            "node": world.town_a.code,
            "month": "2026-10",
            f"reason-{cases['open_prominent'].id}": "当事人住院治疗，待出院后继续调解。",
        },
        follow_redirects=True,
    )
    assert "已保存1条结转说明" in r.get_data(as_text=True)
    r = web.client.post(
        "/reports/close",
        data={"csrf_token": token, "node": world.town_a.code, "month": "2026-10", "confirmed": "1"},
        follow_redirects=True,
    )
    assert "已结账" in r.get_data(as_text=True)
    assert month_close.active_close(world.town_a, OCT) is not None


def test_only_the_node_own_center_closes(client, world, cases):
    _reason(world, cases["open_prominent"])
    body = {"node": world.town_a.code, "month": "2026-10"}
    assert client.post("/api/v1/month-closes", json=body, headers=world.mediator_a.headers).status_code == 403
    assert (
        client.post("/api/v1/month-closes", json=body, headers=world.district_staff.headers).status_code
        == 403
    )
    assert (
        client.post("/api/v1/month-closes", json=body, headers=world.center_user_b.headers).status_code == 403
    )
    r = client.post("/api/v1/month-closes", json=body, headers=world.center_user_a.headers)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["submitted_to"] == world.district.code
    again = client.post("/api/v1/month-closes", json=body, headers=world.center_user_a.headers)
    assert again.status_code == 409 and "已结账" in again.get_json()["message"]
    future = client.post(
        "/api/v1/month-closes",
        json={"node": world.town_a.code, "month": "2999-01"},
        headers=world.center_user_a.headers,
    )
    assert future.status_code == 422


def test_api_refusal_lists_the_cases(client, world, cases):
    r = client.post(
        "/api/v1/month-closes",
        json={"node": world.town_a.code, "month": "2026-10"},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 409
    assert [c["case_no"] for c in r.get_json()["errors"]["cases"]] == [cases["open_prominent"].case_no]


def test_submission_and_roll_up(world, cases):
    _reason(world, cases["open_prominent"])
    month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    db.session.commit()
    subs = month_close.submissions(world.district, OCT)
    rows = {r["node"]: r for r in subs["rows"]}
    assert set(rows) == {world.town_a.code, world.town_b.code}
    assert rows[world.town_a.code]["submitted"] and not rows[world.town_b.code]["submitted"]
    assert subs["submitted"] == 1 and subs["total"] == 2
    assert subs["rollup"]["new"] == 3 and subs["rollup"]["carried_out"] == 2

    month_close.write_carry_over(
        world.center_user_b.user, cases["b_prominent"], OCT, "群体性纠纷，已落实稳控。"
    )
    month_close.close_month(world.center_user_b.user, world.town_b, OCT)
    db.session.commit()
    subs = month_close.submissions(world.district, OCT)
    assert subs["submitted"] == 2
    district = figures.monthly_report(world.district, OCT)
    for key in ("carried_in", "new", "closed", "resolved", "stabilized", "carried_out", "overdue"):
        assert subs["rollup"][key] == district[key], key  # no case sits directly at the district
    assert subs["rollup"]["clearance_rate"] == district["clearance_rate"]


def test_the_upper_level_sees_who_submitted(web, world, cases):
    _reason(world, cases["open_prominent"])
    month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    db.session.commit()
    web.login("qu_center")
    html = web.client.get(f"/reports/close?node={world.district.code}&month=2026-10").get_data(as_text=True)
    section = html[html.index('id="submissions"') :]
    assert "下级上报情况（1 / 2 已上报）" in section
    a = section[section.index(f'data-node="{world.town_a.code}"') :]
    assert "已上报" in a[:400]
    b = section[section.index(f'data-node="{world.town_b.code}"') :]
    assert "未上报" in b[:400]


def test_reopen_needs_the_upper_level_consent(client, world, cases):
    _reason(world, cases["open_prominent"])
    close = month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    db.session.commit()
    r = client.post(
        f"/api/v1/month-closes/{close.id}/reopen-requests",
        json={"reason": "漏报一件纠纷，需要补录。"},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 201, r.get_json()
    req_id = r.get_json()["id"]
    # A second request while one is pending is refused.
    assert (
        client.post(
            f"/api/v1/month-closes/{close.id}/reopen-requests",
            json={"reason": "再次申请重新打开"},
            headers=world.center_user_a.headers,
        ).status_code
        == 409
    )
    # The town itself and a sibling town cannot consent.
    for who in (world.center_user_a, world.center_user_b, world.mediator_a):
        r = client.post(
            f"/api/v1/reopen-requests/{req_id}/decision", json={"approve": True}, headers=who.headers
        )
        assert r.status_code in (403, 404), who.username
    db.session.expire_all()
    assert db.session.get(MonthClose, close.id).status == MonthClose.CLOSED
    r = client.post(
        f"/api/v1/reopen-requests/{req_id}/decision",
        json={"approve": True, "note": "同意补录"},
        headers=world.district_staff.headers,
    )
    assert r.status_code == 200 and r.get_json()["status"] == "已同意"
    db.session.expire_all()
    reopened = db.session.get(MonthClose, close.id)
    assert reopened.status == MonthClose.REOPENED and reopened.reopened_at is not None
    req = db.session.get(ReopenRequest, req_id)
    assert req.decided_by_id == world.district_staff.user.id and req.decision_note == "同意补录"
    assert month_close.active_close(world.town_a, OCT) is None
    # Closing again makes a second close; the first stays on record.
    second = month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    db.session.commit()
    assert second.seq == 2
    assert [c.status for c in month_close.close_history(world.town_a, OCT)] == ["已重开", "已结"]


def test_a_refused_reopen_keeps_the_month_closed(world, cases):
    _reason(world, cases["open_prominent"])
    close = month_close.close_month(world.center_user_a.user, world.town_a, OCT)
    req = month_close.request_reopen(world.center_user_a.user, close, "需要修改一处数据。")
    db.session.commit()
    assert month_close.pending_reopen_requests(world.district_staff.user) == [req]
    assert month_close.pending_reopen_requests(world.center_user_b.user) == []
    month_close.decide_reopen(world.district_staff.user, req, approve=False, note="数据无误，不予重开")
    db.session.commit()
    assert req.status == ReopenRequest.REFUSED and close.status == MonthClose.CLOSED


def test_cli_month_close(app, world, cases):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["month", "close", "--node", world.town_a.code, "--month", "2026-10"])
    assert result.exit_code != 0
    assert "尚未填写结转说明" in result.output and cases["open_prominent"].case_no in result.output
    _reason(world, cases["open_prominent"])
    result = runner.invoke(args=["month", "close", "--node", world.town_a.code, "--month", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "已结账" in result.output and "海滨区" in result.output
    db.session.expire_all()
    close = month_close.active_close(world.town_a, OCT)
    assert close is not None and close.closed_by_id is None
    again = runner.invoke(args=["month", "close", "--node", world.town_a.code, "--month", "2026-10"])
    assert again.exit_code != 0 and "已结账" in again.output
    for args in (
        ["--node", "NOPE", "--month", "2026-10"],
        ["--node", world.town_a.code, "--month", "2026-13"],
    ):
        bad = runner.invoke(args=["month", "close", *args])
        assert bad.exit_code != 0 and any("\u4e00" <= ch <= "\u9fff" for ch in bad.output)


def test_reason_for_a_case_open_at_the_month_end_but_closed_since(world, cases):
    """Closing October late: a 突出问题 open on 10-31 and closed in November still needs (and
    accepts) its October reason; one closed within October does not take one."""
    later = case(world, world.grid_a, date(2026, 10, 10), prominent=True, closed_on=date(2026, 11, 3))
    db.session.commit()
    assert later.case_no in [c["case_no"] for c in month_close.missing_reasons(world.town_a, OCT)]
    month_close.write_carry_over(world.center_user_a.user, later, OCT, "月末未能化解，11月初已调解成功。")
    with pytest.raises(ReportError) as err:
        month_close.write_carry_over(
            world.center_user_a.user, cases["closed_prominent"], OCT, "本月已办结的案件"
        )
    assert err.value.status == 409
    _reason(world, cases["open_prominent"])
    assert month_close.missing_reasons(world.town_a, OCT) == []
