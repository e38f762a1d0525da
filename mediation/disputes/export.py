"""The Excel export of a filtered case list: the rows of ``service.filtered_disputes`` (the very
filters and order of the list page and the API), written through the one safe writer
(``common.spreadsheet``), with ID numbers shown as the user sees them on screen
(``service.shown_id_number``)."""

from __future__ import annotations

import io

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.common.spreadsheet import write_only_row
from mediation.common.time import local_today
from mediation.disputes import service
from mediation.disputes.models import Dispute, Party
from mediation.disputes.workflow import stage_of
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing.deadlines import warning_level

HEADERS = (
    "案号",
    "登记日期",
    "属地",
    "类别",
    "来源",
    "风险等级",
    "办理阶段",
    "渠道",
    "承办单位",
    "受理日期",
    "期限",
    "期限预警",
    "办结日期",
    "结果",
    "当事人",
    "证件号码",
    "简要情况",
)
DEFAULT_MAX_ROWS = 10_000
BATCH = 500


class ExportTooLarge(Exception):
    def __init__(self, total: int, limit: int) -> None:
        self.message = f"筛选结果共{total}件，超过一次导出的上限{limit}件，请缩小筛选范围后再导出。"
        super().__init__(self.message)


def _rows(user: User, args: dict):
    today = local_today()
    stmt = service.filtered_disputes(user, args, today)
    if stmt is None:
        return
    limit = int(current_app.config.get("CASE_LIST_EXPORT_MAX_ROWS") or DEFAULT_MAX_ROWS)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if total > limit:
        raise ExportTooLarge(total, limit)
    ids = list(db.session.scalars(stmt.with_only_columns(Dispute.id)))
    units = dict(db.session.execute(select(Unit.id, Unit.name)).all())
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        cases = {d.id: d for d in db.session.scalars(select(Dispute).where(Dispute.id.in_(chunk)))}
        nodes = dict(
            db.session.execute(
                select(Node.id, Node.name).where(Node.id.in_({d.node_id for d in cases.values()}))
            ).all()
        )
        parties: dict[int, list[Party]] = {}
        for p in db.session.scalars(
            select(Party)
            .where(Party.dispute_id.in_(chunk))
            .order_by(Party.dispute_id, Party.position, Party.id)
        ):
            parties.setdefault(p.dispute_id, []).append(p)
        for dispute_id in chunk:
            d = cases[dispute_id]
            people = parties.get(d.id, [])
            yield (
                d.case_no,
                d.registered_on,
                nodes.get(d.node_id, ""),
                d.category,
                d.source,
                d.risk_level,
                stage_of(d).value,
                d.channel or "",
                units.get(d.unit_id, "") if d.unit_id else "",
                d.accepted_on,
                d.deadline,
                warning_level(d, today) or "",
                d.closed_on,
                d.outcome or "",
                "、".join(f"{p.name}（{p.role}）" for p in people),
                "、".join(shown for p in people if (shown := service.shown_id_number(p, user))),
                d.summary,
            )


def case_list_workbook(user: User, args: dict) -> bytes:
    """The workbook's bytes. Raises ExportTooLarge beyond ``CASE_LIST_EXPORT_MAX_ROWS`` rows."""
    rows = _rows(user, args)
    first = next(rows, None)  # runs the count check before anything is written
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("纠纷列表")
    ws.append(write_only_row(ws, HEADERS))
    if first is not None:
        ws.append(write_only_row(ws, first))
        for row in rows:
            ws.append(write_only_row(ws, row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
