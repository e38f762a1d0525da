"""Helpers of the workflow tests: bring a case to a stage through the API, valid bodies per action,
and a snapshot of everything an action may change (to prove a refused action changed nothing)."""

from __future__ import annotations

from sqlalchemy import func, select

from mediation.common.time import local_today
from mediation.disputes.casework import (
    CourtReferral,
    JudicialConfirmation,
    MediationSession,
    PoliceNotification,
)
from mediation.disputes.models import Dispute, Event
from mediation.disputes.workflow import Stage
from mediation.disputes.workflow_api import ACTIONS
from mediation.extensions import db
from mediation.routing.models import Extension
from tests.factories import dispute_payload


def today() -> str:
    return local_today().isoformat()


def url(dispute_id: int, action: str) -> str:
    return f"/api/v1/disputes/{dispute_id}/{ACTIONS[action][0]}"


def act(client, who, dispute_id: int, action: str, body: dict | None = None):
    return client.post(
        url(dispute_id, action), json=body if body is not None else valid_body(action), headers=who.headers
    )


def register(client, who, node_code: str, **overrides) -> int:
    r = client.post("/api/v1/disputes", json=dispute_payload(node_code, **overrides), headers=who.headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def get(client, who, dispute_id: int) -> dict:
    r = client.get(f"/api/v1/disputes/{dispute_id}", headers=who.headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def ok(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def valid_body(action: str) -> dict:
    """A body that the action accepts on a case of the standard world (village 双港村, unit TW-B)."""
    return {
        "route": {"channel": "人民调解", "unit": "TW-B"},
        "accept": {"date": today()},
        "reject": {"reason": "该纠纷已进入诉讼程序。"},
        "refuse_application": {"reason": "该纠纷已由人民法院立案受理。"},
        "transfer": {"unit": "PCS-B", "reason": "涉及治安管理，移交派出所调解。"},
        "escalate": {"reason": "涉及两个镇街，需区综治中心统筹。"},
        "reassign": {"handler": "mediator_b2"},
        "stabilize": {"note": "双方情绪激动，安排网格员每日走访。"},
        "resume": {"note": "双方同意继续调解。"},
        "close": {"outcome": "调解成功", "date": today(), "note": "达成书面协议。"},
        "refuse": {"party": "李四", "note": "李四表示只接受诉讼。"},
        "extend": {"days": 10, "reason": "需等待损失鉴定结果。", "approver": "调委会主任王五"},
        "session": {
            "held_on": today(),
            "place": "双港镇人民调解委员会调解室",
            "mediators": "mediator_b",
            "attendees": "张三、李四",
            "record": "双方陈述事实，调解员释法明理，约定下次调解时间。",
        },
        "notify_police": {
            "notified_at": f"{today()}T00:00",
            "police_unit": "双港派出所",
            "note": "被申请人扬言报复，已电话告知派出所。",
        },
        "apply_confirmation": {"applied_on": today(), "court": "FY"},
        "rule_confirmation": {"ruling_no": "（2026）津0116民特88号", "result": "确认有效"},
        "return_to_court": {"reason": "经三次调解，双方对赔偿数额分歧较大，未能达成协议。"},
    }[action]


def make_case(client, world, stage: Stage, **overrides) -> int:
    """A case at 双港村 (town 双港镇, centre ZZ-B), routed to TW-B and handled by mediator_b."""
    dispute_id = register(client, world.center_user_b, world.village_b.code, **overrides)
    if stage == Stage.PENDING:
        return dispute_id
    ok(act(client, world.center_user_b, dispute_id, "route"))
    if stage == Stage.AWAITING:
        return dispute_id
    ok(act(client, world.mediator_b, dispute_id, "accept"))
    if stage == Stage.STABILIZED:
        ok(act(client, world.mediator_b, dispute_id, "stabilize"))
    elif stage == Stage.CLOSED:
        ok(act(client, world.mediator_b, dispute_id, "close"))
    return dispute_id


def make_referred_case(client, world, stage: Stage, **overrides) -> int:
    """A case the court (FY) referred to 双港镇调委会 (TW-B) for 双港村, accepted by mediator_b."""
    body = dispute_payload(world.village_b.code)
    body.pop("source")
    body.update(kind="诉前委派", court_case_no="（2026）津0116民诉前调1234号", unit="TW-B")
    body.update(overrides)
    r = client.post("/api/v1/court-referrals", json=body, headers=world.court_user.headers)
    assert r.status_code == 201, r.get_json()
    dispute_id = r.get_json()["id"]
    if stage == Stage.AWAITING:
        return dispute_id
    assert stage in (Stage.HANDLING, Stage.STABILIZED, Stage.CLOSED), stage
    ok(act(client, world.mediator_b, dispute_id, "accept"))
    if stage == Stage.STABILIZED:
        ok(act(client, world.mediator_b, dispute_id, "stabilize"))
    elif stage == Stage.CLOSED:
        ok(act(client, world.mediator_b, dispute_id, "close"))
    return dispute_id


def snapshot(dispute_id: int) -> dict:
    """Every column of the case, its co-handling units, and how many rows of each kind it has."""
    db.session.expire_all()
    d = db.session.get(Dispute, dispute_id)
    row = {c.key: getattr(d, c.key) for c in Dispute.__mapper__.column_attrs}
    row["co_units"] = sorted(u.code for u in d.co_units)
    for model in (
        Event,
        MediationSession,
        Extension,
        CourtReferral,
        JudicialConfirmation,
        PoliceNotification,
    ):
        row[model.__name__] = db.session.scalar(
            select(func.count()).select_from(model).where(model.dispute_id == dispute_id)
        )
    db.session.commit()
    return row
