"""Reads of the reports and lists from a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``).

The replica is a second engine, Flask-SQLAlchemy's bind ``"replica"``. ONE function decides whether
a request's reads may go there, :func:`read_from_replica` (views call it through the
:func:`replica_reads` decorator: report pages and endpoints, their exports, the case list and the
worklist, web and API). It says yes only when all of these hold:

- a replica is configured and the request is a read (GET/HEAD/OPTIONS) that has written nothing;
- the replica answers, is a standby (``pg_is_in_recovery()``) and lags at most
  ``DATABASE_REPLICA_MAX_LAG`` seconds;
- it has replayed the user's own last write (read-your-writes):
  - a web user: the primary's WAL position after the user's last writing request,
    ``pg_current_wal_lsn()``, kept in the signed session cookie (:func:`remember_web_write`),
    must be ≤ the replica's ``pg_last_wal_replay_lsn()``;
  - an API token: every writing request commits the token's ``last_used_at`` in the same
    transaction as its write (mediation/accounts/auth.py), so the replica has replayed the token's
    last write exactly when its copy of the token row shows the value the primary showed this
    request — no extra statement on the write path.

Otherwise the request reads from the primary (a replica that is down, not a standby or lagging is
logged). Once yes, ``database.RoutingSession`` sends the session's plain SELECTs to the replica; a flush,
an INSERT/UPDATE/DELETE, ``SELECT … FOR UPDATE``, ``Session.connection()`` or any statement it cannot
tell is a read goes to the primary, and after a write the rest of the request reads the primary too.
Without ``DATABASE_REPLICA_URL`` nothing of this runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import wraps

from flask import Flask, current_app, g, has_request_context, request, session
from sqlalchemy import event, func, literal_column, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from mediation.accounts.models import ApiToken
from mediation.database import READ_METHODS, READS
from mediation.extensions import db

log = logging.getLogger(__name__)

BIND = "replica"  # the Flask-SQLAlchemy bind key of the replica engine
WAL_KEY = "wal_lsn"  # the signed session: the primary's WAL position after this user's last write


# ---------------------------------------------------------------------------------- the decision


def replica_engine() -> Engine | None:
    if not current_app.config.get("DATABASE_REPLICA_URL"):
        return None
    return db.engines[BIND]


@dataclass(frozen=True)
class TokenMark:
    """What the primary showed of the request's API token: its id and committed ``last_used_at``."""

    token_id: int
    last_used_at: object


def _probe(mark):
    """One statement on the replica: standby or not, replayed position, lag (0 when it has applied
    all it received), and for an API token its copy of the token row."""
    lag = literal_column(
        "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
        "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
    )
    columns = [
        func.pg_is_in_recovery().label("standby"),
        literal_column("pg_last_wal_replay_lsn()::text").label("replayed"),
        lag.label("lag"),
    ]
    if isinstance(mark, TokenMark):
        token = select(ApiToken.id, ApiToken.last_used_at).where(ApiToken.id == mark.token_id).subquery()
        columns += [
            select(token.c.id).scalar_subquery().label("token_found"),
            select(token.c.last_used_at).scalar_subquery().label("token_used"),
        ]
    return select(*columns)


def lsn_value(lsn: str | None) -> int | None:
    """A ``pg_lsn`` text (``16/B374D848``) as a number, to compare positions."""
    if not lsn:
        return None
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def _own_write_mark():
    """The user's last write: a TokenMark for an API token, the WAL position for a web session."""
    mark = g.get("api_token_mark")
    if mark is not None:
        return mark
    return lsn_value(session.get(WAL_KEY))


def _refusal(state, mark, max_lag: float) -> str | None:
    """Why the replica may not serve this request's reads (None: it may)."""
    if not state.standby:
        return "not a standby"
    if state.lag is not None and float(state.lag) > max_lag:
        return f"lagging {float(state.lag):.1f} s"
    if isinstance(mark, TokenMark):
        if state.token_found is None or state.token_used != mark.last_used_at:
            return "own write not replayed yet"
    elif mark is not None and (lsn_value(state.replayed) or 0) < mark:
        return "own write not replayed yet"
    return None


def read_from_replica() -> bool:
    """THE rule: may this request's reads go to the replica? If so, route them there."""
    replica = replica_engine()
    if replica is None or request.method not in READ_METHODS:
        return False
    current = db.session()
    if current.new or current.dirty or current.deleted:
        return False
    mark = _own_write_mark()
    try:
        with replica.connect() as conn:
            state = conn.execute(_probe(mark)).one()
    except DBAPIError as err:
        log.warning("replica unavailable, reading from the primary: %s", type(err.orig or err).__name__)
        return False
    reason = _refusal(state, mark, float(current_app.config["DATABASE_REPLICA_MAX_LAG"]))
    if reason is not None:
        level = logging.INFO if reason.startswith("own write") else logging.WARNING
        log.log(level, "replica not used (%s), reading from the primary", reason)
        return False
    current.info[READS] = replica
    return True


def replica_reads(view):
    """Views whose reads may come from the replica (reports, their exports, the case and work lists)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        read_from_replica()
        return view(*args, **kwargs)

    return wrapper


def remember_web_write(response):
    """After a web request (not GET) that committed: keep the primary's WAL position in the signed
    session, so this user's next reads wait for the replica to have replayed it (or use the primary)."""
    if (
        request.method in READ_METHODS
        or not g.get("replica_wrote")
        or g.get("api_user") is not None
        or request.path.startswith("/api/")
    ):
        return response
    try:
        lsn = db.session.execute(
            text("SELECT pg_current_wal_lsn()::text"), bind_arguments={"bind": db.engine}
        )
        session[WAL_KEY] = lsn.scalar()
    except DBAPIError:  # the primary went away right after the commit: the answer stands
        log.warning("could not read the primary's WAL position after a write")
    return response


def _committed(conn) -> None:
    """Any commit on the primary during a request (the session's or a Core ``engine.begin()``)."""
    if has_request_context():
        g.replica_wrote = True


def init_app(app: Flask) -> None:
    if not app.config.get("DATABASE_REPLICA_URL"):
        return
    with app.app_context():
        event.listen(db.engine, "commit", _committed)
    app.after_request(remember_web_write)
