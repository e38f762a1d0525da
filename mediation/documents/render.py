"""Jinja → HTML → WeasyPrint, with a URL fetcher that fetches nothing it was not told to.

User text reaches the templates only through Jinja's autoescaping, so it is text, never markup.
Even so, the PDF engine gets :class:`StrictFetcher`: it serves files inside ``mediation/static``
(resolved, so ``..`` and symlinks cannot leave it) and the ``data:`` URIs that this renderer made
itself from bytes the server validated (seal, drawn signatures, QR code); it refuses every other
``file://``, ``http(s)://`` or ``data:`` URL and records every attempt.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, url_for
from markupsafe import Markup, escape
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from mediation.common.qr import qr_png  # noqa: F401  (documents draw their QR codes with it)

STATIC_ROOT = (Path(__file__).resolve().parent.parent / "static").resolve()
ALLOWED_STATIC_SUFFIXES = {".css", ".png", ".jpg", ".jpeg", ".svg", ".woff", ".woff2", ".otf", ".ttf"}
PRINT_CSS = "documents/print.css"


class FetchRefused(ValueError):
    pass


class StrictFetcher(URLFetcher):
    def __init__(self, data_uris: set[str] | None = None, static_root: Path = STATIC_ROOT):
        super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False)
        self.static_root = static_root
        self.data_uris = data_uris if data_uris is not None else set()
        self.attempts: list[str] = []
        self.served: list[str] = []
        self.refused: list[str] = []

    def _refuse(self, url: str, why: str):
        self.refused.append(url)
        raise FetchRefused(f"refused {why}: {url[:120]}")

    def fetch(self, url, headers=None):
        self.attempts.append(url)
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            if url not in self.data_uris:
                self._refuse(url, "foreign data URI")
            header, _, payload = url.partition(",")
            mime = header[5:].split(";")[0]
            self.served.append(url[:40])
            return URLFetcherResponse(url, base64.b64decode(payload), {"Content-Type": mime})
        if scheme != "file":
            self._refuse(url, "scheme")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            self._refuse(url, "host")
        path = Path(unquote(parts.path)).resolve()
        if (
            not path.is_relative_to(self.static_root)
            or path.suffix.lower() not in ALLOWED_STATIC_SUFFIXES
            or not path.is_file()
        ):
            self._refuse(url, "path")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})


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
        self.fetcher: StrictFetcher | None = None

    def data_uri(self, data: bytes, mime: str) -> str:
        uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        self.data_uris.add(uri)
        return uri

    def asset(self, name: str) -> str:
        return url_for("static", filename=name) if self.for_web else name

    def html(self, template: str, **context) -> str:
        # The app's Jinja environment (autoescaping, filters) without the web pages' context
        # processors: a document depends on its data only, not on who is looking at it.
        return current_app.jinja_env.get_template(template).render(
            data_uri=self.data_uri,
            asset=self.asset,
            paragraphs=paragraphs,
            formatted=formatted_text,
            for_web=self.for_web,
            print_css=self.asset(PRINT_CSS),
            **context,
        )

    def pdf(self, html: str, *, attachments: list | None = None, variant: str | None = None) -> bytes:
        """``variant``: a WeasyPrint PDF variant, e.g. ``pdf/a-3b`` for archival copies."""
        self.fetcher = StrictFetcher(self.data_uris)
        document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=self.fetcher)
        return document.write_pdf(attachments=attachments or None, pdf_variant=variant)

    def layout(self, html: str):
        """The laid-out document (pages), to look where things fell before writing the PDF."""
        self.fetcher = StrictFetcher(self.data_uris)
        return HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=self.fetcher).render()
