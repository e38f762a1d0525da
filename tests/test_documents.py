"""Agreements: drafting, signing, taking effect, immutability, 补充协议, signed PDFs and verification."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
from sqlalchemy import select, update

from mediation.disputes.models import Event
from mediation.documents import service, signing
from mediation.documents.models import (
    Agreement,
    AgreementKind,
    AgreementStatus,
    ImmutableError,
    Signature,
    SignedDocument,
    UnitSeal,
)
from mediation.extensions import db
from tests.documents_helpers import (
    AGREEMENT,
    PUBLIC_URL,
    configure_signing,
    data_url,
    demo_roots,
    effective_agreement,
    make_case,
    pdf_fonts,
    pdf_text,
    seal_jpeg,
    signature_png,
)


@pytest.fixture
def signing_dir(app, world, tmp_path):
    return configure_signing(app, tmp_path)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------- the whole life of an agreement


def test_agreement_takes_effect_when_all_have_signed_and_the_pdf_is_signed(world, signing_dir, tmp_path):
    dispute = make_case(world)
    user = world.mediator_a.user
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    a = service.draft_agreement(user, dispute, AGREEMENT)
    assert a.status == AgreementStatus.DRAFT and a.kind == AgreementKind.AGREEMENT
    assert [p["name"] for p in a.parties] == ["张三", "李四"]
    service.submit_for_signing(user, a)
    service.sign(user, a, "当事人", party_index=0, image=data_url(signature_png()))
    service.sign(user, a, "当事人", party_index=1, method="按指印")
    assert a.status == AgreementStatus.SIGNING
    assert a.missing() == ["调解员签名", "加盖调解组织印章"]
    service.affix_seal(user, a)
    service.sign(user, a, "调解员", image=data_url(signature_png()))
    db.session.commit()

    assert a.status == AgreementStatus.EFFECTIVE and a.effective_on is not None
    types = [e.type for e in dispute.events]
    assert types.count("agreement_signed") == 3 and "agreement_sealed" in types
    effective = db.session.scalars(
        select(Event).where(Event.dispute_id == dispute.id, Event.type == "agreement_effective")
    ).one()
    assert effective.data == {
        "agreement_id": a.id,
        "effective_on": a.effective_on.isoformat(),
        "performance_due": None,
    }

    doc = service.signed_agreement(a)
    assert doc.doc_type == "人民调解协议书" and len(doc.code) == 10
    assert hashlib.sha256(doc.pdf).hexdigest() == doc.sha256
    assert doc.pdf.startswith(b"%PDF")

    text = _flat(pdf_text(doc.pdf))
    for expected in (
        "人民调解协议书",
        "张三",
        "李四",
        "申请人",
        "被申请人",
        "人民币叁仟伍佰元整",
        "银行转账",
        "海滨街道人民调解委员会",
        doc.code,
        "本协议一式3份",
        "第1页共",
    ):
        assert expected in text, expected
    assert f"{PUBLIC_URL}/verify" in text
    drawn = db.session.scalars(
        select(Signature).where(Signature.agreement_id == a.id, Signature.method == "手写签名")
    ).all()
    assert len(drawn) == 2 and all(s.image.startswith(b"\x89PNG") for s in drawn)

    # The signature validates against the demo CA (pyHanko), and covers the whole file.
    check = signing.verify_pades(doc.pdf, demo_roots(signing_dir))
    assert check.ok, check
    assert "演示签章证书" in check.signer

    # Fonts: the CJK families named in the CSS, embedded and subset.
    fonts = pdf_fonts(doc.pdf, tmp_path)
    assert fonts and any("Noto-Serif-CJK-SC" in row[0] for row in fonts)
    for row in fonts:
        assert re.match(r"^[A-Z]{6}\+", row[0]), row  # subset prefix
        assert row[-5:-2] == ["yes", "yes", "yes"], row  # emb sub uni


def test_performance_due_travels_in_the_effective_event(world, signing_dir):
    from datetime import timedelta

    from mediation.common.time import local_today

    due = local_today() + timedelta(days=20)
    a = effective_agreement(world, performance_due=due)
    event = db.session.scalars(select(Event).where(Event.type == "agreement_effective")).one()
    assert event.data["performance_due"] == due.isoformat()
    assert event.data["agreement_id"] == a.id
    assert "履行期限" in pdf_text(service.signed_agreement(a).pdf)


def test_submitting_needs_facts_terms_and_performance(world, signing_dir):
    a = service.draft_agreement(world.mediator_a.user, make_case(world), {})
    with pytest.raises(service.DocumentError) as err:
        service.submit_for_signing(world.mediator_a.user, a)
    assert err.value.status == 422
    assert set(err.value.errors) == {"terms", "performance_method"}  # facts default to the case summary


def test_no_certificate_means_no_effect(world, app, tmp_path):
    app.config["SIGNING_DIR"] = str(tmp_path / "empty")
    dispute = make_case(world)
    user = world.mediator_a.user
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    a = service.draft_agreement(user, dispute, AGREEMENT)
    service.submit_for_signing(user, a)
    service.sign(user, a, "当事人", party_index=0, method="纸质签名")
    service.sign(user, a, "当事人", party_index=1, method="纸质签名")
    service.affix_seal(user, a)
    db.session.commit()
    with pytest.raises(service.DocumentError) as err:
        service.sign(user, a, "调解员", method="纸质签名")
    db.session.rollback()
    assert err.value.status == 409 and "签章证书" in err.value.message
    assert db.session.get(Agreement, a.id).status == AgreementStatus.SIGNING


# ---------------------------------------------------------------- verification


def test_a_changed_byte_fails_verification_in_pyhanko_and_on_the_page(world, signing_dir, client):
    a = effective_agreement(world)
    doc = service.signed_agreement(a)
    original = doc.pdf
    roots = demo_roots(signing_dir)
    assert signing.verify_pades(original, roots).ok

    # Change one byte inside the signed range (the first content bytes after the header).
    tampered = bytearray(original)
    position = len(original) // 4
    tampered[position] = (tampered[position] + 1) % 256
    tampered = bytes(tampered)
    check = signing.verify_pades(tampered, roots)
    assert not check.ok and not check.intact

    # Bytes appended after signing are not covered.
    assert not signing.verify_pades(original + b"\n% appended\n", roots).ok

    # The public page: the stored original is genuine; an uploaded original too; a changed upload is not.
    page = client.get(f"/verify/{doc.code}")
    assert page.status_code == 200 and 'data-verdict="genuine"' in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    import io

    ok = client.post(
        f"/verify/{doc.code}",
        data={"csrf_token": token, "file": (io.BytesIO(original), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert 'data-verdict="genuine"' in ok.get_data(as_text=True)
    bad = client.post(
        f"/verify/{doc.code}",
        data={"csrf_token": token, "file": (io.BytesIO(tampered), "a.pdf")},
        content_type="multipart/form-data",
    )
    body = bad.get_data(as_text=True)
    assert 'data-verdict="not-genuine"' in body and "哈希值" in body

    # Someone changes the stored bytes behind the application's back (raw SQL, bypassing the model).
    db.session.execute(update(SignedDocument).where(SignedDocument.id == doc.id).values(pdf=tampered))
    db.session.commit()
    db.session.expire_all()
    body = client.get(f"/verify/{doc.code}").get_data(as_text=True)
    assert 'data-verdict="not-genuine"' in body
    result = service.verify(doc.code)
    assert result.stored_intact is False and not result.signature.ok


def test_verification_page_is_public_and_shows_no_personal_data(world, signing_dir, client):
    a = effective_agreement(world)
    doc = service.signed_agreement(a)
    dispute = a.dispute
    response = client.get(f"/verify/{doc.code.lower()[:5]}-{doc.code.lower()[5:]}")  # typed loosely
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "人民调解协议书" in body and "海滨街道人民调解委员会" in body and doc.sha256 in body
    masked = service.mask_case_no(dispute.case_no)
    assert masked in body and "*" in masked and dispute.case_no not in body
    for personal in (
        "张三",
        "李四",
        "13800138000",
        dispute.parties[0].id_number,
        "3500",
        "漏水",
        "新家园社区",
    ):
        assert personal not in body, personal
    assert client.get("/verify/ABCDEFGHJK").status_code == 404
    assert client.get("/verify/../../etc").status_code == 404
    # The code form redirects to the page.
    start = client.get("/verify")
    token = re.search(r'name="csrf_token" value="([^"]+)"', start.get_data(as_text=True)).group(1)
    moved = client.post("/verify", data={"csrf_token": token, "code": f" {doc.code.lower()} "})
    assert moved.status_code == 303 and moved.headers["Location"].endswith(f"/verify/{doc.code}")


def test_case_number_mask():
    assert service.mask_case_no("（2026）海滨调字第0012号") == "（2026）海滨调字第****号"
    assert service.mask_case_no("A-77") == "A-**"


# ---------------------------------------------------------------- immutability and 补充协议


def test_an_agreement_in_effect_cannot_change(world, signing_dir):
    a = effective_agreement(world)
    user = world.mediator_a.user
    with pytest.raises(service.DocumentError) as err:
        service.update_draft(user, a, {"terms": "改了"})
    assert err.value.status == 409
    with pytest.raises(service.DocumentError):
        service.sign(user, a, "当事人", party_index=0, method="纸质签名")
    with pytest.raises(service.DocumentError):
        service.affix_seal(user, a)
    with pytest.raises(service.DocumentError):
        service.return_to_draft(user, a)

    # The model refuses too, whatever code path tries.
    a.terms = "悄悄改掉的条款"
    with pytest.raises(ImmutableError):
        db.session.flush()
    db.session.rollback()
    a = db.session.get(Agreement, a.id)
    db.session.delete(a.signatures[0])
    with pytest.raises(ImmutableError):
        db.session.flush()
    db.session.rollback()
    doc = db.session.scalars(select(SignedDocument)).one()
    doc.pdf = b"%PDF-1.7 other"
    with pytest.raises(ImmutableError):
        db.session.flush()
    db.session.rollback()
    a = db.session.get(Agreement, a.id)
    a.status = AgreementStatus.DRAFT
    with pytest.raises(ImmutableError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Agreement, a.id).terms == AGREEMENT["terms"]


def test_signing_freezes_the_text_and_signatures_are_not_repeated(world, signing_dir):
    user = world.mediator_a.user
    a = service.draft_agreement(user, make_case(world), AGREEMENT)
    service.submit_for_signing(user, a)
    with pytest.raises(service.DocumentError) as err:
        service.update_draft(user, a, {"terms": "x"})
    assert err.value.status == 409
    service.return_to_draft(user, a)  # nobody signed yet: may go back
    service.update_draft(user, a, {"terms": "新条款"})
    service.submit_for_signing(user, a)
    service.sign(user, a, "当事人", party_index=0, method="纸质签名")
    with pytest.raises(service.DocumentError) as err:
        service.sign(user, a, "当事人", party_index=0, method="按指印")
    assert err.value.status == 409
    with pytest.raises(service.DocumentError) as err:
        service.return_to_draft(user, a)
    assert err.value.status == 409
    with pytest.raises(service.DocumentError) as err:
        service.sign(user, a, "当事人", party_index=7, method="纸质签名")
    assert err.value.status == 422
    with pytest.raises(service.DocumentError) as err:  # only a mediator signs as mediator
        service.sign(world.admin.user, a, "调解员", method="纸质签名")
    assert err.value.status == 403


def test_a_correction_is_a_linked_supplement(world, signing_dir):
    original = effective_agreement(world)
    user = world.mediator_a.user
    supplement = service.draft_supplement(
        user,
        original,
        {"terms": "一、原协议第一条的赔偿金额更正为人民币叁仟捌佰元整。", "performance_method": "同原协议。"},
    )
    db.session.commit()
    assert supplement.kind == AgreementKind.SUPPLEMENT and supplement.original is original
    assert original.supplements == [supplement]
    # Each has its own number from the 调委会's agreement series (no "-补2" after the case number).
    mark = world.committee_a.abbreviation
    assert re.fullmatch(rf"（\d{{4}}）{mark}调协字第0001号", original.number)
    assert re.fullmatch(rf"（\d{{4}}）{mark}调协字第0002号", supplement.number)
    assert original.number in supplement.facts
    service.submit_for_signing(user, supplement)
    service.sign(user, supplement, "当事人", party_index=0, method="纸质签名")
    service.sign(user, supplement, "当事人", party_index=1, method="纸质签名")
    service.affix_seal(user, supplement)
    service.sign(user, supplement, "调解员", image=data_url(signature_png()))
    db.session.commit()
    text = _flat(pdf_text(service.signed_agreement(supplement).pdf))
    assert "补充协议" in text and original.number in text and "叁仟捌佰元整" in text
    assert original.status == AgreementStatus.EFFECTIVE and original.terms == AGREEMENT["terms"]

    draft = service.draft_agreement(user, original.dispute, {})
    with pytest.raises(service.DocumentError) as err:  # only an agreement in effect gets a supplement
        service.draft_supplement(user, draft, {})
    assert err.value.status == 409


# ---------------------------------------------------------------- images


def test_drawn_signatures_must_be_sane_pngs(world):
    from PIL import Image

    good = service.validate_signature_png(data_url(signature_png()))
    assert good.startswith(b"\x89PNG")
    import io

    with Image.open(io.BytesIO(good)) as img:
        assert img.width < 600  # cropped to the ink
    bad_inputs = [
        "https://example.com/sig.png",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        data_url(b"not really a png"),
        data_url(signature_png(ink=False)),  # empty pad
        data_url(signature_png(width=5000, height=100)),  # absurd size
        data_url(signature_png(width=50, height=20)),
        "data:image/png;base64," + "A" * (service.MAX_SIGNATURE_BYTES * 2),
    ]
    jpeg = seal_jpeg()
    bad_inputs.append(data_url(jpeg, "image/png"))  # JPEG bytes claiming to be PNG
    for value in bad_inputs:
        with pytest.raises(service.DocumentError) as err:
            service.validate_signature_png(value)
        assert err.value.status == 422


def test_seal_upload_is_admin_only_validated_and_reencoded(world):
    seal = service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    assert seal.image.startswith(b"\x89PNG") and seal.active
    import io

    from PIL import Image

    with Image.open(io.BytesIO(seal.image)) as img:
        assert img.mode == "RGBA" and img.getpixel((2, 2))[3] == 0  # white background made transparent
    second = service.upload_seal(world.admin.user, world.committee_a, seal_jpeg(400))
    db.session.commit()
    assert not db.session.get(UnitSeal, seal.id).active and service.active_seal(world.committee_a) is second
    with pytest.raises(service.DocumentError) as err:
        service.upload_seal(world.mediator_a.user, world.committee_a, seal_jpeg())
    assert err.value.status == 403
    for raw in (b"", b"GIF89a not an image", b"%PDF-1.7"):
        with pytest.raises(service.DocumentError) as err:
            service.upload_seal(world.admin.user, world.committee_a, raw)
        assert err.value.status == 422


def test_seal_keeps_what_shows_and_nothing_where_it_is_transparent(world):
    """A scanned seal's noise under its transparent background would cost half its bytes in every PDF."""
    import io

    from PIL import Image, ImageChops

    raw = seal_jpeg()
    seal = service.upload_seal(world.admin.user, world.committee_a, raw)
    with Image.open(io.BytesIO(seal.image)) as stored, Image.open(io.BytesIO(raw)) as scan:
        stored, scan = stored.convert("RGBA"), scan.convert("RGB")
    alpha = stored.getchannel("A")
    hidden = alpha.point(lambda v: 255 if v == 0 else 0)
    assert hidden.getbbox() and alpha.getbbox()  # some of it shows, some is transparent
    # Where it is transparent: one colour, white. Where it shows: the scan's pixels, untouched.
    white = Image.new("RGB", stored.size, (255, 255, 255))
    assert not ImageChops.difference(Image.composite(stored.convert("RGB"), white, hidden), white).getbbox()
    shown = alpha.point(lambda v: 255 if v else 0)
    black = Image.new("RGB", stored.size)
    assert not ImageChops.difference(
        Image.composite(stored.convert("RGB"), black, shown), Image.composite(scan, black, shown)
    ).getbbox()


def test_sealing_needs_an_uploaded_seal_of_the_agreements_unit(world, signing_dir):
    user = world.mediator_a.user
    a = service.draft_agreement(user, make_case(world), AGREEMENT)
    service.submit_for_signing(user, a)
    with pytest.raises(service.DocumentError) as err:
        service.affix_seal(user, a)
    assert err.value.status == 409 and "尚未上传印章" in err.value.message
    service.upload_seal(world.admin.user, world.committee_b, seal_jpeg())
    with pytest.raises(service.DocumentError):  # another unit's seal does not count
        service.affix_seal(user, a)


# ---------------------------------------------------------------- certificates


def test_a_certificate_is_read_once_and_the_room_for_its_signature_estimated_once(
    world, signing_dir, monkeypatch
):
    """Counted: every signature decrypted the unit's PKCS#12 file again (≈ 8 ms) and had pyHanko make a
    whole dry-run signature to size the room for it (≈ 13 ms). Without a time-stamping service both
    are done once per certificate file: the signatures validate and have that same room. A file
    replaced on disk is read (and sized) again; a remembered room that does not do is sized again."""
    from pyhanko.sign import signers
    from pyhanko.sign.signers.pdf_signer import PdfSigningSession
    from weasyprint import HTML

    loads, estimates = [], []
    load_pkcs12 = signers.SimpleSigner.load_pkcs12
    estimate = PdfSigningSession.estimate_signature_container_size

    def counted_load(*args, **kwargs):
        loads.append(args[0])
        return load_pkcs12(*args, **kwargs)

    async def counted_estimate(self, *args, **kwargs):
        estimates.append(1)
        return await estimate(self, *args, **kwargs)

    monkeypatch.setattr(signers.SimpleSigner, "load_pkcs12", counted_load)
    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counted_estimate)
    pdf = HTML(string="<p>测试</p>").write_pdf()

    def sign() -> bytes:
        return signing.signer_for_unit(world.committee_a).sign(pdf, reason="测试", location="海滨")

    signed = [sign() for _ in range(3)]
    assert (len(loads), len(estimates)) == (1, 1)
    verifier = signing.signer_for_unit(world.committee_a)
    assert all(verifier.verify(s).ok for s in signed)
    rooms = {len(re.findall(rb"/Contents\s*<([0-9a-fA-F]+)>", s)[-1]) for s in signed}
    assert len(rooms) == 1 and rooms.pop() > 2_000

    p12 = signing_dir / f"{world.committee_a.code}.p12"
    modified = p12.stat().st_mtime_ns
    os.utime(p12, ns=(modified, modified + 1_000_000_000))
    assert verifier.verify(sign()).ok
    assert (len(loads), len(estimates)) == (2, 2)

    # A remembered room that does not do (here: far too small) is forgotten and estimated again.
    remembered = [key for key in signing._reserved if key[:2] == (str(p12), p12.stat().st_mtime_ns)]
    assert remembered
    for key in remembered:
        signing._reserved[key] = 64
    assert verifier.verify(sign()).ok
    assert len(estimates) == 3 and all(signing._reserved[key] > 2_000 for key in remembered)


def test_demo_cert_command_and_unit_certificates(app, world, tmp_path):
    app.config["SIGNING_DIR"] = str(tmp_path / "certs")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["documents", "demo-cert", "--unit", world.committee_a.code])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "certs" / "TW-A.p12").is_file() and (tmp_path / "certs" / "demo-ca.pem").is_file()
    assert not (tmp_path / "certs" / "TW-B.p12").exists()  # --unit makes just that one
    assert "已存在" in runner.invoke(args=["documents", "demo-cert", "--unit", "TW-A"]).output
    assert runner.invoke(args=["documents", "demo-cert", "--unit", "NOPE"]).exit_code == 1
    with pytest.raises(signing.SigningUnavailable, match="尚未配置双港镇人民调解委员会"):
        signing.signer_for_unit(world.committee_b)
    result = runner.invoke(args=["documents", "demo-cert"])  # without --unit: every unit that signs
    assert result.exit_code == 0, result.output
    for unit in (world.committee_a, world.committee_b, world.police_b, world.center_a):
        assert (tmp_path / "certs" / f"{unit.code}.p12").is_file(), unit.code
    assert not (tmp_path / "certs" / f"{world.court.code}.p12").exists()

    unit_signer = signing.signer_for_unit(world.committee_a)
    assert "海滨街道人民调解委员会" in unit_signer.subject
    assert "双港镇人民调解委员会" in signing.signer_for_unit(world.committee_b).subject
    from weasyprint import HTML

    pdf = HTML(string="<p>测试</p>").write_pdf()
    signed = unit_signer.sign(pdf, reason="测试", location="海滨")
    assert unit_signer.verify(signed).ok  # the unit's certificate chains to the same demo CA

    # A configured PKCS#12 with a wrong password is refused with a clear message.
    app.config["SIGNING_P12_PATH"] = str(tmp_path / "certs" / "demo.p12")
    app.config["SIGNING_P12_PASSWORD"] = "wrong"
    with pytest.raises(signing.SigningUnavailable):
        signing.signer_for_unit(world.committee_b)
