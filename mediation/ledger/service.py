"""台账 import and export (LEDGER.md): the rules, callable without a request (CLI, web job, tests).

Import works in two streaming passes over the file, so that memory does not grow with the file:

1. **Validation.** Each row of 纠纷, then of 当事人, is loaded with its marshmallow row schema
   (:mod:`mediation.ledger.schemas`), its 属地 path and unit names are resolved against in-memory
   indexes of the tree and units, and, per batch of rows, its 案件编号 (or, without one, its content
   fingerprint) is looked up in the database. Every problem becomes an :class:`Issue` (sheet, row,
   column, reason). Good rows are pickled to a temporary spill file; nothing is written to the
   database, and the read transaction is ended after every batch (SQLite's lock is released).
2. **Writing.** Only when the file is clean (or with ``partial=True``), the spill file is read back
   and written in batches of bulk INSERTs — cases, their timeline, their parties — inside the
   caller's transaction: the caller commits once at the end, so a failure leaves nothing behind.

Which unit registers an imported case: the 登记单位 column when the workbook has it; else the
importing user's unit; else (the CLI without ``--user``) the 综治中心 of the 属地 or of the nearest
node above it, failing that the nearest unit on the way up.

Timeline of an imported case, on the ledger's dates: registered (登记日期), routed (登记日期, when a
channel or unit is given), accepted (受理日期), stabilized (稳控日期, else 受理日期 or 登记日期 for a
case in 稳控), closed (办结日期, with 办结方式), and one ``imported`` event (today) saying who imported
which file and row, with the workbook's non-standard columns.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import (
    can_see_node,
    dispute_scope,
    is_admin,
    may_read_id_numbers,
    subtree_node_ids,
)
from mediation.accounts.models import User
from mediation.common.enums import PartyKind, Status
from mediation.common.tabular import TableError
from mediation.common.time import SHANGHAI, local_today, utcnow
from mediation.common.validators import mask_id_number
from mediation.disputes.models import Dispute, Event, Party, dispute_co_unit
from mediation.disputes.service import is_prominent, next_case_no
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.ledger.index import TreeIndex, UnitIndex
from mediation.ledger.models import LedgerRecord
from mediation.ledger.schemas import (
    DISPUTE_COLUMNS,
    DISPUTE_EXTENSION_COLUMNS,
    DISPUTE_REQUIRED,
    FIELD_HEADERS,
    PARTY_COLUMNS,
    PARTY_EXTENSION_COLUMNS,
    PARTY_FIELD_HEADERS,
    PARTY_REQUIRED,
    LedgerDisputeRow,
    LedgerPartyRow,
)
from mediation.ledger.workbook import DISPUTE_SHEET, PARTY_SHEET, LedgerWorkbook, LedgerWriter
from mediation.routing.deadlines import deadline_for
from mediation.routing.service import units_within_reach

Progress = Callable[[int, int | None, str], None]
"""progress(rows_done, rows_total, stage): rows_total may be None when the file does not say."""

BATCH = 1000
STAGE_VALIDATE = "校验"
STAGE_WRITE = "导入"
STAGE_EXPORT = "导出"
REASON_HEADER = "错误原因"
_IGNORED = "-"  # the 错误原因 column of a rejects workbook being imported again after its fixes
IMPORTED_BY = "台账导入"
# One message for every case number a user-scoped import may not use: taken by a case outside the
# importer's scope, or in the system's numbering of a unit outside their reach. It must not tell
# "exists in another town" from anything else.
CASE_NO_UNAVAILABLE = "案件编号不可用，本行未导入。请核对编号，或将“案件编号”留空由系统自动编号。"


class LedgerAccessError(PermissionError):
    pass


@dataclass
class Issue:
    """One line of the report: where (sheet, row, column) and why."""

    sheet: str
    row: int | None
    column: str
    reason: str

    def line(self) -> str:
        where = f"「{self.sheet}」第{self.row}行" if self.row else f"「{self.sheet}」表"
        column = f"「{self.column}」" if self.column else ""
        return f"{where}{column}：{self.reason}"

    def as_list(self) -> list:
        return [self.sheet, self.row, self.column, self.reason]


@dataclass
class ImportResult:
    source: str
    partial: bool = False
    errors: list[Issue] = field(default_factory=list)
    duplicates: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dispute_rows: int = 0
    party_rows: int = 0
    imported: int = 0
    parties: int = 0
    duplicate_parties: int = 0
    rejected_disputes: int = 0
    rejected_parties: int = 0
    rejects_path: str | None = None
    written: bool = False  # something was written: the caller commits

    @property
    def ok(self) -> bool:
        return not self.errors

    def bad_rows(self, sheet: str) -> int:
        return len({i.row for i in self.errors if i.sheet == sheet and i.row})

    def summary(self) -> str:
        done = f"新增案件 {self.imported} 件、当事人 {self.parties} 人"
        dup = f"；重复（已存在，未更新）{len(self.duplicates)} 件" if self.duplicates else ""
        if self.ok:
            return f"台账导入完成：{done}{dup}。"
        bad = "、".join(f"「{s}」表 {n} 行" for s in (DISPUTE_SHEET, PARTY_SHEET) if (n := self.bad_rows(s)))
        if not self.partial or not self.written and not self.rejects_path:
            if not bad:
                return "台账导入失败，未导入任何数据：" + "；".join(i.reason for i in self.errors[:3])
            return (
                f"台账导入失败：{bad}有错误，未导入任何数据（整个文件全部导入或全部不导入）。"
                f"请按下列说明修改后重新导入，或选择“部分导入”只导入正确的行。"
            )
        # No path: the summary is shown on the job page and in its report (the CLI prints the path itself).
        rejects = f"，错误行已另存为工作簿（含“{REASON_HEADER}”列）" if self.rejects_path else ""
        return (
            f"台账部分导入：{done}{dup}；未导入 {self.rejected_disputes} 件案件、"
            f"{self.rejected_parties} 行当事人（{bad}有错误）{rejects}。"
        )

    def report_lines(self, limit: int | None = None) -> list[str]:
        lines = [self.summary(), *self.notes]
        issues = [*self.errors, *self.duplicates]
        shown = issues if limit is None else issues[:limit]
        lines += [("重复：" if i in self.duplicates else "错误：") + i.line() for i in shown]
        if len(shown) < len(issues):
            lines.append(f"……另有 {len(issues) - len(shown)} 条，见完整报告。")
        return lines

    def as_dict(self, limit: int = 500) -> dict:
        return {
            "ok": self.ok,
            "partial": self.partial,
            "summary": self.summary(),
            "notes": self.notes,
            "imported": self.imported,
            "parties": self.parties,
            "duplicates": len(self.duplicates),
            "duplicate_parties": self.duplicate_parties,
            "errors": len(self.errors),
            "rejected_disputes": self.rejected_disputes,
            "rejected_parties": self.rejected_parties,
            "dispute_rows": self.dispute_rows,
            "party_rows": self.party_rows,
            "rejects": bool(self.rejects_path),
            "error_list": [i.as_list() for i in self.errors[:limit]],
            "duplicate_list": [i.as_list() for i in self.duplicates[:limit]],
        }


def _scope_path(user: User | None) -> str | None:
    """The path prefix of the nodes a user may import into or export from (None: everything)."""
    if user is None or is_admin(user):
        return None
    return user.unit.node.path


def _flatten(messages, headers: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for key, value in messages.items():
        column = headers.get(key, "" if key == "_schema" else str(key))
        if isinstance(value, dict):  # a list field: {index: [messages]}
            for index, inner in value.items():
                for m in inner if isinstance(inner, list) else [inner]:
                    out.append((column, f"第{int(index) + 1}项：{m}"))
        else:
            for m in value if isinstance(value, list) else [value]:
                out.append((column, str(m)))
    return out


def _norm_header(text: str) -> str:
    return text.replace("\u3000", " ").strip().rstrip("*＊").strip()


def _fingerprint(data: dict, extra: dict) -> str:
    canon = {
        k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal) else v)
        for k, v in data.items()
        if v not in (None, [], "")
    }
    canon["_extra"] = extra
    return hashlib.sha256(
        json.dumps(canon, ensure_ascii=False, sort_keys=True, default=str).encode()
    ).hexdigest()


def _event_at(day: date, step: int) -> datetime:
    """A ledger date as a timeline instant: 09:00 Shanghai time plus ``step`` minutes, so that the
    steps of one day keep their order. Stored as naive UTC."""
    return datetime.combine(day, time(9, step), tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


@dataclass
class _Row:
    number: int
    cells: list[str]
    case_no: str
    data: dict
    problems: list[tuple[str, str]]
    extra: dict
    node_id: int | None = None
    unit_id: int | None = None
    co_ids: list[int] = field(default_factory=list)
    reg_unit_id: int | None = None
    fingerprint: str | None = None

    def problem(self, field_name: str, reason: str) -> None:
        self.problems.append((FIELD_HEADERS[field_name], reason))


class _Spill:
    """A temporary file of pickled records, written in the validation pass and read back once."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="ledger-")
        self.count = 0

    def put(self, record) -> None:
        pickle.dump(record, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Iterator:
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return

    def close(self) -> None:
        self.file.close()


class LedgerImport:
    def __init__(
        self,
        path: str | Path,
        *,
        user: User | None = None,
        partial: bool = False,
        rejects_path: str | Path | None = None,
        progress: Progress | None = None,
        job_id: int | None = None,
        source_name: str | None = None,
    ):
        self.path = Path(path)
        self.user = user
        # kept as plain values: the validation pass commits between batches, expiring ORM objects
        self.user_id = user.id if user else None
        self.user_unit_id = user.unit_id if user else None
        self.user_name = user.name if user else IMPORTED_BY
        self.partial = partial
        self.rejects_path = Path(rejects_path) if rejects_path else None
        self.progress = progress or (lambda done, total, stage: None)
        self.job_id = job_id
        self.source_name = source_name or self.path.name
        self.result = ImportResult(source=self.source_name, partial=partial)
        self.scope = _scope_path(user)
        self.case_rows: dict[str, int] = {}  # 案件编号 in sheet 纠纷 → first row
        self.duplicate_cases: set[str] = set()
        self.bad_cases: set[str] = set()  # 案件编号 of rows with errors
        self.bad_party_cases: set[str] = set()
        self.repeated_cases: set[str] = set()  # 案件编号 on more than one row of 纠纷
        self.fingerprints: dict[str, int] = {}
        self.headers: dict[str, list[str]] = {}
        self.done = 0
        self._reach: dict[int, set[int]] = {}  # node id → the units a case there may be given to
        self._foreign_numbers: tuple | None = None

    # -- entry point ------------------------------------------------------------------------

    def run(self) -> ImportResult:
        try:
            book = LedgerWorkbook(self.path)
        except TableError as err:
            return self._fatal(DISPUTE_SHEET, str(err))
        with book:
            return self._run(book)

    def _run(self, book: LedgerWorkbook) -> ImportResult:
        if not book.has(DISPUTE_SHEET):
            names = "、".join(f"「{n}」" for n in book.sheet_names) or "无"
            return self._fatal(
                DISPUTE_SHEET,
                f"工作簿中没有名为「{DISPUTE_SHEET}」的工作表（现有工作表：{names}）。"
                f"台账应包含工作表「{DISPUTE_SHEET}」（每行一件纠纷）和可选的"
                f"「{PARTY_SHEET}」（每行一名当事人）。",
            )
        for name in book.sheet_names:
            if name not in (DISPUTE_SHEET, PARTY_SHEET):
                self.result.notes.append(f"工作表「{name}」不是台账的工作表，未导入。")
        self.total = (book.estimate(DISPUTE_SHEET) or 0) + (book.estimate(PARTY_SHEET) or 0) or None
        self.tree, self.units = TreeIndex(), UnitIndex()
        spill = _Spill()
        try:
            try:
                self._validate_disputes(book, spill)
                if book.has(PARTY_SHEET) and DISPUTE_SHEET in self.headers:
                    self._validate_parties(book, spill)
            except TableError as err:
                return self._fatal(DISPUTE_SHEET, str(err))
            self.progress(self.done, self.done, STAGE_VALIDATE)
            if self.result.errors and (not self.partial or self._fatal_errors()):
                return self.result
            try:
                self._write(spill)
            except IntegrityError:
                # another import took a case number or a row's content between the two passes
                db.session.rollback()
                self.result.imported = self.result.parties = 0
                self.result.written, self.result.rejects_path = False, None
                self.result.errors.append(
                    Issue(
                        DISPUTE_SHEET,
                        None,
                        "",
                        (
                            "导入期间其他用户导入或登记了相同的案件，为避免重复，本次未导入任何数据。请重新导入。"
                        ),
                    )
                )
        finally:
            spill.close()
        return self.result

    def _fatal(self, sheet: str, reason: str, column: str = "") -> ImportResult:
        self.result.errors.append(Issue(sheet, None, column, reason))
        return self.result

    def _fatal_errors(self) -> bool:
        return any(i.row is None for i in self.result.errors)

    def _release(self) -> None:
        """End the read-only transaction between batches of the validation pass (it holds
        SQLite's lock); never when the session holds the caller's unflushed changes."""
        session = db.session
        if not (session.new or session.dirty or session.deleted):
            session.commit()

    def _tick(self, rows: int, stage: str, total: int | None) -> None:
        self.done += rows
        self.progress(self.done, total, stage)

    # -- header -----------------------------------------------------------------------------

    def _columns(self, sheet: str, header: list[str], known: dict[str, str], required) -> list | None:
        columns: list[tuple[str, str | None]] = []
        seen: dict[str, int] = {}
        unknown = []
        for i, raw in enumerate(header):
            name = _norm_header(raw) or f"第{i + 1}列"
            if name in seen:
                self._fatal(sheet, f"表头「{name}」重复（第{seen[name] + 1}列和第{i + 1}列）。")
                return None
            seen[name] = i
            if name == REASON_HEADER:
                columns.append((name, _IGNORED))
                self.result.notes.append(f"「{sheet}」表的“{REASON_HEADER}”列（部分导入生成的说明）未导入。")
                continue
            columns.append((name, known.get(name)))
            if name not in known and _norm_header(raw):
                unknown.append(name)
        missing = [h for h in required if h not in seen]
        if missing:
            self._fatal(
                sheet, f"缺少必填列：{'、'.join(missing)}。请检查表头（第1行）的列名是否与台账格式一致。"
            )
            return None
        if unknown and sheet == DISPUTE_SHEET:
            self.result.notes.append(
                f"「{sheet}」表中的列 {'、'.join(unknown)} 不是台账的标准列：其内容已原样保存在"
                f"各案件的“台账导入”记录中（导出时原样写回）。"
            )
        elif unknown:
            self.result.notes.append(
                f"「{sheet}」表中的列 {'、'.join(unknown)} 不是台账的标准列，其内容未导入。"
            )
        self.headers[sheet] = [name for name, _ in columns]
        return columns

    @staticmethod
    def _split(columns, cells: list[str]) -> tuple[dict, dict]:
        values, extra = {}, {}
        for i, cell in enumerate(cells):
            name, field_name = columns[i] if i < len(columns) else (f"第{i + 1}列", None)
            if field_name == _IGNORED:
                continue
            if field_name:
                values[field_name] = cell
            elif cell:
                extra[name] = cell
        return values, extra

    # -- pass 1: validation -----------------------------------------------------------------

    def _validate_disputes(self, book: LedgerWorkbook, spill: _Spill) -> None:
        sheet = book.open(DISPUTE_SHEET)
        try:
            known = {**DISPUTE_COLUMNS, **DISPUTE_EXTENSION_COLUMNS}
            columns = self._columns(DISPUTE_SHEET, sheet.header, known, DISPUTE_REQUIRED)
            if columns is None:
                return
            schema = LedgerDisputeRow()
            batch: list[_Row] = []
            for number, cells in sheet.rows():
                batch.append(self._check_dispute(schema, columns, number, cells))
                if len(batch) >= BATCH:
                    self._finish_disputes(batch, spill)
                    batch = []
            self._finish_disputes(batch, spill)
        finally:
            sheet.close()

    def _check_dispute(self, schema, columns, number: int, cells: list[str]) -> _Row:
        """Everything that needs no database: the schema, the 属地 path, unit names, scope."""
        values, extra = self._split(columns, cells)
        self.result.dispute_rows += 1
        try:
            data, problems = schema.load(values), []
        except ValidationError as err:
            data, problems = err.valid_data or {}, _flatten(err.messages, FIELD_HEADERS)
        row = _Row(number, cells, values.get("case_no", "").strip(), data, problems, extra)
        reach_node = self._check_node(row)
        self._check_unit(row, reach_node)
        self._check_co_units(row, reach_node)
        self._check_registering_unit(row)
        self._check_case_no(row)
        return row

    def _check_node(self, row: _Row) -> int | None:
        """The row's 属地: resolved and within the importer's scope. Returns the node the units are
        checked against, once it is known and in scope."""
        if "node" not in row.data:
            return None
        row.node_id, reason = self.tree.resolve(row.data["node"])
        if reason:
            row.problem("node", reason)
        elif self.scope and not self.tree.path[row.node_id].startswith(self.scope):
            row.problem("node", "该属地不在您单位的辖区内，无权导入。")
        else:
            return row.node_id
        return None

    def _check_unit(self, row: _Row, reach_node: int | None) -> None:
        """承办单位: a known unit within the importer's reach."""
        if not row.data.get("unit"):
            return
        row.unit_id, reason = self.units.resolve(row.data["unit"])
        if reason:
            row.problem("unit", reason)
        elif not self._within_reach(row.unit_id, reach_node):
            row.unit_id = None
            row.problem(
                "unit",
                f"承办单位「{row.data['unit']}」不是本辖区或上级的单位，无权以该单位的名义导入案件。",
            )

    def _check_co_units(self, row: _Row, reach_node: int | None) -> None:
        """联办单位: known units within the importer's reach, each once, not the 承办单位."""
        for name in row.data.get("co_units") or []:
            unit_id, reason = self.units.resolve(name)
            if reason:
                row.problem("co_units", reason)
            elif not self._within_reach(unit_id, reach_node):
                row.problem(
                    "co_units", f"联办单位「{name}」不是本辖区或上级的单位，无权以该单位的名义导入案件。"
                )
            elif unit_id != row.unit_id and unit_id not in row.co_ids:
                row.co_ids.append(unit_id)

    def _check_registering_unit(self, row: _Row) -> None:
        """登记单位: as given (within scope), else the importer's unit, else the 属地's registering unit."""
        if row.data.get("registering_unit"):
            row.reg_unit_id, reason = self.units.resolve(row.data["registering_unit"])
            if reason:
                row.problem("registering_unit", reason)
            elif self.scope and not self.tree.path[self.units.node[row.reg_unit_id]].startswith(self.scope):
                row.problem("registering_unit", "登记单位不在您单位的辖区内。")
        elif self.user_id is not None:
            row.reg_unit_id = self.user_unit_id
        elif row.node_id is not None:
            row.reg_unit_id = self.units.registering_for(self.tree, row.node_id)
            if row.reg_unit_id is None:
                row.problem("node", "属地及其上级节点都没有综治中心或其他单位，无法确定登记单位。")

    def _check_case_no(self, row: _Row) -> None:
        """案件编号: once in the file, and not a number of units outside the importer's reach."""
        if not row.case_no:
            return
        first = self.case_rows.setdefault(row.case_no, row.number)
        if first != row.number:
            self.repeated_cases.add(row.case_no)
            row.problem("case_no", f"与第{first}行的案件编号重复。")
        elif self._foreign_number(row.case_no):
            row.problem("case_no", CASE_NO_UNAVAILABLE)

    def _within_reach(self, unit_id: int, node_id: int | None = None) -> bool:
        """Routing's reach rule (routing.service.units_within_reach) for a case at the row's 属地 (else
        the importer's own node), once per node; the CLI, without a user, reaches all."""
        if self.user is None:
            return True
        node_id = node_id if node_id is not None else self.user.unit.node_id
        if node_id not in self._reach:
            self._reach[node_id] = units_within_reach(db.session.get(Node, node_id), self.user)
        return unit_id in self._reach[node_id]

    def _foreign_number(self, case_no: str) -> bool:
        """A number in the system's own numbering (CASE_NO_PATTERN) whose unit part names only units
        outside the importer's reach: refused whether or not it exists, so that the refusal of a
        number taken in another town says nothing."""
        if self.user is None or is_admin(self.user):
            return False
        if self._foreign_numbers is None:
            pattern = current_app.config["CASE_NO_PATTERN"]
            regex, pos = "", 0
            for m in re.finditer(r"\{(\w+)(?::[^}]*)?\}", pattern):
                regex += re.escape(pattern[pos : m.start()])
                regex += {"year": r"\d{4}", "unit": r"(?P<unit>.+?)"}.get(m.group(1), r"\d+")
                pos = m.end()
            regex += re.escape(pattern[pos:])
            holders: dict[str, list[int]] = defaultdict(list)
            for unit in db.session.scalars(select(Unit)):
                holders[unit.abbreviation].append(unit.id)
            self._foreign_numbers = (re.compile(regex), holders)
        regex, holders = self._foreign_numbers
        match = regex.fullmatch(case_no)
        if not match or "unit" not in match.groupdict() or not holders.get(match.group("unit")):
            return False
        return not any(self._within_reach(u) for u in holders[match.group("unit")])

    def _finish_disputes(self, batch: list[_Row], spill: _Spill) -> None:
        """The database half of validation, one query per batch: 案件编号 already present, or,
        for rows without one, the same content imported before."""
        if not batch:
            return
        existing = self._existing_numbers(batch)
        imported = self._imported_fingerprints(batch)
        for r in batch:
            self._sort_dispute(r, existing, imported, spill)
        self._release()
        self._tick(len(batch), STAGE_VALIDATE, self.total)

    def _existing_numbers(self, batch: list[_Row]) -> set[str]:
        """The batch's 案件编号 already in the database and visible to the importer. A number taken by
        a case the importer cannot see: the row is refused with the neutral message (never "exists",
        which would reveal a record outside their scope)."""

        numbers = [r.case_no for r in batch if r.case_no]
        existing = (
            set(db.session.scalars(select(Dispute.case_no).where(Dispute.case_no.in_(numbers))))
            if numbers
            else set()
        )
        if not existing or self.user is None:
            return existing
        visible = set(
            db.session.scalars(
                select(Dispute.case_no).where(Dispute.case_no.in_(existing), dispute_scope(self.user))
            )
        )
        for r in batch:
            if r.case_no in existing - visible and CASE_NO_UNAVAILABLE not in (m for _, m in r.problems):
                r.problems.append(("案件编号", CASE_NO_UNAVAILABLE))
        return visible

    def _imported_fingerprints(self, batch: list[_Row]) -> dict[str, str | None]:
        """Fingerprints the valid rows without a 案件编号, and returns those imported before, each with
        the case number it became (None when the importer cannot see that case)."""
        for r in batch:
            if not r.case_no and not r.problems:
                r.fingerprint = _fingerprint(r.data, r.extra)
        prints = [r.fingerprint for r in batch if r.fingerprint]
        if not prints:
            return {}
        imported = dict(
            db.session.execute(
                select(LedgerRecord.fingerprint, Dispute.case_no)
                .join(Dispute, Dispute.id == LedgerRecord.dispute_id)
                .where(LedgerRecord.fingerprint.in_(prints))
            ).all()
        )
        if imported and self.user is not None:  # name only the cases the importer can see
            seen = set(
                db.session.scalars(
                    select(LedgerRecord.fingerprint)
                    .join(Dispute, Dispute.id == LedgerRecord.dispute_id)
                    .where(LedgerRecord.fingerprint.in_(list(imported)), dispute_scope(self.user))
                )
            )
            imported = {f: (n if f in seen else None) for f, n in imported.items()}
        return imported

    def _sort_dispute(self, r: _Row, existing: set[str], imported: dict, spill: _Spill) -> None:
        """One validated row: a duplicate, an error (spilled as rejected when partial), or to write."""
        if r.case_no and r.case_no in existing:
            self.duplicate_cases.add(r.case_no)
            self.result.duplicates.append(
                Issue(
                    DISPUTE_SHEET,
                    r.number,
                    "案件编号",
                    f"案件编号「{r.case_no}」已存在，按重复处理，未更新。",
                )
            )
        elif r.problems:
            for column, reason in r.problems:
                self.result.errors.append(Issue(DISPUTE_SHEET, r.number, column, reason))
            if r.case_no:
                self.bad_cases.add(r.case_no)
            if self.partial:
                spill.put(("D", r.number, r.cells, False, r.problems))
        elif r.fingerprint and r.fingerprint in imported:
            named = f"「{imported[r.fingerprint]}」" if imported[r.fingerprint] else ""
            self.result.duplicates.append(
                Issue(DISPUTE_SHEET, r.number, "", f"与已导入的案件{named}内容相同，按重复处理，未再次导入。")
            )
        elif r.fingerprint and r.fingerprint in self.fingerprints:
            self.result.duplicates.append(
                Issue(
                    DISPUTE_SHEET,
                    r.number,
                    "",
                    f"与第{self.fingerprints[r.fingerprint]}行内容完全相同，按重复处理，未再次导入。",
                )
            )
        else:
            if r.fingerprint:
                self.fingerprints[r.fingerprint] = r.number
            spill.put(
                (
                    "D",
                    r.number,
                    r.cells,
                    True,
                    {
                        "case_no": r.case_no,
                        "data": r.data,
                        "extra": r.extra,
                        "node_id": r.node_id,
                        "unit_id": r.unit_id,
                        "co_ids": r.co_ids,
                        "reg_unit_id": r.reg_unit_id,
                        "fingerprint": r.fingerprint,
                    },
                )
            )

    def _validate_parties(self, book: LedgerWorkbook, spill: _Spill) -> None:
        sheet = book.open(PARTY_SHEET)
        try:
            columns = self._columns(
                PARTY_SHEET, sheet.header, {**PARTY_COLUMNS, **PARTY_EXTENSION_COLUMNS}, PARTY_REQUIRED
            )
            if columns is None:
                return
            schema = LedgerPartyRow()
            pending = 0
            for number, cells in sheet.rows():
                values, _extra = self._split(columns, cells)
                self.result.party_rows += 1
                case_no = values.get("case_no", "").strip()
                pending += 1
                if pending >= BATCH:
                    self._tick(pending, STAGE_VALIDATE, self.total)
                    pending = 0
                if case_no in self.duplicate_cases:
                    self.result.duplicate_parties += 1
                    continue
                try:
                    data, problems = schema.load(values), []
                except ValidationError as err:
                    data, problems = err.valid_data or {}, _flatten(err.messages, PARTY_FIELD_HEADERS)
                if case_no and case_no not in self.case_rows:
                    problems.append(
                        ("案件编号", f"「{DISPUTE_SHEET}」表中没有案件编号为「{case_no}」的案件。")
                    )
                if problems:
                    for column, reason in problems:
                        self.result.errors.append(Issue(PARTY_SHEET, number, column, reason))
                    if case_no:
                        self.bad_party_cases.add(case_no)
                    if self.partial:
                        spill.put(("P", number, cells, False, problems))
                else:
                    spill.put(("P", number, cells, True, data))
            self._tick(pending, STAGE_VALIDATE, self.total)
        finally:
            sheet.close()

    # -- pass 2: writing --------------------------------------------------------------------

    def _write(self, spill: _Spill) -> None:
        self.rejected_cases = self.bad_cases | self.bad_party_cases
        self.units_by_id: dict[int, Unit] = {}
        self.now = utcnow()
        self.today = local_today()
        writer = None
        done, total = 0, spill.count
        disputes: list[dict] = []
        parties: list[tuple[str, dict]] = []
        self.progress(0, total, STAGE_WRITE)
        for kind, number, cells, ok, payload in spill:
            reason = self._reject_reason(kind, ok, payload)
            if reason is not None:
                writer = writer or self._rejects_writer()
                self._reject(writer, kind, cells, reason)
            elif kind == "D":
                disputes.append({"number": number, **payload})
                if len(disputes) >= BATCH:
                    self._insert_disputes(disputes)
                    disputes = []
            else:
                if disputes:
                    self._insert_disputes(disputes)
                    disputes = []
                parties.append((payload["case_no"], payload))
                if len(parties) >= BATCH:
                    self._insert_parties(parties)
                    parties = []
            done += 1
            if done % BATCH == 0:
                self.progress(done, total, STAGE_WRITE)
        if disputes:
            self._insert_disputes(disputes)
        if parties:
            self._insert_parties(parties)
        db.session.flush()
        self.progress(total, total, STAGE_WRITE)
        if writer is not None:
            path = self.rejects_path or self.path.with_name(f"{self.path.stem}-错误行.xlsx")
            writer.save(path)
            self.result.rejects_path = str(path)

    def _reject_reason(self, kind: str, ok: bool, payload) -> str | None:
        """Why a spilled row is not written: its own errors, or those of its case (整件未导入)."""
        if not ok:
            return "；".join(f"{c}：{m}" if c else m for c, m in payload)
        if kind == "D" and payload["case_no"] in self.repeated_cases:
            return f"案件编号「{payload['case_no']}」在「{DISPUTE_SHEET}」表中出现多次，整件未导入。"
        if kind == "D" and payload["case_no"] in self.bad_party_cases:
            return f"本案件在「{PARTY_SHEET}」表中的当事人行有错误，整件未导入。"
        if kind == "P" and payload["case_no"] in self.rejected_cases:
            return f"本案件的「{DISPUTE_SHEET}」行或其他当事人行有错误，整件未导入。"
        return None

    def _reject(self, writer: LedgerWriter, kind: str, cells: list[str], reason: str) -> None:
        """A rejected row into the file of rejected rows: its cells, the reason, then any extra cells."""
        sheet = DISPUTE_SHEET if kind == "D" else PARTY_SHEET
        width = len(self.headers[sheet])
        writer.append(sheet, [*cells[:width], *[""] * (width - len(cells)), reason, *cells[width:]])
        if kind == "D":
            self.result.rejected_disputes += 1
        else:
            self.result.rejected_parties += 1

    def _rejects_writer(self) -> LedgerWriter:
        writer = LedgerWriter()
        for sheet in (DISPUTE_SHEET, PARTY_SHEET):
            if sheet in self.headers:
                writer.sheet(sheet, [*self.headers[sheet], REASON_HEADER], widths={REASON_HEADER: 60})
        return writer

    def _unit(self, unit_id: int) -> Unit:
        if unit_id not in self.units_by_id:
            self.units_by_id[unit_id] = db.session.get(Unit, unit_id)
        return self.units_by_id[unit_id]

    def _assign_case_no(self, unit_id: int, year: int) -> str:
        """The registering unit's next number for the year of 登记日期, skipping numbers the
        database (next_case_no) or this file already holds."""
        while True:
            case_no = next_case_no(self._unit(unit_id), year)
            if case_no not in self.case_rows:
                return case_no

    def _insert_disputes(self, batch: list[dict]) -> None:
        rows = []
        for rec in batch:
            d = rec["data"]
            registered, accepted = d["registered_on"], d.get("accepted_on")
            stabilized = d.get("stabilized_on")
            if stabilized is None and d["status"] == Status.STABILIZED.value:
                stabilized = accepted or registered
            deadline = d.get("deadline") or deadline_for(d.get("channel"), d["category"], accepted)
            rec["stabilized_on"], rec["deadline"] = stabilized, deadline
            rec["case_no"] = rec["case_no"] or self._assign_case_no(rec["reg_unit_id"], registered.year)
            flags = list(d.get("flags") or [])
            rows.append(
                {
                    "case_no": rec["case_no"],
                    "category": d["category"],
                    "source": d["source"],
                    "summary": d["summary"],
                    "venue": d.get("venue"),
                    "people_count": d.get("people_count"),
                    "amount": d.get("amount"),
                    "occurred_on": d.get("occurred_on"),
                    "risk_level": d["risk_level"],
                    "flags": flags,
                    "prominent": is_prominent(d["risk_level"], flags),
                    "civil_to_criminal": d.get("civil_to_criminal", False),
                    "node_id": rec["node_id"],
                    "registering_unit_id": rec["reg_unit_id"],
                    "registered_by_id": self.user_id,
                    "registered_at": _event_at(registered, 0),
                    "registered_on": registered,
                    "status": d["status"],
                    "channel": d.get("channel"),
                    "unit_id": rec["unit_id"],
                    "accepted_on": accepted,
                    "deadline": deadline,
                    "stabilized_on": stabilized,
                    "closed_on": d.get("closed_on"),
                    "outcome": d.get("outcome"),
                    "carry_over_reason": d.get("carry_over_reason"),
                    "version": 1,
                    "updated_at": self.now,
                }
            )
        # executemany without RETURNING (SQLite would send one INSERT per row), then the new ids by
        # their case numbers, which are unique
        db.session.execute(Dispute.__table__.insert(), rows)
        numbers = [r["case_no"] for r in rows]
        by_number = dict(
            db.session.execute(select(Dispute.case_no, Dispute.id).where(Dispute.case_no.in_(numbers))).all()
        )
        ids = [by_number[n] for n in numbers]
        events, records, co_rows = [], [], []
        for rec, dispute_id in zip(batch, ids, strict=True):
            events += self._timeline(dispute_id, rec)
            records.append(
                {
                    "dispute_id": dispute_id,
                    "fingerprint": rec["fingerprint"],
                    "job_id": self.job_id,
                    "source_file": self.source_name[:255],
                    "source_row": rec["number"],
                    "extra": rec["extra"],
                    "imported_at": self.now,
                }
            )
            co_rows += [{"dispute_id": dispute_id, "unit_id": u} for u in rec["co_ids"]]
        # Core inserts (executemany): the ORM's bulk insert would split rows by which values are None
        db.session.execute(Event.__table__.insert(), events)
        db.session.execute(LedgerRecord.__table__.insert(), records)
        if co_rows:
            db.session.execute(dispute_co_unit.insert(), co_rows)
        self.result.imported += len(batch)
        self.result.written = True

    def _timeline(self, dispute_id: int, rec: dict) -> list[dict]:
        d = rec["data"]
        handler = rec["unit_id"] or rec["reg_unit_id"]

        def event(
            type_: str, day: date, step: int, unit_id: int, data: dict | None = None, note: str | None = None
        ) -> dict:
            return {
                "dispute_id": dispute_id,
                "type": type_,
                "at": _event_at(day, step),
                "on": day,
                "user_id": self.user_id,
                "by_name": IMPORTED_BY,
                "unit_id": unit_id,
                "note": note,
                "data": data or {},
            }

        registered = d["registered_on"]
        events = [
            event(
                "registered",
                registered,
                0,
                rec["reg_unit_id"],
                {
                    "case_no": rec["case_no"],
                    "category": d["category"],
                    "source": d["source"],
                    "node": self.tree.code[rec["node_id"]],
                    "risk_level": d["risk_level"],
                    "ledger": True,
                },
            )
        ]
        if d.get("channel") or rec["unit_id"]:
            events.append(
                event(
                    "routed",
                    registered,
                    1,
                    rec["reg_unit_id"],
                    {
                        "channel": d.get("channel"),
                        "unit": self.units.code.get(rec["unit_id"]),
                        "co_units": [self.units.code[u] for u in rec["co_ids"]],
                    },
                )
            )
        if d.get("accepted_on"):
            events.append(
                event(
                    "accepted",
                    d["accepted_on"],
                    2,
                    handler,
                    {"deadline": rec["deadline"].isoformat() if rec["deadline"] else None},
                )
            )
        if rec["stabilized_on"]:
            events.append(event("stabilized", rec["stabilized_on"], 3, handler))
        if d.get("closed_on"):
            events.append(event("closed", d["closed_on"], 4, handler, {"outcome": d.get("outcome")}))
        note = f"自台账「{self.source_name}」第{rec['number']}行导入。"
        if rec["extra"]:
            note += "台账其他列：" + "；".join(f"{k}：{v}" for k, v in rec["extra"].items())
        events.append(
            {
                "dispute_id": dispute_id,
                "type": "imported",
                "at": self.now,
                "on": self.today,
                "user_id": self.user_id,
                "by_name": self.user_name,
                "unit_id": self.user_unit_id or rec["reg_unit_id"],
                "note": note,
                "data": {
                    "file": self.source_name,
                    "row": rec["number"],
                    "job": self.job_id,
                    "extra": rec["extra"],
                },
            }
        )
        return events

    def _insert_parties(self, batch: list[tuple[str, dict]]) -> None:
        """Parties by their case's number; positions continue after the parties already written
        (a case's rows need not be adjacent in the sheet). Two queries per batch, no per-case state."""
        ids = dict(
            db.session.execute(
                select(Dispute.case_no, Dispute.id).where(Dispute.case_no.in_({c for c, _ in batch}))
            ).all()
        )
        positions = defaultdict(
            int,
            db.session.execute(
                select(Party.dispute_id, func.count())
                .where(Party.dispute_id.in_(set(ids.values())))
                .group_by(Party.dispute_id)
            ).all(),
        )
        rows = []
        for case_no, p in batch:
            dispute_id = ids[case_no]
            position = positions[dispute_id]
            positions[dispute_id] = position + 1
            rows.append(
                {
                    "dispute_id": dispute_id,
                    "position": position,
                    "role": p["role"],
                    "kind": p["kind"],
                    "name": p["name"],
                    "id_number": p.get("id_number"),
                    "phone": p.get("phone"),
                    "address": p.get("address"),
                    **{f: p.get(f) for f in PARTY_EXTENSION_COLUMNS.values()},
                }
            )
        db.session.execute(Party.__table__.insert(), rows)
        self.result.parties += len(rows)
        self.result.written = True


def import_ledger(
    path: str | Path,
    *,
    user: User | None = None,
    partial: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
    source_name: str | None = None,
) -> ImportResult:
    """Import a 台账 workbook (LEDGER.md). Writes nothing unless the whole file is valid, or, with
    ``partial``, writes the good rows and puts the bad ones (with a 错误原因 column) into
    ``rejects_path``. ``user`` None means an administrator-level import (the CLI). The caller
    commits when ``result.written``, and rolls back otherwise."""
    return LedgerImport(
        path,
        user=user,
        partial=partial,
        rejects_path=rejects_path,
        progress=progress,
        job_id=job_id,
        source_name=source_name,
    ).run()


# -- export ---------------------------------------------------------------------------------

EXPORT_HEADERS = [*DISPUTE_COLUMNS, *DISPUTE_EXTENSION_COLUMNS]


_EXPORT_COLUMNS = (
    Dispute.id,
    Dispute.case_no,
    Dispute.registered_on,
    Dispute.source,
    Dispute.category,
    Dispute.summary,
    Dispute.node_id,
    Dispute.venue,
    Dispute.people_count,
    Dispute.amount,
    Dispute.risk_level,
    Dispute.flags,
    Dispute.channel,
    Dispute.unit_id,
    Dispute.accepted_on,
    Dispute.status,
    Dispute.closed_on,
    Dispute.outcome,
    Dispute.civil_to_criminal,
    Dispute.carry_over_reason,
    Dispute.occurred_on,
    Dispute.stabilized_on,
    Dispute.deadline,
    Dispute.registering_unit_id,
    LedgerRecord.extra,
)


def _text(value) -> str | None:
    return None if value is None else getattr(value, "value", value)


def _extra_headers(in_subtree) -> list[str]:
    """The non-standard columns that imported cases brought with them, in order of first appearance."""
    extra_headers: list[str] = []
    seen = set(EXPORT_HEADERS)
    last = 0
    while True:
        rows = db.session.execute(
            select(LedgerRecord.id, LedgerRecord.extra)
            .join(Dispute, Dispute.id == LedgerRecord.dispute_id)
            .where(in_subtree, LedgerRecord.id > last)
            .order_by(LedgerRecord.id)
            .limit(5000)
        ).all()
        if not rows:
            break
        for _, extra in rows:
            for key in extra or {}:
                if key not in seen:
                    seen.add(key)
                    extra_headers.append(key)
        last = rows[-1][0]
    db.session.commit()
    return extra_headers


def _co_units_of(ids: list[int]) -> dict[int, list[int]]:
    """The 联办单位 ids of each dispute, in id order."""
    co = defaultdict(list)
    for dispute_id, unit_id in db.session.execute(
        select(dispute_co_unit.c.dispute_id, dispute_co_unit.c.unit_id)
        .where(dispute_co_unit.c.dispute_id.in_(ids))
        .order_by(dispute_co_unit.c.unit_id)
    ):
        co[dispute_id].append(unit_id)
    return co


def _dispute_cells(r, tree: TreeIndex, units: UnitIndex, co_ids: list[int], extra_headers: list[str]) -> list:
    """One row of the sheet 纠纷, in EXPORT_HEADERS order, then the extra columns."""
    extra = r.extra or {}
    return [
        r.case_no,
        r.registered_on,
        r.source,
        r.category,
        r.summary,
        tree.full_name(r.node_id),
        _text(r.venue),
        r.people_count,
        r.amount,
        _text(r.risk_level),
        "、".join(r.flags or []),
        _text(r.channel),
        units.name.get(r.unit_id),
        r.accepted_on,
        _text(r.status),
        r.closed_on,
        _text(r.outcome),
        "是" if r.civil_to_criminal else "否",
        r.carry_over_reason,
        r.occurred_on,
        r.stabilized_on,
        r.deadline,
        units.name.get(r.registering_unit_id),
        "、".join(units.name[u] for u in co_ids),
        *[extra.get(h) for h in extra_headers],
    ]


def _parties_of(ids: list[int]):
    return db.session.execute(
        select(
            Party.dispute_id,
            Party.role,
            Party.kind,
            Party.name,
            Party.id_number,
            Party.phone,
            Party.address,
            Party.ethnicity,
            Party.occupation,
            Party.legal_rep_name,
            Party.legal_rep_title,
            Party.agent_name,
        )
        .where(Party.dispute_id.in_(ids))
        .order_by(Party.dispute_id, Party.position, Party.id)
    )


def _party_cells(p, case_no: str, full_ids: bool) -> list:
    """One row of the sheet 当事人; a person's ID number masked unless ``full_ids``."""
    number = p.id_number
    if number and not full_ids and p.kind == PartyKind.PERSON:
        number = mask_id_number(number)
    return [
        case_no,
        _text(p.role),
        _text(p.kind),
        p.name,
        number,
        p.phone,
        p.address,
        p.ethnicity,
        p.occupation,
        p.legal_rep_name,
        p.legal_rep_title,
        p.agent_name,
    ]


def export_ledger(
    path: str | Path, node: Node, *, user: User | None = None, progress: Progress | None = None
) -> dict:
    """Write the 台账 of ``node`` and everything below it: sheets 纠纷 and 当事人 as the import reads
    them. Personal ID numbers are written in full only when ``user`` may read them (``None`` is the
    CLI's administrator-level export). Reads in keyset-paged batches, each in its own short
    transaction, and writes a streaming workbook: memory does not grow with the ledger."""
    if user is not None and not can_see_node(user, node):
        raise LedgerAccessError("该节点不在您单位的辖区内，无权导出。")
    progress = progress or (lambda done, total, stage: None)
    full_ids = user is None or may_read_id_numbers(user)
    tree, units = TreeIndex(), UnitIndex()
    subtree = subtree_node_ids(node)
    in_subtree = Dispute.node_id.in_(subtree)
    total = db.session.scalar(select(func.count()).select_from(Dispute).where(in_subtree)) or 0

    extra_headers = _extra_headers(in_subtree)

    writer = LedgerWriter()
    writer.sheet(
        DISPUTE_SHEET,
        [*EXPORT_HEADERS, *extra_headers],
        widths={"案件编号": 28, "简要情况": 40, "属地": 36, "承办单位": 24, "登记单位": 24},
    )
    writer.sheet(
        PARTY_SHEET,
        [*PARTY_COLUMNS, *PARTY_EXTENSION_COLUMNS],
        widths={"案件编号": 28, "证件号码": 22, "住址": 30},
    )

    count = parties = last = 0
    progress(0, total, STAGE_EXPORT)
    while True:
        batch = db.session.execute(
            select(*_EXPORT_COLUMNS)
            .outerjoin(LedgerRecord, LedgerRecord.dispute_id == Dispute.id)
            .where(in_subtree, Dispute.id > last)
            .order_by(Dispute.id)
            .limit(BATCH)
        ).all()
        if not batch:
            break
        ids = [r.id for r in batch]
        co = _co_units_of(ids)
        case_nos = {}
        for r in batch:
            case_nos[r.id] = r.case_no
            writer.append(DISPUTE_SHEET, _dispute_cells(r, tree, units, co[r.id], extra_headers))
        for p in _parties_of(ids):
            writer.append(PARTY_SHEET, _party_cells(p, case_nos[p.dispute_id], full_ids))
            parties += 1
        count += len(batch)
        last = batch[-1].id
        db.session.commit()  # end the read transaction between batches
        progress(count, total, STAGE_EXPORT)
    writer.save(path)
    return {"disputes": count, "parties": parties, "node": node.code}
