"""Documents of a case: the mediation agreement (人民调解协议书) and its signatures, the unit's seal,
the other forms' own data, and the signed PDFs with their verification codes.

An agreement goes 草稿 → 签署中 → 已生效. While it is signed its text is frozen; once in effect
nothing about it changes (the model refuses flushes of changed rows, the service answers 409), and a
correction is a new 补充协议 linked to the original.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from mediation.accounts.models import User
from mediation.common.enums import enum_type
from mediation.common.time import utcnow
from mediation.disputes.models import Dispute
from mediation.extensions import db
from mediation.geo.models import Unit


class AgreementStatus(StrEnum):
    DRAFT = "草稿"
    SIGNING = "签署中"
    EFFECTIVE = "已生效"


class AgreementKind(StrEnum):
    AGREEMENT = "人民调解协议书"
    SUPPLEMENT = "补充协议"


class SignerKind(StrEnum):
    PARTY = "当事人"
    MEDIATOR = "调解员"


class SignMethod(StrEnum):
    DRAWN = "手写签名"  # drawn on screen; the PNG is kept
    PAPER = "纸质签名"  # signed the paper copy; recorded by the mediator
    FINGERPRINT = "按指印"  # fingerprint on the paper copy; recorded by the mediator


class ImmutableError(Exception):
    """A change to a document that is in effect (or to a frozen part of one)."""


class Agreement(db.Model):
    __tablename__ = "agreement"
    __table_args__ = (UniqueConstraint("dispute_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(default=1)  # 1, 2, … within the case
    # The document's number, issued by the mediating 调委会 from its own yearly series
    # (config AGREEMENT_NO_PATTERN, disputes.service.next_number); a 补充协议 gets its own.
    number: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_type(AgreementKind, 16), default=AgreementKind.AGREEMENT)
    supplements_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"), index=True)
    status: Mapped[AgreementStatus] = mapped_column(
        enum_type(AgreementStatus, 8), default=AgreementStatus.DRAFT
    )
    # The 调委会 / department that mediated; its seal and certificate are used.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    # 人民调解法第29条: the parties (a snapshot taken when drafting, so later edits of the case do
    # not change a signed text), facts, matters in dispute, responsibilities, terms, performance.
    parties: Mapped[list[dict]] = mapped_column(JSON, default=list)
    facts: Mapped[str] = mapped_column(Text, default="")
    issues: Mapped[str] = mapped_column(Text, default="")
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    performance_method: Mapped[str] = mapped_column(Text, default="")
    performance_due: Mapped[date | None]
    copies: Mapped[int] = mapped_column(default=3)
    mediator_name: Mapped[str] = mapped_column(String(100), default="")

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signing_started_at: Mapped[datetime | None]
    seal_id: Mapped[int | None] = mapped_column(ForeignKey("unit_seal.id"))
    sealed_at: Mapped[datetime | None]
    effective_on: Mapped[date | None]
    effective_at: Mapped[datetime | None]

    dispute: Mapped[Dispute] = relationship()
    unit: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship()
    seal: Mapped[UnitSeal | None] = relationship()
    original: Mapped[Agreement | None] = relationship(remote_side=[id], back_populates="supplements")
    supplements: Mapped[list[Agreement]] = relationship(back_populates="original", order_by="Agreement.seq")
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="Signature.id"
    )

    def __repr__(self) -> str:
        return f"<Agreement {self.dispute_id}-{self.seq} {self.kind} {self.status}>"

    @property
    def title(self) -> str:
        return self.kind.value

    @property
    def is_effective(self) -> bool:
        return self.status == AgreementStatus.EFFECTIVE

    def signature_for(self, signer: SignerKind, index: int | None = None) -> Signature | None:
        for s in self.signatures:
            if s.signer_kind == signer and (signer == SignerKind.MEDIATOR or s.party_index == index):
                return s
        return None

    def missing(self) -> list[str]:
        """What is still needed before the agreement takes effect (Chinese, for people)."""
        out = [
            f"{p['name']}（{p['role']}）签名"
            for i, p in enumerate(self.parties or [])
            if self.signature_for(SignerKind.PARTY, i) is None
        ]
        if self.signature_for(SignerKind.MEDIATOR) is None:
            out.append("调解员签名")
        if self.seal_id is None:
            out.append("加盖调解组织印章")
        return out


class Signature(db.Model):
    __tablename__ = "agreement_signature"
    __table_args__ = (UniqueConstraint("agreement_id", "signer_kind", "party_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    signer_kind: Mapped[SignerKind] = mapped_column(enum_type(SignerKind, 8))
    # Index into Agreement.parties for a party; -1 for the mediator (so the unique key holds on
    # every database: NULLs are never equal in a unique constraint).
    party_index: Mapped[int] = mapped_column(default=-1)
    name: Mapped[str] = mapped_column(String(100))
    method: Mapped[SignMethod] = mapped_column(enum_type(SignMethod, 8))
    image: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG bytes (re-encoded), drawn signatures
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # who collected / recorded it

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")
    by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Signature {self.signer_kind} {self.name} {self.method}>"


class UnitSeal(db.Model):
    """The seal image of a unit, uploaded by an admin. Rows are never changed: a new upload adds a
    row and retires the old one, so an agreement keeps the image it was sealed with."""

    __tablename__ = "unit_seal"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)  # PNG, re-encoded by Pillow
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<UnitSeal {self.unit_id} {self.sha256[:8]}>"


class CaseForm(db.Model):
    """The data of a form that the case itself does not hold (申请事项, 终止原因, 回访内容 …)."""

    __tablename__ = "case_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # a key of documents.forms.FORMS
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()

    def __repr__(self) -> str:
        return f"<CaseForm {self.kind} {self.dispute_id}>"


class SignedDocument(db.Model):
    """A PDF as it was digitally signed: its bytes, hash and the short code of its QR code."""

    __tablename__ = "signed_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    doc_type: Mapped[str] = mapped_column(String(16))  # 人民调解协议书 / 补充协议 / 卷宗
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    issued_on: Mapped[date]
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None]
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer_subject: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(32))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship()
    agreement: Mapped[Agreement | None] = relationship()
    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<SignedDocument {self.code} {self.doc_type}>"


# ------------------------------------------------------------------------------------------------
# The model's half of immutability: whatever code path changes an agreement in effect, its
# signatures, or a signed document, the flush is refused.

_FROZEN_AFTER_EFFECT = {
    "status",
    "parties",
    "facts",
    "issues",
    "responsibilities",
    "terms",
    "performance_method",
    "performance_due",
    "copies",
    "mediator_name",
    "seal_id",
    "effective_on",
    "kind",
    "supplements_id",
    "dispute_id",
    "unit_id",
    "seq",
    "number",
}


def _changed(obj) -> set[str]:
    state = inspect(obj)
    return {a.key for a in state.attrs if a.history.has_changes()}


def _old(obj, attr: str):
    """The value as loaded from the database (before this flush's change)."""
    history = getattr(inspect(obj).attrs, attr).history
    return (history.deleted or history.unchanged or [None])[0]


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_effective(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Agreement):
            if _old(obj, "status") == AgreementStatus.EFFECTIVE and (
                obj in session.deleted or _changed(obj) & _FROZEN_AFTER_EFFECT
            ):
                raise ImmutableError("协议已生效，不能修改；如需更正请起草补充协议。")
        elif isinstance(obj, Signature):
            if obj in session.deleted and obj.agreement is not None and obj.agreement.is_effective:
                raise ImmutableError("协议已生效，签名不能撤销。")
            if obj in session.dirty and _changed(obj) - {"agreement"}:
                raise ImmutableError("签名记录不能修改。")
        elif isinstance(obj, SignedDocument) and obj in session.dirty:
            if _old(obj, "sha256") is not None and _changed(obj) & {
                "pdf",
                "sha256",
                "code",
                "size",
                "doc_type",
            }:
                raise ImmutableError("已签章文书不能修改。")
    for obj in session.new:
        if isinstance(obj, Signature) and obj.agreement is not None and obj.agreement.is_effective:
            # A signature added to an agreement already in effect (not by the flush that makes it so).
            state = inspect(obj.agreement)
            if not state.attrs.status.history.added:
                raise ImmutableError("协议已生效，不能再添加签名。")
