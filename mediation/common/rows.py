"""New rows written without the ORM's unit of work, for the hot paths (a registration).

:func:`insert_new` writes new (transient) ORM objects with one Core ``INSERT … RETURNING`` per
class and then makes them persistent in the session as if they had just been loaded: the same
rows, the same objects and relationships for the code that follows, at a fraction of the CPU a
flush costs (its topological sort, dependency processors and attribute history, bench/README.md).
"""

from __future__ import annotations

from functools import cache

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
    result = session.execute(_insert_statement(mapper), [values for _, values in rows])
    ids = result.all()
    inserted = result.last_inserted_params()
    for (obj, _), params, pk in zip(
        rows, inserted if isinstance(inserted, list) else [inserted], ids, strict=True
    ):
        # Into the object's dict, not through its attributes: the object is transient, and
        # make_transient_to_detached commits what the dict holds (no change history to keep).
        state = instance_state(obj).dict
        for key, column_key, primary_key, server_default in _own_columns(mapper):
            if primary_key:
                continue
            if column_key in params:
                state[key] = params[column_key]
            elif not server_default:  # no value and no default: NULL
                state[key] = None
        for column, value in zip(mapper.primary_key, pk, strict=True):
            state[mapper.get_property_by_column(column).key] = value


@cache
def _insert_statement(mapper):
    """The mapper's ``INSERT … RETURNING`` primary key, built once per process."""
    return insert(mapper.local_table).returning(*mapper.primary_key, sort_by_parameter_order=True)


@cache
def _own_columns(mapper) -> tuple:
    """(attribute, column key, is the primary key, has a server default) of the columns of the
    mapper's own table."""
    return tuple(
        (
            prop.key,
            prop.columns[0].key,
            prop.columns[0].primary_key,
            prop.columns[0].server_default is not None,
        )
        for prop in mapper.column_attrs
        if prop.columns[0].table is mapper.local_table
    )


@cache
def _many_to_one(mapper) -> tuple:
    """The writable many-to-one relationships of the mapper: (attribute, [(local key, remote column)])."""
    return tuple(
        (rel.key, tuple((local.key, remote) for local, remote in rel.local_remote_pairs))
        for rel in mapper.relationships
        if rel.direction is MANYTOONE and not rel.viewonly
    )


def _column_values(mapper, obj) -> dict:
    """The column values an INSERT of ``obj`` writes: its column attributes that are set, and the
    foreign keys of the many-to-one relationships that are set (they win, as in a flush)."""
    state = obj.__dict__
    values = {}
    for key, column_key, primary_key, _ in _own_columns(mapper):
        if key in state and not (primary_key and state[key] is None):
            values[column_key] = state[key]
    for key, pairs in _many_to_one(mapper):
        if key not in state:
            continue
        target = state[key]
        for local_key, remote in pairs:
            if target is None:
                values[local_key] = None
                continue
            # instance_state(), not inspect(): the target may be a proxy (flask-login's current_user)
            value = getattr(target, instance_state(target).mapper.get_property_by_column(remote).key)
            if value is None:
                raise ValueError(f"{mapper.class_.__name__}.{key}: the related object is not inserted yet")
            values[local_key] = value
    return values
