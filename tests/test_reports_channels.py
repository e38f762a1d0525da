"""The channel table (received, handled, resolved, success rate) by channel and by category, the
民转刑 count, the venue (五进) breakdown and 属地/属事 double resolution, on hand-built cases."""

from __future__ import annotations

from datetime import date

import pytest

from mediation.extensions import db
from mediation.reports.common import Month
from mediation.reports.figures import channel_report
from tests.reports_data import case

OCT = Month(2026, 10)


@pytest.fixture
def cases(world):
    w, g = world, world.grid_a
    c = {
        "a": case(
            w,
            g,
            date(2026, 10, 2),
            accepted_on=date(2026, 10, 3),
            closed_on=date(2026, 10, 20),
            channel="人民调解",
            unit=w.committee_a,
            venue="家庭",
        ),
        "b": case(
            w, g, date(2026, 9, 20), accepted_on=date(2026, 10, 1), channel="人民调解", unit=w.committee_a
        ),
        "c": case(
            w,
            g,
            date(2026, 9, 1),
            accepted_on=date(2026, 9, 2),
            closed_on=date(2026, 10, 5),
            outcome="调解不成功",
            channel="人民调解",
            unit=w.committee_a,
            category="婚姻家庭",
            civil_to_criminal=True,
        ),
        "d": case(
            w,
            g,
            date(2026, 10, 10),
            accepted_on=date(2026, 10, 10),
            closed_on=date(2026, 10, 25),
            channel="行政调解",
            unit=w.police_b,
            category="劳动争议/欠薪",
            venue="企业",
        ),
        "e": case(
            w,
            g,
            date(2026, 10, 11),
            accepted_on=date(2026, 10, 12),
            status="稳控",
            stabilized_on=date(2026, 10, 15),
            channel="诉调对接",
            unit=w.court,
            category="合同",
            venue="单位",
        ),
        "f": case(w, g, date(2026, 10, 12), closed_on=date(2026, 10, 12), outcome="不予受理", venue=None),
        "g": case(
            w,
            g,
            date(2026, 10, 13),
            accepted_on=date(2026, 10, 14),
            closed_on=date(2026, 10, 30),
            outcome="撤回",
            channel="人民调解",
            unit=w.committee_a,
            category="婚姻家庭",
        ),
        # Another town: not in 海滨街道's table.
        "other": case(
            w,
            w.grid_b,
            date(2026, 10, 3),
            accepted_on=date(2026, 10, 3),
            channel="人民调解",
            unit=w.committee_b,
        ),
    }
    db.session.commit()
    return c


ROW_KEYS = ("new", "received", "handled", "resolved", "closed", "success_rate")


def rows(items, key):
    return {r[key]: tuple(r[k] for k in ROW_KEYS) for r in items}


def test_by_channel(world, cases):
    report = channel_report(world.town_a, OCT)
    assert [r["channel"] for r in report["channels"]] == [
        "人民调解",
        "行政调解",
        "司法调解",
        "诉调对接",
        "未分流",
    ]
    assert rows(report["channels"], "channel") == {
        "人民调解": (2, 3, 2, 1, 3, 0.5),
        "行政调解": (1, 1, 1, 1, 1, 1.0),
        "司法调解": (0, 0, 0, 0, 0, None),
        "诉调对接": (1, 1, 0, 0, 0, None),
        "未分流": (1, 0, 0, 0, 1, None),
    }
    total = report["channel_total"]
    assert tuple(total[k] for k in ROW_KEYS) == (5, 5, 3, 2, 5, 0.6667)


def test_by_category_in_the_configured_order(world, cases):
    report = channel_report(world.town_a, OCT)
    assert [r["category"] for r in report["categories"]] == ["婚姻家庭", "邻里", "合同", "劳动争议/欠薪"]
    assert rows(report["categories"], "category") == {
        "婚姻家庭": (1, 1, 1, 0, 2, 0.0),
        "邻里": (2, 2, 1, 1, 2, 1.0),
        "合同": (1, 1, 0, 0, 0, None),
        "劳动争议/欠薪": (1, 1, 1, 1, 1, 1.0),
    }


def test_civil_to_criminal_venue_and_double_resolution(world, cases):
    report = channel_report(world.town_a, OCT)
    assert report["civil_to_criminal"] == 1
    assert report["by_venue"] == {"村": 1, "家庭": 1, "学校": 0, "企业": 1, "单位": 1, "未填": 1}
    assert report["double"] == {"cases": 6, "resolved": 2, "stabilized": 1, "outside": 2, "rate": 0.5}
    district = channel_report(world.district, OCT)
    assert district["double"]["outside"] == 0  # every unit sits inside the district
    assert rows(district["channels"], "channel")["人民调解"][:2] == (3, 4)


def test_channels_api_and_page(client, web, world, cases):
    r = client.get(
        "/api/v1/reports/channels",
        query_string={"node": world.town_a.code, "month": "2026-10"},
        headers=world.center_user_a.headers,
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["channel_total"]["received"] == 5 and body["double"]["rate"] == 0.5
    web.login("center_a")
    html = web.client.get(f"/reports/channels?node={world.town_a.code}&month=2026-10").get_data(as_text=True)
    assert (
        "分渠道" in html
        and "诉调对接" in html
        and "属地属事" in html
        and 'class="chart chart-channel"' in html
    )
