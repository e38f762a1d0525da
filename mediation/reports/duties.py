"""督办 and 回访 as scorecard figures (考核): the universes and conditions behind 督办按期回复率 and
回访完成率 (definitions in mediation/reports/README.md, "考核"). Both count **cases**, as the
满意率 does, so that the case list's drill-down lists exactly what a figure counts:

- 督办 (``supervision_due`` / ``supervision_on_time``): the cases of N's subtree with a 督办
  (``SupervisionOrder``) whose reply date (``reply_by``) falls in the period; on time when every such
  order was answered (``replied_at``, its Shanghai date) on or before its reply date;
- 回访 (``followup_due`` / ``followup_done``): the cases of N's subtree with a 回访 (``FollowUp``, not
  cancelled) due (``due_on``) in the period; done when none of those is still 待办.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, and_, exists, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from mediation.disputes.models import Dispute
from mediation.followups.models import FollowUp, FollowUpStatus, SupervisionOrder
from mediation.reports.sql import lit


class shanghai_date(FunctionElement):
    """The Shanghai calendar date of a stored (naive UTC) timestamp: UTC+8, no daylight saving."""

    type = Date()
    inherit_cache = True
    name = "shanghai_date"


@compiles(shanghai_date)
def _shanghai_date_default(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '8 hours') AS DATE)"


@compiles(shanghai_date, "sqlite")
def _shanghai_date_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


def _orders_due(s: date, e: date):
    return and_(SupervisionOrder.reply_by >= lit(s), SupervisionOrder.reply_by <= lit(e))


def supervised_in(s: date, e: date):
    """The universe of 督办按期回复率: the case has a 督办 whose reply date is in [s, e]."""
    return Dispute.id.in_(select(SupervisionOrder.dispute_id).where(_orders_due(s, e)))


def supervision_on_time(s: date, e: date):
    """Every 督办 of the case due in [s, e] was answered on or before its reply date (Shanghai)."""
    late = or_(
        SupervisionOrder.replied_at.is_(None),
        shanghai_date(SupervisionOrder.replied_at) > SupervisionOrder.reply_by,
    )
    return ~exists().where(SupervisionOrder.dispute_id == Dispute.id, _orders_due(s, e), late)


def _followups_due(s: date, e: date):
    return and_(
        FollowUp.status != FollowUpStatus.CANCELLED.value,
        FollowUp.due_on >= lit(s),
        FollowUp.due_on <= lit(e),
    )


def followups_due_in(s: date, e: date):
    """The universe of 回访完成率: the case has a 回访 (not cancelled) due in [s, e]."""
    return Dispute.id.in_(select(FollowUp.dispute_id).where(_followups_due(s, e)))


def followups_done(s: date, e: date):
    """None of the case's 回访 due in [s, e] is still 待办."""
    return ~exists().where(
        FollowUp.dispute_id == Dispute.id,
        _followups_due(s, e),
        FollowUp.status == FollowUpStatus.OPEN.value,
    )
