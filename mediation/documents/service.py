"""The rules of documents, callable without a request.

Each function checks what it may do, changes the rows, writes one timeline event per state change
(via disputes.service.add_event, in the same transaction) and flushes; the caller commits once.
Refusals raise :class:`DocumentError` with a Chinese message and an HTTP status (409 for a change
that the agreement's state does not allow, 403 for a role that may not act, 422 for bad input).
"""

from __future__ import annotations

import hashlib
import re
import re as _re
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select

from mediation.accounts.access import dispute_scope, is_admin, may_read_id_numbers, predicate
from mediation.accounts.models import User
from mediation.common import codes
from mediation.common.enums import PartyKind, Role, UnitType
from mediation.common.images import ImageLimits, ImageRejected, decode_data_url, load_image, png_bytes
from mediation.common.qr import qr_png
from mediation.common.time import cn_date, local_today, utcnow
from mediation.common.urls import public_url
from mediation.common.validators import id_card_error
from mediation.disputes.case_code import case_link
from mediation.disputes.casework import JudicialConfirmation, MediationSession
from mediation.disputes.models import Dispute, Event, register_event_label
from mediation.disputes.service import add_event, next_number
from mediation.documents import forms as F
from mediation.documents.glyphs import describe, missing_glyphs
from mediation.documents.models import (
    Agreement,
    AgreementKind,
    AgreementStatus,
    CaseForm,
    ImmutableError,
    Signature,
    SignedDocument,
    SignerKind,
    SignMethod,
    UnitSeal,
)
from mediation.documents.render import Renderer, anchor_pages, gc_paused
from mediation.documents.signing import SignatureCheck, SigningUnavailable, signer_for_unit, verifier
from mediation.extensions import db
from mediation.geo.models import Unit

for _type, _label in {
    "agreement_updated": "修改协议草稿",
    "agreement_submitted": "协议提交签署",
    "agreement_returned": "协议退回修改",
    "agreement_sealed": "协议加盖印章",
    "form_saved": "填写文书",
    "case_file_exported": "导出卷宗",
}.items():
    register_event_label(_type, _label)

WRITER_ROLES = (Role.MEDIATOR,)
CODE_ALPHABET = codes.ALPHABET  # no 0/O, 1/I/L (shared with the case codes)
CODE_LENGTH = 10
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SEAL_BYTES = 4 * 1024 * 1024
CONFIRMATION_WINDOW_DAYS = 30
ARCHIVE_PDF_VARIANT = "pdf/a-3b"


class DocumentError(Exception):
    def __init__(self, message: str, status: int = 409, errors: dict | None = None):
        super().__init__(message)
        self.message, self.status, self.errors = message, status, errors or {}


# ---------------------------------------------------------------- access


@predicate
def may_write(user: User) -> bool:
    """Draft, edit and submit agreements and documents, collect signatures: the 调解员."""
    return user.role in WRITER_ROLES


@predicate
def may_sign_as_mediator(user: User) -> bool:
    """The mediator's own signature on an agreement (signed in as themself): a 调解员."""
    return user.role == Role.MEDIATOR


@predicate
def may_manage_seals(user: User) -> bool:
    """Upload and view the units' seal images: the admin."""
    return is_admin(user)


@predicate
def may_affix_seal(user: User, agreement: Agreement) -> bool:
    """The seal of the agreement's unit is affixed by that unit's people (or an admin)."""
    return is_admin(user) or user.unit_id == agreement.unit_id


@predicate
def may_read_documents(user: User) -> bool:
    """The documents carry the parties' full ID numbers: only the roles that may read them
    (config ID_NUMBER_ROLES, by default 调解员 and 法院联络员) may open or download them."""
    return may_read_id_numbers(user)


def require_reader(user: User) -> None:
    if not may_read_documents(user):
        raise DocumentError("文书含当事人身份证号码，您的角色无权查看或下载。", 403)


def require_writer(user: User) -> None:
    if not may_write(user):
        raise DocumentError("只有调解员可以起草、签署调解协议和填写文书。", 403)


def find_agreement(user: User, agreement_id: int) -> Agreement | None:
    """The agreement if its case is visible to the user (the one access rule), else None."""
    return db.session.scalars(
        select(Agreement)
        .join(Dispute, Agreement.dispute_id == Dispute.id)
        .where(Agreement.id == agreement_id, dispute_scope(user))
    ).first()


def agreements_of(dispute: Dispute) -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement).where(Agreement.dispute_id == dispute.id).order_by(Agreement.seq)
        )
    )


# ---------------------------------------------------------------- images

SIGNATURE_IMAGE = ImageLimits(
    "签名图片",
    MAX_SIGNATURE_BYTES,
    min_width=100,
    max_width=4000,
    min_height=40,
    max_height=2000,
    formats=("PNG",),
)
SEAL_IMAGE = ImageLimits(
    "印章图片", MAX_SEAL_BYTES, min_width=64, max_width=3000, min_height=64, max_height=3000
)


def _checked(fn, *args):
    try:
        return fn(*args)
    except ImageRejected as err:
        raise DocumentError(err.message, 422) from None


def validate_signature_png(data_url: str) -> bytes:
    """A drawn signature: a PNG of sane size with some ink on it, re-encoded (metadata dropped)."""
    from PIL import ImageChops  # heavy: PIL stays out of start-up

    raw = _checked(decode_data_url, data_url, SIGNATURE_IMAGE)
    with _checked(load_image, raw, SIGNATURE_IMAGE) as loaded:
        img = loaded.convert("RGBA")
    # Ink: pixels that are neither transparent nor near white.
    opaque = img.getchannel("A").point(lambda v: 255 if v > 40 else 0)
    dark = img.convert("L").point(lambda v: 255 if v < 200 else 0)
    ink = ImageChops.multiply(opaque, dark).histogram()[255]
    if ink < 40:
        raise DocumentError("签名为空，请在签名框内书写后再提交。", 422)
    bbox = img.getchannel("A").getbbox()
    if bbox:
        img = img.crop(bbox)
    return png_bytes(img)


def validate_seal_image(raw: bytes) -> tuple[bytes, int, int]:
    """A seal: PNG or JPEG, checked and re-encoded as PNG; a white background becomes transparent,
    and every fully transparent pixel white: it is not seen, and the seal's colour plane in the PDFs
    deflates to about half (a scanned seal otherwise keeps the scan's noise where nothing shows)."""
    from PIL import Image  # heavy: PIL stays out of start-up

    with _checked(load_image, raw, SEAL_IMAGE) as loaded:
        has_alpha = loaded.mode in ("RGBA", "LA", "PA") or "transparency" in loaded.info
        img = loaded.convert("RGBA")
    if not has_alpha:  # a scanned seal: its white paper becomes transparent
        img.putalpha(img.convert("L").point(lambda v: 0 if v > 225 else 255))
    if max(img.size) > 800:
        img.thumbnail((800, 800))
    shown = img.getchannel("A").point(lambda v: 255 if v else 0)
    img = Image.composite(img, Image.new("RGBA", img.size, (255, 255, 255, 0)), shown)
    return png_bytes(img), img.size[0], img.size[1]


def upload_seal(user: User, unit: Unit, raw: bytes) -> UnitSeal:
    if not may_manage_seals(user):
        raise DocumentError("只有系统管理员可以上传单位印章。", 403)
    png, width, height = validate_seal_image(raw)
    for old in db.session.scalars(select(UnitSeal).where(UnitSeal.unit_id == unit.id, UnitSeal.active)):
        old.active = False
    seal = UnitSeal(
        unit=unit,
        image=png,
        width=width,
        height=height,
        sha256=hashlib.sha256(png).hexdigest(),
        uploaded_by=user,
        active=True,
    )
    db.session.add(seal)
    db.session.flush()
    return seal


def active_seal(unit: Unit) -> UnitSeal | None:
    return db.session.scalars(
        select(UnitSeal).where(UnitSeal.unit_id == unit.id, UnitSeal.active).order_by(UnitSeal.id.desc())
    ).first()


# ---------------------------------------------------------------- agreements

PARTY_DETAIL_FIELDS = ("ethnicity", "occupation", "legal_rep_name", "legal_rep_title", "agent_name")


def party_snapshot(dispute: Dispute) -> list[dict]:
    return [
        {
            "role": str(p.role),
            "kind": str(p.kind),
            "name": p.name,
            "id_number": p.id_number or "",
            "phone": p.phone or "",
            "address": p.address or "",
            **{key: getattr(p, key) or "" for key in PARTY_DETAIL_FIELDS},
        }
        for p in dispute.parties
    ]


def _apply_fields(agreement: Agreement, data: dict) -> None:
    for key in ("facts", "issues", "responsibilities", "terms", "performance_method"):
        if key in data:
            setattr(agreement, key, data[key] or "")
    if "performance_due" in data:
        agreement.performance_due = data["performance_due"]
    if data.get("copies"):
        agreement.copies = data["copies"]


def agreement_issuer(user: User, dispute: Dispute) -> Unit:
    """The 调委会 that mediated issues the agreement: the case's unit, else the mediator's own; never
    a grid, a 综治中心 or another kind of unit (人民调解法第28、29条)."""
    for unit in (dispute.unit, user.unit):
        if unit is not None and unit.type == UnitType.COMMITTEE:
            return unit
    raise DocumentError(
        "人民调解协议书只能由主持调解的人民调解委员会出具：本案的承办单位不是人民调解委员会。", 409
    )


def next_agreement_no(unit: Unit, year: int) -> str:
    """The next number of the 调委会's yearly agreement series (AGREEMENT_NO_PATTERN), allocated
    like case numbers (disputes.service.next_number)."""

    return next_number(
        unit,
        year,
        series="agreement",
        pattern=current_app.config["AGREEMENT_NO_PATTERN"],
        taken=lambda no: db.session.scalar(select(Agreement.id).where(Agreement.number == no)),
    )


def supplement_preamble(original: Agreement) -> str:
    """The default opening of a 补充协议: it cites the original by its number and the day it took effect."""
    return (
        f"{original.unit.name}于{cn_date(original.effective_on)}出具的人民调解协议书（{original.number}）"
        f"已生效。现经调解，各方当事人对该协议作如下补充和更正："
    )


def draft_agreement(
    user: User, dispute: Dispute, data: dict, *, supplements: Agreement | None = None
) -> Agreement:
    require_writer(user)
    if not dispute.parties:
        raise DocumentError("该纠纷没有登记当事人，无法起草调解协议。", 409)
    if supplements is not None:
        if supplements.dispute_id != dispute.id:
            raise DocumentError("补充协议只能关联本案的协议。", 422)
        if not supplements.is_effective:
            raise DocumentError("原协议尚未生效：请直接修改原协议草稿。", 409)
    seq = (
        db.session.scalar(select(func.max(Agreement.seq)).where(Agreement.dispute_id == dispute.id)) or 0
    ) + 1
    unit = agreement_issuer(user, dispute)
    agreement = Agreement(
        dispute=dispute,
        seq=seq,
        unit=unit,
        status=AgreementStatus.DRAFT,
        number=next_agreement_no(unit, local_today().year),
        kind=AgreementKind.SUPPLEMENT if supplements is not None else AgreementKind.AGREEMENT,
        original=supplements,
        parties=party_snapshot(dispute),
        facts=dispute.summary,
        copies=len(dispute.parties) + 1,
        mediator_name=user.name if may_sign_as_mediator(user) else "",
        created_by=user,
    )
    if supplements is not None:
        agreement.facts = supplement_preamble(supplements)
    _apply_fields(agreement, data)
    db.session.add(agreement)
    db.session.flush()
    add_event(
        dispute,
        "agreement_drafted",
        user,
        data={
            "agreement_id": agreement.id,
            "kind": agreement.kind.value,
            **({"supplements": supplements.id} if supplements is not None else {}),
        },
    )
    return agreement


def _require_status(agreement: Agreement, *allowed: AgreementStatus) -> None:
    if agreement.status in allowed:
        return
    if agreement.status == AgreementStatus.EFFECTIVE:
        raise DocumentError("协议已生效，不能再修改；如需更正请起草补充协议。", 409)
    if agreement.status == AgreementStatus.SIGNING:
        raise DocumentError("协议正在签署中，内容已锁定；如需修改请先退回修改（仅在尚无人签名时可以）。", 409)
    raise DocumentError("协议还是草稿，请先提交签署。", 409)


def update_draft(user: User, agreement: Agreement, data: dict) -> Agreement:
    require_writer(user)
    _require_status(agreement, AgreementStatus.DRAFT)
    _apply_fields(agreement, data)
    agreement.parties = party_snapshot(agreement.dispute)  # the case's parties as corrected so far
    agreement.updated_at = utcnow()
    db.session.flush()
    add_event(agreement.dispute, "agreement_updated", user, data={"agreement_id": agreement.id})
    return agreement


AGREEMENT_TEXT_LABELS = {
    "facts": "纠纷主要事实",
    "issues": "争议事项",
    "responsibilities": "各方责任",
    "terms": "协议内容",
    "performance_method": "履行方式",
}


def agreement_text_fields(agreement: Agreement) -> dict[str, tuple[str, str]]:
    """Every piece of text the agreement prints, as ``key: (label, text)`` (key as the form names it)."""
    fields = {key: (label, getattr(agreement, key) or "") for key, label in AGREEMENT_TEXT_LABELS.items()}
    for i, party in enumerate(agreement.parties or []):
        who = f"当事人{i + 1}（{party.get('name', '')}）"
        for key, label in (("name", "姓名或名称"), ("address", "住址"), ("role", "身份")):
            fields[f"parties.{i}.{key}"] = (f"{who}的{label}", party.get(key) or "")
    fields["mediator_name"] = ("调解员姓名", agreement.mediator_name or "")
    fields["unit"] = ("调解组织名称", agreement.unit.name if agreement.unit else "")
    return fields


def check_glyphs(agreement: Agreement, status: int = 422) -> None:
    """Refuse (in Chinese, naming character, code point and field) text that the document fonts
    cannot draw: the signed document could never be corrected."""

    fields = agreement_text_fields(agreement)
    missing = missing_glyphs({key: text for key, (_, text) in fields.items()})
    if not missing:
        return
    errors: dict[str, list[str]] = {}
    for key, char in missing:
        errors.setdefault(key.split(".")[0], []).append(
            f"{fields[key][0]}中的字符{describe(char)}在文书字体中没有字形，打印出来会是空白或方框。"
        )
    first_key, first_char = missing[0]
    raise DocumentError(
        f"{fields[first_key][0]}中的字符{describe(first_char)}在文书字体中没有字形，"
        "不能出具文书：请改用规范汉字或文字说明后再试。",
        status,
        errors,
    )


def submit_for_signing(user: User, agreement: Agreement) -> Agreement:
    require_writer(user)
    _require_status(agreement, AgreementStatus.DRAFT)
    errors = {}
    if not agreement.facts.strip():
        errors["facts"] = ["请填写纠纷主要事实。"]
    if not agreement.terms.strip():
        errors["terms"] = ["请填写达成的协议内容。"]
    if not agreement.performance_method.strip():
        errors["performance_method"] = ["请填写履行方式。"]
    if not agreement.parties:
        errors["parties"] = ["协议没有当事人。"]
    if errors:
        raise DocumentError("协议内容不完整，不能提交签署。", 422, errors)
    check_glyphs(agreement)
    agreement.status = AgreementStatus.SIGNING
    agreement.signing_started_at = utcnow()
    db.session.flush()
    add_event(agreement.dispute, "agreement_submitted", user, data={"agreement_id": agreement.id})
    return agreement


def return_to_draft(user: User, agreement: Agreement) -> Agreement:
    require_writer(user)
    _require_status(agreement, AgreementStatus.SIGNING)
    if agreement.signatures or agreement.seal_id:
        raise DocumentError("已有人签名或已盖章，协议不能再退回修改。", 409)
    agreement.status = AgreementStatus.DRAFT
    agreement.signing_started_at = None
    db.session.flush()
    add_event(agreement.dispute, "agreement_returned", user, data={"agreement_id": agreement.id})
    return agreement


def sign(
    user: User,
    agreement: Agreement,
    signer: SignerKind,
    *,
    party_index: int | None = None,
    method: SignMethod = SignMethod.DRAWN,
    image: str | None = None,
) -> Signature:
    """Record one signature: a party's (drawn on screen, or marked as signed on paper / 按指印 by
    the mediator) or the mediator's own. The last one missing makes the agreement take effect."""
    require_writer(user)
    _require_status(agreement, AgreementStatus.SIGNING)
    signer, method = SignerKind(signer), SignMethod(method)
    if signer == SignerKind.PARTY:
        if party_index is None or not 0 <= party_index < len(agreement.parties):
            raise DocumentError("没有这个当事人。", 422)
        name = agreement.parties[party_index]["name"]
    else:
        if not may_sign_as_mediator(user):
            raise DocumentError("调解员签名须由调解员本人登录后签署。", 403)
        if method == SignMethod.FINGERPRINT:
            raise DocumentError("调解员应签名，不能以按指印代替。", 422)
        party_index, name = -1, user.name
    if agreement.signature_for(signer, party_index) is not None:
        raise DocumentError(f"{name}已经签署过了。", 409)
    png = validate_signature_png(image) if method == SignMethod.DRAWN else None
    signature = Signature(
        agreement=agreement,
        signer_kind=signer,
        party_index=party_index,
        name=name,
        method=method,
        image=png,
        by=user,
        signed_at=utcnow(),
    )
    db.session.add(signature)
    db.session.flush()
    add_event(
        agreement.dispute,
        "agreement_signed",
        user,
        data={
            "agreement_id": agreement.id,
            "signer": name,
            "role": signer.value if signer == SignerKind.MEDIATOR else agreement.parties[party_index]["role"],
            "method": method.value,
        },
    )
    _take_effect_if_complete(user, agreement)
    return signature


def affix_seal(user: User, agreement: Agreement) -> Agreement:
    require_writer(user)
    _require_status(agreement, AgreementStatus.SIGNING)
    if agreement.seal_id is not None:
        raise DocumentError("已加盖印章。", 409)
    if not may_affix_seal(user, agreement):
        raise DocumentError(f"只有{agreement.unit.name}的人员可以加盖该单位印章。", 403)
    seal = active_seal(agreement.unit)
    if seal is None:
        raise DocumentError(f"{agreement.unit.name}尚未上传印章图片，请联系系统管理员。", 409)
    agreement.seal = seal
    agreement.sealed_at = utcnow()
    db.session.flush()
    add_event(agreement.dispute, "agreement_sealed", user, data={"agreement_id": agreement.id})
    _take_effect_if_complete(user, agreement)
    return agreement


def _take_effect_if_complete(user: User, agreement: Agreement) -> None:
    if agreement.missing():
        return
    today = local_today()
    agreement.status = AgreementStatus.EFFECTIVE
    agreement.effective_on = today
    agreement.effective_at = utcnow()
    db.session.flush()
    issue_agreement_pdf(user, agreement)
    add_event(
        agreement.dispute,
        "agreement_effective",
        user,
        on=today,
        data={
            "agreement_id": agreement.id,
            "effective_on": today.isoformat(),
            "performance_due": agreement.performance_due.isoformat() if agreement.performance_due else None,
        },
    )


def draft_supplement(user: User, original: Agreement, data: dict) -> Agreement:
    return draft_agreement(user, original.dispute, data, supplements=original)


# ---------------------------------------------------------------- rendering


def _person_details(id_number: str, kind: str) -> dict:
    """性别 and 出生日期 from an 18-digit ID number (the forms ask for them)."""

    if kind != PartyKind.PERSON.value or not id_number or id_card_error(id_number):
        return {}  # no valid number: no 性别 / 出生日期 rows rather than wrong ones
    born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return {"gender": "男" if int(id_number[16]) % 2 else "女", "born": born}


def _parties(parties: list[dict]) -> list[dict]:
    return [{**p, **_person_details(p.get("id_number", ""), p.get("kind", ""))} for p in parties]


def case_context(dispute: Dispute) -> dict:
    return {
        "case_no": dispute.case_no,
        "category": dispute.category,
        "source": dispute.source,
        "summary": dispute.summary,
        "registered_on": dispute.registered_on,
        "accepted_on": dispute.accepted_on,
        "closed_on": dispute.closed_on,
        "outcome": dispute.outcome.value if dispute.outcome else None,
        "unit_name": (dispute.unit or dispute.registering_unit).name,
        "registering_unit": dispute.registering_unit.name,
        "place": dispute.node.full_name(""),
        "registered_by": dispute.registered_by.name if dispute.registered_by else "",
        "handler": getattr(getattr(dispute, "handler", None), "name", ""),
        "parties": _parties(party_snapshot(dispute)),
        "occurred_on": dispute.occurred_on,
        "amount": dispute.amount,
        "people_count": dispute.people_count,
        "deadline": dispute.deadline,
    }


def party_block(party: dict) -> dict:
    """The rows of a party in the agreement's party table: ``[(label, value, css), …]`` per row, one
    or two cells per row; a detail the party does not have gets no row (no empty cells)."""

    def cells(items):
        return [(label, value, css) for label, value, css in items if value]

    p = {**party, **_person_details(party.get("id_number", ""), party.get("kind", ""))}
    if p.get("kind") == PartyKind.PERSON.value:
        short = cells(
            [
                (p["role"], p.get("name"), ""),
                ("性别", p.get("gender"), ""),
                ("民族", p.get("ethnicity"), ""),
                ("出生日期", cn_date(p.get("born")), ""),
                ("职业或职务", p.get("occupation"), ""),
                ("联系方式", p.get("phone"), "id"),
            ]
        )
        wide = cells(
            [
                ("身份证号码", p.get("id_number"), "id"),
                ("住所", p.get("address"), ""),
                ("委托代理人", p.get("agent_name"), ""),
            ]
        )
    else:
        rep = p.get("legal_rep_name") or ""
        if rep and p.get("legal_rep_title"):
            rep = f"{rep}（{p['legal_rep_title']}）"
        short = []
        wide = cells(
            [
                (p["role"], p.get("name"), ""),
                ("统一社会信用代码", p.get("id_number"), "id"),
                ("住所", p.get("address"), ""),
                ("法定代表人", rep, ""),
                ("委托代理人", p.get("agent_name"), ""),
                ("联系方式", p.get("phone"), "id"),
            ]
        )
    rows = [short[i : i + 2] for i in range(0, len(short), 2)] + [[cell] for cell in wide]
    return {"party": party, "rows": rows}


def agreement_context(renderer: Renderer, agreement: Agreement) -> dict:
    signatures = []
    for index, party in enumerate(agreement.parties):
        sig = agreement.signature_for(SignerKind.PARTY, index)
        signatures.append(
            {
                "party": party,
                "signature": sig,
                "image": renderer.data_uri(sig.image, "image/png") if sig and sig.image else None,
            }
        )
    mediator = agreement.signature_for(SignerKind.MEDIATOR)
    return {
        "agreement": agreement,
        "parties": _parties(agreement.parties),
        "party_signatures": signatures,
        "party_blocks": [party_block(p) for p in agreement.parties or []],
        "mediator": mediator,
        "mediator_image": renderer.data_uri(mediator.image, "image/png")
        if mediator and mediator.image
        else None,
        "seal_image": renderer.data_uri(agreement.seal.image, "image/png") if agreement.seal else None,
        "case": case_context(agreement.dispute),
        "unit_name": agreement.unit.name,
        "draft": not agreement.is_effective,
        # 一案一码 on the text as issued (drafts and texts being signed are not given to the parties).
        "case_link": case_link(agreement.dispute) if agreement.is_effective else None,
    }


def verification_block(renderer: Renderer, code: str) -> dict:
    url = public_url(f"/verify/{code}")
    return {
        "code": code,
        "url": url,
        "base": public_url("/verify"),
        "qr": renderer.data_uri(qr_png(url), "image/png"),
    }


def new_code() -> str:
    while True:
        code = codes.random_code(CODE_LENGTH)
        if not db.session.scalar(select(SignedDocument.id).where(SignedDocument.code == code)):
            return code


def normalize_code(code: str) -> str:
    return codes.normalize_code(code)


def render_agreement_html(agreement: Agreement, *, for_web: bool = False) -> str:
    renderer = Renderer(for_web=for_web)
    return renderer.html("documents/agreement.html", **agreement_context(renderer, agreement))


@gc_paused()  # laid out, maybe laid out again, then written: one pause (see gc_paused)
def agreement_pdf(renderer: Renderer, agreement: Agreement, **extra) -> bytes:
    """The agreement as a PDF. Laid out once; if the signature block could not be kept on the page
    of the text's last lines, laid out again with "（以下无正文）" after the text."""
    context = {**agreement_context(renderer, agreement), **extra}
    document = renderer.layout(renderer.html("documents/agreement.html", **context))
    pages = anchor_pages(document)
    anchor = context.get("anchor") or "doc-agreement"
    if pages.get(f"{anchor}-text-end") != pages.get(f"{anchor}-signatures"):
        document = renderer.layout(renderer.html("documents/agreement.html", **context, text_end_note=True))
    return renderer.write_pdf(document)


def preview_pdf(agreement: Agreement) -> bytes:
    """The agreement as it stands now, marked as a draft unless it is in effect."""
    return agreement_pdf(Renderer(), agreement)


def _sign_and_store(
    user: User | None,
    pdf: bytes,
    *,
    code: str,
    doc_type: str,
    dispute: Dispute,
    unit: Unit,
    agreement: Agreement | None,
    keep_bytes: bool,
) -> SignedDocument:
    try:
        signer = signer_for_unit(unit)
        signed = signer.sign(pdf, reason=f"{doc_type}电子签章（校验码 {code}）", location=unit.name)
    except SigningUnavailable as err:
        raise DocumentError(str(err), 409) from err
    doc = SignedDocument(
        code=code,
        doc_type=doc_type,
        dispute=dispute,
        agreement=agreement,
        unit=unit,
        issued_on=local_today(),
        sha256=hashlib.sha256(signed).hexdigest(),
        size=len(signed),
        pdf=signed if keep_bytes else None,
        signer_subject=signer.subject,
        provider=signer.provider,
        created_by_id=user.id if user else None,
    )
    db.session.add(doc)
    db.session.flush()
    doc.content = signed  # the bytes, also when they are not kept
    return doc


def issue_agreement_pdf(user: User | None, agreement: Agreement) -> SignedDocument:
    """Render the agreement in effect, with its QR code and verification code, and sign it."""
    if not agreement.is_effective:
        raise DocumentError("协议生效后才出具正式文本。", 409)
    check_glyphs(agreement, 409)
    renderer = Renderer()
    code = new_code()
    pdf = agreement_pdf(renderer, agreement, verification=verification_block(renderer, code))
    return _sign_and_store(
        user,
        pdf,
        code=code,
        doc_type=agreement.kind.value,
        dispute=agreement.dispute,
        unit=agreement.unit,
        agreement=agreement,
        keep_bytes=True,
    )


def signed_agreement(agreement: Agreement) -> SignedDocument | None:
    return db.session.scalars(
        select(SignedDocument).where(SignedDocument.agreement_id == agreement.id).order_by(SignedDocument.id)
    ).first()


# ---------------------------------------------------------------- the other forms and the case file


def form_rows(dispute: Dispute, kind: str) -> list[CaseForm]:
    return list(
        db.session.scalars(
            select(CaseForm)
            .where(CaseForm.dispute_id == dispute.id, CaseForm.kind == kind)
            .order_by(CaseForm.id)
        )
    )


def _outcome(dispute: Dispute) -> str | None:
    return dispute.outcome.value if dispute.outcome else None


def _confirmation_row(dispute: Dispute):
    return db.session.scalars(
        select(JudicialConfirmation)
        .where(JudicialConfirmation.dispute_id == dispute.id)
        .order_by(JudicialConfirmation.id.desc())
    ).first()


def form_applies(dispute: Dispute, kind: str) -> bool:
    """Whether a form belongs to the case in its present state (the one rule for the documents
    panel, the form pages, the PDFs and the case file). A 不予受理 case gets the 不予受理通知书,
    never the 终止人民调解告知书 nor the forms of a mediation that did not happen."""
    outcome = _outcome(dispute)
    rejected = outcome == "不予受理"
    accepted = dispute.accepted_on is not None and not rejected
    if kind in ("application", "registration", "cover"):
        return True
    if kind == "rejection":
        return rejected
    if kind in ("acceptance", "rights"):
        return accepted
    if kind == "record":
        return not rejected and (accepted or bool(_sessions(dispute)))
    if kind == "oral":
        return accepted and outcome in (None, "调解成功")
    if kind == "termination":
        return accepted and outcome in (None, "调解不成功")
    if kind == "confirmation":
        return not rejected and (
            _confirmation_row(dispute) is not None or any(a.is_effective for a in agreements_of(dispute))
        )
    if kind == "followup":  # after an agreement (written or oral) or the end of the case
        return not rejected and (
            accepted
            or dispute.closed_on is not None
            or bool(_followups(dispute))
            or any(a.is_effective for a in agreements_of(dispute))
        )
    return False


def require_form_applies(dispute: Dispute, kind: str) -> F.FormSpec:
    spec = F.FORMS.get(kind)
    if spec is None:
        raise DocumentError("没有这种文书。", 404)
    if not form_applies(dispute, kind):
        if kind == "termination" and _outcome(dispute) == "不予受理":
            raise DocumentError("本案不予受理，不出具终止人民调解告知书，请使用不予受理通知书。", 409)
        raise DocumentError(f"本案当前的状态不适用{spec.title}。", 409)
    return spec


def save_form(user: User, dispute: Dispute, kind: str, raw: dict, *, row_id: int | None = None) -> CaseForm:
    require_writer(user)
    spec = F.FORMS.get(kind)
    if spec is None or not spec.editable:
        raise DocumentError("没有这种文书。", 404)
    values, errors = F.clean_fields(spec, raw)
    if errors:
        raise DocumentError("请按提示修改。", 422, {k: [v] for k, v in errors.items()})
    require_form_applies(dispute, kind)
    rows = form_rows(dispute, kind)
    if spec.multiple:
        row = next((r for r in rows if r.id == row_id), None) if row_id else None
        if row_id and row is None:
            raise DocumentError("没有这条记录。", 404)
    else:
        row = rows[0] if rows else None
    if row is None:
        row = CaseForm(dispute=dispute, kind=kind, created_by_id=user.id)
        db.session.add(row)
    row.fields = values
    row.updated_at = utcnow()
    db.session.flush()
    add_event(dispute, "form_saved", user, data={"form": spec.title})
    return row


def _sessions(dispute: Dispute) -> list[dict]:
    rows = db.session.scalars(
        select(MediationSession)
        .where(MediationSession.dispute_id == dispute.id)
        .order_by(MediationSession.held_on, MediationSession.id)
    ).all()
    if rows:
        return [
            {
                "held_on": r.held_on,
                "place": r.place,
                "mediators": r.mediators,
                "attendees": r.attendees,
                "record": r.record,
            }
            for r in rows
        ]
    events = db.session.scalars(
        select(Event)
        .where(Event.dispute_id == dispute.id, Event.type == "session")
        .order_by(Event.at, Event.id)
    ).all()
    return [
        {
            "held_on": e.on,
            "place": (e.data or {}).get("place", ""),
            "mediators": e.by_name,
            "attendees": (e.data or {}).get("attendees", ""),
            "record": e.note or "",
        }
        for e in events
    ]


def _visited_default(dispute: Dispute, text: str) -> str:
    """被回访人 of a follow-up recorded without one: the parties named in its result, else all parties."""
    named = [f"{p.role}{p.name}" for p in dispute.parties if p.name and p.name in (text or "")]
    return "、".join(named or [f"{p.role}{p.name}" for p in dispute.parties])


def _method_default(text: str) -> str:
    for method in F.VISIT_METHODS[:-1]:
        if method in (text or ""):
            return method
    if "上门" in (text or "") or "走访" in (text or ""):
        return "上门回访"
    if "电话" in (text or ""):
        return "电话回访"
    return "其他"


def _followups(dispute: Dispute) -> list[dict]:
    """The 回访 of the case: 回访记录 forms, and follow-ups done (their 回访方式 and 被回访人 as
    recorded when done; for older records, read from the result text and the parties)."""
    rows = [dict(r.fields, source="form") for r in form_rows(dispute, "followup")]
    events = db.session.scalars(
        select(Event)
        .where(Event.dispute_id == dispute.id, Event.type == "followup_done")
        .order_by(Event.at, Event.id)
    ).all()
    for e in events:
        data = e.data or {}
        rows.append(
            {
                "visited_on": e.on.isoformat() if e.on else "",
                "kind": data.get("kind", ""),
                "method": data.get("method") or _method_default(e.note),
                "visitor": e.by_name,
                "visited": data.get("visited") or _visited_default(dispute, e.note),
                "performance": e.note or "",
                "opinion": _satisfaction_text(data.get("satisfaction")),
                "note": "",
                "source": "timeline",
            }
        )
    return sorted(rows, key=lambda r: r.get("visited_on") or "")


SATISFACTION_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def _satisfaction_text(score) -> str:
    return (
        f"对调解工作的评价：{SATISFACTION_LABELS[score]}（{score}分）" if score in SATISFACTION_LABELS else ""
    )


def requests_from_summary(dispute: Dispute) -> str:
    """申请事项 as registered: the 诉求 of the 简要情况 (its clauses with 要求/请求/希望), else a
    request to mediate the registered dispute."""

    clauses = [c.strip() for c in _re.split(r"[，。；;,]", dispute.summary or "") if c.strip()]
    asks = [c for c in clauses if _re.search(r"要求|请求|希望|提出", c)]
    if asks:
        return "；".join(asks) + "。"
    return f"请求对双方之间的{dispute.category}纠纷依法进行调解。"


def _event_note(dispute: Dispute, *types: str) -> str:
    event = db.session.scalars(
        select(Event)
        .where(Event.dispute_id == dispute.id, Event.type.in_(types))
        .order_by(Event.at.desc(), Event.id.desc())
    ).first()
    return (event.note or "").strip() if event else ""


def _confirmation_defaults(dispute: Dispute) -> dict:
    row = _confirmation_row(dispute)
    return {"court": row.court.name, "applied_on": row.applied_on.isoformat()} if row else {}


# The forms given to the parties that print the case code and its QR code (the agreement does too).
CASE_CODE_FORMS = ("acceptance", "rights")


def _application_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault("requests", requests_from_summary(dispute))
    own.setdefault("reasons", dispute.summary)
    own.setdefault("applied_on", dispute.registered_on.isoformat())


def _registration_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    rejected = _outcome(dispute) == "不予受理"
    own.setdefault(
        "acceptance_note",
        "不予受理（见不予受理通知书）" if rejected else "同意受理" if dispute.accepted_on else "",
    )
    own.setdefault("registrar", dispute.registered_by.name if dispute.registered_by else "")


def rejection_reason(dispute: Dispute) -> str:
    """Why the case was not accepted (不予受理 / 当事人拒绝调解), as recorded on the timeline event:
    the 不予受理通知书 prints it, the parties' page shows it."""
    return _event_note(dispute, "rejected", "refused")


def _rejection_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault("reason", rejection_reason(dispute) or "该纠纷不属于人民调解的受理范围")
    own.setdefault("remedy", F.REMEDY_TEXT)
    own.setdefault("notified_on", (dispute.closed_on or local_today()).isoformat())


def _acceptance_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault("mediator", ctx["case"]["handler"])
    own.setdefault("notified_on", (dispute.accepted_on or dispute.registered_on).isoformat())
    ctx["rights_line"] = F.ACCEPTANCE_RIGHTS_TEXT


def _rights_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault("notified_on", (dispute.accepted_on or dispute.registered_on).isoformat())
    ctx["rights_text"] = F.RIGHTS_TEXT


def _record_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    ctx["sessions"] = _sessions(dispute)


def _oral_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault("mediator", case_context(dispute)["handler"])


def _termination_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault(
        "reason",
        (_event_note(dispute, "closed") if _outcome(dispute) == "调解不成功" else "")
        or "双方当事人经调解未能达成协议",
    )
    own["reason"] = own["reason"].rstrip("。；;，, ")
    own.setdefault("routes", F.ROUTES_TEXT)
    own.setdefault("notified_on", (dispute.closed_on or local_today()).isoformat())


def _followup_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    ctx["visits"] = _followups(dispute)


def _confirmation_form_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    for k, v in _confirmation_defaults(dispute).items():
        own.setdefault(k, v)
    own.setdefault("applied_on", local_today().isoformat())
    effective = ctx["agreements"]
    if effective:
        last = effective[-1]
        own.setdefault(
            "requests",
            f"请求确认各申请人于{cn_date(last.effective_on)}在{last.unit.name}主持下"
            f"达成的编号为{last.number}的{last.title}有效。",
        )
    # 司法确认 is applied for jointly (人民调解法第三十三条): every party is an 申请人.
    ctx["applicants"] = [dict(p, role="申请人") for p in ctx["case"]["parties"]]


def _cover_defaults(dispute: Dispute, own: dict, ctx: dict) -> None:
    own.setdefault("title", f"{dispute.category}纠纷")
    own.setdefault("retention", "长期")
    own.setdefault("filed_on", (dispute.closed_on or local_today()).isoformat())


# Per form: fills the form's own fields with their defaults and adds what else its template needs.
_FORM_DEFAULTS = {
    "application": _application_defaults,
    "registration": _registration_defaults,
    "rejection": _rejection_defaults,
    "acceptance": _acceptance_defaults,
    "rights": _rights_defaults,
    "record": _record_defaults,
    "oral": _oral_defaults,
    "termination": _termination_defaults,
    "followup": _followup_defaults,
    "confirmation": _confirmation_form_defaults,
    "cover": _cover_defaults,
}


def form_context(
    dispute: Dispute, kind: str, *, case: dict | None = None, effective: list | None = None
) -> dict:
    """What a form's template needs: the case, the form's own fields (with defaults). ``case`` and
    ``effective`` (the case's :func:`case_context` and its agreements in effect), when given, are what
    the case file computed once for all its forms."""
    spec = F.FORMS[kind]
    rows = form_rows(dispute, kind)
    own = dict(rows[0].fields) if rows and not spec.multiple else {}
    if effective is None:
        effective = [a for a in agreements_of(dispute) if a.is_effective]
    ctx = {"case": case or case_context(dispute), "spec": spec, "form": own, "agreements": effective}
    fill = _FORM_DEFAULTS.get(kind)
    if fill is not None:
        fill(dispute, own, ctx)
    if kind in CASE_CODE_FORMS:  # 一案一码: how the parties follow the case
        ctx["case_link"] = case_link(dispute)
    ctx["form"] = own
    return ctx


def form_has_content(dispute: Dispute, kind: str) -> bool:
    """Whether the case file holds the form: it applies to the case and has something to say."""
    if not form_applies(dispute, kind):
        return False
    if kind in ("application", "registration", "acceptance", "rejection", "rights"):
        return True
    if kind == "confirmation":
        return _confirmation_row(dispute) is not None or bool(form_rows(dispute, kind))
    if kind == "record":
        return bool(_sessions(dispute))
    if kind == "followup":
        return bool(_followups(dispute))
    if kind == "termination":
        return bool(form_rows(dispute, kind)) or _outcome(dispute) == "调解不成功"
    return bool(form_rows(dispute, kind))


def render_form_html(dispute: Dispute, kind: str, *, for_web: bool = False) -> str:
    renderer = Renderer(for_web=for_web)
    return renderer.html("documents/form.html", kind=kind, **form_context(dispute, kind))


def render_form_pdf(dispute: Dispute, kind: str) -> bytes:
    require_form_applies(dispute, kind)
    renderer = Renderer()
    return renderer.pdf(renderer.html("documents/form.html", kind=kind, **form_context(dispute, kind)))


@dataclass
class CaseFileSection:
    anchor: str
    title: str
    kind: str  # a form key or "agreement"
    context: dict = field(default_factory=dict)
    date: date | None = None
    html: str = ""


def case_file_sections(
    renderer: Renderer, dispute: Dispute, case: dict | None = None
) -> list[CaseFileSection]:
    """The case file's documents; ``case``: the case's :func:`case_context`, computed once for all."""
    case = case or case_context(dispute)
    agreements = agreements_of(dispute)
    effective = [a for a in agreements if a.is_effective]
    sections = []
    for kind in F.CASE_FILE_ORDER:
        if kind == "agreements":
            for a in agreements:
                if not a.is_effective:  # drafts and agreements being signed are not part of the file
                    continue
                doc = signed_agreement(a)
                ctx = agreement_context(renderer, a)
                if doc is not None:
                    ctx["verification"] = verification_block(renderer, doc.code)
                sections.append(
                    CaseFileSection(f"doc-agreement-{a.id}", a.title, "agreement", ctx, a.effective_on)
                )
            continue
        if not form_has_content(dispute, kind):
            continue
        ctx = form_context(dispute, kind, case=case, effective=effective)
        when = F.as_date(
            ctx["form"].get("applied_on") or ctx["form"].get("notified_on") or ctx["form"].get("agreed_on")
        )
        if kind == "registration":
            when = dispute.registered_on
        elif kind == "record":
            when = ctx["sessions"][0]["held_on"]
        elif kind == "followup":
            when = F.as_date(ctx["visits"][0].get("visited_on"))
        sections.append(CaseFileSection(f"doc-{kind}", F.FORMS[kind].title, kind, ctx, when))
    for s in sections:
        s.html = Markup(renderer.html("documents/section.html", kind=s.kind, anchor=s.anchor, **s.context))
    return sections


@gc_paused()  # the sections' HTML, the document and its signature: one pause (see gc_paused)
def case_file_pdf(user: User, dispute: Dispute) -> SignedDocument:
    """The whole case file as one signed PDF: cover, index with page numbers, every document. The
    signed agreements are attached as the original signed files. Only the hash is kept."""
    from weasyprint import Attachment  # heavy: WeasyPrint stays out of start-up

    require_reader(user)
    renderer = Renderer()
    code = new_code()
    case = case_context(dispute)
    sections = case_file_sections(renderer, dispute, case)
    attachments = []
    for a in agreements_of(dispute):
        doc = signed_agreement(a)
        if doc is not None and doc.pdf:
            attachments.append(
                Attachment(
                    string=doc.pdf,
                    name=f"{a.number}.pdf",
                    description=f"{a.title}（已签章原件，校验码 {doc.code}）",
                )
            )
    cover = form_context(dispute, "cover", case=case)
    html = renderer.html(
        "documents/case_file.html",
        sections=sections,
        cover=cover["form"],
        case=cover["case"],
        verification=verification_block(renderer, code),
        attached=[a.description for a in attachments],
    )
    # Attachments are read by WeasyPrint itself, not through the fetcher (string=…): nothing is fetched.
    # An archival copy: PDF/A-3b (fonts embedded, XMP identification; PDF/A-3 allows the attached
    # signed originals, which are not PDF/A themselves). The signature is an incremental update.
    pdf = renderer.pdf(html, attachments=attachments, variant=ARCHIVE_PDF_VARIANT)
    doc = _sign_and_store(
        user,
        pdf,
        code=code,
        doc_type="卷宗",
        dispute=dispute,
        unit=dispute.unit or dispute.registering_unit,
        agreement=None,
        keep_bytes=False,
    )
    add_event(dispute, "case_file_exported", user, data={"code": code})
    return doc


# ---------------------------------------------------------------- verification (public)


def mask_case_no(case_no: str) -> str:
    """（2026）海滨调字第0012号 → （2026）海滨调字第****号: year and unit stay, the number goes."""
    match = re.match(r"^(（\d{4}）)(.*)$", case_no or "")
    head, rest = (match.group(1), match.group(2)) if match else ("", case_no or "")
    return head + re.sub(r"\d", "*", rest)


def public_number(agreement: Agreement) -> str:
    """An agreement's number as the public page may show it: year and 字号 stay, the sequence goes."""
    return mask_case_no(agreement.number)


def _public_link(agreement: Agreement) -> dict:
    """An agreement on the public page: its masked number and the code of its signed text (if any)."""
    doc = signed_agreement(agreement) if agreement.is_effective else None
    return {
        "title": agreement.title,
        "number": public_number(agreement),
        "code": doc.code if doc else None,
        "issued_on": doc.issued_on if doc else None,
    }


@dataclass
class Verification:
    found: bool
    doc: SignedDocument | None = None
    stored_intact: bool | None = None  # the stored bytes still hash to the recorded hash
    signature: SignatureCheck | None = None
    upload_matches: bool | None = None  # an uploaded file is byte for byte the issued one
    upload_signature: SignatureCheck | None = None

    @property
    def genuine(self) -> bool:
        if not self.found:
            return False
        if self.upload_matches is not None:
            return bool(self.upload_matches and self.upload_signature and self.upload_signature.ok)
        return bool(self.stored_intact and self.signature and self.signature.ok)

    @property
    def registered_only(self) -> bool:
        """A document whose bytes the platform does not keep (the 卷宗: only its hash is recorded)
        and no file uploaded: the code is genuine, the file itself can only be checked by upload."""
        return self.found and self.doc is not None and self.doc.pdf is None and self.upload_matches is None

    def public(self) -> dict:
        """What the public page may show: nothing personal."""
        d = self.doc
        if d is None:
            return {}
        out = {
            "doc_type": d.doc_type,
            "unit": d.unit.name,
            "issued_on": d.issued_on,
            "case_no": mask_case_no(d.dispute.case_no),
            "signer": d.signer_subject,
            "sha256": d.sha256,
            "size": d.size,
            "code": d.code,
            "number": None,
            "amends": None,
            "amended_by": [],
        }
        agreement = d.agreement
        if agreement is not None:
            out["number"] = public_number(agreement)
            if agreement.original is not None:
                out["amends"] = _public_link(agreement.original)
            out["amended_by"] = [_public_link(s) for s in agreement.supplements if s.is_effective]
        return out


def find_document(code: str) -> SignedDocument | None:
    code = normalize_code(code)
    if not re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", code):
        return None
    return db.session.scalars(select(SignedDocument).where(SignedDocument.code == code)).first()


def verify(code: str, upload: bytes | None = None) -> Verification:
    doc = find_document(code)
    if doc is None or doc.sha256 is None:
        return Verification(found=False)
    result = Verification(found=True, doc=doc)
    check = verifier(doc.provider)
    if doc.pdf is not None:
        result.stored_intact = hashlib.sha256(doc.pdf).hexdigest() == doc.sha256
        result.signature = check.verify(doc.pdf) if check else None
    if upload is not None:
        result.upload_matches = hashlib.sha256(upload).hexdigest() == doc.sha256
        result.upload_signature = check.verify(upload) if check else None
    return result


__all__ = ["DocumentError", "ImmutableError"]
