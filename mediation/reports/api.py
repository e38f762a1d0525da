"""The JSON API of reports: 月清月结, 双百, the channel table, the overdue review, sweep reports and
the month close. The same functions (figures, overdue, screenings, month_close) as the web
pages; who may see and act on a month close is asked of ``month_close``'s predicates."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy import select

from mediation.accounts.access import get_dispute, is_center_user_or_admin
from mediation.accounts.auth import api_user, token_required
from mediation.disputes import service as dispute_service
from mediation.disputes import workflow
from mediation.disputes.schemas import DisputeCreate
from mediation.extensions import db
from mediation.followups.schemas import SupervisionOrderOut
from mediation.geo.models import Unit
from mediation.replica import replica_reads
from mediation.reports import figures, month_close, notices, overdue, screenings
from mediation.reports import schemas as sc
from mediation.reports.common import Month, ReportError, Week, parse_term, resolve_report_node
from mediation.reports.models import MonthClose, Notice, ReopenRequest
from mediation.reports.scorecard import mediator_scorecard, scorecard

blp = Blueprint(
    "reports_api", __name__, url_prefix="/api/v1", description="统计报表、排查报告、超期督办与月清月结"
)


def fail(err: ReportError, location: str = "query", field: str | None = None):
    """Abort with the refusal's status; a 422 names the field like flask-smorest's own errors."""
    db.session.rollback()
    field = err.field or field
    if err.status == 422 and field:
        abort(422, message=err.message, errors={location: {field: [err.message]}})
    kwargs = {"message": err.message}
    if err.cases:
        kwargs["errors"] = {"cases": err.cases}
    abort(err.status, **kwargs)


def report_node(args: dict, location: str = "query"):
    try:
        return resolve_report_node(api_user(), args["node"])
    except ReportError as err:
        fail(err, location, "node")


def report_target(args: dict, location: str = "query"):
    return report_node(args, location), Month.parse(args["month"])


@blp.route("/reports/monthly")
class MonthlyReport(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ReportArgs, location="query")
    @blp.response(200, sc.MonthlyReport)
    @blp.alt_response(422, description="节点代码或月份无效")
    @replica_reads
    def get(self, args):
        """月清月结统计：上月结转、本月新增、办结、调解成功、稳控、结转下月、超期及比率（含突出问题子集）"""
        node, month = report_target(args)
        return figures.monthly_report(node, month)


@blp.route("/reports/weekly")
class WeeklyReport(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.WeekArgs, location="query")
    @blp.response(200, sc.WeeklyReport)
    @blp.alt_response(422, description="节点代码或周次无效")
    @replica_reads
    def get(self, args):
        """周报：某ISO周（周一至周日）的月清月结指标——上周结转、本周新增、办结、调解成功、稳控、结转下周、超期及比率"""
        node = report_node(args)
        return figures.weekly_report(node, Week.parse(args["week"]))


@blp.route("/reports/comparison")
class ComparisonReport(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ReportArgs, location="query")
    @blp.response(200, sc.ComparisonReport)
    @blp.alt_response(422, description="节点代码或月份无效")
    @replica_reads
    def get(self, args):
        """按类别同比（去年同月）、环比（上月）：新增（按登记日期）与办结（按办结日期），含增减、增幅与同比下降标记"""
        node, month = report_target(args)
        return figures.comparison_report(node, month)


@blp.route("/reports/shuangbai")
class ShuangbaiReport(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ReportArgs, location="query")
    @blp.response(200, sc.ShuangbaiReport)
    @replica_reads
    def get(self, args):
        """“双百”行动统计：排查 100%（网格排查报告）与化解稳控 100%，民转刑，按发现场所"""
        node, month = report_target(args)
        return figures.shuangbai_report(node, month)


@blp.route("/reports/channels")
class ChannelReport(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ReportArgs, location="query")
    @blp.response(200, sc.ChannelReport)
    @replica_reads
    def get(self, args):
        """分渠道、分类别统计（受理、调处、成功、成功率），民转刑，五进场所，属地属事双化解"""
        node, month = report_target(args)
        return figures.channel_report(node, month)


@blp.route("/reports/overdue")
class OverdueReview(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.OverdueArgs, location="query")
    @blp.response(200, sc.OverdueReview)
    @replica_reads
    def get(self, args):
        """超期审查：辖区内处于预警或超期的在办案件（按风险和超期天数排序）及各单位超期排行"""
        user = api_user()
        if not overdue.may_review(user):
            abort(403, message="只有综治中心工作人员可以查看超期审查。")
        try:
            node = resolve_report_node(user, args["node"] or user.unit.node.code)
        except ReportError as err:
            fail(err, "query", "node")
        unit_id = None
        if args.get("unit"):
            unit_id = db.session.scalar(select(Unit.id).where(Unit.code == args["unit"]))
            if unit_id is None:
                abort(422, message="未知的单位代码。", errors={"query": {"unit": ["未知的单位代码。"]}})
        return overdue.overdue_review(
            node, unit_id=unit_id, level=args.get("level"), page=args["page"], per_page=args["per_page"]
        )


@blp.route("/reports/overdue/<int:dispute_id>/supervise")
class Supervise(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.SuperviseIn)
    @blp.response(201, SupervisionOrderOut)
    @blp.alt_response(403, description="不是综治中心")
    @blp.alt_response(409, description="案件已办结、未分流，或本单位已有未回复的督办")
    @blp.alt_response(422, description="回复期限早于今天，或督办级别无效")
    def post(self, data, dispute_id):
        """一键督办：向牵头单位发出督办（普通 / 挂牌，默认普通），写入案件时间线并提醒该单位

        回复期限默认为今天起 OVERDUE_SUPERVISION_REPLY_DAYS 天（默认3天）。"""
        user = api_user()
        dispute = get_dispute(user, dispute_id)
        try:
            order = overdue.issue_supervision(
                user, dispute, note=data["note"], reply_by=data["reply_by"], level=data["level"]
            )
        except ReportError as err:
            fail(err, "json")
        db.session.commit()
        return order


@blp.route("/screenings")
class Screenings(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ScreeningIn)
    @blp.response(201, sc.ScreeningOut)
    @blp.alt_response(422, description="网格代码、日期或发现数无效")
    @blp.alt_response(
        409, description="零报告将覆盖同日已报告发现纠纷的报告：确需更正时传 confirm_overwrite=true"
    )
    def post(self, data):
        """网格排查报告（found 可为 0：零报告）。同一网格、同一日期、同一人重复提交只更新不重复"""
        try:
            row, created = screenings.file_screening(api_user(), data)
        except ReportError as err:
            fail(err, "json")
        db.session.commit()
        return row, 201, {} if created else {"Idempotent-Replayed": "true"}


@blp.route("/screenings/<int:screening_id>")
class ScreeningDetail(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.ScreeningDetail)
    def get(self, screening_id):
        """排查报告及其发现的纠纷：发现N件、登记M件、说明K件，是否闭环（填报的网格员、该网格的综治中心可查看）"""
        try:
            return screenings.get_screening(api_user(), screening_id)
        except ReportError as err:
            fail(err)


@blp.route("/screenings/<int:screening_id>/findings")
class ScreeningFindings(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.FindingOut(many=True))
    def get(self, screening_id):
        """排查报告发现的纠纷"""
        try:
            return screenings.get_screening(api_user(), screening_id).findings
        except ReportError as err:
            fail(err)

    @blp.arguments(sc.FindingIn)
    @blp.response(201, sc.FindingOut)
    @blp.alt_response(403, description="不是填报该报告的网格员或该网格的综治中心")
    @blp.alt_response(422, description="类别或地点无效")
    def post(self, data, screening_id):
        """列出排查发现的一件纠纷（简要情况、地点、当事人姓名可不填、类别）。同样内容重复提交不重复列出"""
        user = api_user()
        try:
            row, created = screenings.add_finding(user, screenings.get_screening(user, screening_id), data)
        except ReportError as err:
            fail(err, "json")
        db.session.commit()
        return row, 201, {} if created else {"Idempotent-Replayed": "true"}


def _finding(finding_id):
    try:
        return screenings.get_finding(api_user(), finding_id)
    except ReportError as err:
        fail(err)


@blp.route("/sweep-findings/<int:finding_id>/register")
class RegisterFinding(MethodView):
    decorators = [token_required]

    @blp.response(201, sc.FindingOut)
    @blp.alt_response(409, description="该发现已登记、关联或说明")
    @blp.alt_response(422, description="登记信息不全（字段错误同 POST /disputes）")
    def post(self, finding_id):
        """一键登记：按排查发现预填登记纠纷（请求体可覆盖 POST /disputes 的任意字段，如当事人），并与新案件关联"""
        user = api_user()
        finding = _finding(finding_id)
        body = request.get_json(silent=True)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            abort(422, errors={"json": {"_schema": ["请求体应为 JSON 对象。"]}})
        key = request.headers.get("Idempotency-Key", "").strip()[:128] or None
        if not key:  # (a retry with its key replays the registration below)
            try:
                screenings.refuse_unless_open(user, finding)
            except ReportError as err:
                fail(err, "json")
        payload = screenings.registration_payload(finding, body)
        fingerprint = dispute_service.request_fingerprint(payload)
        try:
            data = DisputeCreate().load(payload)
            screenings.register_finding(user, finding, data, idempotency_key=key, fingerprint=fingerprint)
        except ValidationError as err:
            db.session.rollback()
            abort(422, errors={"json": err.messages})
        except workflow.WorkflowError as err:
            db.session.rollback()
            abort(err.status, message=err.message)
        except ReportError as err:
            fail(err, "json")
        workflow.commit()
        return finding


@blp.route("/sweep-findings/<int:finding_id>/link")
class LinkFinding(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.FindingLinkIn)
    @blp.response(200, sc.FindingOut)
    @blp.alt_response(409, description="该发现已登记、关联或说明")
    @blp.alt_response(422, description="案号不存在或无权查看")
    def post(self, data, finding_id):
        """将排查发现关联到您可查看的已有案件（按案号）"""
        finding = _finding(finding_id)
        try:
            screenings.link_finding(api_user(), finding, data["case_no"])
        except ReportError as err:
            fail(err, "json")
        db.session.commit()
        return finding


@blp.route("/sweep-findings/<int:finding_id>/explain")
class ExplainFinding(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.FindingExplainIn)
    @blp.response(200, sc.FindingOut)
    @blp.alt_response(409, description="该发现已登记、关联或说明")
    @blp.alt_response(422, description="原因无效，或选“其他”未写明原因")
    def post(self, data, finding_id):
        """说明排查发现无需登记的原因：当场化解、不属于纠纷、重复上报、其他（须写明）"""
        finding = _finding(finding_id)
        try:
            screenings.explain_finding(api_user(), finding, data["reason"], data.get("note"))
        except ReportError as err:
            fail(err, "json")
        db.session.commit()
        return finding


@blp.route("/sweep-findings/overdue")
class OverdueFindings(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.FindingOut(many=True))
    @blp.alt_response(403, description="不是综治中心")
    def get(self):
        """辖区内排查发现超过 SWEEP_REGISTER_DAYS 天仍未登记也未说明的纠纷（综治中心）"""
        user = api_user()
        if not is_center_user_or_admin(user):
            abort(403, message="只有综治中心工作人员可以查看排查未登记清单。")
        return screenings.overdue_findings(user)


@blp.route("/month-closes")
class MonthCloses(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.MonthCloseIn)
    @blp.response(201, sc.MonthCloseOut)
    @blp.alt_response(409, description="已结账，或仍有突出问题未填写结转说明（errors.cases 列出案件）")
    def post(self, data):
        """月清月结：冻结本月统计快照并上报上级综治中心"""
        node, month = report_target(data, "json")
        try:
            close = month_close.close_month(api_user(), node, month)
        except ReportError as err:
            fail(err, "json", "month")
        db.session.commit()
        return close

    @blp.arguments(sc.ReportArgs, location="query")
    @blp.response(200, sc.MonthCloseOut(many=True))
    def get(self, args):
        """某节点某月的结账记录（含已重新打开的历史）"""
        node, month = report_target(args)
        if not month_close.may_view_closes_of(api_user(), node):
            abort(403, message="只有综治中心工作人员可以查看月清月结。")
        return month_close.close_history(node, month)


@blp.route("/month-closes/carry-over")
class CarryOver(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.CarryOverIn)
    @blp.response(201, sc.CarryOverCase)
    def post(self, data):
        """为月末未办结的突出问题填写结转说明（写入案件与时间线）"""
        user = api_user()
        if not month_close.may_work_on_closes(user):
            abort(403, message="只有综治中心工作人员可以填写结转说明。")
        dispute = get_dispute(user, data["dispute"])
        try:
            month_close.write_carry_over(user, dispute, Month.parse(data["month"]), data["reason"])
        except ReportError as err:
            fail(err, "json", "reason")
        db.session.commit()
        return {
            "id": dispute.id,
            "case_no": dispute.case_no,
            "category": dispute.category,
            "status": str(dispute.status),
            "risk_level": str(dispute.risk_level),
            "registered_on": dispute.registered_on.isoformat(),
            "node": dispute.node.name,
            "carry_over_reason": dispute.carry_over_reason,
        }


def _close_or_404(close_id: int) -> MonthClose:
    close = db.session.get(MonthClose, close_id)
    user = api_user()
    if close is None or not month_close.may_see_close(user, close):
        abort(404)
    return close


@blp.route("/month-closes/<int:close_id>/reopen-requests")
class ReopenRequests(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ReopenIn)
    @blp.response(201, sc.ReopenOut)
    def post(self, data, close_id):
        """申请重新打开已结账的月份（需上级综治中心同意）"""
        close = _close_or_404(close_id)
        try:
            req = month_close.request_reopen(api_user(), close, data["reason"])
        except ReportError as err:
            fail(err, "json", "reason")
        db.session.commit()
        return req


@blp.route("/reopen-requests/<int:request_id>/decision")
class ReopenDecision(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.DecisionIn)
    @blp.response(200, sc.ReopenOut)
    def post(self, data, request_id):
        """上级综治中心同意或驳回重新打开申请"""
        req = db.session.get(ReopenRequest, request_id)
        if req is None:
            abort(404)
        _close_or_404(req.month_close_id)
        try:
            month_close.decide_reopen(api_user(), req, data["approve"], data.get("note"))
        except ReportError as err:
            fail(err, "json")
        db.session.commit()
        return req


# ---------------------------------------------------------------------------------- 考核 and 通报


@blp.route("/reports/scorecard")
class Scorecard(MethodView):
    decorators = [token_required]

    @blp.arguments(sc.ScorecardArgs, location="query")
    @blp.response(200, sc.Scorecard)
    @blp.alt_response(422, description="节点代码或考核期间无效")
    @replica_reads
    def get(self, args):
        """考核排名：节点下一级各单位在某月、某季度或某年的受理数、调解成功率、按期办结率、超期数、督办按期回复率、
        回访完成率、满意率、排查上报率，各项得分、加权总分、名次及上期名次（权重见 SCORECARD_WEIGHTS）；
        by=mediator：辖区内各调解员按其承办案件的受理数、调解成功率、按期办结率、超期数、回访完成率、满意率排名"""
        node = report_node(args)
        ranked = mediator_scorecard if args["by"] == "mediator" else scorecard
        return ranked(node, parse_term(args["period"]))


def _visible_notice(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or not notices.may_see_notice(api_user(), notice):
        abort(404, message="通报不存在。")
    return notice


@blp.route("/reports/notices")
class Notices(MethodView):
    decorators = [token_required]

    @blp.response(200, sc.NoticeOut(many=True))
    def get(self):
        """考核通报：本人可见的通报（本级及上级印发给本辖区的，和点名本单位的），最新的在前"""
        rows = db.session.scalars(notices.visible_notices(api_user()).limit(200))
        return [notices.notice_summary(n) for n in rows]

    @blp.arguments(sc.NoticeIn)
    @blp.response(201, sc.NoticeOut)
    @blp.alt_response(403, description="不是综治中心，或节点不在辖区内")
    @blp.alt_response(409, description="该节点本期的通报已印发")
    @blp.alt_response(422, description="节点代码或考核期间无效")
    def post(self, data):
        """印发考核通报（综治中心，对本辖区）：排名、通报表扬与批评（阈值见 NOTICE_*）、超期案件点名，生成 PDF 并留存"""
        node = report_node(data, "json")
        try:
            notice = notices.issue_notice(api_user(), node, parse_term(data["period"]))
        except ReportError as err:
            fail(err, "json", "period")
        db.session.commit()
        return notices.notice_summary(notice)


@blp.route("/reports/notices/<int:report_notice_id>/pdf")
class NoticePdf(MethodView):
    decorators = [token_required]

    @blp.response(200, content_type="application/pdf", description="考核通报 PDF")
    def get(self, report_notice_id):
        """考核通报的 PDF（印发时生成并留存）"""
        notice = _visible_notice(report_notice_id)
        return Response(notice.pdf, mimetype="application/pdf")
