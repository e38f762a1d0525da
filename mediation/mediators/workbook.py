"""The mediators' workbook: sheet 调解员 (one row per mediator) and sheet 培训记录 (one row per
training), written through mediation/common/spreadsheet.py (the ledger's writer) and read through
the ledger's reader with the upload limits of mediation/common/upload_limits.py.

The import checks every row first and writes nothing when any row is wrong (all-or-nothing); each
problem names its sheet, row and column in Chinese. A mediator already registered (same name, a unit
in common, and the same ID number when both have one) is not created twice: the row is reported as
already present, and its training rows are added unless the same day and topic is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.ledger.service import Issue
from mediation.ledger.workbook import LedgerWorkbook, LedgerWriter
from mediation.mediators import service
from mediation.mediators.models import Mediator, mediator_unit
from mediation.mediators.schemas import MediatorIn, TrainingIn

MEDIATOR_SHEET = "调解员"
TRAINING_SHEET = "培训记录"
UNIT_SEPARATOR = "、"

# header → field of MediatorIn (None: written by the export, ignored by the import)
MEDIATOR_COLUMNS: dict[str, str | None] = {
    "序号": "key",
    "姓名": "name",
    "所属单位代码": "units",
    "所属单位": None,
    "专职/兼职": "employment",
    "背景": "background",
    "资质": "qualifications",
    "联系电话": "phone",
    "身份证号": "id_number",
    "在职": "active",
    "系统账号": "username",
    "本年度未培训": None,
}
MEDIATOR_REQUIRED = ("序号", "姓名", "所属单位代码", "专职/兼职", "背景")
TRAINING_COLUMNS: dict[str, str | None] = {
    "序号": "key",
    "姓名": None,
    "培训日期": "held_on",
    "学时": "hours",
    "培训主题": "topic",
    "组织单位": "organiser",
}
TRAINING_REQUIRED = ("序号", "培训日期", "学时", "培训主题", "组织单位")
YES, NO = "是", "否"


@dataclass
class MediatorImport:
    errors: list[Issue] = field(default_factory=list)
    created: int = 0
    present: int = 0
    trainings: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if not self.ok:
            rows = len({(i.sheet, i.row) for i in self.errors})
            return f"调解员导入失败：{rows} 行有错误，未导入任何数据（整个文件全部导入或全部不导入）。"
        present = f"；已存在（未重复建立）{self.present} 人" if self.present else ""
        return f"调解员导入完成：新增调解员 {self.created} 人、培训记录 {self.trainings} 条{present}。"


def _header_map(
    sheet: str, header: list[str], columns: dict, required, result: MediatorImport
) -> dict | None:
    names = [h.strip().rstrip("*＊").strip() for h in header]
    missing = [h for h in required if h not in names]
    if missing:
        result.errors.append(Issue(sheet, None, "", f"缺少必填列：{'、'.join(missing)}。"))
        return None
    return {i: columns[h] for i, h in enumerate(names) if h in columns and columns[h]}


def _row_dict(index: dict, cells: list[str]) -> dict:
    return {name: (cells[i] if i < len(cells) else "").strip() for i, name in index.items()}


def _headers_of(columns: dict) -> dict[str, str]:
    return {v: k for k, v in columns.items() if v}


def _problems(result, sheet, number, headers, messages) -> None:
    for key, value in messages.items():
        column = headers.get(key, "")
        if isinstance(value, dict):
            value = [m for inner in value.values() for m in (inner if isinstance(inner, list) else [inner])]
        for m in value if isinstance(value, list) else [value]:
            result.errors.append(Issue(sheet, number, column, str(m)))


def _mediator_row(raw: dict) -> dict:
    data = {k: v for k, v in raw.items() if k != "key" and v != ""}
    if "units" in data:
        data["units"] = [
            c.strip() for c in data["units"].replace(",", UNIT_SEPARATOR).split(UNIT_SEPARATOR) if c.strip()
        ]
    if "active" in data:
        data["active"] = {YES: True, NO: False}.get(data["active"], data["active"])
    return data


def _read_mediators(book: LedgerWorkbook, user: User | None, result: MediatorImport) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    if not book.has(MEDIATOR_SHEET):
        result.errors.append(
            Issue(MEDIATOR_SHEET, None, "", f"工作簿中没有名为「{MEDIATOR_SHEET}」的工作表。")
        )
        return rows
    headers = _headers_of(MEDIATOR_COLUMNS)
    sheet = book.open(MEDIATOR_SHEET)
    index = _header_map(MEDIATOR_SHEET, sheet.header, MEDIATOR_COLUMNS, MEDIATOR_REQUIRED, result)
    if index is None:
        sheet.close()
        return rows
    for number, cells in sheet.rows():
        raw = _row_dict(index, cells)
        key = raw.get("key", "")
        if not key:
            result.errors.append(Issue(MEDIATOR_SHEET, number, "序号", "必填项。"))
            continue
        if key in rows:
            result.errors.append(
                Issue(MEDIATOR_SHEET, number, "序号", f"序号「{key}」与第{rows[key]['row']}行重复。")
            )
            continue
        try:
            data = MediatorIn().load(_mediator_row(raw))
            units = service.reachable_units(user, data["units"], set())
            service.account_for(data.get("username"), None)
        except ValidationError as err:
            _problems(result, MEDIATOR_SHEET, number, headers, err.messages)
            continue
        except service.MediatorError as err:
            _problems(result, MEDIATOR_SHEET, number, {**headers, "username": "系统账号"}, err.messages)
            continue
        rows[key] = {"row": number, "data": data, "unit_ids": [u.id for u in units], "trainings": []}
    return rows


def _read_trainings(book: LedgerWorkbook, rows: dict[str, dict], result: MediatorImport) -> None:
    if not book.has(TRAINING_SHEET):
        return
    headers = _headers_of(TRAINING_COLUMNS)
    sheet = book.open(TRAINING_SHEET)
    index = _header_map(TRAINING_SHEET, sheet.header, TRAINING_COLUMNS, TRAINING_REQUIRED, result)
    if index is None:
        sheet.close()
        return
    for number, cells in sheet.rows():
        raw = _row_dict(index, cells)
        key = raw.pop("key", "")
        target = rows.get(key)
        if target is None:
            reason = (
                "必填项。"
                if not key
                else f"「{MEDIATOR_SHEET}」表中没有序号为「{key}」的调解员（或该行有错误）。"
            )
            result.errors.append(Issue(TRAINING_SHEET, number, "序号", reason))
            continue
        try:
            target["trainings"].append(TrainingIn().load({k: v for k, v in raw.items() if v != ""}))
        except ValidationError as err:
            _problems(result, TRAINING_SHEET, number, headers, err.messages)


def import_mediators(path: str | Path, user: User | None = None) -> MediatorImport:
    """Import the workbook as ``user`` (None: the admin-level CLI). Nothing is written when any row is
    wrong; otherwise the caller commits. Raises TableError for a file that cannot be read or is over
    the upload limits."""
    result = MediatorImport()
    with LedgerWorkbook(path) as book:
        rows = _read_mediators(book, user, result)
        _read_trainings(book, rows, result)
    if not result.ok:
        return result
    for row in rows.values():
        data = row["data"]
        mediator = service.same_person(data["name"], row["unit_ids"], data.get("id_number"))
        if mediator is None:
            mediator = service.save_mediator(user, None, data)
            result.created += 1
        else:
            result.present += 1
        before = len(mediator.trainings)
        for training in row["trainings"]:
            service.add_training(user, mediator, training)
        db.session.refresh(mediator)
        result.trainings += len(mediator.trainings) - before
    return result


def export_mediators(path: str | Path, node: Node, user: User | None = None) -> dict:
    """Every mediator with a unit in ``node``'s subtree (and in the user's sight), one row each, and
    their training records; phone and ID number as the user may see them (None: in full)."""
    stmt = select(Mediator).where(
        Mediator.id.in_(
            select(mediator_unit.c.mediator_id).where(
                mediator_unit.c.unit_id.in_(service.units_in_subtree(node))
            )
        )
    )
    if user is not None:
        stmt = stmt.where(service.mediator_scope(user))
    mediators = list(db.session.scalars(stmt.order_by(Mediator.name, Mediator.id)))
    untrained = service.untrained_ids(m.id for m in mediators)
    writer = LedgerWriter()
    writer.sheet(MEDIATOR_SHEET, list(MEDIATOR_COLUMNS), {"所属单位": 30, "资质": 30, "身份证号": 20})
    writer.sheet(TRAINING_SHEET, list(TRAINING_COLUMNS), {"培训主题": 30, "组织单位": 20})
    trainings = 0
    for number, m in enumerate(mediators, start=1):
        writer.append(
            MEDIATOR_SHEET,
            [
                str(number),
                m.name,
                UNIT_SEPARATOR.join(u.code for u in m.units),
                UNIT_SEPARATOR.join(u.name for u in m.units),
                m.employment.value,
                m.background.value,
                m.qualifications or "",
                service.shown_phone(user, m) or "",
                service.shown_id_number(user, m) or "",
                YES if m.active else NO,
                m.user.username if m.user else "",
                YES if m.id in untrained else NO,
            ],
        )
        for t in sorted(m.trainings, key=lambda t: (t.held_on, t.id)):
            writer.append(
                TRAINING_SHEET, [str(number), m.name, t.held_on, f"{t.hours:.1f}", t.topic, t.organiser]
            )
            trainings += 1
    writer.save(path)
    return {"mediators": len(mediators), "trainings": trainings}
