"""The life of a case: ONE table of allowed transitions, and the action service functions.

A case's *stage* is its status refined by acceptance: a routed case is 办理中 but waits for the
lead unit to accept it (待受理); the deadline runs from 受理. The table says, for every action,
from which stages it is allowed, which stage it leads to (None: unchanged), who may perform it, and
the timeline event it writes. :func:`perform` is the single entry point: version check, table
check, permission check, the action's effect, the new status, one timeline event — all in the
caller's transaction (the caller commits once, or rolls back on any error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from marshmallow import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.access import (
    can_see_node,
    is_admin,
    is_center_user,
    may_accept_walk_in,
    may_register_and_accept,
    predicate,
)
from mediation.accounts.models import User
from mediation.common.enums import Channel, Outcome, PartyRole, RiskFlag, Role, Status, UnitType
from mediation.common.time import local_date, local_today, to_local, utcnow
from mediation.config import ONLINE_APPLICATION_SOURCE
from mediation.disputes.casework import (
    CONFIRMATION_WINDOW_DAYS,
    CourtReferral,
    JudicialConfirmation,
    MediationSession,
    PoliceNotification,
)
from mediation.disputes.models import Dispute
from mediation.disputes.service import add_event, is_prominent, register
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing.deadlines import add_days, days_left, time_limit_for, warning_level
from mediation.routing.models import Extension
from mediation.routing.service import check_reach, next_center_up, responsible_center, unit_by_code


class Stage(StrEnum):
    PENDING = "待分流"
    AWAITING = "待受理"  # routed (办理中) but not yet accepted by the lead unit
    HANDLING = "办理中"  # accepted: the deadline runs
    STABILIZED = "稳控"
    CLOSED = "已办结"


STAGE_STATUS = {
    Stage.PENDING: Status.PENDING,
    Stage.AWAITING: Status.HANDLING,
    Stage.HANDLING: Status.HANDLING,
    Stage.STABILIZED: Status.STABILIZED,
    Stage.CLOSED: Status.CLOSED,
}


def stage_of(dispute: Dispute) -> Stage:
    if dispute.status == Status.HANDLING:
        return Stage.HANDLING if dispute.accepted_on is not None else Stage.AWAITING
    return {Status.PENDING: Stage.PENDING, Status.STABILIZED: Stage.STABILIZED, Status.CLOSED: Stage.CLOSED}[
        Status(dispute.status)
    ]


def stage_condition(stage: Stage | str):
    """:func:`stage_of` as a SQL condition on ``Dispute`` (lists filter on it): the same rule."""

    stage = Stage(stage)
    if stage == Stage.AWAITING:
        return and_(Dispute.status == Status.HANDLING, Dispute.accepted_on.is_(None))
    if stage == Stage.HANDLING:
        return and_(Dispute.status == Status.HANDLING, Dispute.accepted_on.is_not(None))
    return Dispute.status == STAGE_STATUS[stage]


class Actor(StrEnum):
    CENTER = "综治中心"  # staff of the centre that triages the case, or of a centre above it
    HANDLER = "承办单位"  # users of the lead or a co-handling unit; court liaisons on 诉调对接 cases
    LEAD = "牵头单位"  # users of the lead unit only
    COURT = "法院"  # court liaisons
    WALK_IN = "登记调委会"  # mediators of the 调委会 that registered the case (本委员会直接受理)


ACTOR_MESSAGES = {
    Actor.CENTER: "负责该案分流的综治中心（或其上级综治中心）工作人员",
    Actor.HANDLER: "牵头单位、联办单位的工作人员",
    Actor.LEAD: "牵头单位的工作人员",
    Actor.COURT: "法院联络员",
    Actor.WALK_IN: "登记该案的人民调解委员会的调解员",
}


@dataclass(frozen=True)
class Transition:
    action: str
    label: str  # the Chinese verb on buttons and in messages
    sources: frozenset[Stage]
    target: Stage | None  # None: the stage does not change
    actors: frozenset[Actor]
    event: str  # timeline event type (EVENT_LABELS)
    guard: Callable[[Dispute], str | None] | None = field(default=None, compare=False)


class WorkflowError(Exception):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Conflict(WorkflowError):
    """Not allowed from the case's current state, or the case changed meanwhile (HTTP 409)."""

    status = 409


class Forbidden(WorkflowError):
    """The user may see the case but may not perform this action (HTTP 403)."""

    status = 403


STALE_MESSAGE = "该案件刚刚被他人修改，您的操作未保存。请刷新页面查看最新情况后重试。"

# Chinese labels of the keys the workflow writes into Event.data (for the timeline on the case page).
DATA_LABELS = {
    "channel": "渠道",
    "unit": "承办单位",
    "co_units": "联办单位",
    "suggested": "分流建议",
    "override": "未采纳建议",
    "deadline": "期限",
    "time_limit": "时限",
    "outcome": "结果",
    "from_unit": "原单位",
    "to_unit": "新单位",
    "from_center": "原综治中心",
    "to_center": "上报至",
    "previous": "上报前",
    "accepted_on": "受理日期",
    "from_handler": "原承办人",
    "to_handler": "新承办人",
    "stabilized_since": "稳控起始",
    "days": "延长",
    "old_deadline": "原期限",
    "new_deadline": "新期限",
    "approver": "批准人",
    "parties_consent": "双方同意",
    "party": "拒绝调解的当事人",
    "basis": "依据",
    "police_unit": "公安机关",
    "officer": "民警",
    "notified_at": "告知时间",
    "converted": "已民转刑",
    "kind": "方式",
    "court_case_no": "法院案号",
    "court": "人民法院",
    "agreement_on": "协议生效日期",
    "applied_on": "申请日期",
    "result": "裁定结果",
    "ruling_no": "裁定书案号",
    "direct": "本委员会直接受理",
}


# --- guards: conditions beyond the stage ---------------------------------------------------------


def _escalation_target(dispute: Dispute) -> Unit | None:
    current = responsible_center(dispute)
    return next_center_up(current) if current is not None else None


def _guard_escalate(dispute: Dispute) -> str | None:
    if _escalation_target(dispute) is None:
        return "已没有上一级综治中心，无法继续上报。"
    return None


def _confirmations(dispute: Dispute) -> list[JudicialConfirmation]:
    return list(
        db.session.scalars(
            select(JudicialConfirmation)
            .where(JudicialConfirmation.dispute_id == dispute.id)
            .order_by(JudicialConfirmation.id)
        )
    )


def _guard_apply_confirmation(dispute: Dispute) -> str | None:
    if dispute.outcome != Outcome.SUCCESS:
        return "只有调解成功的案件才能申请司法确认。"
    for c in _confirmations(dispute):
        if c.result is None:
            return "已有待裁定的司法确认申请。"
        if c.result == "确认有效":
            return "该调解协议已经司法确认有效。"
    return None


def _guard_rule_confirmation(dispute: Dispute) -> str | None:
    if not any(c.result is None for c in _confirmations(dispute)):
        return "没有待裁定的司法确认申请。"
    return None


BOTH_SIDES_MESSAGE = "受理需要纠纷双方当事人：请先登记申请人和被申请人（或至少两名当事人）后再受理。"


def sides_missing(roles: list[str]) -> str | None:
    """受理 needs both sides of the dispute: an 申请人 and a 被申请人, or two 当事人 (the message when not)."""
    if (PartyRole.APPLICANT in roles and PartyRole.RESPONDENT in roles) or len(roles) >= 2:
        return None
    return BOTH_SIDES_MESSAGE


def both_sides_missing(dispute: Dispute) -> str | None:
    return sides_missing([p.role for p in dispute.parties])


def referral_of(dispute: Dispute) -> CourtReferral | None:
    return db.session.scalar(select(CourtReferral).where(CourtReferral.dispute_id == dispute.id))


def _guard_referred(dispute: Dispute) -> str | None:
    if referral_of(dispute) is None:
        return "只有法院委派、委托调解的案件才能退回法院。"
    return None


def _guard_online_application(dispute: Dispute) -> str | None:
    if dispute.source != ONLINE_APPLICATION_SOURCE:
        return f"只有来源为「{ONLINE_APPLICATION_SOURCE}」的案件才能由综治中心直接不予受理。"
    return None


OPEN = frozenset({Stage.PENDING, Stage.AWAITING, Stage.HANDLING, Stage.STABILIZED})
ROUTED = frozenset({Stage.AWAITING, Stage.HANDLING, Stage.STABILIZED})
WORKING = frozenset({Stage.HANDLING, Stage.STABILIZED})


def _t(action, label, sources, target, actors, event, guard=None) -> Transition:
    return Transition(action, label, frozenset(sources), target, frozenset(actors), event, guard)


# THE table. Everything that changes a case's state is here; nothing else decides it.
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("route", "分流", {Stage.PENDING}, Stage.AWAITING, {Actor.CENTER}, "routed"),
        _t("refer", "委派调解", {Stage.PENDING}, Stage.AWAITING, {Actor.COURT}, "court_referred"),
        # 本委员会直接受理: the 调委会 that registered a walk-in case routes it to itself (人民调解); the
        # ``accept`` that follows in the same transaction starts the deadline (see :func:`perform`).
        _t(
            "take",
            "本委员会直接受理",
            {Stage.PENDING},
            Stage.AWAITING,
            {Actor.WALK_IN},
            "routed",
            both_sides_missing,
        ),
        _t(
            "accept",
            "受理",
            {Stage.AWAITING},
            Stage.HANDLING,
            {Actor.HANDLER},
            "accepted",
            both_sides_missing,
        ),
        _t("reject", "不予受理", {Stage.AWAITING}, Stage.CLOSED, {Actor.HANDLER}, "rejected"),
        # 网上申请调解: the 综治中心 refuses an online application before routing it; the reason (the
        # event's note) is what the applicant reads (SMS application_refused, the parties' page).
        _t(
            "refuse_application",
            "不予受理网上申请",
            {Stage.PENDING},
            Stage.CLOSED,
            {Actor.CENTER},
            "rejected",
            _guard_online_application,
        ),
        # The 综治中心 may move a case it did not route itself (a walk-in accepted by a 调委会) as well.
        _t(
            "transfer",
            "移交",
            {Stage.AWAITING, Stage.HANDLING},
            Stage.AWAITING,
            {Actor.HANDLER, Actor.CENTER},
            "transferred",
        ),
        _t("escalate", "升级上报", OPEN, Stage.PENDING, {Actor.CENTER}, "escalated", _guard_escalate),
        _t("reassign", "内部改派", ROUTED, None, {Actor.LEAD}, "reassigned"),
        _t("stabilize", "转为稳控", {Stage.HANDLING}, Stage.STABILIZED, {Actor.HANDLER}, "stabilized"),
        _t("resume", "恢复办理", {Stage.STABILIZED}, Stage.HANDLING, {Actor.HANDLER}, "resumed"),
        _t("close", "办结", WORKING, Stage.CLOSED, {Actor.HANDLER}, "closed"),
        _t("refuse", "当事人拒绝调解", ROUTED, Stage.CLOSED, {Actor.HANDLER}, "refused"),
        _t("extend", "延长期限", WORKING, None, {Actor.HANDLER}, "extended"),
        _t("session", "记录调解", WORKING, None, {Actor.HANDLER}, "session"),
        _t("notify_police", "民转刑预警", OPEN, None, {Actor.HANDLER, Actor.CENTER}, "police_notified"),
        _t(
            "apply_confirmation",
            "申请司法确认",
            {Stage.CLOSED},
            None,
            {Actor.HANDLER, Actor.COURT},
            "confirmation_applied",
            _guard_apply_confirmation,
        ),
        _t(
            "rule_confirmation",
            "登记司法确认结果",
            {Stage.CLOSED},
            None,
            {Actor.HANDLER, Actor.COURT},
            "confirmation_ruled",
            _guard_rule_confirmation,
        ),
        # 诉调对接: the receiving unit could not settle a referred case; it goes back to the court.
        _t(
            "return_to_court",
            "退回法院",
            WORKING,
            Stage.CLOSED,
            {Actor.LEAD},
            "returned_to_court",
            _guard_referred,
        ),
    )
}


# --- who may act ---------------------------------------------------------------------------------


CASE_WORKER_ROLES = (Role.MEDIATOR, Role.CENTER)
"""The roles that work cases for their unit (as the lead or a co-handling unit)."""


@predicate
def may_take_over(user: User, dispute: Dispute) -> bool:
    """内部改派: may ``user`` become the case's mediator in charge (承办人)? An active 调解员 or 综治中心
    staff member of the case's lead unit. The ``reassign`` action and the case page's list of names
    (:func:`takeover_candidates`) ask this one question."""
    return bool(
        user.active
        and dispute.unit_id is not None
        and user.unit_id == dispute.unit_id
        and user.role in CASE_WORKER_ROLES
    )


def takeover_candidates(dispute: Dispute) -> list[User]:
    """The people the case may be reassigned to (:func:`may_take_over`), by user name."""
    if dispute.unit_id is None:
        return []
    users = db.session.scalars(
        select(User).where(User.unit_id == dispute.unit_id, User.active.is_(True)).order_by(User.username)
    )
    return [u for u in users if may_take_over(u, dispute)]


def _is_actor(user: User, dispute: Dispute, actor: Actor) -> bool:
    role = user.role
    if actor == Actor.CENTER:
        if not is_center_user(user):
            return False
        center = responsible_center(dispute)
        return user.unit.node.contains(center.node if center is not None else dispute.node)
    if actor in (Actor.HANDLER, Actor.LEAD):
        if dispute.unit_id is None:
            return False
        units = {dispute.unit_id}
        if actor == Actor.HANDLER:
            units |= {u.id for u in dispute.co_units}
        if role in CASE_WORKER_ROLES and user.unit_id in units:
            return True
        return actor == Actor.HANDLER and role == Role.COURT and dispute.channel == Channel.COURT_LINK
    if actor == Actor.COURT:
        return role == Role.COURT
    if actor == Actor.WALK_IN:
        return may_accept_walk_in(user, dispute)
    return False


def may_act(user: User, dispute: Dispute, transition: Transition) -> bool:
    if is_admin(user) and Actor.WALK_IN not in transition.actors:
        return True
    return any(_is_actor(user, dispute, a) for a in transition.actors)


def refusal(user: User, dispute: Dispute, action: str) -> WorkflowError | None:
    """Why ``user`` may not perform ``action`` on the case now (None: allowed)."""
    if walks_in(user, dispute, action):
        return refusal(user, dispute, "take")
    t = TRANSITIONS[action]
    stage = stage_of(dispute)
    if stage not in t.sources:
        if action == "accept" and stage == Stage.PENDING:
            return Conflict(
                "案件当前为「待分流」，须经综治中心分流后才能受理（本委员会直接受理仅限"
                "本委员会登记的案件，由其调解员办理）。"
            )
        return Conflict(f"案件当前为「{stage}」，不能{t.label}。")
    if t.guard is not None and (message := t.guard(dispute)):
        return Conflict(message)
    if not may_act(user, dispute, t):
        who = "、".join(ACTOR_MESSAGES[a] for a in sorted(t.actors))
        return Forbidden(f"只有{who}可以{t.label}。")
    return None


def walks_in(user: User, dispute: Dispute, action: str) -> bool:
    """``accept`` on a 待分流 case by its registering 调委会: route it to that 调委会, then accept."""
    return action == "accept" and stage_of(dispute) == Stage.PENDING and may_accept_walk_in(user, dispute)


def allowed_actions(user: User, dispute: Dispute) -> list[str]:
    return [a for a in TRANSITIONS if a not in ("refer", "take") and refusal(user, dispute, a) is None]


# --- the runner ----------------------------------------------------------------------------------


@dataclass
class Effect:
    note: str | None = None
    data: dict = field(default_factory=dict)
    on: date | None = None


EFFECTS: dict[str, Callable[[User, Dispute, dict], Effect]] = {}


def effect(action: str):
    def decorator(fn):
        EFFECTS[action] = fn
        return fn

    return decorator


def check_version(dispute: Dispute, version: int | None) -> None:
    if version is not None and version != dispute.version:
        raise Conflict(
            f"该案件已被他人修改（您看到的是第{version}版，当前为第{dispute.version}版），"
            "您的操作未保存。请刷新后重试。"
        )


def perform(user: User, dispute: Dispute, action: str, data: dict | None = None) -> Dispute:
    """Run one action on a case the user can see (the caller got it through access.get_dispute).

    Raises Conflict (409), Forbidden (403) or marshmallow.ValidationError (422); the caller then
    rolls back, so nothing of a refused action remains."""
    data = dict(data or {})
    if action not in TRANSITIONS:
        raise KeyError(action)
    t = TRANSITIONS[action]
    check_version(dispute, data.pop("version", None))
    if (error := refusal(user, dispute, action)) is not None:
        raise error
    if walks_in(user, dispute, action):  # two steps, two timeline events: routed (own unit), accepted
        perform(user, dispute, "take", {})
    before = stage_of(dispute)
    result = EFFECTS[action](user, dispute, data)
    if t.target is not None:
        dispute.status = STAGE_STATUS[t.target]
    if stage_of(dispute) != (t.target or before):  # the effect and the table must agree
        raise RuntimeError(f"{action}: stage {stage_of(dispute)} != {t.target or before}")
    dispute.updated_at = utcnow()  # every action is an UPDATE of the case, so it bumps the version
    add_event(dispute, t.event, user, note=result.note, data=result.data, on=result.on)
    db.session.flush()
    return dispute


def commit(*, keep_loaded: bool = False) -> None:
    """Commit the request's transaction; a concurrent write of the same case becomes a Conflict.

    ``keep_loaded``: the objects keep what the request wrote (they are not expired), so an answer
    built from them after the commit reads nothing again (the request wrote every value they hold)."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = expire and not keep_loaded
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict(STALE_MESSAGE) from None
    finally:
        session.expire_on_commit = expire


# --- helpers of the effects ----------------------------------------------------------------------


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(value: date | None, field_name: str, bounds: list[tuple[date | None, str]]) -> date:
    """The action's date (today when not given): not in the future, not before any of ``bounds``."""
    day = value or local_today()
    if day > local_today():
        raise ValidationError({field_name: ["日期不能晚于今天。"]})
    for bound, label in bounds:
        if bound is not None and day < bound:
            raise ValidationError({field_name: [f"日期不能早于{label}（{bound.isoformat()}）。"]})
    return day


def _co_units(codes: list[str], lead: Unit) -> list[Unit]:
    units: list[Unit] = []
    for code in codes:
        unit = unit_by_code(code, "co_units")
        if unit.id == lead.id:
            raise ValidationError({"co_units": ["联办单位不能与牵头单位相同。"]})
        if unit not in units:
            units.append(unit)
    return units


def _unit_data(unit: Unit | None) -> str | None:
    return f"{unit.name}（{unit.code}）" if unit is not None else None


def _join(*parts: str | None) -> str | None:
    text = "；".join(p for p in parts if p)
    return text or None


# --- the effects, one per action -----------------------------------------------------------------


@effect("route")
def _route(user, d: Dispute, data) -> Effect:
    channel = Channel(data["channel"])
    unit = unit_by_code(data["unit"])
    co = _co_units(data.get("co_units") or [], unit)
    check_reach(d, [("unit", unit), *(("co_units", u) for u in co)], user)
    suggested = None
    if d.suggested_channel is not None or d.suggested_unit is not None:
        suggested = {
            "channel": d.suggested_channel.value if d.suggested_channel else None,
            "unit": d.suggested_unit.code if d.suggested_unit else None,
        }
    override = suggested is not None and (
        suggested["channel"] != channel.value or suggested["unit"] != unit.code
    )
    d.channel, d.unit, d.co_units = channel, unit, co
    d.accepted_on = d.deadline = d.stabilized_on = None
    d.handler = None
    remark = None
    if override:
        names = "、".join(x for x in (suggested["channel"], _unit_data(d.suggested_unit)) if x)
        remark = f"未采纳分流建议（建议：{names}）"
    return Effect(
        _join(remark, data.get("note")),
        {
            "channel": channel.value,
            "unit": unit.code,
            "co_units": [u.code for u in co],
            "suggested": suggested,
            "override": override,
        },
    )


@effect("take")
def _take(user, d: Dispute, data) -> Effect:
    if not may_register_and_accept(user):  # an admin is no 调委会: nothing to route the case to
        raise Forbidden(f"只有{ACTOR_MESSAGES[Actor.WALK_IN]}可以{TRANSITIONS['take'].label}。")
    unit = user.unit
    d.channel, d.unit, d.co_units = Channel.PEOPLE, unit, []
    d.accepted_on = d.deadline = d.stabilized_on = None
    d.handler = None
    return Effect(
        _join("本委员会直接受理（当事人到本委员会申请调解）", data.get("note")),
        {
            "channel": Channel.PEOPLE.value,
            "unit": unit.code,
            "co_units": [],
            "direct": True,
        },
    )


@effect("refer")
def _refer(user, d: Dispute, data) -> Effect:
    unit = unit_by_code(data["unit"])
    if (message := referral_target_error(user, unit)) is not None:
        raise ValidationError({"unit": [message]})
    co = _co_units(data.get("co_units") or [], unit)
    for other in co:
        if (message := referral_target_error(user, other)) is not None:
            raise ValidationError({"co_units": [f"{other.name}：{message}"]})
    day = _day(data.get("referred_on"), "referred_on", [(d.registered_on, "登记日期")])
    d.channel, d.unit, d.co_units = Channel.COURT_LINK, unit, co
    d.accepted_on = d.deadline = None
    db.session.add(
        CourtReferral(
            dispute=d,
            kind=data["kind"],
            court_case_no=data["court_case_no"],
            court=user.unit,
            unit=unit,
            referred_on=day,
        )
    )
    return Effect(
        f"{data['kind']}，法院案号{data['court_case_no']}",
        {
            "kind": data["kind"],
            "court_case_no": data["court_case_no"],
            "court": user.unit.code,
            "unit": unit.code,
            "co_units": [u.code for u in co],
        },
        on=day,
    )


@effect("accept")
def _accept(user, d: Dispute, data) -> Effect:
    day = _day(data.get("date"), "date", [(d.registered_on, "登记日期")])
    limit = time_limit_for(d.channel, d.category)
    d.accepted_on = day
    d.deadline = limit.deadline(day)
    if d.handler is None and user.role == Role.MEDIATOR and user.unit_id == d.unit_id:
        d.handler = user
    return Effect(data.get("note"), {"deadline": _iso(d.deadline), "time_limit": limit.label}, on=day)


def _close_as(d: Dispute, outcome: Outcome, day: date) -> None:
    d.outcome = outcome
    d.closed_on = day


@effect("reject")
def _reject(user, d: Dispute, data) -> Effect:
    day = _day(data.get("date"), "date", [(d.registered_on, "登记日期")])
    _close_as(d, Outcome.REJECTED, day)
    return Effect(data["reason"], {"outcome": Outcome.REJECTED.value}, on=day)


@effect("refuse_application")
def _refuse_application(user, d: Dispute, data) -> Effect:
    day = _day(data.get("date"), "date", [(d.registered_on, "登记日期")])
    _close_as(d, Outcome.REJECTED, day)
    return Effect(data["reason"], {"outcome": Outcome.REJECTED.value}, on=day)


@effect("refuse")
def _refuse(user, d: Dispute, data) -> Effect:
    day = _day(data.get("date"), "date", [(d.registered_on, "登记日期")])
    _close_as(d, Outcome.REJECTED, day)
    who = f"当事人{data['party']}" if data.get("party") else "一方当事人"
    basis = f"{who}明确拒绝调解，依照《中华人民共和国人民调解法》第十七条不予调解"
    return Effect(
        _join(basis, data.get("note")),
        {"outcome": Outcome.REJECTED.value, "party": data.get("party"), "basis": "人民调解法第十七条"},
        on=day,
    )


@effect("transfer")
def _transfer(user, d: Dispute, data) -> Effect:
    unit = unit_by_code(data["unit"])
    if unit.id == d.unit_id:
        raise ValidationError({"unit": ["案件已由该单位承办，请选择其他单位。"]})
    check_reach(d, [("unit", unit)], user)
    previous = d.unit
    d.unit = unit
    d.co_units = [u for u in d.co_units if u.id != unit.id]
    d.accepted_on = d.deadline = None
    d.handler = None
    return Effect(data["reason"], {"from_unit": previous.code, "to_unit": unit.code})


@effect("escalate")
def _escalate(user, d: Dispute, data) -> Effect:
    current = responsible_center(d)
    target = _escalation_target(d)
    previous = {
        "channel": d.channel.value if d.channel else None,
        "unit": d.unit.code if d.unit else None,
        "accepted_on": _iso(d.accepted_on),
    }
    d.center = target
    d.channel = d.unit = None
    d.co_units = []
    d.accepted_on = d.deadline = d.stabilized_on = None
    d.handler = None
    return Effect(
        data["reason"], {"from_center": current.code, "to_center": target.code, "previous": previous}
    )


@effect("reassign")
def _reassign(user, d: Dispute, data) -> Effect:
    target = db.session.scalar(select(User).where(User.username == data["handler"]))
    if target is None or not may_take_over(target, d):
        raise ValidationError({"handler": ["应为牵头单位在职的调解员。"]})
    if target.id == d.handler_id:
        raise ValidationError({"handler": ["该案已由此人承办。"]})
    previous = d.handler
    d.handler = target
    return Effect(
        data.get("note"),
        {"from_handler": previous.username if previous else None, "to_handler": target.username},
    )


@effect("stabilize")
def _stabilize(user, d: Dispute, data) -> Effect:
    day = _day(data.get("date"), "date", [(d.accepted_on, "受理日期")])
    d.stabilized_on = day
    return Effect(data["note"], {}, on=day)


@effect("resume")
def _resume(user, d: Dispute, data) -> Effect:
    since = d.stabilized_on
    d.stabilized_on = None
    return Effect(data.get("note"), {"stabilized_since": _iso(since)})


@effect("close")
def _close(user, d: Dispute, data) -> Effect:
    day = _day(
        data.get("date"),
        "date",
        [(d.registered_on, "登记日期"), (d.accepted_on, "受理日期"), (d.stabilized_on, "稳控日期")],
    )
    outcome = Outcome(data["outcome"])
    _close_as(d, outcome, day)
    return Effect(data.get("note"), {"outcome": outcome.value}, on=day)


@effect("extend")
def _extend(user, d: Dispute, data) -> Effect:
    if d.channel == Channel.COURT_LINK and not data.get("parties_consent"):
        raise ValidationError({"parties_consent": ["诉调对接案件延长调解期限须经双方当事人同意。"]})
    limit = time_limit_for(d.channel, d.category)
    current = d.deadline or limit.deadline(d.accepted_on)
    new = add_days(current, data["days"], limit.working_days)
    db.session.add(
        Extension(
            dispute_id=d.id,
            days=data["days"],
            working_days=limit.working_days,
            previous_deadline=current,
            new_deadline=new,
            reason=data["reason"],
            approver=data["approver"],
            parties_consent=bool(data.get("parties_consent")),
            created_by=user,
        )
    )
    d.deadline = new
    unit = "个工作日" if limit.working_days else "天"
    return Effect(
        data["reason"],
        {
            "days": f"{data['days']}{unit}",
            "old_deadline": current.isoformat(),
            "new_deadline": new.isoformat(),
            "approver": data["approver"],
            "parties_consent": bool(data.get("parties_consent")),
        },
    )


@effect("session")
def _session(user, d: Dispute, data) -> Effect:
    day = _day(data["held_on"], "held_on", [(d.accepted_on, "受理日期")])
    db.session.add(
        MediationSession(
            dispute=d,
            held_on=day,
            place=data["place"],
            mediators=data["mediators"],
            attendees=data["attendees"],
            record=data["record"],
            created_by=user,
        )
    )
    return Effect(
        f"地点：{data['place']}；调解员：{data['mediators']}；参加人：{data['attendees']}", {}, on=day
    )


@effect("notify_police")
def _notify_police(user, d: Dispute, data) -> Effect:
    db.session.add(
        PoliceNotification(
            dispute=d,
            notified_at=data["notified_at"],
            police_unit=data["police_unit"],
            officer=data.get("officer"),
            note=data["note"],
            converted=bool(data.get("converted")),
            created_by=user,
        )
    )
    if RiskFlag.CIVIL_TO_CRIMINAL.value not in (d.flags or []):
        d.flags = [*(d.flags or []), RiskFlag.CIVIL_TO_CRIMINAL.value]
    d.prominent = is_prominent(d.risk_level, d.flags)
    if data.get("converted"):
        d.civil_to_criminal = True
    return Effect(
        data["note"],
        {
            "police_unit": data["police_unit"],
            "officer": data.get("officer"),
            "notified_at": to_local(data["notified_at"]).strftime("%Y-%m-%d %H:%M"),
            "converted": bool(data.get("converted")),
        },
        on=local_date(data["notified_at"]),
    )


@effect("apply_confirmation")
def _apply_confirmation(user, d: Dispute, data) -> Effect:
    court = unit_by_code(data["court"], "court")
    if court.type != UnitType.COURT:
        raise ValidationError({"court": ["应选择人民法院。"]})
    agreement_on = data.get("agreement_on") or d.closed_on
    if agreement_on < d.registered_on:
        raise ValidationError({"agreement_on": ["协议生效日期不能早于登记日期。"]})
    applied_on = _day(data["applied_on"], "applied_on", [(agreement_on, "调解协议生效日期")])
    if (applied_on - agreement_on).days > CONFIRMATION_WINDOW_DAYS:
        raise ValidationError(
            {
                "applied_on": [
                    f"应自调解协议生效之日起{CONFIRMATION_WINDOW_DAYS}日内申请司法确认（人民调解法第三十三条），"
                    f"协议生效日期为{agreement_on.isoformat()}。"
                ]
            }
        )
    db.session.add(
        JudicialConfirmation(dispute_id=d.id, agreement_on=agreement_on, applied_on=applied_on, court=court)
    )
    return Effect(
        None,
        {"court": court.code, "agreement_on": agreement_on.isoformat(), "applied_on": applied_on.isoformat()},
        on=applied_on,
    )


@effect("rule_confirmation")
def _rule_confirmation(user, d: Dispute, data) -> Effect:
    pending = next(c for c in _confirmations(d) if c.result is None)
    ruled_on = _day(data.get("ruled_on"), "ruled_on", [(pending.applied_on, "申请日期")])
    pending.ruling_no, pending.result, pending.ruled_on = data["ruling_no"], data["result"], ruled_on
    return Effect(
        f"{data['result']}，{data['ruling_no']}",
        {"result": data["result"], "ruling_no": data["ruling_no"], "court": pending.court.code},
        on=ruled_on,
    )


@effect("return_to_court")
def _return_to_court(user, d: Dispute, data) -> Effect:
    referral = referral_of(d)
    day = _day(
        data.get("date"),
        "date",
        [(d.registered_on, "登记日期"), (d.accepted_on, "受理日期"), (d.stabilized_on, "稳控日期")],
    )
    _close_as(d, Outcome.FAILURE, day)
    return Effect(
        data["reason"],
        {
            "outcome": Outcome.FAILURE.value,
            "court": referral.court.code,
            "court_case_no": referral.court_case_no,
        },
        on=day,
    )


# --- court referrals: registration and routing in one request ------------------------------------

REFERRAL_FIELDS = ("kind", "court_case_no", "unit", "co_units", "referred_on")
# Who receives a court's referral: a 调委会, a 综治中心, or a 诉调对接中心 (a unit on the 诉调对接 channel).
REFERRAL_UNIT_TYPES = (UnitType.COMMITTEE, UnitType.CENTER)


def referral_target_error(user: User, unit: Unit) -> str | None:
    """Why ``user`` (a court liaison) may not send a case to ``unit`` (None: it may): the unit must
    receive referrals and lie within the court's reach (its unit's subtree, accounts.access)."""

    if unit.id == user.unit_id:
        return "不能委派给本单位。"
    if unit.type not in REFERRAL_UNIT_TYPES and unit.channel != Channel.COURT_LINK:
        return "应选择人民调解委员会、综治中心或诉调对接中心。"
    if not can_see_node(user, unit.node):
        return "该单位不在本院可委派的范围内。"
    return None


def referral_targets(user: User) -> list[Unit]:
    """The units ``user`` may refer a case to (the choices of the web form), nearest the top first."""

    rows = db.session.execute(
        select(Unit, Node.path)
        .join(Node, Unit.node_id == Node.id)
        .where(or_(Unit.type.in_(REFERRAL_UNIT_TYPES), Unit.channel == Channel.COURT_LINK))
    ).all()
    units = [u for u, _ in sorted(rows, key=lambda row: (row[1].count("/"), row[1], row[0].code))]
    return [u for u in units if referral_target_error(user, u) is None]


def refer_case(
    user: User, data: dict, *, idempotency_key: str | None = None, fingerprint: str | None = None
) -> Dispute:
    """A court liaison registers a 诉前委派 / 诉中委托 case and sends it to a mediation unit.

    The web form and the API call this; with an idempotency key a resubmitted form returns the case
    it already made."""

    if not may_refer(user):
        raise Forbidden("只有法院联络员可以委派或委托调解。")
    referral = {k: data[k] for k in REFERRAL_FIELDS if k in data}
    registration = register(
        user,
        {k: v for k, v in data.items() if k not in REFERRAL_FIELDS},
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    if registration.replayed:
        return registration.dispute
    return perform(user, registration.dispute, "refer", referral)


# --- a walk-in case: registration and 受理 in one request ---------------------------------------

NOT_WALK_IN_MESSAGE = (
    "只有人民调解委员会的调解员可以选择「本委员会直接受理」；请不选此项提交登记，由综治中心分流。"
)


def register_case(
    user: User, data: dict, *, idempotency_key: str | None = None, fingerprint: str | None = None
):
    """Register a validated ``DisputeCreate`` payload (form and API). With ``accept`` (本委员会直接
    受理) the user's 调委会 accepts the case in the same transaction, through the table: ``take``
    (routed to the own unit, 人民调解) and ``accept`` (the deadline starts). Raises ValidationError
    (field → messages) or WorkflowError; the caller commits once or rolls back."""

    data = dict(data)
    accept = bool(data.pop("accept", False))
    if accept:
        if not may_register_and_accept(user):
            raise ValidationError({"accept": [NOT_WALK_IN_MESSAGE]})
        if message := sides_missing([p.get("role") for p in data.get("parties") or []]):
            raise ValidationError({"parties": [message]})
    registration = register(user, data, idempotency_key=idempotency_key, fingerprint=fingerprint)
    if accept and not registration.replayed:
        perform(user, registration.dispute, "accept", {})
    return registration


@predicate
def may_refer(user: User) -> bool:
    """诉前委派 / 诉中委托: the court's liaison (or an admin) at a court unit refers cases."""
    return (
        (user.role == Role.COURT or is_admin(user))
        and user.unit is not None
        and user.unit.type == UnitType.COURT
    )


# --- what a case page and the API show -----------------------------------------------------------


def casework(user: User, dispute: Dispute, today: date | None = None) -> dict:
    limit = time_limit_for(dispute.channel, dispute.category) if dispute.channel else None
    center = responsible_center(dispute)
    return {
        "id": dispute.id,
        "version": dispute.version,
        "stage": stage_of(dispute).value,
        "allowed_actions": allowed_actions(user, dispute),
        "deadline": dispute.deadline,
        "warning_level": warning_level(dispute, today),
        "days_left": days_left(dispute, today) if dispute.status != Status.CLOSED else None,
        "time_limit": limit,
        "suggestion": (
            {
                "channel": dispute.suggested_channel,
                "unit": dispute.suggested_unit.code if dispute.suggested_unit else None,
            }
            if dispute.suggested_channel or dispute.suggested_unit
            else None
        ),
        "suggested_unit": dispute.suggested_unit,
        "center": center.code if center else None,
        "center_unit": center,
        "handler": dispute.handler.username if dispute.handler else None,
        "sessions": list(
            db.session.scalars(
                select(MediationSession)
                .where(MediationSession.dispute_id == dispute.id)
                .order_by(MediationSession.held_on, MediationSession.id)
            )
        ),
        "extensions": list(
            db.session.scalars(
                select(Extension).where(Extension.dispute_id == dispute.id).order_by(Extension.id)
            )
        ),
        "referral": db.session.scalar(select(CourtReferral).where(CourtReferral.dispute_id == dispute.id)),
        "confirmations": _confirmations(dispute),
        "police_notifications": list(
            db.session.scalars(
                select(PoliceNotification)
                .where(PoliceNotification.dispute_id == dispute.id)
                .order_by(PoliceNotification.notified_at)
            )
        ),
    }
