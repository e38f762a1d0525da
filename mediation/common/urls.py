"""URLs: absolute links to this service, and redirect targets (``next``) that stay on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

from mediation.config import DEVELOPMENT_PUBLIC_URL


def public_url(path: str = "/", config=None) -> str:
    """The absolute URL of ``path`` on this service, from the ``PUBLIC_URL`` setting — never from the
    request's Host header, which the client chooses. Every absolute link (the QR code and
    verification link of documents, links in e-mails and notifications) is built here."""
    base = ((config if config is not None else current_app.config).get("PUBLIC_URL") or "").rstrip("/")
    if not base:
        base = DEVELOPMENT_PUBLIC_URL
    return base + "/" + path.lstrip("/")


def is_local_path(target: str | None) -> bool:
    """A path on this site: "/…", but not "//host" nor what browsers read as it — a backslash
    ("/\\host") or a control character ("/\\t/host": browsers drop tabs and newlines)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def app_path(endpoint: str, **values) -> str:
    """The path of a page of the app (relative, for in-app links), inside a request or outside one
    (the scheduler's sweep, the CLI), where ``url_for`` would need SERVER_NAME."""
    if has_request_context():
        return url_for(endpoint, **values)
    anchor = values.pop("_anchor", None)
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    path = current_app.url_map.bind("localhost", script_name=root).build(endpoint, values)
    return f"{path}#{anchor}" if anchor else path
