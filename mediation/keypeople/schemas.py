"""Input and output shapes of the 重点人员 / 重点群体 register and of 包案 (the forms load the same
schemas)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from mediation.common import schema as s
from mediation.common.enums import values
from mediation.common.paging import PageArgs, PageOut
from mediation.common.validators import id_card_error
from mediation.keypeople.models import KeyKind, LogKind

REVIEW_DAYS_MAX = 366
GROUP_SIZE_MAX = 100000


class EntryIn(s.InputSchema):
    name = s.String(required=True, validate=s.length(100), metadata={"description": "姓名或群体名称"})
    kind = s.String(required=True, validate=s.one_of(values(KeyKind), "类别"))
    is_group = s.Boolean(load_default=False, metadata={"description": "是群体（重大不稳定群体总是群体）"})
    group_size = s.Integer(
        validate=validate.Range(1, GROUP_SIZE_MAX, error=f"人数应在1到{GROUP_SIZE_MAX}之间。"),
        metadata={"description": "群体人数"},
    )
    node = s.String(required=True, validate=s.length(32), metadata={"description": "所在地节点代码"})
    unit = s.String(required=True, validate=s.length(32), metadata={"description": "责任单位代码"})
    id_number = s.String(validate=s.length(18), metadata={"description": "身份证号（个人，可不填）"})
    measures = s.Text(required=True, validate=s.length(2000), metadata={"description": "稳控措施"})
    review_days = s.Integer(
        required=True,
        validate=validate.Range(1, REVIEW_DAYS_MAX, error=f"复查周期应在1到{REVIEW_DAYS_MAX}天之间。"),
        metadata={"description": "复查周期（天）"},
    )
    cases = s.List(s.String(validate=s.length(40)), load_default=list, max_items=50)
    active = s.Boolean(load_default=True)

    @validates("id_number")
    def _id_number(self, value, **kwargs):
        if err := id_card_error(value):
            raise ValidationError(err)

    @post_load
    def _stored_forms(self, data, **kwargs):
        if data.get("id_number"):
            data["id_number"] = data["id_number"].upper()
        if data["kind"] == KeyKind.UNSTABLE_GROUP.value:
            data["is_group"] = True
        if data["is_group"] and not data.get("group_size"):
            raise ValidationError({"group_size": ["请填写群体人数。"]})
        return data


class ReviewIn(s.InputSchema):
    on = s.Date(required=True, validate=s.not_in_future, metadata={"description": "复查日期"})
    note = s.Text(required=True, validate=s.length(2000), metadata={"description": "复查情况"})
    next_review_on = s.Date(metadata={"description": "下次复查日期（默认：复查日期加复查周期）"})


class EntryListArgs(PageArgs):
    node = s.String(validate=s.length(32), metadata={"description": "节点代码：该节点及下级的登记"})
    kind = s.String(validate=s.one_of(values(KeyKind), "类别"))
    due = s.Boolean(load_default=False, metadata={"description": "只看复查已到期的"})
    inactive = s.Boolean(load_default=False, metadata={"description": "包括已撤销稳控的"})
    q = s.String(validate=s.length(50), metadata={"description": "名称包含"})


class CaseLeaderIn(s.InputSchema):
    name = s.String(required=True, validate=s.length(50), metadata={"description": "包案领导姓名"})
    post = s.String(required=True, validate=s.length(100), metadata={"description": "职务"})
    since = s.Date(required=True, validate=s.not_in_future, metadata={"description": "包案日期"})


class CaseLeaderOut(Schema):
    name = fields.String()
    post = fields.String()
    since = fields.Date()


class LogOut(Schema):
    kind = fields.String(metadata={"enum": values(LogKind)})
    on = fields.Date()
    by = fields.String(attribute="by_name", metadata={"description": "记录人"})
    note = fields.String(allow_none=True)
    next_review_on = fields.Date(allow_none=True)


class EntryOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"enum": values(KeyKind)})
    is_group = fields.Boolean()
    group_size = fields.Integer(allow_none=True)
    node = fields.String()
    node_name = fields.String()
    unit = fields.String()
    unit_name = fields.String()
    id_number = fields.String(allow_none=True, metadata={"description": "按角色脱敏"})
    measures = fields.String()
    review_days = fields.Integer()
    next_review_on = fields.Date()
    due = fields.Boolean(metadata={"description": "复查已到期（下次复查日期不晚于今天）"})
    active = fields.Boolean()


class EntryDetailOut(EntryOut):
    cases = fields.List(fields.Dict(), metadata={"description": "关联案件（仅您可见的）"})
    history = fields.List(fields.Nested(LogOut))


class EntryPage(PageOut):
    items = fields.List(fields.Nested(EntryOut))
