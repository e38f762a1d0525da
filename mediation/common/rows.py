"""New rows written without the ORM's unit of work, for the hot paths (a registration).

:func:`insert_new` writes new (transient) ORM objects with one Core ``INSERT … RETURNING`` per
class and then makes them persistent in the session as if they had just been loaded: the same
rows, the same objects and relationships for the code that follows, at a fraction of the CPU a
flush costs (its topological sort, dependency processors and attribute history, bench/README.md).
"""

from __future__ import annotations

from sqlalchemy import insert, inspect
from sqlalchemy.orm import MANYTOONE, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state


def insert_new(session: Session, *objects) -> None:
    """INSERT the transient ``objects``, one statement per class (and set of columns given), in
    the order the classes first appear (parents before the children that point to them), and add them to ``session`` as
    persistent objects whose every column is loaded.

    Like a flush: a many-to-one relationship set on an object gives its foreign key (the parent
    must be inserted already: earlier in ``objects`` or before), Python-side column defaults fill
    the columns that are not set (SQLAlchemy runs them, as for any Core insert), and the primary key
    comes back from ``RETURNING``. Unlike a flush: no ``before_insert``/``after_insert`` mapper
    events and no cascades run, and a one-to-many collection is not followed, so pass the children
    too. A column with only a server default is left expired (read on first access)."""
    by_class: dict[type, list] = {}
    for obj in objects:
        by_class.setdefault(type(obj), []).append(obj)
    for cls, group in by_class.items():
        mapper = inspect(cls)
        statements: dict[frozenset, list] = {}  # one per set of columns written
        for obj in group:
            values = _column_values(mapper, obj)
            statements.setdefault(frozenset(values), []).append((obj, values))
        for rows in statements.values():
            _insert(session, mapper, rows)
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        session.add(obj)


def _insert(session: Session, mapper, rows: list[tuple]) -> None:
    """One INSERT … RETURNING of (object, column values) pairs; the values written (with the
    defaults SQLAlchemy computed) and the primary key go back into the objects."""
    stmt = insert(mapper.local_table).returning(*mapper.primary_key, sort_by_parameter_order=True)
    result = session.execute(stmt, [values for _, values in rows])
    ids = result.all()
    inserted = result.last_inserted_params()
    for (obj, _), params, pk in zip(
        rows, inserted if isinstance(inserted, list) else [inserted], ids, strict=True
    ):
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if column.primary_key or column.table is not mapper.local_table:
                continue
            if column.key in params:
                setattr(obj, prop.key, params[column.key])
            elif column.server_default is None:  # no value and no default: NULL
                setattr(obj, prop.key, None)
        for column, value in zip(mapper.primary_key, pk, strict=True):
            setattr(obj, mapper.get_property_by_column(column).key, value)


def _column_values(mapper, obj) -> dict:
    """The column values an INSERT of ``obj`` writes: its column attributes that are set, and the
    foreign keys of the many-to-one relationships that are set (they win, as in a flush)."""
    state = obj.__dict__
    values = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if (
            column.table is mapper.local_table
            and prop.key in state
            and not (column.primary_key and state[prop.key] is None)
        ):
            values[column.key] = state[prop.key]
    for rel in mapper.relationships:
        if rel.direction is not MANYTOONE or rel.viewonly or rel.key not in state:
            continue
        target = state[rel.key]
        for local, remote in rel.local_remote_pairs:
            if target is None:
                values[local.key] = None
                continue
            # instance_state(), not inspect(): the target may be a proxy (flask-login's current_user)
            value = getattr(target, instance_state(target).mapper.get_property_by_column(remote).key)
            if value is None:
                raise ValueError(f"{rel}: the related object is not inserted yet")
            values[local.key] = value
    return values
