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

WeasyPrint's retained-id subset itself costs two HarfBuzz passes over all 63,000 glyph ids per face
(≈ 35 ms each, a tenth of a 卷宗's CPU time), only for :func:`compact_fonts` to throw it away. So
while :func:`write_pdf` writes a document, such a font is subset once, directly to the glyphs drawn
(WeasyPrint's own flags and dropped tables, without ``RETAIN_GIDS``), and its CFF program is what
:func:`compact_fonts` embeds: the same bytes as before, without the detour. This is the one place
that reaches into WeasyPrint's ``Font`` (pinned to 70.0 in pyproject.toml): every other font, every
other document writer, and any font whose charset does not come out as expected, get WeasyPrint's
own subset. Such a font's ``Font()`` does not copy its whole font file either (26 MB per Noto CJK
face, which WeasyPrint's own subset reads): :func:`_font_init`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pydyf
import uharfbuzz as hb
from fontTools.cffLib import CFFFontSet
from weasyprint.pdf import fonts as weasyprint_fonts
from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset
from weasyprint.text.fonts import get_hb_object_data

from mediation.documents import pdfimages  # noqa: F401  (documents written here keep their images' PNG data)

# While write_pdf writes a document: the bare CFF program of each font subset directly, by font name.
_direct_subsets: ContextVar[dict[bytes, bytes] | None] = ContextVar("direct_cff_subsets", default=None)
# The tables WeasyPrint drops from the fonts it subsets (weasyprint/pdf/fonts.py, Font._harfbuzz_subset).
_DROPPED_TABLES = (
    b"BASE",
    b"DSIG",
    b"EBDT",
    b"EBLC",
    b"EBSC",
    b"GPOS",
    b"GSUB",
    b"JSTF",
    b"LTSH",
    b"PCLT",
    b"SVG ",
)


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


def compact_cff(font_file: bytes, cids: set[int], charset: list[int] | None = None) -> bytes | None:
    """The CFF table of ``font_file`` (an OpenType CFF font) with the glyphs ``cids`` only, each
    under its CID; None when that cannot be done faithfully (not CID-keyed CFF, CID ≠ glyph id).
    ``charset``: the CID of each glyph of ``font_file`` when they are not its glyph ids."""
    face = hb.Face(hb.Blob(font_file))
    if face.reference_table("CFF ").data == b"":
        return None
    if charset is None:
        charset = range(face.glyph_count)  # glyph ids kept: CID = glyph id
    wanted = {0} | set(cids)
    glyphs = [gid for gid, cid in enumerate(charset) if cid in wanted]
    subset_input = hb.SubsetInput()
    subset_input.glyph_set.update(glyphs)
    subset_input.flags = hb.SubsetFlags.NOTDEF_OUTLINE  # .notdef as it is: drawn for missing characters
    subset = hb.subset(face, subset_input)
    if subset is None:
        return None
    cff = bytes(subset.reference_table("CFF ").data)
    if not cff or _charset_cids(cff) != [charset[gid] for gid in glyphs]:
        return None
    return cff


def direct_cff_subset(font, to_unicode, hinting: bool) -> tuple[bytes, bytes] | None:
    """A WeasyPrint font that is a CID-keyed OpenType CFF font, subset in one HarfBuzz pass to the glyph
    ids ``to_unicode`` draws, *not* keeping the ids, with WeasyPrint's own flags and dropped tables
    (WeasyPrint's HarfBuzz, on the face Pango laid the text out with: no copy of the font file): (that
    OpenType font, the CFF program :func:`compact_cff` makes of it), whose charset gives each glyph its
    id in the whole font as CID. None for any other font or if the glyphs do not come out so."""
    if (
        not to_unicode
        or "CFF " not in font.tables
        or "fvar" in font.tables
        or font.bitmap
        or font.png
        or font.svg
        or font.colr
    ):
        return None
    kept = sorted({0} | {gid for gid in to_unicode if gid < font.glyph_count})
    subset_input = ffi.gc(
        harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy
    )
    glyphs = harfbuzz_subset.hb_subset_input_glyph_set(subset_input)
    harfbuzz.hb_set_add_sorted_array(glyphs, ffi.new(f"hb_codepoint_t[{len(kept)}]", kept), len(kept))
    flags = (
        harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE
    )
    if not hinting:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
    if font.missing:
        flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE  # .notdef drawn for the missing characters
    harfbuzz_subset.hb_subset_input_set_flags(subset_input, flags)
    dropped = harfbuzz_subset.hb_subset_input_set(subset_input, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG)
    tags = sorted(harfbuzz.hb_tag_from_string(tag, -1) for tag in _DROPPED_TABLES)
    harfbuzz.hb_set_add_sorted_array(dropped, ffi.new(f"hb_codepoint_t[{len(tags)}]", tags), len(tags))
    face = ffi.gc(harfbuzz_subset.hb_subset_or_fail(font.hb_face, subset_input), harfbuzz.hb_face_destroy)
    font_file = get_hb_object_data(face) if face else None
    if not font_file or not font_file.startswith(b"OTTO"):
        return None
    # The CFF program as compact_cff writes it (its HarfBuzz), of exactly these glyphs: Debian's HarfBuzz 6
    # adds a glyph or two to a CJK subset that no text draws.
    charset = _charset_cids(bytes(hb.Face(hb.Blob(font_file)).reference_table("CFF ").data))
    cff = compact_cff(font_file, set(kept), charset) if charset else None
    if cff is None or _charset_cids(cff) != kept:
        return None
    return font_file, cff


def _subset(font, to_unicode, hinting):
    """``Font.subset`` of WeasyPrint: directly to the glyphs drawn while :func:`write_pdf` writes (see the
    module's docstring), WeasyPrint's own otherwise."""
    direct = _direct_subsets.get()
    subset = direct_cff_subset(font, to_unicode, hinting) if direct is not None else None
    if subset is None:
        if not font.file_content:  # not copied by _font_init: WeasyPrint's way needs it
            font.file_content = get_hb_object_data(font.hb_face)
        _subset.weasyprint_subset(font, to_unicode, hinting)
        return
    font.file_content, direct[font.name] = subset


# Tables that make WeasyPrint read a font's file itself (colour and bitmap glyphs, variations).
_FILE_READING_TABLES = (b"CBDT", b"CBLC", b"EBDT", b"EBLC", b"sbix", b"SVG ", b"COLR", b"fvar")
_in_font_init: ContextVar[bool] = ContextVar("in_font_init", default=False)


def _has_table(face, tag: bytes) -> bool:
    blob = harfbuzz.hb_face_reference_table(face, harfbuzz.hb_tag_from_string(tag, -1))
    try:
        return harfbuzz.hb_blob_get_length(blob) > 0
    finally:
        harfbuzz.hb_blob_destroy(blob)


def _font_data(hb_object, ot_color=None, glyph=None):
    """``get_hb_object_data`` as WeasyPrint's ``Font`` calls it. ``Font()`` copies its face's whole file
    (a Noto CJK collection: 26 MB, ≈ 6 ms) for the subsetting; while :func:`write_pdf` writes, a CFF
    font without colour, bitmap or variations is subset from the face itself, so it is not copied
    (an empty ``file_content``; :func:`_subset` copies it after all if WeasyPrint's way is taken)."""
    if (
        _in_font_init.get()
        and ot_color is None
        and _has_table(hb_object, b"CFF ")
        and not any(_has_table(hb_object, tag) for tag in _FILE_READING_TABLES)
    ):
        return b""
    return get_hb_object_data(hb_object, ot_color, glyph)


def _font_init(font, *args, **kwargs):
    """``Font.__init__`` of WeasyPrint, without copying the font file while :func:`write_pdf` writes."""
    token = _in_font_init.set(_direct_subsets.get() is not None)
    try:
        _font_init.weasyprint_init(font, *args, **kwargs)
    finally:
        _in_font_init.reset(token)


_subset.weasyprint_subset = getattr(
    weasyprint_fonts.Font.subset, "weasyprint_subset", weasyprint_fonts.Font.subset
)
_font_init.weasyprint_init = getattr(
    weasyprint_fonts.Font.__init__, "weasyprint_init", weasyprint_fonts.Font.__init__
)
weasyprint_fonts.Font.subset = _subset
weasyprint_fonts.Font.__init__ = _font_init
weasyprint_fonts.get_hb_object_data = _font_data


@contextmanager
def _subsetting_directly() -> Iterator[None]:
    token = _direct_subsets.set({})
    try:
        yield
    finally:
        _direct_subsets.reset(token)


def write_pdf(source, **options) -> bytes:
    """A WeasyPrint ``HTML`` or laid-out ``Document`` written as PDF bytes with compact font subsets:
    the CID-keyed CFF fonts subset once to the glyphs drawn, the others compacted by
    :func:`compact_fonts` (see the module's docstring)."""
    with _subsetting_directly():
        return source.write_pdf(finisher=compact_fonts, **options)


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
    direct = _direct_subsets.get() or {}
    for number, cids in drawn.items():
        stream = pdf.objects[number]
        if stream.extra.get("Subtype") != "/OpenType":
            continue
        names = {font.get("BaseFont") for font in cid_fonts[number]}
        if len(names) == 1 and (name := names.pop()) in direct:
            cff = direct[name]  # subset directly, to these glyphs, by _subset
        else:
            cff = compact_cff(b"".join(bytes(part) for part in stream.stream), cids)
        if cff is None:
            continue
        stream.stream = [cff]
        stream.extra["Subtype"] = "/CIDFontType0C"
        for font in cid_fonts[number]:
            font.pop("CIDToGIDMap", None)  # for CIDFontType2 only
