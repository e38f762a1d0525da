"""The mediator's calendar as iCalendar (RFC 5545), built with the ``icalendar`` library (escaping of
commas, semicolons and newlines, line folding at 75 octets and CRLF line ends are its job).

One VEVENT per session: UID stable per session (``scheduled-session-<id>@<PUBLIC_URL host>``),
SEQUENCE = version - 1 so a calendar that subscribed sees a move as an update, DTSTART/DTEND in UTC,
STATUS CANCELLED for a cancelled session. SUMMARY, LOCATION and DESCRIPTION carry the case number,
category, place and the invited parties' names — never ID numbers, phones or internal notes."""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from mediation.common.urls import app_path, public_url
from mediation.sessions.models import ScheduledSession, SessionStatus

PRODID = "-//mediation//调解日程//ZH"


def uid(session: ScheduledSession) -> str:
    host = urlsplit(public_url("/")).hostname or "localhost"
    return f"scheduled-session-{session.id}@{host}"


def _event(session: ScheduledSession) -> Event:
    start = session.starts_at.replace(tzinfo=UTC)
    dispute = session.dispute
    ev = Event()
    ev.add("uid", uid(session))
    ev.add("dtstamp", session.updated_at.replace(tzinfo=UTC))
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(minutes=session.duration_minutes))
    ev.add("sequence", session.version - 1)
    ev.add("summary", f"调解：{dispute.case_no}（{dispute.category}）")
    ev.add("location", session.place)
    lines = ["参加当事人：" + "、".join(p.name for p in session.parties)]
    if session.other_attendees:
        lines.append(f"其他参加人：{session.other_attendees}")
    lines.append(f"承办单位：{session.unit.name}")
    lines.append(public_url(app_path("disputes.show", dispute_id=dispute.id)))
    ev.add("description", "\n".join(lines))
    ev.add("status", "CANCELLED" if session.status == SessionStatus.CANCELLED else "CONFIRMED")
    return ev


def calendar_ics(sessions: list[ScheduledSession], name: str = "调解日程") -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for session in sessions:
        cal.add_component(_event(session))
    return cal.to_ical()
