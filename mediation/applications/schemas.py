"""The shape of an online application (网上申请调解). The applicant and the other side are checked by
the very rules of registration (person names, 居民身份证号码, phone numbers: disputes.schemas.PartyIn
and common.validators)."""

from __future__ import annotations

from flask import current_app
from marshmallow import ValidationError, validates, validates_schema

from mediation.common import schema as s
from mediation.common.enums import PartyRole
from mediation.common.validators import (
    id_card_error,
    mobile_error,
    normalize_person_name,
    person_name_error,
)
from mediation.disputes.schemas import PartyIn

MAX_OTHER_SIDES = 10
CODE_LENGTH = 6

# The Chinese names of the form's fields (error lines, the error summary).
FIELD_LABELS = {
    "name": "您的姓名",
    "phone": "手机号码",
    "code": "短信验证码",
    "id_number": "身份证号码",
    "others": "对方当事人",
    "kind": "类型",
    "address": "地址",
    "category": "纠纷类别",
    "node": "纠纷发生地",
    "facts": "事情经过",
    "requests": "您的请求",
    "photos": "照片",
    "consent": "同意声明",
}


class OtherSideIn(PartyIn):
    """One person or organisation on the other side: name, type, phone and address (both optional)."""

    role = s.String(load_default=PartyRole.RESPONDENT.value, validate=s.one_of([PartyRole.RESPONDENT.value]))


class ApplicationIn(s.InputSchema):
    name = s.String(required=True, validate=s.length(50, 1), error_messages={"required": "请填写您的姓名。"})
    phone = s.String(required=True, error_messages={"required": "请填写您的手机号码。"})
    code = s.String(
        required=True,
        validate=s.length(CODE_LENGTH, CODE_LENGTH),
        error_messages={"required": "请填写短信验证码（先点“获取验证码”）。"},
    )
    id_number = s.String(load_default=None, allow_none=True)
    others = s.List(
        s.Nested(OtherSideIn),
        required=True,
        max_items=MAX_OTHER_SIDES,
        error_messages={
            "too_many": f"对方当事人最多填写{MAX_OTHER_SIDES}个。",
            "required": "请至少填写一方对方当事人的姓名或名称。",
        },
    )
    category = s.String(required=True, error_messages={"required": "请选择纠纷类别。"})
    node = s.String(required=True, error_messages={"required": "请选择纠纷发生地，选到村（社区）或网格。"})
    facts = s.Text(
        required=True, validate=s.length(3000, 10), error_messages={"required": "请写明事情经过。"}
    )
    requests = s.Text(
        required=True, validate=s.length(1000, 2), error_messages={"required": "请写明您希望如何解决。"}
    )
    consent = s.Boolean(load_default=False)

    @validates("name")
    def _name(self, value, **kwargs):
        if err := person_name_error(value):
            raise ValidationError(err)

    @validates("phone")
    def _phone(self, value, **kwargs):
        if err := mobile_error(value):
            raise ValidationError(err)

    @validates("code")
    def _code(self, value, **kwargs):
        if not value.isdigit():
            raise ValidationError(f"验证码为{CODE_LENGTH}位数字。")

    @validates("id_number")
    def _id_number(self, value, **kwargs):
        if value is not None and (err := id_card_error(value.upper())):
            raise ValidationError(err)

    @validates("others")
    def _others(self, value, **kwargs):
        if not value:
            raise ValidationError("请至少填写一方对方当事人的姓名或名称。")

    @validates("category")
    def _category(self, value, **kwargs):
        s.one_of(current_app.config["CATEGORIES"], "纠纷类别")(value)

    @validates("consent")
    def _consent(self, value, **kwargs):
        if not value:
            raise ValidationError("请阅读并勾选同意声明后再提交。")

    @validates_schema
    def _normalise(self, data, **kwargs):
        if data.get("name"):
            data["name"] = normalize_person_name(data["name"])
        if data.get("id_number"):
            data["id_number"] = data["id_number"].upper()
