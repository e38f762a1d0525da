"""What every part of the demo shares: where its data lives, its seed and password, its error, and
the helpers that turn a random draw into a moment of the past (naive UTC, as the database stores it)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click

from mediation.common.time import SHANGHAI

DATA_DIR = Path(__file__).resolve().parent.parent / "demo_data"  # package data (pyproject)
DISTRICT_CODE = "120116000000"
DEMO_PASSWORD = "Tiaojie@2026"  # meets the password policy (mediation/accounts/passwords.py)
SEED = 20260101
WINDOW_DAYS = 240  # about eight months
BATCH = 100


class DemoError(click.ClickException):
    """Shown by click as an error message (exit status 1)."""


def weighted(rng: random.Random, pairs) -> object:
    items = list(pairs)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def local_instant(day: date, seconds: int) -> datetime:
    """A Shanghai wall-clock moment on ``day`` as the naive UTC datetime the database stores."""
    local = datetime.combine(day, time()).replace(tzinfo=SHANGHAI) + timedelta(seconds=seconds)
    return local.astimezone(UTC).replace(tzinfo=None)


def moment(rng: random.Random, lo: datetime, hi: datetime, day: date | None = None) -> datetime:
    """A moment strictly between ``lo`` and ``hi`` (naive UTC): in the working hours of ``day`` if
    that fits, else anywhere on that day, else half-way. Takes one draw from ``rng`` whatever the
    window (a window ending now must not change what comes after)."""
    u = rng.random()
    if day is not None:
        for start, end in ((8 * 3600 + 1800, 17 * 3600 + 1800), (0, 86399)):
            a = max(local_instant(day, start), lo + timedelta(seconds=1))
            b = min(local_instant(day, end), hi - timedelta(seconds=1))
            if a < b:
                return (a + (b - a) * u).replace(microsecond=0)
    return lo + (hi - lo) / 2


def spaced(rng: random.Random, lo: datetime, hi: datetime, count: int, window: timedelta) -> list[datetime]:
    """``count`` increasing moments strictly between ``lo`` and ``hi``, within ``window`` before ``hi``."""
    lo = max(lo, hi - window)
    gap = (hi - lo) / (count + 1)
    return [lo + gap * (k + 1) + gap * rng.uniform(-0.3, 0.3) for k in range(count)]
