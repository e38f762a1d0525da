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
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, url_for
from markupsafe import Markup, escape
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

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
        if not path.is_relative_to(self.static_root) or path.suffix.lower() not in ALLOWED_STATIC_SUFFIXES \
                or not path.is_file():
            self._refuse(url, "path")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})


def paragraphs(text: str | None) -> Markup:
    """Plain text as escaped paragraphs: one <p> per line, blank lines dropped."""
    lines = [line.strip() for line in (text or "").splitlines()]
    return Markup("".join(f"<p>{escape(line)}</p>" for line in lines if line))


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
            data_uri=self.data_uri, asset=self.asset, paragraphs=paragraphs, for_web=self.for_web,
            print_css=self.asset(PRINT_CSS), **context)

    def pdf(self, html: str, *, attachments: list | None = None, variant: str | None = None) -> bytes:
        """``variant``: a WeasyPrint PDF variant, e.g. ``pdf/a-3b`` for archival copies."""
        self.fetcher = StrictFetcher(self.data_uris)
        document = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=self.fetcher)
        return document.write_pdf(attachments=attachments or None, pdf_variant=variant)


def qr_png(text: str) -> bytes:
    import io

    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()
