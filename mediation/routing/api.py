"""The JSON API of routing: the rule table, the time limits and a case's unit picker.

Reading the rules and changing them are decided by :func:`routing.service.may_read_routing_rules` and
:func:`routing.service.may_manage_routing_rules`, the same predicates as the admin page
(routing/views.py). The time-limit table is readable by every signed-in user (each case's deadline is
computed from it); changing it is the admin's.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import get_dispute
from mediation.accounts.auth import api_user, token_required
from mediation.extensions import db
from mediation.routing import deadlines
from mediation.routing import schemas as rs
from mediation.routing import service as routing
from mediation.routing.models import TimeLimit

blp = Blueprint("routing_api", __name__, url_prefix="/api/v1", description="分流规则、办理时限与可选单位")

MANAGE_REFUSED = "只有系统管理员可以修改分流规则和办理时限。"


def _require_manager() -> None:
    if not routing.may_manage_routing_rules(api_user()):
        abort(403, message=MANAGE_REFUSED)


@blp.route("/disputes/<int:dispute_id>/candidate-units")
class CandidateUnits(MethodView):
    decorators = [token_required]

    @blp.response(200, rs.CandidateUnitOut(many=True))
    def get(self, dispute_id):
        """可选单位（分流、移交、联办）：建议单位在前，然后是属地及其各级上级的单位（由近及远），再是负责分流的综治中心辖区内其他单位；
        只含本案可以到达的单位（与提交时的校验为同一规则）。与网页上的单位选择列表相同。"""
        user = api_user()
        return [c.as_data() for c in routing.candidate_units(get_dispute(user, dispute_id), user)]


@blp.route("/routing-rules")
class RoutingRules(MethodView):
    decorators = [token_required]

    @blp.response(200, rs.RoutingRuleOut(many=True))
    @blp.alt_response(403, description="只有系统管理员和综治中心可以查看")
    def get(self):
        """分流规则（按优先级，数字小的先匹配）"""
        if not routing.may_read_routing_rules(api_user()):
            abort(403, message="只有系统管理员和综治中心可以查看分流规则。")
        return routing.ordered_rules(active_only=False)

    @blp.arguments(rs.RoutingRuleIn)
    @blp.response(201, rs.RoutingRuleOut)
    def post(self, data):
        """新增分流规则（仅系统管理员）"""
        _require_manager()
        try:
            rule = routing.create_rule(data)
            db.session.commit()
        except ValidationError as err:
            db.session.rollback()
            abort(422, errors={"json": err.messages})
        return rule


@blp.route("/routing-rules/<int:rule_id>")
class RoutingRuleItem(MethodView):
    decorators = [token_required]

    @blp.response(204)
    def delete(self, rule_id):
        """删除分流规则（仅系统管理员）"""
        _require_manager()
        if not routing.delete_rule(rule_id):
            abort(404)
        db.session.commit()


@blp.route("/time-limits")
class TimeLimits(MethodView):
    decorators = [token_required]

    @blp.response(200, rs.TimeLimitOut(many=True))
    def get(self):
        """办理时限表（缺少的默认时限会补齐）"""
        try:
            deadlines.seed_time_limits()
            db.session.commit()
        except IntegrityError:  # a concurrent request seeded them first
            db.session.rollback()
        return db.session.scalars(select(TimeLimit).order_by(TimeLimit.channel, TimeLimit.category)).all()

    @blp.arguments(rs.TimeLimitIn)
    @blp.response(200, rs.TimeLimitOut)
    def put(self, data):
        """设置某渠道、某类别的办理时限（仅系统管理员；已有则修改）"""
        _require_manager()
        try:
            row = deadlines.set_time_limit(data)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            abort(409, message="该时限刚被他人修改，请重试。")
        return row


@blp.route("/time-limits/<int:limit_id>")
class TimeLimitItem(MethodView):
    decorators = [token_required]

    @blp.response(204)
    def delete(self, limit_id):
        """删除一条时限（仅系统管理员）：恢复为默认时限"""
        _require_manager()
        if not deadlines.delete_time_limit(limit_id):
            abort(404)
        db.session.commit()
