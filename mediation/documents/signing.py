"""Digital signatures of the final PDFs, behind one small interface.

:class:`Signer` is all the rest of the code knows: ``sign(pdf) → signed pdf`` and
``verify(pdf) → SignatureCheck``. :class:`Pkcs12Signer` implements it with pyHanko (PAdES B-B,
``ETSI.CAdES.detached``, no network) and a PKCS#12 file, the one provider there is
(``SIGNING_PROVIDER`` = ``pkcs12``, the default). A national SM2 e-seal provider (GB/T 38540, not
available in the Python crypto libraries) would be another class with the same members, chosen in
:func:`signer_for_unit` and :func:`verifier` by its ``SIGNING_PROVIDER`` name.

Configuration (app config, else environment):

- ``SIGNING_P12_PATH`` / ``SIGNING_P12_PASSWORD``: the deployment's certificate;
- ``SIGNING_DIR`` (default ``<instance>/signing``): ``<unit code>.p12`` there is that unit's own
  certificate (password ``SIGNING_P12_PASSWORD``); ``demo.p12`` is the demo certificate made by
  ``flask --app mediation documents demo-cert`` and used when nothing else is configured;
- ``SIGNING_TRUST_ROOTS``: PEM files of the CAs whose signatures the verification page accepts,
  separated by commas (default: every ``*-ca.pem`` in ``SIGNING_DIR``);
- ``SIGNING_TSA_URL`` (and optionally ``SIGNING_TSA_USERNAME`` / ``SIGNING_TSA_PASSWORD``,
  ``SIGNING_TSA_TIMEOUT`` seconds, default 10): an RFC 3161 time-stamping service; when set, every
  signature carries its time-stamp token (PAdES B-T);
- ``SIGNING_EMBED_VALIDATION`` (default on): embed the chain's certificates and the CRLs / OCSP
  responses that the certificates point to in the document security store (PAdES B-LT with a
  TSA), so that an archived document still verifies after its certificate expired.

A unit signs only with a certificate whose subject (CN or O) is that unit's name: the documents say
「已加盖{单位}电子签章」.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from flask import current_app
from sqlalchemy import select

from mediation.common.enums import UnitType
from mediation.common.files import private_dir, write_private
from mediation.extensions import db
from mediation.geo.models import Unit

DEMO_PASSWORD = "demo-only"
# Passwords that protect nothing: the demo one, the demo accounts' one, placeholders of deploy/env.example.
DEMO_PASSWORDS = frozenset({"", DEMO_PASSWORD, "demo", "demo12345", "change-me", "changeme", "password"})
# Demo certificates say so in their subject and issuer (organizational unit), so that production
# recognises them; those made before the marker are recognised by their demo CA's organisation.
DEMO_MARKER = "DEMO-ONLY 仅供演示，不得用于正式文书"
DEMO_CA_ORGANIZATION = "演示证书机构"


class SigningUnavailable(Exception):
    """No (fitting) certificate is configured for the unit, or the time-stamping service failed."""


@dataclass
class SignatureCheck:
    signed: bool  # the PDF carries a signature
    intact: bool = False  # the signed bytes hash to what was signed
    valid: bool = False  # the signature value is cryptographically valid
    trusted: bool = False  # the certificate chains to a configured trust root
    whole_file: bool = False  # nothing was added to the file after signing
    signer: str | None = None
    signed_at: datetime | None = None
    timestamped_at: datetime | None = None  # the trusted time-stamp's time (PAdES B-T), if any
    validation_data: bool = False  # the document carries the chain's validation data (DSS)
    problem: str | None = None  # in Chinese, for the verification page

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and self.whole_file


class Verifier(Protocol):
    """Checks documents signed by one provider (trust roots only, no key)."""

    provider: str  # stored with each signed document, to pick its verifier later

    def verify(self, pdf: bytes) -> SignatureCheck: ...


class Signer(Verifier, Protocol):
    """A unit's seal: everything the rest of the code uses of a signer."""

    @property
    def subject(self) -> str: ...  # the certificate's subject, stored with the signed document

    @property
    def is_demo(self) -> bool: ...  # a demo certificate: production refuses to sign with it

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes: ...


def _setting(name: str, default=None):
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


def is_production() -> bool:
    return current_app.config.get("ENV_NAME") == "production"


def is_demo_password(password: str | None) -> bool:
    return (password or "").strip().lower() in DEMO_PASSWORDS


def is_demo_certificate(cert) -> bool:
    """A certificate made by :func:`create_demo_certificates` (an asn1crypto or cryptography one)."""
    names = []
    for name in (cert.subject, cert.issuer):
        if hasattr(name, "native"):  # asn1crypto
            native = name.native
            for key in ("organizational_unit_name", "organization_name", "common_name"):
                value = native.get(key)
                names += value if isinstance(value, list) else [value or ""]
        else:  # cryptography
            names += [str(attr.value) for attr in name]
    return any(DEMO_MARKER in v or v == DEMO_CA_ORGANIZATION or v.endswith(DEMO_CN_SUFFIX) for v in names)


DEMO_REFUSED = (
    "生产环境不得使用演示签章证书签章：请管理员配置正式的单位签章证书（SIGNING_P12_PATH），"
    "并删除实例目录 signing/ 下的演示证书。"
)
WEAK_PASSWORD_REFUSED = (
    "生产环境的签章证书不得使用演示密码或空密码：请管理员为签章证书设置强密码（SIGNING_P12_PASSWORD）。"
)


def check_production_signing() -> None:
    """At start-up in production: every certificate configured for signing (SIGNING_P12_PATH and the
    units' own ``<code>.p12`` in SIGNING_DIR) is a real one with a real password, or the service does
    not start. Signing itself refuses the same (:func:`signer_for_unit`)."""
    if _setting("SIGNING_PROVIDER", "pkcs12") != "pkcs12":
        return
    password = _setting("SIGNING_P12_PASSWORD")
    candidates = []
    if _setting("SIGNING_P12_PATH"):
        candidates.append(Path(_setting("SIGNING_P12_PATH")))
    if signing_dir().is_dir():
        candidates += sorted(signing_dir().glob("*.p12"))
    for path in candidates:
        if path.name == "demo.p12":
            raise RuntimeError(f"{DEMO_REFUSED}（证书文件 {path}）")
        try:
            signer = Pkcs12Signer(path, password, roots=[])
        except SigningUnavailable as err:
            try:  # made by `documents demo-cert` with the demo password?
                signer = Pkcs12Signer(path, DEMO_PASSWORD, roots=[])
            except SigningUnavailable:
                raise RuntimeError(
                    f"签章证书 {path} 无法读取（{err}），请检查 SIGNING_P12_PASSWORD。"
                ) from err
        if signer.is_demo:
            raise RuntimeError(f"{DEMO_REFUSED}（证书文件 {path}）")
        if is_demo_password(signer.password):
            raise RuntimeError(f"{WEAK_PASSWORD_REFUSED}（证书文件 {path}）")


def signing_dir() -> Path:
    return Path(_setting("SIGNING_DIR", Path(current_app.instance_path) / "signing"))


def _subject_text(cert) -> str:
    native = cert.subject.native
    return native.get("common_name") or native.get("organization_name") or cert.subject.human_friendly


DEMO_CN_SUFFIX = "（演示签章证书）"


def subject_names(cert) -> list[str]:
    """The names a signing certificate's subject gives (CN and O; a demo certificate's CN without
    its 「（演示签章证书）」 suffix)."""
    native = cert.subject.native
    names = []
    for key in ("common_name", "organization_name"):
        value = native.get(key)
        for v in value if isinstance(value, list) else [value]:
            if v:
                names.append(v.removesuffix(DEMO_CN_SUFFIX) if key == "common_name" else v)
    return names


def check_certificate_unit(cert, unit_name: str) -> None:
    """The certificate is the unit's own: its subject's CN or O is the unit's name, or signing refuses
    (the document says 「已加盖{单位}电子签章」)."""
    if unit_name in subject_names(cert):
        return
    raise SigningUnavailable(
        f"签章证书的主体「{_subject_text(cert)}」不是{unit_name}：文书写明「已加盖{unit_name}电子签章」，"
        f"须使用{unit_name}自己的签章证书（证书主体的名称 CN 或单位 O 为「{unit_name}」）。"
        f"请管理员把该单位的证书放在签章目录中，文件名为「单位代码.p12」。"
    )


def _tsa_settings() -> dict | None:
    url = _setting("SIGNING_TSA_URL")
    if not url:
        return None
    return {
        "url": str(url),
        "username": _setting("SIGNING_TSA_USERNAME"),
        "password": _setting("SIGNING_TSA_PASSWORD"),
        "timeout": int(_setting("SIGNING_TSA_TIMEOUT", 10)),
    }


def _timestamper(settings: dict):
    from pyhanko.sign.timestamps import HTTPTimeStamper  # heavy: pyHanko stays out of start-up

    auth = (settings["username"], settings["password"] or "") if settings["username"] else None
    return HTTPTimeStamper(settings["url"], auth=auth, timeout=settings["timeout"])


def _embed_validation() -> bool:
    return str(_setting("SIGNING_EMBED_VALIDATION", "1")).strip().lower() not in ("0", "false", "no", "off")


def trust_roots() -> list:
    from pyhanko.keys import load_cert_from_pemder  # heavy: pyHanko stays out of start-up

    raw = _setting("SIGNING_TRUST_ROOTS")
    if raw:
        paths = [Path(p.strip()) for p in str(raw).split(",") if p.strip()]
    else:
        paths = sorted(signing_dir().glob("*-ca.pem"))
    return [load_cert_from_pemder(str(p)) for p in paths if p.is_file()]


@functools.lru_cache(maxsize=32)
def _pkcs12(path: str, modified: int, size: int, password: str | None):
    from pyhanko.sign import signers  # heavy: pyHanko stays out of start-up

    return signers.SimpleSigner.load_pkcs12(path, passphrase=password.encode() if password else None)


def _file_version(path: Path) -> tuple[str, int, int]:
    """A certificate file as a cache key: its path, time stamp and size (a file replaced on disk is
    another version)."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def _load_pkcs12(path: Path, password: str | None):
    """pyHanko's signer of a PKCS#12 file, loaded (decrypted) once per process and file version: ≈ 8 ms
    a signature before. A file replaced on disk is read again."""
    return _pkcs12(*_file_version(path), password)


# The room pyHanko reserved for the signature (/Contents, hex digits) by signer and settings, when no
# time-stamping service is asked: pyHanko estimates it by making a whole dry-run signature first (≈ 13 ms),
# which comes out the same for the same certificates (and includes a 50 % margin).
_reserved: dict[tuple, int] = {}
_CONTENTS = re.compile(rb"/Contents\s*<([0-9a-fA-F]+)>")


def _reserved_room(signed: bytes) -> int | None:
    """The length of the last signature's /Contents in a signed PDF (hex digits)."""
    found = _CONTENTS.findall(signed[-200_000:])
    return len(found[-1]) if found else None


def _with_remembered_room(attempt, room_key: tuple | None):
    """``attempt(bytes_reserved)`` (a signature) with the room remembered for ``room_key``, if any;
    remembers the room pyHanko reserved otherwise. Should a remembered room not do, it is forgotten
    and pyHanko estimates again."""
    reserved = _reserved.get(room_key) if room_key else None
    if reserved is not None:
        try:
            return attempt(reserved)
        except Exception:
            _reserved.pop(room_key, None)
    out = attempt(None)
    if room_key and (room := _reserved_room(out.getvalue())):
        _reserved[room_key] = room
    return out


class Pkcs12Signer:
    """PAdES signatures with pyHanko from a PKCS#12 file (RSA or ECDSA key)."""

    provider = "pkcs12"

    def __init__(
        self,
        p12_path: str | Path,
        password: str | None,
        roots: list | None = None,
        unit_name: str | None = None,
    ):
        self.path = Path(p12_path)
        self.password = password
        try:
            self._signer = _load_pkcs12(self.path, password)
        except Exception as err:  # pyHanko logs and returns None on some errors, raises on others
            # The error's text may name the server's path: log it, show the file name only.
            logging.getLogger(__name__).warning("cannot load signing certificate %s: %s", self.path, err)
            raise SigningUnavailable(f"无法读取签章证书 {self.path.name}（文件或密码错误）。") from err
        if self._signer is None:
            raise SigningUnavailable(f"无法读取签章证书 {self.path.name}（文件或密码错误）。")
        self.roots = roots if roots is not None else trust_roots()
        self.unit_name = unit_name

    @property
    def is_demo(self) -> bool:
        return is_demo_certificate(self._signer.signing_cert)

    @property
    def subject(self) -> str:
        return _subject_text(self._signer.signing_cert)

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes:

        # heavy: pyHanko stays out of start-up
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        if is_production():
            if self.is_demo:
                raise SigningUnavailable(DEMO_REFUSED)
            if is_demo_password(self.password):
                raise SigningUnavailable(WEAK_PASSWORD_REFUSED)
        if self.unit_name is not None:
            check_certificate_unit(self._signer.signing_cert, self.unit_name)

        tsa = _tsa_settings()
        embed = _embed_validation()
        meta = signers.PdfSignatureMetadata(
            field_name="UnitSeal",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            name=self.subject,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            embed_validation_info=embed,
            validation_context=self._signing_context() if embed else None,
        )

        def attempt(bytes_reserved: int | None):
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            pdf_signer = signers.PdfSigner(
                meta, signer=self._signer, timestamper=_timestamper(tsa) if tsa else None
            )
            return _outside_event_loop(lambda: pdf_signer.sign_pdf(writer, bytes_reserved=bytes_reserved))

        room_key = (*_file_version(self.path), embed) if tsa is None else None
        try:
            out = _with_remembered_room(attempt, room_key)
        except Exception as err:
            if tsa is None and not embed:
                raise
            # The time-stamping service or a CRL/OCSP responder did not answer, or the chain is
            # incomplete: nothing is signed, the caller rolls back.
            logging.getLogger(__name__).warning("signing with time-stamp/validation data failed: %r", err)
            raise SigningUnavailable(
                "电子签章失败："
                + ("无法从时间戳服务（SIGNING_TSA_URL）取得可信时间戳，或" if tsa else "")
                + "无法验证签章证书链、取得其吊销信息（CRL/OCSP）。请稍后重试；仍不成功请联系管理员"
                "（检查时间戳服务、SIGNING_TRUST_ROOTS 中的根证书）。"
            ) from err
        return out.getvalue()

    def _signing_context(self):
        """The chain as the signer knows it, with fetching of the CRLs / OCSP responses its
        certificates name, so that they are embedded (PAdES B-LT). The trust roots are the
        configured ones and the self-signed CAs of the PKCS#12 file itself."""
        from pyhanko_certvalidator import ValidationContext  # heavy: pyHanko stays out of start-up

        chain = list(self._signer.cert_registry)
        own_roots = [c for c in chain if c.self_signed in ("yes", "maybe")]
        return ValidationContext(
            trust_roots=[*self.roots, *own_roots],
            other_certs=chain,
            allow_fetching=True,
            revocation_mode="soft-fail",
        )

    def verify(self, pdf: bytes) -> SignatureCheck:
        return verify_pades(pdf, self.roots)


def verify_pades(pdf: bytes, roots: list, *, at: datetime | None = None) -> SignatureCheck:
    """Check the one PAdES signature of ``pdf`` against ``roots`` (no network: no OCSP/CRL fetching).

    A signature with a trusted time-stamp is judged at the time-stamp's time, with the validation
    data (certificates, CRLs, OCSP responses) embedded in the document: an archived document still
    verifies after its certificate expired. ``at`` is the moment of the check (default now).
    Updates after the signature are accepted only when they add validation data or time-stamps
    (PAdES LT/LTA), nothing else."""
    # heavy: pyHanko stays out of start-up
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") != "/DocTimeStamp"]
    except Exception:
        return SignatureCheck(signed=False, problem="文件不是有效的 PDF，或已损坏。")
    if not signatures:
        return SignatureCheck(signed=False, problem="文件中没有电子签章。")
    if len(signatures) > 1:
        return SignatureCheck(signed=True, problem="文件中有多个签章，不是本系统出具的原件。")
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    moment = at or datetime.now(UTC)

    def context(when: datetime | None = None, **extra):
        kwargs = {
            "trust_roots": roots,
            "allow_fetching": False,
            "revocation_mode": "soft-fail",
            "moment": when or moment,
            **extra,
        }
        return dss.as_validation_context(kwargs) if dss is not None else ValidationContext(**kwargs)

    def validate(signer_context, ts_context):
        return _outside_event_loop(validate_pdf_signature, signatures[0], signer_context, ts_context)

    try:
        status = validate(context(), context())
        ts = status.timestamp_validity
        if ts is not None and ts.intact and ts.valid and not (status.valid and status.trusted and ts.trusted):
            # The certificates may have expired since, or their revocation data is no longer fresh:
            # judge the signature and its time-stamp at the time of the time-stamp, with the data
            # (chains, CRLs, OCSP responses) embedded then (PAdES B-LT).
            then = ts.timestamp
            status = validate(
                context(then, retroactive_revinfo=True), context(then, retroactive_revinfo=True)
            )
    except Exception as err:
        return SignatureCheck(signed=True, problem=f"签章无法校验：{type(err).__name__}")
    ts = status.timestamp_validity
    ts_ok = ts is not None and ts.intact and ts.valid and ts.trusted
    whole = _covers_whole_file(status, pdf)
    check = SignatureCheck(
        signed=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        whole_file=whole,
        signer=_subject_text(status.signing_cert),
        signed_at=ts.timestamp if ts_ok else status.signer_reported_dt,
        timestamped_at=ts.timestamp if ts_ok else None,
        validation_data=dss is not None,
    )
    if ts is not None and not ts_ok:
        check.trusted = False
        check.problem = "签章中的时间戳无效或不受信任。"
    else:
        check.problem = _signature_problem(check)
    return check


def _covers_whole_file(status, pdf: bytes) -> bool:
    """The signature covers the whole file, or only validation data / time-stamps were added after it."""
    from pyhanko.sign.diff_analysis import ModificationLevel  # heavy: pyHanko stays out of start-up
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    return status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.docmdp_ok is not False
        and status.modification_level is not None
        and status.modification_level <= ModificationLevel.LTA_UPDATES
        # nothing but a complete revision after it (the diff analysis does not see stray bytes)
        and pdf.rstrip(b"\r\n\t\0 ").endswith(b"%%EOF")
    )


def _signature_problem(check: SignatureCheck) -> str | None:
    """The first thing wrong with a signature whose time-stamp (if any) is fine, or None."""
    if not (check.intact and check.valid):
        return "签章校验失败：文件内容在签章后被改动。"
    if not check.trusted:
        return "签章证书不是本平台信任的证书，或在签章时已过期、被吊销。"
    if not check.whole_file:
        return "签章后文件被追加了内容。"
    return None


def _outside_event_loop(fn, *args):
    """pyHanko's sync calls use asyncio.run(), which refuses to run inside a running event loop
    (an async server, or Playwright's sync API in the same thread): then run them in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


# ---------------------------------------------------------------- choosing the signer


def signer_for_unit(unit) -> Signer:
    """The unit's own certificate if it has one, else the deployment's, else the demo one; signing
    refuses a certificate whose subject is not the unit (:func:`check_certificate_unit`)."""
    provider = _setting("SIGNING_PROVIDER", "pkcs12")
    if provider != Pkcs12Signer.provider:
        raise SigningUnavailable(f"未知的签章服务：{provider}")
    password = _setting("SIGNING_P12_PASSWORD")
    unit_name = unit.name if unit is not None else None
    own = signing_dir() / f"{unit.code}.p12" if unit is not None else None
    if own is not None and own.is_file():
        return Pkcs12Signer(own, password or DEMO_PASSWORD, unit_name=unit_name)
    path = _setting("SIGNING_P12_PATH")
    if path:
        return Pkcs12Signer(path, password, unit_name=unit_name)
    demo = signing_dir() / "demo.p12"
    if demo.is_file():
        return Pkcs12Signer(demo, password or DEMO_PASSWORD, unit_name=unit_name)
    where = f"{unit.name}（{unit.code}.p12）" if unit is not None else "单位"
    raise SigningUnavailable(
        f"尚未配置{where}的签章证书：请管理员配置该单位的签章证书，"
        "或运行 flask --app mediation documents demo-cert 生成演示证书。"
    )


def verifier(provider: str | None = None) -> Verifier | None:
    """What verifies documents signed by ``provider`` (trust roots only, no key); None for a
    provider this deployment does not know."""
    if (provider or Pkcs12Signer.provider) != Pkcs12Signer.provider:
        return None
    return _Pkcs12Verifier(trust_roots())


class _Pkcs12Verifier:
    provider = Pkcs12Signer.provider

    def __init__(self, roots):
        self.roots = roots

    def verify(self, pdf: bytes) -> SignatureCheck:
        return verify_pades(pdf, self.roots)


# ---------------------------------------------------------------- demo certificates


def _name(common_name: str, organization: str):
    # heavy: cryptography (signing only) stays out of start-up
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_MARKER),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _demo_common_name(name: str) -> str:
    """「{name}（演示签章证书）」 when it fits the 64 bytes a common name may have, else the name
    alone (the organization, O, is the unit's name in full; OU still marks it DEMO-ONLY)."""
    for candidate in (f"{name}{DEMO_CN_SUFFIX}", name):
        if len(candidate.encode()) <= 64:
            return candidate
    return name.encode()[:64].decode(errors="ignore")


def create_demo_certificates(
    directory: Path,
    *,
    unit_code: str | None = None,
    unit_name: str | None = None,
    password: str = DEMO_PASSWORD,
    years: int = 5,
) -> dict[str, Path]:
    """A demo CA (``demo-ca.pem`` + its key) and a signing certificate as PKCS#12 (``demo.p12``, or
    ``<unit code>.p12`` for one unit). An existing CA is reused, so older documents stay trusted."""
    # heavy: cryptography (signing only) stays out of start-up
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID

    private_dir(directory)
    ca_pem, ca_key_pem = directory / "demo-ca.pem", directory / "demo-ca.key"
    now = datetime.now(UTC) - timedelta(minutes=5)
    if ca_pem.is_file() and ca_key_pem.is_file():
        ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_pem.read_bytes(), password=None)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("矛盾纠纷多元化解平台演示根证书（仅供演示）", DEMO_CA_ORGANIZATION)
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_private(
            ca_key_pem,
            ca_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        write_private(ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM))

    key = ec.generate_private_key(ec.SECP256R1())
    common = _demo_common_name(unit_name or "矛盾纠纷多元化解平台")
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common, unit_name or "演示单位"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    p12 = directory / f"{unit_code or 'demo'}.p12"
    write_private(
        p12,
        pkcs12.serialize_key_and_certificates(
            common.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())
        ),
    )
    return {"ca": ca_pem, "p12": p12}


def signing_units() -> list:
    """The units that sign documents: every unit but the courts (they receive 司法确认 applications,
    they issue no 人民调解 documents) and the 网格 (they register, cases are handled elsewhere)."""
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    return [
        u for u in units if u.type != UnitType.COURT and not (u.type == UnitType.OTHER and u.channel is None)
    ]


def create_unit_demo_certificates(
    directory: Path, units, *, password: str = DEMO_PASSWORD, force: bool = False
) -> dict[str, Path]:
    """A demo certificate for each unit (``<code>.p12``, subject = the unit's name), all issued by
    the one demo CA; existing ones are kept unless ``force``. Returns the ones made, by unit code."""
    made = {}
    for unit in units:
        if (Path(directory) / f"{unit.code}.p12").exists() and not force:
            continue
        made[unit.code] = create_demo_certificates(
            Path(directory), unit_code=unit.code, unit_name=unit.name, password=password
        )["p12"]
    return made
