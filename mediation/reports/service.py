"""Report figures (月清月结, 双百, the channel table), the overdue review, sweep reports and the month
close. The rules, callable without a request.

Every figure is computed in the database with aggregate SQL (``count(*) FILTER (WHERE …)``, one or
a few queries per report); cases are never loaded into Python to be counted. The definitions are
those of INTERFACES.md "Report figures", for a node N (the node and its subtree, by 属地) and a
month M from ``s`` to ``e``:

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

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from flask import current_app, has_app_context
from marshmallow import ValidationError
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from mediation import signals
from mediation.accounts.access import can_see_node, is_center_user_or_admin, predicate
from mediation.accounts.models import User
from mediation.common.enums import Channel, NodeLevel, Outcome, RiskLevel, Role, Status, UnitType, Venue
from mediation.common.time import local_today, utcnow
from mediation.disputes.models import Dispute, register_event_label
from mediation.disputes.service import add_event
from mediation.extensions import db
from mediation.followups import service as followups_service
from mediation.followups.models import SupervisionLevel, SupervisionOrder
from mediation.geo.models import Node, Unit
from mediation.reports.models import (
    CarryOver,
    MonthClose,
    ReopenRequest,
    Screening,
)
from mediation.routing.deadlines import DEFAULT_WARNING_RATIO, NORMAL, OVERDUE, WARNING, level_for

register_event_label("carried_over", "突出问题结转")

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
RISK_RANK = {
    RiskLevel.ORDINARY.value: 0,
    RiskLevel.MAJOR.value: 1,
    RiskLevel.SERIOUS.value: 2,
    RiskLevel.EXTREME.value: 3,
}
HANDLED_OUTCOMES = (Outcome.SUCCESS.value, Outcome.FAILURE.value)


class ReportError(Exception):
    """A refusal with a Chinese message (and, for the month close, the cases concerned)."""

    def __init__(
        self, message: str, cases: list[dict] | None = None, status: int = 409, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.cases, self.status, self.field = message, cases or [], status, field


# ------------------------------------------------------------------------------------------ months

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match((text or "").strip())
        if not match or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 2999:
            raise ValueError("月份格式应为 YYYY-MM，例如 2026-10。")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.shift(1).first - timedelta(days=1)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def __str__(self) -> str:
        return self.key


def rate(numerator: int, denominator: int) -> float | None:
    """A rate between 0 and 1 with at most 4 decimals; None when the denominator is 0."""
    return None if not denominator else round(numerator / denominator, 4)


# ------------------------------------------------------------------------------------- SQL pieces


class day_number(FunctionElement):
    """A date as a whole number of days, so that SQL can subtract dates on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(day_number)
def _day_number_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - DATE '2000-01-01')"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw):
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) AS INTEGER)"


class unindexed(FunctionElement):
    """A column SQLite must not pick an index for (``+col``, SQLite's documented way). The figures
    read the cases not closed before a day through the closed_on indexes; a plan through the 属地
    or registration index instead would visit a whole subtree's history row by row. PostgreSQL's
    planner weighs both by their statistics, so the column is left as it is there."""

    inherit_cache = True
    name = "unindexed"


@compiles(unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"(+{compiler.process(element.clauses, **kw)})"


class unindexed_condition(FunctionElement):
    """A condition SQLite must not read through an index (``(cond) IS 1``, true exactly when the
    condition is): the drill-down lists select a figure's cases through the universe's closed_on
    indexes, as the aggregates do, rather than through the registration or status index, which
    would visit a whole subtree's history. Left as it is on PostgreSQL."""

    type = Boolean()
    inherit_cache = True
    name = "unindexed_condition"


@compiles(unindexed_condition)
def _unindexed_condition_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(unindexed_condition, "sqlite")
def _unindexed_condition_sqlite(element, compiler, **kw):
    return f"(({compiler.process(element.clauses, **kw)}) IS 1)"


def lit(day: date):
    """A date written into the SQL instead of sent as a parameter (see :func:`subtree_ids`): a
    generic plan of a prepared statement would guess the share of cases before or after it."""
    return literal(day, Date, literal_execute=True)


def subtree_ids(node: Node):
    """Ids of the node and its subtree (``accounts.access.subtree_node_ids``, the same path prefix),
    with the prefix written into the SQL rather than sent as a parameter: PostgreSQL plans a
    prepared statement generically after a few runs (psycopg prepares automatically), and a generic
    plan cannot tell a whole district's prefix from a grid's — it guessed two nodes and walked the
    属地 index for each of 489. Paths hold digits and slashes only, so nothing needs escaping."""
    prefix = bindparam("subtree_prefix", node.path + "%", literal_execute=True)
    return select(Node.id).where(Node.path.like(prefix))


def in_subtree(node: Node):
    """Disputes whose 属地 is the node or below it."""
    return unindexed(Dispute.node_id).in_(subtree_ids(node))


def not_closed_by(day: date):
    """Not closed on or before ``day``. Written as an OR on ``closed_on`` so that both engines
    read it from the closed_on indexes (SQLite: MULTI-INDEX OR; PostgreSQL: BitmapOr)."""
    return or_(Dispute.closed_on.is_(None), Dispute.closed_on > lit(day))


def open_on(day: date):
    return and_(unindexed(Dispute.registered_on) <= lit(day), not_closed_by(day))


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


@dataclass(frozen=True)
class Figure:
    """A figure that counts cases: its label, its condition and its universe ("month": the cases in
    scope for the month; "review": the overdue review's open cases with a deadline, as of today)."""

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
    )
}

# Rates link to their numerator list; their denominator is a figure too.
RATE_PARTS = {
    "clearance_rate": ("closed", "in_scope"),
    "resolution_rate": ("resolved", "closed"),
    "resolve_or_stabilize_rate": ("resolved_or_stabilized", "in_scope"),
    "success_rate": ("resolved", "handled"),
    "double_rate": ("double_resolved_or_stabilized", "double_cases"),
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
    month: Month | None = None,
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
    (未填 = none) of the 五进 breakdown. Raises KeyError for an
    unknown figure, ValueError when a month figure has no month."""
    figure = FIGURES[name]
    where = [Dispute.node_id == node.id] if direct else [in_subtree(node)]
    if figure.universe == "review":
        where += review_base(today or local_today())
    else:
        if month is None:
            raise ValueError("month")
        s, e = month.first, month.last
        where += [in_scope(s, e), unindexed_condition(figure.condition(s, e, node))]
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
) -> dict:
    """What a drill-down list is: 「海滨街道 · 2026年10月 · 本月办结 · 突出问题」, and the report page
    it comes from (endpoint, label)."""
    figure = FIGURES[name]
    parts = [node.name + ("（本级直属）" if direct else "")]
    if figure.universe == "month" and month:
        parts.append(Month.parse(month).label)
    parts.append(figure.label if not (figure.universe == "review" and level) else f"超期审查（{level}）")
    parts += [x for x in (channel, category, unit) if x]
    if venue:
        parts.append("发现于" + venue if venue != "未填" else "未填发现场所")
    if prominent:
        parts.append("突出问题")
    endpoint, label = FIGURE_REPORT.get(name, ("reports.monthly", "月清月结"))
    if (channel or category) and endpoint == "reports.monthly":
        endpoint, label = "reports.channels", "渠道统计"
    elif venue and endpoint == "reports.monthly":
        endpoint, label = "reports.shuangbai", "双百行动"
    return {
        "title": " · ".join(parts),
        "endpoint": endpoint,
        "report": label,
        "node": node.code,
        "month": month if figure.universe == "month" else None,
    }


def in_scope(s: date, e: date):
    """carried_in + new: registered on or before e and not closed before s."""
    return and_(unindexed(Dispute.registered_on) <= lit(e), not_closed_by(s - timedelta(days=1)))


def warning_ratio() -> Fraction:
    value = DEFAULT_WARNING_RATIO
    if has_app_context():
        value = current_app.config.get("DEADLINE_WARNING_RATIO", DEFAULT_WARNING_RATIO)
    return Fraction(str(value)).limit_denominator(1000)


def deadline_level_sql(today: date):
    """The warning level of a case as SQL: 超期 after the deadline day, 预警 when at least the
    configured share (80%) of the time from 受理 to the deadline is used, else 正常; NULL without
    a deadline. The same rule as ``routing.deadlines.level_for``, computed with whole numbers (the
    ratio as a fraction) so that 24 of 30 days is exactly 80%."""
    ratio = warning_ratio()
    t = day_number(lit(today))
    a = day_number(Dispute.accepted_on)
    d = day_number(Dispute.deadline)
    return case(
        (Dispute.deadline.is_(None), None),
        (Dispute.deadline < lit(today), OVERDUE),
        (Dispute.accepted_on.is_(None), NORMAL),
        (d - a <= 0, WARNING),
        ((t - a) * ratio.denominator >= (d - a) * ratio.numerator, WARNING),
        else_=NORMAL,
    )


def risk_rank_sql():
    return case(RISK_RANK, value=Dispute.risk_level, else_=0)


# ------------------------------------------------------------------------------- 月清月结 figures


def _figures(counts: dict) -> dict:
    out = {k: int(counts.get(k) or 0) for k in COUNT_KEYS}
    out["carried_out"] = out["carried_in"] + out["new"] - out["closed"]
    out["clearance_rate"] = rate(out["closed"], out["carried_in"] + out["new"])
    out["resolution_rate"] = rate(out["resolved"], out["closed"])
    return out


def _sum(rows: list[dict], keys) -> dict:
    total: Counter = Counter()
    keys = set(keys)
    for row in rows:
        for k in keys:
            total[k] += row.get(k) or 0
    return dict(total)


def _count_columns(month: Month) -> list:
    s, e = month.first, month.last
    cond = figure_conditions(s, e)
    cols = []
    for key, c in cond.items():
        cols.append(func.count().filter(c).label(key))
        cols.append(func.count().filter(and_(Dispute.prominent.is_(True), c)).label("p_" + key))
    cols.append(func.count().filter(fig_civil_to_criminal(s, e)).label("civil_to_criminal"))
    for venue in VENUE_KEYS:
        cols.append(func.count().filter(and_(cond["new"], venue_condition(venue))).label("v_" + venue))
    return cols


def month_counts(node: Node, month: Month) -> dict:
    """One aggregate query: every count (all cases, 突出问题, 民转刑, by venue) of the subtree."""
    stmt = select(*_count_columns(month)).where(in_subtree(node), in_scope(month.first, month.last))
    return dict(db.session.execute(stmt).one()._mapping)


def counts_by_node(node: Node, month: Month) -> dict[int, dict]:
    """The same counts per 属地 node of the subtree that has cases in scope (one grouped query):
    drill-downs and totals are sums of these few rows."""
    grouped = unindexed(Dispute.node_id)
    stmt = (
        select(grouped.label("node_id"), *_count_columns(month))
        .where(in_subtree(node), in_scope(month.first, month.last))
        .group_by(grouped)
    )
    return {row.node_id: dict(row._mapping) for row in db.session.execute(stmt)}


def _monthly_from_counts(counts: dict) -> dict:
    figures = _figures(counts)
    figures["prominent"] = _figures({k: counts.get("p_" + k) for k in COUNT_KEYS})
    return figures


def prominent_open_cases(node: Node, month: Month) -> list[dict]:
    """The 突出问题 open at the end of the month, with their written carry-over reasons."""
    e = month.last
    stmt = (
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
        .where(in_subtree(node), Dispute.prominent == true(), open_on(e))
        .order_by(unindexed(Dispute.registered_on), Dispute.id)
    )
    return [
        {
            "id": r.id,
            "case_no": r.case_no,
            "category": r.category,
            "status": str(r.status),
            "risk_level": str(r.risk_level),
            "registered_on": r.registered_on.isoformat(),
            "node": r.node_name,
            "carry_over_reason": (r.carry_over_reason or "").strip() or None,
        }
        for r in db.session.execute(stmt)
    ]


def monthly_report(node: Node, month: Month, *, cases: bool = True) -> dict:
    """The 月清月结 figures of INTERFACES.md for the node's subtree and the month."""
    report = {"node": node.code, "node_name": node.name, "month": month.key}
    report.update(_monthly_from_counts(month_counts(node, month)))
    if cases:
        report["prominent_carry_over"] = prominent_open_cases(node, month)
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


def _shuangbai_from(counts: dict, grids: tuple[int, int]) -> dict:
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
    report.update(_shuangbai_from(month_counts(node, month), grid_counts(node, month)))
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


def node_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Node.id, Node.name).where(Node.id.in_(ids))).all())


# ------------------------------------------------------------------------------ drill-down, trend


def child_nodes(node: Node) -> list[Node]:
    return list(db.session.scalars(select(Node).where(Node.parent_id == node.id).order_by(Node.code)))


def _split_children(node: Node, rows: dict[int, dict]) -> tuple[list[dict], dict]:
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
            **_monthly_from_counts(_sum(by_child.get(c.id, []), keys)),
        }
        for c in children
    ]
    return out, _monthly_from_counts(_sum(own, keys))


def monthly_page(node: Node, month: Month) -> dict:
    """Everything the 月清月结 page and its exports show, in four queries: the figures and the
    drill-down from one grouped query, the open 突出问题, the 12-month trend (indexes only) and the
    channel table."""
    rows = counts_by_node(node, month)
    children, direct = _split_children(node, rows)
    keys = {k for r in rows.values() for k in r if k != "node_id"}
    report = {
        "node": node.code,
        "node_name": node.name,
        "month": month.key,
        **_monthly_from_counts(_sum(list(rows.values()), keys)),
        "prominent_carry_over": prominent_open_cases(node, month),
    }
    return {
        "report": report,
        "drill": {"children": children, "direct": direct},
        "points": trend(node, month, report["carried_out"]),
        "channels": channel_report(node, month),
    }


def drill_down(node: Node, month: Month) -> dict:
    """The node's figures and one row per child node (from the same single grouped query)."""
    rows = counts_by_node(node, month)
    children, direct = _split_children(node, rows)
    keys = {k for r in rows.values() for k in r if k != "node_id"}
    return {
        "children": children,
        "direct": direct,
        "total": _monthly_from_counts(_sum(list(rows.values()), keys)),
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
    channels = [{"channel": c, **_channel_row(_sum(by_channel.get(c, []), keys))} for c in CHANNELS]
    if by_channel.get(NO_CHANNEL):
        channels.append({"channel": NO_CHANNEL, **_channel_row(_sum(by_channel[NO_CHANNEL], keys))})
    order = list(current_app.config["CATEGORIES"]) if has_app_context() else []
    names = [c for c in order if c in by_category] + sorted(c for c in by_category if c not in order)
    categories = [{"category": c, **_channel_row(_sum(by_category[c], keys))} for c in names]
    total = _sum(rows, keys)
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


# --------------------------------------------------------------------------------- sweep reports


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
    from mediation.accounts.access import node_scope

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


# ------------------------------------------------------------------------------ overdue review


@predicate
def may_review(user: User) -> bool:
    """The overdue review (超期预警排名, its 督办 list): 综治中心 staff and admins."""
    return is_center_user_or_admin(user)


def review_base(today: date) -> list:
    """The overdue review's cases (within a subtree): open, with a deadline, in 预警 or 超期 today.
    The league counts 超期 (deadline before today) and 预警 among them; the case list's drill-down
    (figure ``review``) selects them, narrowed by the list's 期限 (level) and 承办单位 filters."""
    return [
        Dispute.closed_on.is_(None),
        Dispute.status != Status.CLOSED,
        Dispute.deadline.is_not(None),
        deadline_level_sql(today).in_([WARNING, OVERDUE]),
    ]


def overdue_review(
    node: Node,
    today: date | None = None,
    *,
    unit_id: int | None = None,
    level: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict:
    """Open cases of the subtree in 预警 or 超期, riskiest and longest overdue first; the counts
    per level and the per-unit league. Two queries: one page of cases (names joined to its rows
    only) and the league grouped by lead unit, whose sums are the counts."""
    today = today or local_today()
    lvl = deadline_level_sql(today).label("level")
    overdue_days = (day_number(lit(today)) - day_number(Dispute.deadline)).label("days_overdue")
    base = [in_subtree(node), *review_base(today)]
    filtered = list(base)
    if unit_id is not None:
        filtered.append(Dispute.unit_id == unit_id)
    if level in (WARNING, OVERDUE):
        filtered.append(deadline_level_sql(today) == level)

    # The page first, from the dispute table alone; names are joined to its rows only.
    rank = risk_rank_sql().label("rank")
    page_rows = (
        select(
            Dispute.id,
            Dispute.case_no,
            Dispute.category,
            Dispute.risk_level,
            Dispute.prominent,
            Dispute.status,
            Dispute.accepted_on,
            Dispute.deadline,
            Dispute.channel,
            Dispute.unit_id,
            Dispute.node_id,
            lvl,
            overdue_days,
            rank,
        )
        .where(*filtered)
        .order_by(rank.desc(), Dispute.prominent.desc(), overdue_days.desc(), Dispute.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).subquery()
    supervisions = (
        select(func.count())
        .where(SupervisionOrder.dispute_id == page_rows.c.id)
        .correlate(page_rows)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            page_rows,
            Unit.name.label("unit_name"),
            Unit.code.label("unit_code"),
            Node.name.label("node_name"),
            supervisions.label("supervisions"),
        )
        .join(Node, Node.id == page_rows.c.node_id)
        .outerjoin(Unit, Unit.id == page_rows.c.unit_id)
        .order_by(
            page_rows.c.rank.desc(),
            page_rows.c.prominent.desc(),
            page_rows.c.days_overdue.desc(),
            page_rows.c.id,
        )
    ).all()
    items = [
        {
            "id": r.id,
            "case_no": r.case_no,
            "category": r.category,
            "risk_level": str(r.risk_level),
            "prominent": bool(r.prominent),
            "status": str(r.status),
            "channel": str(r.channel) if r.channel else None,
            "accepted_on": r.accepted_on.isoformat() if r.accepted_on else None,
            "deadline": r.deadline.isoformat(),
            "level": r.level,
            "days_overdue": int(r.days_overdue),
            "unit": r.unit_code,
            "unit_name": r.unit_name or "（未分流）",
            "node_name": r.node_name,
            "supervisions": int(r.supervisions or 0),
        }
        for r in rows
    ]

    league_rows = db.session.execute(
        select(
            Dispute.unit_id,
            func.count().filter(Dispute.deadline < lit(today)).label("overdue"),
            func.count().filter(Dispute.deadline >= lit(today)).label("warning"),
        )
        .where(*base)
        .group_by(Dispute.unit_id)
    ).all()
    units = {
        u.id: u
        for u in db.session.execute(
            select(Unit.id, Unit.code, Unit.name).where(
                Unit.id.in_([r.unit_id for r in league_rows if r.unit_id is not None])
            )
        )
    }
    league = [
        {
            "unit_id": r.unit_id,
            "unit": units[r.unit_id].code if r.unit_id in units else None,
            "unit_name": units[r.unit_id].name if r.unit_id in units else "（未分流）",
            "overdue": int(r.overdue),
            "warning": int(r.warning),
        }
        for r in league_rows
    ]
    league.sort(key=lambda row: (-row["overdue"], -row["warning"], row["unit"] or "~"))
    # The counts of the (filtered) list follow from the league.
    shown = [row for row in league if unit_id is None or row["unit_id"] == unit_id]
    counts = {
        OVERDUE: sum(row["overdue"] for row in shown) if level in (None, OVERDUE) else 0,
        WARNING: sum(row["warning"] for row in shown) if level in (None, WARNING) else 0,
    }
    total = counts[OVERDUE] + counts[WARNING]
    return {
        "node": node.code,
        "node_name": node.name,
        "today": today.isoformat(),
        "overdue": int(counts.get(OVERDUE, 0)),
        "warning": int(counts.get(WARNING, 0)),
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": (total + per_page - 1) // per_page,
        "items": items,
        "league": league,
    }


def may_supervise(user: User) -> bool:
    """督办 is issued by a 综治中心 (the follow-ups rule)."""
    return followups_service.may_issue_supervision(user)


def default_reply_by(today: date | None = None) -> date:
    """The reply date of a one-click 督办: ``OVERDUE_SUPERVISION_REPLY_DAYS`` (3) days from today."""
    days = current_app.config.get("OVERDUE_SUPERVISION_REPLY_DAYS", 3) if has_app_context() else 3
    return (today or local_today()) + timedelta(days=int(days))


def issue_supervision(
    user: User,
    dispute: Dispute,
    *,
    note: str | None = None,
    reply_by: date | None = None,
    level: str | None = None,
) -> SupervisionOrder:
    """督办 a case from the overdue review: a follow-ups ``SupervisionOrder`` to the lead unit (its
    ``supervised`` event and the unit's notification included), level 普通 unless 挂牌 is chosen,
    reply due ``OVERDUE_SUPERVISION_REPLY_DAYS`` after today unless a date is given. The follow-ups
    area's refusals come back as a ``ReportError`` (403, 409, or 422 naming the field)."""
    today = local_today()
    reply_by = reply_by or default_reply_by(today)
    if not (note or "").strip():
        state = level_for(dispute.accepted_on, dispute.deadline, today) if dispute.deadline else None
        if state == OVERDUE:
            state = f"已超过办理期限（{dispute.deadline.isoformat()}）"
        elif state == WARNING:
            state = f"临近办理期限（{dispute.deadline.isoformat()}）"
        else:
            state = "需要督促办理"
        note = f"该案件{state}，请抓紧办理，并于{reply_by.isoformat()}前反馈办理情况。"
    try:
        return followups_service.issue_supervision(
            user, dispute, level or SupervisionLevel.ORDINARY.value, reply_by, note.strip()
        )
    except followups_service.FollowupError as err:  # Forbidden (403) included
        raise ReportError(err.message, status=err.status) from None
    except ValidationError as err:
        field, message = _first_error(err.messages)
        raise ReportError(message, status=422, field=field) from None


def _first_error(messages) -> tuple[str | None, str]:
    """The first (field, message) of a marshmallow error dict (or list)."""
    if isinstance(messages, dict):
        for field, value in messages.items():
            inner_field, message = _first_error(value)
            return (field if field != "_schema" else inner_field), message
    if isinstance(messages, list | tuple) and messages:
        return _first_error(messages[0])
    return None, str(messages)


# --------------------------------------------------------------------------------- month close


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


def may_close(user: User | None, node: Node) -> bool:
    """The 综治中心 of the node itself closes its month (admins and the CLI may too)."""
    if user is None or user.role == Role.ADMIN:
        return True
    return user.role == Role.CENTER and user.unit.node_id == node.id and user.unit.type == UnitType.CENTER


def may_decide_reopen(user: User | None, close: MonthClose) -> bool:
    """The upper level (the 综治中心 the month was submitted to) consents; admins at the top."""
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.CENTER or close.submitted_to_id is None:
        return False
    return user.unit.node_id == close.submitted_to_id


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
    children, direct = _split_children(node, rows)
    totals = _sum(list(rows.values()), [k for r in rows.values() for k in r if k != "node_id"])
    monthly = {"node": node.code, "node_name": node.name, "month": month.key, **_monthly_from_counts(totals)}
    shuangbai = {
        "node": node.code,
        "node_name": node.name,
        "month": month.key,
        **_shuangbai_from(totals, grid_counts(node, month)),
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
    if not may_close(user, close.node):
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
    if user.role != Role.ADMIN:
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
    rollup = _figures(_sum(submitted, keys))
    rollup["prominent"] = _figures(_sum([s.get("prominent") or {} for s in submitted], keys))
    return {"rows": rows, "submitted": len(submitted), "total": len(rows), "rollup": rollup}


# ------------------------------------------------------------------------------------- helpers


def resolve_report_node(user: User, code: str | None) -> Node:
    """The node of a report request: 422 unknown, 403 outside the user's subtree."""
    if not code:
        raise ReportError("请指定节点代码。", status=422)
    node = db.session.scalar(select(Node).where(Node.code == code.strip()))
    if node is None:
        raise ReportError(f"未知的节点代码「{code}」。", status=422)
    if not can_see_node(user, node):
        raise ReportError("该节点不在您单位的辖区内，无权查看其报表。", status=403)
    return node


def scope_tree(user: User) -> list[tuple[Node, int]]:
    """Nodes the user may report on, pre-order with depth (grids left out: they are many)."""
    from mediation.accounts.access import node_scope
    from mediation.geo.service import preorder

    nodes = db.session.scalars(select(Node).where(node_scope(user), Node.level != NodeLevel.GRID)).all()
    if user.role != Role.ADMIN and user.unit.node.level == NodeLevel.GRID:
        nodes = [user.unit.node]
    return preorder(nodes)


def default_node(user: User) -> Node:
    if user.role == Role.ADMIN:
        root = db.session.scalars(select(Node).where(Node.parent_id.is_(None)).order_by(Node.code)).first()
        return root or user.unit.node
    return user.unit.node
