"""Loading the administrative tree and the handling units (idempotent imports)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mediation.common.enums import Channel, NodeLevel, UnitType, values
from mediation.common.tabular import TableError, read_rows
from mediation.common.validators import text_error
from mediation.extensions import db
from mediation.geo.models import Node, Unit

TREE_HEADERS = ["代码", "名称", "层级", "上级代码"]
UNIT_HEADERS = ["代码", "名称", "类型", "所属节点代码", "渠道"]
# The lengths of the columns (geo/models.py): a longer cell is refused, not cut.
CELL_MAX = {"代码": 32, "名称": 100, "上级代码": 32, "所属节点代码": 32, "简称": 20}


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


def import_tree(path: str | Path) -> dict:  # noqa: C901
    rows = list(read_rows(path))
    errors: list[str] = []
    by_code: dict[str, dict] = {}
    for number, row in rows:
        missing = [h for h in TREE_HEADERS if h not in row]
        if missing:
            raise ImportErrors([f"缺少列：{'、'.join(missing)}。"])
        code, name, level = row["代码"], row["名称"], row["层级"]
        if bad := cell_errors(number, row):
            errors.extend(bad)
        elif not code or not name:
            errors.append(f"第{number}行：代码和名称不能为空。")
        elif level not in values(NodeLevel):
            errors.append(f"第{number}行：未知的层级「{level}」，可选：{'、'.join(values(NodeLevel))}。")
        elif code in by_code:
            errors.append(f"第{number}行：代码「{code}」重复。")
        else:
            by_code[code] = {"number": number, "name": name, "level": level, "parent": row["上级代码"]}
    for r in by_code.values():
        parent = r["parent"]
        if (
            parent
            and parent not in by_code
            and db.session.scalar(select(Node.id).where(Node.code == parent)) is None
        ):
            errors.append(f"第{r['number']}行：上级代码「{parent}」不存在。")
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


def import_units(path: str | Path) -> dict:  # noqa: C901
    errors: list[str] = []
    parsed = []
    seen = set()
    for number, row in read_rows(path):
        missing = [h for h in UNIT_HEADERS if h not in row]
        if missing:
            raise ImportErrors([f"缺少列：{'、'.join(missing)}。"])
        code, name, type_, node_code, channel = (row[h] for h in UNIT_HEADERS)
        bad = cell_errors(number, row)
        node = (
            db.session.scalar(select(Node).where(Node.code == node_code)) if node_code and not bad else None
        )
        if bad:
            errors.extend(bad)
        elif not code or not name:
            errors.append(f"第{number}行：代码和名称不能为空。")
        elif code in seen:
            errors.append(f"第{number}行：代码「{code}」重复。")
        elif type_ not in values(UnitType):
            errors.append(f"第{number}行：未知的类型「{type_}」，可选：{'、'.join(values(UnitType))}。")
        elif node is None:
            errors.append(f"第{number}行：所属节点代码「{node_code}」不存在。")
        elif channel and channel not in values(Channel):
            errors.append(f"第{number}行：未知的渠道「{channel}」，可选：{'、'.join(values(Channel))}。")
        else:
            seen.add(code)
            parsed.append(
                (
                    code,
                    name,
                    UnitType(type_),
                    node,
                    Channel(channel) if channel else None,
                    row.get("简称") or None,
                )
            )
    if errors:
        raise ImportErrors(errors)
    created = updated = 0
    for code, name, type_, node, channel, short in parsed:
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            db.session.add(
                Unit(code=code, name=name, type=type_, node=node, channel=channel, short_name=short)
            )
            created += 1
        elif (unit.name, unit.type, unit.node_id, unit.channel, unit.short_name) != (
            name,
            type_,
            node.id,
            channel,
            short,
        ):
            unit.name, unit.type, unit.node, unit.channel, unit.short_name = name, type_, node, channel, short
            updated += 1
    db.session.flush()
    return {"rows": len(parsed), "created": created, "updated": updated}


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
