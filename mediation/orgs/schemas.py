"""Input and output shapes of 调解组织: the profile form (web) and the read-only API."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validates, validates_schema

from mediation.common import schema as s
from mediation.common.enums import Industry, OrgKind, values
from mediation.common.paging import PageArgs, PageOut
from mediation.common.validators import normalize_phone, phone_error

# The Chinese names of the form's fields (error lines, the export's header).
LABELS = {
    "kind": "组织类型",
    "industry": "行业",
    "founded_on": "成立日期",
    "head": "负责人",
    "address": "场所（地址）",
    "phone": "联系电话",
    "other_members": "无账号成员",
}


class OrgIn(s.InputSchema):
    """The profile of a mediation organisation (web form)."""

    kind = s.String(required=True, validate=s.one_of(values(OrgKind), "组织类型"))
    industry = s.String(validate=s.one_of(values(Industry), "行业"))
    founded_on = s.Date(validate=s.not_in_future)
    head = s.String(validate=s.length(50))
    address = s.String(validate=s.length(200))
    phone = s.String(validate=s.length(40))
    other_members = s.Text(
        validate=s.length(500),
        metadata={"description": "没有账号的成员：姓名或人数，如“王某、李某”或“另有兼职调解员5人”"},
    )

    @validates("phone")
    def _phone(self, value, **kwargs):
        if err := phone_error(value):
            raise ValidationError(err)

    @validates_schema(skip_on_field_errors=False)
    def _industry(self, data, **kwargs):
        if data.get("kind") == OrgKind.INDUSTRY.value and not data.get("industry"):
            raise ValidationError({"industry": ["行业性专业性人民调解委员会须选择行业。"]})
        if data.get("industry") and data.get("kind") != OrgKind.INDUSTRY.value:
            raise ValidationError({"industry": ["只有行业性专业性人民调解委员会填写行业。"]})

    @post_load
    def _normalize(self, data, **kwargs):
        if data.get("phone"):
            data["phone"] = normalize_phone(data["phone"])
        return data


class OrgArgs(s.InputSchema, PageArgs):
    class Meta:
        unknown = "exclude"

    node = s.String(validate=s.length(32), metadata={"description": "节点代码：只列该节点及其下级的组织"})
    kind = s.String(validate=s.one_of(values(OrgKind), "组织类型"), metadata={"description": "组织类型"})


class CoverageArgs(s.InputSchema):
    class Meta:
        unknown = "exclude"

    node = s.String(required=True, validate=s.length(32), metadata={"description": "节点代码"})


class OrgOut(Schema):
    code = fields.String(metadata={"description": "单位代码"})
    name = fields.String()
    kind = fields.String(metadata={"description": "组织类型"})
    industry = fields.String(allow_none=True, metadata={"description": "行业（行业性专业性调委会）"})
    node = fields.String(metadata={"description": "所属节点代码"})
    node_name = fields.String()
    founded_on = fields.Date(allow_none=True)
    head = fields.String(allow_none=True, metadata={"description": "负责人"})
    address = fields.String(allow_none=True, metadata={"description": "场所（地址）"})
    phone = fields.String(allow_none=True, metadata={"description": "联系电话"})
    other_members = fields.String(allow_none=True, metadata={"description": "无账号成员（文字）"})
    member_count = fields.Integer(metadata={"description": "有账号的成员数（该单位的在用账号）"})


class MemberOut(Schema):
    username = fields.String()
    name = fields.String()
    role = fields.String(attribute="role_label")


class OrgDetailOut(OrgOut):
    members = fields.List(fields.Nested(MemberOut))


class OrgPageOut(PageOut):
    items = fields.List(fields.Nested(OrgOut))


class CoverageTownOut(Schema):
    code = fields.String()
    name = fields.String()
    total = fields.Integer(metadata={"description": "村（社区）数"})
    covered = fields.Integer(metadata={"description": "已设村（居）人民调解委员会的村（社区）数"})
    uncovered = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "覆盖率，0到1；没有村（社区）时为空"})


class CoveragePlaceOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    town = fields.String(metadata={"description": "所属乡镇（街道）代码"})
    town_name = fields.String()
    covered = fields.Boolean()
    committee = fields.String(allow_none=True, metadata={"description": "该村（社区）的调委会名称"})


class CoverageOut(Schema):
    node = fields.Dict()
    total = fields.Integer()
    covered = fields.Integer()
    uncovered = fields.Integer()
    rate = fields.Float(allow_none=True)
    towns = fields.List(fields.Nested(CoverageTownOut))
    places = fields.List(fields.Nested(CoveragePlaceOut))
    uncovered_places = fields.List(fields.Nested(CoveragePlaceOut))
