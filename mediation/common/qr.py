"""QR codes, drawn on the server as PNG bytes (embedded as ``data:`` URIs; never a URL to fetch)."""

from __future__ import annotations

import base64
import functools
import io


# The same address is drawn again and again (the case code on every notice of a case and of its
# 卷宗, the agreement's verification code in each 卷宗): qrcode tries all eight mask patterns, ≈ 40 ms
# a code. The bytes depend on the text only.
@functools.lru_cache(maxsize=256)
def qr_png(text: str) -> bytes:
    import qrcode  # heavy: qrcode and PIL stay out of start-up (only documents and case pages draw QR codes)

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()


def qr_data_uri(text: str) -> str:
    """The QR code of ``text`` as a ``data:`` URI for a web page (the CSP allows ``img-src data:``)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode()
