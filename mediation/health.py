"""Liveness and the framework floor.

- ``GET /healthz`` (no authentication): one ``SELECT 1``; 200 ``{"ok": true}`` when the database
  answers, 503 ``{"ok": false, "message": …}`` when it does not. For load balancers, systemd and
  compose health checks; it tells nothing about the data.
- ``GET /api/v1/ping`` (bearer token): ``{"ok": true}`` after the token check and nothing else:
  the cheapest authenticated request of the API, used by bench/http_bench.py as the floor that
  registrations are compared with.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mediation.accounts.auth import token_required
from mediation.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        db.session.rollback()
        # The driver's text may hold connection details: log it, do not send it.
        current_app.logger.warning("healthz: database unavailable: %s", type(err).__name__)
        response = jsonify(ok=False, message="数据库不可用。")
        response.status_code = 503
    else:
        response = jsonify(ok=True)
    response.headers["Cache-Control"] = "no-store"
    return response


api_blp = ApiBlueprint("ping_api", __name__, url_prefix="/api/v1", description="连通性检查")


class PingOut(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "令牌有效时为 true"})


@api_blp.route("/ping")
class Ping(MethodView):
    decorators = [token_required]

    @api_blp.response(200, PingOut)
    def get(self):
        """检查令牌和服务是否可用（除令牌校验外不访问数据库）"""
        return {"ok": True}
