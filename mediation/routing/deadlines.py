"""Deadlines of a case: the time-limit table, the day counting, extensions and the warning level.

A limit counts from the day after 受理 (DOMAIN.md §5): accepted on 11-02 with 30 natural days, the
deadline is 12-02 and the case is overdue from 12-03. A limit in working days ends on the N-th
working day after 受理, by the official calendar with its 调休 make-up days (routing/calendar.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from mediation.common.enums import Channel, Status
from mediation.common.time import local_today
from mediation.extensions import db
from mediation.routing.calendar import add_working_days
from mediation.routing.models import TimeLimit


@dataclass(frozen=True)
class Limit:
    days: int
    working_days: bool = False
    basis: str | None = None
    channel: str | None = None
    category: str | None = None

    @property
    def label(self) -> str:
        return f"{self.days}{'个工作日' if self.working_days else '天'}"

    def deadline(self, accepted_on: date) -> date:
        return add_days(accepted_on, self.days, self.working_days)


# DOMAIN.md §5. Seeded into the table when missing; the table is what counts once a row exists.
DEFAULT_LIMITS: tuple[Limit, ...] = (
    Limit(30, False, "人民调解一般在一个月内调结（司法部人民调解工作规定）", Channel.PEOPLE.value),
    Limit(30, False, "本平台默认时限", Channel.ADMINISTRATIVE.value),
    Limit(30, False, "本平台默认时限", Channel.JUDICIAL.value),
    Limit(30, False, "最高人民法院特邀调解规定；经双方当事人同意可以延长", Channel.COURT_LINK.value),
    Limit(15, False, "劳动争议调解仲裁法第十四条", None, "劳动争议/欠薪"),
    Limit(10, False, "道路交通事故处理程序规定（交警调解）", None, "道路交通事故"),
)
FALLBACK = Limit(30, False, "本平台默认时限")

# Levels shown with each open case.
NORMAL, WARNING, OVERDUE = "正常", "预警", "超期"
WARNING_LEVELS = (NORMAL, WARNING, OVERDUE)
DEFAULT_WARNING_RATIO = 0.8


def add_days(start: date, days: int, working_days: bool = False) -> date:
    """The last day of a period of ``days`` (natural or working) counted from the day after ``start``."""
    if working_days:
        return add_working_days(start, days)
    return start + timedelta(days=days)


class TimeLimits:
    """The time-limit table as loaded once (one small query), with the defaults behind it."""

    def __init__(self, rows) -> None:
        self._by_key: dict[tuple[str | None, str | None], Limit] = {
            (d.channel, d.category): d for d in DEFAULT_LIMITS
        }
        for r in rows:
            channel = r.channel.value if r.channel is not None else None
            self._by_key[(channel, r.category)] = Limit(r.days, r.working_days, r.basis, channel, r.category)

    def limit(self, channel: str | None, category: str | None) -> Limit:
        channel = channel.value if isinstance(channel, Channel) else channel
        for key in ((channel, category), (None, category), (channel, None), (None, None)):
            if key in self._by_key:
                return self._by_key[key]
        return FALLBACK

    def deadline(self, channel: str | None, category: str | None, accepted_on: date | None) -> date | None:
        if accepted_on is None or channel is None:
            return None
        return self.limit(channel, category).deadline(accepted_on)


_CACHE_KEY = "mediation.time_limits"


def load_time_limits() -> TimeLimits:
    """The table as the current database session sees it, cached for the rest of the transaction."""
    session = db.session()
    cached = session.info.get(_CACHE_KEY)
    if cached is None:
        cached = session.info[_CACHE_KEY] = TimeLimits(session.scalars(select(TimeLimit)).all())
    return cached


def forget_time_limits(session: Session | None = None) -> None:
    (session or db.session()).info.pop(_CACHE_KEY, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_on_transaction_end(session, *args) -> None:
    session.info.pop(_CACHE_KEY, None)


def _table() -> TimeLimits:
    return load_time_limits() if has_app_context() else TimeLimits([])


def time_limit_for(channel: str | None, category: str | None) -> Limit:
    return _table().limit(channel, category)


def deadline_for(channel: str | None, category: str, accepted_on: date | None) -> date | None:
    """The last day of the time limit, counted from the day after 受理; None when not accepted or
    not routed. Uses the admin-edited table (defaults of DOMAIN.md §5 where it has no row)."""
    if accepted_on is None or channel is None:
        return None
    return _table().deadline(channel, category, accepted_on)


def seed_time_limits() -> int:
    """Insert the default rows that are missing. Returns how many were added. Caller commits."""
    existing = set(db.session.scalars(select(TimeLimit.key)))
    added = 0
    for d in DEFAULT_LIMITS:
        key = TimeLimit.key_for(d.channel, d.category)
        if key not in existing:
            db.session.add(
                TimeLimit(
                    key=key,
                    channel=Channel(d.channel) if d.channel else None,
                    category=d.category,
                    days=d.days,
                    working_days=d.working_days,
                    basis=d.basis,
                )
            )
            added += 1
    db.session.flush()
    forget_time_limits()
    return added


def set_time_limit(data: dict):
    """Create or change the limit of a channel and category (validated ``TimeLimitIn``). Caller commits."""
    channel, category = data.get("channel"), data.get("category")
    key = TimeLimit.key_for(channel, category)
    row = db.session.scalar(select(TimeLimit).where(TimeLimit.key == key))
    if row is None:
        row = TimeLimit(key=key, channel=Channel(channel) if channel else None, category=category)
        db.session.add(row)
    row.days = data["days"]
    row.working_days = bool(data.get("working_days"))
    row.basis = data.get("basis")
    db.session.flush()
    forget_time_limits()
    return row


def delete_time_limit(limit_id: int) -> bool:
    """Remove a row: the default of DOMAIN.md §5 (or the next less specific row) applies again."""
    row = db.session.get(TimeLimit, limit_id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    forget_time_limits()
    return True


def _warning_ratio() -> float:
    if has_app_context():
        return float(current_app.config.get("DEADLINE_WARNING_RATIO", DEFAULT_WARNING_RATIO))
    return DEFAULT_WARNING_RATIO


def level_for(
    accepted_on: date | None, deadline: date | None, today: date, ratio: float | None = None
) -> str | None:
    """正常 / 预警 (at least ``ratio`` of the time from 受理 to the deadline used) / 超期 (after the
    deadline day). None without a deadline."""
    if deadline is None:
        return None
    if today > deadline:
        return OVERDUE
    ratio = _warning_ratio() if ratio is None else ratio
    if accepted_on is None:
        return NORMAL
    total = (deadline - accepted_on).days
    used = (today - accepted_on).days
    if total <= 0 or used >= ratio * total:
        return WARNING
    return NORMAL


def warning_level(dispute, today: date | None = None) -> str | None:
    """The warning level of an open case (None for a closed case or one without a deadline)."""
    if dispute.status == Status.CLOSED or dispute.deadline is None:
        return None
    return level_for(dispute.accepted_on, dispute.deadline, today or local_today())


def days_left(dispute, today: date | None = None) -> int | None:
    """Natural days until the deadline (0 on the deadline day, negative once overdue)."""
    if dispute.deadline is None:
        return None
    return (dispute.deadline - (today or local_today())).days
