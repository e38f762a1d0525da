"""Field-level validation: good and bad inputs of each kind, Chinese messages, nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.common.time import local_today
from mediation.common.validators import (
    id_card_check_digit,
    id_card_error,
    mask_id_number,
    phone_error,
    uscc_check_char,
    uscc_error,
)
from mediation.disputes.models import Dispute, Event, Party
from mediation.extensions import db
from tests.factories import dispute_payload, make_id

# A real-format example from GB 32100's annex: 91350100M000100Y43.
USCC_OK = "91350100M000100Y43"


@pytest.mark.parametrize("number", [make_id(), make_id("11010519491231002"), "11010519491231002X"])
def test_id_card_valid(number):
    assert id_card_check_digit(number[:17]) == number[17] or number.endswith("X")
    assert id_card_error(number) is None


@pytest.mark.parametrize(
    "number,reason",
    [
        ("1201161980010112", "18位"),
        ("12011619800101123A", "最后一位"),
        ("120116198013011230", "出生日期"),
        ("120116210001011230", "出生日期"),
        (make_id()[:17] + ("0" if make_id()[17] != "0" else "1"), "校验位"),
    ],
)
def test_id_card_invalid(number, reason):
    assert reason in id_card_error(number)


def test_uscc():
    assert uscc_error(USCC_OK) is None
    assert uscc_check_char(USCC_OK[:17]) == USCC_OK[17]
    assert "校验位" in uscc_error(USCC_OK[:17] + "0")
    assert "无效字符" in uscc_error("91350100M000100I43")
    assert "18位" in uscc_error("91350100M000100")


@pytest.mark.parametrize(
    "phone,ok",
    [
        ("13800138000", True),
        ("19912345678", True),
        ("022-25881234", True),
        ("02225881234", True),
        ("0731-8888888", True),
        ("12800138000", False),
        ("1380013800", False),
        ("abc", False),
        ("22-2588123", False),
    ],
)
def test_phone(phone, ok):
    assert (phone_error(phone) is None) is ok


def test_mask():
    assert mask_id_number("120116198001011234") == "120***********1234"


def _count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def _errors(resp):
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["message"] == "数据校验失败，请按字段提示修改。"
    return body["errors"]["json"]


BAD_CASES = [
    ({"category": "外星人"}, ["category"], "未知的纠纷类别"),
    ({"source": "托梦"}, ["source"], "未知的来源"),
    ({"risk_level": "很大"}, ["risk_level"], "未知的风险等级"),
    ({"venue": "菜市场"}, ["venue"], "未知的发现场所"),
    ({"flags": ["涉外"]}, ["flags", "0"], "未知的风险标记"),
    ({"flags": ["涉众", "涉众"]}, ["flags"], "重复"),
    ({"people_count": 0}, ["people_count"], "不小于1"),
    ({"people_count": "许多"}, ["people_count"], "应为整数"),
    ({"amount": "-1"}, ["amount"], "不能为负数"),
    ({"amount": "12.345"}, ["amount"], "两位小数"),
    ({"amount": "一千"}, ["amount"], "应为数字"),
    ({"occurred_on": "2026-13-01"}, ["occurred_on"], "YYYY-MM-DD"),
    ({"summary": ""}, ["summary"], "必填项"),
    ({"node": "999999"}, ["node"], "未知的属地"),
    ({"extra": 1}, ["extra"], "未知字段"),
]


@pytest.mark.parametrize("override,path,message", BAD_CASES)
def test_bad_dispute_fields(client, world, override, path, message):
    body = dispute_payload(world.grid_a.code, **override)
    errors = _errors(client.post("/api/v1/disputes", json=body, headers=world.mediator_a.headers))
    node = errors
    for key in path:
        node = node[key]
    assert any(message in m for m in node), errors
    assert _count(Dispute) == 0 and _count(Party) == 0 and _count(Event) == 0


def test_future_date_refused(client, world):
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    errors = _errors(
        client.post(
            "/api/v1/disputes",
            json=dispute_payload(world.grid_a.code, occurred_on=tomorrow),
            headers=world.mediator_a.headers,
        )
    )
    assert errors["occurred_on"] == ["日期不能晚于今天。"]


def test_missing_required_fields_all_reported(client, world):
    errors = _errors(client.post("/api/v1/disputes", json={}, headers=world.mediator_a.headers))
    assert set(errors) == {"category", "source", "summary", "node", "risk_level", "parties"}
    assert errors.pop("parties") == ["请至少登记一名当事人。"]  # a case has at least one party
    assert all(v == ["必填项。"] for v in errors.values())


@pytest.mark.parametrize(
    "party,field,message",
    [
        (
            {"id_number": make_id()[:17] + "0" if make_id()[17] != "0" else make_id()[:17] + "1"},
            "id_number",
            "校验位",
        ),
        ({"kind": "法人", "name": "某某有限公司", "id_number": make_id()}, "id_number", "统一社会信用代码"),
        ({"phone": "123"}, "phone", "电话号码格式不正确"),
        ({"role": "证人"}, "role", "未知的当事人角色"),
        ({"kind": "外星人"}, "kind", "未知的当事人类型"),
        ({"name": ""}, "name", "必填项"),
    ],
)
def test_bad_party_fields(client, world, party, field, message):
    good = {"role": "申请人", "kind": "自然人", "name": "王五"}
    body = dispute_payload(world.grid_a.code, parties=[{**good, **party}])
    errors = _errors(client.post("/api/v1/disputes", json=body, headers=world.mediator_a.headers))
    assert any(message in m for m in errors["parties"]["0"][field]), errors
    assert _count(Dispute) == 0


def test_good_variants_accepted(client, world):
    body = dispute_payload(
        world.grid_a.code,
        amount=1200,
        people_count=30,
        flags=["群体性", "涉众"],
        risk_level="较大",
        occurred_on=local_today().isoformat(),
        parties=[
            {"role": "申请人", "name": "某某物业有限公司", "kind": "法人", "id_number": USCC_OK.lower()},
            {
                "role": "被申请人",
                "name": "赵六",
                "id_number": make_id("11010519491231002")[:17] + "X"
                if id_card_check_digit("11010519491231002") == "X"
                else make_id("11010519491231002"),
            },
            {"role": "第三人", "kind": "其他组织", "name": "业主委员会"},
        ],
    )
    r = client.post("/api/v1/disputes", json=body, headers=world.mediator_a.headers)
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["amount"] == "1200.00"
    assert out["prominent"] is True  # flagged → 突出问题
    assert out["parties"][0]["id_number"] == USCC_OK  # normalised to upper case


def test_body_must_be_json_object(client, world):
    r = client.post("/api/v1/disputes", json=["x"], headers=world.mediator_a.headers)
    assert r.status_code == 422
