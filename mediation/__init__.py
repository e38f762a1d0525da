"""mediation: case management for 矛盾纠纷多元化解."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from mediation import (
    database,
    logsafe,
    models,  # noqa: F401  (every table known to metadata and Alembic)
    replica,
)
from mediation.cli import register_cli
from mediation.common import limits
from mediation.common.files import open_private, private_dir
from mediation.config import build_config, check_public_url, database_url
from mediation.disputes.api import blp as disputes_blp
from mediation.disputes.workflow_api import blp as workflow_blp
from mediation.documents.api import blp as documents_blp
from mediation.documents.signing import check_production_signing
from mediation.extensions import api, csrf, db, login_manager, migrate
from mediation.followups import init_app as init_followups
from mediation.followups.api import blp as followups_blp
from mediation.health import api_blp as ping_blp
from mediation.keypeople.api import blp as keypeople_blp
from mediation.keypeople.service import init_app as init_keypeople
from mediation.mediators.api import blp as mediators_blp
from mediation.orgs.api import blp as orgs_blp
from mediation.reports.api import blp as reports_blp
from mediation.reports.screenings import init_app as init_sweeps
from mediation.routing.api import blp as routing_blp
from mediation.sessions.api import blp as sessions_blp
from mediation.sessions.service import init_app as init_sessions
from mediation.web import register_web

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder=str(ROOT / "templates"))
    private_dir(app.instance_path)  # the secret key, the embedded database, signing material, uploads
    app.config.from_mapping(build_config(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)
    check_public_url(app.config["PUBLIC_URL"])
    _private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg"):
        # No server-side prepared statements: psycopg prepares a query after a few runs and
        # PostgreSQL may then use a generic plan that ignores the subtree prefix and the dates
        # (measured: a report query went from 10 ms to 2.4 s, bench/README.md). No JIT either: the
        # reports' aggregates cost more than jit_above_cost at a district's size, and compiling their
        # many FILTER expressions took 1.4 s of a query that runs in milliseconds without it.
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {
            "prepare_threshold": None,
            "options": "-c jit=off",
            **options.get("connect_args", {}),
        }
    _replica_bind(app)
    for key in ("CASE_NO_PATTERN", "AGREEMENT_NO_PATTERN"):
        if "{seq" not in app.config[key]:
            raise RuntimeError(f"{key} 必须包含 {{seq}}")

    if app.config["PROXY_COUNT"] > 0:  # request.remote_addr: the client's, not the proxy's (config.py)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"])

    logsafe.install()

    # Ids in URLs are bounded to the database's integer range: a larger one is a 404, not an
    # overflow deep in the driver.
    app.url_map.converters["int"] = database.BoundedIntConverter
    database.install_sqlite_tuning()
    db.init_app(app)
    # The replica bind has no tables of its own, but Flask-SQLAlchemy keeps a MetaData per bind key in the
    # extension, shared by every app of the process: without this, create_all() of an app without a replica
    # would look for a "replica" engine it does not have.
    db.metadatas.pop(replica.BIND, None)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    api.init_app(app)

    limits.install(app)  # JSON size and depth, query-string text, values the database refuses

    register_web(app)
    register_api(app)
    replica.init_app(app)  # web users' writes remembered for read-your-writes (mediation/replica.py)

    register_cli(app)

    init_keypeople(app)  # the review-due step of the sweep
    init_sessions(app)  # the reminder step of the sweep, the link of a held session to its plan
    init_sweeps(app)  # the sweep step that flags findings of 排查 left open (mediation/reports/screenings.py)
    init_followups(app)  # event receivers; the embedded scheduler (guarded: see followups/scheduler.py)
    if app.config["ENV_NAME"] == "production":
        with app.app_context():
            check_production_signing()  # no demo certificate, no demo or empty password
    return app


def _replica_bind(app: Flask) -> None:
    """DATABASE_REPLICA_URL: a second engine, the bind "replica", with the primary's options and a short
    connect timeout (an unreachable replica falls back to the primary quickly)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    url = app.config["DATABASE_REPLICA_URL"] = database_url(url)
    primary = app.config["SQLALCHEMY_DATABASE_URI"]
    if {make_url(url).get_backend_name(), make_url(primary).get_backend_name()} != {"postgresql"}:
        raise RuntimeError("DATABASE_REPLICA_URL 必须是 DATABASE_URL 所指 PostgreSQL 主库的流复制备库")
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options["connect_args"] = {"connect_timeout": 3, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_BINDS"] = {
        **app.config.get("SQLALCHEMY_BINDS", {}),
        replica.BIND: {**options, "url": url},
    }


def _private_sqlite_file(uri: str) -> None:
    """The embedded database is created 0600 (SQLite gives its -wal and -shm files the same mode)."""

    url = make_url(uri)
    if (
        url.get_backend_name() != "sqlite"
        or not url.database
        or url.database == ":memory:"
        or url.database.startswith("file:")
    ):
        return
    path = Path(url.database)
    if not path.exists() and path.parent.is_dir():
        try:
            open_private(path, "xb").close()  # never truncates: another process may have just made it
        except FileExistsError:
            pass


def register_api(app: Flask) -> None:
    for blp in (
        disputes_blp,
        workflow_blp,
        routing_blp,
        reports_blp,
        followups_blp,
        documents_blp,
        sessions_blp,
        orgs_blp,
        mediators_blp,
        keypeople_blp,
        ping_blp,
    ):
        csrf.exempt(blp)  # bearer tokens only: no cookie, so no cross-site request forgery
        api.register_blueprint(blp)
