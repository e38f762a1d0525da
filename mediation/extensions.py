"""Extensions, created once and initialised in create_app()."""

import logging

from flask import current_app, render_template, request
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api as _Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import InternalServerError, ServiceUnavailable

from mediation.database import RoutingSession

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HTTP_MESSAGES = {
    400: "请求无效。",
    401: "未登录或令牌无效。",
    403: "无权访问或操作。",
    404: "未找到，或不在您的辖区内。",
    405: "不支持该请求方法。",
    409: "与当前状态冲突，请刷新后重试。",
    413: "上传的文件过大。",
    415: "请求体应为 JSON。",
    422: "数据校验失败，请按字段提示修改。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误，请稍后重试。",
    503: "服务暂时不可用，请稍后重试。",
}
DATABASE_UNAVAILABLE = "数据库暂时不可用，请稍后重试。"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Api(_Api):
    """flask-smorest registers its JSON error handler for the whole app: keep JSON for the API,
    render the Chinese HTML error page for the web, and always give a Chinese ``message``."""

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            message = HTTP_MESSAGES.get(error.code, error.description)
            return render_template("error.html", code=error.code, message=message), error.code
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", HTTP_MESSAGES.get(code, error.name))
        return payload, code, headers

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        # Every database error: 503 when the database is unusable, else a bug (500), on both databases.
        app.register_error_handler(DBAPIError, self.handle_database_error)
        # Registered after db.init_app, so it runs before Flask-SQLAlchemy's own session removal.
        app.teardown_appcontext(_release_session)

    def handle_database_error(self, error):
        """The database went away (restart, failover, network), is locked or cannot read or write its
        files, or gave up on the transaction: roll the session back and answer 503 with a Chinese
        message, not a 500. The pool checks each connection before use (pool_pre_ping), so the next
        request reconnects by itself. Any other OperationalError (SQLite reports a syntax error or a
        missing table as one) is a bug: logged with its traceback and answered 500."""
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the session is removed anyway
            pass
        if not database_unavailable(error):
            current_app.log_exception((type(error), error, error.__traceback__))
            failure = InternalServerError(original_exception=error)
            if not request.path.startswith("/api/"):
                try:
                    return render_template("error.html", code=500, message=HTTP_MESSAGES[500]), 500
                except Exception:  # noqa: BLE001
                    return HTTP_MESSAGES[500], 500, {"Content-Type": "text/plain; charset=utf-8"}
            return self.handle_http_exception(failure)
        # The driver's text may hold connection details: log the type only.
        logging.getLogger(__name__).warning("database unavailable: %s", type(error.orig or error).__name__)
        if not request.path.startswith("/api/"):
            try:
                return render_template("error.html", code=503, message=DATABASE_UNAVAILABLE), 503
            except Exception:  # noqa: BLE001 - the page itself may need the database (current user)
                return DATABASE_UNAVAILABLE, 503, {"Content-Type": "text/plain; charset=utf-8"}
        unavailable = ServiceUnavailable()
        unavailable.data = {"message": DATABASE_UNAVAILABLE, "headers": {"Retry-After": "5"}}
        return self.handle_http_exception(unavailable)


# SQLite result codes (the primary code, the low byte) that mean the database cannot be used right
# now rather than a wrong statement: BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, CORRUPT, FULL,
# CANTOPEN, PROTOCOL, NOTADB. SQLITE_ERROR (1: syntax error, no such table/column …) is not among them.
SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 26})
# PostgreSQL SQLSTATE classes: 08 connection, 40 transaction rollback (serialization, deadlock),
# 53 insufficient resources, 57 operator intervention (shutdown, statement timeout), 58 system (I/O),
# and 55P03 lock_not_available.
PG_UNAVAILABLE_CLASSES = ("08", "40", "53", "57", "58")


def database_unavailable(error: DBAPIError) -> bool:
    """The error says the database is unreachable, locked or failing (answer 503 and retry), not
    that the statement is wrong (a bug: 500). The same rule on SQLite and PostgreSQL."""
    if getattr(error, "connection_invalidated", False):
        return True
    orig = getattr(error, "orig", None)
    if orig is None:
        return True  # raised by SQLAlchemy itself around the connection (pool, pre-ping)
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in SQLITE_UNAVAILABLE
    if type(orig).__module__.startswith("sqlite3"):  # no code (made by hand): judge by the text
        text = str(orig).lower()
        return any(
            w in text for w in ("locked", "busy", "disk", "i/o", "unable to open", "readonly", "malformed")
        )
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate is None:
        return True  # the driver's own connection errors carry no SQLSTATE
    return sqlstate.startswith(PG_UNAVAILABLE_CLASSES) or sqlstate == "55P03"


def _release_session(exc) -> None:
    """End the request's session. When the database went away after the answer was ready (the
    connection breaks on the closing ROLLBACK), drop the broken connection instead of turning a
    finished request into a 500."""
    try:
        db.session.remove()
    except DBAPIError:
        logging.getLogger(__name__).warning("database connection lost at the end of a request")
        try:
            db.session().invalidate()  # the broken connection is dropped, never pooled again
        except DBAPIError:
            pass
        db.session.registry.clear()


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
api = Api()
