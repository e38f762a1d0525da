"""The web pages: sign-in, the case list, the registration form, the case page, access and masking."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from mediation.common.enums import Status
from mediation.common.time import local_today
from mediation.common.validators import uscc_check_char
from mediation.disputes import service
from mediation.disputes.models import Dispute, Event, IdempotencyRecord
from mediation.disputes.schemas import DisputeCreate
from mediation.extensions import db
from tests.factories import dispute_payload, make_id, zh_number

USCC = "91120116MA05T8E4X" + uscc_check_char("91120116MA05T8E4X")
BAD_ID = make_id()[:17] + ("1" if make_id()[17] != "1" else "2")


# ---------------------------------------------------------------- helpers


def count_disputes() -> int:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(select(func.count()).select_from(Dispute))


def make_case(who, node, *, names=("张三", "李四"), **overrides) -> Dispute:
    """A case registered through the service (as the API would)."""
    body = dispute_payload(
        node.code, occurred_on=(local_today() - timedelta(days=5)).isoformat(), **overrides
    )
    if "parties" not in overrides:
        body["parties"][0]["name"], body["parties"][1]["name"] = names
    result = service.register(who.user, DisputeCreate().load(body))
    db.session.commit()
    return result.dispute


def logout(web):
    token = web.csrf("/disputes/")
    return web.client.post("/logout", data={"csrf_token": token})


def open_form(web) -> dict:
    html = web.client.get("/disputes/new").get_data(as_text=True)
    return {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
        "idempotency_token": re.search(r'name="idempotency_token" value="([^"]+)"', html).group(1),
    }


def form_data(node_code: str, hidden: dict, **overrides) -> dict:
    data = {
        **hidden,
        "category": "邻里",
        "source": "群众来访",
        "summary": "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。",
        "node": node_code,
        "risk_level": "一般",
        "venue": "家庭",
        "people_count": "2",
        "amount": "3500",
        "occurred_on": (local_today() - timedelta(days=2)).isoformat(),
        "flags": ["涉众"],
        "parties-0-role": "申请人",
        "parties-0-kind": "自然人",
        "parties-0-name": "张三",
        "parties-0-id_number": make_id(),
        "parties-0-phone": "13800138000",
        "parties-0-address": "新家园社区3号楼",
        "parties-1-role": "被申请人",
        "parties-1-kind": "法人",
        "parties-1-name": "海滨物业有限公司",
        "parties-1-id_number": USCC,
        "parties-1-phone": "022-25881234",
        "parties-1-address": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="err-{re.escape(field)}">([^<]*)</p>', html)
    return unescape(match.group(1)) if match else ""


def case_numbers(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'class="case-no" href="[^"]+">([^<]+)</a>', html)]


def list_page(web, **params) -> tuple[int, str]:
    r = web.client.get("/disputes/", query_string=params)
    return r.status_code, r.get_data(as_text=True)


# ---------------------------------------------------------------- sign-in


def test_login_good_then_logout(web, world):
    r = web.login("center_a")
    assert r.status_code == 302 and r.headers["Location"].endswith("/worklist/")
    html = web.client.get("/disputes/").get_data(as_text=True)
    assert "center_a" in html and "海滨街道综治中心" in html and "欢迎" in html
    r = logout(web)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "已退出登录" in web.client.get("/login").get_data(as_text=True)
    r = web.client.get("/disputes/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_bad_password_and_unknown_user(web, world):
    for username, password in (("center_a", "wrong-password"), ("nobody", "password123")):
        r = web.login(username, password)
        assert r.status_code == 401
        assert "用户名或密码错误" in r.get_data(as_text=True)
    r = web.client.get("/disputes/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_next_is_followed_only_inside_the_site(web, world):
    token = web.csrf("/login")
    r = web.client.post(
        "/login?next=//evil.example/x",
        data={"username": "center_a", "password": "password123", "csrf_token": token},
    )
    assert r.headers["Location"].endswith("/worklist/")


@pytest.mark.parametrize("url", ["/disputes/", "/disputes/new", "/disputes/1"])
def test_pages_require_login(client, world, url):
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# ---------------------------------------------------------------- the list


@pytest.fixture
def cases(world):
    """Three cases in 海滨街道 (at a grid, at the town, at a village) and one in 双港镇."""
    today = local_today()
    c1 = make_case(world.mediator_a, world.grid_a, names=("甲一", "乙一"), summary="楼道堆放杂物引发邻里口角")
    c2 = make_case(
        world.mediator_a,
        world.town_a,
        names=("甲二", "乙二"),
        category="婚姻家庭",
        summary="夫妻因抚养费问题发生争执",
    )
    c3 = make_case(
        world.mediator_a,
        world.village_a,
        names=("甲三", "欧阳丙"),
        category="债务",
        summary="民间借贷到期未还",
    )
    c3.status = Status.HANDLING
    c3.registered_on = today - timedelta(days=40)
    other = make_case(
        world.mediator_b, world.grid_b, names=("外镇甲", "外镇乙"), summary="双港镇的宅基地纠纷"
    )
    db.session.commit()
    return {"c1": c1.case_no, "c2": c2.case_no, "c3": c3.case_no, "other": other.case_no}


def test_list_shows_own_subtree_only(web, world, cases):
    web.login("center_a")
    status, html = list_page(web)
    assert status == 200
    assert sorted(case_numbers(html)) == sorted([cases["c1"], cases["c2"], cases["c3"]])
    assert "共 <strong>3</strong> 件" in html
    # Columns: 属地 below the user's own node, category, risk, status.
    assert "新家园社区/第1网格" in html and "债务" in html and "办理中" in html and "甲一、乙一" in html


def test_list_filters(web, world, cases):
    web.login("center_a")
    today = local_today()
    checks = [
        ({"status": "办理中"}, [cases["c3"]]),
        ({"status": "待分流"}, [cases["c1"], cases["c2"]]),
        ({"category": "婚姻家庭"}, [cases["c2"]]),
        ({"node": world.grid_a.code}, [cases["c1"]]),
        ({"node": world.village_a.code}, [cases["c1"], cases["c3"]]),
        ({"node": world.town_a.code}, [cases["c1"], cases["c2"], cases["c3"]]),
        ({"date_from": (today - timedelta(days=10)).isoformat()}, [cases["c1"], cases["c2"]]),
        ({"date_to": (today - timedelta(days=30)).isoformat()}, [cases["c3"]]),
        (
            {
                "date_from": (today - timedelta(days=41)).isoformat(),
                "date_to": (today - timedelta(days=39)).isoformat(),
            },
            [cases["c3"]],
        ),
        ({"q": cases["c2"]}, [cases["c2"]]),
        ({"q": "借贷"}, [cases["c3"]]),
        ({"q": "欧阳"}, [cases["c3"]]),
        ({"q": "宅基地"}, []),  # the other town's case is not found by searching either
        ({"q": cases["other"]}, []),
        ({"category": "债务", "status": "待分流"}, []),
    ]
    for params, expected in checks:
        status, html = list_page(web, **params)
        assert status == 200, params
        assert sorted(case_numbers(html)) == sorted(expected), params
        if not expected:
            assert "没有符合条件的纠纷" in html
    # The chosen filters are shown again in the form.
    _, html = list_page(web, category="婚姻家庭", node=world.grid_a.code, q="漏水")
    assert '<option value="婚姻家庭" selected>' in html
    assert f'<option value="{world.grid_a.code}" selected>' in html
    assert 'value="漏水"' in html


@pytest.mark.parametrize(
    "params, message",
    [
        ({"date_from": "2026-13-01"}, "日期格式应为 YYYY-MM-DD"),
        ({"date_to": "昨天"}, "日期格式应为 YYYY-MM-DD"),
        ({"status": "进行中"}, "未知的状态"),
        ({"page": "0"}, "页码应在1到100000之间"),
        ({"page": "9999999999999999999"}, "页码应在1到100000之间"),
        ({"q": "张" * 201}, "长度不能超过200个字符"),
        ({"page": "abc"}, "应为整数"),
        ({"per_page": "1000"}, "每页条数应在1到200之间"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "截止日期不能早于起始日期"),
        ({"node": "999999"}, "未知的属地"),
        ({"node": "120116100000"}, "不在您的辖区内"),  # 双港镇 for a 海滨街道 user
    ],
)
def test_list_bad_filters_give_a_chinese_message(web, world, cases, params, message):
    web.login("center_a")
    status, html = list_page(web, **params)
    assert status == 200
    assert "筛选条件有误" in html and message in html
    assert case_numbers(html) == []


def test_node_select_offers_the_users_subtree(web, world):
    web.login("center_b")
    html = web.client.get("/disputes/").get_data(as_text=True)
    select_html = re.search(r'<select id="f-node" name="node">(.*?)</select>', html, re.S).group(1)
    codes = re.findall(r'<option value="([^"]*)"', select_html)
    assert codes == ["", world.town_b.code, world.village_b.code, world.grid_b.code]
    assert world.town_a.code not in html and world.district.code not in html


def test_pagination_keeps_filters(web, world):
    for i in range(23):
        make_case(world.mediator_a, world.grid_a, names=(f"甲{zh_number(i)}", f"乙{zh_number(i)}"))
    for i in range(2):
        make_case(
            world.mediator_a, world.grid_a, names=(f"丙{zh_number(i)}", f"丁{zh_number(i)}"), category="债务"
        )
    web.login("center_a")
    status, html = list_page(web, category="邻里")
    assert status == 200
    first = case_numbers(html)
    assert len(first) == 20 and "共 <strong>23</strong> 件" in html and "第 1 / 2 页" in html
    next_href = unescape(re.search(r'<a href="([^"]+)" rel="next">', html).group(1))
    query = parse_qs(urlsplit(next_href).query)
    assert query == {"category": ["邻里"], "page": ["2"]}
    html2 = web.client.get(next_href).get_data(as_text=True)
    second = case_numbers(html2)
    assert len(second) == 3 and not set(first) & set(second)
    assert 'rel="prev"' in html2 and 'rel="next"' not in html2
    # per_page is kept as well, and a page past the end is simply empty.
    _, html = list_page(web, category="邻里", per_page="5", page="3")
    assert len(case_numbers(html)) == 5 and "第 3 / 5 页" in html
    links = {unescape(h) for h in re.findall(r'<a href="(/disputes/\?[^"]+)"', html)}
    assert links and all(parse_qs(urlsplit(h).query)["per_page"] == ["5"] for h in links)
    assert all(parse_qs(urlsplit(h).query)["category"] == ["邻里"] for h in links)
    _, html = list_page(web, page="9")
    assert case_numbers(html) == [] and "共 <strong>25</strong> 件" in html


# ---------------------------------------------------------------- registration


def test_register_through_the_form(web, world):
    web.login("mediator_a")
    hidden = open_form(web)
    r = web.client.post("/disputes/new", data=form_data(world.grid_a.code, hidden))
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    location = r.headers["Location"]
    assert re.fullmatch(r"/disputes/\d+", location)
    html = web.client.get(location).get_data(as_text=True)
    dispute = db.session.scalar(select(Dispute))
    assert "登记成功" in html and dispute.case_no in html
    assert "张三" in html and "海滨物业有限公司" in html and USCC in html
    assert dispute.node_id == world.grid_a.id and dispute.category == "邻里" and dispute.flags == ["涉众"]
    assert str(dispute.amount) == "3500.00" and dispute.people_count == 2 and dispute.venue == "家庭"
    assert [(p.role, p.kind, p.name) for p in dispute.parties] == [
        ("申请人", "自然人", "张三"),
        ("被申请人", "法人", "海滨物业有限公司"),
    ]
    assert dispute.parties[1].address is None  # an empty input is stored as nothing
    assert [e.type for e in dispute.events] == ["registered"]
    assert dispute.events[0].by_name == "mediator_a"
    # …and it is in the list.
    _, html = list_page(web)
    assert case_numbers(html) == [dispute.case_no]


def test_form_offers_only_the_users_subtree_and_a_fresh_token(web, world):
    web.login("grid_a")
    html = web.client.get("/disputes/new").get_data(as_text=True)
    select_html = re.search(r'<select id="f-node" name="node"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', select_html) == ["", world.grid_a.code]
    assert f'<option value="{world.grid_a.code}" selected>' in select_html  # the grid worker's own grid
    tokens = {open_form(web)["idempotency_token"] for _ in range(3)}
    assert len(tokens) == 3
    assert 'src="/static/parties.js"' in html and '<template id="party-template">' in html


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"parties-0-id_number": BAD_ID}, "parties-0-id_number", "校验位错误"),
        ({"parties-0-id_number": "12345"}, "parties-0-id_number", "应为18位"),
        ({"parties-1-id_number": "91120116MA05T8E4X0"}, "parties-1-id_number", "统一社会信用代码校验位错误"),
        ({"parties-0-phone": "1380013800"}, "parties-0-phone", "电话号码格式不正确"),
        ({"parties-1-phone": "abc"}, "parties-1-phone", "电话号码格式不正确"),
        ({"parties-1-name": ""}, "parties-1-name", "必填项"),
        ({"occurred_on": (local_today() + timedelta(days=1)).isoformat()}, "occurred_on", "日期不能晚于今天"),
        ({"occurred_on": "2026-02-30"}, "occurred_on", "日期格式应为"),
        ({"amount": "-1"}, "amount", "金额不能为负数"),
        ({"amount": "12.345"}, "amount", "金额最多保留两位小数"),
        ({"amount": "一千"}, "amount", "金额应为数字"),
        ({"people_count": "0"}, "people_count", "涉及人数应为不小于1的整数"),
        ({"summary": ""}, "summary", "必填项"),
        ({"category": "打架"}, "category", "未知的纠纷类别"),
        ({"risk_level": "很大"}, "risk_level", "未知的风险等级"),
        ({"flags": ["涉众", "外星人"]}, "flags", "未知的风险标记"),
        ({"node": "no-such-node"}, "node", "未知的属地节点代码"),
    ],
)
def test_invalid_input_is_shown_by_the_field_and_nothing_is_stored(web, world, overrides, field, message):
    web.login("mediator_a")
    hidden = open_form(web)
    data = form_data(world.grid_a.code, hidden, **overrides)
    r = web.client.post("/disputes/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message in field_error(html, field), (field, re.findall(r'class="field-error"[^>]*>[^<]*', html))
    assert "未能登记" in html  # the summary at the top of the form
    assert count_disputes() == 0
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    # The user's input is kept, and so is the form's token.
    assert 'name="parties-0-address" value="新家园社区3号楼"' in html
    if field != "summary":
        assert "楼上漏水导致楼下墙面受损" in html
    assert f'value="{hidden["idempotency_token"]}"' in html
    if field.startswith("parties-"):
        assert f'name="{field}" value="{data[field]}"' in html
        assert re.search(
            rf'<input id="f-{field}"[^>]*aria-invalid="true" aria-describedby="err-{field}"', html
        )


def test_several_errors_at_once_and_blank_party_rows_are_ignored(web, world):
    web.login("mediator_a")
    hidden = open_form(web)
    data = form_data(
        world.grid_a.code,
        hidden,
        amount="-5",
        **{
            "parties-1-phone": "12",
            "parties-7-role": "申请人",
            "parties-7-kind": "自然人",
            "parties-7-name": "",
            "parties-9-role": "第三人",
            "parties-9-kind": "自然人",
            "parties-9-name": "王五",
            "parties-9-id_number": BAD_ID,
        },
    )
    html = web.client.post("/disputes/new", data=data).get_data(as_text=True)
    assert "金额不能为负数" in field_error(html, "amount")
    assert "电话号码格式不正确" in field_error(html, "parties-1-phone")
    # Row 7 was blank and dropped: 王五 is the third party now, and its error is shown there.
    assert "校验位错误" in field_error(html, "parties-2-id_number")
    assert 'name="parties-2-name" value="王五"' in html
    assert "parties-3-" not in html.split('<template id="party-template">')[0]
    assert "修改以下 3 处" in html
    assert "当事人3 · 证件号码" in html
    assert count_disputes() == 0


def test_missing_csrf_token_is_refused(web, world):
    web.login("mediator_a")
    hidden = open_form(web)
    data = form_data(world.grid_a.code, hidden)
    del data["csrf_token"]
    r = web.client.post("/disputes/new", data=data)
    assert r.status_code == 400
    assert "请求无效" in r.get_data(as_text=True)
    data["csrf_token"] = "forged"
    assert web.client.post("/disputes/new", data=data).status_code == 400
    assert count_disputes() == 0


def test_double_submit_creates_one_case(web, world):
    web.login("mediator_a")
    hidden = open_form(web)
    data = form_data(world.grid_a.code, hidden)
    first = web.client.post("/disputes/new", data=data)
    second = web.client.post("/disputes/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_disputes() == 1
    html = web.client.get(second.headers["Location"]).get_data(as_text=True)
    assert "未重复登记" in html
    # The same form sent again with other content is not a replay: the user is told, nothing stored,
    # and a fresh token is issued so a new case can be registered on purpose.
    changed = form_data(world.grid_a.code, hidden, summary="另一件纠纷：噪音扰民。")
    r = web.client.post("/disputes/new", data=changed)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "此表单已经提交过" in html
    assert count_disputes() == 1
    new_token = re.search(r'name="idempotency_token" value="([^"]+)"', html).group(1)
    assert new_token != hidden["idempotency_token"]
    r = web.client.post("/disputes/new", data={**changed, "idempotency_token": new_token})
    assert r.status_code == 303 and count_disputes() == 2


def test_duplicate_registration_warning_is_flashed(web, world):
    web.login("mediator_a")
    first = web.client.post("/disputes/new", data=form_data(world.grid_a.code, open_form(web)))
    assert first.status_code == 303
    second = web.client.post("/disputes/new", data=form_data(world.grid_a.code, open_form(web)))
    assert second.status_code == 303 and second.headers["Location"] != first.headers["Location"]
    html = web.client.get(second.headers["Location"]).get_data(as_text=True)
    original = db.session.scalar(select(Dispute).order_by(Dispute.id)).case_no
    warning = re.search(r'<div class="flash flash-warning"[^>]*>([^<]+)</div>', html)
    assert warning and "请核实是否重复登记" in warning.group(1) and original in unescape(warning.group(1))
    assert "疑似重复提示" in html  # and it is on the timeline
    assert count_disputes() == 2


# ---------------------------------------------------------------- access through the web


def test_other_town_case_is_invisible(web, world):
    theirs = make_case(world.mediator_a, world.grid_a, names=("海滨甲", "海滨乙"))
    ours = make_case(world.mediator_b, world.grid_b, names=("双港甲", "双港乙"))
    theirs_id, theirs_no, ours_id, ours_no = theirs.id, theirs.case_no, ours.id, ours.case_no
    web.login("center_b")
    r = web.client.get(f"/disputes/{theirs_id}")
    assert r.status_code == 404
    body = r.get_data(as_text=True)
    assert "未找到" in body and theirs_no not in body and "海滨甲" not in body
    assert web.client.get(f"/disputes/{ours_id}").status_code == 200
    assert web.client.get("/disputes/999999").status_code == 404
    _, html = list_page(web)
    assert case_numbers(html) == [ours_no]
    _, html = list_page(web, q="海滨甲")
    assert case_numbers(html) == []


def test_cannot_register_outside_the_subtree(web, world):
    web.login("center_b")
    hidden = open_form(web)
    r = web.client.post("/disputes/new", data=form_data(world.grid_a.code, hidden))
    assert r.status_code == 422
    assert "不在您单位的辖区内" in field_error(r.get_data(as_text=True), "node")
    assert count_disputes() == 0
    # A grid worker cannot register in the village above the grid either.
    logout(web)
    web.login("grid_a")
    r = web.client.post("/disputes/new", data=form_data(world.village_a.code, open_form(web)))
    assert r.status_code == 422 and "不在您单位的辖区内" in field_error(r.get_data(as_text=True), "node")
    assert count_disputes() == 0


def test_district_center_sees_both_towns(web, world):
    a = make_case(world.mediator_a, world.grid_a, names=("海滨甲", "海滨乙")).case_no
    b = make_case(world.mediator_b, world.grid_b, names=("双港甲", "双港乙")).case_no
    web.login("qu_center")
    _, html = list_page(web)
    assert sorted(case_numbers(html)) == sorted([a, b])
    assert "海滨街道/新家园社区/第1网格" in html and "双港镇/双港村/第1网格" in html


# ---------------------------------------------------------------- the case page


@pytest.mark.parametrize(
    "username, full", [("grid_a", False), ("center_a", False), ("mediator_a", True), ("court", True)]
)
def test_id_numbers_masked_by_role(web, world, username, full):
    parties = [
        {"role": "申请人", "kind": "自然人", "name": "张三", "id_number": make_id()},
        {"role": "被申请人", "kind": "法人", "name": "海滨物业有限公司", "id_number": USCC},
    ]
    dispute_id = make_case(world.mediator_a, world.grid_a, parties=parties).id
    web.login(username)
    html = web.client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    ids = re.findall(r'<dd class="id-number">([^<]*)</dd>', html)
    assert ids[1] == USCC  # credit codes of organisations are public
    if full:
        assert ids[0] == make_id()
    else:
        assert ids[0] == make_id()[:3] + "*" * 11 + make_id()[-4:]
        assert make_id() not in html


def test_case_page_shows_fields_parties_and_timeline(web, world):
    dispute = make_case(
        world.mediator_a,
        world.grid_a,
        summary="<script>alert(1)</script> 邻里噪音纠纷",
        flags=["民转刑风险"],
        risk_level="较大",
    )
    # Two earlier steps with fixed times: the timeline is oldest first, shown in Shanghai time.
    service.add_event(
        dispute,
        "session",
        world.mediator_a.user,
        note="第一次调解，双方意见分歧较大。",
        at=datetime(2025, 12, 1, 2, 0),
    )
    service.add_event(
        dispute,
        "routed",
        world.center_user_a.user,
        data={"channel": "人民调解", "unit": world.committee_a.code},
        at=datetime(2025, 11, 30, 18, 30),
    )
    db.session.commit()
    web.login("mediator_a")
    html = web.client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    for text in (
        dispute.case_no,
        "待分流",
        "邻里",
        "群众来访",
        "海滨区 / 海滨街道 / 新家园社区 / 第1网格",
        "3500.00 元",
        "较大",
        "民转刑风险",
        "突出问题",
        "海滨街道人民调解委员会",
        "张三",
        "李四",
        "申请人",
        "被申请人",
        "13800138000",
        "新家园社区3号楼2门101",
    ):
        assert text in html, text
    labels = re.findall(r'<strong class="event-label">([^<]+)</strong>', html)
    assert labels == ["分流", "调解", "登记"]
    assert "2025-12-01 02:30" in html  # 18:30 UTC on 30 Nov is 02:30 in Shanghai
    assert "2025-12-01 10:00" in html
    assert "第一次调解，双方意见分歧较大。" in html and "center_a" in html
    # Codes in event data are shown as names.
    routed = html.split("event-routed")[1].split("</li>")[0]
    assert "海滨街道人民调解委员会" in routed and "人民调解" in routed


def test_case_page_security_headers(web, world):
    dispute_id = make_case(world.mediator_a, world.grid_a).id
    web.login("mediator_a")
    r = web.client.get(f"/disputes/{dispute_id}")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert web.client.get("/static/parties.js").status_code == 200
    assert web.client.get("/static/app.css").status_code == 200


def test_event_rows_are_committed_with_the_case(web, world):
    """Registration writes the case, its parties and one timeline event in one transaction."""
    web.login("mediator_a")
    web.client.post("/disputes/new", data=form_data(world.grid_a.code, open_form(web)))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1
