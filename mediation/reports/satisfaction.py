"""满意率: how satisfied the people of the cases were, per month and handling unit (the definition is
in mediation/reports/README.md, "满意率").

A *satisfaction answer* is a party's own rating (``PartyRating``, 1–5, given on the parties' page)
or a score staff entered on a done 回访 (``FollowUp.satisfaction``, 1–5: the 满意度回访, or any other
回访 where one was recorded). An answer belongs to the month of its Shanghai date (``created_at``
/ ``done_at`` are UTC; the month's bounds are converted, so the columns are compared as stored).

The figure counts **cases**, so that its drill-down lists exactly what it counts:

- ``satisfaction_answered`` (满意度答复): the cases of N's subtree (属地) with at least one answer
  in M — the universe of the two figures and the rate's denominator;
- ``satisfied`` (满意): of those, the cases whose *deciding score* in M is 4 or 5. The deciding
  score is the lowest party rating given in M; when no party rated the case in M, the lowest staff
  回访 score entered in M (the party's own word wins over what staff wrote down; with several
  answers the case is satisfied only when every one of them is);
- ``satisfaction_rate`` = satisfied / satisfaction_answered (``null`` when none).

Per unit: each case is attributed to its handling (lead) unit, ``Dispute.unit_id`` as it is when
the report is drawn (未分流 when none). Computed in one grouped aggregate query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, union

from mediation.common.time import SHANGHAI
from mediation.disputes.models import Dispute
from mediation.followups.models import FollowUp, FollowUpStatus, PartyRating
from mediation.followups.ratings import SATISFIED_FROM
from mediation.geo.models import Node, Unit
from mediation.reports.common import Month, rate
from mediation.reports.sql import built_once, in_subtree, report_rows, unindexed

NO_UNIT = "未分流"


def utc_start(day: date) -> datetime:
    """The UTC instant (naive, as stored) at which the Shanghai day ``day`` begins."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def answer_bounds(s: date, e: date) -> tuple[datetime, datetime]:
    """[from, to) in stored UTC of the Shanghai days s … e."""
    return utc_start(s), utc_start(e + timedelta(days=1))


def _party_answers(s: date, e: date):
    lo, hi = answer_bounds(s, e)
    return PartyRating.created_at >= lo, PartyRating.created_at < hi


def _staff_answers(s: date, e: date):
    """Done 回访 with a score, dated in M. The status is compared unindexed so that SQLite reads
    these rows through the done_at (or, correlated, the dispute_id) index, not the status one."""
    lo, hi = answer_bounds(s, e)
    return (
        unindexed(FollowUp.status) == FollowUpStatus.DONE.value,
        FollowUp.satisfaction.is_not(None),
        FollowUp.done_at >= lo,
        FollowUp.done_at < hi,
    )


def answered_in(s: date, e: date):
    """The universe's condition: the case has a satisfaction answer dated in [s, e] (Shanghai).

    One ``IN`` over the UNION of the month's answers, so that both engines start from the answers
    (a few rows, through the created_at / done_at indexes) and look the cases up by id. Written as
    an OR of two ``IN``s, PostgreSQL filtered every case of the subtree against two hashed subplans
    (a whole scan: 3.3 s at 1,000,000 cases, 6 s with JIT; bench/README.md)."""
    return Dispute.id.in_(
        union(
            select(PartyRating.dispute_id).where(*_party_answers(s, e)),
            select(FollowUp.dispute_id).where(*_staff_answers(s, e)),
        )
    )


def deciding_score(s: date, e: date):
    """The case's lowest party rating of the month, else its lowest staff 回访 score of the month."""
    party = (
        select(func.min(PartyRating.score))
        .where(PartyRating.dispute_id == Dispute.id, *_party_answers(s, e))
        .correlate(Dispute)
        .scalar_subquery()
    )
    staff = (
        select(func.min(FollowUp.satisfaction))
        .where(FollowUp.dispute_id == Dispute.id, *_staff_answers(s, e))
        .correlate(Dispute)
        .scalar_subquery()
    )
    return func.coalesce(party, staff)


def satisfied(s: date, e: date):
    return deciding_score(s, e) >= SATISFIED_FROM


def _row(answered: int, happy: int) -> dict:
    return {"answered": answered, "satisfied": happy, "rate": rate(happy, answered)}


def satisfaction_report(node: Node, month: Month) -> dict:
    """The 满意率 of the node's subtree for the month: the total and one row per handling unit
    (sorted by unit code, 未分流 last) — one grouped query, the unit's code and name joined."""
    rows = report_rows(_satisfaction_stmt(node.path, month.first, month.last)).all()
    by_unit = [
        {"unit": code, "unit_name": name, **_row(int(answered), int(happy))}
        for unit_id, code, name, answered, happy in sorted(
            (r for r in rows if r[0] is not None), key=lambda r: r[1]
        )
    ]
    by_unit += [
        {"unit": NO_UNIT, "unit_name": NO_UNIT, **_row(int(answered), int(happy))}
        for unit_id, _, _, answered, happy in rows
        if unit_id is None
    ]
    total = _row(sum(int(r[3]) for r in rows), sum(int(r[4]) for r in rows))
    return {**total, "by_unit": by_unit}


@built_once
def _satisfaction_stmt(path: str, s: date, e: date):
    unit_id = unindexed(Dispute.unit_id)
    return (
        select(
            unit_id.label("unit_id"),
            Unit.code,
            Unit.name,
            func.count().label("answered"),
            func.count().filter(satisfied(s, e)).label("satisfied"),
        )
        .outerjoin(Unit, Unit.id == Dispute.unit_id)
        .where(in_subtree(path), answered_in(s, e))
        .group_by(unit_id, Unit.code, Unit.name)
    )
