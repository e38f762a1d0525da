"""A small, known world, for the tests and the benches (bench/): a district with two towns, villages,
grids, units, one user per role (password ``PASSWORD``, an API token each), and the builders of a case
with an agreement in effect. Not part of ``flask demo``: nothing in the application imports it.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import SimpleNamespace

from PIL import Image, ImageDraw

from mediation.accounts.models import ApiToken, User
from mediation.common.enums import Channel, NodeLevel, Role, UnitType
from mediation.common.time import local_today
from mediation.common.validators import id_card_check_digit
from mediation.disputes import service as dispute_service
from mediation.disputes import workflow
from mediation.disputes.schemas import DisputeCreate
from mediation.disputes.workflow_schemas import AcceptIn, CloseIn, ConfirmationApplyIn, RouteIn, SessionIn
from mediation.documents import service, signing
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.geo.service import upsert_node

PASSWORD = "password123"


def make_id(first17: str = "12011619800101123") -> str:
    return first17 + id_card_check_digit(first17)


def node(code, name, level, parent=None) -> Node:
    n, _ = upsert_node(code, name, level, parent)
    return n


def unit(code, name, type_, at, channel=None, short=None) -> Unit:
    u = Unit(code=code, name=name, type=type_, node=at, channel=channel, short_name=short)
    db.session.add(u)
    return u


def user(username, role, at_unit) -> SimpleNamespace:
    u = User(username=username, role=role, unit=at_unit, display_name=username)
    u.set_password(PASSWORD)
    db.session.add(u)
    db.session.flush()
    _, token = ApiToken.issue(u)
    return SimpleNamespace(
        user=u, token=token, headers={"Authorization": f"Bearer {token}"}, username=username
    )


def build_world() -> SimpleNamespace:
    w = SimpleNamespace()
    w.district = node("120116000000", "海滨区", NodeLevel.DISTRICT)
    w.town_a = node("120116001000", "海滨街道", NodeLevel.SUBDISTRICT, w.district)
    w.town_b = node("120116100000", "双港镇", NodeLevel.TOWN, w.district)
    w.village_a = node("120116001001", "新家园社区", NodeLevel.COMMUNITY, w.town_a)
    w.village_b = node("120116100001", "双港村", NodeLevel.VILLAGE, w.town_b)
    w.grid_a = node("120116001001G01", "第1网格", NodeLevel.GRID, w.village_a)
    w.grid_b = node("120116100001G01", "第1网格", NodeLevel.GRID, w.village_b)

    w.district_center = unit("ZZ-QU", "海滨区综治中心", UnitType.CENTER, w.district)
    w.center_a = unit("ZZ-A", "海滨街道综治中心", UnitType.CENTER, w.town_a)
    w.center_b = unit("ZZ-B", "双港镇综治中心", UnitType.CENTER, w.town_b)
    w.committee_a = unit("TW-A", "海滨街道人民调解委员会", UnitType.COMMITTEE, w.town_a, Channel.PEOPLE)
    w.committee_b = unit("TW-B", "双港镇人民调解委员会", UnitType.COMMITTEE, w.town_b, Channel.PEOPLE)
    w.police_b = unit("PCS-B", "双港派出所", UnitType.ADMINISTRATIVE, w.town_b, Channel.ADMINISTRATIVE)
    w.court = unit("FY", "海滨区人民法院", UnitType.COURT, w.district, Channel.COURT_LINK)
    w.grid_unit_a = unit("WG-A1", "新家园社区第1网格", UnitType.OTHER, w.grid_a)
    db.session.flush()

    w.admin = user("admin", Role.ADMIN, w.district_center)
    w.district_staff = user("qu_center", Role.CENTER, w.district_center)
    w.center_user_a = user("center_a", Role.CENTER, w.center_a)
    w.center_user_b = user("center_b", Role.CENTER, w.center_b)
    w.mediator_a = user("mediator_a", Role.MEDIATOR, w.committee_a)
    w.mediator_b = user("mediator_b", Role.MEDIATOR, w.committee_b)
    w.grid_a_user = user("grid_a", Role.GRID, w.grid_unit_a)
    w.court_user = user("court", Role.COURT, w.court)
    db.session.commit()
    return w


def dispute_payload(node_code: str, **overrides) -> dict:
    body = {
        "category": "邻里",
        "source": "群众来访",
        "summary": "楼上漏水导致楼下墙面受损，双方就赔偿发生争执。",
        "node": node_code,
        "risk_level": "一般",
        "venue": "家庭",
        "flags": [],
        "people_count": 2,
        "amount": "3500.00",
        "occurred_on": "2026-11-01",
        "parties": [
            {
                "role": "申请人",
                "kind": "自然人",
                "name": "张三",
                "id_number": make_id(),
                "phone": "13800138000",
                "address": "新家园社区3号楼2门101",
            },
            {"role": "被申请人", "kind": "自然人", "name": "李四", "phone": "022-25881234"},
        ],
    }
    body.update(overrides)
    return body


def zh_number(i: int) -> str:
    """A number written in Chinese digits, for person names that must not hold digits: 12 → 一二."""
    return "".join("零一二三四五六七八九"[int(d)] for d in str(i))


# --------------------------------------------------------------------------------------------
# A case with an agreement in effect (documents)
# --------------------------------------------------------------------------------------------

PUBLIC_URL = "https://tiaojie.example.gov.cn"


def configure_signing(app, tmp_path: Path) -> Path:
    """Demo certificates for every unit that signs (made after the world: each unit signs in its own
    name), as `flask documents demo-cert` makes them."""

    directory = tmp_path / "signing"
    app.config["SIGNING_DIR"] = str(directory)
    app.config["PUBLIC_URL"] = PUBLIC_URL
    signing.create_unit_demo_certificates(directory, signing.signing_units())
    return directory


def signature_png(width: int = 600, height: int = 200, ink: bool = True) -> bytes:
    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    if ink:
        draw = ImageDraw.Draw(img)
        draw.line(
            [(20, height - 40), (width // 3, 30), (width // 2, height - 30), (width - 30, 40)],
            fill=(0, 0, 0, 255),
            width=7,
        )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def data_url(png: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(png).decode()}"


def seal_jpeg(size: int = 300) -> bytes:
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, size - 8, size - 8), outline=(210, 20, 20), width=10)
    draw.regular_polygon((size // 2, size // 2, size // 6), 5, fill=(210, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_case(world, **overrides):
    """A case in 海滨街道, handled by its 调委会, with two parties."""

    data = DisputeCreate().load(dispute_payload(world.grid_a.code, **overrides))
    dispute = dispute_service.register(world.mediator_a.user, data).dispute
    dispute.unit = world.committee_a
    db.session.commit()
    return dispute


AGREEMENT = {
    "facts": "二〇二六年十月，李四家卫生间水管破裂，渗水致张三家天花板和墙面受损。",
    "issues": "漏水原因及修复费用的承担。",
    "responsibilities": "李四未及时维修水管，对损失负全部责任。",
    "terms": "一、李四赔偿张三墙面修复费用人民币叁仟伍佰元整（¥3500.00）。\n二、张三收到赔偿款后，双方再无其他争议。",
    "performance_method": "李四以银行转账方式一次性支付至张三指定账户。",
}


def effective_agreement(world, dispute=None, **fields):
    """Draft, submit, sign (drawn + 按指印), seal and sign as mediator: an agreement in effect."""

    dispute = dispute or make_case(world)
    user = world.mediator_a.user
    if service.active_seal(world.committee_a) is None:
        service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    agreement = service.draft_agreement(user, dispute, {**AGREEMENT, **fields})
    service.submit_for_signing(user, agreement)
    service.sign(user, agreement, "当事人", party_index=0, image=data_url(signature_png()))
    for index in range(1, len(agreement.parties)):
        service.sign(user, agreement, "当事人", party_index=index, method="按指印")
    service.affix_seal(user, agreement)
    service.sign(user, agreement, "调解员", image=data_url(signature_png()))
    db.session.commit()
    assert agreement.is_effective
    return agreement


# A session's record as a mediator writes it: a few paragraphs (the 卷宗 bench's 调解记录).
SESSION_RECORD = (
    "调解员核实双方身份，告知当事人的权利义务，双方表示清楚，同意调解。\n"
    "张三陈述：十月中旬起卫生间顶部持续渗水，天花板、墙面起皮发霉，要求李四赔偿修复费用并修好水管。\n"
    "李四陈述：水管老化破裂属实，已请人维修；对赔偿数额有异议，认为部分墙面原本就有旧损。\n"
    "调解员组织双方查看现场照片和维修报价，释明相邻关系的法律规定，分别做双方工作。"
)


def case_file_case(world, sessions: int = 2):
    """A case through its whole course, for a full 卷宗 (the benches' case file of ten pages and more):
    routed to 海滨街道's 调委会 and accepted, mediated in ``sessions`` sessions, an agreement in
    effect (issued and signed), closed 调解成功, 司法确认 applied for, and a follow-up visit."""

    user = world.mediator_a.user
    dispute = make_case(world)
    route = RouteIn().load({"channel": "人民调解", "unit": world.committee_a.code})
    workflow.perform(world.center_user_a.user, dispute, "route", route)
    workflow.perform(user, dispute, "accept", AcceptIn().load({}))
    today = local_today().isoformat()
    for n in range(sessions):
        held = {"held_on": today, "place": "调解室", "mediators": "调解员甲", "attendees": "张三、李四"}
        workflow.perform(
            user,
            dispute,
            "session",
            SessionIn().load({**held, "record": f"第{n + 1}次调解。\n{SESSION_RECORD}"}),
        )
    db.session.commit()
    effective_agreement(world, dispute)
    workflow.perform(user, dispute, "close", CloseIn().load({"outcome": "调解成功"}))
    apply = ConfirmationApplyIn().load({"applied_on": today, "court": world.court.code})
    workflow.perform(user, dispute, "apply_confirmation", apply)
    visit = {"visited_on": today, "method": "电话回访", "visitor": "调解员甲", "visited": "张三"}
    service.save_form(
        user, dispute, "followup", {**visit, "performance": "李四已按协议付清赔偿款，双方无新的争议。"}
    )
    db.session.commit()
    return dispute
