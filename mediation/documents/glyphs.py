"""Every character of a document has a glyph in the fonts its print CSS names, or it is not issued.

A character that no named font has would be drawn by some fallback font, or as an empty box (豆腐块),
in a document that cannot be corrected once signed. :func:`missing_glyphs` reads the cmaps of the
named fonts (found through fontconfig, ``fc-match``) with fontTools, once per process.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import unicodedata

# The families mediation/static/documents/print.css names for the text (body, tables, names); a
# family that is not installed is skipped (fontconfig would substitute another one).
DOCUMENT_FONTS = ("Noto Serif CJK SC", "HanaMinA", "HanaMinB")

log = logging.getLogger(__name__)


def _font_file(family: str) -> tuple[str, int] | None:
    """The file (and index in a collection) fontconfig uses for ``family``, if it is that family."""
    if shutil.which("fc-match") is None:
        return None
    out = subprocess.run(
        ["fc-match", "-f", "%{family}\t%{file}\t%{index}", family], capture_output=True, text=True, timeout=10
    ).stdout
    try:
        families, path, index = out.split("\t")
    except ValueError:
        return None
    if family.lower() not in [f.strip().lower() for f in families.split(",")]:
        return None  # a substitute, not the named font
    return path, int(index or 0)


@functools.lru_cache(maxsize=1)
def covered_code_points() -> frozenset[int]:
    """The code points that at least one of :data:`DOCUMENT_FONTS` maps to a glyph (cached)."""
    from fontTools.ttLib import TTCollection, TTFont  # heavy: fontTools stays out of start-up

    points: set[int] = set()
    for family in DOCUMENT_FONTS:
        found = _font_file(family)
        if found is None:
            log.info("document font %s is not installed", family)
            continue
        path, index = found
        if path.lower().endswith((".ttc", ".otc")):
            with TTCollection(path, lazy=True) as collection:
                font = collection.fonts[index]
                points.update(font.getBestCmap() or {})
        else:
            with TTFont(path, lazy=True, fontNumber=index) as font:
                points.update(font.getBestCmap() or {})
    if not points:
        log.warning("none of the document fonts %s is installed: characters are not checked", DOCUMENT_FONTS)
    return frozenset(points)


def _needs_glyph(char: str) -> bool:
    # Line breaks and other control characters are layout, not glyphs; so are the zero-width format
    # characters the engine handles itself (ZWJ, variation selectors…).
    return unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp") and not 0xFE00 <= ord(char) <= 0xFE0F


def missing_glyphs(fields: dict[str, str]) -> list[tuple[str, str]]:
    """``(field, character)`` for each character (once per field) that no document font has."""
    covered = covered_code_points()
    if not covered:
        return []  # no named font installed: nothing to check against (the renderer will fall back)
    out = []
    for name, text in fields.items():
        seen = set()
        for char in text or "":
            if char in seen or not _needs_glyph(char) or ord(char) in covered:
                continue
            seen.add(char)
            out.append((name, char))
    return out


def describe(char: str) -> str:
    """「」 (U+E000) as the message shows it."""
    return f"「{char}」（U+{ord(char):04X}）"
