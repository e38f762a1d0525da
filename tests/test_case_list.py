"""The case list (web page, API and Excel export): every filter, the whitelisted sorts, paging that
keeps the filters, the export equal to the filtered list with ID numbers masked as on screen, and the
待受理 stage derived in one place."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from mediation import clock
from mediation.common.enums import PartyKind, PartyRole, RiskLevel, Status
from mediation.common.validators import mask_id_number
from mediation.disputes.models import Dispute, Party
from mediation.disputes.schemas import SORT_KEYS
from mediation.disputes.workflow import Stage, stage_condition, stage_of
from mediation.extensions import db
from mediation.routing.deadlines import warning_level
from tests.factories import make_id
from tests.reports_data import case

TODAY = date(2026, 11, 16)
ID_A = make_id("12011619800101123")
ID_B = make_id("12011619900202456")


@pytest.fixture
def cases(world):
    """Cases of 海滨街道 (and one of 双港镇, never shown to 海滨街道's users) in every stage."""
    clock.set(TODAY)
    w = world

    def d(days: int) -> date:
        return TODAY - timedelta(days=days)

    c = {
        "pending": case(w, w.village_a, d(3), status="待分流", category="邻里"),
        "awaiting": case(w, w.village_a, d(5), channel="人民调解", unit=w.committee_a, category="婚姻家庭"),
        "overdue": case(
            w,
            w.village_a,
            d(60),
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=d(45),
            deadline=d(15),
            risk_level=RiskLevel.MAJOR.value,
        ),
        "warning": case(
            w,
            w.grid_a,
            d(30),
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=d(25),
            deadline=TODAY + timedelta(days=5),
        ),
        "handling": case(
            w,
            w.grid_a,
            d(10),
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=d(2),
            deadline=TODAY + timedelta(days=28),
            category="劳动争议/欠薪",
        ),
        "other_handler": case(
            w,
            w.grid_a,
            d(9),
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=d(2),
            deadline=TODAY + timedelta(days=28),
        ),
        "centre_led": case(
            w,
            w.town_a,
            d(8),
            channel="行政调解",
            unit=w.center_a,
            accepted_on=d(1),
            deadline=TODAY + timedelta(days=29),
            risk_level=RiskLevel.SERIOUS.value,
        ),
        "stabilized": case(
            w,
            w.village_a,
            d(20),
            status="稳控",
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=d(19),
            deadline=d(1),
            stabilized_on=d(10),
        ),
        "closed": case(
            w,
            w.village_a,
            d(40),
            closed_on=d(4),
            channel="人民调解",
            unit=w.committee_a,
            accepted_on=d(39),
            deadline=d(9),
        ),
        "town_b": case(
            w, w.village_b, d(6), channel="人民调解", unit=w.committee_b, accepted_on=d(6), deadline=d(1)
        ),
    }
    c["other_handler"].handler = w.center_user_a.user  # any other user than mediator_a
    names = {"pending": "王小明", "awaiting": "赵大海", "overdue": "王老五", "town_b": "王双港"}
    for key, dispute in c.items():
        db.session.add(
            Party(
                dispute=dispute,
                position=0,
                role=PartyRole.APPLICANT,
                kind=PartyKind.PERSON,
                name=names.get(key, f"当事人{dispute.id}"),
                id_number=ID_A if key == "awaiting" else None,
            )
        )
        db.session.add(
            Party(
                dispute=dispute,
                position=1,
                role=PartyRole.RESPONDENT,
                kind=PartyKind.PERSON,
                name=f"被申请人{dispute.id}",
                id_number=ID_B,
            )
        )
    c["handling"].summary = "工地拖欠农民工工资三个月。"
    db.session.commit()
    yield c
    clock.reset()


def api(client, who, **params) -> dict:
    r = client.get("/api/v1/disputes", query_string={"per_page": 200, **params}, headers=who.headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def ids(client, who, **params) -> list[int]:
    return [i["id"] for i in api(client, who, **params)["items"]]


def page_ids(web, **params) -> list[int]:
    html = web.client.get("/disputes/", query_string=params).get_data(as_text=True)
    return [int(x) for x in re.findall(r'class="case-no" href="/disputes/(\d+)"', html)]


def of(c, *keys) -> set[int]:
    return {c[k].id for k in keys}


A_CASES = (
    "pending",
    "awaiting",
    "overdue",
    "warning",
    "handling",
    "other_handler",
    "centre_led",
    "stabilized",
    "closed",
)


def test_the_stage_is_derived_in_one_place(world, cases):
    """stage_condition (SQL) and stage_of (Python) agree on every case; a routed, not accepted
    case is 待受理, not 办理中."""
    for st in Stage:
        in_sql = set(db.session.scalars(select(Dispute.id).where(stage_condition(st))))
        assert in_sql == {d.id for d in cases.values() if stage_of(d) == st}, st
    assert stage_of(cases["awaiting"]) == Stage.AWAITING


def test_stage_filter_and_the_stage_shown(client, web, world, cases):
    c, who = cases, world.center_user_a
    expected = {
        "待分流": of(c, "pending"),
        "待受理": of(c, "awaiting"),
        "办理中": of(c, "overdue", "warning", "handling", "other_handler", "centre_led"),
        "稳控": of(c, "stabilized"),
        "已办结": of(c, "closed"),
    }
    for stage, want in expected.items():
        assert set(ids(client, who, stage=stage)) == want, stage
    item = next(i for i in api(client, who)["items"] if i["id"] == c["awaiting"].id)
    assert item["stage"] == "待受理" and item["status"] == "办理中"
    web.login("center_a")
    assert set(page_ids(web, stage="待受理")) == of(c, "awaiting")
    html = web.client.get("/disputes/", query_string={"stage": "待受理"}).get_data(as_text=True)
    assert re.search(r'data-testid="stage"><span class="badge badge-pending">待受理</span>', html)
    bad = web.client.get("/disputes/", query_string={"stage": "受理中"}).get_data(as_text=True)
    assert "筛选条件有误" in bad and "办理阶段" in bad
    r = client.get("/api/v1/disputes", query_string={"stage": "受理中"}, headers=who.headers)
    assert r.status_code == 422 and "stage" in r.get_json()["errors"]["query"]


def test_warning_and_overdue_filters_follow_the_one_rule(client, web, world, cases):
    c, who = cases, world.center_user_a
    for level in ("预警", "超期"):
        want = {d.id for k, d in c.items() if k in A_CASES and warning_level(d, TODAY) == level}
        assert want  # the data has both
        assert set(ids(client, who, level=level)) == want, level
    assert set(ids(client, who, level="超期")) == of(c, "overdue", "stabilized")
    assert set(ids(client, who, level="预警")) == of(c, "warning")
    web.login("center_a")
    assert set(page_ids(web, level="超期")) == of(c, "overdue", "stabilized")


def test_lead_unit_mine_category_dates_and_text(client, web, world, cases):
    c, who = cases, world.center_user_a
    assert set(ids(client, who, unit="ZZ-A")) == of(c, "centre_led")
    assert ids(client, who, unit="TW-B") == []  # another town's unit: nothing of it is visible
    assert ids(client, who, unit="NOPE") == []
    # 分给我的: lead unit mine, and the mediator in charge is me or not recorded
    assert set(ids(client, world.mediator_a, mine="true")) == of(
        c, "awaiting", "overdue", "warning", "handling", "stabilized", "closed"
    )
    assert set(ids(client, who, mine="true")) == of(c, "centre_led")
    assert set(ids(client, who, category="婚姻家庭")) == of(c, "awaiting")
    assert set(
        ids(
            client,
            who,
            date_from=(TODAY - timedelta(days=9)).isoformat(),
            date_to=(TODAY - timedelta(days=3)).isoformat(),
        )
    ) == of(c, "pending", "awaiting", "other_handler", "centre_led")
    assert set(ids(client, who, q="王")) == of(c, "pending", "overdue")  # party names; 王双港 is town B's
    assert set(ids(client, who, q=c["closed"].case_no)) == of(c, "closed")
    assert set(ids(client, who, q="农民工")) == of(c, "handling")  # the summary
    # combined
    assert set(ids(client, who, mine="true", level="超期")) == set()
    assert set(ids(client, world.mediator_a, mine="true", level="超期")) == of(c, "overdue", "stabilized")

    web.login("center_a")
    assert set(page_ids(web, unit="ZZ-A")) == of(c, "centre_led")
    html = web.client.get("/disputes/", query_string={"unit": "NOPE"}).get_data(as_text=True)
    assert "未知的承办单位" in html
    web.client.post("/logout", data={"csrf_token": web.csrf("/disputes/")})
    web.login("mediator_a")
    assert set(page_ids(web, mine="1", q="王")) == of(c, "overdue")


def _collated(values) -> dict[str, int]:
    """Text values ranked by the database's own collation (SQLite and a PostgreSQL locale may
    order Chinese differently; the list follows the database)."""
    from sqlalchemy import literal, union_all

    values = sorted(set(values))
    rows = union_all(*(select(literal(v).label("v")) for v in values)).subquery()
    return {v: i for i, v in enumerate(db.session.scalars(select(rows.c.v).order_by(rows.c.v)))}


def _python_order(cases_, key):
    risk = {"一般": 1, "较大": 2, "重大": 3, "特别重大": 4}
    stage = {s.value: i for i, s in enumerate(Stage)}
    unit_name = {d.id: d.unit.name if d.unit else None for d in cases_}
    case_no = _collated(d.case_no for d in cases_)
    category = _collated(d.category for d in cases_)
    unit_rank = _collated(n for n in unit_name.values() if n)
    return {
        "registered": lambda d: (d.registered_at, d.id),
        "case_no": lambda d: (case_no[d.case_no], d.id),
        "category": lambda d: (category[d.category], d.id),
        "risk": lambda d: (risk[d.risk_level.value], d.id),
        "stage": lambda d: (stage[stage_of(d).value], d.id),
        "unit": lambda d: (unit_name[d.id] is None, unit_rank.get(unit_name[d.id], 0), d.id),
        "deadline": lambda d: (d.deadline or date.max, d.id),
    }[key]


@pytest.mark.parametrize("key", SORT_KEYS)
def test_every_sort_key_both_ways(client, world, cases, key):
    visible = [d for k, d in cases.items() if k in A_CASES]
    want = [d.id for d in sorted(visible, key=_python_order(visible, key))]
    got = [i for i in ids(client, world.center_user_a, sort=key) if i in set(want)]
    if key in ("deadline", "unit"):  # cases without a deadline (lead unit) last, whichever the direction
        assert got == want
        desc = [i for i in ids(client, world.center_user_a, sort=f"-{key}") if i in set(want)]
        attr = "deadline" if key == "deadline" else "unit_id"
        with_deadline = [i for i in want if getattr(db.session.get(Dispute, i), attr) is not None]
        assert desc == [*reversed(with_deadline), *reversed([i for i in want if i not in with_deadline])]
        return
    assert got == want
    assert [i for i in ids(client, world.center_user_a, sort=f"-{key}") if i in set(want)] == list(
        reversed(want)
    )


def test_sort_is_whitelisted(client, web, world, cases):
    r = client.get("/api/v1/disputes", query_string={"sort": "summary"}, headers=world.center_user_a.headers)
    assert r.status_code == 422
    web.login("center_a")
    html = web.client.get("/disputes/", query_string={"sort": "id; drop table dispute"}).get_data(
        as_text=True
    )
    assert "筛选条件有误" in html and "排序" in html


def test_sort_links_and_paging_keep_the_filters(web, world, cases):
    web.login("center_a")
    params = {"level": "超期", "q": "被申请人", "per_page": "1", "sort": "deadline"}
    html = web.client.get("/disputes/", query_string=params).get_data(as_text=True)
    assert "第 1 / 2 页" in html
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    for key in params:
        assert f"{key}=" in next_link, (key, next_link)
    second = web.client.get(next_link).get_data(as_text=True)
    first_ids = re.findall(r'class="case-no" href="/disputes/(\d+)"', html)
    second_ids = re.findall(r'class="case-no" href="/disputes/(\d+)"', second)
    assert [int(x) for x in first_ids + second_ids] == [cases["overdue"].id, cases["stabilized"].id]
    # the sort heading links keep the filters too and toggle the direction
    link = (
        re.search(r'<a class="sort-link" data-sort="deadline" href="([^"]+)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    assert "sort=-deadline" in link and "level=" in link and "q=" in link and "&page=" not in link
    # so does the export link
    export = re.search(r'id="export-xlsx" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert export.startswith("/disputes/export.xlsx?") and "level=" in export and "q=" in export
    # the form is a GET form: the filters are the address
    assert re.search(r'<form method="get" action="/disputes/"', html)


def _export_rows(client_or_web, **params) -> list[tuple]:
    r = client_or_web.get("/disputes/export.xlsx", query_string=params)
    assert r.status_code == 200, r.status_code
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.get_data()), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    return rows


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"level": "超期"},
        {"stage": "待受理"},
        {"q": "王", "sort": "case_no"},
        {"unit": "TW-A", "sort": "-deadline"},
    ],
)
def test_export_rows_equal_the_filtered_list(client, web, world, cases, params):
    web.login("center_a")
    rows = _export_rows(web.client, **params)
    header, body = rows[0], rows[1:]
    assert header[0] == "案号" and "办理阶段" in header and "证件号码" in header
    listed = api(client, world.center_user_a, **params)["items"]
    assert [r[0] for r in body] == [i["case_no"] for i in listed]
    stage_col = header.index("办理阶段")
    assert [r[stage_col] for r in body] == [i["stage"] for i in listed]


def test_export_masks_id_numbers_as_on_screen(client, web, world, cases):
    c = cases
    web.login("center_a")  # 综治中心: ID numbers masked on screen
    rows = _export_rows(web.client, stage="待受理")
    col = rows[0].index("证件号码")
    assert rows[1][col] == f"{mask_id_number(ID_A)}、{mask_id_number(ID_B)}"
    assert ID_A not in str(rows) and ID_B not in str(rows)
    case_page = web.client.get(f"/disputes/{c['awaiting'].id}").get_data(as_text=True)
    assert mask_id_number(ID_A) in case_page and ID_A not in case_page
    web.client.post("/logout", data={"csrf_token": web.csrf("/disputes/")})
    web.login("mediator_a")  # 调解员: shown in full, on screen and in the export
    rows = _export_rows(web.client, stage="待受理")
    assert rows[1][col] == f"{ID_A}、{ID_B}"


def test_export_refuses_bad_filters_and_too_many_rows(app, web, world, cases):
    web.login("center_a")
    r = web.client.get("/disputes/export.xlsx", query_string={"node": world.town_b.code, "q": "王"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/disputes/?")
    assert "q=" in r.headers["Location"]
    html = web.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "未导出" in html and "不在您的辖区内" in html
    app.config["CASE_LIST_EXPORT_MAX_ROWS"] = 3
    r = web.client.get("/disputes/export.xlsx")
    assert r.status_code == 302
    html = web.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "超过一次导出的上限3件" in html
    assert _export_rows(web.client, stage="待受理")[1][0] == cases["awaiting"].case_no  # 1 row: fine


def test_other_town_never_listed_or_exported(client, web, world, cases):
    assert cases["town_b"].id not in ids(client, world.center_user_a)
    assert cases["town_b"].id not in ids(client, world.center_user_a, q="王双港")
    web.login("center_a")
    assert all(r[0] != cases["town_b"].case_no for r in _export_rows(web.client))
    assert all(Status(d.status) for d in cases.values())
