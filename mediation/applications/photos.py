"""Photos of an online application: checked and decoded by the shared image limits
(mediation/common/images.py), turned upright by their EXIF orientation, bounded in size and
RE-ENCODED as JPEG. Nothing of the uploaded bytes is stored: no EXIF (GPS position, phone model),
no trailing data, no other format."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import current_app

from mediation.common.images import ImageLimits, ImageRejected, load_image

STORED_MAX_SIDE = 2000  # the longer side of a stored photo (pixels)
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Photo:
    data: bytes
    width: int
    height: int
    mimetype: str = "image/jpeg"


def photo_limits() -> ImageLimits:
    """A phone camera's picture (4032×3024 and the like) passes; APPLY_PHOTO_MAX_BYTES per file."""
    return ImageLimits(
        label="照片",
        max_bytes=int(current_app.config["APPLY_PHOTO_MAX_BYTES"]),
        max_width=8000,
        max_height=8000,
    )


def max_photos() -> int:
    return int(current_app.config["APPLY_MAX_PHOTOS"])


def too_many_photos_error(count: int) -> str | None:
    """At most APPLY_MAX_PHOTOS photos per application."""
    if count > max_photos():
        return f"最多上传{max_photos()}张照片，您选择了{count}张。"
    return None


def reencode(raw: bytes) -> Photo:
    """Check and decode one upload (ImageRejected with a Chinese message), then a fresh JPEG."""
    from PIL import ImageOps  # heavy: Pillow stays out of start-up, as in common/images.py

    img = load_image(raw, photo_limits())
    try:
        upright = ImageOps.exif_transpose(img)
        rgb = upright.convert("RGB")
        rgb.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
        out = io.BytesIO()
        rgb.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif= : none written
        return Photo(out.getvalue(), rgb.width, rgb.height)
    finally:
        img.close()


def read_uploads(files) -> tuple[list[Photo], list[str]]:
    """The photos of a submitted form (the ``photos`` file inputs; empty inputs ignored): the
    re-encoded photos and the errors, one line per refused file."""
    uploads = [f for f in files if f and f.filename]
    if message := too_many_photos_error(len(uploads)):
        return [], [message]
    photos, errors = [], []
    limit = photo_limits().max_bytes
    for index, upload in enumerate(uploads, start=1):
        raw = upload.stream.read(limit + 1)
        try:
            photos.append(reencode(raw))
        except ImageRejected as err:
            errors.append(f"第{index}张：{err.message}")
    return photos, errors
