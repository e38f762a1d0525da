"""Times are stored in UTC and shown in Asia/Shanghai; calendar dates are Shanghai dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from mediation import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return clock.now()  # the wall clock unless a test or demo moved it (mediation/clock.py)


def local_today() -> date:
    return clock.today()


def to_local(dt: datetime | None) -> datetime | None:
    """A naive UTC datetime from the database as an aware Shanghai datetime."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def local_date(dt: datetime) -> date:
    return to_local(dt).date()


def cn_date(value, blank: str = "") -> str:
    """A date as documents write it: 2026年3月12日 (no zero padding). Takes a date, a datetime
    (naive UTC from the database: its Shanghai date) or an ISO string; ``blank`` when empty."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10]) if value.strip() else None
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = local_date(value)
    if not value:
        return blank
    return f"{value.year}年{value.month}月{value.day}日"
