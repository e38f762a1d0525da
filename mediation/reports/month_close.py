"""月清月结: carry-over reasons of open 突出问题, the close (a frozen snapshot submitted to the next
综治中心 up), what the upper level sees of its lower levels, and reopening with its consent.

Who may see and act on a close is written here once, as named predicates (``may_close``,
``may_see_close``, ``may_request_reopen``, ``may_decide_reopen``, ``may_work_on_closes``): the
service, the pages, the API and the worklist call them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from mediation import signals
from mediation.accounts.access import can_see_node, is_admin, is_center_user, predicate
from mediation.accounts.models import User
from mediation.common.enums import UnitType
from mediation.common.time import local_today, utcnow
from mediation.disputes.models import Dispute, register_event_label
from mediation.disputes.service import add_event
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.reports.common import Month, ReportError
from mediation.reports.figures import (
    COUNT_KEYS,
    FIGURE_KEYS,
    FIGURE_LABELS,
    channel_report,
    counts_by_node,
    figures_from_counts,
    grid_counts,
    monthly_from_counts,
    prominent_open_cases,
    shuangbai_from,
    split_children,
    sum_counts,
)
from mediation.reports.models import CarryOver, MonthClose, ReopenRequest
from mediation.reports.overdue import may_review

register_event_label("carried_over", "突出问题结转")


def center_unit_of(node: Node) -> Unit | None:
    return db.session.scalars(
        select(Unit).where(Unit.node_id == node.id, Unit.type == UnitType.CENTER).order_by(Unit.code)
    ).first()


def upper_center_node(node: Node) -> Node | None:
    """The node of the next 综治中心 up (attached to a strict ancestor)."""
    ids = [int(p) for p in node.path.strip("/").split("/") if p][:-1]
    if not ids:
        return None
    rows = db.session.scalars(select(Unit.node_id).where(Unit.node_id.in_(ids), Unit.type == UnitType.CENTER))
    candidates = set(rows)
    for node_id in reversed(ids):
        if node_id in candidates:
            return db.session.get(Node, node_id)
    return None


def lower_center_nodes(node: Node) -> list[Node]:
    """Nodes below whose next 综治中心 up is this node's: the levels that submit to it."""
    nodes = list(
        db.session.scalars(
            select(Node)
            .join(Unit, Unit.node_id == Node.id)
            .where(
                Unit.type == UnitType.CENTER,
                Node.path.startswith(node.path, autoescape=True),
                Node.id != node.id,
            )
            .distinct()
            .order_by(Node.path)
        )
    )
    center_ids = {n.id for n in nodes} | {node.id}
    out = []
    for n in nodes:
        ids = [int(p) for p in n.path.strip("/").split("/") if p][:-1]
        above = [i for i in ids if i in center_ids]
        if above and above[-1] == node.id:
            out.append(n)
    return out


@predicate
def may_close(user: User | None, node: Node) -> bool:
    """The 综治中心 of the node itself closes its month (admins and the CLI may too)."""
    if user is None or is_admin(user):
        return True
    return is_center_user(user) and user.unit.node_id == node.id


@predicate
def may_decide_reopen(user: User | None, close: MonthClose) -> bool:
    """The upper level (the 综治中心 the month was submitted to) consents; admins at the top."""
    if user is None:
        return False
    if is_admin(user):
        return True
    if not is_center_user(user) or close.submitted_to_id is None:
        return False
    return user.unit.node_id == close.submitted_to_id


@predicate
def may_request_reopen(user: User | None, close: MonthClose) -> bool:
    """The level that closed the month asks to reopen it (admins may too)."""
    return may_close(user, close.node)


@predicate
def may_see_node_closes(user: User, node: Node) -> bool:
    """The closes of a node are seen by its own 综治中心 and by whoever sees the node (the levels
    above it; admins everywhere)."""
    return may_close(user, node) or can_see_node(user, node)


@predicate
def may_see_close(user: User, close: MonthClose) -> bool:
    """A close is seen (and acted on) by those who see its node's closes and by the level it was
    submitted to; anyone else gets 404, so that another town's close is neither shown nor acted
    on, nor its existence revealed."""
    return may_see_node_closes(user, close.node) or may_decide_reopen(user, close)


@predicate
def may_work_on_closes(user: User) -> bool:
    """The close page and the carry-over reasons are 综治中心 work: its staff and admins, the same
    people as the overdue review's."""
    return may_review(user)


@predicate
def may_view_closes_of(user: User, node: Node) -> bool:
    """The close page and the API's list of a node's closes: 综治中心 work (``may_work_on_closes``)
    on a node whose closes the user sees. The one rule for both, so web and API agree."""
    return may_work_on_closes(user) and may_see_node_closes(user, node)


def active_close(node: Node, month: Month) -> MonthClose | None:
    return db.session.scalars(
        select(MonthClose)
        .where(
            MonthClose.node_id == node.id,
            MonthClose.month == month.key,
            MonthClose.status == MonthClose.CLOSED,
        )
        .order_by(MonthClose.seq.desc())
    ).first()


def close_history(node: Node, month: Month) -> list[MonthClose]:
    return list(
        db.session.scalars(
            select(MonthClose)
            .where(MonthClose.node_id == node.id, MonthClose.month == month.key)
            .order_by(MonthClose.seq)
        )
    )


def missing_reasons(node: Node, month: Month) -> list[dict]:
    return [c for c in prominent_open_cases(node, month) if not c["carry_over_reason"]]


def write_carry_over(user: User | None, dispute: Dispute, month: Month, reason: str) -> CarryOver:
    """Store the written carry-over reason of an open 突出问题: on the case, in the history of
    reasons, and as a timeline event."""
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ReportError("结转说明至少4个字。", status=422)
    if len(reason) > 2000:
        raise ReportError("结转说明不能超过2000字。", status=422)
    if not dispute.prominent:
        raise ReportError("只有突出问题需要填写结转说明。", status=422)
    e = month.last
    if dispute.registered_on > e or (dispute.closed_on is not None and dispute.closed_on <= e):
        raise ReportError(f"该案件在{month.label}末不是未办结案件，无需结转。", status=409)
    dispute.carry_over_reason = reason
    row = CarryOver(dispute=dispute, month=month.key, reason=reason, user=user)
    db.session.add(row)
    add_event(dispute, "carried_over", user, note=reason, data={"date": month.key})
    db.session.flush()
    return row


def build_snapshot(node: Node, month: Month) -> dict:
    """Every figure of the month for the node, as JSON: what the close freezes."""
    rows = counts_by_node(node, month)
    children, direct = split_children(node, rows)
    totals = sum_counts(list(rows.values()), [k for r in rows.values() for k in r if k != "node_id"])
    monthly = {"node": node.code, "node_name": node.name, "month": month.key, **monthly_from_counts(totals)}
    shuangbai = {
        "node": node.code,
        "node_name": node.name,
        "month": month.key,
        **shuangbai_from(totals, grid_counts(node, month)),
    }
    return {
        "monthly": monthly,
        "shuangbai": shuangbai,
        "channels": channel_report(node, month),
        "carry_over": prominent_open_cases(node, month),
        "children": children,
        "direct": direct,
    }


def close_month(user: User | None, node: Node, month: Month, today: date | None = None) -> MonthClose:
    """月清月结: freeze the month's figures as a snapshot and submit it to the next 综治中心 up.

    Refused (ReportError, with the cases) while an open 突出问题 lacks a carry-over reason."""
    today = today or local_today()
    if not may_close(user, node):
        raise ReportError("只有本级综治中心可以结账本月。", status=403)
    if month > Month.of(today):
        raise ReportError(f"{month.label}尚未开始，不能结账。", status=422)
    if active_close(node, month) is not None:
        raise ReportError(f"{node.name}{month.label}已结账并上报；如需修改，请申请重新打开。")
    missing = missing_reasons(node, month)
    if missing:
        listed = "、".join(c["case_no"] for c in missing[:50]) + ("等" if len(missing) > 50 else "")
        raise ReportError(f"以下{len(missing)}件突出问题尚未填写结转说明，不能结账：{listed}", cases=missing)
    seq = (
        db.session.scalar(
            select(func.max(MonthClose.seq)).where(
                MonthClose.node_id == node.id, MonthClose.month == month.key
            )
        )
        or 0
    ) + 1
    upper = upper_center_node(node)
    now = utcnow()
    close = MonthClose(
        node=node,
        month=month.key,
        seq=seq,
        status=MonthClose.CLOSED,
        snapshot=build_snapshot(node, month),
        closed_by=user,
        closed_by_name=user.name if user else "系统（命令行）",
        closed_at=now,
        submitted_to=upper,
        submitted_at=now,
    )
    db.session.add(close)
    db.session.flush()
    signals.month_closed.send(close, close=close)  # the upper 综治中心 is told (followups.notices)
    return close


def request_reopen(user: User, close: MonthClose, reason: str) -> ReopenRequest:
    if not may_request_reopen(user, close):
        raise ReportError("只有本级综治中心可以申请重新打开。", status=403)
    if not close.is_active:
        raise ReportError("该月已重新打开。")
    if any(r.status == ReopenRequest.PENDING for r in close.reopen_requests):
        raise ReportError("已有待审批的重新打开申请。")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ReportError("请写明重新打开的理由（至少4个字）。", status=422)
    req = ReopenRequest(month_close=close, reason=reason, requested_by=user, requested_by_name=user.name)
    db.session.add(req)
    db.session.flush()
    signals.reopen_requested.send(req, request=req)  # the upper 综治中心 is told (followups.notices)
    return req


def decide_reopen(user: User, req: ReopenRequest, approve: bool, note: str | None = None) -> ReopenRequest:
    """The upper level consents (the month reopens) or refuses; either way it stays on record."""
    if not may_decide_reopen(user, req.month_close):
        raise ReportError("只有上级综治中心可以审批重新打开。", status=403)
    if req.status != ReopenRequest.PENDING:
        raise ReportError("该申请已审批。")
    req.status = ReopenRequest.APPROVED if approve else ReopenRequest.REFUSED
    req.decided_by, req.decided_by_name, req.decided_at = user, user.name, utcnow()
    req.decision_note = (note or "").strip() or None
    if approve:
        req.month_close.status = MonthClose.REOPENED
        req.month_close.reopened_at = req.decided_at
    db.session.flush()
    return req


def pending_reopen_requests(user: User) -> list[ReopenRequest]:
    """Requests waiting for this user's consent."""
    stmt = select(ReopenRequest).join(MonthClose).where(ReopenRequest.status == ReopenRequest.PENDING)
    if not is_admin(user):
        stmt = stmt.where(MonthClose.submitted_to_id == user.unit.node_id)
    return list(db.session.scalars(stmt.order_by(ReopenRequest.requested_at)))


def compare(snapshot: dict, live: dict) -> list[dict]:
    """Snapshot against live figures, key by key (all cases, then 突出问题)."""
    out = []
    for scope, snap, now in (
        ("全部", snapshot, live),
        ("突出问题", snapshot.get("prominent") or {}, live.get("prominent") or {}),
    ):
        for key in FIGURE_KEYS:
            a, b = snap.get(key), now.get(key)
            diff = None if a is None or b is None else round(b - a, 4)
            out.append(
                {
                    "scope": scope,
                    "key": key,
                    "label": FIGURE_LABELS[key],
                    "snapshot": a,
                    "live": b,
                    "diff": diff,
                    "changed": a != b,
                }
            )
    return out


def submissions(node: Node, month: Month) -> dict:
    """The levels that submit to this node: who has submitted the month, and the roll-up of the
    submitted snapshots (counts summed, rates recomputed)."""
    rows = []
    submitted = []
    for child in lower_center_nodes(node):
        close = active_close(child, month)
        rows.append(
            {
                "node": child.code,
                "node_name": child.name,
                "level": child.level.value,
                "submitted": close is not None,
                "close": close,
                "closed_at": close.closed_at if close else None,
                "figures": (close.snapshot.get("monthly") if close else None),
            }
        )
        if close:
            submitted.append(close.snapshot.get("monthly") or {})
    keys = list(COUNT_KEYS)
    rollup = figures_from_counts(sum_counts(submitted, keys))
    rollup["prominent"] = figures_from_counts(sum_counts([s.get("prominent") or {} for s in submitted], keys))
    return {"rows": rows, "submitted": len(submitted), "total": len(rows), "rollup": rollup}
