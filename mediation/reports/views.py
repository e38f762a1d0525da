"""Report pages: 月清月结 with drill-down and charts, 周报 (the same figures over an ISO week), 同比/环比
by category, 双百, the channel table, the overdue review with one-click 督办, the month close
(结账、上报、重新打开) and the one-tap sweep report form.

The pages call the same functions as the JSON API; every node goes through
``common.resolve_report_node`` (the user's subtree only), and who may see and act on a month close
is asked of ``month_close``'s predicates."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select

from mediation.accounts.access import can_see_node, get_dispute, is_center_user_or_admin
from mediation.common.confirm import confirmation_page, is_confirmed
from mediation.common.paging import kept_per_page, web_page_args
from mediation.common.time import local_today
from mediation.common.urls import is_local_path
from mediation.database import MAX_ID
from mediation.extensions import db
from mediation.followups.models import SupervisionLevel
from mediation.geo.models import Node, Unit
from mediation.replica import replica_reads
from mediation.reports import charts, figures, month_close, notices, screenings
from mediation.reports.common import (
    Month,
    ReportError,
    Week,
    default_node,
    node_names,
    parse_term,
    resolve_report_node,
    scope_tree,
)
from mediation.reports.figures import FIGURE_KEYS, FIGURE_LABELS
from mediation.reports.models import MonthClose, Notice, ReopenRequest
from mediation.reports.overdue import (
    default_reply_by,
    issue_supervision,
    may_review,
    may_supervise,
    overdue_review,
)
from mediation.reports.schemas import (
    CarryOverIn,
    DecisionIn,
    FindingIn,
    OverdueArgs,
    ReopenIn,
    ScreeningIn,
    SuperviseIn,
)
from mediation.reports.scorecard import SCORECARD_BY, mediator_scorecard
from mediation.reports.scorecard import scorecard as scorecard_report

bp = Blueprint("reports", __name__, url_prefix="/reports")

REPORT_KINDS = {"monthly": "月清月结", "shuangbai": "双百", "channels": "渠道统计"}


@bp.before_request
@login_required
def _login():
    return None


def _user():
    return current_user._get_current_object()


def _refuse_parameter(label: str, message: str):
    """422 with the parameter's own Chinese message on the error page (the generic 422 page does not
    say what is wrong)."""
    abort(make_response(render_template("error.html", code=422, message=f"{label}：{message}"), 422))


def _month_arg(default: Month) -> Month:
    text = request.args.get("month", "").strip()
    if not text:
        return default
    try:
        return Month.parse(text)
    except ValueError as err:
        _refuse_parameter("月份", str(err))


def _node_arg(default: Node) -> Node:
    code = request.args.get("node", "").strip()
    if not code:
        return default
    try:
        return resolve_report_node(_user(), code)
    except ReportError as err:
        abort(err.status if err.status != 422 else 404, description=err.message)


def _target() -> tuple[Node, Month]:
    return _node_arg(default_node(_user())), _month_arg(Month.of(local_today()))


def _common(node: Node, month: Month, kind: str) -> dict:
    user = _user()
    ancestors = [n for n in node.ancestors() if can_see_node(user, n)]
    return {
        "node": node,
        "month": month,
        "kind": kind,
        "kinds": REPORT_KINDS,
        "nodes": [{"code": n.code, "label": "\u3000" * depth + n.name} for n, depth in scope_tree(user)],
        "breadcrumb": ancestors,
        "labels": FIGURE_LABELS,
        "figure_keys": FIGURE_KEYS,
        "rate_parts": figures.RATE_PARTS,
        "prev_month": month.shift(-1),
        "next_month": month.shift(1),
        "may_review": may_review(user),
        "month_running": month == Month.of(local_today()),
    }


def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


bp.add_app_template_filter(percent, "percent")


# ----------------------------------------------------------------------------------- reports


@bp.get("/")
@replica_reads
def monthly():
    node, month = _target()
    page = figures.monthly_page(node, month)
    channels = page["channels"]
    return render_template(
        "reports/monthly.html",
        **page,
        month_weeks=month_weeks(month),
        trend_svg=charts.trend_chart(page["points"], f"{node.name}近12个月趋势（新增、办结、结转下月）"),
        category_svg=charts.category_chart(channels["categories"], title=f"{month.label}按类别（新增）"),
        channel_svg=charts.channel_chart(channels["channels"], title=f"{month.label}按化解渠道"),
        **_common(node, month, "monthly"),
    )


@bp.get("/shuangbai")
@replica_reads
def shuangbai():
    node, month = _target()
    report = figures.shuangbai_report(node, month)
    missing = figures.grids_not_reported(node, month, limit=1000)
    return render_template(
        "reports/shuangbai.html",
        report=report,
        missing=missing,
        venue_svg=charts.venue_chart(report["by_venue"], f"{month.label}按发现场所（五进）"),
        **_common(node, month, "shuangbai"),
    )


@bp.get("/channels")
@replica_reads
def channels():
    node, month = _target()
    report = figures.channel_report(node, month)
    return render_template(
        "reports/channels.html",
        report=report,
        channel_svg=charts.channel_chart(report["channels"], f"{month.label}按化解渠道"),
        category_svg=charts.category_chart(report["categories"], "received", f"{month.label}按类别（受理）"),
        venue_svg=charts.venue_chart(report["by_venue"], f"{month.label}按发现场所（五进）"),
        **_common(node, month, "channels"),
    )


# ------------------------------------------------------------------------ 周报, 同比/环比


def month_weeks(month: Month) -> list[Week]:
    """The ISO weeks with at least one day in the month (the monthly page links their 周报)."""
    weeks, week = [], Week.of(month.first)
    while week.first <= month.last:
        weeks.append(week)
        week = week.shift(1)
    return weeks


WEEK_CHOICES = 26  # the week picker offers this week and the 25 before it


def _week_arg(default: Week) -> Week:
    text = request.args.get("week", "").strip()
    if not text:
        return default
    try:
        return Week.parse(text)
    except ValueError as err:
        _refuse_parameter("周次", str(err))


def week_choices(week: Week, today_week: Week) -> list[dict]:
    """The picker's weeks: this week, the previous ones (and the chosen week when older or later)."""
    weeks = [today_week.shift(-i) for i in range(WEEK_CHOICES)]
    if week not in weeks:
        weeks.append(week)
    names = {0: "本周：", 1: "上周："}  # weeks[i] is i weeks before this one (the appended one: none)
    return [
        {"key": w.key, "label": f"{names.get(i, '') if i < WEEK_CHOICES else ''}{w.label}（{w.span}）"}
        for i, w in enumerate(weeks)
    ]


@bp.get("/weekly")
@replica_reads
def weekly():
    """周报: the 月清月结 figures of an ISO week (Monday to Sunday), each linked to its cases."""
    today_week = Week.of(local_today())
    node, week = _node_arg(default_node(_user())), _week_arg(today_week)
    return render_template(
        "reports/weekly.html",
        **figures.weekly_page(node, week),
        **_week_common(node, week, today_week),
    )


def _week_common(node: Node, week: Week, today_week: Week) -> dict:
    labels = {k: Week.words(v) for k, v in FIGURE_LABELS.items()}
    return {
        **_common(node, Month.of(week.first + timedelta(days=3)), "weekly"),
        "week": week,
        "weeks": week_choices(week, today_week),
        "prev_week": week.shift(-1),
        "next_week": week.shift(1),
        "week_running": week == today_week,
        "labels": labels,
    }


@bp.get("/weekly.xlsx")
@replica_reads
def weekly_export():
    node, week = _node_arg(default_node(_user())), _week_arg(Week.of(local_today()))
    from mediation.reports import export  # heavy: openpyxl stays out of start-up

    return export.download("weekly", "xlsx", node, week)


@bp.get("/comparison")
@replica_reads
def comparison():
    """同比 and 环比 by category for a month: 新增 and 办结, each number linked to its cases."""
    node, month = _target()
    return render_template(
        "reports/comparison.html",
        report=figures.comparison_report(node, month),
        **_common(node, month, "comparison"),
    )


@bp.get("/comparison.xlsx")
@replica_reads
def comparison_export():
    node, month = _target()
    from mediation.reports import export  # heavy: openpyxl stays out of start-up

    return export.download("comparison", "xlsx", node, month)


@bp.get("/<kind>.<fmt>")
@replica_reads
def download(kind, fmt):
    if kind not in REPORT_KINDS or fmt not in ("xlsx", "pdf"):
        abort(404)
    node, month = _target()
    from mediation.reports import export  # heavy: openpyxl and WeasyPrint stay out of start-up

    return export.download(kind, fmt, node, month)


# ------------------------------------------------------------------------------ overdue review


@bp.get("/overdue")
@replica_reads
def overdue():
    user = _user()
    if not may_review(user):
        abort(403, description="只有综治中心工作人员可以查看超期审查。")
    node = _node_arg(default_node(user))
    unit_code = request.args.get("unit", "").strip() or None
    level = request.args.get("level", "").strip() or None
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    args, page_errors = web_page_args(request.args, OverdueArgs)
    review = overdue_review(
        node, unit_id=unit.id if unit else None, level=level, page=args["page"], per_page=args["per_page"]
    )
    whole = review if unit is None and level is None else overdue_review(node, per_page=1)
    return render_template(
        "reports/overdue.html",
        review=review,
        league=whole["league"],
        unit=unit,
        level=level,
        page=args["page"],
        page_errors=page_errors,
        page_args=kept_per_page(request.args, page_errors),
        may_supervise=may_supervise(user),
        reply_by=default_reply_by(),
        levels=[v.value for v in SupervisionLevel],
        **_common(node, Month.of(local_today()), "overdue"),
    )


SUPERVISE_FIELDS = {"level": "督办级别", "reply_by": "回复期限", "note": "督办要求"}


@bp.post("/overdue/<int:dispute_id>/supervise")
def supervise(dispute_id):
    """One click 督办 (普通, reply in OVERDUE_SUPERVISION_REPLY_DAYS days); the row's options may
    choose 挂牌 and the reply date."""
    user = _user()
    dispute = get_dispute(user, dispute_id)
    form = {k: v for k, v in request.form.items() if k in SUPERVISE_FIELDS}
    try:
        data = SuperviseIn().load(form)
        order = issue_supervision(
            user, dispute, note=data["note"], reply_by=data["reply_by"], level=data["level"]
        )
    except ValidationError as err:
        db.session.rollback()
        for key, messages in err.messages.items():
            for message in messages if isinstance(messages, list) else [messages]:
                flash(f"{SUPERVISE_FIELDS.get(key, key)}：{message}", "error")
    except ReportError as err:
        db.session.rollback()
        flash(
            f"{SUPERVISE_FIELDS[err.field]}：{err.message}" if err.field in SUPERVISE_FIELDS else err.message,
            "error",
        )
    else:
        db.session.commit()
        label = "挂牌督办" if order.level == SupervisionLevel.LISTED else "督办"
        flash(
            f"已{label} {dispute.case_no}，请{order.target_unit.name}于{order.reply_by.isoformat()}前回复；"
            "督办已写入案件时间线。",
            "success",
        )
    back = request.form.get("next", "")
    return redirect(back if is_local_path(back) else url_for("reports.overdue"))


# --------------------------------------------------------------------------------- month close


def _close_node(user) -> Node:
    default = default_node(user)
    node = _node_arg(default)
    if not month_close.may_see_node_closes(user, node):
        abort(403)
    return node


@bp.get("/close")
def close_page():
    user = _user()
    if not month_close.may_work_on_closes(user):
        abort(403, description="只有综治中心工作人员可以办理月清月结。")
    node = _close_node(user)
    month = _month_arg(Month.of(local_today()).shift(-1))
    live = figures.monthly_report(node, month)
    active = month_close.active_close(node, month)
    history = month_close.close_history(node, month)
    comparison = month_close.compare(active.snapshot["monthly"], live) if active else []
    return render_template(
        "reports/close.html",
        live=live,
        active=active,
        history=history,
        comparison=comparison,
        missing=[c for c in live["prominent_carry_over"] if not c["carry_over_reason"]],
        may_close=month_close.may_close(user, node),
        may_request_reopen=active is not None and month_close.may_request_reopen(user, active),
        upper=month_close.upper_center_node(node),
        subs=month_close.submissions(node, month),
        pending=month_close.pending_reopen_requests(user),
        has_center=month_close.center_unit_of(node) is not None,
        close_question=close_question(node, month),
        future=month > Month.of(local_today()),
        **_common(node, month, "close"),
    )


def _back(node: Node, month: Month):
    return redirect(url_for("reports.close_page", node=node.code, month=month.key))


def _form_target() -> tuple[Node, Month]:
    user = _user()
    try:
        node = resolve_report_node(user, request.form.get("node", ""))
        month = Month.parse(request.form.get("month", ""))
    except ReportError as err:
        abort(err.status if err.status != 422 else 404, description=err.message)
    except ValueError as err:
        abort(422, description=str(err))
    return node, month


@bp.post("/close/carry-over")
def carry_over():
    user = _user()
    if not month_close.may_work_on_closes(user):
        abort(403)
    node, month = _form_target()
    written = 0
    errors = []
    for key, value in request.form.items():
        if not key.startswith("reason-") or not value.strip():
            continue
        number = key.removeprefix("reason-")
        if not (number.isascii() and number.isdigit() and len(number) <= 10 and int(number) <= MAX_ID):
            continue
        dispute = get_dispute(user, int(number))
        if (dispute.carry_over_reason or "").strip() == value.strip():
            continue
        try:  # the API's schema: length, and no control characters
            value = CarryOverIn().load({"dispute": dispute.id, "month": month.key, "reason": value})["reason"]
        except ValidationError as err:
            errors.extend(f"{dispute.case_no}：结转说明{m}" for m in err.messages.get("reason", []))
            continue
        try:
            with db.session.begin_nested():
                month_close.write_carry_over(user, dispute, month, value)
            written += 1
        except ReportError as err:
            errors.append(f"{dispute.case_no}：{err.message}")
    db.session.commit()
    for e in errors:
        flash(e, "error")
    if written:
        flash(f"已保存{written}条结转说明。", "success")
    elif not errors:
        flash("没有需要保存的结转说明。", "warning")
    return _back(node, month)


def close_question(node: Node, month: Month) -> str:
    """What 结账并上报 will do, with how many lower levels have not submitted the month yet."""
    upper = month_close.upper_center_node(node)
    subs = month_close.submissions(node, month)
    text = (
        f"结账后，{node.name}{month.label}的全部统计数据将冻结为快照"
        + (f"并上报{upper.name}" if upper else "（已是最高一级，不再上报）")
        + "；之后如需修改，须经上级同意重新打开。"
    )
    missing = subs["total"] - subs["submitted"]
    if missing:
        text += (
            f"注意：下级还有{missing}个（共{subs['total']}个）尚未上报本月，结账后其数据不计入已上报汇总。"
        )
    return text


@bp.post("/close")
def close_month():
    node, month = _form_target()
    if (
        not is_confirmed(request.form)
        and month_close.may_close(_user(), node)
        and month_close.active_close(node, month) is None
    ):
        return confirmation_page(
            request.form,
            action=url_for("reports.close_month"),
            title=f"请确认：{month.label}结账并上报",
            message=close_question(node, month),
            submit_label="确认结账并上报",
            cancel_url=url_for("reports.close_page", node=node.code, month=month.key),
        )
    try:
        close = month_close.close_month(_user(), node, month)
    except ReportError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _back(node, month)
    db.session.commit()
    upper = f"，并已上报{close.submitted_to.name}" if close.submitted_to else ""
    flash(f"{node.name}{month.label}已结账{upper}。统计快照已冻结。", "success")
    return _back(node, month)


def _visible_close(close_id: int) -> MonthClose:
    """A month close of the user's subtree, or one submitted to them (the API's rule); 404 otherwise,
    so that another town's close is neither shown nor acted on, nor its existence revealed."""
    user = _user()
    close = db.session.get(MonthClose, close_id)
    if close is None or not month_close.may_see_close(user, close):
        abort(404)
    return close


@bp.post("/close/<int:close_id>/reopen")
def reopen_request(close_id):
    close = _visible_close(close_id)
    reason = request.form.get("reason", "")
    try:
        if reason.strip():  # the API's schema (length, no control characters); blank: the service says so
            reason = ReopenIn().load({"reason": reason})["reason"]
        month_close.request_reopen(_user(), close, reason)
    except ValidationError as err:
        db.session.rollback()
        for message in err.messages.get("reason", []):
            flash(f"重新打开的理由：{message}", "error")
    except ReportError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash("重新打开申请已提交，等待上级综治中心审批。", "success")
    return _back(close.node, Month.parse(close.month))


@bp.post("/reopen/<int:request_id>/decide")
def reopen_decide(request_id):
    req = db.session.get(ReopenRequest, request_id) or abort(404)
    _visible_close(req.month_close_id)
    approve = request.form.get("decision") == "approve"
    try:
        note = DecisionIn().load({"approve": approve, "note": request.form.get("note", "")}).get("note")
        month_close.decide_reopen(_user(), req, approve, note)
    except ValidationError as err:
        db.session.rollback()
        for message in err.messages.get("note", []):
            flash(f"审批意见：{message}", "error")
    except ReportError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        close = req.month_close
        flash(
            f"已{'同意' if approve else '驳回'}{close.node.name}{Month.parse(close.month).label}的重新打开申请。",
            "success",
        )
    back = request.form.get("next", "")
    return redirect(back if is_local_path(back) else url_for("reports.close_page"))


# ------------------------------------------------------------------------------ sweep reports


@bp.route("/screening", methods=["GET", "POST"])
def screening():
    """The one-tap phone form of grid workers: 本期零报告, or a count of disputes found."""
    user = _user()
    grids = screenings.grids_in_scope(user)
    errors: dict[str, list[str]] = {}
    form = {
        "node": grids[0].code if len(grids) == 1 else "",
        "date": local_today().isoformat(),
        "found": "",
        "note": "",
    }
    if request.method == "POST":
        form.update({k: request.form.get(k, "").strip() for k in ("node", "date", "found", "note")})
        payload: dict = {k: v for k, v in form.items() if v and k != "found"}
        found = "0" if request.form.get("zero") else form["found"]
        if found:
            payload["found"] = int(found) if found.lstrip("-").isdigit() else found
        if is_confirmed(request.form):
            payload["confirm_overwrite"] = True
        try:
            data = ScreeningIn().load(payload)
            row, created = screenings.file_screening(user, data)
        except ValidationError as err:
            errors = {k: v if isinstance(v, list) else [str(v)] for k, v in err.messages.items()}
        except ReportError as err:
            if err.status == 409 and err.field == "found":  # a zero report over one that found disputes
                db.session.rollback()
                return confirmation_page(
                    request.form,
                    action=url_for("reports.screening"),
                    title="请确认：改为零报告",
                    message=err.message,
                    danger=True,
                    submit_label="确认改为零报告",
                    cancel_url=url_for("reports.screening"),
                )
            errors = {err.field or "node": [err.message]}
        else:
            db.session.commit()
            kind = "零报告" if row.found == 0 else f"发现纠纷{row.found}件"
            flash(
                f"{row.node.name}{row.reported_on:%m月%d日}排查报告已{'提交' if created else '更新'}（{kind}）。",
                "success",
            )
            return redirect(url_for("reports.screening"))
        db.session.rollback()
    names = node_names({int(p) for g in grids for p in g.path.strip("/").split("/") if p})
    grid_options = [
        {"code": g.code, "label": "/".join(names.get(int(p), "") for p in g.path.strip("/").split("/")[-2:])}
        for g in grids
    ]
    return render_template(
        "reports/screening.html",
        grids=grid_options,
        form=form,
        errors=errors,
        recent=screenings.recent_screenings(user),
        may_see_overdue=is_center_user_or_admin(user),
        today=local_today(),
        max_date=local_today().isoformat(),
    )


# ------------------------------------------------------------------------------- 考核 and 通报


def _term_arg():
    text = request.args.get("period", "").strip()
    if not text:
        return Month.of(local_today())
    try:
        return parse_term(text)
    except ValueError as err:
        _refuse_parameter("考核期间", str(err))


@bp.get("/scorecard")
@replica_reads
def scorecard():
    """考核排名: the node's units ranked for a month, quarter or year, with the previous period's rank."""
    user = _user()
    node, term = _node_arg(default_node(user)), _term_arg()
    by = request.args.get("by", "unit")
    if by not in SCORECARD_BY:
        _refuse_parameter("排名对象", "应为 unit（按单位）或 mediator（按调解员）。")
    card = (mediator_scorecard if by == "mediator" else scorecard_report)(node, term)
    return render_template(
        "reports/scorecard_mediators.html" if by == "mediator" else "reports/scorecard.html",
        card=card,
        term=term,
        prev_term=term.shift(-1),
        next_term=term.shift(1),
        may_issue=notices.may_issue_notice(user, node),
        notice=db.session.scalar(select(Notice).where(Notice.node_id == node.id, Notice.period == term.key)),
        **_common(node, Month.of(min(term.last, local_today())), "scorecard"),
    )


@bp.get("/scorecard.xlsx")
@replica_reads
def scorecard_export():
    node, term = _node_arg(default_node(_user())), _term_arg()
    from mediation.reports import export  # heavy: openpyxl stays out of start-up

    return export.download("scorecard", "xlsx", node, term)


@bp.get("/notices")
def notice_list():
    """考核通报: the notices the user sees (issued for the subtree, or naming the user's unit)."""
    user = _user()
    rows = db.session.scalars(notices.visible_notices(user).limit(200)).all()
    node = default_node(user)
    return render_template(
        "reports/notices.html",
        items=[notices.notice_summary(n) for n in rows],
        **_common(node, Month.of(local_today()), "notices"),
    )


@bp.post("/notices")
def issue_notice():
    user = _user()
    code = request.form.get("node", "").strip()
    try:
        node = resolve_report_node(user, code)
        term = parse_term(request.form.get("period", ""))
    except ReportError as err:
        abort(err.status if err.status != 422 else 404, description=err.message)
    except ValueError as err:
        _refuse_parameter("考核期间", str(err))
    if not is_confirmed(request.form) and notices.may_issue_notice(user, node):
        return confirmation_page(
            request.form,
            action=url_for("reports.issue_notice"),
            title=f"请确认：印发{node.name}{term.label}考核通报",
            message="通报将列出考核排名、通报表扬和批评的单位及超期案件，印发后不能修改，被点名的单位可以看到。",
            submit_label="确认印发",
            cancel_url=url_for("reports.scorecard", node=node.code, period=term.key),
        )
    try:
        notice = notices.issue_notice(user, node, term)
    except ReportError as err:
        db.session.rollback()
        if err.status == 403:
            abort(403, description=err.message)
        flash(err.message, "error")
        return redirect(url_for("reports.scorecard", node=node.code, period=term.key))
    db.session.commit()
    flash(f"已印发{notice.number}。", "success")
    return redirect(url_for("reports.notice_list"))


@bp.get("/notices/<int:report_notice_id>.pdf")
def notice_pdf(report_notice_id):
    notice = db.session.get(Notice, report_notice_id)
    if notice is None or not notices.may_see_notice(_user(), notice):
        abort(404)
    from mediation.reports import export  # heavy: openpyxl stays out of start-up

    return export.attachment(
        notice.pdf, f"{notice.number}.pdf", export.PDF, f"notice_{notice.node.code}_{notice.period}.pdf"
    )


# ------------------------------------------------------------------------------ sweep findings


def _or_404(fn, *args):
    try:
        return fn(_user(), *args)
    except ReportError as err:
        abort(err.status)


@bp.get("/screening/<int:screening_id>")
def sweep_page(screening_id: int):
    """A sweep report: found N, registered M, explained K; each finding registered in one tap,
    linked to a case or explained; a form to list another finding."""
    row = _or_404(screenings.get_screening, screening_id)
    return _sweep_page(row)


def _sweep_page(row, errors: dict | None = None, form: dict | None = None, status: int = 200):
    user = _user()
    return (
        render_template(
            "reports/sweep.html",
            s=row,
            counts=screenings.sweep_counts(row),
            may_work=screenings.may_work_on_sweep(user, row),
            places=screenings.finding_places(user, row),
            categories=current_app.config["CATEGORIES"],
            reasons=screenings.EXPLAIN_REASONS,
            errors=errors or {},
            form=form or {},
            days=current_app.config["SWEEP_REGISTER_DAYS"],
            overdue_before=screenings.overdue_cutoff(local_today()),
        ),
        status,
    )


@bp.post("/screening/<int:screening_id>/findings")
def add_finding(screening_id: int):
    row = _or_404(screenings.get_screening, screening_id)
    form = {k: request.form.get(k, "").strip() for k in ("description", "node", "parties", "category")}
    try:
        data = FindingIn().load(form)
        finding, created = screenings.add_finding(_user(), row, data)
    except ValidationError as err:
        db.session.rollback()
        return _sweep_page(row, {k: list(v) for k, v in err.messages.items()}, form, 422)
    except ReportError as err:
        db.session.rollback()
        if err.status == 403:
            abort(403)
        return _sweep_page(row, {err.field or "description": [err.message]}, form, err.status)
    db.session.commit()
    flash("已列出发现的纠纷。" if created else "该纠纷已列出，未重复添加。", "success")
    return redirect(url_for("reports.sweep_page", screening_id=row.id), 303)


def _finding_action(finding_id: int, act) -> tuple:
    finding = _or_404(screenings.get_finding, finding_id)
    try:
        act(finding)
    except ReportError as err:
        db.session.rollback()
        if err.status in (403, 404):
            abort(err.status)
        flash(err.message, "error")
        return finding, False
    db.session.commit()
    return finding, True


@bp.post("/sweep-findings/<int:finding_id>/explain")
def explain_finding(finding_id: int):
    finding, done = _finding_action(
        finding_id,
        lambda f: screenings.explain_finding(
            _user(), f, request.form.get("reason", "").strip(), request.form.get("note", "")[:500]
        ),
    )
    if done:
        flash(f"已说明：{finding.explained_reason}。", "success")
    return redirect(url_for("reports.sweep_page", screening_id=finding.screening_id), 303)


@bp.route("/sweep-findings/<int:finding_id>/link", methods=["GET", "POST"])
def link_finding(finding_id: int):
    """The picker: search the cases the user can see, then link one."""
    if request.method == "POST":
        finding, done = _finding_action(
            finding_id, lambda f: screenings.link_finding(_user(), f, request.form.get("case_no", ""))
        )
        if done:
            flash(f"已关联案件 {finding.dispute.case_no}。", "success")
            return redirect(url_for("reports.sweep_page", screening_id=finding.screening_id), 303)
        return redirect(url_for("reports.link_finding", finding_id=finding.id), 303)
    finding = _or_404(screenings.get_finding, finding_id)
    q = request.args.get("q", "").strip()[:50]
    return render_template(
        "reports/sweep_link.html",
        f=finding,
        q=q,
        cases=screenings.linkable_cases(_user(), q),
        may_work=screenings.may_work_on_sweep(_user(), finding.screening),
    )


@bp.get("/sweep-findings/overdue")
def overdue_findings():
    """The 综治中心's list of findings left open past SWEEP_REGISTER_DAYS in its area."""
    user = _user()
    if not is_center_user_or_admin(user):
        abort(403)
    return render_template(
        "reports/sweep_overdue.html",
        rows=screenings.overdue_findings(user),
        days=current_app.config["SWEEP_REGISTER_DAYS"],
    )


@bp.get("/sweeps")
@replica_reads
def sweeps():
    """The drill-down of 排查闭环率: the sweep reports of the node's grids in the month (not cases)."""
    node, month = _target()
    incomplete = request.args.get("incomplete") == "1"
    rows = screenings.sweeps_of(node, month, incomplete=incomplete)
    return render_template(
        "reports/sweeps.html",
        rows=[(r, screenings.sweep_counts(r)) for r in rows],
        incomplete=incomplete,
        closure=screenings.sweep_closure(node, month),
        **_common(node, month, "shuangbai"),
    )
