"""The administrative tree (行政区划) and the handling units attached to it."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.common.enums import Channel, NodeLevel, UnitType, enum_type
from mediation.extensions import db

TOWN_SUFFIXES = ("街道", "镇", "乡", "社区", "村", "区", "县", "市")


class Node(db.Model):
    """A place in the tree. ``path`` is the materialised path of ids (``/1/5/23/``): a subtree is
    one indexed prefix match, whatever the depth."""

    __tablename__ = "node"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[NodeLevel] = mapped_column(enum_type(NodeLevel, 8))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("node.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True, default="")

    parent: Mapped[Node | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Node]] = relationship(back_populates="parent", order_by="Node.code")

    def __repr__(self) -> str:
        return f"<Node {self.code} {self.name}>"

    @property
    def is_grid(self) -> bool:
        return self.level == NodeLevel.GRID

    def ancestor_ids(self) -> list[int]:
        """The ids of :meth:`ancestors`, read from the path (no query): root first, this node last."""
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def ancestors(self) -> list[Node]:
        """Root first, this node last."""
        ids = self.ancestor_ids()
        nodes = {n.id: n for n in db.session.scalars(select(Node).where(Node.id.in_(ids)))}
        return [nodes[i] for i in ids if i in nodes]

    def full_name(self, sep: str = "/") -> str:
        return sep.join(n.name for n in self.ancestors())

    def contains(self, other: Node) -> bool:
        return other.path.startswith(self.path)

    @property
    def short_name(self) -> str:
        name = self.name
        for suffix in TOWN_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)]
        return name


class Unit(db.Model):
    """A handling unit (处置单位) or a 综治中心, attached to a node of the tree."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[UnitType] = mapped_column(enum_type(UnitType, 16))
    channel: Mapped[Channel | None] = mapped_column(enum_type(Channel, 8))
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"), index=True)

    node: Mapped[Node] = relationship()

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"

    @property
    def abbreviation(self) -> str:
        """The unit's 字号 in its document numbers (案号, 协议书编号): see :func:`number_mark`."""
        return number_mark(self.short_name, self.node.short_name)


# The numbering patterns add 调 themselves (…调字第…号, …调协字第…号): a 简称 that ends in it
# ("双港镇人调", "海滨医调") would print 调 twice.
_MARK_TRAILERS = ("人调", "调")


def number_mark(short_name: str | None, node_short_name: str) -> str:
    """The one rule for a unit's 字号: its 简称, else its node's short name, without a trailing
    人调/调 (双港镇人调 → 双港镇, 海滨医调 → 海滨医, 海滨 → 海滨)."""
    mark = (short_name or "").strip() or node_short_name
    for trailer in _MARK_TRAILERS:
        if mark.endswith(trailer) and len(mark) > len(trailer):
            return mark[: -len(trailer)]
    return mark
