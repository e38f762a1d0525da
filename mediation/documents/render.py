"""Jinja → HTML → WeasyPrint, with a URL fetcher that fetches nothing it was not told to.

User text reaches the templates only through Jinja's autoescaping, so it is text, never markup.
Even so, the PDF engine gets :class:`~mediation.documents.fetcher.StrictFetcher`: it serves files inside ``mediation/static``
(resolved, so ``..`` and symlinks cannot leave it) and the ``data:`` URIs that this renderer made
itself from bytes the server validated (seal, drawn signatures, QR code); it refuses every other
``file://``, ``http(s)://`` or ``data:`` URL and records every attempt.
"""

from __future__ import annotations

import base64
import functools
import gc
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app, url_for
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from mediation.documents.fetcher import StrictFetcher

from mediation.common.qr import qr_png  # noqa: F401  (documents draw their QR codes with it)

STATIC_ROOT = (Path(__file__).resolve().parent.parent / "static").resolve()
ALLOWED_STATIC_SUFFIXES = {".css", ".png", ".jpg", ".jpeg", ".svg", ".woff", ".woff2", ".otf", ".ttf"}
PRINT_CSS = "documents/print.css"

_gc_lock = threading.Lock()
_gc_pauses = 0  # threads inside a pause
_gc_was_enabled = False
_gc_local = threading.local()  # this thread's nesting depth


@contextmanager
def gc_paused():
    """Python's cyclic garbage collector off while a document is laid out and written.

    WeasyPrint allocates some hundred thousand objects per document (boxes, styles, text layouts)
    that stay alive until the PDF is written: each automatic collection on the way walks them all
    again and frees nothing — a fifth of a 卷宗's CPU time. Reference counting still frees what it
    can; the cycles left are collected by the first automatic collection after. Nested pauses (a
    rendering inside ``case_file_pdf``) are one pause. Threads rendering at the same time share it:
    the collector comes back when the last one ends (and only if it was on before); a thread that
    ends while others still render collects at once, so that overlapping renderings cannot keep the
    collector off for good."""
    global _gc_pauses, _gc_was_enabled
    depth = getattr(_gc_local, "depth", 0)
    _gc_local.depth = depth + 1
    if depth == 0:
        with _gc_lock:
            if _gc_pauses == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_pauses += 1
    try:
        yield
    finally:
        _gc_local.depth = depth
        if depth == 0:
            with _gc_lock:
                _gc_pauses -= 1
                others, was_enabled = _gc_pauses, _gc_was_enabled
                if others == 0 and was_enabled:
                    gc.enable()
            if others and was_enabled:
                gc.collect()


def paragraphs(text: str | None) -> Markup:
    """Plain text as escaped paragraphs: one <p> per line, blank lines dropped."""
    lines = [line.strip() for line in (text or "").splitlines()]
    return Markup("".join(f"<p>{escape(line)}</p>" for line in lines if line))


_TERM = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+[、.．)）]|第[一二三四五六七八九十百\d]+条)"
)
_CELL_SPLIT = re.compile(r"\t|\s*[|｜]\s*")


def _table_cells(line: str) -> list[str] | None:
    """A typed table row: cells separated by tabs or | (｜); None for an ordinary line."""
    if "\t" not in line and "|" not in line and "｜" not in line:
        return None
    cells = [c.strip() for c in _CELL_SPLIT.split(line.strip().strip("|｜").strip())]
    return cells if len(cells) >= 2 else None


def formatted_text(text: str | None) -> Markup:
    """What a mediator typed, as safe structured HTML: every line is escaped first, then given
    structure — a paragraph per line (blank lines dropped), numbered terms (一、 （一） 1. 第一条) as
    hanging paragraphs, and runs of two or more lines with cells separated by tabs or | as a simple
    table (the first row as the heading when a separator line ``---`` follows it). User text never
    becomes markup."""
    out: list[str] = []
    rows: list[list[str]] = []

    def flush_table():
        if not rows:
            return
        if len(rows) == 1:  # a single line with a | is just a line
            out.append(f"<p>{escape(' | '.join(rows[0]))}</p>")
        else:
            width = max(len(r) for r in rows)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r + [""] * (width - len(r))) + "</tr>"
                for r in rows
            )
            out.append(f'<table class="typed">{body}</table>')
        rows.clear()

    for raw in (text or "").splitlines():
        line = raw.strip()
        if rows and re.fullmatch(r"[|｜\s:：-]*-{3,}[|｜\s:：-]*", line):
            continue  # a Markdown-style separator under a heading row
        cells = _table_cells(raw) if line else None
        if cells is not None:
            rows.append(cells)
            continue
        flush_table()
        if not line:
            continue
        css = ' class="term"' if _TERM.match(line) else ""
        out.append(f"<p{css}>{escape(line)}</p>")
    flush_table()
    return Markup("".join(out))


@functools.lru_cache(maxsize=16)
def _parsed_stylesheet(name: str, modified: int):
    from weasyprint import CSS  # heavy: WeasyPrint stays out of start-up

    from mediation.documents.fetcher import StrictFetcher  # heavy: WeasyPrint stays out of start-up

    path = (STATIC_ROOT / name).resolve()
    if not path.is_relative_to(STATIC_ROOT) or path.suffix != ".css":
        raise ValueError(f"not a stylesheet of ours: {name}")
    return CSS(string=path.read_text(encoding="utf-8"), base_url=path.as_uri(), url_fetcher=StrictFetcher())


def parsed_stylesheet(name: str):
    """One of our static stylesheets as WeasyPrint's parsed ``CSS``, parsed once per process (again when
    the file changes) and shared by every document: parsing print.css took ≈ 15 ms a document."""
    return _parsed_stylesheet(name, (STATIC_ROOT / name).stat().st_mtime_ns)


def anchor_pages(document) -> dict[str, int]:
    """The page (1-based) of every element id in a laid-out WeasyPrint document."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, 1):
        for name in page.anchors:
            pages.setdefault(name, number)
    return pages


class Renderer:
    """One rendering: HTML for a browser (``for_web``) or for the PDF engine."""

    def __init__(self, *, for_web: bool = False):
        self.for_web = for_web
        self.data_uris: set[str] = set()
        self.stylesheets: list[str] = []  # our static stylesheets the documents use (see stylesheet())
        self.fetcher: StrictFetcher | None = None

    def data_uri(self, data: bytes, mime: str) -> str:
        uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        self.data_uris.add(uri)
        return uri

    def asset(self, name: str) -> str:
        return url_for("static", filename=name) if self.for_web else name

    def stylesheet(self, name: str) -> Markup:
        """A stylesheet of ours (in ``mediation/static``): a ``<link>`` for a browser; for the PDF engine
        nothing in the HTML — :meth:`pdf` and :meth:`layout` give it the stylesheet parsed once per
        process (:func:`parsed_stylesheet`), as a user stylesheet. The documents' HTML has no other
        stylesheet (no ``<style>``; the few ``style`` attributes win over it as they did)."""
        if self.for_web:
            return Markup('<link rel="stylesheet" href="{}">').format(self.asset(name))
        if name not in self.stylesheets:
            self.stylesheets.append(name)
        return Markup("")

    def parsed_stylesheets(self) -> list:
        return [parsed_stylesheet(name) for name in self.stylesheets]

    def html(self, template: str, **context) -> str:
        # The app's Jinja environment (autoescaping, filters) without the web pages' context
        # processors: a document depends on its data only, not on who is looking at it.
        return current_app.jinja_env.get_template(template).render(
            data_uri=self.data_uri,
            asset=self.asset,
            paragraphs=paragraphs,
            formatted=formatted_text,
            for_web=self.for_web,
            stylesheet=self.stylesheet,
            print_css=PRINT_CSS,
            **context,
        )

    def pdf(self, html: str, *, attachments: list | None = None, variant: str | None = None) -> bytes:
        """``variant``: a WeasyPrint PDF variant, e.g. ``pdf/a-3b`` for archival copies."""
        from weasyprint import HTML  # heavy: WeasyPrint stays out of start-up

        from mediation.documents.fetcher import StrictFetcher  # heavy: WeasyPrint stays out of start-up
        from mediation.documents.pdffonts import write_pdf  # heavy: HarfBuzz and fontTools

        self.fetcher = StrictFetcher(self.data_uris)
        document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=self.fetcher)
        with gc_paused():
            return write_pdf(
                document,
                stylesheets=self.parsed_stylesheets(),
                attachments=attachments or None,
                pdf_variant=variant,
            )

    @staticmethod
    def write_pdf(document) -> bytes:
        """A document laid out by :meth:`layout` as PDF bytes, written like :meth:`pdf` writes."""
        from mediation.documents.pdffonts import write_pdf  # heavy: HarfBuzz and fontTools

        with gc_paused():
            return write_pdf(document)

    def layout(self, html: str):
        """The laid-out document (pages), to look where things fell before writing the PDF."""
        from weasyprint import HTML  # heavy: WeasyPrint stays out of start-up

        from mediation.documents.fetcher import StrictFetcher  # heavy: WeasyPrint stays out of start-up

        self.fetcher = StrictFetcher(self.data_uris)
        document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=self.fetcher)
        with gc_paused():
            return document.render(stylesheets=self.parsed_stylesheets())
