"""Shapes of routing administration and the unit picker: one named schema per shape, used by the JSON
API (routing/api.py) and the admin page's forms (routing/views.py) alike."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validates

from mediation.common import schema as s
from mediation.common.enums import Channel, RiskFlag, RiskLevel, values

# The Chinese names of the fields below, for the admin page's error messages (common.forms.error_lines).
FIELD_LABELS = {
    "name": "规则名称",
    "priority": "优先级",
    "category": "纠纷类别",
    "node": "属地",
    "min_amount": "最低金额",
    "min_people": "最少人数",
    "min_risk": "最低风险等级",
    "flags": "风险标记",
    "channel": "化解渠道",
    "unit": "建议单位",
    "days": "时限",
    "basis": "依据",
}


class RoutingRuleIn(s.InputSchema):
    name = s.String(required=True, validate=s.length(100, 1))
    priority = s.Integer(
        load_default=100,
        validate=fields.validate.Range(min=0, max=100000, error="优先级应在0到100000之间。"),
        metadata={"description": "数字小的先匹配"},
    )
    active = s.Boolean(load_default=True)
    category = s.String(load_default=None, allow_none=True)
    node = s.String(load_default=None, allow_none=True, metadata={"description": "属地节点代码（含下级）"})
    min_amount = s.Yuan(load_default=None, allow_none=True)
    min_people = s.Integer(
        load_default=None, allow_none=True, validate=fields.validate.Range(min=1, error="人数应不小于1。")
    )
    min_risk = s.String(load_default=None, allow_none=True, validate=s.one_of(values(RiskLevel), "风险等级"))
    flags = s.List(
        s.String(validate=s.one_of(values(RiskFlag), "风险标记")),
        load_default=list,
        metadata={"description": "含其中任一标记即符合"},
    )
    channel = s.String(required=True, validate=s.one_of(values(Channel), "化解渠道"))
    unit = s.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "建议单位代码；不填则取属地及以上最近的该渠道单位"},
    )

    @validates("category")
    def _category(self, value, **kwargs):
        if value is not None:
            s.one_of(current_app.config["CATEGORIES"], "纠纷类别")(value)


class TimeLimitIn(s.InputSchema):
    channel = s.String(load_default=None, allow_none=True, validate=s.one_of(values(Channel), "化解渠道"))
    category = s.String(load_default=None, allow_none=True)
    days = s.Integer(
        required=True, validate=fields.validate.Range(min=1, max=3650, error="时限应在1到3650天之间。")
    )
    working_days = s.Boolean(load_default=False)
    basis = s.String(load_default=None, allow_none=True, validate=s.length(200))

    @validates("category")
    def _category(self, value, **kwargs):
        if value is not None:
            s.one_of(current_app.config["CATEGORIES"], "纠纷类别")(value)


# --- output ---------------------------------------------------------------------------------------


class RoutingRuleOut(Schema):
    id = fields.Integer()
    name = fields.String()
    priority = fields.Integer()
    active = fields.Boolean()
    category = fields.String(allow_none=True)
    node = s.code_of("node")
    min_amount = s.Yuan(allow_none=True)
    min_people = fields.Integer(allow_none=True)
    min_risk = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    channel = fields.String()
    unit = s.code_of("unit")
    conditions = fields.Function(lambda r: r.conditions_text())


class TimeLimitOut(Schema):
    id = fields.Integer()
    channel = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    days = fields.Integer()
    working_days = fields.Boolean()
    basis = fields.String(allow_none=True)


class CandidateUnitOut(Schema):
    """One unit of a case's unit picker (routing.candidate_units), in the picker's order."""

    code = fields.String()
    name = fields.String()
    short_name = fields.String(allow_none=True, metadata={"description": "简称"})
    type = fields.String(metadata={"description": "单位类型"})
    channel = fields.String(allow_none=True, metadata={"description": "化解渠道"})
    node = fields.String(metadata={"description": "所属节点代码"})
    node_name = fields.String(metadata={"description": "所属节点名称"})
    group = fields.String(
        metadata={"description": "分组：分流建议 / 属地及各级上级节点名称（由近及远）/ 辖区其他单位"}
    )
    suggested = fields.Boolean(metadata={"description": "是否为分流建议单位（总在第一位）"})
