"""Deadlines of a case. (Interface stub: natural days from DOMAIN.md §5; the routing issue replaces the
internals with the admin-edited time-limit table and the working-day calendar, same signature.)"""

from __future__ import annotations

from datetime import date, timedelta

DEFAULT_DAYS = {"人民调解": 30, "行政调解": 30, "司法调解": 30, "诉调对接": 30}
CATEGORY_DAYS = {"劳动争议/欠薪": 15, "道路交通事故": 10}


def deadline_for(channel: str | None, category: str, accepted_on: date | None) -> date | None:
    """The last day of the time limit, counted from the day after 受理; None when not accepted."""
    if accepted_on is None or channel is None:
        return None
    days = CATEGORY_DAYS.get(category, DEFAULT_DAYS.get(channel, 30))
    return accepted_on + timedelta(days=days)
