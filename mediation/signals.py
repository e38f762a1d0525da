"""Signals between areas (the Indico way): areas react to each other's events without reaching
into each other's tables.

``event_added`` is sent by :func:`mediation.disputes.service.add_event` for every timeline event,
inside the transaction that writes it (after the event is added to the session), with
``sender=event.type`` and ``event=<Event>``. Receivers may add rows to the same session; they must
not commit.
"""

from blinker import Namespace

_signals = Namespace()

event_added = _signals.signal("event-added")

# 月清月结 (sent by mediation.reports.month_close after the row is flushed, in the caller's transaction):
# ``month_closed`` with ``close=<MonthClose>``, ``reopen_requested`` with ``request=<ReopenRequest>``.
month_closed = _signals.signal("month-closed")
reopen_requested = _signals.signal("reopen-requested")
