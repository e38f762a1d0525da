"""Follow-ups of the demo: 稳控 visits, 满意度/履行 visits, 督办 orders, and notifications read."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from mediation import clock
from mediation.accounts.models import User
from mediation.common.enums import (
    Outcome,
    Status,
)
from mediation.common.time import local_date
from mediation.demo.base import SEED, local_instant, moment, weighted
from mediation.demo.material import STABILIZE_VISITS, cn_date, party_names
from mediation.demo.world import COMMITTEE_FEATURED, TOWN_FEATURED, History, World
from mediation.disputes.casework import JudicialConfirmation
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import FollowUp, FollowUpKind, FollowUpStatus, Notification
from mediation.followups.service import (
    complete_followup,
    ensure_stabilize_visit,
    issue_supervision,
    mark_read,
    reply_supervision,
)


def stabilize_visits(
    world: World, dispute, rng: random.Random, lo: datetime, hi: datetime, today: date
) -> int:
    """The 稳控 visits that fell due before the next step (or before today), done through the
    follow-ups service: each one completed a few days after its due date, which creates the next."""

    end_day = min(local_date(hi), today)
    a, _ = party_names(dispute)
    done = 0
    while True:
        visit = db.session.scalars(
            select(FollowUp)
            .where(
                FollowUp.dispute_id == dispute.id,
                FollowUp.kind == FollowUpKind.STABILIZE,
                FollowUp.status == FollowUpStatus.OPEN,
            )
            .order_by(FollowUp.round.desc())
        ).first()
        if visit is None or visit.due_on >= end_day:
            return done
        day = min(visit.due_on + timedelta(days=rng.choice((0, 0, 1, 2, 3))), end_day - timedelta(days=1))
        lo = moment(rng, lo, hi, day)
        user = visit.user or world.user_of(visit.unit)
        with clock.frozen(lo):
            complete_followup(user, visit, rng.choice(STABILIZE_VISITS).format(a=a))
            ensure_stabilize_visit(dispute, local_date(lo), actor=user)
        done += 1


SATISFACTION_VISITS = {
    Outcome.SUCCESS: (
        "电话回访申请人{a}，对方已按约定履行，当事人对调解结果表示满意。",
        "上门回访双方当事人，协议已履行完毕，双方关系缓和，对调解工作表示满意。",
        "回访得知双方已和好如初，当事人对调解员的工作表示感谢。",
    ),
    Outcome.FAILURE: (
        "电话回访申请人{a}，其已通过诉讼途径主张权利，情绪稳定，对调解工作表示理解。",
        "回访得知当事人仍有不满，调解员再次告知其他救济途径，当事人表示将依法维权。",
    ),
    Outcome.WITHDRAWN: ("回访得知双方已自行和解，当事人对调解组织的工作表示认可。",),
}
SATISFACTION_SCORES = {
    Outcome.SUCCESS: ((5, 55), (4, 33), (3, 9), (2, 3)),
    Outcome.FAILURE: ((4, 15), (3, 45), (2, 30), (1, 10)),
    Outcome.WITHDRAWN: ((5, 40), (4, 45), (3, 15)),
}
PERFORMANCE_VISITS = (
    "回访申请人{a}，被申请人{b}已按协议约定履行完毕。",
    "经回访核实，协议约定的义务已全部履行，双方无新的争议。",
)


def complete_followups(h: History) -> None:
    """满意度回访 of cases closed more than two weeks ago are done (some of the last week's too),
    履行回访 and 司法确认期满 once their day has passed: each through the follow-ups service, a few
    days after it fell due, with its result and (满意度) a score."""

    rows = db.session.scalars(
        select(FollowUp)
        .where(
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.kind.in_(
                [FollowUpKind.SATISFACTION, FollowUpKind.PERFORMANCE, FollowUpKind.CONFIRMATION]
            ),
        )
        .order_by(FollowUp.id)
    ).all()
    for fu in rows:
        d = fu.dispute
        rng = random.Random(f"{SEED}:followup:{d.case_no}:{fu.kind}")
        a, b = party_names(d)
        satisfaction = None
        if fu.kind == FollowUpKind.SATISFACTION:
            age = (h.today - fu.anchor_on).days
            if age <= 7 or (age <= 14 and rng.random() >= 0.4):
                continue  # recent: still to do
            text = rng.choice(
                SATISFACTION_VISITS.get(d.outcome, SATISFACTION_VISITS[Outcome.SUCCESS])
            ).format(a=a, b=b)
            satisfaction = weighted(
                rng, SATISFACTION_SCORES.get(d.outcome, SATISFACTION_SCORES[Outcome.SUCCESS])
            )
        elif fu.kind == FollowUpKind.PERFORMANCE:
            if fu.due_on >= h.today - timedelta(days=2):
                continue
            text = rng.choice(PERFORMANCE_VISITS).format(a=a, b=b)
        else:
            if fu.due_on >= h.today:
                continue
            applied = db.session.scalars(
                select(JudicialConfirmation)
                .where(JudicialConfirmation.dispute_id == d.id)
                .order_by(JudicialConfirmation.id)
            ).first()
            text = (
                f"当事人已于{cn_date(applied.applied_on)}向{applied.court.name}申请司法确认。"
                if applied
                else "司法确认申请期限届满，双方当事人未申请司法确认，协议已按约履行。"
            )
        day = min(fu.due_on + timedelta(days=rng.choice((0, 1, 1, 2, 3, 5))), h.today - timedelta(days=1))
        if day < fu.due_on:
            continue
        at = moment(rng, local_instant(day, 0), min(h.now, local_instant(day, 86399)), day)
        with clock.frozen(at):
            complete_followup(fu.user or h.user(fu.unit), fu, text, satisfaction)
        h.stats[f"followups:{fu.kind.value}"] += 1


def load_supervision(h: History) -> None:
    """督办 of overdue cases through the follow-ups service: by 双港镇's 综治中心 (one answered, one
    unanswered past its reply date, which the sweep escalates, one waiting) and by the district's
    (a 挂牌督办 waiting, an older one answered)."""

    overdue = db.session.scalars(
        select(Dispute)
        .where(
            Dispute.status == Status.HANDLING,
            Dispute.deadline < h.today,
            Dispute.unit_id.is_not(None),
            Dispute.node_id.in_([n.id for n in h.world.nodes.values()]),
        )
        .order_by(Dispute.deadline, Dispute.id)
    ).all()
    used: set[int] = set()
    town, district = h.world.nodes.get(TOWN_FEATURED), h.world.district
    # issuer, area, days ago issued, days to reply, days ago replied (None: not answered), level, prefer
    orders = (
        ("zhenzhongxin", town, 12, 5, 9, "普通", None),
        ("zhenzhongxin", town, 9, 5, None, "普通", None),
        ("zhenzhongxin", town, 2, 7, None, "普通", COMMITTEE_FEATURED),
        ("quzhongxin", district, 4, 7, None, "挂牌", "prominent"),
        ("quzhongxin", district, 20, 5, 16, "普通", None),
    )
    replies = (
        "已再次组织双方调解，被申请人同意分期履行，预计本月内办结。",
        "已与相关部门会商，制定化解方案并落实专人包案，将于下周组织联合调解，及时报告进展。",
    )
    for n, (issuer_name, area, ago, reply_days, replied_ago, level, prefer) in enumerate(orders):
        issuer = h.world.users.get(issuer_name)
        if issuer is None or area is None:
            continue
        issued = h.today - timedelta(days=ago)
        pool = [
            d
            for d in overdue
            if d.id not in used
            and d.node.path.startswith(area.path)
            and d.deadline < issued
            and d.accepted_on < issued
            and h.user(d.unit) is not None
        ]
        if prefer == "prominent":
            pool.sort(key=lambda d: (not d.prominent, d.deadline))
        elif prefer:
            pool.sort(key=lambda d: (d.unit.code != prefer, d.deadline))
        if not pool:
            continue
        d = pool[0]
        used.add(d.id)
        rng = random.Random(f"{SEED}:supervision:{n}")
        reply_by = issued + timedelta(days=reply_days)
        if level == "挂牌":
            note = (
                f"该案系突出问题，已超过办理期限（{d.deadline.isoformat()}），列入挂牌督办。请主要负责同志亲自包案，"
                f"于{reply_by.isoformat()}前报告化解方案和稳控措施。"
            )
        else:
            note = f"该案已超过办理期限（{d.deadline.isoformat()}），请抓紧化解，并于{reply_by.isoformat()}前书面报告办理进展。"
        at = moment(rng, local_instant(issued, 0), min(h.now, local_instant(issued, 86399)), issued)
        with clock.frozen(at):
            order = issue_supervision(issuer, d, level, reply_by, note)
        h.stats["supervisions"] += 1
        if replied_ago is not None:
            with clock.frozen(moment(rng, at, h.now, h.today - timedelta(days=replied_ago))):
                reply_supervision(h.user(d.unit), order, rng.choice(replies))
            h.stats["supervisions_replied"] += 1


def mark_old_notifications_read(h: History) -> None:
    """People have read what reached them more than three days ago."""

    rows = db.session.execute(
        select(Notification.user_id, Notification.id).where(
            Notification.read_at.is_(None), Notification.created_at < h.now - timedelta(days=3)
        )
    ).all()
    by_user: dict[int, list[int]] = defaultdict(list)
    for user_id, notification_id in rows:
        by_user[user_id].append(notification_id)
    for user_id, ids in sorted(by_user.items()):
        with clock.frozen(h.now):
            mark_read(db.session.get(User, user_id), ids)
