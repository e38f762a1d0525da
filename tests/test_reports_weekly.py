"""周报: the 月清月结 figures over an ISO week (Monday to Sunday, Shanghai dates), checked against
hand-counted cases, with the week's edges (Sunday/Monday midnight in Shanghai = 16:00 UTC, ISO week 1
whose Monday lies in December, week 53), the drill-down of every linked figure, the Excel export,
bad parameters and another town's node."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from mediation import clock
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.reports import figures
from mediation.reports.common import Week
from mediation.reports.figures import figure_filter
from tests.factories import dispute_payload
from tests.reports_data import case
from tests.test_report_drilldown import build_cases, links, list_total

W48 = Week(2026, 48)  # Monday 23 to Sunday 29 November 2026


def hand_counted(w) -> None:
    """Cases of 海滨街道 around 2026-W48, each commented with what it counts for (W48, town A)."""
    case(w, w.grid_a, date(2026, 11, 20))  # carried_in, carried_out
    case(w, w.grid_a, date(2026, 11, 22), closed_on=date(2026, 11, 23))  # carried_in, closed, resolved
    case(w, w.grid_a, date(2026, 11, 22), closed_on=date(2026, 11, 22))  # closed on the Sunday before: none
    case(w, w.village_a, date(2026, 11, 23), prominent=True)  # new (Monday), carried_out; 突出问题
    case(w, w.grid_a, date(2026, 11, 29), closed_on=date(2026, 11, 30))  # new (Sunday), open on Sunday
    case(w, w.grid_a, date(2026, 11, 30))  # next Monday: none
    case(w, w.town_a, date(2026, 11, 24), closed_on=date(2026, 11, 29), outcome="调解不成功")  # new, closed
    case(
        w,
        w.grid_a,
        date(2026, 11, 10),
        status="稳控",
        accepted_on=date(2026, 11, 10),
        stabilized_on=date(2026, 11, 25),
    )  # carried_in, stabilized, carried_out
    case(
        w, w.grid_a, date(2026, 11, 1), accepted_on=date(2026, 11, 1), deadline=date(2026, 11, 28)
    )  # overdue
    case(
        w, w.grid_a, date(2026, 11, 1), accepted_on=date(2026, 11, 1), deadline=date(2026, 11, 29)
    )  # not yet
    case(w, w.grid_b, date(2026, 11, 25))  # 双港镇: not town A's
    db.session.commit()


W48_TOWN_A = {
    "carried_in": 5,
    "new": 3,
    "closed": 2,
    "resolved": 1,
    "stabilized": 1,
    "carried_out": 6,
    "overdue": 1,
    "clearance_rate": 0.25,
    "resolution_rate": 0.5,
}


def test_week_parsing_and_iso_edges():
    assert (W48.first, W48.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert Week.parse("2026-w48") == W48 and W48.key == "2026-W48" and W48.label == "2026年第48周"
    # Week 1 of 2025 begins on Monday 30 December 2024; 2026 has 53 weeks (it begins on a Thursday).
    assert Week.parse("2025-W01").first == date(2024, 12, 30)
    assert Week.of(date(2024, 12, 30)).key == "2025-W01"
    w53 = Week.parse("2026-W53")
    assert (w53.first, w53.last) == (date(2026, 12, 28), date(2027, 1, 3))
    assert w53.shift(1).key == "2027-W01" and Week.parse("2027-W01").shift(-1) == w53
    assert Week.of(date(2027, 1, 3)) == w53 and Week.of(date(2027, 1, 4)).key == "2027-W01"
    for bad, message in (
        ("2027-W53", "2027年只有52周"),
        ("2026-W54", "周次格式应为 YYYY-Www"),
        ("2026-W00", "周次格式应为 YYYY-Www"),
        ("2026-48", "周次格式应为 YYYY-Www"),
        ("2026-11", "周次格式应为 YYYY-Www"),
    ):
        with pytest.raises(ValueError, match=message):
            Week.parse(bad)


def test_weekly_figures_against_hand_counted_cases(app, world):
    hand_counted(world)
    report = figures.weekly_report(world.town_a, W48)
    assert {k: report[k] for k in W48_TOWN_A} == W48_TOWN_A
    assert (report["first"], report["last"], report["week"]) == ("2026-11-23", "2026-11-29", "2026-W48")
    assert report["prominent"]["new"] == 1 and report["prominent"]["carried_out"] == 1
    assert report["prominent"]["closed"] == 0
    # The next week: the Monday case is new, last week's carried_out is this week's carried_in.
    nxt = figures.weekly_report(world.town_a, W48.shift(1))
    assert nxt["carried_in"] == 6 and nxt["new"] == 1 and nxt["closed"] == 1
    # The district adds 双港镇's case; the drill-down's rows add up to it.
    page = figures.weekly_page(world.district, W48)
    assert page["report"]["new"] == 4
    rows = {c["node"]: c for c in page["drill"]["children"]}
    assert rows[world.town_a.code]["new"] == 3 and rows[world.town_b.code]["new"] == 1
    # The drill-down's condition counts what the aggregate counts.
    for key in figures.COUNT_KEYS:
        n = db.session.scalar(
            select(func.count()).select_from(Dispute).where(figure_filter(key, world.town_a, W48))
        )
        assert n == W48_TOWN_A[key], key


def test_week_boundary_is_sunday_midnight_in_shanghai(client, world):
    """Registered at 15:59:59 UTC on Sunday 29 November = 23:59:59 in Shanghai: week 48; one second
    later it is Monday in Shanghai: week 49."""
    for moment in (datetime(2026, 11, 29, 15, 59, 59), datetime(2026, 11, 29, 16, 0, 0)):
        with clock.frozen(moment):
            r = client.post(
                "/api/v1/disputes", json=dispute_payload(world.grid_a.code), headers=world.mediator_a.headers
            )
            assert r.status_code == 201, r.get_json()
    with clock.frozen(datetime(2026, 12, 1, 2, 0)):
        for week, expected in (("2026-W48", 1), ("2026-W49", 1)):
            r = client.get(
                "/api/v1/reports/weekly",
                query_string={"node": world.town_a.code, "week": week},
                headers=world.center_user_a.headers,
            )
            assert r.status_code == 200, r.get_json()
            assert r.get_json()["new"] == expected, week
        registered = sorted(db.session.scalars(select(Dispute.registered_on)))
        assert registered == [date(2026, 11, 29), date(2026, 11, 30)]


def test_iso_week_one_and_week_53(app, world):
    w = world
    case(w, w.grid_a, date(2024, 12, 30))  # Monday of 2025-W01
    case(w, w.grid_a, date(2024, 12, 29))  # Sunday of 2024-W52
    case(w, w.grid_a, date(2026, 12, 27))  # Sunday of 2026-W52
    case(w, w.grid_a, date(2026, 12, 28))  # Monday of 2026-W53
    case(w, w.grid_a, date(2027, 1, 3), closed_on=date(2027, 1, 4))  # Sunday of 2026-W53, closed in 2027-W01
    case(w, w.grid_a, date(2027, 1, 4))  # Monday of 2027-W01
    db.session.commit()
    assert figures.weekly_report(w.town_a, Week(2025, 1))["new"] == 1
    assert figures.weekly_report(w.town_a, Week(2025, 1))["carried_in"] == 1
    w53 = figures.weekly_report(w.town_a, Week(2026, 53))
    assert (w53["carried_in"], w53["new"], w53["closed"], w53["carried_out"]) == (3, 2, 0, 5)
    w01 = figures.weekly_report(w.town_a, Week(2027, 1))
    assert (w01["carried_in"], w01["new"], w01["closed"], w01["carried_out"]) == (5, 1, 1, 5)


def test_every_linked_weekly_figure_opens_as_many_cases(web, world):
    build_cases(world)
    hand_counted(world)
    web.login("qu_center")
    for node in (world.district, world.town_a):
        for week in (W48, Week(2026, 42)):
            url = f"/reports/weekly?node={node.code}&week={week.key}"
            response = web.client.get(url)
            assert response.status_code == 200, url
            body = response.get_data(as_text=True)
            assert f"{node.name} · {week.label}周报" in body
            found = links(body)
            assert len(found) > 20
            assert any(n > 0 for _, n, _, _ in found)
            checked: dict[str, int] = {}
            for figure, number, href, _text in found:
                query = parse_qs(urlsplit(href).query)
                assert query["week"] == [week.key] and "month" not in query, href
                if href not in checked:
                    checked[href] = list_total(web.client, href)
                assert checked[href] == number, (url, figure, href, checked[href], number)
    # The list's heading names the week and leads back to the 周报.
    body = web.client.get(f"/disputes/?figure=carried_in&node={world.town_a.code}&week={W48.key}").get_data(
        as_text=True
    )
    assert "海滨街道 · 2026年第48周 · 上周结转" in body and "返回周报" in body
    assert f'href="/reports/weekly?node={world.town_a.code}&amp;week={W48.key}"' in body
    assert '<input type="hidden" name="week" value="2026-W48">' in body


def test_the_week_picker_and_the_monthly_page_links(web, world):
    web.login("center_a")
    with clock.frozen(date(2026, 11, 30)):
        body = web.client.get("/reports/weekly").get_data(as_text=True)
        assert "海滨街道 · 2026年第49周周报" in body  # this week by default
        assert "本周：2026年第49周（11月30日—12月6日）" in body
        assert "上周：2026年第48周（11月23日—11月29日）" in body
        assert 'href="/reports/weekly?node=120116001000&amp;week=2026-W48" rel="prev"' in body
        assert 'href="/reports/weekly?node=120116001000&amp;week=2026-W50" rel="next"' in body
        assert "本周尚未结束" in body
        body = web.client.get("/reports/?month=2026-11").get_data(as_text=True)
    # The ISO weeks with a day in November 2026: Monday 30 November opens week 49.
    for wk in ("2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"):
        assert f"week={wk}" in body
    assert "week=2026-W43" not in body and "week=2026-W50" not in body
    assert "/reports/comparison?node=120116001000&amp;month=2026-11" in body


def test_weekly_excel_export(web, world):
    hand_counted(world)
    web.login("center_a")
    r = web.client.get(f"/reports/weekly.xlsx?node={world.town_a.code}&week={W48.key}")
    assert r.status_code == 200
    assert (
        "2026-W48" in r.headers["Content-Disposition"]
        and "%E5%91%A8%E6%8A%A5" in r.headers["Content-Disposition"]
    )
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["周报", "下级节点"]
    ws = wb["周报"]
    assert ws["A1"].value == "海滨街道2026年第48周矛盾纠纷周报统计"
    assert "统计周次 2026-W48（2026-11-23 至 2026-11-29）" in ws["A2"].value
    labels = {ws.cell(row=r, column=1).value: r for r in range(5, 14)}
    for label, key in (
        ("上周结转", "carried_in"),
        ("本周新增", "new"),
        ("本周办结", "closed"),
        ("超期", "overdue"),
    ):
        assert ws.cell(row=labels[label], column=2).value == W48_TOWN_A[key], label
    assert ws.cell(row=labels["结转下周"], column=2).value.startswith("=")  # carried_in + new - closed
    assert ws.cell(row=labels["办结率"], column=2).value.startswith("=IF(")
    children = wb["下级节点"]
    assert children["C4"].value == "上周结转"


def test_bad_week_parameters_are_refused_in_chinese(web, world):
    node = world.town_a.code
    api = web.client
    headers = world.center_user_a.headers
    for week, message in (
        ("2026-48", "周次格式应为 YYYY-Www"),
        ("2027-W53", "2027年只有52周"),
        ("W48", "周次格式应为 YYYY-Www"),
    ):
        r = api.get("/api/v1/reports/weekly", query_string={"node": node, "week": week}, headers=headers)
        assert r.status_code == 422
        assert message in r.get_json()["errors"]["query"]["week"][0]
    r = api.get("/api/v1/reports/weekly", query_string={"node": node}, headers=headers)
    assert r.status_code == 422 and "week" in r.get_json()["errors"]["query"]
    r = api.get("/api/v1/reports/weekly", query_string={"node": "nope", "week": "2026-W48"}, headers=headers)
    assert r.status_code == 422 and "未知的节点代码" in r.get_json()["errors"]["query"]["node"][0]
    web.login("center_a")
    r = web.client.get(f"/reports/weekly?node={node}&week=2026-W99")
    assert r.status_code == 422 and "周次：周次格式应为 YYYY-Www" in r.get_data(as_text=True)
    r = web.client.get(f"/reports/weekly.xlsx?node={node}&week=2027-W53")
    assert r.status_code == 422 and "2027年只有52周" in r.get_data(as_text=True)
    # The case list names the field.
    body = web.client.get(f"/disputes/?figure=new&node={node}&week=2026-W99").get_data(as_text=True)
    assert "报表周次：周次格式应为 YYYY-Www" in body and 'class="case-no"' not in body
    body = web.client.get(f"/disputes/?figure=new&node={node}&week=2026-W48&month=2026-11").get_data(
        as_text=True
    )
    assert "报表周次：报表月份和周次只能指定一个。" in body
    r = api.get(
        "/api/v1/disputes", query_string={"figure": "new", "node": node, "week": "2026-W99"}, headers=headers
    )
    assert r.status_code == 422 and "week" in r.get_json()["errors"]["query"]


def test_another_towns_week_is_refused(web, world):
    hand_counted(world)
    a = world.town_a.code
    r = web.client.get(
        "/api/v1/reports/weekly",
        query_string={"node": a, "week": W48.key},
        headers=world.center_user_b.headers,
    )
    assert r.status_code == 403 and "无权查看" in r.get_json()["message"]
    web.login("center_b")
    assert web.client.get(f"/reports/weekly?node={a}&week={W48.key}").status_code == 403
    assert web.client.get(f"/reports/weekly.xlsx?node={a}&week={W48.key}").status_code == 403
    # A crafted drill-down link: refused on the web, nothing of town A through the API.
    body = web.client.get(f"/disputes/?figure=carried_out&node={a}&week={W48.key}").get_data(as_text=True)
    assert "不在您的辖区内" in body and 'class="case-no"' not in body
    r = web.client.get(
        "/api/v1/disputes",
        query_string={"figure": "carried_out", "node": a, "week": W48.key},
        headers=world.center_user_b.headers,
    )
    assert r.status_code == 200 and r.get_json()["total"] == 0
    # Their own town: the 双港镇 case of the week.
    body = web.client.get(f"/reports/weekly?node={world.town_b.code}&week={W48.key}").get_data(as_text=True)
    new = [n for f, n, _, _ in links(body) if f == "new"]
    assert new and new[0] == 1
    assert re.search(r"双港镇 · 2026年第48周周报", body)
