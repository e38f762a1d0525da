"""考核: the scorecard that ranks the units below a node on their results for a month, a quarter or a
year (definitions in mediation/reports/README.md, "考核").

The ranked units are the node's child nodes (the towns of a district, the villages of a town), each
with its whole subtree by 属地 — exactly as the 月清月结 drill-down rows — so that every figure links
to the case list of that child (``/disputes/?figure=…&node=<child>&period=…``) through the SAME named
conditions (:data:`~mediation.reports.figures.FIGURES`, :func:`~mediation.reports.figures.figure_filter`).
Each figure is counted in SQL, one grouped query per universe (the month figures, the 满意率, 督办,
回访) over the 属地 nodes of the subtree, summed per child; grids' 排查上报率 is 双百's ``grid_counts``.

Scoring (each figure to 0–100, then the weighted mean of the figures that have a score):

- a rate scores rate × 100; a rate with no denominator (“—”) has no score and its weight is left out;
- 受理数 (more is better) scores 100 × count ÷ the largest count among the ranked units (no score
  when every count is 0);
- 超期数 (fewer is better) scores 100 × (1 − count ÷ the largest count) (100 for all when none is
  overdue anywhere);
- total = Σ weight × score ÷ Σ weight over the scored figures, 1 decimal; weights are
  ``SCORECARD_WEIGHTS`` (a figure with weight 0 or absent is shown but not counted). Units are ranked
  by total (ties share a rank, 1, 2, 2, 4);
- a unit with no case at all in the period (none in scope, no satisfaction answer, no 督办 or 回访
  due) and no grid is not scored: its figures are shown, its total is “—” and it comes last, unranked
  (an empty village must not top the ranking on its 超期数 of 0).

包案 (``led`` of each row, not scored): the cases in the period's scope taken on by a 包案领导 — figure
``led`` of :data:`FIGURES` (a ``case_leader`` row), linked like the others.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mediation.config import SCORECARD_WEIGHTS
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.mediators.models import Mediator, dispute_mediator, mediator_unit
from mediation.mediators.service import units_in_subtree
from mediation.reports.common import Month, Quarter, Year, rate
from mediation.reports.figures import FIGURES, UNIVERSES, child_nodes, grid_counts
from mediation.reports.sql import in_subtree, unindexed

Term = Month | Quarter | Year
SCORECARD_BY = ("unit", "mediator")  # what is ranked: the node's child units, or its 调解员


@dataclass(frozen=True)
class ScoreFigure:
    """One figure of the scorecard: a rate (``parts``: numerator and denominator figures of
    :data:`FIGURES`), a count (``figure``) or 排查上报率 (grids, not cases: no drill-down)."""

    key: str
    label: str
    definition: str
    kind: str  # "rate" | "count"
    higher_is_better: bool = True
    figure: str | None = None  # a count's figure
    parts: tuple[str, str] | None = None  # a rate's numerator and denominator figures


SCORE_FIGURES: tuple[ScoreFigure, ...] = (
    ScoreFigure("received", "受理数", "受理日期在本期内的案件数。", "count", figure="received"),
    ScoreFigure(
        "success_rate",
        "调解成功率",
        "本期办结且调解成功 ÷ 本期办结中经调解的（调解成功或调解不成功）。",
        "rate",
        parts=("resolved", "handled"),
    ),
    ScoreFigure(
        "on_time_rate",
        "按期办结率",
        "本期办结且办结日期不晚于办理期限（未受理、无期限的不算逾期）÷ 本期办结。",
        "rate",
        parts=("closed_on_time", "closed"),
    ),
    ScoreFigure(
        "overdue",
        "超期数",
        "期末仍未办结、办理期限早于期末的案件数（与月清月结“超期”同一口径）。",
        "count",
        higher_is_better=False,
        figure="overdue",
    ),
    ScoreFigure(
        "supervision_rate",
        "督办按期回复率",
        "回复期限在本期内的督办全部按期（期限当日或之前）回复的案件 ÷ 有本期到期督办的案件。",
        "rate",
        parts=("supervision_on_time", "supervision_due"),
    ),
    ScoreFigure(
        "followup_rate",
        "回访完成率",
        "应回访日期在本期内的回访（已取消的除外）都已完成的案件 ÷ 有本期应回访的案件。",
        "rate",
        parts=("followup_done", "followup_due"),
    ),
    ScoreFigure(
        "satisfaction_rate",
        "满意率",
        "本期满意度答复（当事人评价优先，否则回访评分）最低分为4–5分的案件 ÷ 本期有满意度答复的案件。",
        "rate",
        parts=("satisfied", "satisfaction_answered"),
    ),
    ScoreFigure(
        "screening_rate",
        "排查上报率",
        "本期有排查报告（含零报告）的网格 ÷ 网格总数（按网格计，不是案件）。",
        "rate",
    ),
)
# 包案 is shown next to the figures, not scored: the cases in scope for the period (figure ``in_scope``)
# taken on by a 包案领导 (figure ``led``: a ``case_leader`` row).
LED_DEFINITION = "本期在办范围（期初结转加本期新增）内由包案领导包案的案件数，不计入总分。"
SCORE_KEYS = tuple(f.key for f in SCORE_FIGURES)
BY_KEY = {f.key: f for f in SCORE_FIGURES}

# The case-count figures counted per universe (each a figure of FIGURES).
_COUNTED = {
    "month": ("in_scope", "received", "resolved", "handled", "closed_on_time", "closed", "overdue", "led"),
    "satisfaction": ("satisfied", "satisfaction_answered"),
    "supervision": ("supervision_on_time", "supervision_due"),
    "followup": ("followup_done", "followup_due"),
}


def weights() -> dict[str, float]:
    """The configured weights (``SCORECARD_WEIGHTS``), every scorecard figure present (absent = 0).
    ValueError for an unknown figure or a negative weight: a typo must not silently drop a figure."""
    configured = SCORECARD_WEIGHTS
    if has_app_context():
        configured = current_app.config.get("SCORECARD_WEIGHTS", SCORECARD_WEIGHTS)
    unknown = set(configured) - set(SCORE_KEYS)
    if unknown:
        raise ValueError(f"SCORECARD_WEIGHTS: unknown figures {sorted(unknown)}")
    out = {k: float(configured.get(k) or 0) for k in SCORE_KEYS}
    if any(w < 0 for w in out.values()):
        raise ValueError("SCORECARD_WEIGHTS: weights must not be negative")
    return out


def _child_of(node: Node, children: list[Node]):
    """Maps a 属地 node id of the subtree to the child it lies under (None: the node itself)."""
    by_id = {c.id: c for c in children}
    prefix = len(node.path)

    def child(path: str):
        rest = path[prefix:].strip("/")
        return by_id.get(int(rest.split("/")[0])) if rest else None

    return child


def case_counts(node: Node, term: Term, children: list[Node]) -> dict[int, dict[str, int]]:
    """Per child: the case-count figures of :data:`_COUNTED`, one grouped query per universe."""
    s, e = term.first, term.last
    totals = {c.id: dict.fromkeys(k for keys in _COUNTED.values() for k in keys) for c in children}
    for c in totals.values():
        for k in c:
            c[k] = 0
    child = _child_of(node, children)
    for universe, keys in _COUNTED.items():
        grouped = unindexed(Dispute.node_id)
        stmt = (
            select(
                Node.path,
                *[func.count().filter(FIGURES[k].condition(s, e, node)).label(k) for k in keys],
            )
            .select_from(Dispute)
            .join(Node, Node.id == grouped)
            .where(in_subtree(node), UNIVERSES[universe](s, e))
            .group_by(Node.path)
        )
        for row in db.session.execute(stmt):
            c = child(row.path)
            if c is not None:
                for k in keys:
                    totals[c.id][k] += int(row._mapping[k])
    return totals


def has_data(counts: dict[str, int], grids: tuple[int, int]) -> bool:
    """Anything to score: a case in some universe of the period, or a grid."""
    dens = ("in_scope", "satisfaction_answered", "supervision_due", "followup_due")
    return any(counts[k] for k in dens) or bool(grids[0])


def _values(counts: dict[str, int], grids: tuple[int, int], figs=SCORE_FIGURES) -> dict[str, dict]:
    out = {}
    for f in figs:
        if f.kind == "count":
            out[f.key] = {"value": counts[f.figure], "figure": f.figure}
        elif f.parts:
            num, den = counts[f.parts[0]], counts[f.parts[1]]
            out[f.key] = {
                "value": rate(num, den),
                "numerator": num,
                "denominator": den,
                "figure": f.parts[0],
                "denominator_figure": f.parts[1],
            }
        else:  # 排查上报率: grids
            total, reported = grids
            out[f.key] = {"value": rate(reported, total), "numerator": reported, "denominator": total}
    return out


def score_rows(rows: list[dict], w: dict[str, float], figs=SCORE_FIGURES, tiebreak: str = "node") -> None:
    """Scores each figure of ``figs`` of each row (0–100, None without one), the weighted total, and
    the rank (ties in total ordered by ``tiebreak``)."""
    largest = {
        f.key: max((r["figures"][f.key]["value"] for r in rows if r["scored"]), default=0)
        for f in figs
        if f.kind == "count"
    }
    for r in rows:
        num = den = 0.0
        if not r["scored"]:
            for cell in r["figures"].values():
                cell["score"] = None
            r["total"] = None
            continue
        for f in figs:
            cell = r["figures"][f.key]
            value = cell["value"]
            if f.kind == "rate":
                score = None if value is None else value * 100
            elif f.higher_is_better:
                score = None if not largest[f.key] else 100 * value / largest[f.key]
            else:
                score = 100.0 if not largest[f.key] else 100 * (1 - value / largest[f.key])
            cell["score"] = None if score is None else round(score, 1)
            if score is not None and w[f.key] > 0:
                num += w[f.key] * score
                den += w[f.key]
        r["total"] = round(num / den, 1) if den else None
    rows.sort(key=lambda r: (r["total"] is None, -(r["total"] or 0), r[tiebreak]))
    previous_total, previous_rank = None, 0
    for i, r in enumerate(rows, 1):
        if r["total"] is None:
            r["rank"] = None
            continue
        r["rank"] = previous_rank if r["total"] == previous_total else i
        previous_total, previous_rank = r["total"], r["rank"]


def ranking(node: Node, term: Term, w: dict[str, float] | None = None) -> list[dict]:
    """The scored and ranked rows of the node's children for the period."""
    w = weights() if w is None else w
    children = child_nodes(node)
    counts = case_counts(node, term, children)
    rows = []
    for c in children:
        grids = grid_counts(c, term)
        rows.append(
            {
                "node": c.code,
                "node_name": c.name,
                "level": c.level.value,
                "scored": has_data(counts[c.id], grids),
                "led": counts[c.id]["led"],
                "figures": _values(counts[c.id], grids),
            }
        )
    score_rows(rows, w)
    return rows


def _with_trend(rows: list[dict], previous_rows: list[dict], key: str) -> None:
    previous = {r[key]: r for r in previous_rows}
    for r in rows:
        before = previous.get(r[key], {})
        r["previous_rank"] = before.get("rank")
        r["previous_total"] = before.get("total")
        r["rank_change"] = (
            None if r["rank"] is None or r["previous_rank"] is None else r["previous_rank"] - r["rank"]
        )


def scorecard(node: Node, term: Term) -> dict:
    """The scorecard of the node's children for the period, with the previous period's rank and
    total next to each (the trend)."""
    w = weights()
    rows = ranking(node, term, w)
    _with_trend(rows, ranking(node, term.shift(-1), w), "node")
    return _card(node, term, w, SCORE_FIGURES, rows, "unit")


def _card(node: Node, term: Term, w: dict[str, float], figs, rows: list[dict], by: str) -> dict:
    return {
        "by": by,
        "node": node.code,
        "node_name": node.name,
        "period": term.key,
        "period_label": term.label,
        "first": term.first.isoformat(),
        "last": term.last.isoformat(),
        "previous_period": term.shift(-1).key,
        "led_definition": LED_DEFINITION,
        "figures": [
            {
                **asdict(f),
                "parts": list(f.parts) if f.parts else None,
                "weight": w[f.key],
                "counted": w[f.key] > 0,
            }
            for f in figs
        ],
        "rows": rows,
    }


# --- per 调解员 -------------------------------------------------------------------------------------
# The figures that make sense for one person: not 督办按期回复率 (a 督办 is addressed to a unit) nor
# 排查上报率 (grids'). Their weights are SCORECARD_WEIGHTS'; the others are simply not there.
MEDIATOR_KEYS = ("received", "success_rate", "on_time_rate", "overdue", "followup_rate", "satisfaction_rate")
MEDIATOR_FIGURES = tuple(BY_KEY[k] for k in MEDIATOR_KEYS)
_MEDIATOR_COUNTED = {u: keys for u, keys in _COUNTED.items() if u != "supervision"}


def mediators_of(node: Node) -> list[Mediator]:
    """The mediators with a unit in the node's subtree (the people a 综治中心 of the node sees)."""
    return list(
        db.session.scalars(
            select(Mediator)
            .where(
                Mediator.id.in_(
                    select(mediator_unit.c.mediator_id).where(
                        mediator_unit.c.unit_id.in_(units_in_subtree(node))
                    )
                )
            )
            .options(selectinload(Mediator.units))
            .order_by(Mediator.name, Mediator.id)
        )
    )


def mediator_counts(node: Node, term: Term, ids: list[int]) -> dict[int, dict[str, int]]:
    """Per mediator: the case-count figures over the cases of the node's subtree (by 属地) that name
    them as 承办调解员 (``dispute_mediator``, as the list's ``mediator`` filter,
    :func:`~mediation.disputes.service.handled_by`), one grouped query per universe —
    the same FIGURES conditions as the units' scorecard and the drill-down
    (``/disputes/?figure=…&node=<node>&period=…&mediator=<id>``). A case with two mediators counts for
    each."""
    s, e = term.first, term.last
    totals = {i: dict.fromkeys((k for keys in _COUNTED.values() for k in keys), 0) for i in ids}
    if not ids:
        return totals
    who = dispute_mediator.c.mediator_id
    for universe, keys in _MEDIATOR_COUNTED.items():
        stmt = (
            select(who, *[func.count().filter(FIGURES[k].condition(s, e, node)).label(k) for k in keys])
            .select_from(Dispute)
            .join(dispute_mediator, dispute_mediator.c.dispute_id == Dispute.id)
            .where(in_subtree(node), UNIVERSES[universe](s, e), who.in_(ids))
            .group_by(who)
        )
        for row in db.session.execute(stmt):
            for k in keys:
                totals[row.mediator_id][k] = int(row._mapping[k])
    return totals


def mediator_ranking(node: Node, term: Term, w: dict[str, float] | None = None) -> list[dict]:
    """The scored and ranked rows of the mediators of the node's subtree for the period."""
    w = weights() if w is None else w
    people = mediators_of(node)
    counts = mediator_counts(node, term, [m.id for m in people])
    here = set(db.session.scalars(units_in_subtree(node)))
    rows = [
        {
            "mediator": m.id,
            "name": m.name,
            "active": m.active,
            "units": [u.name for u in m.units if u.id in here],
            "scored": has_data(counts[m.id], (0, 0)),
            "figures": _values(counts[m.id], (0, 0), MEDIATOR_FIGURES),
        }
        for m in people
    ]
    score_rows(rows, w, MEDIATOR_FIGURES, tiebreak="name")
    return rows


def mediator_scorecard(node: Node, term: Term) -> dict:
    """The scorecard of the mediators of the node's subtree for the period, with the trend."""
    w = weights()
    rows = mediator_ranking(node, term, w)
    _with_trend(rows, mediator_ranking(node, term.shift(-1), w), "mediator")
    return _card(node, term, w, MEDIATOR_FIGURES, rows, "mediator")
