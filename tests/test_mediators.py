"""调解员: the registry, its permissions, the "not trained this year" flag, the cases' 承办调解员,
a mediator's page and its counts, masking, and the Excel import and export."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from mediation import clock
from mediation.common.enums import Outcome, Status
from mediation.common.tabular import TableError
from mediation.disputes.casework import MediationSession
from mediation.disputes.models import Dispute, Event
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.mediators import service
from mediation.mediators.models import Background, Employment, Mediator, Training
from mediation.mediators.workbook import export_mediators, import_mediators
from tests.conftest import csrf_token, login
from tests.factories import make_id
from tests.workflow_support import make_case

PHONE = "13812345678"


def mediator(name, *units, employment=Employment.PART_TIME, background=Background.TEACHER, **kw):
    m = Mediator(name=name, employment=employment, background=background, units=list(units), **kw)
    db.session.add(m)
    db.session.commit()
    return m


def train(m, day, topic="人民调解实务", hours="4"):
    db.session.add(Training(mediator=m, held_on=day, hours=Decimal(hours), topic=topic, organiser="区司法局"))
    db.session.commit()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def clocked():
    clock.set(date(2026, 11, 18))
    yield
    clock.reset()


# ------------------------------------------------------------------------------ the untrained flag


def test_untrained_follows_the_shanghai_calendar_year_of_the_app_clock(app, world):
    m = mediator("王芳", world.committee_b)
    train(m, date(2025, 12, 31))
    try:
        clock.set("2025-12-31T15:59:00Z")  # 23:59 in Shanghai, still 2025
        assert service.untrained_ids([m.id]) == set()
        clock.set("2025-12-31T16:00:00Z")  # 00:00 on 1 January 2026 in Shanghai
        assert service.untrained_ids([m.id]) == {m.id}
        train(m, date(2026, 1, 1))
        assert service.untrained_ids([m.id]) == set()
        clock.set("2027-01-01T00:00:00+08:00")
        assert service.untrained_ids([m.id]) == {m.id}
    finally:
        clock.reset()


def test_the_list_the_api_and_the_export_flag_the_same_people(app, client, world, clocked, tmp_path):
    trained = mediator("李明", world.committee_b)
    train(trained, date(2026, 3, 1))
    stale = mediator("赵刚", world.committee_b)
    train(stale, date(2025, 6, 1))
    never = mediator("孙丽", world.committee_b)

    r = client.get("/api/v1/mediators?untrained=true", headers=world.center_user_b.headers)
    assert r.status_code == 200, r.get_json()
    assert {i["name"] for i in r.get_json()["items"]} == {"赵刚", "孙丽"}
    flags = {
        i["name"]: i["untrained"]
        for i in client.get("/api/v1/mediators", headers=world.center_user_b.headers).get_json()["items"]
    }
    assert flags == {"李明": False, "赵刚": True, "孙丽": True}

    login(client, "center_b")
    html = client.get("/mediators/?untrained=1").get_data(as_text=True)
    assert "赵刚" in html and "孙丽" in html and "李明" not in html

    path = tmp_path / "m.xlsx"
    export_mediators(path, world.town_b)
    ws = load_workbook(path)["调解员"]
    rows = list(ws.iter_rows(values_only=True))
    col = rows[0].index("本年度未培训")
    assert {r[1]: r[col] for r in rows[1:]} == {"李明": "否", "赵刚": "是", "孙丽": "是"}
    assert {trained.id, stale.id, never.id} - service.untrained_ids([trained.id, stale.id, never.id]) == {
        trained.id
    }


# ------------------------------------------------------------------------------ CRUD and permissions


def _form(name="陈晓红", units=("TW-B",), **kw):
    data = {"name": name, "units": list(units), "employment": "专职", "background": "律师", "phone": PHONE}
    data.update(kw)
    return data


def test_unit_staff_create_and_edit_their_own_units_mediators(app, client, world):
    login(client, "mediator_b")
    token = csrf_token(client, "/mediators/new")
    r = client.post("/mediators/new", data={**_form(active="1"), "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    m = db.session.scalar(select(Mediator).where(Mediator.name == "陈晓红"))
    assert [u.code for u in m.units] == ["TW-B"] and m.employment == Employment.FULL_TIME and m.active
    # a unit outside the user's reach is refused with a Chinese message, nothing written
    r = client.post("/mediators/new", data={**_form("周杰", units=("TW-A",)), "csrf_token": token})
    assert r.status_code == 422 and "管理范围以外" in r.get_data(as_text=True)
    r = client.post("/mediators/new", data={**_form("周杰3"), "csrf_token": token})
    assert r.status_code == 422 and "姓名只能由汉字" in r.get_data(as_text=True)
    assert count(Mediator) == 1
    # the form sent twice (a retry, a double tap): one mediator, the second time refused by name
    r = client.post("/mediators/new", data={**_form(active="1"), "csrf_token": token})
    assert r.status_code == 422 and "请勿重复登记" in r.get_data(as_text=True) and count(Mediator) == 1
    r = client.post(f"/mediators/{m.id}/edit", data={**_form(background="教师"), "csrf_token": token})
    assert r.status_code == 302
    db.session.refresh(m)
    assert m.background == Background.TEACHER and m.active is False  # the box was not ticked


def test_who_sees_and_who_edits(app, client, world):
    m = mediator("王芳", world.committee_b)
    for who, see, edit in [
        (world.admin, 200, 201),
        (world.district_staff, 200, 201),  # 区综治中心: the town is in its subtree
        (world.center_user_b, 200, 201),
        (world.mediator_b, 200, 201),  # the unit's own staff
        (world.center_user_a, 404, 404),  # another town
        (world.mediator_a, 404, 404),
        (world.court_user, 200, 403),  # the district court sees, does not edit
        (world.grid_a_user, 404, 404),
    ]:
        assert client.get(f"/api/v1/mediators/{m.id}", headers=who.headers).status_code == see, who.username
        body = {
            "held_on": f"2026-03-0{1 + len(who.username) % 8}",
            "hours": "2",
            "topic": who.username,
            "organiser": "区司法局",
        }
        r = client.post(f"/api/v1/mediators/{m.id}/trainings", json=body, headers=who.headers)
        assert r.status_code == edit, (who.username, r.get_json())
        assert service.may_edit_mediator(who.user, m) == (edit == 201), who.username
    assert client.get("/api/v1/mediators", headers=world.mediator_a.headers).get_json()["total"] == 0


def test_training_entry_validates_and_a_retry_is_not_a_duplicate(app, client, world, clocked):
    m = mediator("王芳", world.committee_b)
    h = world.mediator_b.headers
    bad = client.post(
        f"/api/v1/mediators/{m.id}/trainings",
        json={"held_on": "2099-01-01", "hours": "0.25", "topic": "", "organiser": "区司法局"},
        headers=h,
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]["json"]
    assert "日期不能晚于今天" in errors["held_on"][0] and "学时" in errors["hours"][0] and "topic" in errors
    body = {"held_on": "2026-05-06", "hours": "3.5", "topic": "婚姻家庭纠纷调解", "organiser": "区司法局"}
    first = client.post(f"/api/v1/mediators/{m.id}/trainings", json=body, headers=h)
    again = client.post(f"/api/v1/mediators/{m.id}/trainings", json=body, headers=h)
    assert first.status_code == again.status_code == 201 and first.get_json()["id"] == again.get_json()["id"]
    assert count(Training) == 1 and first.get_json()["hours"] == "3.5"


def test_phone_and_id_number_are_masked_for_roles_that_do_not_need_them(app, client, world):
    m = mediator("王芳", world.committee_b, phone=PHONE, id_number=make_id())
    full = client.get(f"/api/v1/mediators/{m.id}", headers=world.mediator_b.headers).get_json()
    assert full["phone"] == PHONE and full["id_number"] == make_id()  # mediators: ID_NUMBER_ROLES
    center = client.get(f"/api/v1/mediators/{m.id}", headers=world.center_user_b.headers).get_json()
    assert (
        center["phone"] == PHONE
        and center["id_number"] == "120***********1234"[: len(make_id())]
        or "*" in center["id_number"]
    )
    assert make_id() not in str(center)
    court = client.get(f"/api/v1/mediators/{m.id}", headers=world.court_user.headers).get_json()
    assert court["phone"] == "138****5678" and court["id_number"] == make_id()
    login(client, "court")
    html = client.get(f"/mediators/{m.id}").get_data(as_text=True)
    assert "138****5678" in html and PHONE not in html


# ------------------------------------------------------------------------------ 承办调解员


def test_case_mediators_only_from_the_lead_or_co_units_set_by_the_lead_unit(app, client, world):
    dispute_id = make_case(client, world, Stage.HANDLING)  # lead unit TW-B
    own = mediator("王芳", world.committee_b)
    other = mediator("李明", world.committee_a)
    retired = mediator("赵刚", world.committee_b, active=False)
    url = f"/api/v1/disputes/{dispute_id}/mediators"
    r = client.put(url, json={"mediators": [own.id, other.id]}, headers=world.mediator_b.headers)
    assert r.status_code == 422 and "牵头单位或联办单位" in str(r.get_json())
    r = client.put(url, json={"mediators": [retired.id]}, headers=world.mediator_b.headers)
    assert r.status_code == 422
    assert client.put(url, json={"mediators": [own.id]}, headers=world.mediator_a.headers).status_code == 404
    assert (
        client.put(url, json={"mediators": [own.id]}, headers=world.center_user_b.headers).status_code == 403
    )
    r = client.put(url, json={"mediators": [own.id]}, headers=world.mediator_b.headers)
    assert r.status_code == 200 and r.get_json() == [{"id": own.id, "name": "王芳"}]
    # a co-handling unit's mediator may be picked
    d = db.session.get(Dispute, dispute_id)
    d.co_units = [world.committee_a]
    db.session.commit()
    r = client.put(url, json={"mediators": [own.id, other.id]}, headers=world.mediator_b.headers)
    assert r.status_code == 200
    case = client.get(f"/api/v1/disputes/{dispute_id}", headers=world.center_user_b.headers).get_json()
    assert {m["name"] for m in case["mediators"]} == {"王芳", "李明"}
    events = db.session.scalars(
        select(Event).where(Event.dispute_id == dispute_id, Event.type == "mediators_set")
    )
    assert [e.label for e in events] == ["指定承办调解员", "指定承办调解员"]
    # the case page: the form for the lead unit, the names for everyone who sees the case
    login(client, "mediator_b")
    html = client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert 'data-testid="case-mediators-form"' in html and "指定承办调解员" in html
    token = csrf_token(client, f"/disputes/{dispute_id}")
    r = client.post(f"/mediators/cases/{dispute_id}", data={"mediators": [str(own.id)], "csrf_token": token})
    assert r.status_code == 302
    db.session.expire_all()
    assert [m.name for m in db.session.get(Dispute, dispute_id).mediators] == ["王芳"]


def test_the_mediators_page_counts_cases_sessions_and_results(app, client, world):
    """Hand-counted: 王芳 handles 4 cases — 2 调解成功, 1 调解不成功, 1 open — with 3 sessions; a case
    of 李明 alone and its session do not count."""
    m = mediator("王芳", world.committee_b)
    other = mediator("李明", world.committee_b)
    ids = [make_case(client, world, Stage.HANDLING) for _ in range(5)]
    cases = [db.session.get(Dispute, i) for i in ids]
    for d, outcome in zip(cases[:3], [Outcome.SUCCESS, Outcome.SUCCESS, Outcome.FAILURE], strict=True):
        d.status, d.outcome, d.closed_on = Status.CLOSED, outcome, date(2026, 11, 1)
    for d in cases[:4]:
        d.mediators = [m]
    cases[4].mediators = [other]
    for d, n in ((cases[0], 2), (cases[3], 1), (cases[4], 2)):
        for k in range(n):
            db.session.add(
                MediationSession(
                    dispute=d,
                    held_on=date(2026, 10, 1 + k),
                    place="调解室",
                    mediators="王芳",
                    attendees="双方",
                    record="记录",
                )
            )
    db.session.commit()
    out = client.get(f"/api/v1/mediators/{m.id}", headers=world.center_user_b.headers).get_json()
    assert out["results"] == {"调解成功": 2, "调解不成功": 1, "撤回": 0, "不予受理": 0, "未办结": 1}
    assert out["sessions"] == 3 and len(out["cases"]) == 4
    assert {c["status"] for c in out["cases"]} == {"已办结", "办理中"}
    login(client, "center_b")
    html = client.get(f"/mediators/{m.id}").get_data(as_text=True)
    assert re.search(r'data-outcome="调解成功">2<', html) and re.search(
        r'data-testid="session-count">3<', html
    )
    assert re.search(r'data-outcome="open">1<', html)


# ------------------------------------------------------------------------------ Excel


def _book(path, mediators, trainings=()):
    wb = Workbook()
    ws = wb.active
    ws.title = "调解员"
    ws.append(["序号", "姓名", "所属单位代码", "专职/兼职", "背景", "资质", "联系电话", "身份证号", "在职"])
    for row in mediators:
        ws.append(row)
    ws2 = wb.create_sheet("培训记录")
    ws2.append(["序号", "姓名", "培训日期", "学时", "培训主题", "组织单位"])
    for row in trainings:
        ws2.append(row)
    wb.save(path)
    return path


def test_import_with_a_bad_row_writes_nothing_and_says_where(app, world, tmp_path, clocked):
    path = _book(
        tmp_path / "bad.xlsx",
        [
            ["1", "王芳", "TW-B", "专职", "律师", "", PHONE, "", "是"],
            ["2", "李明2", "TW-X", "全职", "医生", "", "12", "", "是"],
        ],
        [["1", "王芳", "2026-03-01", "4", "调解实务", "区司法局"], ["9", "", "2026-13-01", "x", "", ""]],
    )
    result = import_mediators(path)
    db.session.rollback()
    lines = [i.line() for i in result.errors]
    assert not result.ok and count(Mediator) == 0 and count(Training) == 0
    assert any(line.startswith("「调解员」第3行「姓名」：姓名只能由汉字") for line in lines), lines
    assert any(line.startswith("「调解员」第3行「专职/兼职」") for line in lines)
    assert any(line.startswith("「调解员」第3行「背景」") for line in lines)
    assert any(line.startswith("「调解员」第3行「联系电话」") for line in lines)
    assert any(line.startswith("「培训记录」第3行「序号」") for line in lines)
    assert "未导入任何数据" in result.summary()


def test_export_then_import_round_trip(app, world, tmp_path, clocked):
    a = mediator("王芳", world.committee_b, phone=PHONE, id_number=make_id(), qualifications="人民调解员证")
    train(a, date(2026, 3, 1))
    train(a, date(2025, 3, 1), topic="法律知识")
    mediator(
        "欧阳·明",
        world.committee_b,
        world.police_b,
        employment=Employment.FULL_TIME,
        background=Background.LAWYER,
    )
    first = tmp_path / "first.xlsx"
    assert export_mediators(first, world.town_b) == {"mediators": 2, "trainings": 2}

    def rows(path):
        wb = load_workbook(path)
        return {s: [r for r in wb[s].iter_rows(values_only=True)] for s in ("调解员", "培训记录")}

    before = rows(first)
    db.session.execute(Mediator.__table__.delete())
    db.session.commit()
    result = import_mediators(first)
    assert result.ok, [i.line() for i in result.errors]
    db.session.commit()
    assert result.created == 2 and result.trainings == 2
    second = tmp_path / "second.xlsx"
    export_mediators(second, world.town_b)
    assert rows(second) == before
    again = import_mediators(second)  # importing the same file twice creates nobody
    db.session.commit()
    assert again.ok and again.created == 0 and again.present == 2 and again.trainings == 0
    assert count(Mediator) == 2 and count(Training) == 2


def test_import_refuses_units_outside_the_users_reach(app, world, tmp_path):
    path = _book(tmp_path / "m.xlsx", [["1", "王芳", "TW-A", "专职", "律师", "", "", "", "是"]])
    result = import_mediators(path, user=world.center_user_b.user)
    db.session.rollback()
    assert not result.ok and "管理范围以外" in result.errors[0].line() and count(Mediator) == 0


def test_cli_import_and_export(app, world, tmp_path):
    runner = app.test_cli_runner()
    bad = _book(tmp_path / "bad.xlsx", [["1", "王芳", "TW-B", "专职", "律师", "", "", "123", "是"]])
    r = runner.invoke(args=["mediators", "import", str(bad)])
    assert r.exit_code == 1 and "「调解员」第2行「身份证号」" in r.output
    good = _book(tmp_path / "good.xlsx", [["1", "王芳", "TW-B", "专职", "律师", "", "", "", "是"]])
    r = runner.invoke(args=["mediators", "import", str(good)])
    assert r.exit_code == 0 and "新增调解员 1 人" in r.output
    out = tmp_path / "out.xlsx"
    r = runner.invoke(args=["mediators", "export", str(out), "--node", world.district.code])
    assert r.exit_code == 0 and out.exists() and "调解员 1 人" in r.output


def test_web_import_upload(app, client, world, tmp_path):
    login(client, "center_b")
    token = csrf_token(client, "/mediators/")
    bad = _book(tmp_path / "bad.xlsx", [["1", "王芳", "TW-A", "专职", "律师", "", "", "", "是"]])
    with bad.open("rb") as fh:
        r = client.post("/mediators/import", data={"file": (fh, "m.xlsx"), "csrf_token": token})
    assert r.status_code == 422 and "「调解员」第2行「所属单位代码」" in r.get_data(as_text=True)
    assert count(Mediator) == 0


def test_list_filters_on_the_web_and_the_api(app, client, world, clocked):
    mediator("王芳", world.committee_b, employment=Employment.FULL_TIME, background=Background.LAWYER)
    mediator("李明", world.committee_b, world.police_b, background=Background.TEACHER)
    mediator("赵刚", world.committee_a, background=Background.LAWYER)
    mediator("孙丽", world.committee_b, active=False)
    h = world.district_staff.headers

    def names(query):
        r = client.get(f"/api/v1/mediators?{query}", headers=h)
        assert r.status_code == 200, r.get_json()
        return sorted(i["name"] for i in r.get_json()["items"])

    assert names("") == ["李明", "王芳", "赵刚"]
    assert names("inactive=true") == ["孙丽", "李明", "王芳", "赵刚"]
    assert names(f"node={world.town_b.code}") == ["李明", "王芳"]
    assert names("employment=专职") == ["王芳"]
    assert names("background=律师") == ["王芳", "赵刚"]
    assert names("per_page=1&page=2")[0] == "王芳"  # by name: 李 < 王 < 赵 (code points)
    r = client.get("/api/v1/mediators?background=医生", headers=h)
    assert r.status_code == 422 and "未知的背景" in str(r.get_json())
    assert (
        client.get(
            f"/api/v1/mediators?node={world.town_a.code}", headers=world.center_user_b.headers
        ).status_code
        == 422
    )
    login(client, "qu_center")
    html = client.get("/mediators/?employment=&background=律师&q=").get_data(as_text=True)
    assert "王芳" in html and "赵刚" in html and "李明" not in html and "field-error" not in html


def test_web_export_masks_for_the_court(app, client, world, tmp_path):
    mediator("王芳", world.committee_b, phone=PHONE)
    login(client, "court")
    token = csrf_token(client, "/mediators/")
    r = client.post("/mediators/export", data={"node": world.town_b.code, "csrf_token": token})
    assert r.status_code == 200 and r.mimetype.endswith("sheet")
    path = tmp_path / "court.xlsx"
    path.write_bytes(r.data)
    rows = list(load_workbook(path)["调解员"].iter_rows(values_only=True))
    assert rows[1][rows[0].index("联系电话")] == "138****5678"


def test_the_upload_limits_apply_to_the_import(app, client, world, tmp_path):
    path = _book(
        tmp_path / "big.xlsx", [[str(i), "王芳", "TW-B", "专职", "律师", "", "", "", "是"] for i in range(5)]
    )
    app.config["TABLE_MAX_ROWS"] = 3
    with pytest.raises(TableError, match="「调解员」表超出导入限制（TABLE_MAX_ROWS）"):
        import_mediators(path)
    login(client, "center_b")
    token = csrf_token(client, "/mediators/")
    with path.open("rb") as fh:
        r = client.post("/mediators/import", data={"file": (fh, "m.xlsx"), "csrf_token": token})
    assert r.status_code == 302
    html = client.get("/mediators/").get_data(as_text=True)
    assert "「调解员」表超出导入限制（TABLE_MAX_ROWS）" in html
    assert count(Mediator) == 0
