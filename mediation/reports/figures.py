"""Report figures: 月清月结 with its drill-down and trend, 周报 (the same figures over an ISO week), the
year-on-year / month-on-month comparison by category, 双百, the channel table, and the named conditions
behind every figure (:data:`FIGURES`, :func:`figure_filter`) that the case list drills into.

Every figure is computed in the database with aggregate SQL (``count(*) FILTER (WHERE …)``, one or
a few queries per report); cases are never loaded into Python to be counted. The definitions are
those of INTERFACES.md "Report figures", for a node N (the node and its subtree, by 属地) and a
month M from ``s`` to ``e`` — or, for 周报, an ISO week from Monday ``s`` to Sunday ``e``
(:data:`~mediation.reports.common.Period`: the conditions only read ``s`` and ``e``):

- a case is *open on day d* when ``registered_on <= d`` and not (``closed_on <= d``);
- *in scope* (``carried_in + new``): registered on or before ``e`` and not closed before ``s``;
- ``closed`` counts cases closed in M that are in scope (``registered_on <= e``), so that
  ``carried_out == carried_in + new - closed`` holds whatever the data;
- *in 稳控 on e* (``stabilized``): open on ``e`` and ``stabilized_since <= e`` where
  ``stabilized_since`` is ``stabilized_on`` (the day the current or last 稳控 began; the workflow
  clears it on 恢复办理 and keeps it on 办结) and, for a case whose status is 稳控 but has no
  ``stabilized_on`` (imported from a ledger), its 受理日期, else its 登记日期. Only cases whose
  status is 稳控, or 已办结 (closed later while in 稳控), count: a case that resumed (恢复办理) no
  longer counts for the months it spent in 稳控 — the month-close snapshot keeps what was true when
  the month was closed;
- ``overdue``: open on ``e`` with a stored ``deadline`` before ``e`` (the workflow keeps
  ``deadline`` = the channel's time limit counted from 受理, extensions included).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, has_app_context
from sqlalchemy import and_, case, exists, func, or_, select, true

from mediation.common.enums import Channel, NodeLevel, Outcome, Status, Venue
from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.keypeople.models import CaseLeader
from mediation.reports.common import Month, Period, Week, node_names, parse_period, rate
from mediation.reports.duties import followups_done, followups_due_in, supervised_in, supervision_on_time
from mediation.reports.models import Screening
from mediation.reports.overdue import review_base
from mediation.reports.satisfaction import answered_in, satisfaction_report, satisfied
from mediation.reports.screenings import sweep_closure
from mediation.reports.sql import (
    built_once,
    in_subtree,
    lit,
    not_closed_by,
    open_on,
    report_rows,
    subtree_ids,
    unindexed,
    unindexed_condition,
)

COUNT_KEYS = ("carried_in", "new", "closed", "resolved", "stabilized", "carried_out", "overdue")
RATE_KEYS = ("clearance_rate", "resolution_rate")
FIGURE_KEYS = COUNT_KEYS + RATE_KEYS
FIGURE_LABELS = {
    "carried_in": "上月结转",
    "new": "本月新增",
    "closed": "本月办结",
    "resolved": "调解成功",
    "stabilized": "稳控",
    "carried_out": "结转下月",
    "overdue": "超期",
    "clearance_rate": "办结率",
    "resolution_rate": "化解成功率",
}
VENUE_KEYS = tuple(v.value for v in Venue) + ("未填",)
CHANNELS = tuple(c.value for c in Channel)
NO_CHANNEL = "未分流"
HANDLED_OUTCOMES = (Outcome.SUCCESS.value, Outcome.FAILURE.value)


def stabilized_since():
    """The day a case counts as 稳控 from (see the module docstring)."""
    return case(
        (
            Dispute.status == Status.STABILIZED,
            func.coalesce(Dispute.stabilized_on, Dispute.accepted_on, Dispute.registered_on),
        ),
        else_=Dispute.stabilized_on,
    )


# ---------------------------------------------------------------- the figures, one condition each
#
# Each figure of the report pages is ONE named SQL condition on ``Dispute``, *within* its universe:
# for the month figures the cases of N's subtree in scope for the month (:func:`in_scope`), for the
# overdue review the open cases of the subtree with a deadline (:func:`review_base`). The aggregate
# queries count ``count(*) FILTER (WHERE <condition>)`` over that universe; the case list's
# drill-down (:func:`figure_filter`) selects the universe AND the same condition — so a figure and
# its list cannot disagree. Each function takes the month's first and last day and the node.


def fig_carried_in(s: date, e: date, node: Node | None = None):
    """上月结转: registered before s (and, by the scope, not closed before s)."""
    return Dispute.registered_on < lit(s)


def fig_new(s: date, e: date, node: Node | None = None):
    """本月新增: registered in M."""
    return Dispute.registered_on >= lit(s)


def fig_in_scope(s: date, e: date, node: Node | None = None):
    """在办范围 (carried_in + new): the whole universe."""
    return true()


def fig_closed(s: date, e: date, node: Node | None = None):
    """本月办结: closed in M (the scope rules out closed before s)."""
    return Dispute.closed_on <= lit(e)


def fig_resolved(s: date, e: date, node: Node | None = None):
    """调解成功: closed in M with 调解成功."""
    return and_(fig_closed(s, e), Dispute.outcome == Outcome.SUCCESS)


def fig_handled(s: date, e: date, node: Node | None = None):
    """调处: closed in M after mediation (调解成功 or 调解不成功)."""
    return and_(fig_closed(s, e), Dispute.outcome.in_(HANDLED_OUTCOMES))


def fig_received(s: date, e: date, node: Node | None = None):
    """受理: 受理日期 in M."""
    return and_(Dispute.accepted_on >= lit(s), Dispute.accepted_on <= lit(e))


def fig_carried_out(s: date, e: date, node: Node | None = None):
    """结转下月: open at the end of M."""
    return not_closed_by(e)


def fig_stabilized(s: date, e: date, node: Node | None = None):
    """稳控: open at e and in 稳控 on e (see the module docstring)."""
    return and_(
        not_closed_by(e), Dispute.status.in_([Status.STABILIZED, Status.CLOSED]), stabilized_since() <= lit(e)
    )


def fig_overdue(s: date, e: date, node: Node | None = None):
    """超期 (月清月结): open at e with a deadline before e."""
    return and_(not_closed_by(e), Dispute.deadline < lit(e))


def fig_resolved_or_stabilized(s: date, e: date, node: Node | None = None):
    """调解成功 + 稳控 (双百's numerator): the two sets are disjoint (closed in M vs open at e)."""
    return or_(fig_resolved(s, e), fig_stabilized(s, e))


def fig_civil_to_criminal(s: date, e: date, node: Node | None = None):
    """民转刑: in scope and marked 民转刑."""
    return Dispute.civil_to_criminal.is_(True)


def fig_double_cases(s: date, e: date, node: Node | None = None):
    """属地属事: in scope with a 属事 (lead) unit."""
    return Dispute.unit_id.is_not(None)


def fig_double_resolved(s: date, e: date, node: Node | None = None):
    return and_(fig_double_cases(s, e), fig_resolved(s, e))


def fig_double_stabilized(s: date, e: date, node: Node | None = None):
    return and_(fig_double_cases(s, e), fig_stabilized(s, e))


def fig_double_resolved_or_stabilized(s: date, e: date, node: Node | None = None):
    return and_(fig_double_cases(s, e), fig_resolved_or_stabilized(s, e))


def fig_double_outside(s: date, e: date, node: Node | None = None):
    """属事 unit outside N's subtree."""
    return and_(
        fig_double_cases(s, e),
        ~Dispute.unit_id.in_(select(Unit.id).where(Unit.node_id.in_(subtree_ids(node)))),
    )


def fig_satisfaction_answered(s: date, e: date, node: Node | None = None):
    """满意度答复 (the 满意率's denominator): the whole universe — the cases with a satisfaction
    answer dated in M (reports/satisfaction.py)."""
    return true()


def fig_satisfied(s: date, e: date, node: Node | None = None):
    """满意: the deciding score of M (the party's own rating, else the staff 回访 score) is 4 or 5."""
    return satisfied(s, e)


def fig_closed_on_time(s: date, e: date, node: Node | None = None):
    """按期办结 (考核): closed in M on or before its deadline (a case without a deadline — never
    accepted — cannot be late)."""
    return and_(fig_closed(s, e), or_(Dispute.deadline.is_(None), Dispute.closed_on <= Dispute.deadline))


def fig_led(s: date, e: date, node: Node | None = None):
    """包案 (考核): in scope and taken on by a 包案领导 (a ``case_leader`` row, keypeople)."""
    return exists().where(CaseLeader.dispute_id == Dispute.id)


def fig_supervision_due(s: date, e: date, node: Node | None = None):
    """本期到期的督办 (考核): the whole universe — the cases with a 督办 due in M (reports/duties.py)."""
    return true()


def fig_supervision_on_time(s: date, e: date, node: Node | None = None):
    """按期回复督办: every 督办 of the case due in M answered by its reply date."""
    return supervision_on_time(s, e)


def fig_followup_due(s: date, e: date, node: Node | None = None):
    """本期应回访 (考核): the whole universe — the cases with a 回访 due in M (reports/duties.py)."""
    return true()


def fig_followup_done(s: date, e: date, node: Node | None = None):
    """回访已完成: none of the case's 回访 due in M is still 待办."""
    return followups_done(s, e)


@dataclass(frozen=True)
class Figure:
    """A figure that counts cases: its label, its condition and its universe ("month": the cases in
    scope for the month; "review": the overdue review's open cases with a deadline, as of today;
    "satisfaction": the cases with a satisfaction answer dated in the month)."""

    name: str
    label: str
    condition: object
    universe: str = "month"


FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure("carried_in", "上月结转", fig_carried_in),
        Figure("new", "本月新增", fig_new),
        Figure("in_scope", "在办范围（上月结转+本月新增）", fig_in_scope),
        Figure("closed", "本月办结", fig_closed),
        Figure("resolved", "调解成功", fig_resolved),
        Figure("handled", "调处（调解成功或不成功）", fig_handled),
        Figure("received", "本月受理", fig_received),
        Figure("stabilized", "月末稳控", fig_stabilized),
        Figure("carried_out", "结转下月", fig_carried_out),
        Figure("overdue", "超期（月末）", fig_overdue),
        Figure("resolved_or_stabilized", "调解成功或月末稳控", fig_resolved_or_stabilized),
        Figure("civil_to_criminal", "民转刑", fig_civil_to_criminal),
        Figure("double_cases", "已明确属事单位的在办案件", fig_double_cases),
        Figure("double_resolved", "双化解（本月调解成功）", fig_double_resolved),
        Figure("double_stabilized", "双稳控（月末稳控）", fig_double_stabilized),
        Figure("double_resolved_or_stabilized", "双化解或双稳控", fig_double_resolved_or_stabilized),
        Figure("double_outside", "属事单位不在本辖区", fig_double_outside),
        Figure("review", "超期审查（预警和超期）", None, universe="review"),
        Figure("satisfaction_answered", "满意度答复", fig_satisfaction_answered, universe="satisfaction"),
        Figure("satisfied", "满意（评分4–5分）", fig_satisfied, universe="satisfaction"),
        # 考核 (reports/scorecard.py)
        Figure("closed_on_time", "本月按期办结", fig_closed_on_time),
        Figure("led", "包案领导包案", fig_led),
        Figure("supervision_due", "本月到期的督办", fig_supervision_due, universe="supervision"),
        Figure("supervision_on_time", "督办按期回复", fig_supervision_on_time, universe="supervision"),
        Figure("followup_due", "本月应回访", fig_followup_due, universe="followup"),
        Figure("followup_done", "回访已完成", fig_followup_done, universe="followup"),
    )
}

# The universe of each kind of figure within the node's subtree, for the period [s, e] ("review" is
# the overdue review's, as of today: see figure_filter).
UNIVERSES = {
    "month": lambda s, e: in_scope(s, e),
    "satisfaction": answered_in,
    "supervision": supervised_in,
    "followup": followups_due_in,
}

# Rates link to their numerator list; their denominator is a figure too.
RATE_PARTS = {
    "clearance_rate": ("closed", "in_scope"),
    "resolution_rate": ("resolved", "closed"),
    "resolve_or_stabilize_rate": ("resolved_or_stabilized", "in_scope"),
    "success_rate": ("resolved", "handled"),
    "double_rate": ("double_resolved_or_stabilized", "double_cases"),
    "satisfaction_rate": ("satisfied", "satisfaction_answered"),
    "on_time_rate": ("closed_on_time", "closed"),
    "supervision_rate": ("supervision_on_time", "supervision_due"),
    "followup_rate": ("followup_done", "followup_due"),
}


def figure_conditions(s: date, e: date) -> dict:
    """The SQL condition of each count of INTERFACES.md for the month [s, e], *within*
    :func:`in_scope` (every query using them filters on it: registered on or before ``e`` and not
    closed before ``s``), which lets each condition drop what the scope already implies."""
    return {key: FIGURES[key].condition(s, e) for key in COUNT_KEYS}


def channel_condition(channel: str | None):
    """The rows of one line of the channel table: a channel, or 未分流 (no channel)."""
    if channel in (None, "", NO_CHANNEL):
        return Dispute.channel.is_(None)
    return Dispute.channel == Channel(channel)


def venue_condition(venue: str):
    """One bar of the 五进 breakdown: a 发现场所, or 未填 (none recorded)."""
    return Dispute.venue.is_(None) if venue == "未填" else Dispute.venue == Venue(venue)


def figure_filter(
    name: str,
    node: Node,
    period: Period | None = None,
    *,
    today: date | None = None,
    prominent: bool = False,
    direct: bool = False,
    channel: str | None = None,
    venue: str | None = None,
):
    """The WHERE clause of the cases behind a figure: the figure's universe for the node (its
    subtree, or with ``direct`` the node's own cases, the drill-down's 本级直属 row) AND the
    figure's condition — the very condition the aggregate counts. ``prominent`` narrows to 突出问题,
    ``channel`` to one line of the channel table (未分流 = no channel), ``venue`` to one 发现场所
    (未填 = none) of the 五进 breakdown. ``period`` is a month, or an ISO week for 周报 (the same
    conditions over Monday to Sunday). Raises KeyError for an unknown figure, ValueError when a
    month figure has no period."""
    figure = FIGURES[name]
    where = [Dispute.node_id == node.id] if direct else [in_subtree(node)]
    if figure.universe == "review":
        where += review_base(today or local_today())
    else:
        if period is None:
            raise ValueError("month")
        s, e = period.first, period.last
        where += [UNIVERSES[figure.universe](s, e), unindexed_condition(figure.condition(s, e, node))]
    if prominent:
        where.append(Dispute.prominent.is_(True))
    if channel is not None:
        where.append(channel_condition(channel))
    if venue is not None:
        where.append(venue_condition(venue))
    return and_(*where)


FIGURE_REPORT = {
    "review": ("reports.overdue", "超期审查"),
    "in_scope": ("reports.shuangbai", "双百行动"),
    "resolved_or_stabilized": ("reports.shuangbai", "双百行动"),
    **{
        k: ("reports.channels", "渠道统计")
        for k in (
            "received",
            "handled",
            "double_cases",
            "double_resolved",
            "double_stabilized",
            "double_resolved_or_stabilized",
            "double_outside",
        )
    },
}


def figure_title(
    name: str,
    node: Node,
    month: str | None,
    *,
    prominent: bool = False,
    direct: bool = False,
    channel: str | None = None,
    category: str | None = None,
    level: str | None = None,
    unit: str | None = None,
    venue: str | None = None,
    week: str | None = None,
    term: str | None = None,
    mediator: str | None = None,
) -> dict:
    """What a drill-down list is: 「海滨街道 · 2026年10月 · 本月办结 · 突出问题」 (a week's:
    「海滨街道 · 2026年第48周 · 本周办结」; a scorecard period's, ``term``: 「海滨街道 · 2026年第四季度 ·
    本期办结」; a 调解员's row of the scorecard, ``mediator``: 「… · 调解员张三」), and the report page it
    comes from (endpoint, label)."""
    figure = FIGURES[name]
    parts = [node.name + ("（本级直属）" if direct else "")]
    period = parse_period(month, week, term) if figure.universe != "review" else None
    if period is not None:
        parts.append(period.label)
    label = figure.label if period is None else period.words(figure.label)
    parts.append(label if not (figure.universe == "review" and level) else f"超期审查（{level}）")
    parts += [x for x in (channel, category, unit) if x]
    if mediator:
        parts.append("调解员" + mediator)
    if venue:
        parts.append("发现于" + venue if venue != "未填" else "未填发现场所")
    if prominent:
        parts.append("突出问题")
    endpoint, label = FIGURE_REPORT.get(name, ("reports.monthly", "月清月结"))
    if isinstance(period, Week):
        endpoint, label = "reports.weekly", "周报"
    elif (channel or category) and endpoint == "reports.monthly":
        endpoint, label = "reports.channels", "渠道统计"
    elif venue and endpoint == "reports.monthly":
        endpoint, label = "reports.shuangbai", "双百行动"
    out = {
        "title": " · ".join(parts),
        "endpoint": endpoint,
        "report": label,
        "node": node.code,
        "month": month if figure.universe != "review" and not isinstance(period, Week) else None,
        "week": period.key if isinstance(period, Week) else None,
        "period": None,
        "by": None,
    }
    if term and period is not None:
        # From the scorecard: back to the ranking the node is a row of (its parent's scorecard).
        parent = db.session.get(Node, node.parent_id) if node.parent_id else None
        out.update(endpoint="reports.scorecard", report="考核排名", month=None, week=None, period=period.key)
        out["node"] = (parent or node).code
        if mediator:  # a 调解员's row: back to the node's own scorecard by 调解员
            out.update(node=node.code, by="mediator")
    return out


def in_scope(s: date, e: date):
    """carried_in + new: registered on or before e and not closed before s."""
    return and_(unindexed(Dispute.registered_on) <= lit(e), not_closed_by(s - timedelta(days=1)))


# ------------------------------------------------------------------------------- 月清月结 figures


def figures_from_counts(counts: dict) -> dict:
    out = {k: int(counts.get(k) or 0) for k in COUNT_KEYS}
    out["carried_out"] = out["carried_in"] + out["new"] - out["closed"]
    out["clearance_rate"] = rate(out["closed"], out["carried_in"] + out["new"])
    out["resolution_rate"] = rate(out["resolved"], out["closed"])
    return out


def sum_counts(rows: list[dict], keys) -> dict:
    total: Counter = Counter()
    keys = set(keys)
    for row in rows:
        for k in keys:
            total[k] += row.get(k) or 0
    return dict(total)


def _count_columns(s: date, e: date) -> list:
    cond = figure_conditions(s, e)
    cols = []
    for key, c in cond.items():
        cols.append(func.count().filter(c).label(key))
        cols.append(func.count().filter(and_(Dispute.prominent.is_(True), c)).label("p_" + key))
    cols.append(func.count().filter(fig_civil_to_criminal(s, e)).label("civil_to_criminal"))
    for venue in VENUE_KEYS:
        cols.append(func.count().filter(and_(cond["new"], venue_condition(venue))).label("v_" + venue))
    return cols


def month_counts(node: Node, month: Period) -> dict:
    """One aggregate query: every count (all cases, 突出问题, 民转刑, by venue) of the subtree, for a
    month or an ISO week."""
    result = report_rows(_month_counts_stmt(node.path, month.first, month.last))
    return dict(zip(result.keys(), result.one(), strict=True))


@built_once
def _month_counts_stmt(path: str, s: date, e: date):
    return select(*_count_columns(s, e)).where(in_subtree(path), in_scope(s, e))


def counts_by_node(node: Node, month: Period) -> dict[int, dict]:
    """The same counts per 属地 node of the subtree that has cases in scope (one grouped query):
    drill-downs and totals are sums of these few rows. ``month`` may be an ISO week (周报)."""
    result = report_rows(_counts_by_node_stmt(node.path, month.first, month.last))
    keys = list(result.keys())
    return {row[0]: dict(zip(keys, row, strict=True)) for row in result.all()}


@built_once
def _counts_by_node_stmt(path: str, s: date, e: date):
    grouped = unindexed(Dispute.node_id)
    return (
        select(grouped.label("node_id"), *_count_columns(s, e))
        .where(in_subtree(path), in_scope(s, e))
        .group_by(grouped)
    )


def monthly_from_counts(counts: dict) -> dict:
    figures = figures_from_counts(counts)
    figures["prominent"] = figures_from_counts({k: counts.get("p_" + k) for k in COUNT_KEYS})
    return figures


def prominent_open_cases(node: Node, month: Month) -> list[dict]:
    """The 突出问题 open at the end of the month, with their written carry-over reasons."""
    return [
        {
            "id": id_,
            "case_no": case_no,
            "category": category,
            "status": str(status),
            "risk_level": str(risk_level),
            "registered_on": registered_on.isoformat(),
            "node": node_name,
            "carry_over_reason": (reason or "").strip() or None,
        }
        for id_, case_no, category, status, risk_level, registered_on, reason, node_name in report_rows(
            _prominent_open_stmt(node.path, month.last)
        ).all()
    ]


@built_once
def _prominent_open_stmt(path: str, e: date):
    # SQLite reads the cases open on e through the closed_on indexes (as the figures do), not all
    # 突出问题 of every month through the prominent index; PostgreSQL uses (prominent, closed_on).
    return (
        select(
            Dispute.id,
            Dispute.case_no,
            Dispute.category,
            Dispute.status,
            Dispute.risk_level,
            Dispute.registered_on,
            Dispute.carry_over_reason,
            Node.name.label("node_name"),
        )
        .join(Node, Node.id == Dispute.node_id)
        .where(in_subtree(path), unindexed(Dispute.prominent) == true(), open_on(e))
        .order_by(unindexed(Dispute.registered_on), Dispute.id)
    )


def monthly_report(node: Node, month: Month, *, cases: bool = True) -> dict:
    """The 月清月结 figures of INTERFACES.md for the node's subtree and the month."""
    report = {"node": node.code, "node_name": node.name, "month": month.key}
    report.update(monthly_from_counts(month_counts(node, month)))
    if cases:
        report["prominent_carry_over"] = prominent_open_cases(node, month)
    report["satisfaction"] = satisfaction_report(node, month)
    return report


def grid_counts(node: Node, month: Month) -> tuple[int, int]:
    """(grids in N, grids in N with at least one sweep report dated in M) — one query."""
    reported = exists().where(
        Screening.node_id == Node.id,
        Screening.reported_on >= month.first,
        Screening.reported_on <= month.last,
    )
    row = db.session.execute(
        select(func.count(), func.count().filter(reported)).where(
            Node.level == NodeLevel.GRID, Node.path.startswith(node.path, autoescape=True)
        )
    ).one()
    return int(row[0]), int(row[1])


def shuangbai_from(counts: dict, grids: tuple[int, int]) -> dict:
    total, reported = grids
    in_scope_n = int(counts.get("carried_in") or 0) + int(counts.get("new") or 0)
    resolved, stabilized = int(counts.get("resolved") or 0), int(counts.get("stabilized") or 0)
    return {
        "grids_total": total,
        "grids_reported": reported,
        "screening_rate": rate(reported, total),
        "in_scope": in_scope_n,
        "resolved": resolved,
        "stabilized": stabilized,
        "resolve_or_stabilize_rate": rate(resolved + stabilized, in_scope_n),
        "civil_to_criminal": int(counts.get("civil_to_criminal") or 0),
        "by_venue": {v: int(counts.get("v_" + v) or 0) for v in VENUE_KEYS},
    }


def shuangbai_report(node: Node, month: Month) -> dict:
    """The 双百 figures of INTERFACES.md."""
    report = {"node": node.code, "node_name": node.name, "month": month.key}
    report.update(shuangbai_from(month_counts(node, month), grid_counts(node, month)))
    report.update(sweep_closure(node, month))  # 排查闭环率 (a figure of sweep reports, not of cases)
    return report


def grids_not_reported(node: Node, month: Month, limit: int | None = None) -> list[dict]:
    """Grids of the subtree without any sweep report dated in the month, with their last report."""
    last = (
        select(func.max(Screening.reported_on))
        .where(Screening.node_id == Node.id)
        .correlate(Node)
        .scalar_subquery()
    )
    reported = exists().where(
        Screening.node_id == Node.id,
        Screening.reported_on >= month.first,
        Screening.reported_on <= month.last,
    )
    stmt = (
        select(Node.id, Node.code, Node.name, Node.path, last.label("last_report"))
        .where(Node.level == NodeLevel.GRID, Node.path.startswith(node.path, autoescape=True), ~reported)
        .order_by(Node.path)
    )
    if limit:
        stmt = stmt.limit(limit)
    rows = db.session.execute(stmt).all()
    names = node_names({int(p) for r in rows for p in r.path.strip("/").split("/") if p})
    depth = len(node.path.strip("/").split("/"))
    return [
        {
            "code": r.code,
            "name": r.name,
            "place": "/".join(names.get(int(p), "") for p in r.path.strip("/").split("/")[depth:]),
            "last_report": r.last_report.isoformat() if r.last_report else None,
        }
        for r in rows
    ]


# ------------------------------------------------------------------------------ drill-down, trend


def child_nodes(node: Node) -> list[Node]:
    return list(db.session.scalars(select(Node).where(Node.parent_id == node.id).order_by(Node.code)))


def split_children(node: Node, rows: dict[int, dict]) -> tuple[list[dict], dict]:
    children = child_nodes(node)
    by_child: dict[int, list[dict]] = {c.id: [] for c in children}
    own: list[dict] = []
    if rows:
        paths = dict(db.session.execute(select(Node.id, Node.path).where(Node.id.in_(list(rows)))).all())
        prefix_len = len(node.path)
        for node_id, counts in rows.items():
            rest = paths[node_id][prefix_len:].strip("/")
            if not rest:
                own.append(counts)
            else:
                by_child.setdefault(int(rest.split("/")[0]), []).append(counts)
    keys = {k for r in rows.values() for k in r if k != "node_id"}
    parents = (
        set(
            db.session.scalars(
                select(Node.parent_id).where(Node.parent_id.in_([c.id for c in children])).distinct()
            )
        )
        if children
        else set()
    )
    out = [
        {
            "node": c.code,
            "node_name": c.name,
            "level": c.level.value,
            "has_children": c.id in parents,
            **monthly_from_counts(sum_counts(by_child.get(c.id, []), keys)),
        }
        for c in children
    ]
    return out, monthly_from_counts(sum_counts(own, keys))


def period_figures(node: Node, period: Period) -> tuple[dict, dict]:
    """The 月清月结 figures of the node and its drill-down rows (children and 本级直属) for a month
    or an ISO week, from one grouped query."""
    rows = counts_by_node(node, period)
    children, direct = split_children(node, rows)
    keys = {k for r in rows.values() for k in r if k != "node_id"}
    return monthly_from_counts(sum_counts(list(rows.values()), keys)), {
        "children": children,
        "direct": direct,
    }


def monthly_page(node: Node, month: Month) -> dict:
    """Everything the 月清月结 page and its exports show, in four queries: the figures and the
    drill-down from one grouped query, the open 突出问题, the 12-month trend (indexes only) and the
    channel table."""
    totals, drill = period_figures(node, month)
    report = {
        "node": node.code,
        "node_name": node.name,
        "month": month.key,
        **totals,
        "prominent_carry_over": prominent_open_cases(node, month),
        "satisfaction": satisfaction_report(node, month),
    }
    return {
        "report": report,
        "drill": drill,
        "points": trend(node, month, report["carried_out"]),
        "channels": channel_report(node, month),
    }


def drill_down(node: Node, month: Month) -> dict:
    """The node's figures and one row per child node (from the same single grouped query)."""
    rows = counts_by_node(node, month)
    children, direct = split_children(node, rows)
    keys = {k for r in rows.values() for k in r if k != "node_id"}
    return {
        "children": children,
        "direct": direct,
        "total": monthly_from_counts(sum_counts(list(rows.values()), keys)),
    }


def trend(node: Node, month: Month, carried_out: int, months: int = 12) -> list[dict]:
    """new / closed / resolved / carried_in / carried_out for the ``months`` months ending with
    ``month``, whose ``carried_out`` (open at its end) the caller has from the month's figures.

    Two grouped queries that read only indexes ((registered_on, node_id) and (closed_on, node_id,
    outcome)): registrations and closings per day of the window. Walking back from the last month,
    carried_in = carried_out - new + closed, and a month's carried_in is the month before's
    carried_out."""
    window = [month.shift(i - months + 1) for i in range(months)]
    s0, e_last = window[0].first, window[-1].last
    index = {m.key: i for i, m in enumerate(window)}
    new, closed, resolved = [0] * months, [0] * months, [0] * months
    for day, n in db.session.execute(
        select(Dispute.registered_on, func.count())
        .where(in_subtree(node), Dispute.registered_on >= lit(s0), Dispute.registered_on <= lit(e_last))
        .group_by(Dispute.registered_on)
    ):
        new[index[Month.of(day).key]] += n
    for day, n, success in db.session.execute(
        select(Dispute.closed_on, func.count(), func.count().filter(Dispute.outcome == Outcome.SUCCESS))
        .where(in_subtree(node), Dispute.closed_on >= lit(s0), Dispute.closed_on <= lit(e_last))
        .group_by(Dispute.closed_on)
    ):
        i = index[Month.of(day).key]
        closed[i] += n
        resolved[i] += success
    out: list[dict] = []
    carried = carried_out
    for i in range(months - 1, -1, -1):
        carried_in = carried - new[i] + closed[i]
        out.append(
            {
                "month": window[i].key,
                "carried_in": carried_in,
                "new": new[i],
                "closed": closed[i],
                "resolved": resolved[i],
                "carried_out": carried,
            }
        )
        carried = carried_in
    return out[::-1]


# ------------------------------------------------------------------------------- channel table


def _channel_cols(s: date, e: date) -> list:
    """Counts of the channel table, within :func:`in_scope` (closed in M = closed_on <= e there)."""
    return [
        func.count().filter(FIGURES[key].condition(s, e)).label(key)
        for key in ("new", "received", "handled", "resolved", "closed")
    ]


def _channel_row(counts: dict) -> dict:
    row = {k: int(counts.get(k) or 0) for k in ("new", "received", "handled", "resolved", "closed")}
    row["success_rate"] = rate(row["resolved"], row["handled"])
    return row


CHANNEL_ROW_KEYS = ("new", "received", "handled", "resolved", "closed")


def channel_report(node: Node, month: Month) -> dict:
    """The table county reports publish, by channel and by category, with the 民转刑 count, the
    venue (五进) breakdown and 属地/属事 double resolution — one query grouped by channel and
    category; the tables are sums of its rows.

    received 受理 = 受理日期 in M; handled 调处 = closed in M after mediation (调解成功 or
    调解不成功); resolved 调处成功 = closed in M with 调解成功; success_rate = resolved / handled.
    Double resolution (属地属事双化解、双稳控): among the cases in scope whose 属地 is in N and that
    have a 属事 (lead) unit, so that both are answerable: ``resolved`` = resolved in M,
    ``stabilized`` = in 稳控 at the end of M, rate = (resolved + stabilized) / cases; ``outside``
    counts the cases whose 属事 unit sits outside N's subtree (a department above or elsewhere)."""
    s, e = month.first, month.last
    cond = figure_conditions(s, e)
    channel, category = unindexed(Dispute.channel), unindexed(Dispute.category)
    stmt = (
        select(
            channel.label("channel"),
            category.label("category"),
            *_channel_cols(s, e),
            *[
                func.count().filter(FIGURES["double_" + k].condition(s, e, node)).label("d_" + k)
                for k in ("cases", "resolved", "stabilized", "outside")
            ],
            func.count().filter(fig_civil_to_criminal(s, e)).label("civil_to_criminal"),
            *[func.count().filter(and_(cond["new"], venue_condition(v))).label("v_" + v) for v in VENUE_KEYS],
        )
        .where(in_subtree(node), in_scope(s, e))
        .group_by(channel, category)
    )
    rows = [dict(r._mapping) for r in db.session.execute(stmt)]
    keys = [k for k in (rows[0] if rows else {}) if k not in ("channel", "category")]
    by_channel: dict[str, list[dict]] = {}
    by_category: dict[str, list[dict]] = {}
    for r in rows:
        by_channel.setdefault(str(r["channel"]) if r["channel"] else NO_CHANNEL, []).append(r)
        by_category.setdefault(r["category"], []).append(r)
    channels = [{"channel": c, **_channel_row(sum_counts(by_channel.get(c, []), keys))} for c in CHANNELS]
    if by_channel.get(NO_CHANNEL):
        channels.append({"channel": NO_CHANNEL, **_channel_row(sum_counts(by_channel[NO_CHANNEL], keys))})
    names = category_order(by_category)
    categories = [{"category": c, **_channel_row(sum_counts(by_category[c], keys))} for c in names]
    total = sum_counts(rows, keys)
    double = {k: int(total.get("d_" + k) or 0) for k in ("cases", "resolved", "stabilized", "outside")}
    double["rate"] = rate(double["resolved"] + double["stabilized"], double["cases"])
    return {
        "node": node.code,
        "node_name": node.name,
        "month": month.key,
        "channels": channels,
        "channel_total": _channel_row(total),
        "categories": categories,
        "civil_to_criminal": int(total.get("civil_to_criminal") or 0),
        "by_venue": {v: int(total.get("v_" + v) or 0) for v in VENUE_KEYS},
        "double": double,
    }


# ---------------------------------------------------------------------------- 周报 (ISO weeks)


def weekly_report(node: Node, week: Week) -> dict:
    """周报: the 月清月结 figures of the node's subtree over an ISO week (Monday to Sunday, Shanghai
    dates) — the same conditions (:data:`FIGURES`) with ``s`` = Monday and ``e`` = Sunday, one query."""
    return {
        "node": node.code,
        "node_name": node.name,
        "week": week.key,
        "first": week.first.isoformat(),
        "last": week.last.isoformat(),
        **monthly_from_counts(month_counts(node, week)),
    }


def weekly_page(node: Node, week: Week) -> dict:
    """Everything the 周报 page and its export show: the figures and the drill-down (one grouped query)."""
    totals, drill = period_figures(node, week)
    report = {
        "node": node.code,
        "node_name": node.name,
        "week": week.key,
        "first": week.first.isoformat(),
        "last": week.last.isoformat(),
        **totals,
    }
    return {"report": report, "drill": drill}


# ------------------------------------------------------------- 同比 / 环比 by category (comparison)

# The figures compared, by category: 新增 (registered in the month) and 办结 (closed in the month),
# exactly the 月清月结 figures ``new`` and ``closed`` of the node's subtree (属地), so that each number
# links to its cases (figure_filter with the list's category filter).
COMPARED = ("new", "closed")
COMPARED_LABELS = {"new": "新增纠纷（按登记日期）", "closed": "办结纠纷（按办结日期）"}


def category_counts(node: Node, month: Month) -> dict[str, dict[str, int]]:
    """``new`` and ``closed`` per category of the subtree for one month — one grouped query."""
    s, e = month.first, month.last
    category = unindexed(Dispute.category)
    stmt = (
        select(
            category.label("category"),
            *[func.count().filter(FIGURES[key].condition(s, e)).label(key) for key in COMPARED],
        )
        .where(in_subtree(node), in_scope(s, e))
        .group_by(category)
    )
    return {r.category: {key: int(r._mapping[key]) for key in COMPARED} for r in db.session.execute(stmt)}


def change_rate(current: int, base: int) -> float | None:
    """(current - base) / base, rounded to 4 decimals; None ("—") when the base is 0."""
    return None if not base else round((current - base) / base, 4)


def compare_row(current: int, last_year: int, previous: int) -> dict:
    return {
        "current": current,
        "last_year": last_year,
        "previous": previous,
        "yoy_change": current - last_year,
        "yoy_rate": change_rate(current, last_year),
        "mom_change": current - previous,
        "mom_rate": change_rate(current, previous),
        "yoy_down": current < last_year,
    }


def category_order(names) -> list[str]:
    """Categories in the configured order (CATEGORIES), others after them by name."""
    order = list(current_app.config["CATEGORIES"]) if has_app_context() else []
    return [c for c in order if c in names] + sorted(c for c in names if c not in order)


def comparison_report(node: Node, month: Month) -> dict:
    """同比 (the same month a year before) and 环比 (the month before) by category, for 新增 and 办结
    (:data:`COMPARED`): per category the month's count, last year's, the previous month's, the
    changes and the rates of change (None when the base is 0), and 同比下降 (fewer than a year
    before); a total line. Three grouped queries, one per month."""
    months = {"current": month, "last_year": month.shift(-12), "previous": month.shift(-1)}
    counts = {k: category_counts(node, m) for k, m in months.items()}
    out: dict = {
        "node": node.code,
        "node_name": node.name,
        "month": month.key,
        "last_year_month": months["last_year"].key,
        "previous_month": months["previous"].key,
    }
    for key in COMPARED:
        per = {p: {c: v[key] for c, v in counts[p].items()} for p in months}
        names = category_order({c for p in months for c, n in per[p].items() if n})
        rows = [{"category": c, **compare_row(*(per[p].get(c, 0) for p in months))} for c in names]
        total = compare_row(*(sum(per[p].values()) for p in months))
        out[key] = {"label": COMPARED_LABELS[key], "rows": rows, "total": total}
    return out
