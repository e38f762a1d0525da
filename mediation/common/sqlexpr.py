"""SQL constructs that compile differently on PostgreSQL and SQLite (shared by the reports and the
registration)."""

from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class among(FunctionElement):
    """``column`` is one of the values a subquery selects, the subquery run first: on PostgreSQL
    ``column = ANY (ARRAY(subquery))``, an InitPlan whose array is an index condition on
    ``column`` whatever the statistics say (a semi-join's plan follows them: on a table that grew
    since its last ANALYZE it may read every row of the other side per candidate); elsewhere
    ``column IN (subquery)``. Untyped (not Boolean), so that SQLite's WHERE gets the ``IN`` as it
    is, without ``= 1``."""

    inherit_cache = True
    name = "among"


@compiles(among)
def _among_default(element, compiler, **kw):
    column, values = element.clauses.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(values, **kw)}"


@compiles(among, "postgresql")
def among_postgresql(element, compiler, **kw):
    column, values = element.clauses.clauses
    return f"{compiler.process(column, **kw)} = ANY (ARRAY{compiler.process(values, **kw)})"
