"""The web side: blueprints, template filters, security headers, offline API docs assets."""

from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, redirect, request, send_from_directory, url_for
from flask_login import current_user

from mediation.accounts.views import bp as accounts_bp
from mediation.applications.views import bp as applications_bp
from mediation.common.time import to_local
from mediation.disputes.court_views import bp as court_bp
from mediation.disputes.views import bp as disputes_bp
from mediation.disputes.workflow_views import bp as workflow_bp
from mediation.documents.views import bp as documents_bp
from mediation.followups.views import bp as followups_bp
from mediation.health import bp as health_bp
from mediation.keypeople.views import bp as keypeople_bp
from mediation.ledger.views import bp as ledger_bp
from mediation.mediators.views import bp as mediators_bp
from mediation.orgs.views import bp as orgs_bp
from mediation.parties.views import bp as parties_bp
from mediation.reports.views import bp as reports_bp
from mediation.routing.views import bp as routing_bp
from mediation.sessions.views import bp as sessions_bp
from mediation.sms.views import bp as sms_bp

# Scripts only from files on this site (mediation/static): no inline <script>, no onclick=… handlers.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
# Files that are the same for everyone; every other answer is sent with Cache-Control: no-store.
CACHEABLE_ENDPOINTS = frozenset({"static", "swagger_assets"})


def register_web(app: Flask) -> None:
    app.register_blueprint(accounts_bp)
    app.register_blueprint(disputes_bp)

    app.register_blueprint(documents_bp)

    app.register_blueprint(followups_bp)

    app.register_blueprint(reports_bp)

    app.register_blueprint(ledger_bp)

    app.register_blueprint(workflow_bp)
    app.register_blueprint(routing_bp)

    app.register_blueprint(court_bp)

    app.register_blueprint(health_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(parties_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(mediators_bp)
    app.register_blueprint(keypeople_bp)

    @app.get("/")
    def index():
        if current_user.is_authenticated:
            return redirect(url_for("followups.worklist"))
        return redirect(url_for("accounts.login"))

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.template_filter("local")
    def local_filter(dt, fmt="%Y-%m-%d %H:%M"):
        value = to_local(dt)
        return value.strftime(fmt) if value else ""

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            # Pages, API answers, downloads and error pages may carry personal data: no browser or
            # proxy keeps a copy (a shared computer's back button, a caching proxy).
            if "no-store" not in (response.headers.get("Cache-Control") or ""):
                response.headers["Cache-Control"] = "no-store"
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
