"""Input and output shapes of the mediators' registry (the forms load the same schemas)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, post_load, validates

from mediation.common import schema as s
from mediation.common.enums import values
from mediation.common.paging import PageArgs, PageOut
from mediation.common.validators import (
    id_card_error,
    normalize_person_name,
    person_name_error,
    phone_error,
)
from mediation.mediators.models import Background, Employment

HOURS_MAX = 1000


def hours_error(value: str) -> str | None:
    """学时: a number from 0.5 to HOURS_MAX with at most one decimal place."""
    try:
        hours = Decimal(value)
    except InvalidOperation:
        return "学时应为数字，如 2 或 1.5。"
    if not hours.is_finite() or hours != hours.quantize(Decimal("0.1")) or not 0.5 <= hours <= HOURS_MAX:
        return f"学时应在0.5到{HOURS_MAX}之间，最多一位小数。"
    return None


class MediatorIn(s.InputSchema):
    name = s.String(required=True, validate=s.length(50))
    units = s.List(s.String(validate=s.length(32)), required=True, max_items=20)
    employment = s.String(required=True, validate=s.one_of(values(Employment), "专职/兼职"))
    background = s.String(required=True, validate=s.one_of(values(Background), "背景"))
    qualifications = s.Text(validate=s.length(1000))
    phone = s.String(validate=s.length(32))
    id_number = s.String(validate=s.length(18))
    active = s.Boolean(load_default=True)
    username = s.String(validate=s.length(64))

    @validates("name")
    def _name(self, value, **kwargs):
        if err := person_name_error(value):
            raise ValidationError(err)

    @validates("units")
    def _units(self, value, **kwargs):
        if not value:
            raise ValidationError("请至少选择一个所属单位。")

    @validates("phone")
    def _phone(self, value, **kwargs):
        if err := phone_error(value):
            raise ValidationError(err)

    @validates("id_number")
    def _id_number(self, value, **kwargs):
        if err := id_card_error(value):
            raise ValidationError(err)

    @post_load
    def _stored_forms(self, data, **kwargs):
        data["name"] = normalize_person_name(data["name"])
        if data.get("id_number"):
            data["id_number"] = data["id_number"].upper()
        return data


class TrainingIn(s.InputSchema):
    held_on = s.Date(required=True, validate=s.not_in_future)
    hours = s.String(required=True, validate=s.length(12))
    topic = s.String(required=True, validate=s.length(200))
    organiser = s.String(required=True, validate=s.length(100))

    @validates("hours")
    def _hours(self, value, **kwargs):
        if err := hours_error(value):
            raise ValidationError(err)

    @post_load
    def _hours_number(self, data, **kwargs):
        data["hours"] = Decimal(data["hours"]).quantize(Decimal("0.1"))
        return data


class MediatorListArgs(PageArgs):
    node = s.String(validate=s.length(32), metadata={"description": "节点代码：该节点及下级单位的调解员"})
    employment = s.String(validate=s.one_of(values(Employment), "专职/兼职"))
    background = s.String(validate=s.one_of(values(Background), "背景"))
    untrained = s.Boolean(load_default=False, metadata={"description": "只看本年度未参加培训的"})
    inactive = s.Boolean(load_default=False, metadata={"description": "包括已停用的调解员"})
    q = s.String(validate=s.length(50), metadata={"description": "姓名包含"})


class CaseMediatorsIn(s.InputSchema):
    mediators = s.List(s.Integer(), required=True, max_items=20)


class TrainingOut(Schema):
    id = fields.Integer()
    held_on = fields.Date()
    hours = fields.Function(lambda t: f"{t.hours:.1f}")
    topic = fields.String()
    organiser = fields.String()


class MediatorOut(Schema):
    id = fields.Integer()
    name = fields.String()
    units = fields.Function(lambda m: [u.code for u in m["units"]], metadata={"description": "所属单位代码"})
    unit_names = fields.Function(lambda m: [u.name for u in m["units"]])
    employment = fields.String(metadata={"enum": values(Employment)})
    background = fields.String(metadata={"enum": values(Background)})
    qualifications = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "无权查看的角色看到脱敏号码"})
    id_number = fields.String(allow_none=True, metadata={"description": "按角色脱敏"})
    active = fields.Boolean()
    username = fields.Function(lambda m: m["user"].username if m["user"] else None)
    untrained = fields.Boolean(metadata={"description": "本年度（上海时间的日历年）没有培训记录"})


class MediatorDetailOut(MediatorOut):
    trainings = fields.List(fields.Nested(TrainingOut))
    cases = fields.List(fields.Dict())
    sessions = fields.Integer(metadata={"description": "其承办案件的调解次数"})
    results = fields.Dict(metadata={"description": "已办结案件按结果计数，及未办结数"})


class MediatorPage(PageOut):
    items = fields.List(fields.Nested(MediatorOut))


class CaseMediatorOut(Schema):
    id = fields.Integer()
    name = fields.String()
