"""SQL building blocks shared by the report figures and the overdue review: dates as day numbers,
columns and conditions SQLite must not read through an index, dates written into the SQL, the
subtree of a node, and "open on a day"."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import Boolean, Date, Integer, and_, bindparam, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from mediation.common.sqlexpr import among, among_postgresql
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Node


class day_number(FunctionElement):
    """A date as a whole number of days, so that SQL can subtract dates on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(day_number)
def _day_number_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - DATE '2000-01-01')"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw):
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) AS INTEGER)"


class unindexed(FunctionElement):
    """A column SQLite must not pick an index for (``+col``, SQLite's documented way). The figures
    read the cases not closed before a day through the closed_on indexes; a plan through the 属地
    or registration index instead would visit a whole subtree's history row by row. PostgreSQL's
    planner weighs both by their statistics, so the column is left as it is there."""

    inherit_cache = True
    name = "unindexed"


@compiles(unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return f"(+{compiler.process(element.clauses, **kw)})"


class unindexed_condition(FunctionElement):
    """A condition SQLite must not read through an index (``(cond) IS 1``, true exactly when the
    condition is): the drill-down lists select a figure's cases through the universe's closed_on
    indexes, as the aggregates do, rather than through the registration or status index, which
    would visit a whole subtree's history. Left as it is on PostgreSQL."""

    type = Boolean()
    inherit_cache = True
    name = "unindexed_condition"


@compiles(unindexed_condition)
def _unindexed_condition_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(unindexed_condition, "sqlite")
def _unindexed_condition_sqlite(element, compiler, **kw):
    return f"(({compiler.process(element.clauses, **kw)}) IS 1)"


def lit(day: date):
    """A date written into the SQL instead of sent as a parameter (see :func:`subtree_ids`): a
    generic plan of a prepared statement would guess the share of cases before or after it."""
    return literal(day, Date, literal_execute=True)


def subtree_ids(node: Node | str):
    """Ids of the node (or of the node whose ``path`` is given) and its subtree
    (``accounts.access.subtree_node_ids``, the same path prefix), with the prefix written into the
    SQL rather than sent as a parameter: PostgreSQL plans a prepared statement generically after a
    few runs (psycopg prepares automatically), and a generic plan cannot tell a whole district's
    prefix from a grid's — it guessed two nodes and walked the 属地 index for each of 489. Paths
    hold digits and slashes only, so nothing needs escaping."""
    path = node if isinstance(node, str) else node.path
    prefix = bindparam("subtree_prefix", path + "%", literal_execute=True)
    return select(Node.id).where(Node.path.like(prefix))


class subtree_member(among):
    """``column`` is one of the ids a scalar subquery selects (:func:`in_subtree`): on SQLite
    ``+column IN (subquery)``, as every report was tuned; on PostgreSQL
    ``column = ANY (ARRAY(subquery))`` (:class:`~mediation.common.sqlexpr.among`): the subquery runs
    once, before the scan (an InitPlan), and its array is an index condition, so the 属地 index
    ``(node_id, closed_on)`` reads the subtree's nodes only. As an ``IN`` (a semi-join) the subtree
    could not narrow any index scan: a 区 of a province-sized table was read by a scan of the whole
    table (bench/README.md, "A province")."""

    inherit_cache = True
    name = "subtree_member"


@compiles(subtree_member)
def _subtree_member_default(element, compiler, **kw):
    column, ids = element.clauses.clauses
    return compiler.process(among(unindexed(column), ids), **kw)


compiles(subtree_member, "postgresql")(among_postgresql)


def in_subtree(node: Node | str):
    """Disputes whose 属地 is the node (or the node with this ``path``) or below it. The subtree is
    read from the node table inside the statement (never a list kept between calls: a node added
    by the place-tree admin or an import counts at once).

    Below the top of the tree (a 区 of a 市, a 街道, a 村) the subtree is an array of ids
    (:class:`subtree_member`). A top node's subtree holds (nearly) every case: there the array buys
    nothing and costs much — PostgreSQL cannot estimate an array read by the statement (it assumes 10
    ids), so it plans a few rows, walks the index once per node (9,781 of a province) and gives up
    its parallel plans — so a top node keeps the semi-join and the closed_on indexes
    (bench/README.md, "A province")."""
    path = node if isinstance(node, str) else node.path
    if path.count("/") <= 2:  # "/<id>/": a top node
        return unindexed(Dispute.node_id).in_(subtree_ids(path))
    return subtree_member(Dispute.node_id, subtree_ids(path).scalar_subquery())


def not_closed_by(day: date):
    """Not closed on or before ``day``. Written as an OR on ``closed_on`` so that both engines
    read it from the closed_on indexes (SQLite: MULTI-INDEX OR; PostgreSQL: BitmapOr)."""
    return or_(Dispute.closed_on.is_(None), Dispute.closed_on > lit(day))


def open_on(day: date):
    return and_(unindexed(Dispute.registered_on) <= lit(day), not_closed_by(day))


def built_once(builder):
    """A report's statement built once per distinct arguments (node paths, dates, ids: hashable
    values, never ORM objects) and then reused. Building a select of thirty ``FILTER`` columns and
    computing its cache key costs more Python time than PostgreSQL or SQLite need to run it on a
    district's month (bench/README.md, "Reports"); a reused statement keeps its cache key and
    SQLAlchemy's compiled form."""
    return lru_cache(maxsize=256)(builder)


def report_rows(stmt):
    """Run a report's Core select on the session's connection: plain rows (named tuples), without
    the ORM's result processing, since reports select columns, never entities. The connection is
    asked for *this* statement, so that a read may go to the replica (``database.RoutingSession``)."""
    return db.session.connection(bind_arguments={"clause": stmt}).execute(stmt)
