"""我的待办: what needs the signed-in user today, grouped by kind and counted.

ONE function, :func:`worklist`, computes it for the page (followups.worklist, "/worklist/") and the
API (``GET /api/v1/worklist``). It reuses the rules that exist elsewhere and re-implements none:

- who sees a case: ``accounts.access.dispute_scope``; "分给我的": ``accounts.access.assigned_to``;
- who may route or accept: ``disputes.workflow.refusal`` (the one transition table);
- 预警 / 超期: ``reports.overdue.deadline_level_sql`` (``routing.deadlines.level_for`` as SQL);
- 回访 and 督办: ``followups.service.followups_query`` / ``supervisions_query``;
- 月结: ``reports.month_close.may_close`` / ``active_close`` / ``missing_reasons`` /
  ``pending_reopen_requests``.

Each item is one click from its action: the case page's action (``#action-accept`` …), the
agreement page, the 督办 page or the month-close page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from mediation import clock
from mediation.accounts.access import assigned_to, dispute_scope, is_center_user
from mediation.accounts.models import User
from mediation.common.enums import Status
from mediation.disputes.casework import MediationSession
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage, refusal, stage_condition
from mediation.documents.models import Agreement, AgreementStatus
from mediation.documents.service import may_write
from mediation.extensions import db
from mediation.followups.models import FollowUpStatus, SupervisionOrder, SupervisionStatus
from mediation.followups.service import followups_query, supervision_link, supervisions_query
from mediation.reports import month_close, screenings
from mediation.reports.common import Month
from mediation.reports.overdue import deadline_level_sql
from mediation.routing.service import responsible_center
from mediation.sessions.models import ScheduledSession, SessionStatus
from mediation.sessions.service import utc_bounds

PENDING, AWAITING, WARNING, OVERDUE = "待分流", "待受理", "预警", "超期"
SESSION, FOLLOWUP, SUPERVISION, SIGNING = "今日调解", "回访", "督办", "待签署"
MONTH_CLOSE, REOPEN = "月结", "月结审批"
SWEEP_OPEN = "排查未登记"
# The kinds in the order the page shows them, with what the user is asked to do.
KINDS: dict[str, str] = {
    OVERDUE: "已超过办理期限的案件，请尽快办结或申请延期",
    WARNING: "办理期限已用去大半的案件",
    SUPERVISION: "综治中心督办本单位、等待回复的案件",
    PENDING: "已上报本综治中心、等待分流的案件",
    AWAITING: "分流或移交给本单位、等待受理的案件",
    SESSION: "今天安排或记录了调解的本人案件",
    FOLLOWUP: "今天及以前到期的回访",
    SIGNING: "已提交签署、尚缺签名或印章的调解协议",
    MONTH_CLOSE: "上月月清月结：突出问题结转说明与结账",
    REOPEN: "下级综治中心申请重新打开已结账的月份，等待本中心审批",
    SWEEP_OPEN: "辖区网格排查发现的纠纷，超过规定天数既未登记也未说明",
}
# At most this many items of a kind are listed (the count is always the full number).
MAX_ITEMS_PER_KIND = 200


@dataclass
class WorkItem:
    kind: str
    dispute_id: int | None
    case_no: str | None
    due: date | None
    title: str
    url: str
    obj: object = field(default=None, repr=False, compare=False)  # the row behind it (for the page)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "dispute_id": self.dispute_id,
            "case_no": self.case_no,
            "due": self.due,
            "title": self.title,
            "url": self.url,
        }


@dataclass
class Worklist:
    today: date
    items: list[WorkItem]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def of(self, kind: str) -> list[WorkItem]:
        return [i for i in self.items if i.kind == kind]

    @property
    def groups(self) -> list[tuple[str, str, int, list[WorkItem]]]:
        """(kind, explanation, count, items) of the kinds that have something, in page order."""
        return [(k, KINDS[k], self.counts[k], self.of(k)) for k in KINDS if self.counts.get(k)]


def case_url(dispute_id: int, anchor: str = "workflow") -> str:
    return url_for("disputes.show", dispute_id=dispute_id) + f"#{anchor}"


def _order(items: list[WorkItem]) -> list[WorkItem]:
    return sorted(items, key=lambda i: (i.due is None, i.due or date.min, i.dispute_id or 0))


def _visible(user: User):
    return select(Dispute).where(dispute_scope(user))


# --- the kinds ----------------------------------------------------------------------------------


def _pending(user: User) -> list[WorkItem]:
    """待分流: pending cases the user's 综治中心 is the one to triage (and the table lets them route)."""

    if not is_center_user(user):
        return []
    cases = db.session.scalars(
        _visible(user)
        .where(Dispute.status == Status.PENDING)
        .order_by(Dispute.registered_on, Dispute.id)
        .limit(2000)
    )
    out = []
    for d in cases:
        center = responsible_center(d)
        if center is not None and center.id == user.unit_id and refusal(user, d, "route") is None:
            out.append(
                WorkItem(
                    PENDING,
                    d.id,
                    d.case_no,
                    None,
                    f"{d.category} · {d.registered_on.isoformat()}登记",
                    case_url(d.id, "action-route"),
                )
            )
    return out


def _awaiting(user: User) -> list[WorkItem]:
    """待受理: cases routed or transferred to the user's unit (lead unit) that wait for 受理."""

    cases = db.session.scalars(
        _visible(user)
        .where(stage_condition(Stage.AWAITING), Dispute.unit_id == user.unit_id)
        .order_by(Dispute.updated_at, Dispute.id)
        .limit(2000)
    )
    return [
        WorkItem(
            AWAITING,
            d.id,
            d.case_no,
            None,
            f"{d.category} · {d.channel or ''}",
            case_url(d.id, "action-accept"),
        )
        for d in cases
        if refusal(user, d, "accept") is None
    ]


def _deadlines(user: User, today: date) -> list[WorkItem]:
    """预警 / 超期: open cases assigned to the user, by the one warning rule."""

    level = deadline_level_sql(today)
    rows = db.session.execute(
        select(Dispute, level.label("level"))
        .where(
            dispute_scope(user),
            assigned_to(user),
            Dispute.status != Status.CLOSED,
            Dispute.deadline.is_not(None),
            level.in_([WARNING, OVERDUE]),
        )
        .order_by(Dispute.deadline, Dispute.id)
        .limit(4000)
    ).all()
    out = []
    for d, lvl in rows:
        days = (d.deadline - today).days
        title = f"超期{-days}天" if lvl == OVERDUE else ("今天到期" if days == 0 else f"还剩{days}天")
        out.append(WorkItem(lvl, d.id, d.case_no, d.deadline, f"{d.category} · {title}", case_url(d.id)))
    return out


def _sessions(user: User, today: date) -> list[WorkItem]:
    """今日调解: mediation sessions on today's date of the cases assigned to the user."""

    rows = db.session.execute(
        select(MediationSession, Dispute.case_no)
        .join(Dispute, MediationSession.dispute_id == Dispute.id)
        .where(dispute_scope(user), assigned_to(user), MediationSession.held_on == today)
        .order_by(MediationSession.id)
    ).all()
    return [
        WorkItem(
            SESSION,
            s.dispute_id,
            case_no,
            s.held_on,
            f"{s.place} · {s.mediators}",
            case_url(s.dispute_id, "sessions"),
            obj=s,
        )
        for s, case_no in rows
    ] + _planned_sessions(user, today)


def _planned_sessions(user: User, today: date) -> list[WorkItem]:
    """今日调解 too: sessions planned (已安排) for today of the cases assigned to the user; once held
    they are 已举行 and counted above as the record (mediation/sessions/service.py)."""
    lo, hi = utc_bounds(today, today)
    rows = db.session.execute(
        select(ScheduledSession, Dispute.case_no)
        .join(Dispute, ScheduledSession.dispute_id == Dispute.id)
        .where(
            dispute_scope(user),
            assigned_to(user),
            ScheduledSession.status == SessionStatus.SCHEDULED,
            ScheduledSession.starts_at >= lo,
            ScheduledSession.starts_at < hi,
        )
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    ).all()
    return [
        WorkItem(
            SESSION,
            s.dispute_id,
            case_no,
            today,
            f"{s.local_start:%H:%M} {s.place} · 已安排",
            case_url(s.dispute_id, "scheduled-sessions"),
            obj=s,
        )
        for s, case_no in rows
    ]


def _followups(user: User, today: date) -> list[WorkItem]:
    """回访: the open follow-ups of the user's unit (and the user, or nobody in particular) due by today."""

    rows = db.session.scalars(
        followups_query(user, mine=True, status=FollowUpStatus.OPEN.value, due_before=today)
    )
    return [
        WorkItem(
            FOLLOWUP,
            f.dispute_id,
            f.dispute.case_no,
            f.due_on,
            f.kind.value,
            url_for("followups.worklist") + f"#followup-{f.id}",
            obj=f,
        )
        for f in rows
    ]


def _supervisions(user: User) -> list[WorkItem]:
    """督办: orders addressed to the user's unit that still await its reply."""

    waiting = [SupervisionStatus.PENDING, SupervisionStatus.ESCALATED, SupervisionStatus.LAPSED]
    rows = db.session.scalars(supervisions_query(user, mine=True).where(SupervisionOrder.status.in_(waiting)))
    return [
        WorkItem(
            SUPERVISION,
            o.dispute_id,
            o.dispute.case_no,
            o.reply_by,
            f"{o.level.value}督办 · {o.issued_by_unit.name}",
            supervision_link(o),
            obj=o,
        )
        for o in rows
    ]


def _signing(user: User) -> list[WorkItem]:
    """待签署: agreements of the user's unit submitted for signing and not yet in effect."""

    if not may_write(user):
        return []
    rows = db.session.scalars(
        select(Agreement)
        .join(Dispute, Agreement.dispute_id == Dispute.id)
        .where(
            dispute_scope(user),
            Agreement.unit_id == user.unit_id,
            Agreement.status == AgreementStatus.SIGNING,
        )
        .order_by(Agreement.signing_started_at, Agreement.id)
    )
    return [
        WorkItem(
            SIGNING,
            a.dispute_id,
            a.dispute.case_no,
            a.performance_due,
            f"{a.number} · 尚缺：" + "、".join(a.missing()),
            url_for("documents.agreement", agreement_id=a.id),
            obj=a,
        )
        for a in rows
    ]


def _month_close(user: User, today: date) -> list[WorkItem]:
    """月结 (the user's 综治中心 closes last month: each 突出问题 without a carry-over reason, or the
    close itself once none is missing) and 月结审批 (reopen requests waiting for the user)."""

    out: list[WorkItem] = []
    if is_center_user(user) and month_close.may_close(user, user.unit.node):
        node, month = user.unit.node, Month.of(today).shift(-1)
        if month_close.active_close(node, month) is None:
            url = url_for("reports.close_page", node=node.code, month=month.key)
            missing = month_close.missing_reasons(node, month)
            for c in missing:
                out.append(
                    WorkItem(
                        MONTH_CLOSE,
                        c["id"],
                        c["case_no"],
                        None,
                        f"{month.label}突出问题未办结，请填写结转说明",
                        url + "#carry-over",
                    )
                )
            if not missing:
                out.append(WorkItem(MONTH_CLOSE, None, None, None, f"{month.label}尚未结账上报", url))
    for req in month_close.pending_reopen_requests(user):
        close = req.month_close
        if month_close.may_decide_reopen(user, close):
            out.append(
                WorkItem(
                    REOPEN,
                    None,
                    None,
                    None,
                    f"{close.node.name}申请重新打开{close.month}：{req.reason}",
                    url_for("reports.close_page", month=close.month) + "#reopen-requests",
                    obj=req,
                )
            )
    return out


def _sweep_findings(user: User, today: date) -> list[WorkItem]:
    """排查未登记 (综治中心 staff): findings of the area's sweeps left open past SWEEP_REGISTER_DAYS."""
    if not is_center_user(user):
        return []
    days = timedelta(days=current_app.config["SWEEP_REGISTER_DAYS"])
    return [
        WorkItem(
            SWEEP_OPEN,
            None,
            None,
            f.screening.reported_on + days,
            f"{f.node.name}排查发现：{f.description[:40]}",
            url_for("reports.sweep_page", screening_id=f.screening_id),
            obj=f,
        )
        for f in screenings.overdue_findings(user, today, limit=None)
    ]


def worklist(user: User, today: date | None = None) -> Worklist:
    """Everything that needs ``user`` today: the items (at most MAX_ITEMS_PER_KIND per kind, most
    urgent first) and the full count per kind (every kind of KINDS, zero included)."""
    if not has_request_context():  # the CLI or a test: the links are built as in a request to "/"
        with current_app.test_request_context():
            return worklist(user, today)
    today = today or clock.today()
    found = [
        *_deadlines(user, today),
        *_supervisions(user),
        *_pending(user),
        *_awaiting(user),
        *_sessions(user, today),
        *_followups(user, today),
        *_signing(user),
        *_month_close(user, today),
        *_sweep_findings(user, today),
    ]
    counts = {k: 0 for k in KINDS}
    items: list[WorkItem] = []
    for kind in KINDS:
        of_kind = _order([i for i in found if i.kind == kind])
        counts[kind] = len(of_kind)
        items.extend(of_kind[:MAX_ITEMS_PER_KIND])
    return Worklist(today, items, counts)
