"""Follow-ups (回访), deadline warnings, notifications and 督办, driven by the scheduler."""

from __future__ import annotations

from flask import Flask

from mediation.followups import notices, service  # noqa: F401  (connect the signal receivers)
from mediation.followups.scheduler import init_app as init_scheduler


def init_app(app: Flask) -> None:
    """Connect the timeline receivers and, in the embedded mode, start the scheduler."""

    init_scheduler(app)
