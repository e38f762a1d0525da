"""同比 / 环比 by category: for a month, per category, the month's count, the same month a year
before, the month before, the changes and rates of change ("—" when the base is 0) and 同比下降, for
新增 (registered in the month) and 办结 (closed in the month), checked against hand-counted cases
(February of a leap year against February of a common year, categories without cases last year),
the drill-down of every number, the Excel export, bad parameters and another town's node."""

from __future__ import annotations

import io
from datetime import date
from urllib.parse import parse_qs, urlsplit

from openpyxl import load_workbook
from sqlalchemy import event

from mediation.extensions import db
from mediation.reports import figures
from mediation.reports.common import Month
from tests.reports_data import case
from tests.test_report_drilldown import links, list_total

FEB28 = Month(2028, 2)  # 29 days


def hand_counted(w) -> None:
    """Cases of 海滨街道 (and one of 双港镇) in February 2028, February 2027 and January 2028."""
    # February 2028 (the month): 邻里 3 (one on the 29th), 婚姻家庭 1, 合同 1 (the 29th).
    case(w, w.grid_a, date(2028, 2, 1), closed_on=date(2028, 2, 29), category="邻里")  # also 办结 in Feb 2028
    case(w, w.grid_a, date(2028, 2, 15), category="邻里")
    case(w, w.village_a, date(2028, 2, 29), category="邻里")
    case(w, w.grid_a, date(2028, 2, 10), category="婚姻家庭")
    case(w, w.town_a, date(2028, 2, 29), category="合同")
    # February 2027 (a year before, 28 days): 邻里 2, 婚姻家庭 3; 1 March 2027 is not February.
    case(w, w.grid_a, date(2027, 2, 1), closed_on=date(2027, 2, 28), category="邻里")  # 办结 in Feb 2027
    case(w, w.grid_a, date(2027, 2, 28), category="邻里")
    case(w, w.grid_a, date(2027, 3, 1), category="邻里")
    for day in (5, 6, 7):
        case(w, w.grid_a, date(2027, 2, day), category="婚姻家庭")
    # January 2028 (the month before): 邻里 1, 合同 1.
    case(w, w.grid_a, date(2028, 1, 31), category="邻里")
    case(w, w.grid_a, date(2028, 1, 15), category="合同")
    # 办结 only: registered in December 2027, closed in February 2028.
    case(w, w.grid_a, date(2027, 12, 1), closed_on=date(2028, 2, 3), category="劳动争议/欠薪")
    # Another town's case of the month: not 海滨街道's.
    case(w, w.grid_b, date(2028, 2, 20), category="邻里")
    db.session.commit()


def row(current, last_year, previous, yoy_rate, mom_rate):
    return {
        "current": current,
        "last_year": last_year,
        "previous": previous,
        "yoy_change": current - last_year,
        "yoy_rate": yoy_rate,
        "mom_change": current - previous,
        "mom_rate": mom_rate,
        "yoy_down": current < last_year,
    }


def test_comparison_against_hand_counted_cases(app, world):
    hand_counted(world)
    report = figures.comparison_report(world.town_a, FEB28)
    assert (report["month"], report["last_year_month"], report["previous_month"]) == (
        "2028-02",
        "2027-02",
        "2028-01",
    )
    new = {r["category"]: {k: v for k, v in r.items() if k != "category"} for r in report["new"]["rows"]}
    assert new == {
        "邻里": row(3, 2, 1, 0.5, 2.0),
        "婚姻家庭": row(1, 3, 0, -0.6667, None),  # 同比下降; nothing last month: “—”
        "合同": row(1, 0, 1, None, 0.0),  # nothing a year before: “—”
    }
    assert new["婚姻家庭"]["yoy_down"] and not new["邻里"]["yoy_down"]
    # In the configured category order (婚姻家庭 before 邻里 before 合同).
    assert [r["category"] for r in report["new"]["rows"]] == ["婚姻家庭", "邻里", "合同"]
    assert report["new"]["total"] == row(5, 5, 2, 0.0, 1.5)
    closed = {
        r["category"]: {k: v for k, v in r.items() if k != "category"} for r in report["closed"]["rows"]
    }
    assert closed == {"邻里": row(1, 1, 0, 0.0, None), "劳动争议/欠薪": row(1, 0, 0, None, None)}
    assert report["closed"]["total"] == row(2, 1, 0, 1.0, None)
    # The numbers are the 月清月结 figures of each month.
    for m, key, value in ((FEB28, "new", 5), (Month(2027, 2), "new", 5), (FEB28, "closed", 2)):
        assert figures.monthly_report(world.town_a, m, cases=False)[key] == value
    # February 2029 against February 2028: the 29th counts for the year before.
    nxt = figures.comparison_report(world.town_a, Month(2029, 2))
    assert {r["category"]: r["last_year"] for r in nxt["new"]["rows"]} == {
        "婚姻家庭": 1,
        "邻里": 3,
        "合同": 1,
    }
    assert nxt["new"]["total"]["current"] == 0 and nxt["new"]["total"]["yoy_down"]
    # The district sees 双港镇's case too.
    district = figures.comparison_report(world.district, FEB28)
    assert district["new"]["total"]["current"] == 6


def test_one_grouped_query_per_month(app, world):
    hand_counted(world)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        figures.comparison_report(world.district, FEB28)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    counting = [s for s in statements if "FROM dispute" in s]
    assert len(counting) == 3 and all("GROUP BY" in s for s in counting)


def test_every_number_of_the_page_opens_as_many_cases(web, world):
    hand_counted(world)
    web.login("qu_center")
    for node in (world.district, world.town_a):
        body = web.client.get(f"/reports/comparison?node={node.code}&month={FEB28.key}").get_data(
            as_text=True
        )
        assert f"{node.name} · 2028年2月分类别同比、环比" in body
        assert "同比下降" in body and "—" in body
        found = links(body)
        assert len(found) >= 20
        months = set()
        for figure, number, href, _text in found:
            assert figure in ("new", "closed")
            months.update(parse_qs(urlsplit(href).query)["month"])
            assert list_total(web.client, href) == number, (href, number)
        assert months == {"2028-02", "2027-02", "2028-01"}


def test_comparison_page_on_a_phone_width_has_a_scrolling_table(web, world):
    hand_counted(world)
    web.login("center_a")
    body = web.client.get(f"/reports/comparison?month={FEB28.key}").get_data(as_text=True)
    assert body.count('<div class="table-wrap scroll-x">') == 2  # both tables scroll sideways on a phone
    assert 'id="comparison-new"' in body and 'id="comparison-closed"' in body
    # The monthly page links here.
    body = web.client.get(f"/reports/?month={FEB28.key}").get_data(as_text=True)
    assert f"/reports/comparison?node={world.town_a.code}&amp;month={FEB28.key}" in body


def test_comparison_excel_export(web, world):
    hand_counted(world)
    web.login("center_a")
    r = web.client.get(f"/reports/comparison.xlsx?node={world.town_a.code}&month={FEB28.key}")
    assert r.status_code == 200
    assert f"{world.town_a.code}_2028-02_comparison.xlsx" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["新增", "办结"]
    ws = wb["新增"]
    assert ws["A1"].value == "海滨街道2028年2月分类别新增纠纷（按登记日期）同比、环比"
    assert [c.value for c in ws[4]][:4] == [
        "纠纷类别",
        "本月（2028-02）",
        "去年同月（2027-02）",
        "上月（2028-01）",
    ]
    data = {ws.cell(row=r, column=1).value: r for r in range(5, ws.max_row + 1)}
    assert [ws.cell(row=data["邻里"], column=c).value for c in (2, 3, 4)] == [3, 2, 1]
    assert [ws.cell(row=data["合同"], column=c).value for c in (2, 3, 4)] == [1, 0, 1]
    r_ = data["合同"]
    assert ws.cell(row=r_, column=6).value == f'=IF(C{r_}=0,"—",(B{r_}-C{r_})/C{r_})'
    total = data["合计"]
    assert ws.cell(row=total, column=2).value == f"=SUM(B5:B{total - 1})"
    assert (
        ws.cell(row=data["婚姻家庭"], column=9).value
        == f'=IF(B{data["婚姻家庭"]}<C{data["婚姻家庭"]},"是","")'
    )
    assert wb["办结"].cell(row=5, column=1).value == "邻里"


def test_bad_parameters_and_another_town(web, world):
    hand_counted(world)
    headers = world.center_user_a.headers
    for month in ("2028-13", "2028-2", "feb"):
        r = web.client.get(
            "/api/v1/reports/comparison",
            query_string={"node": world.town_a.code, "month": month},
            headers=headers,
        )
        assert r.status_code == 422 and "月份格式应为 YYYY-MM" in r.get_json()["errors"]["query"]["month"][0]
    r = web.client.get(
        "/api/v1/reports/comparison", query_string={"node": world.town_a.code}, headers=headers
    )
    assert r.status_code == 422 and "month" in r.get_json()["errors"]["query"]
    r = web.client.get(
        "/api/v1/reports/comparison",
        query_string={"node": world.town_a.code, "month": FEB28.key},
        headers=headers,
    )
    assert r.status_code == 200 and r.get_json()["new"]["total"]["current"] == 5
    assert r.get_json()["new"]["rows"][2] == {"category": "合同", **row(1, 0, 1, None, 0.0)}
    r = web.client.get(
        "/api/v1/reports/comparison",
        query_string={"node": world.town_a.code, "month": FEB28.key},
        headers=world.center_user_b.headers,
    )
    assert r.status_code == 403
    web.login("center_b")
    assert (
        web.client.get(f"/reports/comparison?node={world.town_a.code}&month={FEB28.key}").status_code == 403
    )
    assert (
        web.client.get(f"/reports/comparison.xlsx?node={world.town_a.code}&month={FEB28.key}").status_code
        == 403
    )
    r = web.client.get("/reports/comparison?month=2028-13")
    assert r.status_code == 422 and "月份：月份格式应为 YYYY-MM" in r.get_data(as_text=True)
