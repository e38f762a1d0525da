"""The PNG data of the documents' images, encoded once per process.

WeasyPrint writes every raster image of a document as PNG data (``RasterImage._get_png_data``:
Pillow's PNG encoder, zlib at its default level), and does it again for every document: the seal, the
drawn signatures and the QR codes are mostly the same images from one document to the next (≈ 8 ms of
a 卷宗). The data depend only on the pixels, so they are kept by the image's mode, size and a BLAKE2
digest of its pixels (the 64 last ones): the same bytes, without the encoder. Palette images are left
to WeasyPrint (their bit depth depends on the palette too). This reaches into WeasyPrint's
``RasterImage`` (pinned to 70.0 in pyproject.toml); nothing else changes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from weasyprint.images import RasterImage

LIMIT = 64  # images kept
_CACHED_MODES = ("1", "L", "LA", "RGB", "RGBA")
_kept: OrderedDict[tuple, bytes] = OrderedDict()
_lock = threading.Lock()


def _weasyprint_png_data(pillow_image) -> bytes:
    return _png_data.weasyprint_png_data(pillow_image)


def _png_data(pillow_image) -> bytes:
    """``RasterImage._get_png_data`` of WeasyPrint, kept by the image's pixels (see the module's docstring)."""
    if pillow_image.mode not in _CACHED_MODES:
        return _weasyprint_png_data(pillow_image)
    key = (
        pillow_image.mode,
        pillow_image.size,
        hashlib.blake2b(pillow_image.tobytes(), digest_size=20).digest(),
    )
    with _lock:
        data = _kept.get(key)
        if data is not None:
            _kept.move_to_end(key)
            return data
    data = _weasyprint_png_data(pillow_image)
    with _lock:
        _kept[key] = data
        while len(_kept) > LIMIT:
            _kept.popitem(last=False)
    return data


_png_data.weasyprint_png_data = getattr(
    RasterImage._get_png_data, "weasyprint_png_data", RasterImage._get_png_data
)
RasterImage._get_png_data = staticmethod(_png_data)
