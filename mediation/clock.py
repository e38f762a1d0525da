"""The application's clock: ``now()`` (naive UTC) and ``today()`` (the Shanghai calendar date).

Services, the timeline and the scheduler's sweep read the time here, so tests and demos can move it
instead of waiting for real days:

- in a process: ``clock.set(datetime | date)``, ``clock.advance(days=3)``, ``clock.reset()``, or the
  ``clock.frozen(...)`` context manager;
- across processes (e.g. two ``flask --app mediation scheduler`` processes in a test):
  ``MEDIATION_CLOCK_FILE`` names a file holding an ISO date or datetime, re-read whenever it changes;
  ``MEDIATION_CLOCK`` holds a fixed ISO date or datetime.

A date means 09:00 Shanghai time of that day. A naive datetime is UTC. Leases between scheduler
processes use :func:`real_now`, never the overridable clock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_lock = threading.Lock()
_frozen: datetime | None = None
_file_cache: tuple[str, int, datetime | None] | None = None  # (path, mtime_ns, value)


def real_now() -> datetime:
    """The wall clock (naive UTC), whatever the override."""
    return datetime.now(UTC).replace(tzinfo=None)


def _as_utc(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)
    return datetime.combine(value, time(9, 0), SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def _from_environment() -> datetime | None:
    global _file_cache
    path = os.environ.get("MEDIATION_CLOCK_FILE")
    if path:
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return None
        cache = _file_cache
        if cache and cache[0] == path and cache[1] == mtime:
            return cache[2]
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
        value = _as_utc(text) if text else None
        _file_cache = (path, mtime, value)
        return value
    fixed = os.environ.get("MEDIATION_CLOCK")
    return _as_utc(fixed) if fixed else None


def now() -> datetime:
    """The current time as a naive UTC datetime (how times are stored)."""
    if _frozen is not None:
        return _frozen
    return _from_environment() or real_now()


def today() -> date:
    """The current Shanghai calendar date (how due dates and deadlines are counted)."""
    return now().replace(tzinfo=UTC).astimezone(SHANGHAI).date()


def is_overridden() -> bool:
    return _frozen is not None or bool(
        os.environ.get("MEDIATION_CLOCK_FILE") or os.environ.get("MEDIATION_CLOCK")
    )


def set(value: datetime | date | str) -> datetime:
    """Freeze the clock at ``value`` for this process (every thread)."""
    global _frozen
    with _lock:
        _frozen = _as_utc(value)
        return _frozen


def advance(delta: timedelta | None = None, **kwargs) -> datetime:
    """Move a frozen clock forward (freezing it at the current time first if needed)."""
    global _frozen
    step = delta if delta is not None else timedelta(**kwargs)
    with _lock:
        _frozen = (_frozen or now()) + step
        return _frozen


def reset() -> None:
    """Back to the wall clock (or the environment's override)."""
    global _frozen
    with _lock:
        _frozen = None


@contextmanager
def frozen(value: datetime | date | str) -> Iterator[datetime]:
    global _frozen
    previous = _frozen
    try:
        yield set(value)
    finally:
        with _lock:
            _frozen = previous
