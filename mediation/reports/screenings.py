"""Sweep reports (排查): a grid's report of the disputes found (0 = 零报告), one row per grid, day
and user, so that a retry updates it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import can_see_node, node_scope
from mediation.accounts.models import User
from mediation.common.enums import NodeLevel
from mediation.common.time import local_today, utcnow
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.reports.common import ReportError
from mediation.reports.models import Screening


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
