"""One named schema per shape: input for registration, output for the API."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validates, validates_schema

from mediation.accounts.auth import current_viewer
from mediation.common import schema as s
from mediation.common.enums import (
    Channel,
    Outcome,
    PartyKind,
    PartyRole,
    RiskFlag,
    RiskLevel,
    Status,
    Venue,
    values,
)
from mediation.common.paging import PageArgs, PageOut
from mediation.common.validators import (
    ethnicity_error,
    id_card_error,
    normalize_ethnicity,
    normalize_person_name,
    person_name_error,
    phone_error,
    uscc_error,
)
from mediation.disputes.service import parties_missing, shown_id_number
from mediation.disputes.workflow import Stage, stage_of
from mediation.routing.deadlines import OVERDUE, WARNING, warning_level

LIST_LEVELS = [WARNING, OVERDUE]
# The sort keys of case lists (whitelist; disputes.service.SORT_COLUMNS maps them to columns).
SORT_KEYS = ("registered", "case_no", "category", "risk", "stage", "unit", "deadline")
SORT_VALUES = [*SORT_KEYS, *(f"-{k}" for k in SORT_KEYS)]

PARTIES_MESSAGE = (
    "一件纠纷最多登记{max}个当事人。人数更多的群体性纠纷，请登记代表人为当事人，"
    "并在“涉及人数”中填写实际人数。"
)


def max_parties() -> int:
    """MAX_PARTIES_PER_CASE of the configuration (default 100)."""
    return int(current_app.config.get("MAX_PARTIES_PER_CASE", 100))


class PartyIn(s.InputSchema):
    role = s.String(
        required=True,
        validate=s.one_of(values(PartyRole), "当事人角色"),
        metadata={"description": "申请人 / 被申请人 / 第三人"},
    )
    kind = s.String(
        load_default=PartyKind.PERSON.value,
        validate=s.one_of(values(PartyKind), "当事人类型"),
        metadata={"description": "自然人 / 法人 / 其他组织"},
    )
    name = s.String(required=True, validate=s.length(100, 1))
    id_number = s.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "居民身份证号码（自然人）或统一社会信用代码（法人、其他组织）"},
    )
    phone = s.String(load_default=None, allow_none=True)
    address = s.String(load_default=None, allow_none=True, validate=s.length(200))
    ethnicity = s.String(
        load_default=None, allow_none=True, metadata={"description": "民族（自然人），如 汉族"}
    )
    occupation = s.String(
        load_default=None,
        allow_none=True,
        validate=s.length(100),
        metadata={"description": "职业或职务（自然人）"},
    )
    legal_rep_name = s.String(
        load_default=None,
        allow_none=True,
        validate=s.length(100),
        metadata={"description": "法定代表人或主要负责人姓名（法人、其他组织）"},
    )
    legal_rep_title = s.String(
        load_default=None,
        allow_none=True,
        validate=s.length(50),
        metadata={"description": "法定代表人或主要负责人职务，如 总经理"},
    )
    agent_name = s.String(
        load_default=None, allow_none=True, validate=s.length(100), metadata={"description": "委托代理人姓名"}
    )

    @validates("phone")
    def _phone(self, value, **kwargs):
        if value is not None and (err := phone_error(value)):
            raise ValidationError(err)

    @validates_schema(skip_on_field_errors=False)
    def _by_kind(self, data, **kwargs):
        """The checks that depend on 类型: the person-name rule and the ID number (居民身份证 for
        自然人, 统一社会信用代码 otherwise). They run even when another field failed, so that every
        error of every party is reported at once; skipped when 类型 itself is bad."""
        if "kind" not in data:
            return
        person = data["kind"] == PartyKind.PERSON.value
        errors: dict[str, list[str]] = {}
        name = data.get("name")
        if person and name:
            if err := person_name_error(name):
                errors["name"] = [err]
            else:
                data["name"] = normalize_person_name(name)
        number = data.get("id_number")
        if number:
            data["id_number"] = number.upper()
            if err := (id_card_error(number) if person else uscc_error(number)):
                errors["id_number"] = [err]
        if errors:
            raise ValidationError(errors)

    @validates_schema(skip_on_field_errors=False)
    def _details(self, data, **kwargs):
        """民族 and 职业 belong to a person, a 法定代表人 to a 法人 or other organisation."""
        errors: dict[str, list[str]] = {}
        person = data.get("kind", PartyKind.PERSON.value) == PartyKind.PERSON.value
        if data.get("ethnicity"):
            if not person:
                errors["ethnicity"] = ["只有自然人填写民族。"]
            elif err := ethnicity_error(data["ethnicity"]):
                errors["ethnicity"] = [err]
            else:
                data["ethnicity"] = normalize_ethnicity(data["ethnicity"])
        if data.get("occupation") and not person:
            errors["occupation"] = ["法人、其他组织不填写职业，请填写法定代表人及其职务。"]
        for key in ("legal_rep_name", "legal_rep_title"):
            if data.get(key) and person:
                errors[key] = ["自然人没有法定代表人；代为参加调解的人请填写为委托代理人。"]
        if data.get("legal_rep_title") and not data.get("legal_rep_name") and "legal_rep_title" not in errors:
            errors["legal_rep_name"] = ["填写了法定代表人职务，请同时填写其姓名。"]
        if errors:
            raise ValidationError(errors)


class DisputeCreate(s.InputSchema):
    category = s.String(required=True, metadata={"description": "纠纷类别，如 邻里、婚姻家庭"})
    source = s.String(required=True, metadata={"description": "来源，如 群众来访、网格员排查"})
    summary = s.Text(required=True, validate=s.length(5000, 2), metadata={"description": "简要情况"})
    node = s.String(required=True, metadata={"description": "属地节点代码"})
    risk_level = s.String(required=True, validate=s.one_of(values(RiskLevel), "风险等级"))
    venue = s.String(load_default=None, allow_none=True, validate=s.one_of(values(Venue), "发现场所"))
    flags = s.List(s.String(validate=s.one_of(values(RiskFlag), "风险标记")), load_default=list)
    people_count = s.Integer(
        load_default=None,
        allow_none=True,
        validate=fields.validate.Range(min=1, max=1_000_000, error="涉及人数应为不小于1的整数。"),
    )
    amount = s.Yuan(
        load_default=None, allow_none=True, metadata={"description": "涉及金额（元），字符串，最多两位小数"}
    )
    occurred_on = s.Date(load_default=None, allow_none=True, validate=s.not_in_future)
    parties = s.List(
        s.Nested(PartyIn),
        load_default=list,
        max_items=max_parties,
        error_messages={"too_many": PARTIES_MESSAGE},
        metadata={"description": "当事人，至少一名；本委员会直接受理时须有双方当事人"},
    )
    accept = s.Boolean(
        load_default=False,
        metadata={
            "description": "本委员会直接受理：人民调解委员会的调解员登记当场来访的纠纷并由本委员会受理（渠道 人民调解）"
        },
    )

    @validates("parties")
    def _parties(self, value, **kwargs):
        if message := parties_missing(value):
            raise ValidationError(message)

    @validates("category")
    def _category(self, value, **kwargs):
        s.one_of(current_app.config["CATEGORIES"], "纠纷类别")(value)

    @validates("source")
    def _source(self, value, **kwargs):
        s.one_of(current_app.config["SOURCES"], "来源")(value)

    @validates("flags")
    def _flags(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("风险标记重复。")


class PartyOut(Schema):
    id = fields.Integer()
    role = fields.String()
    kind = fields.String()
    name = fields.String()
    id_number = fields.Method(
        "_id_number",
        allow_none=True,
        metadata={"description": "无权查看的角色看到脱敏号码，如 120***********1234"},
    )
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    ethnicity = fields.String(allow_none=True)
    occupation = fields.String(allow_none=True)
    legal_rep_name = fields.String(allow_none=True)
    legal_rep_title = fields.String(allow_none=True)
    agent_name = fields.String(allow_none=True)

    def _id_number(self, party):
        return shown_id_number(party, current_viewer())


class EventOut(Schema):
    id = fields.Integer()
    type = fields.String()
    label = fields.String()
    at = fields.DateTime(metadata={"description": "UTC"})
    on = fields.Date(allow_none=True)
    by = fields.String(attribute="by_name")
    note = fields.String(allow_none=True)
    data = fields.Dict()


class DisputeSummaryOut(Schema):
    id = fields.Integer()
    case_no = fields.String()
    case_code = fields.String(
        metadata={
            "description": "一案一码：当事人查询本案用的案件码（10位，末位为校验位）；"
            "公开页面为 PUBLIC_URL/c/<case_code>"
        }
    )
    status = fields.String(metadata={"enum": values(Status)})
    stage = fields.Function(
        lambda d: stage_of(d).value, metadata={"enum": values(Stage), "description": "办理阶段"}
    )
    category = fields.String()
    source = fields.String()
    summary = fields.String()
    node = fields.Function(lambda d: d.node.code)
    node_name = fields.Function(lambda d: d.node.name)
    risk_level = fields.String()
    flags = fields.List(fields.String())
    channel = fields.String(allow_none=True, metadata={"enum": values(Channel)})
    unit = fields.Function(lambda d: d.unit.code if d.unit else None)
    registered_on = fields.Date()
    deadline = fields.Date(allow_none=True)
    warning_level = fields.Function(
        lambda d: warning_level(d),
        allow_none=True,
        metadata={"enum": ["正常", "预警", "超期"], "description": "期限预警（已办结或无期限为空）"},
    )
    outcome = fields.String(allow_none=True, metadata={"enum": values(Outcome)})
    version = fields.Integer()


class DisputeOut(DisputeSummaryOut):
    venue = fields.String(allow_none=True)
    people_count = fields.Integer(allow_none=True)
    amount = s.Yuan(allow_none=True)
    occurred_on = fields.Date(allow_none=True)
    registered_at = fields.DateTime(metadata={"description": "UTC"})
    registering_unit = fields.Function(lambda d: d.registering_unit.code)
    co_units = fields.Function(lambda d: [u.code for u in d.co_units])
    accepted_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    civil_to_criminal = fields.Boolean()
    suggested_channel = fields.String(allow_none=True, metadata={"description": "分流建议：渠道"})
    suggested_unit = fields.Function(
        lambda d: d.suggested_unit.code if d.suggested_unit else None,
        metadata={"description": "分流建议：单位代码"},
    )
    center = fields.Function(
        lambda d: d.center.code if d.center else None,
        metadata={"description": "上报后负责分流的综治中心（未上报为空）"},
    )
    handler = fields.Function(
        lambda d: d.handler.username if d.handler else None,
        metadata={"description": "承办人（内部改派的办理人）用户名"},
    )
    mediators = fields.Function(
        lambda d: [{"id": m.id, "name": m.name} for m in getattr(d, "mediators", [])],
        metadata={"description": "承办调解员（调解员名册的编号与姓名）"},
    )
    case_leader = fields.Function(
        lambda d: (
            {"name": d.case_leader.name, "post": d.case_leader.post, "since": d.case_leader.since.isoformat()}
            if getattr(d, "case_leader", None) is not None
            else None
        ),
        metadata={"description": "包案领导（姓名、职务、包案日期），未包案为空"},
    )
    prominent = fields.Boolean()
    parties = fields.List(fields.Nested(PartyOut))
    events = fields.List(fields.Nested(EventOut))
    warnings = fields.Function(
        lambda d: getattr(d, "warnings", []), metadata={"description": "不阻止登记的提示，如疑似重复登记"}
    )


class DisputeListArgs(s.InputSchema, PageArgs):
    class Meta:
        unknown = "exclude"

    status = s.String(validate=s.one_of(values(Status), "状态"))
    stage = s.String(
        validate=s.one_of(values(Stage), "办理阶段"),
        metadata={"description": "办理阶段：待分流 / 待受理 / 办理中 / 稳控 / 已办结"},
    )
    level = s.String(
        validate=s.one_of(LIST_LEVELS, "期限预警"), metadata={"description": "预警 / 超期（未办结案件）"}
    )
    unit = s.String(metadata={"description": "牵头（承办）单位代码"})
    mediator = s.Integer(
        metadata={
            "description": "承办调解员（调解员 id）：只列出指定该调解员承办的案件（考核排名按调解员的下钻）"
        },
    )
    mine = s.Boolean(
        load_default=False,
        metadata={"description": "只看分给我的：牵头单位是本单位，且未指定承办人或承办人是我"},
    )
    category = s.String()
    node = s.String(metadata={"description": "节点代码，含其下级"})
    date_from = s.Date(metadata={"description": "登记日期起"})
    date_to = s.Date(metadata={"description": "登记日期止"})
    q = s.String(metadata={"description": "案号、简要情况或当事人姓名"})
    sort = s.String(
        validate=s.one_of(SORT_VALUES, "排序"),
        metadata={"description": "排序字段，前加 - 为倒序：" + " / ".join(SORT_KEYS)},
    )
    # The cases behind a report figure (reports.figures.figure_filter): figure, node, month and the
    # figure's line (突出问题, 本级直属, a channel); 期限 and 承办单位 above narrow the overdue review.
    figure = s.String(validate=lambda v: _known_figure(v), metadata={"description": "报表指标（见报表说明）"})
    month = s.String(validate=lambda v: _month_text(v), metadata={"description": "报表月份 YYYY-MM"})
    week = s.String(
        validate=lambda v: _week_text(v),
        metadata={"description": "报表周次 YYYY-Www（ISO周，周报的指标；代替 month）"},
    )
    period = s.String(
        validate=lambda v: _term_text(v),
        metadata={"description": "考核期间 YYYY-MM / YYYY-Qn / YYYY（考核排名的指标；代替 month）"},
    )
    channel = s.String(metadata={"description": "渠道统计表的一行：化解渠道，或 未分流"})
    venue = s.String(
        validate=s.one_of([*values(Venue), "未填"], "发现场所"),
        metadata={"description": "五进分布的一项：发现场所，或 未填"},
    )
    prominent = s.Boolean(load_default=False, metadata={"description": "只看突出问题（报表的突出问题一列）"})
    direct = s.Boolean(load_default=False, metadata={"description": "只看本节点直属（不含下级）"})

    @validates_schema
    def _figure_needs(self, data, **kwargs):
        if not data.get("figure"):
            return
        # cycle: reports → followups → ledger → disputes.schemas
        from mediation.reports.figures import CHANNELS, FIGURES, NO_CHANNEL

        errors = {}
        if not data.get("node"):
            errors["node"] = ["请指定报表的节点。"]
        periods = [k for k in ("month", "week", "period") if data.get(k)]
        if FIGURES[data["figure"]].universe != "review" and not periods:
            errors["month"] = ["请指定报表月份（YYYY-MM）。"]
        if data.get("month") and data.get("week"):
            errors["week"] = ["报表月份和周次只能指定一个。"]
        elif len(periods) > 1:
            errors["period"] = ["考核期间不能与报表月份或周次同时指定。"]
        if data.get("channel") and data["channel"] not in (*CHANNELS, NO_CHANNEL):
            errors["channel"] = ["未知的化解渠道。"]
        if errors:
            raise ValidationError(errors)


def _known_figure(value: str) -> None:
    # cycle: reports → followups → ledger → disputes.schemas
    from mediation.reports.figures import FIGURES

    if value not in FIGURES:
        raise ValidationError("未知的报表指标。")


def _month_text(value: str) -> None:
    # cycle: reports → followups → ledger → disputes.schemas
    from mediation.reports.common import Month

    try:
        Month.parse(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None


def _term_text(value: str) -> None:
    # cycle: reports → followups → ledger → disputes.schemas
    from mediation.reports.common import parse_term

    try:
        parse_term(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None


def _week_text(value: str) -> None:
    # cycle: reports → followups → ledger → disputes.schemas
    from mediation.reports.common import Week

    try:
        Week.parse(value)
    except ValueError as err:
        raise ValidationError(str(err)) from None


class DisputePage(PageOut):
    items = fields.List(fields.Nested(DisputeSummaryOut))
