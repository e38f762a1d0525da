"""Sweep reports (排查): a grid's report of the disputes found (0 = 零报告), one row per grid, day
and user, so that a retry updates it; and what it found (``SweepFinding``): each dispute found is
registered as a case from the report, linked to an existing case, or explained — 排查 that leads to
化解. Findings still open SWEEP_REGISTER_DAYS after the sweep are flagged to the 综治中心 of the grid
(a step of the follow-ups sweep, once per finding); the 双百 figure 排查闭环率 counts the sweeps
whose every finding is registered or explained."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from mediation import clock
from mediation.accounts.access import (
    can_see_node,
    is_admin,
    is_center_user,
    node_scope,
    predicate,
    visible_disputes,
)
from mediation.accounts.models import User
from mediation.common.enums import NodeLevel, PartyKind, PartyRole, RiskLevel
from mediation.common.time import local_today, utcnow
from mediation.common.urls import app_path
from mediation.disputes import service as dispute_service
from mediation.disputes import workflow
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import NotificationKind
from mediation.followups.service import SweepResult, centres_on_path, notify, register_sweep_step, unit_users
from mediation.geo.models import Node
from mediation.reports.common import Month, ReportError, rate
from mediation.reports.models import Screening, SweepFinding


def file_screening(user: User, data: dict) -> tuple[Screening, bool]:
    """File (or, retried, update) a grid's sweep report. Returns (row, created). Raises
    ReportError(422/403) with a Chinese message."""
    node = db.session.scalar(select(Node).where(Node.code == data["node"]))
    if node is None:
        raise ReportError("未知的网格代码。", status=422, field="node")
    if node.level != NodeLevel.GRID:
        raise ReportError(f"「{node.name}」不是网格，排查报告只能按网格填报。", status=422, field="node")
    if not can_see_node(user, node):
        raise ReportError("该网格不在您单位的辖区内，无权填报。", status=403)
    day = data.get("date") or local_today()
    if day > local_today():
        raise ReportError("排查日期不能晚于今天。", status=422, field="date")
    found = int(data.get("found") or 0)
    if found < 0:
        raise ReportError("发现纠纷数不能为负数。", status=422, field="found")
    stmt = select(Screening).where(
        Screening.node_id == node.id, Screening.reported_on == day, Screening.user_id == user.id
    )
    row = db.session.scalar(stmt)
    created = row is None
    if row is not None and found < (listed := len(row.findings)):
        raise ReportError(
            f"该报告已列出发现的纠纷{listed}件，发现纠纷数不能少于{listed}。", status=422, field="found"
        )
    if row is not None and found == 0 and row.found > 0 and not data.get("confirm_overwrite"):
        raise ReportError(zero_overwrite_message(row), status=409, field="found")
    if created:
        row = Screening(node=node, reported_on=day, user=user, found=found, note=data.get("note"))
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:  # a concurrent retry inserted it first: update that row
            row, created = db.session.scalar(stmt), False
    if not created:
        row.found, row.note = found, data.get("note")
        row.updated_at = utcnow()
    db.session.flush()
    return row, created


def zero_overwrite_message(row: Screening) -> str:
    """A zero report would replace a report of the same day that found disputes: said, not done."""
    return (
        f"您已于{row.reported_on:%m月%d日}为{row.node.name}报告发现纠纷{row.found}件；"
        f"零报告将把它改为“未发现纠纷”。如确需更正，请确认后再提交。"
    )


def grids_in_scope(user: User) -> list[Node]:
    """The grids a user may report for (their node's subtree)."""
    return list(
        db.session.scalars(
            select(Node).where(Node.level == NodeLevel.GRID, node_scope(user)).order_by(Node.path).limit(500)
        )
    )


def recent_screenings(user: User, limit: int = 10) -> list[Screening]:
    return list(
        db.session.scalars(
            select(Screening)
            .where(Screening.user_id == user.id)
            .order_by(Screening.reported_on.desc(), Screening.id.desc())
            .limit(limit)
        )
    )


# ------------------------------------------------------------------------------ who sees and acts


def _covers_grid(user: User, screening: Screening) -> bool:
    """综治中心 staff whose area holds the sweep's grid (the grid's 综治中心 and those above it)."""
    return is_center_user(user) and can_see_node(user, screening.node)


@predicate
def may_see_sweep(user: User, screening: Screening) -> bool:
    """A sweep report and its findings are read by the grid worker who filed it, the 综治中心 of the
    grid (and those above it), and admins."""
    return user.active and (screening.user_id == user.id or _covers_grid(user, screening) or is_admin(user))


@predicate
def may_work_on_sweep(user: User, screening: Screening) -> bool:
    """Adding findings to a sweep report and registering, linking or explaining them: the grid worker
    who filed it and the 综治中心 of the grid (and those above it)."""
    return user.active and (screening.user_id == user.id or _covers_grid(user, screening))


def get_screening(user: User, screening_id: int) -> Screening:
    """The sweep report if the user may see it; ReportError(404) otherwise (existence not revealed)."""
    row = db.session.get(Screening, screening_id)
    if row is None or not may_see_sweep(user, row):
        raise ReportError("未找到该排查报告。", status=404)
    return row


def get_finding(user: User, finding_id: int) -> SweepFinding:
    row = db.session.get(SweepFinding, finding_id)
    if row is None or not may_see_sweep(user, row.screening):
        raise ReportError("未找到该排查发现。", status=404)
    return row


# ------------------------------------------------------------------------------ findings

EXPLAIN_REASONS = ("当场化解", "不属于纠纷", "重复上报", "其他")
SWEEP_SOURCE = "网格员排查"
_NAME_SPLIT = re.compile(r"[、，,；;\s]+")


def finding_places(user: User, screening: Screening) -> list[Node]:
    """Where a finding may be placed: the sweep's grid, or the village (community) it belongs to when
    the user works there too (a case is registered at a place of the user's area)."""
    places = [screening.node]
    parent = screening.node.parent
    if parent is not None and parent.level in (NodeLevel.VILLAGE, NodeLevel.COMMUNITY):
        places += [parent] if can_see_node(user, parent) else []
    return places


def _refuse_unless_worker(user: User, screening: Screening) -> None:
    if not may_work_on_sweep(user, screening):
        raise ReportError("只有填报该排查报告的网格员和该网格的综治中心可以处理其发现的纠纷。", status=403)


def add_finding(user: User, screening: Screening, data: dict) -> tuple[SweepFinding, bool]:
    """List a dispute the sweep found. A retry with the same content returns the row already listed
    (created False). The report's ``found`` grows to the number of findings listed."""
    _refuse_unless_worker(user, screening)
    places = {n.code: n for n in finding_places(user, screening)}
    node = places.get(data.get("node") or screening.node.code)
    if node is None:
        raise ReportError("地点只能是本报告的网格或其所在村（社区）。", status=422, field="node")
    if data["category"] not in current_app.config["CATEGORIES"]:
        raise ReportError("未知的纠纷类别。", status=422, field="category")
    parties = "、".join(n for n in _NAME_SPLIT.split(data.get("parties") or "") if n) or None
    description = data["description"].strip()
    for row in screening.findings:
        if (row.description, row.node_id, row.category, row.parties) == (
            description,
            node.id,
            data["category"],
            parties,
        ):
            return row, False
    row = SweepFinding(
        screening=screening, description=description, node=node, parties=parties, category=data["category"]
    )
    db.session.add(row)
    db.session.flush()
    if screening.found < len(screening.findings):
        screening.found = len(screening.findings)
        screening.updated_at = utcnow()
    db.session.flush()
    return row, True


def refuse_unless_open(user: User, finding: SweepFinding) -> None:
    """Only an open finding is registered, linked or explained; its row is locked first (PostgreSQL)
    so that two concurrent taps do not both act on it."""
    _refuse_unless_worker(user, finding.screening)
    db.session.refresh(finding, with_for_update=True)
    if not finding.is_open:
        raise ReportError(f"该发现已处理（{finding.state}），不能重复处理。", status=409)


def registration_values(finding: SweepFinding) -> tuple[dict, list[dict]]:
    """The registration form prefilled from a finding: (scalar values, party rows). Names become the
    parties: the first 申请人, the others 被申请人."""
    values = {
        "category": finding.category,
        "source": SWEEP_SOURCE if SWEEP_SOURCE in current_app.config["SOURCES"] else "",
        "summary": finding.description,
        "node": finding.node.code,
        "risk_level": RiskLevel.ORDINARY.value,
        "occurred_on": "",
    }
    names = [n for n in (finding.parties or "").split("、") if n]
    parties = [
        {
            "role": (PartyRole.APPLICANT if i == 0 else PartyRole.RESPONDENT).value,
            "kind": PartyKind.PERSON.value,
            "name": name,
        }
        for i, name in enumerate(names)
    ]
    return values, parties


def registration_payload(finding: SweepFinding, overrides: dict | None = None) -> dict:
    """The DisputeCreate payload of a finding (what the API registers), with the caller's overrides."""
    values, parties = registration_values(finding)
    payload = {k: v for k, v in values.items() if v}
    payload["parties"] = parties
    payload.update(overrides or {})
    return payload


def register_finding(
    user: User, finding: SweepFinding, data: dict, *, idempotency_key: str | None = None, fingerprint=None
):
    """Register a validated DisputeCreate payload as the case of an open finding and link it (one
    transaction; the caller commits). A replayed registration (same idempotency key) that is already
    the finding's case returns it again."""
    _refuse_unless_worker(user, finding.screening)
    if finding.dispute_id is not None and idempotency_key:
        previous = dispute_service.find_idempotent(user, idempotency_key, fingerprint)
        if previous is not None and previous.id == finding.dispute_id:
            return dispute_service.Registration(previous, replayed=True)
    refuse_unless_open(user, finding)
    result = workflow.register_case(user, data, idempotency_key=idempotency_key, fingerprint=fingerprint)
    _resolve(user, finding, dispute=result.dispute, linked=False)
    return result


def linkable_cases(user: User, q: str, limit: int = 20) -> list[Dispute]:
    """The picker of ``link``: cases the user may see whose 案号 or summary holds ``q`` (newest first)."""
    q = (q or "").strip()[:50]
    stmt = visible_disputes(user)
    if q:
        stmt = stmt.where(
            or_(Dispute.case_no.contains(q, autoescape=True), Dispute.summary.contains(q, autoescape=True))
        )
    return list(db.session.scalars(stmt.order_by(Dispute.id.desc()).limit(limit)))


def link_finding(user: User, finding: SweepFinding, case_no: str) -> SweepFinding:
    """Link an open finding to an existing case the user can see (by 案号)."""
    refuse_unless_open(user, finding)
    case_no = (case_no or "").strip()
    if not case_no:
        raise ReportError("请选择或填写要关联的案号。", status=422, field="case_no")
    dispute = db.session.scalars(visible_disputes(user).where(Dispute.case_no == case_no)).first()
    if dispute is None:
        raise ReportError("未找到该案号的案件，或您无权查看该案件。", status=422, field="case_no")
    _resolve(user, finding, dispute=dispute, linked=True)
    return finding


def explain_finding(user: User, finding: SweepFinding, reason: str, note: str | None = None) -> SweepFinding:
    """Explain why an open finding needs no case (当场化解, 不属于纠纷, 重复上报, 其他 + a note)."""
    refuse_unless_open(user, finding)
    note = (note or "").strip() or None
    if reason not in EXPLAIN_REASONS:
        raise ReportError(f"说明原因应为：{'、'.join(EXPLAIN_REASONS)}。", status=422, field="reason")
    if reason == "其他" and not note:
        raise ReportError("选择“其他”时请写明原因。", status=422, field="note")
    finding.explained_reason, finding.explained_note = reason, note
    _resolve(user, finding)
    return finding


def _resolve(
    user: User, finding: SweepFinding, *, dispute: Dispute | None = None, linked: bool = False
) -> None:
    if dispute is not None:
        finding.dispute, finding.linked = dispute, linked
    finding.resolved_by_id, finding.resolved_at = user.id, utcnow()
    db.session.flush()


# ------------------------------------------------------------------------------ counts and the figure


def is_open_sql() -> ColumnElement[bool]:
    return and_(SweepFinding.dispute_id.is_(None), SweepFinding.explained_reason.is_(None))


def sweep_complete_sql() -> ColumnElement[bool]:
    """A sweep report is complete (闭环) when every dispute it found is listed as a finding and none
    of them is still open: ``found <= findings listed`` and no open finding. A zero report is."""
    listed = (
        select(func.count())
        .where(SweepFinding.screening_id == Screening.id)
        .correlate(Screening)
        .scalar_subquery()
    )
    open_one = exists().where(SweepFinding.screening_id == Screening.id, is_open_sql())
    return and_(Screening.found <= listed, ~open_one)


def sweep_counts(screening: Screening) -> dict:
    """found N, registered M (a case registered from it or linked), explained K, open, complete."""
    rows = screening.findings
    registered = sum(1 for f in rows if f.dispute_id is not None)
    explained = sum(1 for f in rows if f.explained_reason)
    open_ = len(rows) - registered - explained
    return {
        "found": screening.found,
        "listed": len(rows),
        "registered": registered,
        "explained": explained,
        "open": open_,
        "complete": open_ == 0 and screening.found <= len(rows),
    }


def _sweeps_in(node: Node, month: Month):
    return (
        select(Screening)
        .join(Node, Node.id == Screening.node_id)
        .where(
            Node.path.startswith(node.path, autoescape=True),
            Screening.reported_on >= month.first,
            Screening.reported_on <= month.last,
        )
    )


def sweep_closure(node: Node, month: Month) -> dict:
    """排查闭环率: over the sweep reports dated in M of the grids of N's subtree, those complete
    (:func:`sweep_complete_sql`). One query."""
    sub = _sweeps_in(node, month).subquery()
    complete = sweep_complete_sql()
    row = db.session.execute(
        select(func.count(), func.count().filter(complete))
        .select_from(Screening)
        .where(Screening.id.in_(select(sub.c.id)))
    ).one()
    total, closed = int(row[0]), int(row[1])
    return {"sweeps": total, "sweeps_complete": closed, "sweep_closure_rate": rate(closed, total)}


def sweeps_of(node: Node, month: Month, *, incomplete: bool = False, limit: int = 500) -> list[Screening]:
    """The drill-down of 排查闭环率: the sweep reports it counts (or only the incomplete ones)."""
    stmt = _sweeps_in(node, month)
    if incomplete:
        stmt = stmt.where(~sweep_complete_sql())
    return list(db.session.scalars(stmt.order_by(Screening.reported_on.desc(), Screening.id).limit(limit)))


# ------------------------------------------------------------------------------ overdue findings


def overdue_cutoff(today: date) -> date:
    """A finding of a sweep dated before this day is overdue while open."""
    return today - timedelta(days=current_app.config["SWEEP_REGISTER_DAYS"])


def overdue_findings(user: User, today: date | None = None, limit: int | None = 200) -> list[SweepFinding]:
    """The 综治中心's list: open findings past SWEEP_REGISTER_DAYS in the grids of its area."""
    today = today or clock.today()
    stmt = (
        select(SweepFinding)
        .join(Screening, Screening.id == SweepFinding.screening_id)
        .join(Node, Node.id == Screening.node_id)
        .where(is_open_sql(), Screening.reported_on < overdue_cutoff(today), node_scope(user))
        .order_by(Screening.reported_on, SweepFinding.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def responsible_centre_users(grid: Node) -> list[User]:
    """The users of the 综治中心 responsible for the grid: the nearest one on its path."""
    centres = centres_on_path(grid)
    return unit_users([centres[0].id]) if centres else []


def flag_overdue_findings(today: date, result: SweepResult) -> None:
    """Sweep step: each finding still open SWEEP_REGISTER_DAYS after its sweep is flagged to the
    综治中心 of the grid — once (``flagged_at``, and the notification key per finding)."""
    while True:
        rows = db.session.scalars(
            select(SweepFinding)
            .join(Screening, Screening.id == SweepFinding.screening_id)
            .where(
                is_open_sql(),
                SweepFinding.flagged_at.is_(None),
                Screening.reported_on < overdue_cutoff(today),
            )
            .order_by(SweepFinding.id)
            .limit(100)
            .with_for_update(of=SweepFinding, skip_locked=True)
        ).all()
        if not rows:
            db.session.commit()
            return
        for f in rows:
            s = f.screening
            notify(
                responsible_centre_users(s.node),
                kind=NotificationKind.SWEEP_OPEN,
                text=(
                    f"{s.node.name}{s.reported_on:%m月%d日}排查发现的纠纷「{f.description[:30]}」"
                    f"已超过{current_app.config['SWEEP_REGISTER_DAYS']}天未登记也未说明。"
                ),
                key=f"sweep-finding:{f.id}",
                link=app_path("reports.sweep_page", screening_id=s.id),
            )
            f.flagged_at = clock.now()
        db.session.commit()


def init_app(app) -> None:
    register_sweep_step(flag_overdue_findings)
