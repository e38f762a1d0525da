"""marshmallow building blocks whose messages are in Chinese.

Fields here carry Chinese default messages (marshmallow merges ``default_error_messages`` along
the MRO, so the mixin's entries win); schemas strip text and treat empty strings as missing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from mediation.common.time import local_today


class _Zh:
    default_error_messages = {
        "required": "必填项。",
        "null": "必填项，不能为空。",
        "validator_failed": "取值无效。",
    }


class String(_Zh, fields.String):
    default_error_messages = {"invalid": "应为文本。", "invalid_utf8": "文本编码无效。"}


class Integer(_Zh, fields.Integer):
    default_error_messages = {"invalid": "应为整数。", "too_large": "数值过大。"}


class Boolean(_Zh, fields.Boolean):
    default_error_messages = {"invalid": "应为是或否。"}


class Date(_Zh, fields.Date):
    default_error_messages = {"invalid": "日期格式应为 YYYY-MM-DD。", "format": "日期格式应为 YYYY-MM-DD。"}


class DateTime(_Zh, fields.DateTime):
    default_error_messages = {"invalid": "时间格式无效。"}


class List(_Zh, fields.List):
    default_error_messages = {"invalid": "应为列表。"}


class Nested(_Zh, fields.Nested):
    default_error_messages = {"type": "应为对象。"}


class Dict(_Zh, fields.Dict):
    default_error_messages = {"invalid": "应为对象。"}


class Yuan(_Zh, fields.Field):
    """An amount in yuan: a string (or number) ≥ 0 with at most two decimal places."""

    default_error_messages = {
        "invalid": "金额应为数字，如 1200 或 1200.50。",
        "negative": "金额不能为负数。",
        "places": "金额最多保留两位小数。",
        "too_large": "金额过大。",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite():
            raise self.make_error("invalid")
        if amount < 0:
            raise self.make_error("negative")
        if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
            raise self.make_error("places")
        if amount >= Decimal("1e12"):
            raise self.make_error("too_large")
        return amount.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"


def one_of(choices, label: str = "取值") -> validate.OneOf:
    choices = list(choices)
    return validate.OneOf(choices, error=f"未知的{label}，可选：{'、'.join(choices)}。")


def length(maximum: int, minimum: int | None = None) -> validate.Length:
    return validate.Length(min=minimum, max=maximum, error=f"长度应在{minimum or 0}到{maximum}个字符之间。")


def not_in_future(value) -> None:
    if value > local_today():
        raise ValidationError("日期不能晚于今天。")


class InputSchema(Schema):
    """Base of every input shape: unknown fields refused, text stripped, "" means missing."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "未知字段。", "type": "请求体应为 JSON 对象。"}

    @pre_load
    def _clean(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    continue
            cleaned[key] = value
        return cleaned
