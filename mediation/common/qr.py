"""QR codes, drawn on the server as PNG bytes (embedded as ``data:`` URIs; never a URL to fetch)."""

from __future__ import annotations

import base64
import io


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
