"""Redirect targets taken from a request (``next``) must stay on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_local_path(target: str | None) -> bool:
    """A path on this site: "/…", but not "//host" nor what browsers read as it — a backslash
    ("/\\host") or a control character ("/\\t/host": browsers drop tabs and newlines)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
