"""Hostile images: decompression bombs, absurd dimensions, truncated or garbage files, huge data URLs
and other formats are refused with a Chinese message (422 on the API, a form error on the web),
before any pixel is decoded — never a 500."""

from __future__ import annotations

import base64
import io
import re
import struct
import time
import zlib

import pytest
from PIL import Image

from mediation.common import images
from mediation.documents import service
from mediation.extensions import db
from tests.documents_helpers import data_url, make_case, seal_jpeg, signature_png


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header that claims ``width`` × ``height`` pixels (a few dozen bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 16×16 JPEG whose SOF header is patched to claim ``width`` × ``height``."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 0, 0)).save(buf, "JPEG")
    raw = bytearray(buf.getvalue())
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(raw)


def gif_claiming(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("P", (16, 16)).save(buf, "GIF")
    raw = bytearray(buf.getvalue())
    raw[6:10] = struct.pack("<HH", width, height)
    return bytes(raw)


def other_format(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (255, 0, 0)).save(buf, fmt)
    return buf.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><circle r="90"/></svg>'
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _refused_signature(value: str) -> str:
    with pytest.raises(service.DocumentError) as err:
        service.validate_signature_png(value)
    assert err.value.status == 422 and CHINESE.search(err.value.message)
    return err.value.message


def _refused_seal(raw: bytes) -> str:
    with pytest.raises(service.DocumentError) as err:
        service.validate_seal_image(raw)
    assert err.value.status == 422 and CHINESE.search(err.value.message)
    return err.value.message


def test_decompression_bombs_are_refused_from_the_header(app):
    bomb = png_claiming(50000, 50000)
    assert len(bomb) < 200
    assert "尺寸过大" in _refused_signature(data_url(bomb))
    assert "尺寸过大" in _refused_seal(bomb)
    assert "尺寸过大" in _refused_seal(jpeg_claiming(60000, 60000))
    # between Pillow's warning and its error threshold: the warning is an error here
    assert "尺寸过大" in _refused_seal(png_claiming(5000, 4000))
    # within Pillow's limits but beyond what a seal or a signature may be
    assert "尺寸过大" in _refused_seal(png_claiming(3001, 100))
    assert "尺寸过大" in _refused_signature(data_url(png_claiming(4001, 100)))
    assert "尺寸过小" in _refused_seal(png_claiming(10, 10))
    assert Image.MAX_IMAGE_PIXELS <= images.MAX_PIXELS


def test_truncated_and_garbage_files_are_refused(app):
    good = seal_jpeg()
    png = signature_png()
    for raw in (
        good[: len(good) // 2],
        good[:40],
        png[: len(png) // 2],
        b"\x89PNG\r\n\x1a\n" + b"\0" * 50,
        b"\xff\xd8\xff" + b"garbage" * 100,
        bytes(range(256)) * 10,
    ):
        assert "无法识别" in _refused_seal(raw)
    assert "无法识别" in _refused_signature(data_url(png[: len(png) // 2]))
    assert "编码无效" in _refused_signature("data:image/png;base64,AAAAA")
    # a PNG with a broken CRC in its pixel data
    broken = bytearray(png)
    broken[png.index(b"IDAT") + 10] ^= 0xFF
    assert "无法识别" in _refused_seal(bytes(broken))


def test_huge_data_urls_are_refused_before_parsing(app):
    huge = "data:image/png;base64," + "A" * (40 * 1024 * 1024)
    started = time.perf_counter()
    assert "过大" in _refused_signature(huge)
    assert time.perf_counter() - started < 1.0
    assert "过大" in _refused_seal(b"\x89PNG" + b"\0" * (service.MAX_SEAL_BYTES + 1))


def test_other_formats_are_refused(app):
    assert "PNG" in _refused_signature("data:image/svg+xml;base64," + base64.b64encode(SVG).decode())
    assert "PNG" in _refused_signature(data_url(SVG))  # SVG bytes claiming to be PNG
    assert "PNG" in _refused_signature(data_url(seal_jpeg(), "image/jpeg"))  # signatures are PNG only
    assert "PNG" in _refused_signature(data_url(seal_jpeg()))  # JPEG bytes claiming to be PNG
    for raw in (
        SVG,
        other_format("GIF"),
        other_format("BMP"),
        other_format("TIFF"),
        other_format("WEBP"),
        gif_claiming(60000, 60000),
        b"%PDF-1.7\n",
    ):
        assert "PNG 或 JPEG" in _refused_seal(raw)


def test_good_images_still_pass_and_are_reencoded(app):
    png = service.validate_signature_png(data_url(signature_png()))
    assert png.startswith(b"\x89PNG")
    seal, width, height = service.validate_seal_image(seal_jpeg())
    assert seal.startswith(b"\x89PNG") and (width, height) == (300, 300)


def test_the_api_answers_422_and_the_seal_page_a_form_error(world, client, web):
    from mediation.documents.models import UnitSeal

    dispute = make_case(world)
    h = world.mediator_a.headers
    r = client.post(
        f"/api/v1/disputes/{dispute.id}/agreements",
        headers=h,
        json={"facts": "事实", "terms": "一、赔偿。", "performance_method": "现金。"},
    )
    aid = r.json["id"]
    assert client.post(f"/api/v1/agreements/{aid}/submit", headers=h).status_code == 200
    for image in (
        data_url(png_claiming(50000, 50000)),
        data_url(b"garbage"),
        "data:image/png;base64," + "A" * (1024 * 1024),
        "data:image/svg+xml;base64," + base64.b64encode(SVG).decode(),
    ):
        r = client.post(
            f"/api/v1/agreements/{aid}/signatures",
            headers=h,
            json={"signer": "当事人", "party_index": 0, "image": image},
        )
        assert r.status_code == 422, r.data[:200]
        assert CHINESE.search(r.json["message"])

    web.login("admin")
    c = web.client
    token = web.csrf("/admin/seals")
    for raw, expected in (
        (png_claiming(50000, 50000), "尺寸过大"),
        (jpeg_claiming(60000, 60000), "尺寸过大"),
        (seal_jpeg()[:300], "无法识别"),
        (SVG, "PNG 或 JPEG"),
    ):
        r = c.post(
            "/admin/seals",
            data={
                "csrf_token": token,
                "unit": world.committee_a.code,
                "image": (io.BytesIO(raw), "seal.png"),
            },
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        assert r.status_code == 200 and expected in r.get_data(as_text=True)
    assert db.session.query(UnitSeal).count() == 0
