"""Sessions and tokens of an account: start and end web sessions, revoke tokens, change a password,
deactivate. The web pages and the CLI call these; the caller commits."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, or_, select, update

from mediation.accounts.models import ApiToken, User, UserSession, hash_token
from mediation.accounts.passwords import password_problems
from mediation.clock import real_now
from mediation.extensions import db

SESSION_KEY = "_sid"  # the random session key in the (signed) session cookie


class PasswordRejected(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("".join(problems))
        self.problems = problems


def session_cutoff():
    """Sessions started before this are over (SESSION_MAX_HOURS after sign-in)."""
    return real_now() - timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def start_session(user: User) -> UserSession:
    """Sign the user in on this browser: a new server-side session row and its key in the cookie.
    The user's finished and timed-out session rows are cleared out on the way."""
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.ended_at.is_not(None), UserSession.created_at < session_cutoff()),
        )
    )
    key = secrets.token_urlsafe(32)
    row = UserSession(user_id=user.id, key_hash=hash_token(key), created_at=real_now())
    db.session.add(row)
    login_user(user, remember=False)
    session[SESSION_KEY] = key
    return row


def current_session_hash() -> str | None:
    key = session.get(SESSION_KEY)
    return hash_token(key) if isinstance(key, str) and key else None


def session_user(user_id: str) -> User | None:
    """The user of this request's cookie, if its server-side session is still open (the user loader)."""
    key_hash = current_session_hash()
    if key_hash is None or not user_id.isdigit():
        return None
    return db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.key_hash == key_hash,
            UserSession.user_id == int(user_id),
            UserSession.ended_at.is_(None),
            UserSession.created_at >= session_cutoff(),
            User.active.is_(True),
        )
    )


def end_current_session() -> None:
    """Sign out: the session row is closed, so a copy of the cookie is refused too."""
    key_hash = current_session_hash()
    if key_hash is not None:
        db.session.execute(
            update(UserSession)
            .where(UserSession.key_hash == key_hash, UserSession.ended_at.is_(None))
            .values(ended_at=real_now())
        )
    logout_user()
    session.pop(SESSION_KEY, None)


def end_sessions(user: User, *, keep_current: bool = False) -> int:
    """End the user's open web sessions (all, or all but this request's). Returns how many."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    keep = current_session_hash() if keep_current else None
    if keep is not None:
        stmt = stmt.where(UserSession.key_hash != keep)
    return db.session.execute(stmt.values(ended_at=real_now())).rowcount


def revoke_tokens(user: User) -> int:
    """Revoke all the user's API tokens. Returns how many were not revoked yet."""
    return db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False)).values(revoked=True)
    ).rowcount


def revoke_token(token: ApiToken) -> None:
    token.revoked = True


def set_new_password(user: User, password: str, *, keep_current_session: bool = False) -> None:
    """Set a password that meets the policy (else PasswordRejected with the reasons). For an existing
    account this is a password change: its other web sessions and all its API tokens end."""
    problems = password_problems(password, user.username)
    if problems:
        raise PasswordRejected(problems)
    user.set_password(password)
    if user.id is not None:
        end_sessions(user, keep_current=keep_current_session)
        revoke_tokens(user)


def deactivate(user: User) -> tuple[int, int]:
    """Deactivate the account: it can no longer sign in, and its sessions and tokens end now.
    Returns (sessions ended, tokens revoked)."""
    user.active = False
    return end_sessions(user), revoke_tokens(user)
