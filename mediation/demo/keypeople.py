"""The demo's 重点人员 / 重点群体 and 包案: in 双港镇 (zhenzhongxin's town), a 重大不稳定群体 and a
重点信访人员 kept by the featured 调委会, each linked to a case of that committee, the group with a
review already recorded and the person's review due (the sweep tells tiaojieyuan); and one case of the
committee taken on by a leader (包案), the most overdue open one, so that the overdue review shows it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.common.enums import Status
from mediation.demo.world import COMMITTEE_FEATURED
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Unit
from mediation.keypeople import service
from mediation.keypeople.models import KeyEntry, KeyKind


def load_key_people(today: date) -> tuple[int, str | None]:
    """(entries, the 包案 case's number). Idempotent with the rest of the demo: only on a fresh load."""
    committee = db.session.scalar(select(Unit).where(Unit.code == COMMITTEE_FEATURED))
    center = db.session.scalar(select(User).where(User.username == "zhenzhongxin"))
    if committee is None or center is None or db.session.scalar(select(KeyEntry.id).limit(1)):
        return 0, None
    open_cases = list(
        db.session.scalars(
            select(Dispute)
            .where(
                Dispute.unit_id == committee.id,
                Dispute.status != Status.CLOSED,
                Dispute.deadline.is_not(None),
            )
            .order_by(Dispute.deadline, Dispute.id)
            .limit(3)
        )
    )
    entries = [
        (
            {
                "name": "双港镇某小区业主维权群体",
                "kind": KeyKind.UNSTABLE_GROUP.value,
                "is_group": True,
                "group_size": 36,
                "measures": "镇综治中心每月约谈业主代表；调委会每周走访，发现集访苗头当日上报。",
                "review_days": 14,
            },
            "约谈业主代表三人，情绪平稳，未发现集访苗头。",
        ),
        (
            {
                "name": "赵某某",
                "kind": KeyKind.PETITIONER.value,
                "is_group": False,
                "measures": "村委会包保干部每周联系一次；节假日前上门走访。",
                "review_days": 7,
            },
            None,
        ),
    ]
    made = 0
    for i, (data, review) in enumerate(entries):
        linked = [open_cases[i].case_no] if i < len(open_cases) else []
        entry = service.save_entry(
            center, None, {**data, "node": committee.node.code, "unit": committee.code, "cases": linked}
        )
        if review:
            service.record_review(center, entry, {"on": today - timedelta(days=2), "note": review})
        else:
            entry.next_review_on = today  # due today: the sweep notifies the committee
        made += 1
    leader_case = open_cases[0] if open_cases else None
    if leader_case is not None:
        service.set_case_leader(
            center,
            leader_case,
            {"name": "刘志强", "post": "双港镇党委副书记", "since": today - timedelta(days=5)},
        )
    db.session.flush()
    return made, leader_case.case_no if leader_case else None
