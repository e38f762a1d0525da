"""marshmallow building blocks whose messages are in Chinese.

Fields here carry Chinese default messages (marshmallow merges ``default_error_messages`` along
the MRO, so the mixin's entries win); schemas strip text and treat empty strings as missing.

The limits of every input live here, once: every :class:`String` refuses control characters,
lone surrogates and noncharacters (:func:`~mediation.common.validators.text_error`; tab and
newline only in :class:`Text`, the multi-line kind) and has a maximum length (its own
``length()`` validator, else a default); every :class:`List` a maximum number of items; every
:class:`Integer` the range of a database integer. Paging arguments: :mod:`mediation.common.paging`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from mediation.common.time import local_today
from mediation.common.validators import normalize_newlines, text_error

# A database integer column (PostgreSQL ``integer``): ids, counts, versions.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DEFAULT_MAX_LENGTH = 200  # single-line text without a length() of its own
DEFAULT_TEXT_MAX_LENGTH = 5000  # multi-line text without a length() of its own
DEFAULT_MAX_ITEMS = 100  # lists without a max_items of their own


class _Zh:
    default_error_messages = {
        "required": "必填项。",
        "null": "必填项，不能为空。",
        "validator_failed": "取值无效。",
    }


class String(_Zh, fields.String):
    """Single-line text: no control characters (tab and newline neither), at most ``max_length``
    characters (the field's own ``length()`` maximum, else DEFAULT_MAX_LENGTH)."""

    multiline = False
    default_max_length = DEFAULT_MAX_LENGTH
    default_error_messages = {
        "invalid": "应为文本。",
        "invalid_utf8": "文本编码无效。",
        "too_long": "长度不能超过{max}个字符。",
    }

    def __init__(self, *args, max_length: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        own = [v.max for v in self.validators if isinstance(v, validate.Length) and v.max is not None]
        self._own_length = bool(own) and max_length is None
        self.max_length = max_length or (max(own) if own else self.default_max_length)
        if not self._own_length:
            self.metadata = {**self.metadata, "maxLength": self.max_length}  # documented in OpenAPI

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.multiline:
            text = normalize_newlines(text)
        if len(text) > self.max_length and not self._own_length:  # a length() says it itself
            raise self.make_error("too_long", max=self.max_length)
        if err := text_error(text, multiline=self.multiline):
            raise ValidationError(err)
        return text


class Text(String):
    """Multi-line text (summaries, notes, reasons, agreement text): tab and newline allowed, CR LF
    stored as LF."""

    multiline = True
    default_max_length = DEFAULT_TEXT_MAX_LENGTH


class Integer(_Zh, fields.Integer):
    """An integer within the range of a database integer column (ids, counts, versions)."""

    default_error_messages = {
        "invalid": "应为整数。",
        "too_large": "数值过大。",
        "range": f"数值超出范围（{INT_MIN}到{INT_MAX}）。",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A Range() of the field's own within those bounds says it in its own words.
        self._own_range = any(
            isinstance(v, validate.Range)
            and v.min is not None
            and v.max is not None
            and INT_MIN <= v.min
            and v.max <= INT_MAX
            for v in self.validators
        )
        if not self._own_range:
            bounds = {"minimum": INT_MIN, "maximum": INT_MAX}
            for v in self.validators:  # a one-sided Range() of the field's own narrows them
                if isinstance(v, validate.Range):
                    bounds["minimum"] = (
                        max(bounds["minimum"], v.min) if v.min is not None else bounds["minimum"]
                    )
                    bounds["maximum"] = (
                        min(bounds["maximum"], v.max) if v.max is not None else bounds["maximum"]
                    )
            self.metadata = {**bounds, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is not None and not self._own_range and not INT_MIN <= number <= INT_MAX:
            raise self.make_error("range")
        return number


class Boolean(_Zh, fields.Boolean):
    default_error_messages = {"invalid": "应为是或否。"}


class Date(_Zh, fields.Date):
    default_error_messages = {"invalid": "日期格式应为 YYYY-MM-DD。", "format": "日期格式应为 YYYY-MM-DD。"}


class DateTime(_Zh, fields.DateTime):
    default_error_messages = {"invalid": "时间格式无效。"}


class List(_Zh, fields.List):
    """A list of at most ``max_items`` items (a number, or a callable read at load time, e.g. from
    the configuration), checked before any item is looked at."""

    default_error_messages = {"invalid": "应为列表。", "too_many": "最多{max}项。"}

    def __init__(self, *args, max_items=DEFAULT_MAX_ITEMS, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_items = max_items
        if not callable(max_items):
            self.metadata = {"maxItems": max_items, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs):
        limit = self.max_items() if callable(self.max_items) else self.max_items
        if isinstance(value, list | tuple) and len(value) > limit:
            raise self.make_error("too_many", max=limit)
        return super()._deserialize(value, attr, data, **kwargs)


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

    LIMIT = Decimal("1e12")  # the columns are NUMERIC(14, 2)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise self.make_error("invalid")
        text = str(value).strip().replace(",", "")
        if len(text) > 40:
            raise self.make_error("invalid")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise self.make_error("invalid") from None
        if not amount.is_finite():
            raise self.make_error("invalid")
        if amount < 0:
            raise self.make_error("negative")
        if amount >= self.LIMIT:  # before quantize(): a huge amount would overflow its precision
            raise self.make_error("too_large")
        if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
            raise self.make_error("places")
        return amount.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"


def one_of(choices, label: str = "取值") -> validate.OneOf:
    choices = list(choices)
    return validate.OneOf(choices, error=f"未知的{label}，可选：{'、'.join(choices)}。")


def length(maximum: int, minimum: int | None = None) -> validate.Length:
    return validate.Length(min=minimum, max=maximum, error=f"长度应在{minimum or 0}到{maximum}个字符之间。")


def code_of(attr: str) -> fields.Function:
    """An output field: the ``code`` of the object's ``attr`` (a unit, a node), or None."""
    return fields.Function(lambda o: getattr(o, attr).code if getattr(o, attr) is not None else None)


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
