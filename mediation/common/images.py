"""Every uploaded image (unit seals, drawn signatures, any later image input) goes through
:func:`load_image`: the encoded size is bounded, the header alone is read and its dimensions
checked, only PNG and JPEG are accepted, and only then are the pixels decoded. A decompression
bomb (a tiny file claiming 50000×50000 pixels), a truncated or garbage file, an SVG or any other
format is refused with a Chinese message (:class:`ImageRejected`), never an exception from Pillow.
The caller re-encodes the decoded image (:func:`png_bytes`), so no metadata or trailing bytes of
the upload are ever stored.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

# The most pixels any image input may have (a 4000×4000 picture). Pillow's own guard is set to the
# same value at import, and its DecompressionBombWarning is turned into an error in load_image.
MAX_PIXELS = 16_000_000
ALLOWED_FORMATS = ("PNG", "JPEG")
_MIMES = {"image/png": "PNG", "image/jpeg": "JPEG"}
_DATA_URL = re.compile(r"data:(image/[a-z+.-]+);base64,([A-Za-z0-9+/=\s]*)", re.S)


class ImageRejected(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageLimits:
    """What one kind of image may be: its label in messages, encoded bytes, width and height."""

    label: str
    max_bytes: int
    min_width: int = 1
    max_width: int = 4000
    min_height: int = 1
    max_height: int = 4000
    formats: tuple[str, ...] = ALLOWED_FORMATS

    @property
    def max_pixels(self) -> int:
        return min(self.max_width * self.max_height, MAX_PIXELS)


def _pillow():
    from PIL import Image  # heavy: PIL stays out of start-up

    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PIXELS:
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return Image


def _format_names(formats: tuple[str, ...]) -> str:
    return " 或 ".join(formats)


def decode_data_url(value: str, limits: ImageLimits) -> bytes:
    """The bytes of a ``data:image/…;base64,…`` URL. Its length is checked before any parsing."""
    if not isinstance(value, str) or not value.startswith("data:"):
        raise ImageRejected(
            f"{limits.label}应为 {_format_names(limits.formats)} 图片的 data URL（data:image/png;base64,…）。"
        )
    if len(value) > limits.max_bytes * 4 // 3 + 64:
        raise ImageRejected(f"{limits.label}过大：编码后的图片不能超过 {limits.max_bytes // 1024} KB。")
    match = _DATA_URL.fullmatch(value)
    if not match or _MIMES.get(match.group(1)) not in limits.formats:
        raise ImageRejected(
            f"{limits.label}应为 {_format_names(limits.formats)} 图片（data:image/png;base64,…）。"
        )
    try:
        return base64.b64decode(re.sub(r"\s+", "", match.group(2)), validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected(f"{limits.label}的编码无效。") from None


def _too_big(limits: ImageLimits) -> str:
    return (
        f"{limits.label}的尺寸过大：宽不能超过 {limits.max_width} 像素，高不能超过 {limits.max_height} 像素"
        f"（共不超过 {limits.max_pixels} 像素）。"
    )


def _unreadable(limits: ImageLimits) -> str:
    return f"{limits.label}无法识别：文件已损坏或不是 {_format_names(limits.formats)} 图片。"


def _check_encoded_size(raw: bytes, limits: ImageLimits) -> None:
    if not raw:
        raise ImageRejected(f"{limits.label}为空，请选择图片文件。")
    if len(raw) > limits.max_bytes:
        size = (
            f"{limits.max_bytes // (1024 * 1024)} MB"
            if limits.max_bytes >= 1024 * 1024
            else f"{limits.max_bytes // 1024} KB"
        )
        raise ImageRejected(f"{limits.label}过大：文件不能超过 {size}。")


def _open_header(Image, raw: bytes, limits: ImageLimits):
    """Pillow's lazy ``open``: reads the header only. Any failure of a hostile header is a refusal."""
    from PIL import UnidentifiedImageError  # heavy: PIL stays out of start-up

    try:
        return Image.open(io.BytesIO(raw), formats=list(limits.formats))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_too_big(limits)) from None
    except UnidentifiedImageError:
        raise ImageRejected(
            f"{limits.label}无法识别：应为 {_format_names(limits.formats)} 格式的图片。"
        ) from None
    except Exception:  # noqa: BLE001 — any failure of a hostile header is a refusal, not a 500
        raise ImageRejected(_unreadable(limits)) from None


def _check_header(img, limits: ImageLimits) -> None:
    """Format and dimensions as the header states them."""
    if img.format not in limits.formats:
        raise ImageRejected(f"{limits.label}应为 {_format_names(limits.formats)} 格式。")
    width, height = img.size
    if width > limits.max_width or height > limits.max_height or width * height > limits.max_pixels:
        raise ImageRejected(_too_big(limits))
    if width < limits.min_width or height < limits.min_height:
        raise ImageRejected(
            f"{limits.label}的尺寸过小：宽至少 {limits.min_width} 像素，高至少 {limits.min_height} 像素。"
        )


def _check_complete(Image, fmt: str, raw: bytes, limits: ImageLimits) -> None:
    """A truncated file must not pass: WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES,
    which makes load() fill missing pixels silently. So a PNG's chunks are verified (CRCs, up to
    IEND), and a JPEG must end with its EOI marker."""
    if fmt == "JPEG" and not raw.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
        raise ImageRejected(_unreadable(limits))
    if fmt == "PNG":
        try:
            with Image.open(io.BytesIO(raw), formats=["PNG"]) as probe:
                probe.verify()
        except Exception:  # noqa: BLE001
            raise ImageRejected(_unreadable(limits)) from None


def load_image(raw: bytes, limits: ImageLimits):
    """Check, then decode: returns a loaded ``PIL.Image`` (the caller converts and re-encodes it).

    Order: encoded size → header (format, width, height: Pillow's ``open`` is lazy) → pixels."""
    Image = _pillow()
    _check_encoded_size(raw, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = _open_header(Image, raw, limits)
        try:
            _check_header(img, limits)
            _check_complete(Image, img.format, raw, limits)
        except ImageRejected:
            img.close()
            raise
        try:
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            img.close()
            raise ImageRejected(_too_big(limits)) from None
        except Exception:  # noqa: BLE001 — truncated data, bad CRC, broken JPEG markers …
            img.close()
            raise ImageRejected(_unreadable(limits)) from None
    return img


def png_bytes(img) -> bytes:
    """Re-encode a decoded image as PNG (nothing of the upload's bytes survives)."""
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
