"""Party sessions: separate from the staff's (their own table and cookie), short, bound to one case.

The cookie ``party_session`` (path ``/c/``, HttpOnly, SameSite=Lax, Secure in production or over
https) carries a random key; the table keeps its SHA-256. A staff page never reads this cookie, so a
party session signs nobody in there (flask-login sees no user)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import delete, or_, select

from mediation.accounts.models import hash_token
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute, Party
from mediation.extensions import db
from mediation.parties.models import PartySession

COOKIE = "party_session"
COOKIE_PATH = "/c/"


def idle_limit() -> timedelta:
    return timedelta(minutes=float(current_app.config["PARTY_SESSION_IDLE_MINUTES"]))


def max_age() -> timedelta:
    return timedelta(hours=float(current_app.config["PARTY_SESSION_MAX_HOURS"]))


def is_live(row: PartySession) -> bool:
    """Not ended, not past its absolute end, not idle for longer than PARTY_SESSION_IDLE_MINUTES."""
    now = utcnow()
    return row.ended_at is None and row.expires_at > now and row.last_seen_at + idle_limit() > now


def start(dispute: Dispute, party: Party) -> str:
    """A new party session; returns the key for the cookie (:func:`set_cookie`). The party's ended and
    expired sessions are cleared on the way. The caller commits."""
    now = utcnow()
    db.session.execute(
        delete(PartySession).where(
            PartySession.party_id == party.id,
            or_(
                PartySession.ended_at.is_not(None),
                PartySession.expires_at <= now,
                PartySession.last_seen_at <= now - idle_limit(),
            ),
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(
        PartySession(
            key_hash=hash_token(key),
            dispute_id=dispute.id,
            party_id=party.id,
            created_at=now,
            expires_at=now + max_age(),
            last_seen_at=now,
        )
    )
    return key


def current() -> PartySession | None:
    """The request's live party session, or None (no cookie, unknown key, ended, expired, idle)."""
    if "party_session" in g:
        return g.party_session
    key = request.cookies.get(COOKIE) or ""
    row = None
    if key and len(key) <= 128:
        row = db.session.scalar(select(PartySession).where(PartySession.key_hash == hash_token(key)))
        if row is not None and not is_live(row):
            row = None
    g.party_session = row
    return row


def touch(row: PartySession) -> None:
    """A request seen: the idle time starts again. The caller commits."""
    row.last_seen_at = utcnow()


def end(row: PartySession) -> None:
    """Sign out: the row is closed, so a copy of the cookie is refused too. The caller commits."""
    row.ended_at = utcnow()


def cookie_secure() -> bool:
    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def set_cookie(response, key: str) -> None:
    response.set_cookie(COOKIE, key, path=COOKIE_PATH, httponly=True, samesite="Lax", secure=cookie_secure())


def clear_cookie(response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="Lax", secure=cookie_secure())
