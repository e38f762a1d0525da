"""Reports of the demo: the grids' sweep reports (排查), the month closes with carry-over reasons
(月清月结), the district's 考核通报 of last month, and the summary printed at the end."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from mediation import clock
from mediation.accounts.models import User
from mediation.common.enums import (
    NodeLevel,
    Status,
    UnitType,
)
from mediation.common.time import local_date
from mediation.demo.base import DISTRICT_CODE, SEED, local_instant, moment
from mediation.demo.material import ISSUES
from mediation.demo.world import FEATURED_GRID, TOWN_FEATURED, History
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.followups.models import FollowUp, FollowUpStatus, Notification
from mediation.geo.models import Node
from mediation.reports.common import Month
from mediation.reports.figures import prominent_open_cases
from mediation.reports.models import Notice, Screening
from mediation.reports.month_close import close_month, write_carry_over
from mediation.reports.notices import issue_notice
from mediation.reports.schemas import ScreeningIn
from mediation.reports.screenings import add_finding, file_screening
from mediation.routing.service import responsible_center

LATE_TOWN = "120116002000"  # 新港街道 has not closed last month yet
VILLAGE_CLOSE_MONTHS = 3
CARRY_OVER_REASONS = {
    "stabilized": (
        "已落实包案稳控措施，当事人情绪稳定，但双方分歧较大，短期内难以化解，结转下月继续稳控化解。",
        "涉及{people}人，已明确包案领导和稳控责任人，定期走访，结转下月继续做化解工作。",
        "{category}纠纷，当事人诉求超出政策规定，已多次释法说理，落实专人稳控，结转下月继续跟踪。",
    ),
    "handling": (
        "双方对{issue}仍有分歧，已组织调解，需协调相关部门共同化解，结转下月继续办理。",
        "涉及{people}人，案情复杂，已制定化解方案并报请上级综治中心协调，结转下月继续办理。",
        "当事人情绪较为激动，已落实稳控措施并告知属地派出所，结转下月继续化解。",
        "{category}纠纷，需等待鉴定（评估）结论后确定{issue}，已告知当事人，结转下月继续调解。",
        "被申请人暂时无力履行，双方正在协商分期方案，结转下月继续调解。",
        "已联合属事部门召开协调会，{issue}初步达成共识，待落实后办结，结转下月。",
    ),
}


def load_screenings(h: History, first_day: date) -> None:
    """Sweep reports (排查) of every grid: one a month (weekly for wanggeyuan's grid), counting the
    cases its sweeps found since the last one (most are 零报告). A few grids missed a month; a few
    have not reported yet this month, so the 双百 page has grids to chase."""

    grids = sorted((n for n in h.world.nodes.values() if n.level == NodeLevel.GRID), key=lambda n: n.code)
    if not grids:
        return
    rng = random.Random(f"{SEED}:screenings")
    others = [g.code for g in grids if g.code != FEATURED_GRID]
    missing_now = set(rng.sample(others, min(len(others), max(1, len(grids) // 12))))
    found: dict[int, list[date]] = defaultdict(list)
    for node_id, day in db.session.execute(
        select(Dispute.node_id, Dispute.registered_on).where(
            Dispute.source == "网格员排查", Dispute.node_id.in_([g.id for g in grids])
        )
    ):
        found[node_id].append(day)
    this_month = Month.of(h.today)
    for grid in grids:
        village = h.world.by_id[grid.parent_id]
        user = h.user(h.world.units.get(f"{grid.code}-WG")) or h.user(h.world.units.get(f"{village.code}-ZZ"))
        if user is None:
            continue
        days: list[date] = []
        if grid.code == FEATURED_GRID:
            day = first_day + timedelta(days=(4 - first_day.weekday()) % 7)  # Fridays
            while day < h.today:
                days.append(day)
                day += timedelta(days=7)
        else:
            month = Month.of(first_day)
            while month <= this_month:  # between the 16th and the 26th, from the first day, up to yesterday
                high = min(month.first + timedelta(days=25), month.last, h.today - timedelta(days=1))
                low = max(month.first + timedelta(days=15), first_day)
                low = low if low <= high else max(month.first, first_day)
                skip = (grid.code in missing_now) if month == this_month else rng.random() < 0.04
                if low <= high and not skip:
                    days.append(low + timedelta(days=rng.randint(0, (high - low).days)))
                month = month.shift(1)
        previous = first_day - timedelta(days=1)
        for day in days:
            count = sum(1 for d in found[grid.id] if previous < d <= day)
            previous = day
            note = (
                f"本期排查发现矛盾纠纷{count}件，已通过一键上报登记。"
                if count
                else rng.choice(
                    (
                        "本期排查未发现矛盾纠纷，零报告。",
                        "入户走访、巡查完毕，未发现矛盾纠纷。",
                        "重点人员、重点场所排查完毕，无新增矛盾纠纷。",
                    )
                )
            )
            with clock.frozen(moment(rng, local_instant(day, 0), h.now, day)):
                file_screening(
                    user,
                    ScreeningIn().load(
                        {"node": grid.code, "date": day.isoformat(), "found": count, "note": note}
                    ),
                )
            h.stats["screenings"] += 1
            h.stats["zero_reports"] += count == 0


def load_sweep_findings(h: History) -> None:
    """排查 that leads to 化解 on wanggeyuan's grid: each weekly sweep report lists the cases it found,
    registered from the report — except on the last report older than SWEEP_REGISTER_DAYS that found
    any, where the last one was registered through the ordinary form and never linked: that finding
    is still open, and the demo's sweep flags it to the 综治中心 of the grid (who can link it)."""

    grid = h.world.nodes.get(FEATURED_GRID)
    if grid is None:
        return
    reports = db.session.scalars(
        select(Screening).where(Screening.node_id == grid.id).order_by(Screening.reported_on)
    ).all()
    limit = timedelta(days=current_app.config["SWEEP_REGISTER_DAYS"])
    late = [r for r in reports if r.found and r.reported_on < h.today - limit]
    unlinked = late[-1] if late else None
    previous = date.min
    for report in reports:
        cases = db.session.scalars(
            select(Dispute)
            .where(
                Dispute.node_id == grid.id,
                Dispute.source == "网格员排查",
                Dispute.registered_on > previous,
                Dispute.registered_on <= report.reported_on,
            )
            .order_by(Dispute.id)
        ).all()[: report.found]
        previous = report.reported_on
        with clock.frozen(local_instant(report.reported_on, 17 * 3600)):
            for i, case in enumerate(cases):
                names = "、".join(p.name for p in case.parties[:3])
                data = {"description": case.summary[:200], "category": case.category, "parties": names}
                finding, _ = add_finding(report.user, report, data)
                if report is unlinked and i == len(cases) - 1:
                    continue  # left open: flagged by the sweep
                finding.dispute, finding.resolved_by_id, finding.resolved_at = (
                    case,
                    report.user_id,
                    clock.now(),
                )
                h.stats["sweep_findings_registered"] += 1
    db.session.flush()


def close_months(h: History, first_day: date) -> None:
    """月清月结 of the past months: at the end of each month the 综治中心 write the carry-over reasons
    of the open 突出问题, then the towns' centres close and submit their month to the district's, which
    closes its own. 双港镇's villages have submitted theirs for the last few months too. 新港街道 has
    not closed last month yet; this month is open everywhere. (Every village every month would be
    more realistic still, and four times slower: each close freezes a snapshot of every figure.)"""

    featured = h.world.nodes.get(TOWN_FEATURED)
    centres = sorted(
        (u for u in h.world.units.values() if u.type == UnitType.CENTER),
        key=lambda u: (-u.node.path.count("/"), u.code),
    )
    villages_since = Month.of(h.today).shift(-VILLAGE_CLOSE_MONTHS)
    late_town = h.world.nodes.get(LATE_TOWN)
    last = Month.of(h.today).shift(-1)
    month = Month.of(first_day)
    rng = random.Random(f"{SEED}:months")
    while month <= last:
        reason_at = local_instant(month.last, 16 * 3600)
        for case in prominent_open_cases(h.world.district, month):
            d = db.session.get(Dispute, case["id"])
            stabilized = d.stabilized_on is not None and d.stabilized_on <= month.last
            text = rng.choice(CARRY_OVER_REASONS["stabilized" if stabilized else "handling"]).format(
                people=d.people_count or 2, issue=ISSUES.get(d.category, "各自的诉求"), category=d.category
            )
            reason_at += timedelta(seconds=rng.randint(20, 240))
            # never before the case itself (one registered late on the month's last day)
            with clock.frozen(max(reason_at, d.events[0].at + timedelta(minutes=5))):
                write_carry_over(h.user(responsible_center(d)), d, month, text)
            h.stats["carry_overs"] += 1
        for unit in centres:
            if month == last and late_town is not None and unit.node.path.startswith(late_town.path):
                continue
            if unit.node.level not in (NodeLevel.DISTRICT, NodeLevel.TOWN, NodeLevel.SUBDISTRICT) and not (
                month >= villages_since and featured is not None and unit.node.path.startswith(featured.path)
            ):
                continue
            depth = unit.node.path.count("/")
            day = month.last + timedelta(days={2: 7, 3: 4}.get(depth, 2) + rng.randint(0, 2))
            at = min(local_instant(day, rng.randint(9 * 3600, 17 * 3600)), h.now - timedelta(minutes=1))
            with clock.frozen(at):
                close_month(h.user(unit), unit.node, month, today=local_date(at))
            h.stats["month_closes"] += 1
        month = month.shift(1)


def history_summary(stats: Counter, first: date, last: date, h: History, sweeps: list) -> list[str]:
    followups = Counter(
        (str(k), str(s)) for k, s in db.session.execute(select(FollowUp.kind, FollowUp.status))
    )
    done = sum(n for (_, s), n in followups.items() if s == FollowUpStatus.DONE.value)
    open_ = sum(n for (_, s), n in followups.items() if s == FollowUpStatus.OPEN.value)
    late = db.session.scalar(
        select(func.count(FollowUp.id)).where(
            FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_on < h.today
        )
    )
    unread = db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None)))
    notes = db.session.scalar(select(func.count(Notification.id)))
    s = h.stats
    lines = [
        f"纠纷：{sum(stats[x] for x in Status)} 件，登记日期 {first} 至 {last}；"
        f"待分流 {stats[Status.PENDING]}，办理中 {stats[Status.HANDLING]}（其中超期 {stats['overdue']}），"
        f"稳控 {stats[Status.STABILIZED]}，已办结 {stats[Status.CLOSED]}；另有法院诉前委派 {s['referrals']} 件。",
        f"调解记录 {stats['sessions'] + s['referrals']} 份；民转刑预警 {s['police']} 次；"
        f"司法确认申请 {s['confirmations']} 件。",
        f"回访：已完成 {done}，待办 {open_}（其中已到期 {late}）；当事人评价 {s['party_ratings']} 条。",
        f"调解协议：已生效 {s['agreements']} 份（均出具电子签章 PDF），签署中 {s['agreements_signing']} 份；"
        f"单位印章 {s['seals']} 枚。",
        f"排查报告 {s['screenings']} 份（其中零报告 {s['zero_reports']}）；督办 {s['supervisions']} 件"
        f"（已回复 {s['supervisions_replied']}，逾期升级 {sum(x.escalated for x in sweeps)}）。",
        f"月清月结：结转说明 {s['carry_overs']} 条，结账上报 {s['month_closes']} 次；"
        f"期限预警/超期提醒 {sum(x.alerts for x in sweeps)} 次；通知 {notes} 条（未读 {unread}）。",
        *h.messages,
    ]
    errors = [e for x in sweeps for e in x.errors]
    if errors:
        lines.append("定时巡检出错：" + "；".join(errors))
    return lines


def issue_district_notice(today: date) -> str | None:
    """The district 综治中心 (quzhongxin) issues last month's 考核通报 of the district, through the same
    service as the scorecard page; its number, or None when there is nothing to issue it with or it
    exists already."""
    district = db.session.scalar(select(Node).where(Node.code == DISTRICT_CODE))
    center = db.session.scalar(select(User).where(User.username == "quzhongxin"))
    term = Month.of(today).shift(-1)
    if district is None or center is None:
        return None
    if db.session.scalar(select(Notice.id).where(Notice.node_id == district.id, Notice.period == term.key)):
        return None
    return issue_notice(center, district, term).number
