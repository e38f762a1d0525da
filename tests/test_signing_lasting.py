"""Signatures that last: each unit signs in its own name, a trusted time-stamp from an RFC 3161 service
(a local certomancer PKI served over HTTP on 127.0.0.1), validation data embedded (PAdES B-LT) so an
archived agreement still verifies after its certificate expired; verification of 补充协议 and of the
卷宗 (a PDF/A-3b archival copy); no character is issued that the document fonts cannot draw."""

from __future__ import annotations

import io
import re
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mediation.documents import glyphs, service, signing
from mediation.documents.models import AgreementStatus, SignedDocument
from mediation.extensions import db
from tests.documents_helpers import (
    AGREEMENT,
    configure_signing,
    data_url,
    effective_agreement,
    make_case,
    seal_jpeg,
    signature_png,
)

P12_PASSWORD = "Test-PKI-Passw0rd"


@pytest.fixture
def signing_dir(app, world, tmp_path):
    return configure_signing(app, tmp_path)


def _token(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# ---------------------------------------------------------------- a local PKI with a time-stamping service


def _write_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _pki_config(prefix: str, now: datetime, signer_name: str, signer_days: int) -> dict:
    long = {"valid-from": _stamp(now - timedelta(days=365)), "valid-to": _stamp(now + timedelta(days=3650))}
    ca_ext = [
        {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {
                "schema": "key-usage",
                "params": ["digital_signature", "key_cert_sign", "crl_sign"],
            },
        },
    ]
    crl_root = {
        "id": "crl_distribution_points",
        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
    }
    return {
        "external-url-prefix": prefix,
        "keysets": {
            "k": {"keys": {name: {"path": f"{name}.key.pem"} for name in ("root", "tsa", "ocsp", "signer")}}
        },
        "pki-architectures": {
            "lasting": {
                "keyset": "k",
                "entity-defaults": {"country-name": "CN", "organization-name": "测试证书机构"},
                "entities": {
                    "root": {"common-name": "测试根证书"},
                    "tsa": {"common-name": "测试时间戳服务"},
                    "ocsp": {"common-name": "测试OCSP服务"},
                    "signer": {"common-name": signer_name, "organization-name": signer_name},
                },
                "certs": {
                    "root": {"subject": "root", "issuer": "root", "validity": long, "extensions": ca_ext},
                    "tsa": {
                        "issuer": "root",
                        "validity": long,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                            },
                            {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                            crl_root,
                        ],
                    },
                    "ocsp": {
                        "issuer": "root",
                        "validity": long,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                            },
                            {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                            {"id": "ocsp_no_check"},
                        ],
                    },
                    "signer": {
                        "issuer": "root",
                        "validity": {
                            "valid-from": _stamp(now - timedelta(days=1)),
                            "valid-to": _stamp(now + timedelta(days=signer_days)),
                        },
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {
                                    "schema": "key-usage",
                                    "params": ["digital_signature", "non_repudiation"],
                                },
                            },
                            crl_root,
                            {
                                "id": "authority_information_access",
                                "smart-value": {
                                    "schema": "aia-urls",
                                    "params": {"ocsp-responder-names": ["root"]},
                                },
                            },
                        ],
                    },
                },
                "services": {
                    "ocsp": {"root": {"for-issuer": "root", "responder-cert": "ocsp", "signing-key": "ocsp"}},
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P7D",
                        }
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


class LocalPKI:
    """certomancer's PKI and its TSA / OCSP / CRL endpoints, served by werkzeug on 127.0.0.1."""

    def __init__(self, tmp_path, signer_name: str, signer_days: int = 30):
        from certomancer.integrations.animator import Animator, AnimatorArchStore
        from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig
        from werkzeug.serving import make_server

        self.hits: list[str] = []
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        keys = tmp_path / "pki-keys"
        keys.mkdir()
        for name in ("root", "tsa", "ocsp", "signer"):
            _write_key(keys / f"{name}.key.pem")
        self.now = datetime.now(UTC).replace(microsecond=0)
        config = CertomancerConfig(
            _pki_config(self.url, self.now, signer_name, signer_days), key_search_dir=str(keys)
        )
        self.arch = config.get_pki_arch(ArchLabel("lasting"))
        self.app = Animator(AnimatorArchStore({self.arch.arch_label: self.arch}), with_web_ui=False)
        self.signer_cert = self.arch.get_cert(CertLabel("signer"))
        self.root_cert = self.arch.get_cert(CertLabel("root"))
        self.p12 = self.arch.package_pkcs12(CertLabel("signer"), password=P12_PASSWORD.encode())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _dispatch(self, environ, start_response):
        self.hits.append(environ.get("PATH_INFO", ""))
        return self.app(environ, start_response)

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/lasting/tsa/tsa"

    def root_pem(self) -> bytes:
        from asn1crypto import pem

        return pem.armor("CERTIFICATE", self.root_cert.dump())

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def local_pki(app, world, tmp_path):
    """The 海滨街道人民调解委员会 signs with a certificate of the local PKI (valid 30 days), and the
    platform's TSA is the local one."""
    directory = tmp_path / "signing"
    directory.mkdir(mode=0o700)
    pki = LocalPKI(tmp_path, world.committee_a.name)
    (directory / f"{world.committee_a.code}.p12").write_bytes(pki.p12)
    (directory / "lasting-ca.pem").write_bytes(pki.root_pem())
    app.config.update(
        SIGNING_DIR=str(directory),
        SIGNING_P12_PASSWORD=P12_PASSWORD,
        SIGNING_TSA_URL=pki.tsa_url,
        PUBLIC_URL="https://tiaojie.example.gov.cn",
    )
    yield pki
    pki.stop()


def test_agreement_is_signed_pades_b_lt_with_a_trusted_time_stamp_and_outlives_its_certificate(
    app, world, local_pki
):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    agreement = effective_agreement(world)
    doc = service.signed_agreement(agreement)
    pdf = doc.pdf
    # The time-stamp came from the TSA over HTTP on loopback; the chain's OCSP / CRL were fetched.
    assert any(h.endswith("/tsa/tsa") for h in local_pki.hits), local_pki.hits
    assert any("/ocsp/" in h or "/crls/" in h for h in local_pki.hits), local_pki.hits
    assert doc.signer_subject == world.committee_a.name

    # pyHanko's own view: a signature time-stamp token (B-T) with its time …
    reader = PdfFileReader(io.BytesIO(pdf))
    (sig,) = [s for s in reader.embedded_signatures]
    unsigned = sig.signer_info["unsigned_attrs"].native
    assert any(a["type"] == "signature_time_stamp_token" for a in unsigned)
    roots = [local_pki.root_cert]
    # pyHanko's sync API runs asyncio.run(): outside the event loop a browser test may have left running.
    status = signing._outside_event_loop(
        validate_pdf_signature,
        sig,
        ValidationContext(trust_roots=roots, allow_fetching=False),
        ValidationContext(trust_roots=roots, allow_fetching=False),
    )
    assert status.intact and status.valid and status.trusted
    ts = status.timestamp_validity
    assert ts is not None and ts.valid and ts.trusted
    assert abs(ts.timestamp - datetime.now(UTC)) < timedelta(minutes=5)
    # … and the validation data in the document security store (B-LT): the chain, OCSP and CRLs.
    dss = DocumentSecurityStore.read_dss(reader)
    dss_certs = {c.sha256 for c in dss.load_certs()}
    assert local_pki.signer_cert.sha256 in dss_certs and local_pki.root_cert.sha256 in dss_certs
    assert dss.ocsps and dss.crls

    # The platform's check says so too.
    check = signing.verify_pades(pdf, signing.trust_roots())
    assert check.ok and check.timestamped_at is not None and check.validation_data
    page = app.test_client().get(f"/verify/{doc.code}").get_data(as_text=True)
    assert 'data-verdict="genuine"' in page and "data-timestamp" in page and "证书过期后仍可核验" in page

    # Years later: the certificate has expired, the PKI's services are gone (no network at all).
    local_pki.stop()
    after_expiry = local_pki.signer_cert.not_valid_after + timedelta(days=400)
    assert local_pki.signer_cert.not_valid_after < after_expiry
    late = signing.verify_pades(pdf, signing.trust_roots(), at=after_expiry)
    assert late.ok, late.problem
    assert late.timestamped_at == check.timestamped_at
    # pyHanko checking the signer at that moment with only the embedded data and the time-stamp's time:
    embedded = dss.as_validation_context(
        {
            "trust_roots": roots,
            "allow_fetching": False,
            "moment": ts.timestamp,
            "retroactive_revinfo": True,
            "revocation_mode": "hard-fail",
        }
    )
    status = signing._outside_event_loop(
        validate_pdf_signature,
        sig,
        embedded,
        ValidationContext(trust_roots=roots, allow_fetching=False, moment=after_expiry),
    )
    assert status.valid and status.trusted and status.timestamp_validity.trusted


def test_without_a_time_stamp_the_signature_does_not_outlive_its_certificate(app, world, local_pki):
    """The control: the same certificate without a TSA (PAdES B-B) fails once the certificate expired."""
    app.config["SIGNING_TSA_URL"] = ""
    doc = service.signed_agreement(effective_agreement(world))
    assert not any(h.endswith("/tsa/tsa") for h in local_pki.hits)
    now = signing.verify_pades(doc.pdf, signing.trust_roots())
    assert now.ok and now.timestamped_at is None
    late = signing.verify_pades(
        doc.pdf, signing.trust_roots(), at=local_pki.signer_cert.not_valid_after + timedelta(days=1)
    )
    assert not late.ok and "过期" in late.problem


def test_an_unreachable_tsa_stops_issuing_and_nothing_is_stored(app, world, local_pki):
    app.config["SIGNING_TSA_URL"] = local_pki.url + "/lasting/tsa/no-such-tsa"
    with pytest.raises(service.DocumentError, match="时间戳"):
        effective_agreement(world)
    db.session.rollback()
    assert db.session.query(SignedDocument).count() == 0


# ---------------------------------------------------------------- each unit signs in its own name


def test_a_unit_signs_only_with_a_certificate_in_its_own_name(app, world, signing_dir):
    # 双港镇's certificate file is in fact 海滨街道's: refused, in Chinese, naming both.
    shutil.copy(signing_dir / f"{world.committee_a.code}.p12", signing_dir / f"{world.committee_b.code}.p12")
    signer = signing.signer_for_unit(world.committee_b)
    with pytest.raises(signing.SigningUnavailable, match="不是双港镇人民调解委员会") as err:
        signer.sign(b"%PDF-1.7", reason="测试", location="双港")
    assert "海滨街道人民调解委员会" in str(err.value)
    # A deployment-wide certificate (SIGNING_P12_PATH) in another name is refused the same way.
    (signing_dir / f"{world.committee_a.code}.p12").unlink()
    other = signing.create_demo_certificates(signing_dir, unit_code="deployment", unit_name="某某公司")["p12"]
    app.config.update(SIGNING_P12_PATH=str(other), SIGNING_P12_PASSWORD=signing.DEMO_PASSWORD)
    with pytest.raises(service.DocumentError, match="不是海滨街道人民调解委员会") as e:
        effective_agreement(world)
    db.session.rollback()
    assert "「某某公司（演示签章证书）」" in e.value.message
    assert db.session.query(SignedDocument).count() == 0


def test_the_signed_pdf_names_the_unit_of_its_certificate(world, signing_dir):
    doc = service.signed_agreement(effective_agreement(world))
    check = signing.verify_pades(doc.pdf, signing.trust_roots())
    assert check.ok and check.signer == f"{world.committee_a.name}（演示签章证书）"
    assert doc.signer_subject.startswith(world.committee_a.name)


def test_demo_loader_makes_a_certificate_for_each_signing_unit(app, world, tmp_path):
    from mediation.demo import ensure_signing_certificate

    app.config["SIGNING_DIR"] = str(tmp_path / "demo-signing")
    assert "生成" in ensure_signing_certificate()
    for unit in signing.signing_units():
        signer = signing.signer_for_unit(unit)
        assert signer.is_demo and unit.name in signing.subject_names(signer._signer.signing_cert)
        assert signing.DEMO_MARKER in signer._signer.signing_cert.subject.native["organizational_unit_name"]
    assert "已存在" in ensure_signing_certificate()  # kept: what was signed stays verifiable

    # A long name (a common name holds 64 bytes, 21 Chinese characters): the organization carries it.
    long_name = "海滨区海滨街道新家园社区矛盾纠纷多元化解人民调解委员会"
    p12 = signing.create_demo_certificates(tmp_path / "long", unit_code="L", unit_name=long_name)["p12"]
    signer = signing.Pkcs12Signer(p12, signing.DEMO_PASSWORD, roots=[], unit_name=long_name)
    signing.check_certificate_unit(signer._signer.signing_cert, long_name)
    assert signer.is_demo


# ---------------------------------------------------------------- verification of 补充协议 and the 卷宗


def _supplement(world, original):
    user = world.mediator_a.user
    supplement = service.draft_supplement(
        user,
        original,
        {"terms": "一、付款期限延长至二〇二七年一月十日。", "performance_method": "银行转账。"},
    )
    service.submit_for_signing(user, supplement)
    for index in range(len(supplement.parties)):
        service.sign(user, supplement, "当事人", party_index=index, method="按指印")
    service.affix_seal(user, supplement)
    service.sign(user, supplement, "调解员", image=data_url(signature_png()))
    db.session.commit()
    assert supplement.is_effective
    return supplement


def test_verify_page_links_an_amended_agreement_and_its_supplement(world, signing_dir, client):
    original = effective_agreement(world)
    first = service.signed_agreement(original)
    before = client.get(f"/verify/{first.code}").get_data(as_text=True)
    assert "已被补充协议" not in before
    supplement = _supplement(world, original)
    second = service.signed_agreement(supplement)

    page = client.get(f"/verify/{first.code}").get_data(as_text=True)
    assert 'data-verdict="genuine"' in page
    masked = service.public_number(supplement)
    assert re.search(r"已被补充协议（" + re.escape(masked) + r"）变更/补充", page)
    assert f'href="/verify/{second.code}"' in page
    assert original.dispute.case_no not in page  # the case number's sequence stays hidden

    page = client.get(f"/verify/{second.code}").get_data(as_text=True)
    assert 'data-verdict="genuine"' in page
    assert f"变更/补充了人民调解协议书（{service.public_number(original)}）" in page
    assert f'href="/verify/{first.code}"' in page


def test_case_file_is_pdf_a_and_its_code_verifies(world, signing_dir, web, tmp_path):
    from pypdf import PdfReader

    dispute = make_case(world)
    effective_agreement(world, dispute)
    web.login("mediator_a")
    c = web.client
    response = c.get(f"/disputes/{dispute.id}/case-file.pdf")
    assert response.status_code == 200
    pdf = response.data
    doc = db.session.scalars(select(SignedDocument).where(SignedDocument.doc_type == "卷宗")).one()

    # PDF/A-3b: the XMP identification, fonts embedded; the signature is an incremental update
    # of the PDF/A file, whose first revision ends where the signature's revision begins.
    reader = PdfReader(io.BytesIO(pdf))
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = xmp.stream.get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", raw) and re.search(r"pdfaid:conformance(>|=\")B", raw)
    fonts = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            fonts.append(
                descriptor is not None
                and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            )
    assert fonts and all(fonts)
    assert pdf.count(b"%%EOF") >= 2  # the signature (and its validation data) appended, not rewritten
    from pyhanko.pdf_utils.reader import PdfFileReader

    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert sig.signed_revision >= 1  # WeasyPrint's PDF/A file is revision 0, untouched

    # Scanning the code: the platform confirms it issued it (not a red failure box).
    page = c.get(f"/verify/{doc.code}").get_data(as_text=True)
    assert 'data-verdict="registered"' in page and 'data-verdict="not-genuine"' not in page
    assert "校验码有效" in page
    # Uploading the genuine file: green; a tampered one: red.
    token = _token(c, f"/verify/{doc.code}")
    ok = c.post(
        f"/verify/{doc.code}",
        data={"csrf_token": token, "file": (io.BytesIO(pdf), "卷宗.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert 'data-verdict="genuine"' in ok
    tampered = bytearray(pdf)
    tampered[len(pdf) // 3] ^= 0x01
    bad = c.post(
        f"/verify/{doc.code}",
        data={"csrf_token": token, "file": (io.BytesIO(bytes(tampered)), "x.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert 'data-verdict="not-genuine"' in bad and "哈希值与出具时登记的不同" in bad


# ---------------------------------------------------------------- glyphs


def test_glyph_checker_names_character_code_point_and_field():
    assert glyphs.missing_glyphs({"terms": "李四赔偿张三人民币叁仟伍佰元整（¥3500.00）。\n𠀀"}) == []
    missing = glyphs.missing_glyphs({"facts": "正常文字", "terms": "甲\ue000乙\ue000"})
    assert missing == [("terms", "\ue000")]  # once per field
    assert glyphs.describe("\ue000") == "「\ue000」（U+E000）"


def test_a_character_without_glyph_stops_submitting_and_issuing(world, signing_dir):
    user = world.mediator_a.user
    dispute = make_case(world)
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    rare = "\U00030000"  # CJK Extension G: valid input, but none of the document fonts has it
    agreement = service.draft_agreement(user, dispute, {**AGREEMENT, "terms": f"一、李四赔偿张三{rare}元。"})
    with pytest.raises(service.DocumentError) as err:
        service.submit_for_signing(user, agreement)
    assert err.value.status == 422
    assert "协议内容" in err.value.message and "U+30000" in err.value.message and rare in err.value.message
    assert "terms" in err.value.errors
    assert agreement.status == AgreementStatus.DRAFT

    # A party's name with a private-use character, in a text already being signed (as by an older
    # version): the last signature does not issue the document.
    service.update_draft(user, agreement, {"terms": AGREEMENT["terms"]})
    service.submit_for_signing(user, agreement)
    db.session.commit()
    agreement.parties = [{**agreement.parties[0], "name": "张\ue000"}, *agreement.parties[1:]]
    db.session.commit()
    for index in range(len(agreement.parties)):
        service.sign(user, agreement, "当事人", party_index=index, method="按指印")
    service.affix_seal(user, agreement)
    with pytest.raises(service.DocumentError) as err:
        service.sign(user, agreement, "调解员", image=data_url(signature_png()))
    assert "当事人1（张\ue000）的姓名或名称" in err.value.message and "U+E000" in err.value.message
    db.session.rollback()
    assert db.session.query(SignedDocument).count() == 0
