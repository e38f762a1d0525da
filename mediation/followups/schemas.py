"""One named schema per shape: follow-ups, notifications and supervision orders (API and web forms)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from mediation import clock
from mediation.common import schema as s
from mediation.common.enums import values
from mediation.common.paging import PageArgs, PageOut
from mediation.documents.forms import VISIT_METHODS
from mediation.followups.models import FollowUpKind, FollowUpStatus, SupervisionLevel, SupervisionStatus


class Flag(s.String):
    """A query flag: ``?mine``, ``?mine=1`` or ``?mine=true`` mean yes; ``0`` / ``false`` mean no."""

    default_error_messages = {"invalid": "应为 1/true 或 0/false。"}
    TRUE = {"", "1", "true", "yes", "on", "是"}
    FALSE = {"0", "false", "no", "off", "否"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise self.make_error("invalid")


class _QueryArgs(PageArgs):
    """Query strings: unknown keys ignored; an empty ``?mine`` is kept (it means yes)."""


class FollowUpListArgs(_QueryArgs):
    mine = Flag(load_default=False, metadata={"description": "只看分派给本单位（和本人）的回访，即待办清单"})
    status = s.String(
        validate=s.one_of(values(FollowUpStatus), "回访状态"),
        metadata={"description": "待办 / 已完成 / 已取消"},
    )
    kind = s.String(validate=s.one_of(values(FollowUpKind), "回访类型"))
    dispute = s.Integer(metadata={"description": "案件 id"})
    due_before = s.Date(metadata={"description": "应办日期不晚于"})


class FollowUpDisputeRef(Schema):
    id = fields.Integer()
    case_no = fields.String()
    status = fields.String()


class FollowUpOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": values(FollowUpKind)})
    status = fields.String(metadata={"enum": values(FollowUpStatus)})
    dispute = fields.Nested(FollowUpDisputeRef)
    round = fields.Integer(metadata={"description": "第几次（稳控回访按周期计数）"})
    unit = fields.Function(lambda f: f.unit.code, metadata={"description": "承办单位代码"})
    unit_name = fields.Function(lambda f: f.unit.name)
    assignee = fields.Function(
        lambda f: f.user.username if f.user else None,
        allow_none=True,
        metadata={"description": "承办人用户名（未指定为空）"},
    )
    due_on = fields.Date()
    due = fields.Function(
        lambda f: f.status == FollowUpStatus.OPEN and f.due_on <= clock.today(),
        metadata={"description": "已到应办日期"},
    )
    overdue = fields.Function(lambda f: f.status == FollowUpStatus.OPEN and f.due_on < clock.today())
    rescheduled_from = fields.Date(allow_none=True)
    reschedule_reason = fields.String(allow_none=True)
    done_at = fields.DateTime(allow_none=True, metadata={"description": "UTC"})
    done_by = fields.Function(lambda f: f.done_by.name if f.done_by else None, allow_none=True)
    result = fields.String(allow_none=True)
    satisfaction = fields.Integer(allow_none=True, metadata={"description": "满意度 1–5"})


class FollowUpPage(PageOut):
    items = fields.List(fields.Nested(FollowUpOut))


class FollowUpComplete(s.InputSchema):
    result = s.Text(required=True, validate=s.length(2000, 2), metadata={"description": "回访情况"})
    satisfaction = s.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=5, error="满意度评分应为1到5分。"),
        metadata={"description": "满意度 1–5（满意度回访必填）"},
    )
    method = s.String(
        load_default=None,
        allow_none=True,
        validate=s.one_of(VISIT_METHODS, "回访方式"),
        metadata={"description": "回访方式（记入回访记录）"},
    )
    visited = s.String(
        load_default=None,
        allow_none=True,
        validate=s.length(100),
        metadata={"description": "被回访人（记入回访记录）"},
    )


class FollowUpReschedule(s.InputSchema):
    due_on = s.Date(required=True, metadata={"description": "新的应办日期"})
    reason = s.Text(required=True, validate=s.length(500, 2), metadata={"description": "改期原因"})


class NotificationListArgs(_QueryArgs):
    unread = Flag(load_default=False, metadata={"description": "只看未读"})


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.String()
    dispute = fields.Nested(FollowUpDisputeRef, allow_none=True)
    link = fields.String(
        allow_none=True, metadata={"description": "办理入口（本系统内的路径，如案件页、督办、月清月结页）"}
    )
    created_at = fields.DateTime(metadata={"description": "UTC"})
    read_at = fields.DateTime(allow_none=True)
    read = fields.Function(lambda n: n.read_at is not None)
    emailed = fields.Function(lambda n: n.emailed_at is not None, metadata={"description": "已发送邮件"})


class NotificationPage(PageOut):
    items = fields.List(fields.Nested(NotificationOut))
    unread = fields.Integer(metadata={"description": "未读条数"})


class NotificationsMarkedRead(Schema):
    marked = fields.Integer()
    unread = fields.Integer()


class SupervisionOrderCreate(s.InputSchema):
    level = s.String(
        load_default=SupervisionLevel.ORDINARY.value,
        validate=s.one_of(values(SupervisionLevel), "督办级别"),
        metadata={"description": "普通 / 挂牌"},
    )
    reply_by = s.Date(required=True, metadata={"description": "回复期限"})
    note = s.Text(
        load_default=None, allow_none=True, validate=s.length(2000), metadata={"description": "督办要求"}
    )
    target_unit = s.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "被督办单位代码（默认牵头单位；可为联办单位）"},
    )


class SupervisionOrderReply(s.InputSchema):
    reply = s.Text(required=True, validate=s.length(2000, 2), metadata={"description": "办理情况回复"})


class SupervisionOrderListArgs(_QueryArgs):
    mine = Flag(load_default=False, metadata={"description": "督办本单位的"})
    issued = Flag(load_default=False, metadata={"description": "本单位发出或升级到本单位的"})
    status = s.String(validate=s.one_of(values(SupervisionStatus), "督办状态"))
    dispute = s.Integer()


class FollowUpUnitRef(Schema):
    code = fields.String()
    name = fields.String()


class SupervisionOrderOut(Schema):
    id = fields.Integer()
    dispute = fields.Nested(FollowUpDisputeRef)
    level = fields.String(metadata={"enum": values(SupervisionLevel)})
    status = fields.String(metadata={"enum": values(SupervisionStatus)})
    issued_by_unit = fields.Nested(FollowUpUnitRef)
    issued_by = fields.Function(lambda o: o.issued_by.name if o.issued_by else None, allow_none=True)
    issued_at = fields.DateTime(metadata={"description": "UTC"})
    target_unit = fields.Nested(FollowUpUnitRef)
    note = fields.String(allow_none=True)
    reply_by = fields.Date()
    reply = fields.String(allow_none=True)
    replied_at = fields.DateTime(allow_none=True)
    replied_by = fields.Function(lambda o: o.replied_by.name if o.replied_by else None, allow_none=True)
    escalated_to = fields.Nested(FollowUpUnitRef, allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)


class SupervisionOrderList(PageOut):
    items = fields.List(fields.Nested(SupervisionOrderOut))


# --- 我的待办 (mediation.worklist) ----------------------------------------------------------------------


class WorklistItemOut(Schema):
    kind = fields.String(
        metadata={
            "description": "待办类型：待分流 / 待受理 / 预警 / 超期 / 今日调解 / 回访 / 督办 / "
            "待签署 / 月结 / 月结审批"
        }
    )
    dispute_id = fields.Integer(
        allow_none=True, metadata={"description": "案件 ID（月结审批等不针对单个案件的为空）"}
    )
    case_no = fields.String(allow_none=True)
    due = fields.Date(
        allow_none=True, metadata={"description": "期限（办理期限、回访应办日期、督办回复期限等；无则为空）"}
    )
    title = fields.String(metadata={"description": "说明"})
    url = fields.String(metadata={"description": "办理入口（网页地址）"})


class WorklistOut(Schema):
    today = fields.Date()
    total = fields.Integer(metadata={"description": "待办总数"})
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": '每类待办的数量（含0），如 {"超期": 2, "回访": 1, …}'},
    )
    items = fields.List(
        fields.Nested(WorklistItemOut), metadata={"description": "待办事项，每类最多200项，最紧急的在前"}
    )
