"""The routing page: the rule table and the time-limit table (list, add, change, delete) and the
working-day calendar's notices (国务院节假日安排, routing/notices.py).

Who may do what is decided by routing.service's predicates, as in the API (routing/api.py): the admin
changes everything (:func:`~mediation.routing.service.may_manage_routing_rules`); 综治中心 staff see the
rules and the time limits read-only (:func:`~mediation.routing.service.may_read_routing_rules`)."""

from __future__ import annotations

from datetime import date
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation import clock
from mediation.common.enums import Channel, RiskFlag, RiskLevel, values
from mediation.common.forms import error_lines, form_payload
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing import calendar as cal
from mediation.routing import deadlines, notices
from mediation.routing import service as routing
from mediation.routing.models import CalendarNotice, TimeLimit
from mediation.routing.schemas import FIELD_LABELS, RoutingRuleIn, TimeLimitIn

bp = Blueprint("routing", __name__, url_prefix="/admin/routing")


def allowed_if(predicate):
    """A web view for signed-in users for whom ``predicate(user)`` holds; 403 for the others."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not predicate(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


readers_only = allowed_if(routing.may_read_routing_rules)
managers_only = allowed_if(routing.may_manage_routing_rules)


def _flash_errors(err: ValidationError) -> None:
    for line in error_lines(err.messages, FIELD_LABELS):
        flash(line, "error")


@bp.get("/")
@readers_only
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
        "routing/admin.html",
        rules=routing.ordered_rules(active_only=False),
        limits=limits,
        nodes=nodes,
        units=units,
        channels=values(Channel),
        risk_levels=values(RiskLevel),
        flags=values(RiskFlag),
        categories=current_app.config["CATEGORIES"],
        may_manage=routing.may_manage_routing_rules(current_user),
    )


@bp.post("/rules")
@managers_only
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
@managers_only
def delete_rule(rule_id: int):
    if not routing.delete_rule(rule_id):
        abort(404)
    db.session.commit()
    flash("已删除分流规则。", "success")
    return redirect(url_for("routing.index") + "#rules", 303)


@bp.post("/time-limits")
@managers_only
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
        flash(
            f"已保存时限：{row.channel or '任何渠道'} / {row.category or '任何类别'} {row.days}{row.unit_label}。",
            "success",
        )
    return redirect(url_for("routing.index") + "#limits", 303)


@bp.post("/time-limits/<int:limit_id>/delete")
@managers_only
def delete_limit(limit_id: int):
    if not deadlines.delete_time_limit(limit_id):
        abort(404)
    db.session.commit()
    flash("已删除该时限；默认时限将自动补回。", "success")
    return redirect(url_for("routing.index") + "#limits", 303)


# --- the working-day calendar (国务院节假日安排) ------------------------------------------------------


def _calendar_page(form: dict | None = None, errors: list[str] | None = None, notice=None, status: int = 200):
    today = clock.today()
    view = cal.calendar()
    try:
        year = int(request.args.get("year", ""))
        if not 1950 <= year <= 2099:
            raise ValueError
    except ValueError:
        gaps = cal.coverage_gaps(today)
        year = gaps[0] if gaps else today.year
    years = [
        {
            "year": y,
            "source": view.year_source(y),
            "label": cal.SOURCE_LABELS[view.year_source(y)],
            "covered": view.covers(date(y, 1, 1)),
            "notice": view.overrides.annual.get(y),
        }
        for y in range(today.year - 1, today.year + 3)
    ]
    if form is None:
        form = {
            "year": str(year),
            "annual": True,
            "title": f"国务院办公厅关于{year}年部分节假日安排的通知",
            "document_no": "",
            "days": "",
        }
    return render_template(
        "routing/calendar.html",
        notices=notices.list_notices(),
        years=years,
        year=year,
        special=view.special_days(year),
        source_labels=cal.SOURCE_LABELS,
        weekday_label=notices.weekday_label,
        form=form,
        errors=errors or [],
        editing=notice,
        coverage_days=cal.COVERAGE_DAYS,
    ), status


def _notice_form() -> dict:
    return {
        "year": request.form.get("year", ""),
        "title": request.form.get("title", ""),
        "document_no": request.form.get("document_no", ""),
        "annual": "annual" in request.form,
        "days": request.form.get("days", ""),
    }


def _save_notice(notice_id: int | None):
    form = _notice_form()
    try:
        data = notices.CalendarNoticeIn().load(form_payload(request.form, notices.CalendarNoticeIn()))
        notice = notices.save_notice(data, current_user, notice_id)
        if notice is None:
            abort(404)
        db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        editing = None
        if notice_id is not None:
            editing = db.session.get(CalendarNotice, notice_id)
        return _calendar_page(form, error_lines(err.messages, notices.FIELD_LABELS), editing, 422)
    except IntegrityError:
        db.session.rollback()
        return _calendar_page(form, ["该通知或其中的日期刚被他人登记，请刷新后重试。"], None, 409)
    flash(f"已保存《{notice.title}》：{len(notice.days)}天。工作日与办理时限即按此计算。", "success")
    return redirect(url_for("routing.calendar_page", year=notice.year), 303)


@bp.get("/calendar")
@managers_only
def calendar_page():
    return _calendar_page()


@bp.post("/calendar")
@managers_only
def add_notice():
    return _save_notice(None)


@bp.route("/calendar/<int:notice_id>", methods=["GET", "POST"])
@managers_only
def notice(notice_id: int):
    if request.method == "POST":
        return _save_notice(notice_id)
    row = db.session.get(CalendarNotice, notice_id)
    if row is None:
        abort(404)
    form = {
        "year": str(row.year),
        "title": row.title,
        "document_no": row.document_no or "",
        "annual": row.annual,
        "days": notices.format_days(row.days),
    }
    return _calendar_page(form, None, row)


@bp.post("/calendar/<int:notice_id>/delete")
@managers_only
def delete_notice(notice_id: int):
    if not notices.delete_notice(notice_id):
        abort(404)
    db.session.commit()
    flash("已删除该通知；相关日期恢复按软件包数据（或推定）计算。", "success")
    return redirect(url_for("routing.calendar_page"), 303)


@bp.app_context_processor
def _calendar_banner():
    """``calendar_warning`` for those who enter the holiday notices (the admin) on the routing pages and the
    case list (the home page)."""
    if not has_request_context() or not (
        request.blueprint == "routing" or request.endpoint == "disputes.index"
    ):
        return {}
    if current_user.is_authenticated and routing.may_manage_routing_rules(current_user):
        return {"calendar_warning": cal.coverage_warning()}
    return {}
