"""Working days (工作日) by the State Council holiday calendar, with its make-up working days (调休).

The calendar comes from the maintained ``chinese_calendar`` package (one release per year when the
State Council publishes the next year's arrangement). For a year the installed package does not know
yet, Monday to Friday are working days except the fixed-date statutory holidays; :func:`calendar_covers`
tells whether a date is covered, so a screen can say that a deadline is provisional.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

_HOLIDAYS = chinese_calendar.holidays  # date → holiday name (only those falling on a weekday or adjusted)
_WORKDAYS = chinese_calendar.workdays  # date → holiday whose make-up day it is (调休 weekend workdays)
_FIRST_YEAR = min(_HOLIDAYS).year
_LAST_YEAR = max(_HOLIDAYS).year


def calendar_covers(day: date) -> bool:
    """Whether the official calendar of ``day``'s year is known to the installed package."""
    return _FIRST_YEAR <= day.year <= _LAST_YEAR


# Statutory holidays on fixed dates (全国年节及纪念日放假办法, 2025): 元旦, 劳动节, 国庆节. For a year
# beyond the package's data they are still known; the lunar holidays and the 调休 are not.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def is_working_day(day: date) -> bool:
    if day in _WORKDAYS:
        return True
    if day in _HOLIDAYS:
        return False
    if not calendar_covers(day) and (day.month, day.day) in FIXED_HOLIDAYS:
        return False
    return day.weekday() < 5


HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争胜利70周年纪念日",
}


def holiday_name(day: date) -> str | None:
    """The Chinese name of the holiday a day off belongs to; None for ordinary days and weekends."""
    name = _HOLIDAYS.get(day)
    return HOLIDAY_NAMES.get(name, name) if name else None


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
    if days < 0:
        raise ValueError("days must be ≥ 0")
    day, left = start, days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in the interval (start, end]: 0 when end ≤ start."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
