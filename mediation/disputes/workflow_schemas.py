"""Shapes of the workflow actions, casework and court referrals: one named schema per shape, used by
the JSON API and by the case page's forms alike (routing's own shapes are in routing/schemas.py)."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, post_load, validates, validates_schema

from mediation.common import schema as s
from mediation.common.enums import Channel, Outcome, values
from mediation.common.paging import PageArgs, PageOut
from mediation.common.time import SHANGHAI, utcnow
from mediation.disputes.casework import (
    CONFIRMATION_RESULTS,
    REFERRAL_KINDS,
    court_case_no_error,
    normalize_court_case_no,
)
from mediation.disputes.schemas import DisputeCreate

TEXT = s.length(2000, 1)

# The Chinese names of the action schemas' fields, for the web forms' error messages
# (common.forms.error_lines): the case page's actions and the court's ruling.
FIELD_LABELS = {
    "channel": "化解渠道",
    "unit": "单位",
    "co_units": "联办单位",
    "date": "日期",
    "reason": "理由",
    "note": "说明",
    "handler": "调解员",
    "outcome": "办结方式",
    "party": "当事人",
    "days": "延长天数",
    "approver": "批准人",
    "parties_consent": "双方当事人同意",
    "held_on": "调解日期",
    "place": "地点",
    "mediators": "调解员",
    "attendees": "参加人",
    "record": "调解记录",
    "notified_at": "告知时间",
    "police_unit": "公安机关",
    "officer": "民警",
    "converted": "已转为刑事/治安案件",
    "applied_on": "申请日期",
    "agreement_on": "协议生效日期",
    "court": "人民法院",
    "ruling_no": "裁定书案号",
    "result": "裁定结果",
    "ruled_on": "裁定日期",
    "version": "版本",
}


def _version():
    return s.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "案件当前版本号（乐观锁）：与服务器版本不一致时返回409"},
    )


def _optional_date(description: str):
    return s.Date(
        load_default=None,
        allow_none=True,
        validate=s.not_in_future,
        metadata={"description": f"{description}，缺省为今天"},
    )


class RouteIn(s.InputSchema):
    channel = s.String(required=True, validate=s.one_of(values(Channel), "化解渠道"))
    unit = s.String(required=True, metadata={"description": "牵头（属事）单位代码"})
    co_units = s.List(s.String(), load_default=list, metadata={"description": "联办单位代码"})
    note = s.Text(load_default=None, allow_none=True, validate=TEXT)
    version = _version()


class AcceptIn(s.InputSchema):
    date = _optional_date("受理日期")
    note = s.Text(load_default=None, allow_none=True, validate=TEXT)
    version = _version()


class RejectIn(s.InputSchema):
    reason = s.Text(required=True, validate=TEXT, metadata={"description": "不予受理的理由"})
    date = _optional_date("决定日期")
    version = _version()


class TransferIn(s.InputSchema):
    unit = s.String(required=True, metadata={"description": "接收单位代码"})
    reason = s.Text(required=True, validate=TEXT)
    version = _version()


class EscalateIn(s.InputSchema):
    reason = s.Text(required=True, validate=TEXT)
    version = _version()


class ReassignIn(s.InputSchema):
    handler = s.String(required=True, metadata={"description": "本单位调解员的用户名"})
    note = s.Text(load_default=None, allow_none=True, validate=TEXT)
    version = _version()


class StabilizeIn(s.InputSchema):
    note = s.Text(required=True, validate=TEXT, metadata={"description": "稳控措施"})
    date = _optional_date("稳控日期")
    version = _version()


class ResumeIn(s.InputSchema):
    note = s.Text(load_default=None, allow_none=True, validate=TEXT)
    version = _version()


class CloseIn(s.InputSchema):
    outcome = s.String(required=True, validate=s.one_of(values(Outcome), "办结方式"))
    date = _optional_date("办结日期")
    note = s.Text(load_default=None, allow_none=True, validate=TEXT)
    version = _version()

    @validates_schema(skip_on_field_errors=False)
    def _reason(self, data, **kwargs):
        if data.get("outcome") == Outcome.REJECTED.value and not data.get("note"):
            raise ValidationError("以不予受理办结时须写明理由。", field_name="note")


class ReturnToCourtIn(s.InputSchema):
    reason = s.String(
        required=True,
        validate=TEXT,
        metadata={"description": "调解不成功、退回法院的理由（法院在诉调对接页面看到）"},
    )
    date = _optional_date("办结日期")
    version = _version()


class RefuseIn(s.InputSchema):
    party = s.String(
        load_default=None,
        allow_none=True,
        validate=s.length(100),
        metadata={"description": "明确拒绝调解的当事人"},
    )
    date = _optional_date("拒绝日期")
    note = s.Text(load_default=None, allow_none=True, validate=TEXT)
    version = _version()


class ExtendIn(s.InputSchema):
    days = s.Integer(
        required=True,
        validate=fields.validate.Range(min=1, max=365, error="延长天数应在1到365之间。"),
        metadata={"description": "延长的天数（与该案时限同为自然日或工作日）"},
    )
    reason = s.Text(required=True, validate=TEXT)
    approver = s.String(required=True, validate=s.length(100, 1), metadata={"description": "批准人"})
    parties_consent = s.Boolean(
        load_default=False, metadata={"description": "双方当事人是否同意（诉调对接案件必须同意）"}
    )
    version = _version()


class SessionIn(s.InputSchema):
    held_on = s.Date(required=True, validate=s.not_in_future)
    place = s.String(required=True, validate=s.length(200, 1))
    mediators = s.String(required=True, validate=s.length(200, 1))
    attendees = s.String(required=True, validate=s.length(500, 1))
    record = s.Text(required=True, validate=s.length(20000, 1), metadata={"description": "调解记录"})
    version = _version()


class PoliceNotificationIn(s.InputSchema):
    notified_at = s.DateTime(
        required=True,
        metadata={"description": "告知公安机关的时间，如 2026-11-02T14:30（未带时区按北京时间）"},
    )
    police_unit = s.String(
        required=True, validate=s.length(100, 1), metadata={"description": "告知的公安机关，如 双港派出所"}
    )
    officer = s.String(load_default=None, allow_none=True, validate=s.length(100))
    note = s.Text(required=True, validate=TEXT, metadata={"description": "风险情况及已采取的措施"})
    converted = s.Boolean(load_default=False, metadata={"description": "已转为刑事或治安案件（民转刑）"})
    version = _version()

    @post_load
    def _to_utc(self, data, **kwargs):
        at = data["notified_at"]
        if at.tzinfo is None:
            at = at.replace(tzinfo=SHANGHAI)
        at = at.astimezone(UTC).replace(tzinfo=None)
        if at > utcnow():
            raise ValidationError({"notified_at": ["时间不能晚于现在。"]})
        data["notified_at"] = at
        return data


def _court_case_no(description: str):
    return s.String(required=True, metadata={"description": description})


def _checked_court_no(value: str, field: str) -> str:
    if err := court_case_no_error(value):
        raise ValidationError({field: [err]})
    return normalize_court_case_no(value)


class CourtReferralIn(DisputeCreate):
    """A dispute registered by a court liaison and sent to a mediation unit (诉前委派 / 诉中委托)."""

    class Meta(DisputeCreate.Meta):
        exclude = ("accept",)  # a court refers the case; it does not accept it

    source = s.String(load_default="法院委派", metadata={"description": "来源，缺省为 法院委派"})
    kind = s.String(required=True, validate=s.one_of(REFERRAL_KINDS, "委派方式"))
    court_case_no = _court_case_no("法院案号，如（2026）津0116民诉前调1234号")
    unit = s.String(required=True, metadata={"description": "接收调解的单位代码"})
    co_units = s.List(s.String(), load_default=list)
    referred_on = _optional_date("委派日期")

    @validates("court_case_no")
    def _number_shape(self, value, **kwargs):  # reported with the other fields' errors
        if err := court_case_no_error(value):
            raise ValidationError(err)

    @post_load
    def _number(self, data, **kwargs):
        data["court_case_no"] = _checked_court_no(data["court_case_no"], "court_case_no")
        return data


class ConfirmationApplyIn(s.InputSchema):
    applied_on = s.Date(required=True, validate=s.not_in_future, metadata={"description": "申请日期"})
    agreement_on = s.Date(
        load_default=None,
        allow_none=True,
        validate=s.not_in_future,
        metadata={"description": "调解协议生效日期，缺省为办结日期"},
    )
    court = s.String(required=True, metadata={"description": "受理司法确认的人民法院单位代码"})
    version = _version()


class ConfirmationRuleIn(s.InputSchema):
    ruling_no = _court_case_no("裁定书案号，如（2026）津0116民特88号")
    result = s.String(required=True, validate=s.one_of(CONFIRMATION_RESULTS, "裁定结果"))
    ruled_on = _optional_date("裁定日期")
    version = _version()

    @post_load
    def _number(self, data, **kwargs):
        data["ruling_no"] = _checked_court_no(data["ruling_no"], "ruling_no")
        return data


# --- output ---------------------------------------------------------------------------------------


class SessionOut(Schema):
    id = fields.Integer()
    held_on = fields.Date()
    place = fields.String()
    mediators = fields.String()
    attendees = fields.String()
    record = fields.String()


class ExtensionOut(Schema):
    id = fields.Integer()
    days = fields.Integer()
    working_days = fields.Boolean()
    previous_deadline = fields.Date()
    new_deadline = fields.Date()
    reason = fields.String()
    approver = fields.String()
    parties_consent = fields.Boolean()


class CourtReferralOut(Schema):
    kind = fields.String()
    court_case_no = fields.String()
    court = s.code_of("court")
    unit = s.code_of("unit")
    referred_on = fields.Date()


class CourtReferralListArgs(s.InputSchema, PageArgs.sized(20, 100)):
    class Meta:
        unknown = "exclude"

    state = s.String(
        load_default=None,
        allow_none=True,
        validate=s.one_of(["open", "returned", "closed"], "状态"),
        metadata={"description": "open 办理中 / returned 已退回法院 / closed 已办结；不填为全部"},
    )


class AgreementLinkOut(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    effective_on = fields.Date(allow_none=True)


class CourtReferralRowOut(Schema):
    """One referred case as the referring court follows it (its 诉调对接 page)."""

    id = fields.Function(lambda r: r.dispute.id)
    case_no = fields.Function(lambda r: r.dispute.case_no)
    kind = fields.Function(lambda r: r.referral.kind)
    court_case_no = fields.Function(lambda r: r.referral.court_case_no)
    court = fields.Function(lambda r: r.referral.court.code)
    referred_on = fields.Function(lambda r: r.referral.referred_on.isoformat())
    category = fields.Function(lambda r: r.dispute.category)
    parties = fields.List(fields.String())
    unit = fields.Function(
        lambda r: r.dispute.unit.code if r.dispute.unit else r.referral.unit.code,
        metadata={"description": "当前承办单位代码"},
    )
    stage = fields.String(metadata={"description": "待受理 / 办理中 / 稳控 / 已办结"})
    deadline = fields.Function(lambda r: r.dispute.deadline.isoformat() if r.dispute.deadline else None)
    warning_level = fields.String(allow_none=True, metadata={"enum": ["正常", "预警", "超期"]})
    days_left = fields.Integer(allow_none=True)
    outcome = fields.Function(lambda r: r.dispute.outcome.value if r.dispute.outcome else None)
    closed_on = fields.Function(lambda r: r.dispute.closed_on.isoformat() if r.dispute.closed_on else None)
    returned = fields.Function(
        lambda r: r.returned is not None, metadata={"description": "已调解不成功退回法院"}
    )
    return_reason = fields.String(allow_none=True)
    returned_on = fields.Date(allow_none=True)
    agreements = fields.List(fields.Nested(AgreementLinkOut), metadata={"description": "已生效的调解协议"})
    confirmations = fields.List(fields.Nested(lambda: ConfirmationOut()))


class CourtReferralPageOut(PageOut):
    items = fields.List(fields.Nested(CourtReferralRowOut))


class ConfirmationOut(Schema):
    id = fields.Integer()
    agreement_on = fields.Date()
    applied_on = fields.Date()
    court = s.code_of("court")
    ruling_no = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    ruled_on = fields.Date(allow_none=True)


class PoliceNotificationOut(Schema):
    id = fields.Integer()
    notified_at = fields.DateTime(metadata={"description": "UTC"})
    police_unit = fields.String()
    officer = fields.String(allow_none=True)
    note = fields.String()
    converted = fields.Boolean()


class LimitOut(Schema):
    days = fields.Integer()
    working_days = fields.Boolean()
    basis = fields.String(allow_none=True)
    label = fields.String()


class SuggestionOut(Schema):
    channel = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)


class CaseworkOut(Schema):
    """The workflow side of a case: stage, what the caller may do now, deadline and casework."""

    id = fields.Integer()
    version = fields.Integer()
    stage = fields.String(metadata={"description": "待分流 / 待受理 / 办理中 / 稳控 / 已办结"})
    allowed_actions = fields.List(fields.String(), metadata={"description": "当前用户此刻可执行的操作"})
    deadline = fields.Date(allow_none=True)
    warning_level = fields.String(allow_none=True, metadata={"enum": ["正常", "预警", "超期"]})
    days_left = fields.Integer(allow_none=True)
    time_limit = fields.Nested(LimitOut, allow_none=True)
    suggestion = fields.Nested(SuggestionOut, allow_none=True)
    center = fields.String(allow_none=True, metadata={"description": "负责分流的综治中心代码"})
    handler = fields.String(allow_none=True, metadata={"description": "承办人（内部改派的办理人）用户名"})
    sessions = fields.List(fields.Nested(SessionOut))
    extensions = fields.List(fields.Nested(ExtensionOut))
    referral = fields.Nested(CourtReferralOut, allow_none=True)
    confirmations = fields.List(fields.Nested(ConfirmationOut))
    police_notifications = fields.List(fields.Nested(PoliceNotificationOut))


# The input shape of every action of the table (court referrals are registered with CourtReferralIn).
ACTION_SCHEMAS: dict[str, type[s.InputSchema]] = {
    "route": RouteIn,
    "accept": AcceptIn,
    "reject": RejectIn,
    "refuse_application": RejectIn,
    "transfer": TransferIn,
    "escalate": EscalateIn,
    "reassign": ReassignIn,
    "stabilize": StabilizeIn,
    "resume": ResumeIn,
    "close": CloseIn,
    "refuse": RefuseIn,
    "extend": ExtendIn,
    "session": SessionIn,
    "notify_police": PoliceNotificationIn,
    "apply_confirmation": ConfirmationApplyIn,
    "rule_confirmation": ConfirmationRuleIn,
    "return_to_court": ReturnToCourtIn,
}
