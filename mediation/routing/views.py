"""Admin pages: the routing rule table and the time-limit table (list, add, change, delete)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation.common.enums import Channel, RiskFlag, RiskLevel, Role, values
from mediation.disputes.workflow_schemas import RoutingRuleIn, TimeLimitIn
from mediation.disputes.workflow_views import FIELD_LABELS, error_lines, form_payload
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing import deadlines
from mediation.routing import service as routing
from mediation.routing.models import TimeLimit

bp = Blueprint("routing", __name__, url_prefix="/admin/routing")

LABELS = {"name": "规则名称", "priority": "优先级", "category": "纠纷类别", "node": "属地", "min_amount": "最低金额",
          "min_people": "最少人数", "min_risk": "最低风险等级", "flags": "风险标记", "channel": "化解渠道",
          "unit": "建议单位", "days": "时限", "basis": "依据"}


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role != Role.ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _flash_errors(err: ValidationError) -> None:
    for line in error_lines(err.messages, labels={**FIELD_LABELS, **LABELS}):
        flash(line, "error")


@bp.get("/")
@admin_required
def index():
    try:
        if deadlines.seed_time_limits():
            db.session.commit()
    except IntegrityError:  # seeded concurrently
        db.session.rollback()
    limits = db.session.scalars(select(TimeLimit).order_by(TimeLimit.key)).all()
    nodes = db.session.scalars(select(Node).order_by(Node.path)).all()
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    return render_template(
        "routing/admin.html", rules=routing.ordered_rules(active_only=False), limits=limits, nodes=nodes,
        units=units, channels=values(Channel), risk_levels=values(RiskLevel), flags=values(RiskFlag),
        categories=current_app.config["CATEGORIES"],
    )


@bp.post("/rules")
@admin_required
def add_rule():
    try:
        rule = routing.create_rule(RoutingRuleIn().load(form_payload(request.form, RoutingRuleIn())))
        db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        _flash_errors(err)
    else:
        flash(f"已添加分流规则「{rule.name}」。", "success")
    return redirect(url_for("routing.index") + "#rules", 303)


@bp.post("/rules/<int:rule_id>/delete")
@admin_required
def delete_rule(rule_id: int):
    if not routing.delete_rule(rule_id):
        abort(404)
    db.session.commit()
    flash("已删除分流规则。", "success")
    return redirect(url_for("routing.index") + "#rules", 303)


@bp.post("/time-limits")
@admin_required
def set_limit():
    try:
        row = deadlines.set_time_limit(TimeLimitIn().load(form_payload(request.form, TimeLimitIn())))
        db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        _flash_errors(err)
    except IntegrityError:
        db.session.rollback()
        flash("该时限刚被他人修改，请重试。", "error")
    else:
        flash(f"已保存时限：{row.channel or '任何渠道'} / {row.category or '任何类别'} {row.days}{row.unit_label}。",
              "success")
    return redirect(url_for("routing.index") + "#limits", 303)


@bp.post("/time-limits/<int:limit_id>/delete")
@admin_required
def delete_limit(limit_id: int):
    if not deadlines.delete_time_limit(limit_id):
        abort(404)
    db.session.commit()
    flash("已删除该时限；默认时限将自动补回。", "success")
    return redirect(url_for("routing.index") + "#limits", 303)
