"""Shapes of planned sessions: one schema per shape, for the JSON API and the web forms alike."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from mediation import clock
from mediation.common import schema as s

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")
MAX_RANGE_DAYS = 366
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _sane_day(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError("日期超出范围（2000年至2099年）。")


class LocalTime(s.String):
    """A Shanghai wall-clock time ``HH:MM``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        match = _TIME.match(text)
        if not match:
            raise ValidationError("时间格式应为 时:分，如 14:30。")
        return time(int(match[1]), int(match[2]))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")


def _parties():
    return s.List(
        s.Integer(),
        metadata={"description": "受邀当事人（本案当事人的 id，见案件的 parties）"},
    )


def _duration():
    return s.Integer(
        validate=validate.Range(min=15, max=480, error="时长应在15到480分钟之间。"),
        metadata={"description": "预计时长（分钟），缺省60"},
    )


class ScheduleIn(s.InputSchema):
    date = s.Date(required=True, validate=_sane_day, metadata={"description": "调解日期（北京时间）"})
    time = LocalTime(required=True, metadata={"description": "开始时间（北京时间），如 14:30"})
    place = s.String(required=True, validate=s.length(200, 1), metadata={"description": "地点"})
    parties = _parties()
    other_attendees = s.String(
        load_default=None, allow_none=True, validate=s.length(500), metadata={"description": "其他参加人"}
    )
    duration_minutes = _duration()
    note = s.Text(
        load_default=None,
        allow_none=True,
        validate=s.length(2000),
        metadata={"description": "内部备注（不发给当事人）"},
    )


class RescheduleIn(s.InputSchema):
    """Only the fields sent change."""

    date = s.Date(validate=_sane_day, metadata={"description": "新的调解日期（北京时间）"})
    time = LocalTime(metadata={"description": "新的开始时间（北京时间）"})
    place = s.String(validate=s.length(200, 1))
    parties = _parties()
    other_attendees = s.String(allow_none=True, validate=s.length(500))
    duration_minutes = _duration()
    note = s.Text(allow_none=True, validate=s.length(2000))
    version = s.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "调解安排的版本号（乐观锁）：不一致时返回409"},
    )


class SessionCancelIn(s.InputSchema):
    reason = s.Text(required=True, validate=s.length(500, 1), metadata={"description": "取消原因"})
    version = s.Integer(load_default=None, allow_none=True, metadata={"description": "调解安排的版本号"})


class SessionInviteeOut(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()


class ScheduledSessionOut(Schema):
    id = fields.Integer()
    dispute_id = fields.Integer()
    case_no = fields.Function(lambda x: x.dispute.case_no)
    status = fields.Function(lambda x: x.status.value, metadata={"description": "已安排 / 已取消 / 已举行"})
    version = fields.Integer()
    starts_at = fields.DateTime(metadata={"description": "开始时间（UTC）"})
    local_date = fields.Function(
        lambda x: x.local_start.date().isoformat(), metadata={"description": "北京时间日期"}
    )
    local_time = fields.Function(
        lambda x: x.local_start.strftime("%H:%M"), metadata={"description": "北京时间"}
    )
    duration_minutes = fields.Integer()
    place = fields.String()
    parties = fields.Function(
        lambda x: [SessionInviteeOut().dump(p) for p in x.parties], metadata={"description": "受邀当事人"}
    )
    other_attendees = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    unit = fields.Function(lambda x: x.unit.name)
    cancel_reason = fields.String(allow_none=True)
    held_session_id = fields.Integer(allow_none=True, metadata={"description": "已举行：对应的调解记录"})


class SessionCalendarArgs(Schema):
    """``from`` / ``to``: Shanghai days, inclusive; default today … 30 days on; at most a year."""

    class Meta:
        unknown = EXCLUDE

    start = s.Date(
        data_key="from", load_default=None, validate=_sane_day, metadata={"description": "起始日期，缺省今天"}
    )
    end = s.Date(
        data_key="to",
        load_default=None,
        validate=_sane_day,
        metadata={"description": "截止日期（含），缺省起始日期后30天"},
    )

    @post_load
    def _defaults(self, data, **kwargs):
        data["start"] = data.get("start") or clock.today()
        data["end"] = data.get("end") or data["start"] + timedelta(days=30)
        return data

    @validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise ValidationError({"to": ["截止日期不能早于起始日期。"]})
            if (end - start).days > MAX_RANGE_DAYS:
                raise ValidationError({"to": [f"查询范围不能超过{MAX_RANGE_DAYS}天。"]})
