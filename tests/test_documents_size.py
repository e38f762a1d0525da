"""What the documents weigh, counted in bytes (never timed): the signed 人民调解协议书 under 300 KB, with
two small font programs (Noto Serif CJK SC regular and bold, CID-keyed CFF of the glyphs drawn), and
the compacted fonts drawing the very same pages as WeasyPrint's own output."""

from __future__ import annotations

import gc
import io
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.pdf import fonts as weasyprint_fonts

from mediation.documents import service
from mediation.documents.pdffonts import compact_fonts, write_pdf
from mediation.documents.render import Renderer, gc_paused
from tests.documents_helpers import configure_signing, effective_agreement, make_case, pdf_text

LIMIT = 300_000  # bytes: the signed agreement (issue 17)
FONT_PROGRAM_LIMIT = 100_000  # bytes, decoded: with the glyph ids kept, each face carried ≥ 260,000
# A 生僻字 (CJK Extension B) that Noto CJK lacks: drawn with Hanazono (HanaMinA/B), a TrueType font.
RARE = "\U0002a6a5"


@pytest.fixture
def signing_dir(app, world, tmp_path):
    return configure_signing(app, tmp_path)


def font_files(pdf: bytes):
    """``(font name without the subset prefix, FontFile key, the font program)`` of each font used."""
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            key = next(k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor)
            yield str(font["/BaseFont"]).split("+", 1)[1], key, descriptor[key].get_object()


def embedded_fonts(pdf: bytes) -> dict[str, tuple[str, str, int]]:
    """``{font name without the subset prefix: (FontFile key, its Subtype, decoded length)}``."""
    return {
        name: (key, str(program.get("/Subtype", "")), len(program.get_data()))
        for name, key, program in font_files(pdf)
    }


def font_programs(pdf: bytes) -> dict[str, bytes]:
    """``{font name without the subset prefix: its font program, decoded}``."""
    return {name: program.get_data() for name, _, program in font_files(pdf)}


def test_signed_agreement_is_under_300_kb_with_two_small_font_programs(world, signing_dir):
    agreement = effective_agreement(world)
    pdf = service.signed_agreement(agreement).pdf
    assert len(pdf) < LIMIT, len(pdf)
    fonts = embedded_fonts(pdf)
    assert set(fonts) == {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold"}, fonts
    for name, (key, subtype, size) in fonts.items():
        assert (key, subtype) == ("/FontFile3", "/CIDFontType0C"), name
        assert size < FONT_PROGRAM_LIMIT, (name, size)


def test_cjk_fonts_are_subset_once_into_the_same_font_programs(monkeypatch):
    """WeasyPrint subsets every font keeping its glyph ids — two HarfBuzz passes over the 63,000 ids of a
    Noto CJK face, ≈ 35 ms each — and compact_fonts then subset that once more. The documents' writer
    subsets the CID-keyed CFF fonts once, directly to the glyphs drawn: counted, WeasyPrint's own subset
    runs only for the other fonts (Hanazono's TrueType), and the font programs embedded are byte for
    byte those of the detour — with a 生僻字 and a character no font has (WeasyPrint's .notdef)."""
    calls = []
    weasyprint_subset = weasyprint_fonts.Font._harfbuzz_subset

    def counted(font, *args):
        calls.append(font.name.split(b"+")[1].decode())
        return weasyprint_subset(font, *args)

    monkeypatch.setattr(weasyprint_fonts.Font, "_harfbuzz_subset", counted)
    # WeasyPrint's Font() also copied its face's whole font file for that subset: 26 MB per Noto face.
    copied = []
    font_data = weasyprint_fonts.get_hb_object_data

    def measured(*args, **kwargs):
        data = font_data(*args, **kwargs)
        copied.append(len(data or b""))
        return data

    monkeypatch.setattr(weasyprint_fonts, "get_hb_object_data", measured)
    serif = "font-family: 'Noto Serif CJK SC', HanaMinA, HanaMinB"
    html = (
        f'<p style="{serif}">人民调解协议书，第１条：王{RARE}\U00030000（１２３）</p>'
        f'<p style="{serif}; font-weight: 700">协议内容</p>'
    )
    ours = write_pdf(HTML(string=html))
    assert calls == ["HanaMinA-Medium"]
    ours_copied = [n for n in copied if n > 10_000_000]
    calls.clear()
    copied.clear()
    theirs = HTML(string=html).write_pdf(finisher=compact_fonts)
    assert sorted(calls) == ["HanaMinA-Medium", "Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold"]
    assert len(ours_copied) == len([n for n in copied if n > 10_000_000]) - 2  # not the two Noto files

    programs = font_programs(ours)
    assert set(programs) == {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold", "HanaMinA-Medium"}
    assert programs == font_programs(theirs)
    assert embedded_fonts(ours)["Noto-Serif-CJK-SC"][:2] == ("/FontFile3", "/CIDFontType0C")
    assert pdf_text(ours) == pdf_text(theirs) and f"王{RARE}" in pdf_text(ours)


def image_streams(pdf: bytes) -> list[bytes]:
    """The decoded data of every image the pages draw (colour planes and masks), sorted."""
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for xobject in (page["/Resources"].get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Image":
                out.append(xobject.get_data())
                if "/SMask" in xobject:
                    out.append(xobject["/SMask"].get_object().get_data())
    return sorted(out)


def test_the_images_png_data_are_encoded_once_per_process(world, signing_dir, monkeypatch):
    """Counted: WeasyPrint encoded each image of a document as PNG data again for every document (the
    seal, the drawn signatures, the QR codes: ≈ 8 ms of a 卷宗). The second rendering of the same
    agreement encodes none, and its images are byte for byte those of the first."""
    from collections import OrderedDict

    from mediation.documents import pdfimages

    encoded = []
    weasyprint_png_data = pdfimages._png_data.weasyprint_png_data

    def counted(image):
        encoded.append((image.mode, image.size))
        return weasyprint_png_data(image)

    monkeypatch.setattr(pdfimages._png_data, "weasyprint_png_data", counted)
    monkeypatch.setattr(pdfimages, "_kept", OrderedDict())  # nothing kept from earlier tests
    agreement = effective_agreement(world)

    def render() -> bytes:
        renderer = Renderer()
        return renderer.pdf(
            renderer.html("documents/agreement.html", **service.agreement_context(renderer, agreement))
        )

    first = render()
    assert len(encoded) >= 4, encoded  # seal (colour and mask), signatures, QR codes
    encoded.clear()
    second = render()
    assert encoded == []
    assert image_streams(second) == image_streams(first) and len(image_streams(first)) >= 4


def pages_as_images(pdf: bytes, tmp_path, name: str) -> list[Image.Image]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / name)], check=True)
    return [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob(f"{name}-*.png"))]


def test_compacted_fonts_draw_the_same_pages_as_weasyprint_wrote_them(world, signing_dir, tmp_path):
    parties = [
        {"role": "申请人", "kind": "自然人", "name": f"王{RARE}", "phone": "13800138000"},
        {"role": "被申请人", "kind": "自然人", "name": "李四", "phone": "022-25881234"},
    ]
    agreement = effective_agreement(world, make_case(world, parties=parties))
    renderer = Renderer()
    context = service.agreement_context(renderer, agreement)
    document = renderer.layout(renderer.html("documents/agreement.html", **context))
    theirs = document.write_pdf()  # WeasyPrint's own output: fonts subset keeping the glyph ids
    ours = renderer.write_pdf(document)

    fonts = embedded_fonts(ours)
    assert fonts["Noto-Serif-CJK-SC"][:2] == ("/FontFile3", "/CIDFontType0C")
    # The 生僻字's font (Hanazono, TrueType) is left as WeasyPrint wrote it: its empty glyphs deflate to
    # next to nothing.
    truetype = [name for name, (key, _, _) in fonts.items() if key == "/FontFile2"]
    assert truetype and all(name.startswith("HanaMin") for name in truetype), fonts
    assert embedded_fonts(theirs)["Noto-Serif-CJK-SC"][1] == "/OpenType"
    assert len(ours) < len(theirs) / 2

    assert pdf_text(ours) == pdf_text(theirs) and f"王{RARE}" in pdf_text(ours)
    before, after = pages_as_images(theirs, tmp_path, "theirs"), pages_as_images(ours, tmp_path, "ours")
    assert len(before) == len(after) >= 1
    for page, (a, b) in enumerate(zip(before, after, strict=True), 1):
        assert ImageChops.difference(a, b).getbbox() is None, f"page {page} differs"


def test_the_cyclic_gc_does_not_run_while_a_case_file_is_rendered_and_signed(world, signing_dir):
    """Counted, not timed: the collector walked WeasyPrint's live objects (boxes, styles, text
    layouts) ≈ 130 times per 卷宗, a fifth of its CPU, and freed nothing of them. Collections started
    while ``case_file_pdf`` or ``agreement_pdf`` is running are counted (the one after is not)."""
    dispute = make_case(world)
    agreement = effective_agreement(world, dispute)
    codes = {getattr(f, "__wrapped__", f).__code__ for f in (service.case_file_pdf, service.agreement_pdf)}
    during = []

    def count(phase, info):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code not in codes:
            frame = frame.f_back
        if phase == "start" and frame is not None:
            during.append(frame.f_code.co_name)

    gc.callbacks.append(count)
    try:
        service.case_file_pdf(world.mediator_a.user, dispute)
        service.agreement_pdf(Renderer(), agreement)
    finally:
        gc.callbacks.remove(count)
    assert during == []


def test_the_gc_pause_is_shared_by_nested_and_concurrent_renderings_and_ends_with_the_last():
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()

    def other_rendering():
        with gc_paused():
            inside.set()
            leave.wait(10)

    with gc_paused():
        with gc_paused():  # nested: one pause
            assert not gc.isenabled()
        assert not gc.isenabled()
        thread = threading.Thread(target=other_rendering)
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread is still rendering
    leave.set()
    thread.join(10)
    assert gc.isenabled()


def test_every_pdf_is_written_by_the_one_renderer():
    """Only `documents/render.py` lays out HTML with WeasyPrint: every other module (the documents'
    service, the report exports) goes through its Renderer, and so through the strict fetcher, the
    compact font subsets and the paused garbage collector. (The report PDFs once had their own
    fetcher and embedded retained-id font subsets.)"""
    root = Path(__file__).resolve().parent.parent / "mediation"
    writers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"\bHTML\(|from weasyprint import [^\n]*\bHTML\b", path.read_text(encoding="utf-8"))
    )
    assert writers == ["documents/render.py"], writers
