"""In-memory indexes of the administrative tree and the units, loaded once per import or export
(a few thousand rows), so that a 100,000-row ledger resolves its 属地 paths and unit names without
a query per row."""

from __future__ import annotations

import re
from collections import defaultdict

from sqlalchemy import select

from mediation.common.enums import UnitType
from mediation.extensions import db
from mediation.geo.models import Node, Unit

_PATH_SEPARATORS = re.compile(r"\s*[/／]\s*")


class TreeIndex:
    def __init__(self):
        self.name: dict[int, str] = {}
        self.parent: dict[int, int | None] = {}
        self.path: dict[int, str] = {}
        self.code: dict[int, str] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for id_, name, parent_id, path, code in db.session.execute(
            select(Node.id, Node.name, Node.parent_id, Node.path, Node.code).order_by(Node.path)
        ):
            self.name[id_], self.parent[id_], self.path[id_], self.code[id_] = name, parent_id, path, code
            self.by_name[name].append(id_)
        self._names: dict[int, tuple[str, ...]] = {}
        self._resolved: dict[str, tuple[int | None, str | None]] = {}

    def names(self, node_id: int) -> tuple[str, ...]:
        """Names from the root down to the node."""
        if node_id not in self._names:
            parent = self.parent[node_id]
            self._names[node_id] = (self.names(parent) if parent else ()) + (self.name[node_id],)
        return self._names[node_id]

    def full_name(self, node_id: int) -> str:
        return "/".join(self.names(node_id))

    def chain(self, node_id: int | None):
        """The node, then its parent, up to the root."""
        while node_id is not None:
            yield node_id
            node_id = self.parent[node_id]

    def resolve(self, text: str) -> tuple[int | None, str | None]:
        """A ``/``-separated name path → (node id, None), or (None, the reason in Chinese).

        The path may start anywhere: its names must be the last names of exactly one node's
        path from the root (``双港镇/双港村/第1网格`` or ``海滨区/双港镇/双港村/第1网格``)."""
        if text not in self._resolved:
            self._resolved[text] = self._resolve(text)
        return self._resolved[text]

    def _resolve(self, text: str) -> tuple[int | None, str | None]:
        parts = tuple(p for p in _PATH_SEPARATORS.split(text.strip()) if p)
        if not parts:
            return None, "属地为空。"
        named = self.by_name.get(parts[-1], [])
        matches = [n for n in named if self.names(n)[-len(parts) :] == parts]
        if len(matches) == 1:
            return matches[0], None
        if not matches:
            if named:
                examples = "；".join(self.full_name(n) for n in named[:3])
                return None, (
                    f"行政区划中没有「{text}」：名为「{parts[-1]}」的节点的上级与所填不符"
                    f"（现有：{examples}）。"
                )
            return None, f"行政区划中没有「{text}」。请填写以“/”分隔的节点名称，如「双港镇/双港村/第1网格」。"
        examples = "；".join(self.full_name(n) for n in matches[:3])
        return None, f"「{text}」对应{len(matches)}个节点（{examples}），请写出更多上级名称以区分。"


class UnitIndex:
    def __init__(self):
        self.name: dict[int, str] = {}
        self.code: dict[int, str] = {}
        self.node: dict[int, int] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_code: dict[str, int] = {}
        self.centers: dict[int, list[int]] = defaultdict(list)
        self.at_node: dict[int, list[int]] = defaultdict(list)
        for id_, name, code, node_id, type_ in db.session.execute(
            select(Unit.id, Unit.name, Unit.code, Unit.node_id, Unit.type).order_by(Unit.code)
        ):
            self.name[id_], self.code[id_], self.node[id_] = name, code, node_id
            self.by_name[name].append(id_)
            self.by_code[code] = id_
            self.at_node[node_id].append(id_)
            if type_ == UnitType.CENTER:
                self.centers[node_id].append(id_)
        self._registering: dict[int, int | None] = {}

    def resolve(self, name: str) -> tuple[int | None, str | None]:
        """A unit by its name (or, failing that, by its code)."""
        found = self.by_name.get(name, [])
        if len(found) == 1:
            return found[0], None
        if len(found) > 1:
            codes = "、".join(self.code[u] for u in found[:5])
            return None, f"名为「{name}」的单位有{len(found)}个（代码：{codes}），无法区分。"
        if name in self.by_code:
            return self.by_code[name], None
        return None, f"没有名为「{name}」的单位。"

    def registering_for(self, tree: TreeIndex, node_id: int) -> int | None:
        """The unit that registers an imported case when no user imports it: the 综治中心 of the
        属地 or of the nearest node above it; failing that, the nearest unit on the way up."""
        if node_id not in self._registering:
            chosen = next((self.centers[n][0] for n in tree.chain(node_id) if self.centers.get(n)), None)
            if chosen is None:
                chosen = next((self.at_node[n][0] for n in tree.chain(node_id) if self.at_node.get(n)), None)
            self._registering[node_id] = chosen
        return self._registering[node_id]
