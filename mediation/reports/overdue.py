"""The overdue review (超期审查): the open cases of a subtree in 预警 or 超期, riskiest and longest
overdue first, the league of lead units, and one-click 督办 through the follow-ups area."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from flask import current_app, has_app_context
from marshmallow import ValidationError
from sqlalchemy import and_, case, func, or_, select

from mediation.accounts.access import is_center_user_or_admin, predicate
from mediation.accounts.models import User
from mediation.common.enums import RiskLevel, Status
from mediation.common.paging import Page, page_window
from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.followups import service as followups_service
from mediation.followups.models import SupervisionLevel, SupervisionOrder
from mediation.geo.models import Node, Unit
from mediation.keypeople.models import CaseLeader
from mediation.reports.common import ReportError
from mediation.reports.sql import built_once, day_number, in_subtree, lit, report_rows
from mediation.routing.deadlines import DEFAULT_WARNING_RATIO, NORMAL, OVERDUE, WARNING, level_for

RISK_RANK = {
    RiskLevel.ORDINARY.value: 0,
    RiskLevel.MAJOR.value: 1,
    RiskLevel.SERIOUS.value: 2,
    RiskLevel.EXTREME.value: 3,
}


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


def in_review_sql(today: date):
    """``deadline_level_sql(today)`` in 预警 or 超期, written as a plain condition on the dates (the
    same rule, term by term: past the deadline; or accepted, and the deadline not after 受理 or at
    least the configured share of the time used). PostgreSQL estimates a CASE compared with a list
    at a handful of rows, and planned the review of 11,000 open cases at 10⁶ as a nested loop
    over the 489 nodes (1.7 s); the plain condition it estimates from the columns' statistics."""
    ratio = warning_ratio()
    t = day_number(lit(today))
    a = day_number(Dispute.accepted_on)
    d = day_number(Dispute.deadline)
    return or_(
        Dispute.deadline < lit(today),
        and_(
            Dispute.accepted_on.is_not(None),
            or_(d - a <= 0, (t - a) * ratio.denominator >= (d - a) * ratio.numerator),
        ),
    )


def risk_rank_sql():
    return case(RISK_RANK, value=Dispute.risk_level, else_=0)


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
        in_review_sql(today),
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
    only) and the league grouped by lead unit with the unit's name, whose sums are the counts."""
    today = today or local_today()
    page_stmt, league_stmt = _review_statements(
        node.path, today, warning_ratio(), unit_id, level, page, per_page
    )
    # Rows unpacked as tuples (in the selects' column order): the page's 50 and the league's rows.
    items = [
        {
            "id": id_,
            "case_no": case_no,
            "category": category,
            "risk_level": str(risk_level),
            "prominent": bool(prominent),
            "status": str(status),
            "channel": str(channel) if channel else None,
            "accepted_on": accepted_on.isoformat() if accepted_on else None,
            "deadline": deadline.isoformat(),
            "level": lvl,
            "days_overdue": int(days_overdue),
            "unit": unit_code,
            "unit_name": unit_name or "（未分流）",
            "node_name": node_name,
            "supervisions": int(supervisions or 0),
            "leader": f"{leader_post} {leader_name}" if leader_name else None,
        }
        for (
            id_,
            case_no,
            category,
            risk_level,
            prominent,
            status,
            accepted_on,
            deadline,
            channel,
            _unit_id,
            _node_id,
            lvl,
            days_overdue,
            _rank,
            unit_name,
            unit_code,
            node_name,
            supervisions,
            leader_name,
            leader_post,
        ) in report_rows(page_stmt).all()
    ]
    league = [
        {
            "unit_id": unit,
            "unit": code if unit is not None else None,
            "unit_name": name if unit is not None else "（未分流）",
            "overdue": int(overdue),
            "warning": int(warning),
        }
        for unit, code, name, overdue, warning in report_rows(league_stmt).all()
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
        **Page(items=items, total=total, page=page, per_page=per_page).envelope(),
        "league": league,
    }


@built_once
def _review_statements(
    path: str, today: date, ratio: Fraction, unit_id: int | None, level: str | None, page: int, per_page: int
):
    """The overdue review's two selects for a subtree (by path), a day, the warning ratio (part of
    the key: deadline_level_sql reads it from the configuration) and the list's filters and page."""
    lvl = deadline_level_sql(today).label("level")
    overdue_days = (day_number(lit(today)) - day_number(Dispute.deadline)).label("days_overdue")
    base = [in_subtree(path), *review_base(today)]
    filtered = list(base)
    if unit_id is not None:
        filtered.append(Dispute.unit_id == unit_id)
    if level == OVERDUE:  # within the review: 超期 is past the deadline, 预警 the rest
        filtered.append(Dispute.deadline < lit(today))
    elif level == WARNING:
        filtered.append(Dispute.deadline >= lit(today))

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
    )
    page_rows = page_window(page_rows, page, per_page).subquery()
    supervisions = (
        select(func.count())
        .where(SupervisionOrder.dispute_id == page_rows.c.id)
        .correlate(page_rows)
        .scalar_subquery()
    )
    page_stmt = (
        select(
            page_rows,
            Unit.name.label("unit_name"),
            Unit.code.label("unit_code"),
            Node.name.label("node_name"),
            supervisions.label("supervisions"),
            CaseLeader.name.label("leader_name"),
            CaseLeader.post.label("leader_post"),
        )
        .join(Node, Node.id == page_rows.c.node_id)
        .outerjoin(Unit, Unit.id == page_rows.c.unit_id)
        .outerjoin(CaseLeader, CaseLeader.dispute_id == page_rows.c.id)
        .order_by(
            page_rows.c.rank.desc(),
            page_rows.c.prominent.desc(),
            page_rows.c.days_overdue.desc(),
            page_rows.c.id,
        )
    )
    league_stmt = (
        select(
            Dispute.unit_id,
            Unit.code.label("unit_code"),
            Unit.name.label("unit_name"),
            func.count().filter(Dispute.deadline < lit(today)).label("overdue"),
            func.count().filter(Dispute.deadline >= lit(today)).label("warning"),
        )
        .outerjoin(Unit, Unit.id == Dispute.unit_id)
        .where(*base)
        .group_by(Dispute.unit_id, Unit.code, Unit.name)
    )
    return page_stmt, league_stmt


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
