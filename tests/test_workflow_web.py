"""The workflow on the case page: the partial's forms (CSRF), their POST routes, Chinese messages,
and nothing saved when an action is refused."""

from __future__ import annotations

import re

import pytest

from mediation.common.enums import Role
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import TRANSITIONS, Stage, allowed_actions
from mediation.extensions import db
from tests.factories import user
from tests.workflow_support import make_case, snapshot, today


def page(web, dispute_id: int) -> str:
    r = web.client.get(f"/disputes/{dispute_id}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def forms(html: str) -> set[str]:
    return set(re.findall(r'action="/disputes/\d+/actions/([a-z_]+)"', html))


def post(web, dispute_id: int, action: str, data: dict, follow: bool = True):
    token = web.csrf(f"/disputes/{dispute_id}")
    return web.client.post(
        f"/disputes/{dispute_id}/actions/{action}",
        data={"csrf_token": token, **data},
        follow_redirects=follow,
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_route_accept_close_through_the_forms(client, web, world):
    dispute_id = make_case(client, world, Stage.PENDING)
    web.login("center_b")
    html = page(web, dispute_id)
    assert "route" in forms(html) and "accept" not in forms(html)
    assert 'name="csrf_token"' in html and "待分流" in html
    r = post(
        web, dispute_id, "route", {"channel": "人民调解", "unit": "TW-B", "co_units": ["PCS-B"]}, follow=False
    )
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/disputes/{dispute_id}#workflow")
    html = text_of(web.client.get(f"/disputes/{dispute_id}"))
    assert "已分流至双港镇人民调解委员会，等待受理。" in html
    d = db.session.get(Dispute, dispute_id)
    assert d.unit.code == "TW-B" and [u.code for u in d.co_units] == ["PCS-B"]

    web.client.post("/logout", data={"csrf_token": web.csrf(f"/disputes/{dispute_id}")})
    web.login("mediator_b")
    html = page(web, dispute_id)
    assert {"accept", "reject", "transfer", "refuse"} <= forms(html) and "route" not in forms(html)
    html = text_of(post(web, dispute_id, "accept", {"date": today()}))
    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert f"已受理，办理期限至{d.deadline.isoformat()}。" in html
    assert {"close", "stabilize", "session", "extend"} <= forms(html)
    html = text_of(
        post(web, dispute_id, "close", {"outcome": "调解成功", "date": today(), "note": "达成协议"})
    )
    assert "案件已办结（调解成功）。" in html
    db.session.expire_all()
    assert db.session.get(Dispute, dispute_id).status == "已办结"
    assert "apply_confirmation" in forms(html)


def test_validation_errors_are_shown_and_nothing_saved(client, web, world):
    dispute_id = make_case(client, world, Stage.HANDLING)
    web.login("mediator_b")
    before = snapshot(dispute_id)
    html = text_of(post(web, dispute_id, "close", {"outcome": "不予受理", "date": today()}))
    assert "办结未保存：说明：以不予受理办结时须写明理由。" in html
    html = text_of(post(web, dispute_id, "close", {"outcome": "调解成功", "date": "2000-01-01"}))
    assert "办结未保存：日期：日期不能早于登记日期" in html
    html = text_of(post(web, dispute_id, "extend", {"days": "abc", "reason": "x", "approver": "y"}))
    assert "延长期限未保存：延长天数：应为整数。" in html
    assert snapshot(dispute_id) == before


def test_stale_version_is_refused(client, web, world):
    dispute_id = make_case(client, world, Stage.HANDLING)
    web.login("mediator_b")
    html = page(web, dispute_id)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert (
        text_of(
            post(
                web,
                dispute_id,
                "session",
                {
                    "version": version,
                    "held_on": today(),
                    "place": "调解室",
                    "mediators": "甲",
                    "attendees": "张三、李四",
                    "record": "第一次调解。",
                },
            )
        ).count("调解记录已保存。")
        == 1
    )
    before = snapshot(dispute_id)
    html = text_of(post(web, dispute_id, "stabilize", {"version": version, "note": "稳控"}))
    assert "已被他人修改" in html
    assert snapshot(dispute_id) == before


def test_refused_by_role_and_state(client, web, world):
    dispute_id = make_case(client, world, Stage.PENDING)
    web.login("mediator_b")
    before = snapshot(dispute_id)
    assert forms(page(web, dispute_id)) == set()
    assert "没有可以对本案执行的办理操作" in page(web, dispute_id)
    html = text_of(post(web, dispute_id, "route", {"channel": "人民调解", "unit": "TW-B"}))
    assert "只有负责该案分流的综治中心（或其上级综治中心）工作人员可以分流。" in html
    html = text_of(post(web, dispute_id, "close", {"outcome": "调解成功"}))
    assert "案件当前为「待分流」，不能办结。" in html
    assert snapshot(dispute_id) == before


def test_csrf_unknown_action_and_scope(client, web, world):
    dispute_id = make_case(client, world, Stage.PENDING)
    web.login("center_b")
    r = web.client.post(f"/disputes/{dispute_id}/actions/route", data={"channel": "人民调解", "unit": "TW-B"})
    assert r.status_code == 400
    assert post(web, dispute_id, "teleport", {}, follow=False).status_code == 404
    web.client.post("/logout", data={"csrf_token": web.csrf(f"/disputes/{dispute_id}")})
    web.login("center_a")  # another town
    token = web.csrf("/disputes/")
    r = web.client.post(
        f"/disputes/{dispute_id}/actions/route",
        data={"csrf_token": token, "channel": "人民调解", "unit": "TW-B"},
    )
    assert r.status_code == 404
    assert db.session.get(Dispute, dispute_id).status == "待分流"


def test_casework_forms(client, web, world):
    user("mediator_b2", Role.MEDIATOR, world.committee_b)
    db.session.commit()
    dispute_id = make_case(client, world, Stage.HANDLING)
    web.login("mediator_b")
    html = text_of(
        post(
            web,
            dispute_id,
            "session",
            {
                "held_on": today(),
                "place": "双港村委会",
                "mediators": "mediator_b",
                "attendees": "张三、李四",
                "record": "双方就赔偿金额达成初步意向。",
            },
        )
    )
    assert "调解记录已保存。" in html and "双方就赔偿金额达成初步意向。" in html
    html = text_of(
        post(
            web,
            dispute_id,
            "notify_police",
            {
                "notified_at": f"{today()}T00:00",
                "police_unit": "双港派出所",
                "officer": "赵警官",
                "note": "被申请人扬言报复。",
                "converted": "on",
            },
        )
    )
    assert "已记录民转刑预警" in html and "已民转刑" in html
    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert d.civil_to_criminal is True and "民转刑风险" in d.flags
    old_deadline = d.deadline
    html = text_of(post(web, dispute_id, "extend", {"days": "10", "reason": "待鉴定", "approver": "王主任"}))
    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    assert (d.deadline - old_deadline).days == 10 and f"办理期限已延长至{d.deadline.isoformat()}。" in html
    html = text_of(post(web, dispute_id, "reassign", {"handler": "mediator_b2"}))
    assert "已改派给mediator_b2。" in html
    html = text_of(post(web, dispute_id, "stabilize", {"note": "每日走访", "date": today()}))
    assert "已转为稳控。" in html and "resume" in forms(html)


@pytest.mark.parametrize("stage", list(Stage))
def test_every_allowed_form_renders(client, web, world, stage):
    """An admin may do everything the table allows from the stage: every form must render."""
    dispute_id = make_case(client, world, stage)
    web.login("admin")
    html = page(web, dispute_id)
    d = db.session.get(Dispute, dispute_id)
    expected = set(allowed_actions(world.admin.user, d))
    assert forms(html) == expected
    for action in expected:
        assert f"确认{TRANSITIONS[action].label}" in html
    assert f'data-stage="{stage.value}"' in html
