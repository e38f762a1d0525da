"""One way to page every list, API and web alike.

- :class:`PageArgs` reads ``page`` / ``per_page`` (bounded, Chinese field errors); a list sizes it
  with :meth:`PageArgs.sized` (its default and largest ``per_page``) and adds its filters.
- :func:`paginate` runs a ``Select`` and returns a :class:`Page` (items, total, page, per_page,
  pages); :func:`page_window` is the only place a list's page is cut out of a query.
- :class:`PageOut` is the envelope every paged API answer has (``items``, ``total``, ``page``,
  ``per_page``, ``pages``); :meth:`Page.envelope` fills it. The web pages get the same ``Page``
  and the ``pager`` macro of ``templates/_pager.html``.

Built on SQLAlchemy directly rather than Flask-SQLAlchemy's ``db.paginate``: that one returns
only the first column of each row (the court's list pages ``(Dispute, CourtReferral)`` rows),
reads ``page`` from ``request.args`` behind the validated arguments' back, and answers 404 past
the last page where the lists show an empty page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import Select, func, select

from mediation.common.schema import Integer
from mediation.extensions import db

MAX_PAGE = 100_000
PER_PAGE, MAX_PER_PAGE = 20, 200


def _page_field() -> Integer:
    return Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error=f"页码应在1到{MAX_PAGE}之间。"),
        metadata={"description": "页码，从1开始"},
    )


def _per_page_field(default: int, maximum: int) -> Integer:
    return Integer(
        load_default=default,
        validate=validate.Range(min=1, max=maximum, error=f"每页条数应在1到{maximum}之间。"),
        metadata={"description": f"每页条数，默认{default}，最多{maximum}"},
    )


class PageArgs(Schema):
    """``page`` (1 … MAX_PAGE) and ``per_page`` (1 … the list's maximum) of a list, read from a query
    string (unknown keys ignored). A list's argument schema derives from ``PageArgs.sized(…)``."""

    class Meta:
        unknown = EXCLUDE

    page = _page_field()
    per_page = _per_page_field(PER_PAGE, MAX_PER_PAGE)

    @classmethod
    @cache
    def sized(cls, per_page: int = PER_PAGE, max_per_page: int = MAX_PER_PAGE) -> type[PageArgs]:
        """``PageArgs`` whose ``per_page`` defaults to ``per_page`` and goes up to ``max_per_page``."""
        if (per_page, max_per_page) == (PER_PAGE, MAX_PER_PAGE):
            return cls
        name = f"PageArgs{per_page}of{max_per_page}"
        return type(cls)(name, (cls,), {"per_page": _per_page_field(per_page, max_per_page)})


def web_page_args(
    query: Mapping, schema: type[Schema] = PageArgs, *, keys=("page", "per_page"), **defaults
) -> tuple[dict, dict[str, list[str]]]:
    """The arguments ``keys`` of a web list from its query string: (the values, Chinese errors by
    field). ``defaults`` replace the schema's defaults (e.g. the configured page size). A value the
    schema refuses is reported and the page shows its default instead, so the list stays usable."""
    raw = {k: str(query.get(k)).strip() for k in keys if k in query}
    raw = {k: v for k, v in raw.items() if v or k not in ("page", "per_page")}
    errors: dict[str, list[str]] = {}
    try:
        args = schema().load(raw)
    except ValidationError as err:
        errors = {k: v for k, v in err.messages.items() if k in raw}
        args = schema().load({k: v for k, v in raw.items() if k not in errors})
    for key, value in defaults.items():
        if key not in raw or key in errors:
            args[key] = value
    return args, errors


def kept_per_page(query: Mapping, errors: Mapping) -> dict:
    """The ``per_page`` a web list's page links keep: the one asked for, unless it was refused."""
    value = str(query.get("per_page") or "").strip()
    return {"per_page": value} if value and "per_page" not in errors else {}


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, how many there are in all, and where the page is."""

    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the list has (0 for an empty list)."""
        return (self.total + self.per_page - 1) // self.per_page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def map(self, convert: Callable[[list], list]) -> Page:
        """The same page with its items converted (e.g. rows to the objects a page shows)."""
        return replace(self, items=list(convert(self.items)))

    def envelope(self, **extra) -> dict:
        """The page as the API answers it (:class:`PageOut`), with the list's own extra keys."""
        return {
            "items": self.items,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            **extra,
        }


def page_window(stmt: Select, page: int, per_page: int) -> Select:
    """The rows of page ``page`` (from 1) of an ordered query: the one place a page is cut out."""
    return stmt.limit(per_page).offset((max(page, 1) - 1) * per_page)


def count_rows(stmt: Select) -> int:
    """How many rows the query yields (its order dropped)."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def paginate(
    stmt: Select, page: int, per_page: int, *, rows: bool = False, counted: Select | None = None
) -> Page:
    """Page ``page`` of an ordered query: its items (the first column of each row, or whole rows
    with ``rows=True``) and the total (of ``counted`` if given, a cheaper query of the same rows).
    A page past the end is empty."""
    total = count_rows(stmt if counted is None else counted)
    result = db.session.execute(page_window(stmt, page, per_page))
    items = result.all() if rows else result.scalars().all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def paginate_args(stmt: Select, args: Mapping, **kwargs) -> Page:
    """:func:`paginate` with ``page`` / ``per_page`` from a loaded :class:`PageArgs`."""
    return paginate(stmt, args.get("page", 1), args.get("per_page", PER_PAGE), **kwargs)


class PageOut(Schema):
    """The envelope of every paged API answer. A list's page schema derives from it and declares
    its ``items``."""

    items = fields.List(fields.Raw())
    total = fields.Integer(metadata={"description": "符合条件的总条数"})
    page = fields.Integer(metadata={"description": "页码，从1开始"})
    per_page = fields.Integer(metadata={"description": "每页条数"})
    pages = fields.Integer(metadata={"description": "总页数（没有结果时为0）"})
