"""Text that breaks the product later, and size/shape limits, on every input: the JSON API, the web
forms, ledger rows and the CLI imports. Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL), where
a NUL in a text value used to be a 500."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from mediation import clock
from mediation.disputes.models import Dispute, Event, Party
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from tests.conftest import csrf_token, login
from tests.factories import dispute_payload, zh_number

# One of each class the rule refuses.
FORBIDDEN = {
    "nul": "\x00",
    "c0": "\x07",
    "escape": "\x1b",
    "del": "\x7f",
    "c1": "\x85",
    "c1-csi": "\x9b",
    "surrogate": "\ud800",
    "nonchar-fdd0": "\ufdd0",
    "nonchar-fdef": "\ufdef",
    "nonchar-fffe": "\ufffe",
    "nonchar-ffff": "\uffff",
    "nonchar-plane1": "\U0001fffe",
    "nonchar-plane16": "\U0010ffff",
}
# A lone surrogate cannot be encoded in UTF-8 (form bodies, files): a browser sends U+FFFD instead.
ENCODABLE = {k: v for k, v in FORBIDDEN.items() if k != "surrogate"}
BAD_CHAR = "不允许的控制字符或非字符码位"
ONE_LINE = "只能填写一行"
HUGE = "9999999999999999999"  # 19 digits: more than a 64-bit integer holds


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def json_errors(resp) -> dict:
    assert resp.status_code == 422, (resp.status_code, resp.get_data(as_text=True)[:300])
    return resp.get_json()["errors"]


def register(client, world, who=None, **overrides):
    who = who or world.mediator_a
    return client.post(
        "/api/v1/disputes", json=dispute_payload(world.grid_a.code, **overrides), headers=who.headers
    )


@pytest.fixture
def case(client, world):
    r = register(client, world)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# ---------------------------------------------------------------------------------- the JSON API


@pytest.mark.parametrize("name", FORBIDDEN)
def test_api_registration_refuses_each_forbidden_character_in_party_name_and_summary(client, world, name):
    char = FORBIDDEN[name]
    payload = dispute_payload(world.grid_a.code, summary=f"楼上漏水{char}导致楼下受损")
    payload["parties"][0]["name"] = f"张{char}三"
    errors = json_errors(client.post("/api/v1/disputes", json=payload, headers=world.mediator_a.headers))[
        "json"
    ]
    assert BAD_CHAR in errors["summary"][0]
    assert BAD_CHAR in errors["parties"]["0"]["name"][0]
    assert f"U+{ord(char):04X}" in errors["summary"][0]
    assert count(Dispute) == 0 and count(Party) == 0


def test_tab_and_newline_only_in_multi_line_fields(client, world):
    payload = dispute_payload(world.grid_a.code)
    payload["parties"][0]["name"] = "张\t三"
    payload["parties"][0]["address"] = "新家园社区\n3号楼"
    errors = json_errors(client.post("/api/v1/disputes", json=payload, headers=world.mediator_a.headers))[
        "json"
    ]
    assert ONE_LINE in errors["parties"]["0"]["name"][0]
    assert ONE_LINE in errors["parties"]["0"]["address"][0]
    assert count(Dispute) == 0

    # The summary is multi-line: tab and newline are kept, CR LF is stored as LF.
    r = register(client, world, summary="第一行：漏水\r\n第二行：\t墙面受损")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["summary"] == "第一行：漏水\n第二行：\t墙面受损"


@pytest.mark.parametrize("name", ["nul", "c1", "surrogate", "nonchar-plane16"])
def test_api_workflow_note_refuses_forbidden_characters(client, world, case, name):
    char = FORBIDDEN[name]
    before = count(Event)
    for action, body in (
        ("escalate", {"reason": f"超出本级{char}调处能力"}),
        ("stabilize", {"note": f"每周{char}走访"}),
        ("close", {"outcome": "撤回", "note": f"申请人{char}撤回"}),
    ):
        r = client.post(
            f"/api/v1/disputes/{case['id']}/{action}", json=body, headers=world.district_staff.headers
        )
        field = "reason" if action == "escalate" else "note"
        assert BAD_CHAR in json_errors(r)["json"][field][0], action
    assert count(Event) == before
    assert db.session.get(Dispute, case["id"]).status.value == case["status"]


@pytest.mark.parametrize("name", ["nul", "del", "c1", "surrogate", "nonchar-fdd0"])
def test_api_carry_over_reason_refuses_forbidden_characters(client, world, case, name):
    r = client.post(
        "/api/v1/month-closes/carry-over",
        headers=world.district_staff.headers,
        json={
            "dispute": case["id"],
            "month": clock.today().strftime("%Y-%m"),
            "reason": f"当事人外出务工{FORBIDDEN[name]}，下月继续调解",
        },
    )
    assert BAD_CHAR in json_errors(r)["json"]["reason"][0]
    assert db.session.get(Dispute, case["id"]).carry_over_reason is None


@pytest.mark.parametrize("name", ["nul", "c0", "c1", "nonchar-fffe"])
def test_query_string_text_is_a_422_not_a_database_error(client, world, case, name, web):
    char = FORBIDDEN[name]
    r = client.get("/api/v1/disputes", query_string={"q": f"张{char}"}, headers=world.mediator_a.headers)
    assert BAD_CHAR in json_errors(r)["query"]["q"][0]
    r = client.get("/api/v1/followups", query_string={"status": char}, headers=world.mediator_a.headers)
    assert r.status_code == 422
    web.login("qu_center")
    for url in ("/disputes/", "/reports/overdue", "/reports/", "/followups/"):
        r = client.get(url, query_string={"q": char, "node": char, "unit": char})
        assert r.status_code == 422, url
        assert "查询参数" in r.get_data(as_text=True)


def test_string_and_list_fields_have_a_maximum(client, world):
    errors = json_errors(register(client, world, node="1" * 201))["json"]
    assert errors["node"] == ["长度不能超过200个字符。"]
    errors = json_errors(register(client, world, flags=["群体性"] * 101))["json"]
    assert errors["flags"] == ["最多100项。"]
    r = client.get("/api/v1/disputes", query_string={"q": "张" * 201}, headers=world.mediator_a.headers)
    assert json_errors(r)["query"]["q"] == ["长度不能超过200个字符。"]


# ---------------------------------------------------------------------------- parties per case


def _parties(n: int) -> list[dict]:
    return [{"role": "申请人", "name": f"当事人{zh_number(i)}"} for i in range(n)]


def test_parties_per_case_are_bounded_with_a_message_about_group_disputes(app, client, world):
    errors = json_errors(register(client, world, parties=_parties(101)))["json"]
    message = errors["parties"][0]
    assert "最多登记100个当事人" in message and "代表人" in message and "涉及人数" in message
    assert count(Dispute) == 0
    assert register(client, world, parties=_parties(100)).status_code == 201

    app.config["MAX_PARTIES_PER_CASE"] = 3
    assert (
        "最多登记3个当事人" in json_errors(register(client, world, parties=_parties(4)))["json"]["parties"][0]
    )
    r = client.post(
        "/api/v1/court-referrals",
        headers=world.court_user.headers,
        json={
            **dispute_payload(world.grid_b.code, parties=_parties(4)),
            "kind": "诉前委派",
            "court_case_no": "（2026）津0116民诉前调1234号",
            "unit": world.committee_b.code,
        },
    )
    assert "最多登记3个当事人" in json_errors(r)["json"]["parties"][0]


def test_web_form_refuses_too_many_parties(app, client, world, web):
    app.config["MAX_PARTIES_PER_CASE"] = 2
    web.login("mediator_a")
    form = {
        "csrf_token": web.csrf("/disputes/new"),
        "category": "邻里",
        "source": "群众来访",
        "summary": "楼上漏水导致楼下墙面受损。",
        "node": world.grid_a.code,
        "risk_level": "一般",
    }
    for i in range(3):
        form.update(
            {
                f"parties-{i}-role": "申请人",
                f"parties-{i}-kind": "自然人",
                f"parties-{i}-name": f"当事人{zh_number(i)}",
            }
        )
    r = client.post("/disputes/new", data=form)
    assert r.status_code == 422
    assert "最多登记2个当事人" in r.get_data(as_text=True)
    assert count(Dispute) == 0


# ------------------------------------------------------------------------------- JSON nesting


@pytest.mark.parametrize("depth", [33, 1000, 10_000])
def test_deeply_nested_json_is_a_400_with_a_chinese_message(client, world, depth):
    body = "[" * depth + "]" * depth
    r = client.post(
        "/api/v1/disputes", data=body, content_type="application/json", headers=world.mediator_a.headers
    )
    assert r.status_code == 400
    assert "嵌套层数过多" in r.get_json()["message"]
    nested = '{"a":' * depth + "1" + "}" * depth
    r = client.post(
        "/api/v1/disputes/1/accept",
        data=nested,
        content_type="application/json",
        headers=world.mediator_a.headers,
    )
    assert r.status_code == 400 and "嵌套层数过多" in r.get_json()["message"]
    assert count(Dispute) == 0
    # Brackets inside strings are text, not nesting.
    assert register(client, world, summary="[" * 2000 + "{" * 1000 + '\\"[').status_code == 201


def test_oversize_json_body_is_a_413(app, client, world):
    app.config["MAX_JSON_BYTES"] = 10_000
    r = register(client, world, summary="漏" * 5000)
    assert r.status_code == 413 and "请求体过大" in r.get_json()["message"]


# -------------------------------------------------------------------- paging of every list

PAGE_VALUES = [HUGE, "-1", "0", "abc", "1e3", "99999999999999999999999999999999999999"]
WEB_PAGE_VALUES = [HUGE, "-1", "abc", "9" * 40]


def _get_rules(app, prefix_api: bool):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        if rule.rule.startswith("/api/") == prefix_api:
            yield rule.rule


def test_every_api_list_bounds_its_paging_arguments(app, client, world, case):
    """Every GET endpoint of the API (from the URL map, so new lists are covered too) with absurd
    ``page`` / ``per_page``: never a 5xx; the ones that document ``page`` answer 422."""
    spec = client.get("/api/v1/openapi.json").get_json()
    paged = {
        path
        for path, item in spec["paths"].items()
        if any(p["name"] == "page" for p in item.get("get", {}).get("parameters", []))
    }
    assert "/api/v1/disputes" in paged and "/api/v1/followups" in paged  # the enumeration works
    rules = list(_get_rules(app, prefix_api=True))
    assert {
        "/api/v1/disputes",
        "/api/v1/notifications",
        "/api/v1/supervisions",
        "/api/v1/reports/overdue",
    } <= set(rules)
    for url in rules:
        for value in PAGE_VALUES:
            for key in ("page", "per_page", "page_size"):
                r = client.get(url, query_string={key: value}, headers=world.district_staff.headers)
                assert r.status_code < 500, (url, key, value, r.get_data(as_text=True)[:300])
                if url in paged and key != "page_size":
                    assert r.status_code == 422, (url, key, value)
                    assert r.get_json()["errors"]["query"][key], (url, key, value)


def test_every_web_list_bounds_its_paging_arguments(app, client, world, case, web):
    web.login("qu_center")
    rules = list(_get_rules(app, prefix_api=False))
    assert {"/disputes/", "/followups/", "/notifications/", "/reports/overdue"} <= set(rules)
    for url in rules:
        for value in WEB_PAGE_VALUES:
            r = client.get(url, query_string={"page": value, "per_page": value, "page_size": value})
            assert r.status_code < 500, (url, value, r.get_data(as_text=True)[:300])
            assert r.status_code in (200, 302, 400, 403, 404, 422), (url, value, r.status_code)


# ------------------------------------------------------------------- integer ids and amounts


def test_oversize_ids_and_amounts_are_refused_before_the_database(client, world, case):
    h = world.district_staff.headers
    for url in (
        f"/api/v1/disputes/{HUGE}",
        f"/api/v1/disputes/{2**31}",
        f"/api/v1/disputes/{HUGE}/casework",
        f"/api/v1/followups/{HUGE}",
        f"/api/v1/supervisions/{HUGE}",
    ):
        assert client.get(url, headers=h).status_code == 404, url
    r = client.post(f"/api/v1/disputes/{HUGE}/accept", json={}, headers=h)
    assert r.status_code == 404
    r = client.post(
        "/api/v1/month-closes/carry-over",
        headers=h,
        json={"dispute": int(HUGE), "month": "2026-10", "reason": "下月继续调解"},
    )
    assert "数值超出范围" in json_errors(r)["json"]["dispute"][0]
    r = client.post(
        f"/api/v1/disputes/{case['id']}/stabilize", headers=h, json={"note": "每周走访", "version": 10**30}
    )
    assert "version" in json_errors(r)["json"]
    for query in ({"dispute": HUGE}, {"dispute": str(-(2**63))}):
        assert client.get("/api/v1/followups", query_string=query, headers=h).status_code == 422
        assert client.get("/api/v1/supervisions", query_string=query, headers=h).status_code == 422
    for amount in ("1000000000000", "1e30", "1234567890123456789012345678901.001", "9" * 5000, 1e308):
        errors = json_errors(register(client, world, amount=amount))["json"]
        assert errors["amount"], amount
    assert register(client, world, amount="999999999999.99").status_code == 201
    r = client.post(
        "/api/v1/routing-rules",
        headers=world.admin.headers,
        json={"name": "大额", "channel": "人民调解", "min_people": 10**12, "min_amount": "1e13"},
    )
    errors = json_errors(r)["json"]
    assert "数值超出范围" in errors["min_people"][0] and errors["min_amount"] == ["金额过大。"]
    r = client.post(
        "/api/v1/screenings",
        headers=world.grid_a_user.headers,
        json={"node": world.grid_a.code, "found": 10**20},
    )
    assert r.status_code == 422


# --------------------------------------------------------------------------------- web forms


def _registration_form(web, world, **overrides) -> dict:
    form = {
        "csrf_token": web.csrf("/disputes/new"),
        "category": "邻里",
        "source": "群众来访",
        "summary": "楼上漏水导致楼下墙面受损。",
        "node": world.grid_a.code,
        "risk_level": "一般",
        "parties-0-role": "申请人",
        "parties-0-kind": "自然人",
        "parties-0-name": "张三",
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize("name", ENCODABLE)
def test_web_registration_form_refuses_each_forbidden_character(client, world, web, name):
    char = ENCODABLE[name]
    web.login("mediator_a")
    r = client.post(
        "/disputes/new",
        data=_registration_form(
            web, world, summary=f"楼上漏水{char}墙面受损", **{"parties-0-name": f"张{char}三"}
        ),
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.count(BAD_CHAR) >= 2  # under the summary and under the party's name
    assert count(Dispute) == 0


def test_web_form_textarea_newlines_are_kept_and_single_line_fields_refuse_them(client, world, web):
    web.login("mediator_a")
    r = client.post("/disputes/new", data=_registration_form(web, world, **{"parties-0-name": "张\t三"}))
    assert r.status_code == 422 and ONE_LINE in r.get_data(as_text=True)
    r = client.post("/disputes/new", data=_registration_form(web, world, summary="第一行\r\n第二行"))
    assert r.status_code == 303
    assert db.session.scalar(select(Dispute.summary)) == "第一行\n第二行"


@pytest.mark.parametrize("name", ["nul", "c1", "nonchar-fdd0"])
def test_web_workflow_and_document_forms_refuse_forbidden_characters(app, client, world, case, web, name):
    char = ENCODABLE[name]
    web.login("qu_center")
    token = web.csrf(f"/disputes/{case['id']}")
    r = client.post(
        f"/disputes/{case['id']}/actions/escalate",
        data={"csrf_token": token, "reason": f"超出{char}能力"},
        follow_redirects=True,
    )
    assert BAD_CHAR in r.get_data(as_text=True)
    assert db.session.get(Dispute, case["id"]).status.value == case["status"]

    mediator = app.test_client()  # another browser
    login(mediator, "mediator_a")
    url = f"/disputes/{case['id']}/forms/application"
    r = mediator.post(url, data={"csrf_token": csrf_token(mediator, url), "requests": f"请求{char}赔偿"})
    assert r.status_code == 422 and BAD_CHAR in r.get_data(as_text=True)


def test_web_carry_over_and_reopen_reasons_go_through_the_schema(client, world, case, web):
    web.login("qu_center")
    month = clock.today().strftime("%Y-%m")
    token = web.csrf(f"/reports/close?node={world.district.code}&month={month}")
    r = client.post(
        "/reports/close/carry-over",
        follow_redirects=True,
        data={
            "csrf_token": token,
            "node": world.district.code,
            "month": month,
            f"reason-{case['id']}": "下月\x00继续",
            f"reason-{HUGE}": "无此案件",
        },
    )
    assert r.status_code == 200
    assert BAD_CHAR in r.get_data(as_text=True)
    assert db.session.get(Dispute, case["id"]).carry_over_reason is None


# ---------------------------------------------------------------------------------- the ledger


def test_ledger_rows_refuse_forbidden_characters(app, world, tmp_path):
    from tests.test_ledger import case as ledger_case
    from tests.test_ledger import party, run, write_csv, write_ledger

    rows = [
        ledger_case(f"C-{i}", 简要情况=f"楼上漏水{char}墙面受损") for i, char in enumerate(ENCODABLE.values())
    ]
    rows.append(ledger_case("C-TAB", 简要情况="第一行\n第二行\t（多行文字可以）"))
    result = run(write_csv(tmp_path / "bad.csv", rows))
    bad = {(i.row, i.column) for i in result.errors}
    assert bad == {(i + 2, "简要情况") for i in range(len(ENCODABLE))}
    assert all(BAD_CHAR in i.reason for i in result.errors)
    assert count(Dispute) == 0

    # Party names are single-line; openpyxl itself cannot write C0 controls other than tab.
    parties = [
        party("C-1", 姓名或名称=f"张{char}三") for char in ("\t", "\x7f", "\x85", "\ufdd0", "\U0010ffff")
    ]
    result = run(write_ledger(tmp_path / "parties.xlsx", [ledger_case("C-1")], parties))
    assert {(i.sheet, i.column) for i in result.errors} == {("当事人", "姓名或名称")}
    assert len(result.errors) == 5
    assert count(Dispute) == 0


# ------------------------------------------------------------------------------------- the CLI


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def _write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize("name", ENCODABLE)
def test_tree_and_units_import_refuse_forbidden_characters(app, tmp_path, name):
    char = ENCODABLE[name]
    tree = [
        ["代码", "名称", "层级", "上级代码"],
        ["120116000000", "海滨区", "区", ""],
        ["120116001000", f"海滨{char}街道", "街道", "120116000000"],
        [f"12{char}01", "某镇", "镇", "120116000000"],
    ]
    result = _cli(app, "tree", "import", _write_csv(tmp_path / "tree.csv", tree))
    assert result.exit_code == 1
    assert "第3行「名称」" in result.output and "第4行「代码」" in result.output and BAD_CHAR in result.output
    assert count(Node) == 0

    _cli(app, "tree", "import", _write_csv(tmp_path / "ok.csv", tree[:2]))
    units = [
        ["代码", "名称", "类型", "所属节点代码", "渠道", "简称"],
        ["ZZ-QU", f"海滨区{char}综治中心", "综治中心", "120116000000", "", ""],
        ["TW", "调委会", "人民调解委员会", f"1201{char}16000000", "人民调解", f"海{char}滨"],
    ]
    result = _cli(app, "units", "import", _write_csv(tmp_path / "units.csv", units))
    assert result.exit_code == 1
    assert "第2行「名称」" in result.output and "第3行「所属节点代码」" in result.output
    assert "第3行「简称」" in result.output
    assert count(Unit) == 0


def test_tree_import_refuses_tabs_overlong_cells_and_files_that_are_not_utf8(app, tmp_path):
    tree = [
        ["代码", "名称", "层级", "上级代码"],
        ["120116000000", "海滨\t区", "区", ""],
        ["120116001000", "街" * 101, "街道", "120116000000"],
    ]
    result = _cli(app, "tree", "import", _write_csv(tmp_path / "tree.csv", tree))
    assert result.exit_code == 1
    assert ONE_LINE in result.output and "长度不能超过100个字符" in result.output
    path = tmp_path / "latin.csv"
    path.write_bytes("代码,名称,层级,上级代码\n1,海滨区,区,\n".encode() + b"2,\xed\xa0\x80,\xff,1\n")
    result = _cli(app, "tree", "import", path)
    assert result.exit_code == 1 and "UTF-8" in result.output
    assert count(Node) == 0


@pytest.mark.parametrize("name", ["nul", "c0", "c1", "nonchar-fdd0"])
def test_user_create_refuses_forbidden_characters_in_the_name(app, world, name):
    result = _cli(
        app,
        "user",
        "create",
        "zhang",
        "--role",
        "mediator",
        "--unit",
        world.committee_a.code,
        "--password",
        "password123",
        "--name",
        f"张{ENCODABLE[name]}三",
    )
    assert result.exit_code == 1 and "姓名" in result.output and BAD_CHAR in result.output
    result = _cli(
        app,
        "user",
        "create",
        "zhang",
        "--role",
        "mediator",
        "--unit",
        world.committee_a.code,
        "--password",
        "password123",
        "--name",
        "张" * 65,
    )
    assert result.exit_code == 1 and "长度不能超过64个字符" in result.output
    from mediation.accounts.models import User

    assert db.session.scalar(select(User).where(User.username == "zhang")) is None


def test_form_values_that_reach_the_database_unchecked_are_never_a_500(client, world, web):
    """The backstop: a value the database refuses (PostgreSQL: NUL in text) is a 422, not a 500 (on
    PostgreSQL this was a 500 before)."""
    r = client.post(
        "/login", data={"csrf_token": web.csrf("/login"), "username": "qu\x00center", "password": "x"}
    )
    assert r.status_code in (200, 401, 422), r.status_code
    web.login("qu_center")
    month = clock.today().strftime("%Y-%m")
    token = web.csrf(f"/reports/close?month={month}")
    r = client.post("/reports/close", data={"csrf_token": token, "node": "120116\x00", "month": month})
    assert r.status_code in (404, 422), r.status_code
    assert "服务器内部错误" not in r.get_data(as_text=True)


def test_ledger_refuses_more_parties_per_case_than_registration_allows(app, world, tmp_path):
    from tests.test_ledger import case as ledger_case
    from tests.test_ledger import party, run, write_ledger

    app.config["MAX_PARTIES_PER_CASE"] = 2
    parties = [party("C-1", 姓名或名称=f"当事人{zh_number(i)}", 证件号码="") for i in range(3)]
    result = run(write_ledger(tmp_path / "group.xlsx", [ledger_case("C-1")], parties))
    assert [(i.sheet, i.row, i.column) for i in result.errors] == [("当事人", 4, "案件编号")]
    assert "最多登记2个当事人" in result.errors[0].reason and "涉及人数" in result.errors[0].reason
    assert count(Dispute) == 0
    assert run(write_ledger(tmp_path / "two.xlsx", [ledger_case("C-1")], parties[:2])).ok


# ------------------------------------------------------------- sign-in names and uploaded file names


def test_a_sign_in_name_with_control_characters_is_an_unknown_user_stored_cleaned(app, client, world):
    from mediation.accounts.models import LoginAttempt

    token = csrf_token(client, "/login")
    r = client.post(
        "/login", data={"username": "mediator_a\x01\ufffe", "password": "password123", "csrf_token": token}
    )
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    db.session.rollback()
    stored = db.session.scalars(select(LoginAttempt.username)).all()
    assert stored == ["mediator_a\ufffd\ufffd"]


def test_an_upload_whose_file_name_holds_control_characters_is_refused(app, world, web, tmp_path):
    from mediation.ledger.models import LedgerJob
    from tests.test_ledger import case, write_ledger

    web.login("center_b")
    path = write_ledger(tmp_path / "ok.xlsx", [case("N-1")])
    r = web.client.post(
        "/ledger/import",
        data={"csrf_token": web.csrf("/ledger/"), "file": (io.BytesIO(path.read_bytes()), "台账\x07.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "文件名不可用" in r.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LedgerJob)) == 0
