"""一案一码: the case code that the parties type or scan to follow their case, its public address
and QR code, and the hook that tells the parties when their case is accepted.

The code is drawn by the column default :func:`mediation.disputes.models.new_case_code` (so every
path that creates a case gets one): 10 characters of the codes' alphabet (mediation/common/codes.py,
the same as the documents' verification codes), the last a check character, shown in two groups
(``ABCDE-FGHJK``). The public page is ``PUBLIC_URL/c/<code>`` (built here only, from PUBLIC_URL).
"""

from __future__ import annotations

from sqlalchemy import select

from mediation import signals
from mediation.common import codes
from mediation.common.qr import qr_png
from mediation.common.urls import public_url
from mediation.common.validators import is_mobile, normalize_phone
from mediation.disputes.models import CASE_CODE_LENGTH, Dispute
from mediation.extensions import db
from mediation.sms import outbox

PUBLIC_PATH = "/c/"
CASE_CODE_TEMPLATE = "case_code"  # the SMS template (mediation/sms/settings.py)


def normalize_case_code(text: str | None) -> str:
    """A case code as typed (lower case, spaces, dashes, full-width characters) → as stored."""
    return codes.normalize_code(text)


def is_case_code(code: str) -> bool:
    """``code`` (normalised) is well formed: length, alphabet and check character (a typo is caught
    here, before any lookup)."""
    return codes.is_checked_code(code, CASE_CODE_LENGTH)


def find_by_case_code(code: str | None) -> Dispute | None:
    """The case of a code as a person typed or scanned it, or None. No access rule is applied: the
    caller (the parties' page) proves who is asking before it shows anything of the case."""
    code = normalize_case_code(code)
    if not is_case_code(code):
        return None
    return db.session.scalars(select(Dispute).where(Dispute.case_code == code)).first()


def display_code(dispute: Dispute) -> str:
    """The code as printed and shown: ``ABCDE-FGHJK``."""
    return codes.grouped(dispute.case_code)


def case_public_url(dispute: Dispute) -> str:
    """The absolute address of the case's public page (its QR code's content), from PUBLIC_URL."""
    return public_url(PUBLIC_PATH + dispute.case_code)


def case_link(dispute: Dispute) -> dict:
    """What a page or a document prints to let a party follow the case: the code (as stored and as
    shown), the public address and its QR code (PNG bytes; embed them as a ``data:`` URI)."""
    url = case_public_url(dispute)
    return {
        "code": dispute.case_code,
        "display": display_code(dispute),
        "url": url,
        "base": public_url(PUBLIC_PATH.rstrip("/")),
        "qr_data": url,
        "qr_png": qr_png(url),
    }


def notify_parties(dispute: Dispute) -> list[str]:
    """Called when the case is accepted (受理): queues the SMS ``case_code`` (case number, the code as
    shown, the public address) to every distinct mobile number on file of the case's parties (in the
    parties' order; landlines cannot receive SMS), and returns those numbers.

    Each message has the dedupe key ``case_code:<code>:<phone>``, so a re-acceptance (after 移交) or a
    retried request does not send it again. Only outbox rows are written, in the caller's transaction
    (the caller commits)."""
    phones: list[str] = []
    for party in dispute.parties:
        phone = normalize_phone(party.phone or "")
        if is_mobile(phone) and phone not in phones:
            phones.append(phone)
    url = case_public_url(dispute)
    for phone in phones:
        outbox.enqueue(
            phone,
            CASE_CODE_TEMPLATE,
            {"case_no": dispute.case_no, "case_code": display_code(dispute), "url": url},
            dedupe_key=f"case_code:{dispute.case_code}:{phone}",
            dispute=dispute,
        )
    return phones


def _on_event(sender, event=None, **kwargs) -> list[str] | None:
    if sender == "accepted" and event is not None and event.dispute is not None:
        return notify_parties(event.dispute)
    return None


signals.event_added.connect(_on_event)
