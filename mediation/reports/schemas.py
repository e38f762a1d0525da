"""One named schema per shape of the reports API."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from mediation.common import schema as s
from mediation.common.paging import PageArgs, PageOut
from mediation.followups.models import SupervisionLevel
from mediation.reports.common import Month, Week, parse_term
from mediation.reports.screenings import sweep_counts


def _month(value: str) -> None:
    try:
        Month.parse(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None


class ReportArgs(s.InputSchema):
    node = s.String(required=True, metadata={"description": "节点代码（统计该节点及其下级，按属地）"})
    month = s.String(required=True, validate=_month, metadata={"description": "月份 YYYY-MM"})


def _week(value: str) -> None:
    try:
        Week.parse(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None


class WeekArgs(s.InputSchema):
    node = s.String(required=True, metadata={"description": "节点代码（统计该节点及其下级，按属地）"})
    week = s.String(
        required=True,
        validate=_week,
        metadata={"description": "ISO周 YYYY-Www（周一至周日，北京时间日期），例如 2026-W48"},
    )


class OverdueArgs(s.InputSchema, PageArgs.sized(50, 500)):
    node = s.String(load_default=None, metadata={"description": "节点代码，默认本单位所在节点"})
    unit = s.String(load_default=None, metadata={"description": "承办单位代码（筛选）"})
    level = s.String(load_default=None, validate=s.one_of(["预警", "超期"], "预警等级"))


class Figures(Schema):
    carried_in = fields.Integer(metadata={"description": "上月结转：登记于月初之前且月初前未办结"})
    new = fields.Integer(metadata={"description": "本月新增：登记日期在本月"})
    closed = fields.Integer(metadata={"description": "本月办结（不论结果）"})
    resolved = fields.Integer(metadata={"description": "本月办结且调解成功"})
    stabilized = fields.Integer(metadata={"description": "月末未办结且处于稳控"})
    carried_out = fields.Integer(metadata={"description": "结转下月 = 上月结转 + 本月新增 - 本月办结"})
    overdue = fields.Integer(metadata={"description": "月末未办结且办理期限早于月末"})
    clearance_rate = fields.Float(
        allow_none=True, metadata={"description": "办结率 closed/(carried_in+new)，分母为0时为 null"}
    )
    resolution_rate = fields.Float(
        allow_none=True, metadata={"description": "化解成功率 resolved/closed，分母为0时为 null"}
    )


class CarryOverCase(Schema):
    id = fields.Integer()
    case_no = fields.String()
    category = fields.String()
    status = fields.String()
    risk_level = fields.String()
    registered_on = fields.String()
    node = fields.String(metadata={"description": "属地名称"})
    carry_over_reason = fields.String(allow_none=True, metadata={"description": "结转说明（未填写为 null）"})


class SatisfactionCounts(Schema):
    answered = fields.Integer(
        metadata={"description": "满意度答复：本月（北京时间）有当事人评价或回访满意度评分的案件数"}
    )
    satisfied = fields.Integer(
        metadata={
            "description": "满意：本月当事人评价的最低分为4–5分（本月无当事人评价的，以回访评分的最低分为准）"
        }
    )
    rate = fields.Float(
        allow_none=True, metadata={"description": "满意率 satisfied/answered，分母为0时为 null"}
    )


class SatisfactionUnit(SatisfactionCounts):
    unit = fields.String(metadata={"description": "承办单位代码（无承办单位为“未分流”）"})
    unit_name = fields.String()


class Satisfaction(SatisfactionCounts):
    by_unit = fields.List(fields.Nested(SatisfactionUnit), metadata={"description": "按承办单位"})


class MonthlyReport(Figures):
    node = fields.String()
    node_name = fields.String()
    month = fields.String()
    prominent = fields.Nested(Figures, metadata={"description": "同样的指标，仅统计突出问题"})
    prominent_carry_over = fields.List(
        fields.Nested(CarryOverCase), metadata={"description": "月末未办结的突出问题及其结转说明"}
    )
    satisfaction = fields.Nested(
        Satisfaction, metadata={"description": "满意率（按案件计，按承办单位；定义见报表说明）"}
    )


class WeeklyReport(Figures):
    node = fields.String()
    node_name = fields.String()
    week = fields.String(metadata={"description": "ISO周 YYYY-Www"})
    first = fields.String(metadata={"description": "周一（含）"})
    last = fields.String(metadata={"description": "周日（含）"})
    prominent = fields.Nested(Figures, metadata={"description": "同样的指标，仅统计突出问题"})


class ComparisonRow(Schema):
    current = fields.Integer(metadata={"description": "本月"})
    last_year = fields.Integer(metadata={"description": "去年同月"})
    previous = fields.Integer(metadata={"description": "上月"})
    yoy_change = fields.Integer(metadata={"description": "同比增减 current - last_year"})
    yoy_rate = fields.Float(
        allow_none=True, metadata={"description": "同比增幅 (current-last_year)/last_year，去年为0时为 null"}
    )
    mom_change = fields.Integer(metadata={"description": "环比增减 current - previous"})
    mom_rate = fields.Float(
        allow_none=True, metadata={"description": "环比增幅 (current-previous)/previous，上月为0时为 null"}
    )
    yoy_down = fields.Boolean(metadata={"description": "同比下降：本月少于去年同月"})


class ComparisonLine(ComparisonRow):
    category = fields.String()


class ComparisonPart(Schema):
    label = fields.String()
    rows = fields.List(fields.Nested(ComparisonLine))
    total = fields.Nested(ComparisonRow)


class ComparisonReport(Schema):
    node = fields.String()
    node_name = fields.String()
    month = fields.String()
    last_year_month = fields.String(metadata={"description": "去年同月 YYYY-MM"})
    previous_month = fields.String(metadata={"description": "上月 YYYY-MM"})
    new = fields.Nested(
        ComparisonPart, metadata={"description": "新增：登记日期在该月（属地在该节点及其下级），按类别"}
    )
    closed = fields.Nested(
        ComparisonPart, metadata={"description": "办结：办结日期在该月（属地在该节点及其下级），按类别"}
    )


class ShuangbaiReport(Schema):
    node = fields.String()
    node_name = fields.String()
    month = fields.String()
    grids_total = fields.Integer()
    grids_reported = fields.Integer()
    screening_rate = fields.Float(allow_none=True)
    in_scope = fields.Integer()
    resolved = fields.Integer()
    stabilized = fields.Integer()
    resolve_or_stabilize_rate = fields.Float(allow_none=True)
    civil_to_criminal = fields.Integer()
    sweeps = fields.Integer(metadata={"description": "本月网格排查报告数"})
    sweeps_complete = fields.Integer(
        metadata={"description": "其中闭环的：发现的纠纷均已列出，且均已登记（或关联案件）或说明"}
    )
    sweep_closure_rate = fields.Float(
        allow_none=True, metadata={"description": "排查闭环率 = sweeps_complete / sweeps"}
    )
    by_venue = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "本月新增按发现场所：村/家庭/学校/企业/单位/未填"},
    )


class ChannelRow(Schema):
    new = fields.Integer(metadata={"description": "本月新增（登记）"})
    received = fields.Integer(metadata={"description": "受理：受理日期在本月"})
    handled = fields.Integer(metadata={"description": "调处：本月办结且调解成功或调解不成功"})
    resolved = fields.Integer(metadata={"description": "调处成功：本月办结且调解成功"})
    closed = fields.Integer(metadata={"description": "本月办结（不论结果）"})
    success_rate = fields.Float(allow_none=True, metadata={"description": "成功率 resolved/handled"})


class ChannelLine(ChannelRow):
    channel = fields.String()


class CategoryLine(ChannelRow):
    category = fields.String()


class DoubleResolution(Schema):
    cases = fields.Integer(metadata={"description": "在办范围内（上月结转+本月新增）已明确属事单位的案件"})
    resolved = fields.Integer(metadata={"description": "其中本月调解成功（双化解）"})
    stabilized = fields.Integer(metadata={"description": "其中月末处于稳控（双稳控）"})
    outside = fields.Integer(metadata={"description": "其中属事单位不在本辖区（上级或其他部门）"})
    rate = fields.Float(allow_none=True, metadata={"description": "(resolved+stabilized)/cases"})


class ChannelReport(Schema):
    node = fields.String()
    node_name = fields.String()
    month = fields.String()
    channels = fields.List(fields.Nested(ChannelLine))
    channel_total = fields.Nested(ChannelRow)
    categories = fields.List(fields.Nested(CategoryLine))
    civil_to_criminal = fields.Integer()
    by_venue = fields.Dict(keys=fields.String(), values=fields.Integer())
    double = fields.Nested(DoubleResolution)


class ScreeningIn(s.InputSchema):
    node = s.String(required=True, metadata={"description": "网格节点代码"})
    date = s.Date(load_default=None, validate=s.not_in_future, metadata={"description": "排查日期，默认今天"})
    found = s.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=100000, error="发现纠纷数应为0到100000之间的整数（0为零报告）。"),
    )
    note = s.Text(load_default=None, validate=s.length(500))
    confirm_overwrite = s.Boolean(
        load_default=False,
        metadata={"description": "零报告覆盖同日已报告发现纠纷的报告时须为 true（否则 409）"},
    )


class ScreeningOut(Schema):
    id = fields.Integer()
    node = fields.Function(lambda r: r.node.code)
    node_name = fields.Function(lambda r: r.node.name)
    date = fields.Date(attribute="reported_on")
    found = fields.Integer()
    zero_report = fields.Boolean(attribute="is_zero")
    note = fields.String(allow_none=True)
    user = fields.Function(lambda r: r.user.username)


class OverdueItem(Schema):
    id = fields.Integer()
    case_no = fields.String()
    category = fields.String()
    risk_level = fields.String()
    prominent = fields.Boolean()
    status = fields.String()
    channel = fields.String(allow_none=True)
    accepted_on = fields.String(allow_none=True)
    deadline = fields.String()
    level = fields.String(metadata={"description": "预警 / 超期"})
    days_overdue = fields.Integer(metadata={"description": "超过期限的天数（负数为剩余天数）"})
    unit = fields.String(allow_none=True)
    unit_name = fields.String()
    node_name = fields.String()
    supervisions = fields.Integer()
    leader = fields.String(allow_none=True, metadata={"description": "包案领导（职务 姓名），未包案为空"})


class LeagueRow(Schema):
    unit = fields.String(allow_none=True)
    unit_name = fields.String()
    overdue = fields.Integer()
    warning = fields.Integer()


class OverdueReview(PageOut):
    node = fields.String()
    node_name = fields.String()
    today = fields.String()
    overdue = fields.Integer()
    warning = fields.Integer()
    items = fields.List(fields.Nested(OverdueItem))
    league = fields.List(fields.Nested(LeagueRow))


class SuperviseIn(s.InputSchema):
    """督办 from the overdue review; the answer is the follow-ups area's ``SupervisionOrderOut``."""

    level = s.String(
        load_default=SupervisionLevel.ORDINARY.value,
        validate=s.one_of([v.value for v in SupervisionLevel], "督办级别"),
        metadata={"description": "普通 / 挂牌（默认普通）"},
    )
    reply_by = s.Date(
        load_default=None, metadata={"description": "回复期限，默认今天起 OVERDUE_SUPERVISION_REPLY_DAYS 天"}
    )
    note = s.Text(
        load_default=None,
        validate=s.length(2000),
        metadata={"description": "督办要求，默认按案件超期情况生成"},
    )


class MonthCloseIn(s.InputSchema):
    node = s.String(required=True)
    month = s.String(required=True, validate=_month)


class CarryOverIn(s.InputSchema):
    dispute = s.Integer(required=True, metadata={"description": "案件 id"})
    month = s.String(required=True, validate=_month)
    reason = s.Text(required=True, validate=s.length(2000, 4))


class ReopenIn(s.InputSchema):
    reason = s.Text(required=True, validate=s.length(2000, 4))


class DecisionIn(s.InputSchema):
    approve = s.Boolean(required=True)
    note = s.Text(load_default=None, validate=s.length(1000))


class ReopenOut(Schema):
    id = fields.Integer()
    status = fields.String()
    reason = fields.String()
    requested_by = fields.String(attribute="requested_by_name")
    decided_by = fields.String(attribute="decided_by_name", allow_none=True)
    decision_note = fields.String(allow_none=True)


class MonthCloseOut(Schema):
    id = fields.Integer()
    node = fields.Function(lambda c: c.node.code)
    month = fields.String()
    seq = fields.Integer()
    status = fields.String()
    closed_by = fields.String(attribute="closed_by_name")
    closed_at = fields.DateTime()
    submitted_to = fields.Function(lambda c: c.submitted_to.code if c.submitted_to else None)
    snapshot = fields.Dict()
    reopen_requests = fields.List(fields.Nested(ReopenOut))


# ---------------------------------------------------------------------------------- 考核 and 通报


def _term(value: str) -> None:
    try:
        parse_term(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None


class ScorecardArgs(s.InputSchema):
    node = s.String(
        required=True, metadata={"description": "节点代码（对其下一级各单位排名，各含下级，按属地）"}
    )
    period = s.String(
        required=True,
        validate=_term,
        metadata={"description": "考核期间：YYYY-MM（月）、YYYY-Qn（季度）或 YYYY（年）"},
    )
    by = s.String(
        load_default="unit",
        validate=s.one_of(["unit", "mediator"], "排名对象"),
        metadata={"description": "排名对象：unit（下一级各单位，默认）或 mediator（辖区内各调解员）"},
    )


class ScoreCell(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "指标值（比率为0–1，分母为0时为 null）"})
    numerator = fields.Integer(metadata={"description": "比率的分子"})
    denominator = fields.Integer(metadata={"description": "比率的分母"})
    figure = fields.String(metadata={"description": "下钻的报表指标（比率为分子）；排查上报率无"})
    denominator_figure = fields.String(metadata={"description": "比率分母的报表指标"})
    score = fields.Float(allow_none=True, metadata={"description": "得分 0–100，无数据为 null"})


class ScorecardFigure(Schema):
    key = fields.String()
    label = fields.String()
    definition = fields.String(metadata={"description": "口径（一句话）"})
    kind = fields.String(metadata={"description": "rate 或 count"})
    higher_is_better = fields.Boolean()
    figure = fields.String(allow_none=True)
    parts = fields.List(fields.String(), allow_none=True)
    weight = fields.Float(metadata={"description": "权重（SCORECARD_WEIGHTS）"})
    counted = fields.Boolean(metadata={"description": "是否计入总分（权重大于0）"})


class ScorecardRow(Schema):
    node = fields.String(metadata={"description": "单位排名：节点代码"})
    node_name = fields.String()
    mediator = fields.Integer(metadata={"description": "调解员排名：调解员 id（案件列表的 mediator 参数）"})
    name = fields.String(metadata={"description": "调解员排名：姓名"})
    active = fields.Boolean(metadata={"description": "调解员排名：是否在岗"})
    units = fields.List(fields.String(), metadata={"description": "调解员排名：所在单位（本辖区内）"})
    level = fields.String()
    scored = fields.Boolean(metadata={"description": "本期有无可计分的数据"})
    rank = fields.Integer(allow_none=True)
    total = fields.Float(allow_none=True, metadata={"description": "总分（加权平均，0–100，1位小数）"})
    previous_rank = fields.Integer(allow_none=True, metadata={"description": "上期名次"})
    previous_total = fields.Float(allow_none=True, metadata={"description": "上期总分"})
    rank_change = fields.Integer(allow_none=True, metadata={"description": "名次变化（正数为上升）"})
    figures = fields.Dict(keys=fields.String(), values=fields.Nested(ScoreCell))
    led = fields.Integer(
        metadata={"description": "包案：本期在办范围内由包案领导包案的案件数（不计分；下钻 figure=led）"}
    )


class Scorecard(Schema):
    by = fields.String(metadata={"description": "unit（按单位）或 mediator（按调解员）"})
    node = fields.String()
    node_name = fields.String()
    period = fields.String()
    period_label = fields.String()
    first = fields.String()
    last = fields.String()
    previous_period = fields.String()
    led_definition = fields.String(metadata={"description": "包案（led）的口径"})
    figures = fields.List(fields.Nested(ScorecardFigure))
    rows = fields.List(fields.Nested(ScorecardRow))


class NoticeIn(s.InputSchema):
    node = s.String(required=True, metadata={"description": "节点代码（通报其下一级各单位）"})
    period = s.String(
        required=True, validate=_term, metadata={"description": "考核期间 YYYY-MM / YYYY-Qn / YYYY"}
    )


class NoticeOut(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "通报编号"})
    node = fields.String()
    node_name = fields.String()
    period = fields.String()
    period_label = fields.String()
    issued_by = fields.String(metadata={"description": "印发单位"})
    issued_at = fields.DateTime()
    praised = fields.List(fields.String(), metadata={"description": "通报表扬的单位"})
    criticised = fields.List(fields.String(), metadata={"description": "通报批评的单位"})
    overdue_count = fields.Integer(metadata={"description": "点名的超期案件数"})


# ------------------------------------------------------------------------------ sweep findings


class FindingIn(s.InputSchema):
    description = s.Text(required=True, validate=s.length(500, 2), metadata={"description": "简要情况"})
    node = s.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "地点：本报告的网格或其所在村（社区）代码，默认网格"},
    )
    parties = s.String(
        load_default=None,
        allow_none=True,
        validate=s.length(200),
        metadata={"description": "当事人姓名（可不填），以顿号分隔"},
    )
    category = s.String(required=True, metadata={"description": "纠纷类别"})


class FindingOut(Schema):
    id = fields.Integer()
    description = fields.String()
    node = fields.Function(lambda r: r.node.code)
    node_name = fields.Function(lambda r: r.node.name)
    parties = fields.String(allow_none=True)
    category = fields.String()
    state = fields.String(metadata={"description": "待处理 / 已登记 / 已关联 / 已说明"})
    case_id = fields.Integer(attribute="dispute_id", allow_none=True)
    case_no = fields.Function(lambda r: r.dispute.case_no if r.dispute else None, allow_none=True)
    explained_reason = fields.String(allow_none=True)
    explained_note = fields.String(allow_none=True)
    flagged = fields.Function(lambda r: r.flagged_at is not None)


class SweepCounts(Schema):
    found = fields.Integer()
    listed = fields.Integer()
    registered = fields.Integer()
    explained = fields.Integer()
    open = fields.Integer()
    complete = fields.Boolean()


class ScreeningDetail(ScreeningOut):
    counts = fields.Function(
        lambda r: SweepCounts().dump(sweep_counts(r)),
        metadata={"description": "发现、登记、说明、待处理件数，是否闭环"},
    )
    findings = fields.List(fields.Nested(FindingOut))


class FindingLinkIn(s.InputSchema):
    case_no = s.String(required=True, metadata={"description": "要关联的案号（须为您可查看的案件）"})


class FindingExplainIn(s.InputSchema):
    reason = s.String(required=True, metadata={"description": "当场化解 / 不属于纠纷 / 重复上报 / 其他"})
    note = s.Text(load_default=None, allow_none=True, validate=s.length(500))
