"""Reports that lead to the cases: every figure linked on the 月清月结, 双百, channel and overdue pages
opens the case list of exactly the cases it counts (the same SQL condition, reports.figures.FIGURES),
with a heading naming it, inside the user's scope; rates link to their numerator and denominator."""

from __future__ import annotations

import html
import io
import random
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import SupervisionLevel, SupervisionOrder
from mediation.reports import figures
from mediation.reports.common import Month
from mediation.reports.figures import FIGURES, figure_filter
from tests.reports_data import case, party_rating, visit_score

OCT = Month(2026, 10)
LINK = re.compile(
    r'<a class="fig-link[^"]*" data-figure="([^"]+)" data-count="(\d+)"[^>]*?href="([^"]+)"[^>]*>([^<]*)</a>'
)
TOTAL = re.compile(r'class="result-count" role="status">共 <strong>(\d+)</strong> 件')


def build_cases(world, seed: int = 12) -> None:
    """Demo-like cases around October 2026 over both towns (seeded), and cases in 预警 / 超期 today."""
    w = world
    rnd = random.Random(seed)
    places = [w.grid_a, w.grid_a, w.village_a, w.town_a, w.grid_b, w.village_b, w.town_b, w.district]
    routes = [
        (None, None),
        ("人民调解", w.committee_a),
        ("人民调解", w.committee_b),
        ("行政调解", w.police_b),
        ("诉调对接", w.court),
    ]
    categories = ["邻里", "婚姻家庭", "合同", "劳动争议/欠薪"]
    venues = ["村", "家庭", "学校", "企业", "单位", None]
    for _ in range(140):
        registered = date(2026, 8, 1) + timedelta(days=rnd.randrange(0, 110))
        channel, unit = rnd.choice(routes)
        accepted = registered + timedelta(days=rnd.randrange(0, 5)) if channel else None
        deadline = accepted + timedelta(days=30) if accepted else None
        closed = outcome = stabilized = None
        status = None
        roll = rnd.random()
        if roll < 0.45:
            closed = registered + timedelta(days=rnd.randrange(0, 60))
            outcome = rnd.choice(["调解成功", "调解成功", "调解不成功", "撤回", "不予受理"])
            if rnd.random() < 0.15:
                stabilized = registered + timedelta(days=rnd.randrange(0, 10))
        elif roll < 0.65 and channel:
            status, stabilized = "稳控", rnd.choice([registered + timedelta(days=rnd.randrange(0, 40)), None])
        elif channel:
            status = "办理中"
        else:
            status = "待分流"
        case(
            w,
            rnd.choice(places),
            registered,
            closed_on=closed,
            outcome=outcome,
            status=status,
            accepted_on=accepted,
            deadline=deadline,
            stabilized_on=stabilized,
            prominent=rnd.random() < 0.2,
            civil_to_criminal=rnd.random() < 0.08,
            venue=rnd.choice(venues),
            category=rnd.choice(categories),
            channel=channel,
            unit=unit,
        )
    # 满意率: party ratings and staff 回访 scores around October (Shanghai month bounds in UTC).
    answered = [d for d in db.session.scalars(select(Dispute).order_by(Dispute.id)) if d.closed_on][:40]
    for d in answered:
        at = datetime(2026, 9, 28) + timedelta(hours=rnd.randrange(0, 24 * 40))
        if rnd.random() < 0.6:
            party_rating(d, rnd.randint(1, 5), at)
        if rnd.random() < 0.6:
            visit_score(w, d, rnd.randint(1, 5), at + timedelta(days=rnd.randrange(0, 5)))
    # The overdue review is as of today: 超期, 预警 (28 of 30 days used), 正常; one without a lead unit.
    today = local_today()
    for place, unit, channel, used, left in (
        (w.grid_a, w.committee_a, "人民调解", 40, -10),
        (w.grid_a, w.committee_a, "人民调解", 28, 2),
        (w.town_a, None, None, 35, -5),
        (w.grid_b, w.police_b, "行政调解", 50, -20),
        (w.grid_b, w.police_b, "行政调解", 25, 5),
        (w.grid_b, w.committee_b, "人民调解", 1, 29),
    ):
        accepted = today - timedelta(days=used)
        case(
            w,
            place,
            accepted,
            accepted_on=accepted,
            deadline=today + timedelta(days=left),
            status="办理中",
            channel=channel,
            unit=unit,
            prominent=used > 45,
        )
    # 督办 due in October (the scorecard's 督办按期回复率): answered on time, late, or not at all.
    ordered = [d for d in db.session.scalars(select(Dispute).order_by(Dispute.id)) if d.unit_id][:12]
    for d in ordered:
        reply_by = date(2026, 10, 1) + timedelta(days=rnd.randrange(0, 31))
        replied = rnd.choice([None, datetime.combine(reply_by, datetime.min.time()), datetime.combine(reply_by + timedelta(days=2), datetime.min.time())])  # fmt: skip
        db.session.add(
            SupervisionOrder(
                dispute_id=d.id,
                level=SupervisionLevel.ORDINARY,
                issued_by_unit_id=w.district_center.id,
                target_unit_id=d.unit_id,
                reply_by=reply_by,
                replied_at=replied,
            )
        )
    db.session.commit()


def links(page_html: str) -> list[tuple[str, int, str, str]]:
    """(figure, the figure's number, href, the link's text) of every figure link of a page."""
    return [(f, int(n), html.unescape(href), text) for f, n, href, text in LINK.findall(page_html)]


def list_total(client, href: str) -> int:
    body = client.get(href).get_data(as_text=True)
    match = TOTAL.search(body)
    assert match, f"no case count on {href}"
    return int(match.group(1))


def report_pages(world) -> dict[str, str]:
    d = world.district.code
    return {
        "monthly": f"/reports/?node={d}&month={OCT.key}",
        "shuangbai": f"/reports/shuangbai?node={d}&month={OCT.key}",
        "channels": f"/reports/channels?node={d}&month={OCT.key}",
        "overdue": f"/reports/overdue?node={d}",
        "monthly_town": f"/reports/?node={world.town_a.code}&month={OCT.key}",
        # 考核: the month and the quarter (2026-Q4 spans October to December)
        "scorecard": f"/reports/scorecard?node={d}&period={OCT.key}",
        "scorecard_quarter": f"/reports/scorecard?node={d}&period=2026-Q4",
    }


@pytest.fixture
def cases(world):
    build_cases(world)
    return world


def test_every_linked_figure_opens_a_list_of_as_many_cases(web, cases):
    web.login("qu_center")
    seen_figures: set[str] = set()
    seen_args: set[str] = set()
    for name, url in report_pages(cases).items():
        response = web.client.get(url)
        assert response.status_code == 200, url
        found = links(response.get_data(as_text=True))
        assert len(found) > 10, f"{name}: too few figure links"
        checked: dict[str, int] = {}
        for figure, number, href, text in found:
            if text.strip().isdigit():
                assert int(text) == number  # the link shows the figure it leads to
            if href not in checked:
                checked[href] = list_total(web.client, href)
            assert checked[href] == number, (
                f"{name}: {figure} {href} shows {number}, the list {checked[href]}"
            )
            seen_figures.add(figure)
            seen_args.update(f"{k}={v[0]}" for k, v in parse_qs(urlsplit(unquote(href)).query).items())
        assert any(n > 0 for _, n, _, _ in found)
    # Every case-counting figure is linked somewhere, and every line of the tables.
    assert seen_figures == set(FIGURES)
    for arg in (
        "prominent=1",
        "direct=1",
        "channel=未分流",
        "channel=人民调解",
        "category=婚姻家庭",
        "venue=未填",
        "venue=学校",
        "level=超期",
        "level=预警",
        "unit=未分流",
        f"unit={cases.police_b.code}",
        f"unit={cases.committee_a.code}",
    ):
        assert arg in seen_args, arg


def test_figures_and_their_conditions_agree_in_the_service(app, cases):
    """The drill-down's WHERE clause counts what the aggregate counts, for every node and both columns."""
    w = cases
    for node in (w.district, w.town_a, w.town_b, w.village_a, w.grid_b):
        report = figures.monthly_report(node, OCT, cases=False)
        for prominent, shown in ((False, report), (True, report["prominent"])):
            for key in figures.COUNT_KEYS:
                n = db.session.scalar(
                    select(func.count())
                    .select_from(Dispute)
                    .where(figure_filter(key, node, OCT, prominent=prominent))
                )
                assert n == shown[key], (node.name, key, prominent)
        channels = figures.channel_report(node, OCT)
        for row in channels["channels"]:
            for key in ("new", "received", "handled", "resolved", "closed"):
                n = db.session.scalar(
                    select(func.count())
                    .select_from(Dispute)
                    .where(figure_filter(key, node, OCT, channel=row["channel"]))
                )
                assert n == row[key], (node.name, row["channel"], key)
        for key in ("cases", "resolved", "stabilized", "outside"):
            n = db.session.scalar(
                select(func.count()).select_from(Dispute).where(figure_filter("double_" + key, node, OCT))
            )
            assert n == channels["double"][key], (node.name, key)
        satisfaction = figures.satisfaction_report(node, OCT)
        for key, figure in (("answered", "satisfaction_answered"), ("satisfied", "satisfied")):
            n = db.session.scalar(
                select(func.count()).select_from(Dispute).where(figure_filter(figure, node, OCT))
            )
            assert n == satisfaction[key], (node.name, key)
            for row in satisfaction["by_unit"]:
                unit = (
                    Dispute.unit_id.is_(None)
                    if row["unit"] == "未分流"
                    else Dispute.unit.has(code=row["unit"])
                )
                n = db.session.scalar(
                    select(func.count()).select_from(Dispute).where(figure_filter(figure, node, OCT), unit)
                )
                assert n == row[key], (node.name, row["unit"], key)
    assert figures.satisfaction_report(w.district, OCT)["satisfied"] > 0


def test_heading_paging_and_export_keep_the_figure(web, cases):
    web.login("qu_center")
    d = cases.district.code
    body = web.client.get(f"/disputes/?figure=new&node={d}&month={OCT.key}&per_page=5").get_data(as_text=True)
    assert "海滨区 · 2026年10月 · 本月新增" in body
    assert "返回月清月结" in body
    total = int(TOTAL.search(body).group(1))
    expected = figures.monthly_report(cases.district, OCT, cases=False)["new"]
    assert total == expected > 5
    # Page links and the export carry the figure.
    pages = [html.unescape(h) for h in re.findall(r'href="(/disputes/\?[^"]*page=2[^"]*)"', body)]
    assert pages and all("figure=new" in h and f"month={OCT.key}" in h for h in pages)
    assert int(TOTAL.search(web.client.get(pages[0]).get_data(as_text=True)).group(1)) == total
    export = html.unescape(re.search(r'id="export-xlsx" href="([^"]+)"', body).group(1))
    assert parse_qs(urlsplit(export).query)["figure"] == ["new"]
    workbook = load_workbook(io.BytesIO(web.client.get(export).data))
    sheet = workbook.worksheets[0]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r and r[0]]
    assert len(rows) == total
    # The filter form keeps the figure too.
    assert '<input type="hidden" name="figure" value="new">' in body


def test_another_town_sees_nothing_through_a_crafted_link(web, cases):
    w = cases
    web.login("center_b")
    for node in (w.town_a, w.district):
        for figure in ("in_scope", "carried_out", "review"):
            body = web.client.get(f"/disputes/?figure={figure}&node={node.code}&month={OCT.key}").get_data(
                as_text=True
            )
            assert "不在您的辖区内" in body
            assert 'class="case-no"' not in body
    # Through the API the figure is the user's scope AND the figure: nothing of 海滨街道.
    town_a_total = figures.monthly_report(w.town_a, OCT, cases=False)["carried_in"]
    assert town_a_total > 0
    response = web.client.get(
        f"/api/v1/disputes?figure=in_scope&node={w.town_a.code}&month={OCT.key}",
        headers=w.center_user_b.headers,
    )
    assert response.status_code == 200 and response.get_json()["total"] == 0
    mine = web.client.get(
        f"/api/v1/disputes?figure=in_scope&node={w.town_a.code}&month={OCT.key}&per_page=1",
        headers=w.center_user_a.headers,
    ).get_json()
    assert mine["total"] == figures.shuangbai_report(w.town_a, OCT)["in_scope"] > 0
    # Their own town's figure works.
    body = web.client.get(f"/disputes/?figure=in_scope&node={w.town_b.code}&month={OCT.key}").get_data(
        as_text=True
    )
    assert int(TOTAL.search(body).group(1)) == figures.shuangbai_report(w.town_b, OCT)["in_scope"]
    # The report page of another town is refused, and its figures with it.
    assert web.client.get(f"/reports/?node={w.town_a.code}&month={OCT.key}").status_code == 403


def test_bad_figure_arguments_are_named(web, cases):
    web.login("qu_center")
    d = cases.district.code
    body = web.client.get(f"/disputes/?figure=nope&node={d}&month={OCT.key}").get_data(as_text=True)
    assert "报表指标：未知的报表指标。" in body
    body = web.client.get(f"/disputes/?figure=new&node={d}").get_data(as_text=True)
    assert "报表月份：请指定报表月份（YYYY-MM）。" in body
    body = web.client.get(f"/disputes/?figure=new&month={OCT.key}").get_data(as_text=True)
    assert "属地：请指定报表的节点。" in body
    body = web.client.get(f"/disputes/?figure=new&node={d}&month=2026-13").get_data(as_text=True)
    assert "报表月份：月份格式应为 YYYY-MM" in body
    body = web.client.get(f"/disputes/?figure=new&node={d}&month={OCT.key}&channel=xx").get_data(as_text=True)
    assert "化解渠道：未知的化解渠道。" in body
    body = web.client.get(f"/disputes/?figure=new&node={d}&month={OCT.key}&venue=xx").get_data(as_text=True)
    assert "发现场所：" in body and 'class="case-no"' not in body
