"""Times are stored in UTC and shown in Asia/Shanghai; calendar dates are Shanghai dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def local_today() -> date:
    return datetime.now(SHANGHAI).date()


def to_local(dt: datetime | None) -> datetime | None:
    """A naive UTC datetime from the database as an aware Shanghai datetime."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def local_date(dt: datetime) -> date:
    return to_local(dt).date()
