"""Deadline arithmetic: natural days, month ends and leap years, working days across 国庆 and 春节
with the 调休 make-up days, the time-limit table, extensions and the warning level."""

from __future__ import annotations

from datetime import date

import pytest

from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.routing import deadlines
from mediation.routing.calendar import (
    add_working_days,
    calendar_covers,
    holiday_name,
    is_working_day,
    working_days_between,
)
from mediation.routing.deadlines import OVERDUE, WARNING, add_days, deadline_for, level_for, time_limit_for
from tests.workflow_support import act, get, make_case, ok, register

D = date


# --- natural days ----------------------------------------------------------------------------------


def test_domain_example():
    """DOMAIN.md §5: accepted on 11-02 with 30 days, the deadline is 12-02, overdue from 12-03."""
    deadline = add_days(D(2026, 11, 2), 30)
    assert deadline == D(2026, 12, 2)
    assert level_for(D(2026, 11, 2), deadline, D(2026, 12, 2)) == WARNING
    assert level_for(D(2026, 11, 2), deadline, D(2026, 12, 3)) == OVERDUE


@pytest.mark.parametrize(
    ("today", "level"),
    [
        (D(2026, 11, 2), "正常"),
        (D(2026, 11, 25), "正常"),  # 23 of 30 days used
        (D(2026, 11, 26), "预警"),  # 24 of 30 = 80 %
        (D(2026, 12, 2), "预警"),
        (D(2026, 12, 3), "超期"),
        (D(2027, 3, 1), "超期"),
    ],
)
def test_warning_level_at_80_percent(today, level):
    assert level_for(D(2026, 11, 2), D(2026, 12, 2), today) == level


def test_warning_ratio_is_configurable(app):
    app.config["DEADLINE_WARNING_RATIO"] = 0.5
    assert level_for(D(2026, 11, 2), D(2026, 12, 2), D(2026, 11, 17)) == "预警"
    assert level_for(D(2026, 11, 2), D(2026, 12, 2), D(2026, 11, 16)) == "正常"


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (D(2026, 1, 31), 30, D(2026, 3, 2)),  # across a 28-day February
        (D(2028, 1, 31), 30, D(2028, 3, 1)),  # leap year: 29 February exists
        (D(2028, 2, 28), 1, D(2028, 2, 29)),
        (D(2027, 2, 28), 1, D(2027, 3, 1)),
        (D(2026, 12, 31), 1, D(2027, 1, 1)),  # year end
        (D(2026, 12, 20), 15, D(2027, 1, 4)),
        (D(2026, 4, 30), 31, D(2026, 5, 31)),
        (D(2026, 10, 31), 30, D(2026, 11, 30)),
        (D(2024, 2, 29), 365, D(2025, 2, 28)),
    ],
)
def test_natural_days_across_month_and_year_ends(start, days, expected):
    assert add_days(start, days) == expected


# --- working days ----------------------------------------------------------------------------------


def test_calendar_knows_2026_holidays_and_make_up_days():
    assert not is_working_day(D(2026, 10, 1)) and holiday_name(D(2026, 10, 1)) == "国庆节"
    assert not is_working_day(D(2026, 10, 7))
    assert is_working_day(D(2026, 10, 10))  # Saturday, 调休 make-up day of 国庆
    assert is_working_day(D(2026, 9, 20))  # Sunday, make-up day
    assert not is_working_day(D(2026, 9, 25)) and holiday_name(D(2026, 9, 25)) == "中秋节"
    assert not is_working_day(D(2026, 2, 17)) and holiday_name(D(2026, 2, 17)) == "春节"
    assert is_working_day(D(2026, 2, 14)) and is_working_day(D(2026, 2, 28))  # Saturdays worked for 春节
    assert not is_working_day(D(2026, 11, 7))  # an ordinary Saturday
    assert is_working_day(D(2026, 11, 9))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # 国庆 + 中秋 2026: 10-01..10-07 off, Saturday 10-10 worked.
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),  # the make-up Saturday counts
        (D(2026, 9, 30), 5, D(2026, 10, 13)),
        (D(2026, 9, 24), 1, D(2026, 9, 28)),  # Friday 09-25 is 中秋
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Sunday 09-20 is a working day
        # 春节 2026: 02-15..02-23 off, Saturdays 02-14 and 02-28 worked.
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 3, D(2026, 2, 25)),
        (D(2026, 2, 13), 15, D(2026, 3, 12)),
        (D(2026, 2, 27), 1, D(2026, 2, 28)),
        # ordinary weeks and month ends
        (D(2026, 11, 2), 15, D(2026, 11, 23)),
        (D(2026, 3, 27), 2, D(2026, 3, 31)),
    ],
)
def test_working_days_across_holidays(start, days, expected):
    assert add_working_days(start, days) == expected
    assert working_days_between(start, expected) == days


def test_years_beyond_the_calendar_package():
    """A year the package has no data for: weekdays minus the fixed-date statutory holidays."""
    assert calendar_covers(D(2026, 6, 1))
    assert not calendar_covers(D(2028, 2, 29))
    assert add_working_days(D(2028, 2, 25), 3) == D(2028, 3, 1)  # leap year, Mon 28, Tue 29, Wed 1
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)  # 元旦 2027 is a Friday
    assert not is_working_day(D(2028, 10, 2))


def test_zero_days_and_negative():
    assert add_working_days(D(2026, 10, 1), 0) == D(2026, 10, 1)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 10, 1), -1)


# --- the time-limit table --------------------------------------------------------------------------


def test_defaults_without_rows(app):
    assert deadline_for("人民调解", "邻里", D(2026, 11, 2)) == D(2026, 12, 2)
    assert deadline_for("人民调解", "劳动争议/欠薪", D(2026, 11, 2)) == D(2026, 11, 17)
    assert deadline_for("行政调解", "道路交通事故", D(2026, 11, 2)) == D(2026, 11, 12)
    assert deadline_for("诉调对接", "合同", D(2026, 11, 2)) == D(2026, 12, 2)
    assert deadline_for(None, "邻里", D(2026, 11, 2)) is None
    assert deadline_for("人民调解", "邻里", None) is None


def test_seed_is_idempotent(app):
    assert deadlines.seed_time_limits() == len(deadlines.DEFAULT_LIMITS)
    db.session.commit()
    assert deadlines.seed_time_limits() == 0


def test_most_specific_row_wins(app):
    deadlines.set_time_limit({"channel": "人民调解", "category": "邻里", "days": 10, "working_days": True})
    deadlines.set_time_limit({"channel": None, "category": "邻里", "days": 20})
    deadlines.set_time_limit({"channel": "行政调解", "category": None, "days": 45})
    db.session.commit()
    assert time_limit_for("人民调解", "邻里").label == "10个工作日"
    assert deadline_for("人民调解", "邻里", D(2026, 9, 30)) == D(2026, 10, 20)  # across 国庆
    assert deadline_for("行政调解", "邻里", D(2026, 11, 2)) == D(2026, 11, 22)  # category beats channel
    assert deadline_for("行政调解", "合同", D(2026, 11, 2)) == D(2026, 12, 17)
    assert deadline_for("司法调解", "合同", D(2026, 11, 2)) == D(2026, 12, 2)
    # Changing a row changes it (no second row), deleting it restores the default.
    row = deadlines.set_time_limit({"channel": "行政调解", "category": None, "days": 60})
    db.session.commit()
    assert deadline_for("行政调解", "合同", D(2026, 11, 2)) == D(2027, 1, 1)
    assert deadlines.delete_time_limit(row.id)
    db.session.commit()
    assert deadline_for("行政调解", "合同", D(2026, 11, 2)) == D(2026, 12, 2)


def test_time_limit_api(client, world):
    r = client.get("/api/v1/time-limits", headers=world.center_user_b.headers)
    assert r.status_code == 200 and len(r.get_json()) == len(deadlines.DEFAULT_LIMITS)
    body = {"channel": "人民调解", "category": "邻里", "days": 20, "working_days": True, "basis": "本地规定"}
    assert (
        client.put("/api/v1/time-limits", json=body, headers=world.center_user_b.headers).status_code == 403
    )
    r = client.put("/api/v1/time-limits", json=body, headers=world.admin.headers)
    assert r.status_code == 200 and r.get_json()["working_days"] is True
    r = client.put("/api/v1/time-limits", json={**body, "days": 0}, headers=world.admin.headers)
    assert r.status_code == 422
    r = client.put("/api/v1/time-limits", json={**body, "category": "打架"}, headers=world.admin.headers)
    assert r.status_code == 422 and "category" in r.get_json()["errors"]["json"]
    rows = client.get("/api/v1/time-limits", headers=world.admin.headers).get_json()
    assert len(rows) == len(deadlines.DEFAULT_LIMITS) + 1
    limit_id = next(x["id"] for x in rows if x["category"] == "邻里")
    assert client.delete(f"/api/v1/time-limits/{limit_id}", headers=world.admin.headers).status_code == 204
    assert client.delete(f"/api/v1/time-limits/{limit_id}", headers=world.admin.headers).status_code == 404


# --- deadlines of cases ------------------------------------------------------------------------------


def backdate(dispute_id: int, registered_on: date) -> None:
    d = db.session.get(Dispute, dispute_id)
    d.registered_on = registered_on
    db.session.commit()


def test_accepting_computes_the_deadline_with_working_days(client, world):
    deadlines.set_time_limit({"channel": "人民调解", "category": "邻里", "days": 5, "working_days": True})
    db.session.commit()
    dispute_id = make_case(client, world, Stage.PENDING)
    backdate(dispute_id, D(2026, 9, 1))
    ok(act(client, world.center_user_b, dispute_id, "route"))
    body = ok(act(client, world.mediator_b, dispute_id, "accept", {"date": "2026-09-30"}))
    assert body["accepted_on"] == "2026-09-30" and body["deadline"] == "2026-10-13"
    assert body["warning_level"] == "超期"  # long past
    assert body["events"][-1]["data"] == {"deadline": "2026-10-13", "time_limit": "5个工作日"}
    # An extension counts in the same kind of days: 3 working days after 10-13.
    body = ok(
        act(
            client,
            world.mediator_b,
            dispute_id,
            "extend",
            {"days": 3, "reason": "待鉴定", "approver": "调委会主任"},
        )
    )
    assert body["deadline"] == "2026-10-16"
    work = client.get(f"/api/v1/disputes/{dispute_id}/casework", headers=world.mediator_b.headers).get_json()
    assert work["extensions"][0]["previous_deadline"] == "2026-10-13"
    assert work["extensions"][0]["working_days"] is True and work["extensions"][0]["approver"] == "调委会主任"
    assert work["time_limit"]["label"] == "5个工作日"


def test_extension_in_natural_days_and_its_event(client, world):
    dispute_id = make_case(client, world, Stage.PENDING)
    backdate(dispute_id, D(2026, 10, 1))
    ok(act(client, world.center_user_b, dispute_id, "route"))
    body = ok(act(client, world.mediator_b, dispute_id, "accept", {"date": "2026-10-31"}))
    assert body["deadline"] == "2026-11-30"
    body = ok(
        act(
            client,
            world.mediator_b,
            dispute_id,
            "extend",
            {"days": 31, "reason": "双方同意延期", "approver": "王主任", "parties_consent": True},
        )
    )
    assert body["deadline"] == "2026-12-31"
    event = body["events"][-1]
    assert event["type"] == "extended" and event["note"] == "双方同意延期"
    assert event["data"]["old_deadline"] == "2026-11-30" and event["data"]["new_deadline"] == "2026-12-31"
    assert event["data"]["approver"] == "王主任"


def test_labour_dispute_gets_15_days(client, world):
    dispute_id = make_case(client, world, Stage.AWAITING, category="劳动争议/欠薪")
    body = ok(act(client, world.mediator_b, dispute_id, "accept"))
    accepted = D.fromisoformat(body["accepted_on"])
    assert D.fromisoformat(body["deadline"]) == add_days(accepted, 15)
    assert body["warning_level"] == "正常"


def test_warning_level_in_list_and_detail(client, world):
    dispute_id = make_case(client, world, Stage.HANDLING)
    d = db.session.get(Dispute, dispute_id)
    d.accepted_on, d.deadline = D(2026, 1, 5), D(2026, 2, 4)
    db.session.commit()
    assert get(client, world.admin, dispute_id)["warning_level"] == "超期"
    items = client.get("/api/v1/disputes", headers=world.admin.headers).get_json()["items"]
    assert [i["warning_level"] for i in items] == ["超期"]
    pending = register(client, world.center_user_b, world.village_b.code)
    assert get(client, world.admin, pending)["warning_level"] is None


def test_stabilized_case_keeps_its_deadline_and_level(client, world):
    dispute_id = make_case(client, world, Stage.STABILIZED)
    body = get(client, world.admin, dispute_id)
    assert body["status"] == "稳控" and body["deadline"] and body["warning_level"] == "正常"


def test_extension_needs_reason_and_approver(client, world):
    dispute_id = make_case(client, world, Stage.HANDLING)
    r = act(client, world.mediator_b, dispute_id, "extend", {"days": 5})
    assert r.status_code == 422
    assert {"reason", "approver"} <= set(r.get_json()["errors"]["json"])
