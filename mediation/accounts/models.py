"""Users, their roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from mediation.clock import real_now
from mediation.common.enums import ROLE_LABELS, Role, enum_type
from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.geo.models import Unit


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str | None] = mapped_column(String(254))  # for e-mail notifications (followups)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_type(Role, 16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def name(self) -> str:
        return self.display_name or self.username


_dummy_hashes: dict[str, str] = {}


def verify_password(user: User | None, password: str) -> bool:
    """The password check of the sign-in form. For an unknown (or deactivated) account the password is
    hashed against a dummy hash made with the same method, so that the answer takes as long as for a
    known account and does not tell which user names exist."""
    if user is not None:
        return check_password_hash(user.password_hash, password)

    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(_dummy_hashes[method], password)
    return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once. ``hint`` keeps
    its first characters so that its owner can tell it apart in the list. Its times are wall-clock UTC
    (:func:`mediation.clock.real_now`): a test or demo moving the application clock does not expire it."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=real_now)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()

    @classmethod
    def issue(cls, user: User) -> tuple[ApiToken, str]:
        """A new token for the user, valid for API_TOKEN_DAYS days."""

        token = "med_" + secrets.token_urlsafe(32)
        now = real_now()
        row = cls(
            user=user,
            token_hash=hash_token(token),
            hint=token[:10],
            created_at=now,
            expires_at=now + timedelta(days=current_app.config["API_TOKEN_DAYS"]),
        )
        db.session.add(row)
        return row, token

    @property
    def status(self) -> str:
        if self.revoked:
            return "已撤销"
        if self.expires_at <= real_now():
            return "已过期"
        return "有效"

    @property
    def is_valid(self) -> bool:
        return self.status == "有效"


class UserSession(db.Model):
    """A signed-in web session. The cookie carries a random key; only its SHA-256 is stored. The user
    loader accepts the cookie only while this row is open (``ended_at`` empty) and younger than
    SESSION_MAX_HOURS, so signing out, a password change or a deactivation ends the session in every
    web process at once. Times are wall-clock UTC (:func:`mediation.clock.real_now`)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=real_now)
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """Failed sign-ins, kept in the database so the limit holds across all web workers."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
