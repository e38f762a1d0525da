"""The URL fetcher of the PDF engine: it fetches nothing it was not told to — the data URIs the
rendering made itself and the allowed static files; user text never becomes a URL that is fetched.
Kept apart from :mod:`mediation.documents.render` because it needs WeasyPrint, which stays out of
start-up (the web preview of a document renders HTML only)."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from mediation.documents.render import ALLOWED_STATIC_SUFFIXES, STATIC_ROOT


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
