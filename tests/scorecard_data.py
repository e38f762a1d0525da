"""A hand-counted fixture for the scorecard (考核) and the 通报: the district's three towns over the
third quarter of 2026 (July–September, a quarter spanning months) and the second for the trend.
Every number the tests expect is counted by hand from the comments below."""

from __future__ import annotations

from datetime import date, datetime

from mediation.common.enums import NodeLevel
from mediation.extensions import db
from mediation.followups.models import FollowUpKind, FollowUpStatus, SupervisionLevel, SupervisionOrder
from mediation.reports.common import Quarter
from mediation.reports.models import Screening
from tests.factories import node
from tests.reports_data import case, party_rating, visit_score

Q3, Q2 = Quarter(2026, 3), Quarter(2026, 2)


def order(world, dispute, reply_by: date, replied_at: datetime | None) -> SupervisionOrder:
    o = SupervisionOrder(
        dispute_id=dispute.id,
        level=SupervisionLevel.ORDINARY,
        issued_by_unit_id=world.district_center.id,
        target_unit_id=(dispute.unit or world.committee_a).id,
        reply_by=reply_by,
        replied_at=replied_at,
        reply="已回复" if replied_at else None,
        issued_at=datetime.combine(reply_by, datetime.min.time()),
    )
    db.session.add(o)
    db.session.flush()
    return o


def followup(world, dispute, due: date, status: FollowUpStatus):
    f = visit_score(world, dispute, None, datetime.combine(due, datetime.min.time()), status=status)
    f.kind = FollowUpKind.PERFORMANCE
    f.due_on = due
    db.session.flush()
    return f


def build(world):
    """Town A (海滨街道), town B (双港镇) and town C (新城镇, no case, no grid) of 海滨区."""
    w = world
    d = date
    w.town_c = node("120116200000", "新城镇", NodeLevel.TOWN, w.district)
    ca, cb = w.committee_a, w.committee_b

    # Town A — Q3: received 3 (a1 a2 a3); closed 3 (a1 a2 a4), handled 2 (a1 a2), resolved 1 (a1),
    # on time 2 (a1; a4 closed before its deadline; a2 late); overdue 1 (a3, open, deadline 9-20).
    w.a1 = case(w, w.grid_a, d(2026, 7, 2), accepted_on=d(2026, 7, 2), deadline=d(2026, 8, 1),
                closed_on=d(2026, 7, 20), outcome="调解成功", unit=ca)  # fmt: skip
    w.a2 = case(w, w.grid_a, d(2026, 8, 5), accepted_on=d(2026, 8, 5), deadline=d(2026, 9, 4),
                closed_on=d(2026, 9, 10), outcome="调解不成功", unit=ca)  # fmt: skip
    w.a3 = case(w, w.village_a, d(2026, 9, 1), accepted_on=d(2026, 9, 1), deadline=d(2026, 9, 20), unit=ca)
    # Q2: received 1, open at 6-30 and not overdue then; closed (撤回) 7-5, before its deadline.
    w.a4 = case(w, w.grid_a, d(2026, 6, 10), accepted_on=d(2026, 6, 10), deadline=d(2026, 7, 10),
                closed_on=d(2026, 7, 5), outcome="撤回", unit=ca)  # fmt: skip
    # 督办 due in Q3: a3 answered 9-25 22:00 Shanghai (on time), a2 answered 8-21 00:30 Shanghai (late).
    order(w, w.a3, d(2026, 9, 25), datetime(2026, 9, 25, 14, 0))
    order(w, w.a2, d(2026, 8, 20), datetime(2026, 8, 20, 16, 30))
    # 回访 due in Q3: a1 done, a4 still 待办, a2's cancelled one does not count → 1 of 2.
    followup(w, w.a1, d(2026, 8, 1), FollowUpStatus.DONE)
    followup(w, w.a4, d(2026, 9, 15), FollowUpStatus.OPEN)
    followup(w, w.a2, d(2026, 9, 1), FollowUpStatus.CANCELLED)
    # 满意率: a1's party gave 5 on 8-2 → 1 of 1.
    party_rating(w.a1, 5, datetime(2026, 8, 2, 2, 0))
    # 排查: grid_a reported in August → 1 of 1.
    db.session.add(Screening(node_id=w.grid_a.id, reported_on=d(2026, 8, 10), found=0,
                             user_id=w.grid_a_user.user.id))  # fmt: skip

    # Town B — Q3: received 2 (b1 b2), both closed 调解成功 on time; overdue 1 (b3, deadline 5-31).
    w.b1 = case(w, w.grid_b, d(2026, 7, 10), accepted_on=d(2026, 7, 10), deadline=d(2026, 8, 9),
                closed_on=d(2026, 8, 1), outcome="调解成功", unit=cb)  # fmt: skip
    w.b2 = case(w, w.grid_b, d(2026, 7, 15), accepted_on=d(2026, 7, 15), deadline=d(2026, 8, 14),
                closed_on=d(2026, 8, 10), outcome="调解成功", unit=cb)  # fmt: skip
    # Q2: received 1 and overdue at 6-30.
    w.b3 = case(w, w.village_b, d(2026, 5, 1), accepted_on=d(2026, 5, 1), deadline=d(2026, 5, 31), unit=cb)
    w.b4 = case(w, w.grid_b, d(2026, 9, 5))  # registered, not accepted: in scope, no figure
    order(w, w.b3, d(2026, 9, 10), None)  # never answered → 0 of 1
    visit_score(w, w.b1, 3, datetime(2026, 9, 1, 2, 0))  # staff score 3 → 0 of 1 satisfied
    db.session.commit()
    return w


# The expected Q3 figures (value, numerator, denominator) per town, counted from the comments above.
Q3_FIGURES = {
    "海滨街道": {
        "received": 3,
        "success_rate": (0.5, 1, 2),
        "on_time_rate": (0.6667, 2, 3),
        "overdue": 1,
        "supervision_rate": (0.5, 1, 2),
        "followup_rate": (0.5, 1, 2),
        "satisfaction_rate": (1.0, 1, 1),
        "screening_rate": (1.0, 1, 1),
    },
    "双港镇": {
        "received": 2,
        "success_rate": (1.0, 2, 2),
        "on_time_rate": (1.0, 2, 2),
        "overdue": 1,
        "supervision_rate": (0.0, 0, 1),
        "followup_rate": (1.0, 1, 1),
        "satisfaction_rate": (0.0, 0, 1),
        "screening_rate": (0.0, 0, 1),
    },
    "新城镇": {
        "received": 0,
        "success_rate": (None, 0, 0),
        "on_time_rate": (None, 0, 0),
        "overdue": 0,
        "supervision_rate": (None, 0, 0),
        "followup_rate": (None, 0, 0),
        "satisfaction_rate": (None, 0, 0),
        "screening_rate": (None, 0, 0),
    },
}
# Default weights: received 10, success 20, on time 20, overdue 15, 督办 10, 回访 10, 满意 10, 排查 5.
# 海滨街道: 10×100 + 20×50 + 20×66.67 + 15×0 + 10×50 + 10×50 + 10×100 + 5×100 = 5833.4 / 100 = 58.3
# 双港镇: 10×66.67 + 20×100 + 20×100 + 15×0 + 10×0 + 10×100 + 10×0 + 5×0 = 5666.7 / 100 = 56.7
# (b1's 回访 with the staff score 3 is a 回访 due and done in Q3)
# 新城镇: no case, no grid → not scored.
# Q2: 海滨街道 received 1 (100), overdue 0 (100), 排查 0 → (1000 + 1500 + 0) / 30 = 83.3, rank 1;
#     双港镇 received 1 (100), overdue 1 (0), 排查 0 → 1000 / 30 = 33.3, rank 2.
Q3_TOTALS = {"海滨街道": 58.3, "双港镇": 56.7, "新城镇": None}
Q2_TOTALS = {"海滨街道": 83.3, "双港镇": 33.3, "新城镇": None}
