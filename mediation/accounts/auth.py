"""Authentication: sessions for the web (flask-login), bearer tokens for the API."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from mediation.accounts.models import ApiToken, User, hash_token
from mediation.accounts.service import session_user
from mediation.clock import real_now
from mediation.database import READ_METHODS
from mediation.extensions import db, login_manager
from mediation.geo.models import Node, Unit
from mediation.replica import TokenMark

login_manager.login_view = "accounts.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The cookie's user while its server-side session is open (mediation/accounts/service.py)."""

    return session_user(user_id)


_tokens = ApiToken.__table__
STAMP_TOKEN = (
    update(_tokens).where(_tokens.c.id == bindparam("token_id")).values(last_used_at=bindparam("now"))
)


def user_from_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    now = real_now()
    # One statement: the token, its user, the user's unit and the unit's node (every API request
    # checks scope against them).
    row = db.session.scalar(
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(Node, Node.id == Unit.node_id)
        .options(contains_eager(ApiToken.user).contains_eager(User.unit).contains_eager(Unit.node))
        .where(
            ApiToken.token_hash == hash_token(token.strip()),
            ApiToken.revoked.is_(False),
            ApiToken.expires_at > now,
            User.active.is_(True),
        )
    )
    if row is None:
        return None
    # Read-your-writes with a replica (mediation/replica.py): the committed stamp seen here, and a
    # writing request stamps the token in its own transaction (a read would only roll it back): one
    # Core UPDATE, now, in the request's transaction (committed or rolled back with its write), rather
    # than a unit-of-work flush of the object; the object shows the stamp without being dirty.
    g.api_token_mark = TokenMark(row.id, row.last_used_at)
    if request.method not in READ_METHODS:
        db.session.execute(STAMP_TOKEN, {"token_id": row.id, "now": now})
        set_committed_value(row, "last_used_at", now)
    return row.user


def api_user() -> User:
    return g.api_user


def current_viewer() -> User:
    """The user a response is being made for: the API's bearer user, else the web session's."""

    return g.get("api_user") or current_user._get_current_object()


def token_required(view):
    """API views: a valid bearer token or 401. Cookies are not accepted, so no CSRF is possible."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        user = user_from_bearer()
        if user is None:
            abort(
                401,
                message="未登录或令牌无效：请在 Authorization 头中提供 Bearer 令牌。",
                headers={"WWW-Authenticate": "Bearer"},
            )
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper


def roles_required(*roles):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.api_user.role not in roles:
                abort(403, message="您的角色无权执行此操作。")
            return view(*args, **kwargs)

        return wrapper

    return decorator
