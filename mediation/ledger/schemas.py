"""The row shapes of the ledger workbook (LEDGER.md), built on the registration schemas.

A 纠纷 row is a :class:`DisputeCreate` (category, source, summary, risk, venue, flags, people,
amount …) plus the case's history (dates, channel, unit, status, outcome); a 当事人 row is a
:class:`PartyIn` plus the 案件编号 it belongs to. The service maps header text to these field
names, loads each row, and maps the field names in the errors back to header text.

Besides the columns of LEDGER.md, the export writes (and the import reads, when present) a few
more columns so that export → import gives back the same case: 发生日期, 稳控日期, 办理期限,
登记单位, 联办单位. A ledger without them is read exactly as LEDGER.md says.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, validates_schema

from mediation.common import schema as s
from mediation.common.enums import Channel, Outcome, PartyKind, RiskFlag, Status, values
from mediation.disputes.schemas import PARTIES_MESSAGE, DisputeCreate, PartyIn, max_parties

# header → field, in the order of LEDGER.md (the export writes them in this order)
DISPUTE_COLUMNS: dict[str, str] = {
    "案件编号": "case_no",
    "登记日期": "registered_on",
    "来源": "source",
    "纠纷类别": "category",
    "简要情况": "summary",
    "属地": "node",
    "发现场所": "venue",
    "涉及人数": "people_count",
    "涉及金额": "amount",
    "风险等级": "risk_level",
    "风险标记": "flags",
    "化解渠道": "channel",
    "承办单位": "unit",
    "受理日期": "accepted_on",
    "状态": "status",
    "办结日期": "closed_on",
    "办结方式": "outcome",
    "民转刑": "civil_to_criminal",
    "结转说明": "carry_over_reason",
}
# optional columns beyond LEDGER.md (written by the export; the import uses them when present)
DISPUTE_EXTENSION_COLUMNS: dict[str, str] = {
    "发生日期": "occurred_on",
    "稳控日期": "stabilized_on",
    "办理期限": "deadline",
    "登记单位": "registering_unit",
    "联办单位": "co_units",
}
DISPUTE_REQUIRED = ("登记日期", "来源", "纠纷类别", "简要情况", "属地", "风险等级", "状态")

PARTY_COLUMNS: dict[str, str] = {
    "案件编号": "case_no",
    "角色": "role",
    "类型": "kind",
    "姓名或名称": "name",
    "证件号码": "id_number",
    "联系电话": "phone",
    "住址": "address",
}
PARTY_REQUIRED = ("案件编号", "角色", "类型", "姓名或名称")
# optional party columns beyond LEDGER.md: what the 人民调解协议书 prints (export writes them, import reads them)
PARTY_EXTENSION_COLUMNS: dict[str, str] = {
    "民族": "ethnicity",
    "职业或职务": "occupation",
    "法定代表人": "legal_rep_name",
    "法定代表人职务": "legal_rep_title",
    "委托代理人": "agent_name",
}

FIELD_HEADERS: dict[str, str] = {
    **{f: h for h, f in DISPUTE_COLUMNS.items()},
    **{f: h for h, f in DISPUTE_EXTENSION_COLUMNS.items()},
}
PARTY_FIELD_HEADERS: dict[str, str] = {f: h for h, f in {**PARTY_COLUMNS, **PARTY_EXTENSION_COLUMNS}.items()}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEPARATORS = re.compile(r"[、，,；;]+")


def split_list(text: str) -> list[str]:
    """``民转刑风险、群体性`` → [民转刑风险, 群体性] (、 as LEDGER.md writes it; commas tolerated)."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


class LedgerDate(s.Date):
    """A date written ``YYYY-MM-DD`` (an Excel date cell arrives as that text)."""

    default_error_messages = {
        "invalid": "日期应为 YYYY-MM-DD 格式的有效日期，如 2025-03-01。",
        "format": "日期应为 YYYY-MM-DD 格式的有效日期，如 2025-03-01。",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _DATE.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class YesNo(s.String):
    """是 / 否."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "是":
            return True
        if text == "否":
            return False
        raise ValidationError("应填写“是”或“否”。")


class TextList(s.List):
    """A list written in one cell, separated by 、."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = split_list(value)
        return super()._deserialize(value, attr, data, **kwargs)


class LedgerDisputeRow(DisputeCreate):
    """One row of sheet 纠纷. ``node`` is the 属地 name path and ``unit`` the 承办单位 name; the
    service resolves both against the configured tree and units."""

    class Meta(s.InputSchema.Meta):
        exclude = ("parties",)

    case_no = s.String(load_default=None, validate=s.length(64))
    registered_on = LedgerDate(required=True, validate=s.not_in_future)
    node = s.String(required=True, validate=s.length(400))
    flags = TextList(s.String(validate=s.one_of(values(RiskFlag), "风险标记")), load_default=list)
    occurred_on = LedgerDate(load_default=None, validate=s.not_in_future)
    channel = s.String(load_default=None, validate=s.one_of(values(Channel), "化解渠道"))
    unit = s.String(load_default=None, validate=s.length(100))
    accepted_on = LedgerDate(load_default=None, validate=s.not_in_future)
    status = s.String(required=True, validate=s.one_of(values(Status), "状态"))
    closed_on = LedgerDate(load_default=None, validate=s.not_in_future)
    outcome = s.String(load_default=None, validate=s.one_of(values(Outcome), "办结方式"))
    civil_to_criminal = YesNo(load_default=False)
    carry_over_reason = s.Text(load_default=None, validate=s.length(2000))
    stabilized_on = LedgerDate(load_default=None, validate=s.not_in_future)
    deadline = LedgerDate(load_default=None)
    registering_unit = s.String(load_default=None, validate=s.length(100))
    co_units = TextList(s.String(validate=s.length(100)), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _consistency(self, data, original, **kwargs):
        """The rules across columns. Runs even when a field failed, so that a row's report is
        complete; a date that failed on its own (present in ``original``, absent in ``data``) is
        not reported a second time."""
        errors: dict[str, list[str]] = {}
        for field_name, message in (*_closing_errors(data, original), *_date_order_errors(data)):
            errors.setdefault(field_name, []).append(message)
        if errors:
            raise ValidationError(errors)


def _closing_errors(data: dict, original: dict):
    """办结日期 and 办结方式: required when the status is 已办结, absent otherwise."""
    status = data.get("status")
    if status == Status.CLOSED.value:
        if not original.get("closed_on"):
            yield "closed_on", "状态为已办结时必填。"
        if not original.get("outcome"):
            yield "outcome", "状态为已办结时必填。"
    elif status is not None:
        if original.get("closed_on"):
            yield "closed_on", f"状态为「{status}」的案件不应填写办结日期（已办结的请把状态填为“已办结”）。"
        if original.get("outcome"):
            yield "outcome", f"状态为「{status}」的案件不应填写办结方式（已办结的请把状态填为“已办结”）。"


def _date_order_errors(data: dict):
    """The dates in their order: 发生 ≤ 登记 ≤ 受理 ≤ 办结, 登记 ≤ 稳控 ≤ 办结, 受理 ≤ 办理期限."""
    registered, accepted = data.get("registered_on"), data.get("accepted_on")
    closed, stabilized = data.get("closed_on"), data.get("stabilized_on")
    if registered is not None:
        yield from _not_before_registration(data, registered)
    if (
        accepted is not None
        and closed is not None
        and closed < accepted
        and not (registered is not None and closed < registered)
    ):
        yield "closed_on", f"办结日期不能早于受理日期（{accepted:%Y-%m-%d}）。"
    if stabilized is not None and closed is not None and stabilized > closed:
        yield "stabilized_on", f"稳控日期不能晚于办结日期（{closed:%Y-%m-%d}）。"
    deadline = data.get("deadline")
    if deadline is not None and accepted is not None and deadline < accepted:
        yield "deadline", f"办理期限不能早于受理日期（{accepted:%Y-%m-%d}）。"


def _not_before_registration(data: dict, registered):
    """受理、办结、稳控 not before 登记日期; 发生日期 not after it."""
    for field_name, label in (
        ("closed_on", "办结日期"),
        ("accepted_on", "受理日期"),
        ("stabilized_on", "稳控日期"),
    ):
        value = data.get(field_name)
        if value is not None and value < registered:
            yield field_name, f"{label}不能早于登记日期（{registered:%Y-%m-%d}）。"
    occurred = data.get("occurred_on")
    if occurred is not None and occurred > registered:
        yield "occurred_on", f"发生日期不能晚于登记日期（{registered:%Y-%m-%d}）。"


class LedgerPartyRow(PartyIn):
    """One row of sheet 当事人: a party of the case whose 案件编号 is given.

    One instance reads one sheet: it counts the rows of each case, so that a case gets at most
    MAX_PARTIES_PER_CASE parties, as in registration (the rows beyond are refused)."""

    case_no = s.String(required=True, validate=s.length(64))
    kind = s.String(required=True, validate=s.one_of(values(PartyKind), "当事人类型"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parties_per_case: dict[str, int] = {}

    @validates_schema(skip_on_field_errors=False)
    def _parties_per_case(self, data, **kwargs):
        case_no = data.get("case_no")
        if not case_no:
            return
        seen = self.parties_per_case[case_no] = self.parties_per_case.get(case_no, 0) + 1
        limit = max_parties()
        if seen > limit:
            raise ValidationError(PARTIES_MESSAGE.format(max=limit), field_name="case_no")
