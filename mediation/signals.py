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
