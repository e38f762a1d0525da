"""One named schema per shape for the documents API (and the web forms, which load the same ones)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from mediation.common import schema as s
from mediation.common.enums import values
from mediation.common.time import local_today
from mediation.documents.models import SignerKind, SignMethod

# A PNG of at most 512 KiB (documents.service.MAX_SIGNATURE_BYTES) as a base64 data URL.
SIGNATURE_DATA_URL_MAX = 800_000

AGREEMENT_FIELDS = (
    "facts",
    "issues",
    "responsibilities",
    "terms",
    "performance_method",
    "performance_due",
    "copies",
)


class AgreementIn(s.InputSchema):
    """An agreement's text. A draft may be saved incomplete; submitting it for signing needs the
    facts, the terms and how they are performed (人民调解法第29条)."""

    facts = s.Text(load_default="", validate=s.length(5000), metadata={"description": "纠纷主要事实"})
    issues = s.Text(load_default="", validate=s.length(5000), metadata={"description": "争议事项"})
    responsibilities = s.Text(load_default="", validate=s.length(5000), metadata={"description": "各方责任"})
    terms = s.Text(
        load_default="", validate=s.length(10000), metadata={"description": "协议内容（达成的协议）"}
    )
    performance_method = s.Text(
        load_default="", validate=s.length(2000), metadata={"description": "履行方式"}
    )
    performance_due = s.Date(load_default=None, allow_none=True, metadata={"description": "履行期限（日期）"})
    copies = s.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 20, error="份数应在1到20之间。"),
        metadata={"description": "协议份数（默认：当事人数 + 1 份存档）"},
    )

    @validates("performance_due")
    def _due(self, value, **kwargs):
        if value is not None and value < local_today():
            raise ValidationError("履行期限不能早于今天。")


class AgreementPatch(AgreementIn):
    """Changes to a draft: only the fields sent are changed."""

    facts = s.Text(validate=s.length(5000))
    issues = s.Text(validate=s.length(5000))
    responsibilities = s.Text(validate=s.length(5000))
    terms = s.Text(validate=s.length(10000))
    performance_method = s.Text(validate=s.length(2000))
    performance_due = s.Date(allow_none=True)
    copies = s.Integer(allow_none=True, validate=validate.Range(1, 20, error="份数应在1到20之间。"))


class SignatureIn(s.InputSchema):
    signer = s.String(required=True, validate=s.one_of(values(SignerKind), "签署人类型"))
    party_index = s.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "当事人在协议中的序号（从0开始），调解员签名时不填"},
    )
    method = s.String(load_default=SignMethod.DRAWN.value, validate=s.one_of(values(SignMethod), "签署方式"))
    image = s.String(
        load_default=None,
        allow_none=True,
        max_length=SIGNATURE_DATA_URL_MAX,
        metadata={"description": "手写签名：PNG 图片的 data URL（data:image/png;base64,…）"},
    )


class AgreementPartyOut(Schema):
    role = fields.String()
    kind = fields.String()
    name = fields.String()


class AgreementSignatureOut(Schema):
    signer = fields.String(attribute="signer_kind")
    party_index = fields.Integer()
    name = fields.String()
    method = fields.String()
    signed_at = fields.DateTime()
    by = fields.Function(lambda s: s.by.name if s.by else None)


class AgreementOut(Schema):
    id = fields.Integer()
    dispute_id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    status = fields.String()
    supplements_id = fields.Integer(allow_none=True)
    unit = fields.Function(lambda a: a.unit.code)
    parties = fields.List(fields.Nested(AgreementPartyOut))
    facts = fields.String()
    issues = fields.String()
    responsibilities = fields.String()
    terms = fields.String()
    performance_method = fields.String()
    performance_due = fields.Date(allow_none=True)
    copies = fields.Integer()
    sealed = fields.Function(lambda a: a.seal_id is not None)
    effective_on = fields.Date(allow_none=True)
    missing = fields.Function(lambda a: a.missing())
    signatures = fields.List(fields.Nested(AgreementSignatureOut))
    verification_code = fields.Function(lambda a: getattr(a, "verification_code", None))
