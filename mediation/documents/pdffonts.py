"""Small CJK font subsets in the PDFs WeasyPrint writes: a ``finisher`` for ``write_pdf``.

WeasyPrint writes text as glyph ids (``Identity-H``, CID = glyph id) and subsets each font with
HarfBuzz *keeping the glyph ids* (``RETAIN_GIDS``, hard-coded in ``weasyprint/pdf/fonts.py``): every
unused glyph below the highest one used stays as an empty entry. Noto Serif CJK SC keeps its
simplified-Chinese punctuation (，：（）) and digits near glyph 63,000, so each face embedded carried
≈ 63,000 entries whatever the text: a 260 KB CFF table whose charstring offsets (3 bytes each,
counting up one by one) deflate badly — 145–180 KB per face in the PDF.

A CID-keyed CFF font (Noto and Source Han CJK are) does not need the ids kept: embedded as a bare
CFF font program (``FontFile3`` of subtype ``CIDFontType0C``, PDF 1.3), it maps each CID to its
glyph through its own charset. So :func:`compact_fonts` subsets each such embedded font once more,
without retained ids, to the glyphs the pages draw (the CIDs of the CIDFont's ``W`` array) and embeds
the CFF table alone. HarfBuzz keeps each glyph's CID in the charset; the new charset is checked to
give every glyph drawn the CID the text uses (in Noto CJK, CID = glyph id), otherwise the font stays
as WeasyPrint wrote it. TrueType fonts (``FontFile2``, e.g. HanaMin for 生僻字) are left alone: their
empty glyphs cost next to nothing once deflated.
"""

from __future__ import annotations

import io

import pydyf
import uharfbuzz as hb
from fontTools.cffLib import CFFFontSet


def _number(reference) -> int:
    """``b"12 0 R"`` → 12."""
    return int(bytes(reference).split()[0])


def _cids(widths) -> set[int]:
    """The CIDs of a ``W`` array as WeasyPrint writes it: ``[first [w w …] first [w …] …]``."""
    items = list(widths or [])
    cids: set[int] = set()
    for first, run in zip(items[::2], items[1::2], strict=True):
        cids.update(range(int(first), int(first) + len(run)))
    return cids


def _charset_cids(cff: bytes) -> list[int] | None:
    """The CID of every glyph of a CID-keyed CFF font, in glyph order (None: not CID-keyed)."""
    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(cff), None)
    top = fonts.topDictIndex[0]
    if not hasattr(top, "ROS"):
        return None
    return [0 if name == ".notdef" else int(name[3:]) for name in top.charset]


def compact_cff(font_file: bytes, cids: set[int]) -> bytes | None:
    """The CFF table of ``font_file`` (an OpenType CFF font) with the glyphs ``cids`` only, each
    under its CID; None when that cannot be done faithfully (not CID-keyed CFF, CID ≠ glyph id)."""
    face = hb.Face(hb.Blob(font_file))
    if face.reference_table("CFF ").data == b"":
        return None
    kept = sorted({0} | {cid for cid in cids if cid < face.glyph_count})
    subset_input = hb.SubsetInput()
    subset_input.glyph_set.update(kept)
    subset_input.flags = hb.SubsetFlags.NOTDEF_OUTLINE  # .notdef as it is: drawn for missing characters
    subset = hb.subset(face, subset_input)
    if subset is None:
        return None
    cff = bytes(subset.reference_table("CFF ").data)
    if not cff or _charset_cids(cff) != kept:
        return None
    return cff


def compact_fonts(document, pdf: pydyf.PDF) -> None:
    """WeasyPrint finisher: replace each embedded CID-keyed OpenType CFF subset by a bare CFF font
    program of the glyphs drawn (see the module's docstring)."""
    drawn: dict[int, set[int]] = {}  # font file object number → CIDs drawn with it
    cid_fonts: dict[int, list[pydyf.Dictionary]] = {}
    for obj in pdf.objects:
        if not (
            isinstance(obj, pydyf.Dictionary)
            and obj.get("Type") == "/Font"
            and obj.get("Subtype") == "/CIDFontType0"
        ):
            continue
        font_file = pdf.objects[_number(obj["FontDescriptor"])].get("FontFile3")
        if font_file is None:
            continue
        drawn.setdefault(_number(font_file), set()).update(_cids(obj.get("W")))
        cid_fonts.setdefault(_number(font_file), []).append(obj)
    for number, cids in drawn.items():
        stream = pdf.objects[number]
        if stream.extra.get("Subtype") != "/OpenType":
            continue
        cff = compact_cff(b"".join(bytes(part) for part in stream.stream), cids)
        if cff is None:
            continue
        stream.stream = [cff]
        stream.extra["Subtype"] = "/CIDFontType0C"
        for font in cid_fonts[number]:
            font.pop("CIDToGIDMap", None)  # for CIDFontType2 only
