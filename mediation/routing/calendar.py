"""Working days (工作日) by the State Council holiday calendar, with its make-up working days (调休).

Where a day's status comes from, first match wins:

1. **The override table** (``calendar_notice`` / ``calendar_day``): the admin enters a year's official
   notice (国务院办公厅关于…年部分节假日安排的通知) on the routing admin page or with
   ``flask --app mediation calendar import``. A day listed there is a holiday (放假) or a working day
   (上班) whatever the packages say. An *annual* notice (全年安排) also replaces the packages' data of
   its year: the days it does not list are ordinary (Monday to Friday working).
2. **The ``holidays`` package** (monthly releases) for the years it has the official notices of
   (2001 up to its newest notice), with the 调休 weekend working days.
3. **``chinesecalendar``** for a year it has and ``holidays`` has not (it has 2004 to its newest
   notice; it agrees with ``holidays`` on every day of their common years but 2005-12-31, where
   ``holidays`` follows the 2006 notice). It is kept as a fallback in case it publishes a year first.
4. **An estimate** for any other year: the statutory holidays of 全国年节及纪念日放假办法 (2025) with
   their lunar dates, plus the 补假 weekday after one falling on a weekend, as ``holidays`` computes
   them; no 调休 weekend working days (those only come with the notice). :func:`calendar_covers`
   is False for such a year, and :func:`coverage_warning` tells admins (web banner, scheduler log).

The override set is loaded once per process and re-checked once per database transaction against a
token (``calendar_state``) that every change of the table replaces, so every process (web workers,
the scheduler) sees a change with its next transaction, at the cost of one one-row query.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import metadata

import chinese_calendar
from flask import has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from mediation import clock
from mediation.extensions import db
from mediation.routing.models import CalendarDay, CalendarNotice, CalendarState

log = logging.getLogger(__name__)

COVERAGE_DAYS = 90  # admins are warned when the calendar does not cover the next 90 days

# --- the packages ----------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


HOLIDAYS_VERSION = _version("holidays")
CHINESECALENDAR_VERSION = _version("chinesecalendar")

_CC_HOLIDAYS = chinese_calendar.holidays  # date → holiday name (English)
_CC_WORKDAYS = chinese_calendar.workdays  # date → holiday whose make-up day it is
_CC_YEARS = range(min(_CC_HOLIDAYS).year, max(_CC_HOLIDAYS).year + 1)


@functools.cache
def holidays_official_years() -> range:
    """The years for which ``holidays`` has the State Council's notice (the 调休 table), 2001 on.
    (``holidays`` is imported on first use: it takes about half a second.)"""
    import holidays as holidays_pkg  # heavy: holidays adds half a second of start-up

    try:
        from holidays.countries.china import ChinaStaticHolidays  # heavy: as above

        last = max(ChinaStaticHolidays.special_public_holidays)
    except (ImportError, AttributeError, ValueError):  # a future layout of the package
        last = max(d.year for d in holidays_pkg.China(years=range(2001, 2100)).weekend_workdays)
    return range(2001, last + 1)


# Statutory holidays on fixed dates (全国年节及纪念日放假办法, 2025): 元旦, 劳动节, 国庆节. Kept for
# callers; the estimate of an uncovered year also has the lunar ones (春节, 清明, 端午, 中秋).
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}

HOLIDAY_NAMES = {  # chinesecalendar's English names
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争胜利70周年纪念日",
}

SOURCE_NOTICE, SOURCE_HOLIDAYS, SOURCE_CC, SOURCE_ESTIMATE = (
    "notice",
    "holidays",
    "chinesecalendar",
    "estimate",
)
SOURCE_LABELS = {
    SOURCE_NOTICE: "管理员录入的国务院通知",
    SOURCE_HOLIDAYS: f"holidays {HOLIDAYS_VERSION}（国务院通知）",
    SOURCE_CC: f"chinesecalendar {CHINESECALENDAR_VERSION}（国务院通知）",
    SOURCE_ESTIMATE: "推定：仅按法定节日及补假推算，未含调休",
}


@dataclass(frozen=True)
class YearData:
    """One year as a package knows it: days off (with names) and 调休 weekend working days."""

    year: int
    off: dict[date, str]
    on: frozenset[date]
    source: str

    @property
    def official(self) -> bool:
        return self.source != SOURCE_ESTIMATE


_SUFFIX = re.compile(r"（[^（）]*）$")


def _clean_name(name: str) -> str | None:
    """``holidays``' Chinese names without the 补假/推定 suffixes; None for a 调休 rest day."""
    parts = []
    for part in name.split(";"):
        part = part.strip()
        while _SUFFIX.search(part):
            part = _SUFFIX.sub("", part)
        part = {"农历除夕": "春节"}.get(part, part)
        if part.startswith("休息日"):
            continue
        if part not in parts:
            parts.append(part)
    return "、".join(parts) or None


def _name_rest_days(off: dict[date, str | None], on: frozenset[date]) -> dict[date, str]:
    """A 调休 rest day takes the name of the holiday of its run of days off; so do the weekend days of
    that run (as the notices count them: 春节 2026 is 02-15 to 02-23, nine days)."""

    def is_off(d: date) -> bool:
        return d in off or (d.weekday() >= 5 and d not in on)

    named: dict[date, str] = {}
    for day, name in off.items():
        if name is None:
            for step in (-1, 1):
                d = day + timedelta(days=step)
                while is_off(d) and name is None:
                    name = off.get(d)
                    d += timedelta(days=step)
                if name:
                    break
        named[day] = name or "调休"
    for day, name in list(named.items()):
        for step in (-1, 1):
            d = day + timedelta(days=step)
            while d.weekday() >= 5 and d not in on and d not in off and d.year == day.year:
                named[d] = name
                d += timedelta(days=step)
    return named


@functools.cache
def package_year(year: int) -> YearData:
    """What the packages say about ``year`` (cached for the process: the packages do not change)."""
    official = holidays_official_years()
    if year in official or year not in _CC_YEARS:
        import holidays as holidays_pkg  # heavy: holidays adds half a second of start-up

        # The next year too: a notice lists make-up days of late December before its year.
        h = holidays_pkg.China(years=[year, year + 1], language="zh_CN")
        off = {d: _clean_name(n) for d, n in h.items() if d.year == year}
        on = frozenset(d for d in h.weekend_workdays if d.year == year)
        source = SOURCE_HOLIDAYS if year in official else SOURCE_ESTIMATE
        return YearData(year, _name_rest_days(off, on), on, source)
    off = {d: HOLIDAY_NAMES.get(n, n) for d, n in _CC_HOLIDAYS.items() if d.year == year}
    on = frozenset(d for d in _CC_WORKDAYS if d.year == year)
    return YearData(year, off, on, SOURCE_CC)


# --- the override table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """The admin's notices as loaded: ``days`` date → (working?, name); ``annual`` year → notice title."""

    days: dict[date, tuple[bool, str | None]] = field(default_factory=dict)
    annual: dict[int, str] = field(default_factory=dict)


EMPTY = Overrides()
_SESSION_KEY = "mediation.calendar_overrides"
_loaded: dict[str, Overrides] = {}  # token → overrides: the per-process cache
_loaded_lock = threading.Lock()


def _load(session) -> Overrides:
    days = {
        d: (working, name)
        for d, working, name in session.execute(
            select(CalendarDay.day, CalendarDay.working, CalendarDay.name)
        )
    }
    annual = dict(
        session.execute(
            select(CalendarNotice.year, CalendarNotice.title).where(CalendarNotice.annual_year.is_not(None))
        ).all()
    )
    return Overrides(days, annual)


def current_overrides() -> Overrides:
    """The override table as this transaction sees it: one one-row query per transaction for the
    token; the rows themselves are read again only when the token has changed. Without an app
    context (plain library use) there are no overrides."""
    if not has_app_context():
        return EMPTY
    session = db.session()
    cached = session.info.get(_SESSION_KEY)
    if cached is not None:
        return cached
    with session.no_autoflush:
        token = session.scalar(select(CalendarState.token).where(CalendarState.id == 1))
        if token is None:
            overrides = EMPTY
        else:
            overrides = _loaded.get(token)
            if overrides is None:
                overrides = _load(session)
                with _loaded_lock:
                    if len(_loaded) > 16:
                        _loaded.clear()
                    _loaded[token] = overrides
    session.info[_SESSION_KEY] = overrides
    return overrides


def forget_overrides(session=None) -> None:
    """Drop this transaction's view of the table (after a change in the same transaction)."""
    (session or db.session()).info.pop(_SESSION_KEY, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_on_transaction_end(session, *args) -> None:
    session.info.pop(_SESSION_KEY, None)


# --- the calendar ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayInfo:
    working: bool
    name: str | None  # the holiday a day off belongs to; None for ordinary days and weekends
    source: str


class Calendar:
    """The calendar with a given override set (take one with :func:`calendar` for a loop)."""

    def __init__(self, overrides: Overrides = EMPTY) -> None:
        self.overrides = overrides

    def info(self, day: date) -> DayInfo:
        hit = self.overrides.days.get(day)
        if hit is not None:
            return DayInfo(hit[0], None if hit[0] else hit[1], SOURCE_NOTICE)
        if day.year in self.overrides.annual:
            return DayInfo(day.weekday() < 5, None, SOURCE_NOTICE)
        data = package_year(day.year)
        if day in data.on:
            return DayInfo(True, None, data.source)
        name = data.off.get(day)
        if name is not None:
            return DayInfo(False, name, data.source)
        return DayInfo(day.weekday() < 5, None, data.source)

    def is_working_day(self, day: date) -> bool:
        hit = self.overrides.days.get(day)
        if hit is not None:
            return hit[0]
        if day.year in self.overrides.annual:
            return day.weekday() < 5
        data = package_year(day.year)
        if day in data.on:
            return True
        if day in data.off:
            return False
        return day.weekday() < 5

    def year_source(self, year: int) -> str:
        return SOURCE_NOTICE if year in self.overrides.annual else package_year(year).source

    def covers(self, day: date) -> bool:
        return self.year_source(day.year) != SOURCE_ESTIMATE

    def special_days(self, year: int) -> list[tuple[date, DayInfo]]:
        """The days of ``year`` that differ from Monday-to-Friday, and weekend days of a holiday."""
        out = []
        day = date(year, 1, 1)
        while day.year == year:
            info = self.info(day)
            if info.working != (day.weekday() < 5) or info.name:
                out.append((day, info))
            day += timedelta(days=1)
        return out


def calendar() -> Calendar:
    return Calendar(current_overrides())


def calendar_covers(day: date) -> bool:
    """Whether ``day``'s year is covered by official data: an annual notice in the override table or
    a package that has that year's notice."""
    return calendar().covers(day)


def is_working_day(day: date) -> bool:
    return calendar().is_working_day(day)


def holiday_name(day: date) -> str | None:
    """The Chinese name of the holiday a day off belongs to; None for ordinary days and weekends."""
    return calendar().info(day).name


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
    if days < 0:
        raise ValueError("days must be ≥ 0")
    working = calendar().is_working_day
    day, left = start, days
    while left:
        day += timedelta(days=1)
        if working(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in the interval (start, end]: 0 when end ≤ start."""
    working = calendar().is_working_day
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if working(day):
            count += 1
    return count


# --- coverage ----------------------------------------------------------------------------------------


def coverage_gaps(today: date | None = None, days: int = COVERAGE_DAYS) -> list[int]:
    """The years of the next ``days`` days (after ``today``) that no official data covers."""
    today = today or clock.today()
    cal = calendar()
    last = today + timedelta(days=days)
    return [
        y for y in range((today + timedelta(days=1)).year, last.year + 1) if not cal.covers(date(y, 12, 31))
    ]


def coverage_warning(today: date | None = None, days: int = COVERAGE_DAYS) -> str | None:
    """The warning for admins when the next ``days`` days are not all covered; None when they are."""
    today = today or clock.today()
    gaps = coverage_gaps(today, days)
    if not gaps:
        return None
    first = max(date(gaps[0], 1, 1), today + timedelta(days=1))
    years = "、".join(f"{y}年" for y in gaps)
    return (
        f"工作日历尚未包含{years}的国务院节假日安排：自{first.isoformat()}起，按工作日计算的办理时限和预警"
        f"只是推定（仅按法定节日及补假推算，不含调休上班日）。请在“工作日历”页录入国务院办公厅关于"
        f"{gaps[0]}年部分节假日安排的通知，或升级 holidays 软件包。"
    )


_warned_on: date | None = None
_warned_lock = threading.Lock()


def log_coverage_warning(logger: logging.Logger | None = None, today: date | None = None) -> str | None:
    """Log :func:`coverage_warning` (WARNING) at most once per day and process, e.g. from the
    scheduler's sweep. Never raises: a calendar problem must not stop the sweep."""
    global _warned_on
    today = today or clock.today()
    with _warned_lock:
        if _warned_on == today:
            return None
        _warned_on = today
    try:
        message = coverage_warning(today)
    except Exception:
        log.exception("could not check the working-day calendar's coverage")
        return None
    if message:
        (logger or log).warning("%s", message)
    return message
