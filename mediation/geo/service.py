"""Loading the administrative tree and the handling units (idempotent imports)."""

from __future__ import annotations

from pathlib import Path

from marshmallow import ValidationError
from sqlalchemy import bindparam, select

from mediation.common.enums import Channel, NodeLevel, UnitType, values
from mediation.common.tabular import TableError, read_rows
from mediation.common.validators import text_error
from mediation.extensions import db
from mediation.geo.models import Node, Unit

TREE_HEADERS = ["代码", "名称", "层级", "上级代码"]
UNIT_HEADERS = ["代码", "名称", "类型", "所属节点代码", "渠道"]
# Built once per process: a registration looks its place up (issue 17).
NODE_BY_CODE = select(Node).where(Node.code == bindparam("code"))
# The lengths of the columns (geo/models.py): a longer cell is refused, not cut.
CELL_MAX = {"代码": 32, "名称": 100, "上级代码": 32, "所属节点代码": 32, "简称": 20}


def node_by_code(code: str) -> Node:
    """The node with this code (a case's place, a routing rule's subtree); a field error when there is none."""
    node = db.session.scalar(NODE_BY_CODE, {"code": code})
    if node is None:
        raise ValidationError({"node": ["未知的属地节点代码。"]})
    return node


def cell_errors(number: int, row: dict[str, str]) -> list[str]:
    """The text rule of every input (common.validators.text_error, single-line) and the column
    lengths, for one row of a tree or units file."""
    errors = []
    for header, value in row.items():
        if err := text_error(value or ""):
            errors.append(f"第{number}行「{header}」：{err}")
        elif header in CELL_MAX and len(value or "") > CELL_MAX[header]:
            errors.append(f"第{number}行「{header}」：长度不能超过{CELL_MAX[header]}个字符。")
    return errors


class ImportErrors(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def upsert_node(code: str, name: str, level: str, parent: Node | None) -> tuple[Node, bool]:
    """Create or update one node; returns (node, changed)."""
    node = db.session.scalar(select(Node).where(Node.code == code))
    changed = False
    if node is None:
        node = Node(code=code, name=name, level=NodeLevel(level), parent=parent)
        db.session.add(node)
        db.session.flush()
        changed = True
    else:
        if node.name != name or node.level != level or node.parent_id != (parent.id if parent else None):
            node.name, node.level, node.parent = name, NodeLevel(level), parent
            changed = True
    path = (parent.path if parent else "/") + f"{node.id}/"
    if node.path != path:
        old = node.path
        node.path = path
        if old:  # moved: rewrite the paths of the whole subtree
            for child in db.session.scalars(
                select(Node).where(Node.path.startswith(old, autoescape=True), Node.id != node.id)
            ):
                child.path = path + child.path[len(old) :]
        changed = True
    return node, changed


def _require_headers(row: dict, headers) -> None:
    missing = [h for h in headers if h not in row]
    if missing:
        raise ImportErrors([f"缺少列：{'、'.join(missing)}。"])


def _tree_row_errors(number: int, row: dict, by_code: dict) -> list[str]:
    """What is wrong with one row of the tree table on its own (the parents are checked later)."""
    code, name, level = row["代码"], row["名称"], row["层级"]
    if bad := cell_errors(number, row):
        return bad
    if not code or not name:
        return [f"第{number}行：代码和名称不能为空。"]
    if level not in values(NodeLevel):
        return [f"第{number}行：未知的层级「{level}」，可选：{'、'.join(values(NodeLevel))}。"]
    if code in by_code:
        return [f"第{number}行：代码「{code}」重复。"]
    return []


def _missing_parents(by_code: dict) -> list[str]:
    """Rows whose 上级代码 is neither in the table nor in the database."""
    errors = []
    for r in by_code.values():
        parent = r["parent"]
        if (
            parent
            and parent not in by_code
            and db.session.scalar(select(Node.id).where(Node.code == parent)) is None
        ):
            errors.append(f"第{r['number']}行：上级代码「{parent}」不存在。")
    return errors


def import_tree(path: str | Path) -> dict:
    rows = list(read_rows(path))
    errors: list[str] = []
    by_code: dict[str, dict] = {}
    for number, row in rows:
        _require_headers(row, TREE_HEADERS)
        if bad := _tree_row_errors(number, row, by_code):
            errors.extend(bad)
        else:
            by_code[row["代码"]] = {
                "number": number,
                "name": row["名称"],
                "level": row["层级"],
                "parent": row["上级代码"],
            }
    errors.extend(_missing_parents(by_code))
    if errors:
        raise ImportErrors(errors)
    created = updated = 0
    done: dict[str, Node] = {}

    def ensure(code: str, trail: tuple = ()) -> Node:
        nonlocal created, updated
        if code in done:
            return done[code]
        if code not in by_code:
            return db.session.scalar(select(Node).where(Node.code == code))
        if code in trail:
            raise ImportErrors([f"第{by_code[code]['number']}行：上级关系成环。"])
        r = by_code[code]
        parent = ensure(r["parent"], trail + (code,)) if r["parent"] else None
        existed = db.session.scalar(select(Node.id).where(Node.code == code)) is not None
        node, changed = upsert_node(code, r["name"], r["level"], parent)
        if changed:
            updated += existed
            created += not existed
        done[code] = node
        return node

    for code in by_code:
        ensure(code)
    db.session.flush()
    return {"rows": len(by_code), "created": created, "updated": updated}


def _unit_row(number: int, row: dict, seen: set) -> tuple[list[str], tuple | None]:
    """One row of the units table: its errors, or the parsed unit."""
    code, name, type_, node_code, channel = (row[h] for h in UNIT_HEADERS)
    if bad := cell_errors(number, row):
        return bad, None
    node = db.session.scalar(select(Node).where(Node.code == node_code)) if node_code else None
    if not code or not name:
        return [f"第{number}行：代码和名称不能为空。"], None
    if code in seen:
        return [f"第{number}行：代码「{code}」重复。"], None
    if type_ not in values(UnitType):
        return [f"第{number}行：未知的类型「{type_}」，可选：{'、'.join(values(UnitType))}。"], None
    if node is None:
        return [f"第{number}行：所属节点代码「{node_code}」不存在。"], None
    if channel and channel not in values(Channel):
        return [f"第{number}行：未知的渠道「{channel}」，可选：{'、'.join(values(Channel))}。"], None
    parsed = (
        code,
        name,
        UnitType(type_),
        node,
        Channel(channel) if channel else None,
        row.get("简称") or None,
    )
    return [], parsed


def _save_unit(code, name, type_, node, channel, short) -> str | None:
    """Create or update one unit: "created", "updated", or None when it is unchanged."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        db.session.add(Unit(code=code, name=name, type=type_, node=node, channel=channel, short_name=short))
        return "created"
    if (unit.name, unit.type, unit.node_id, unit.channel, unit.short_name) != (
        name,
        type_,
        node.id,
        channel,
        short,
    ):
        unit.name, unit.type, unit.node, unit.channel, unit.short_name = name, type_, node, channel, short
        return "updated"
    return None


def import_units(path: str | Path) -> dict:
    errors: list[str] = []
    parsed = []
    seen = set()
    for number, row in read_rows(path):
        _require_headers(row, UNIT_HEADERS)
        bad, unit = _unit_row(number, row, seen)
        errors.extend(bad)
        if unit is not None:
            seen.add(unit[0])
            parsed.append(unit)
    if errors:
        raise ImportErrors(errors)
    outcomes = [_save_unit(*unit) for unit in parsed]
    db.session.flush()
    return {"rows": len(parsed), "created": outcomes.count("created"), "updated": outcomes.count("updated")}


__all__ = ["ImportErrors", "TableError", "import_tree", "import_units", "upsert_node"]


def preorder(nodes) -> list[tuple[Node, int]]:
    """The given nodes as a tree in pre-order, (node, depth); nodes whose parent is not among
    them are roots. Children in code order."""
    ids = {n.id for n in nodes}
    children: dict[int | None, list[Node]] = {}
    for n in nodes:
        children.setdefault(n.parent_id if n.parent_id in ids else None, []).append(n)
    out: list[tuple[Node, int]] = []

    def walk(parent_id, depth):
        for n in sorted(children.get(parent_id, []), key=lambda n: n.code):
            out.append((n, depth))
            walk(n.id, depth + 1)

    walk(None, 0)
    return out
