"""Documents through the web pages and the JSON API, and who may do what."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from mediation.documents import service, signing
from mediation.documents.models import Agreement, AgreementStatus, UnitSeal
from mediation.extensions import db
from tests.documents_helpers import (
    AGREEMENT,
    configure_signing,
    data_url,
    demo_roots,
    effective_agreement,
    make_case,
    pdf_text,
    seal_jpeg,
    signature_png,
)


@pytest.fixture
def signing_dir(app, world, tmp_path):
    return configure_signing(app, tmp_path)


def _token(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_draft_preview_sign_and_download_through_the_pages(world, signing_dir, web):
    dispute = make_case(world)
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    db.session.commit()
    web.login("mediator_a")
    c = web.client
    case_page = c.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert 'id="documents"' in case_page and "起草人民调解协议书" in case_page
    page = c.get(f"/disputes/{dispute.id}/documents")
    assert page.status_code == 200 and "起草人民调解协议书" in page.get_data(as_text=True)
    token = _token(c, f"/disputes/{dispute.id}/documents")
    r = c.post(f"/disputes/{dispute.id}/agreements", data={"csrf_token": token, **AGREEMENT, "copies": "3"})
    assert r.status_code == 303
    a = db.session.scalars(select(Agreement)).one()
    assert r.headers["Location"].endswith(f"/agreements/{a.id}")
    # Without the CSRF token nothing happens.
    assert c.post(f"/disputes/{dispute.id}/agreements", data=AGREEMENT).status_code == 400

    html = c.get(f"/agreements/{a.id}/preview")
    assert html.status_code == 200 and "人民调解协议书" in html.get_data(as_text=True)
    assert "/static/documents/print.css" in html.get_data(as_text=True)
    preview = c.get(f"/agreements/{a.id}/preview.pdf")
    assert preview.mimetype == "application/pdf" and "草稿" in re.sub(r"\s+", "", pdf_text(preview.data))
    assert c.get(f"/agreements/{a.id}/pdf").status_code == 404  # not signed yet

    token = _token(c, f"/agreements/{a.id}")
    r = c.post(
        f"/agreements/{a.id}",
        data={"csrf_token": token, **AGREEMENT, "terms": "一、李四赔偿张三人民币叁仟伍佰元整。"},
    )
    assert r.status_code == 303
    assert c.post(f"/agreements/{a.id}/submit", data={"csrf_token": token}).status_code == 303
    db.session.refresh(a)
    assert a.status == AgreementStatus.SIGNING and a.terms.startswith("一、李四赔偿")

    sign_page = c.get(f"/agreements/{a.id}/sign/party-0")
    assert "data-signature-pad" in sign_page.get_data(as_text=True)
    # An empty drawing is refused and sends the signer back to the pad.
    r = c.post(
        f"/agreements/{a.id}/sign/party-0",
        data={"csrf_token": token, "method": "手写签名", "signature": data_url(signature_png(ink=False))},
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/sign/party-0")
    r = c.post(
        f"/agreements/{a.id}/sign/party-0",
        data={"csrf_token": token, "method": "手写签名", "signature": data_url(signature_png())},
    )
    assert r.status_code == 303
    c.post(
        f"/agreements/{a.id}/sign/party-1", data={"csrf_token": token, "method": "按指印", "confirmed": "1"}
    )
    c.post(f"/agreements/{a.id}/seal", data={"csrf_token": token})
    r = c.post(
        f"/agreements/{a.id}/sign/mediator",
        data={"csrf_token": token, "method": "手写签名", "signature": data_url(signature_png())},
    )
    assert r.status_code == 303
    db.session.expire_all()
    a = db.session.get(Agreement, a.id)
    assert a.status == AgreementStatus.EFFECTIVE
    page = c.get(f"/agreements/{a.id}").get_data(as_text=True)
    assert "已生效" in page and "起草补充协议" in page

    download = c.get(f"/agreements/{a.id}/pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    assert signing.verify_pades(download.data, demo_roots(signing_dir)).ok
    assert "叁仟伍佰元整" in re.sub(r"\s+", "", pdf_text(download.data))

    # Editing after the fact is refused (and says why); the text is unchanged.
    r = c.post(
        f"/agreements/{a.id}", data={"csrf_token": token, **AGREEMENT, "terms": "篡改"}, follow_redirects=True
    )
    assert "协议已生效" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Agreement, a.id).terms.startswith("一、李四赔偿")

    # The supplement button drafts a linked 补充协议.
    r = c.post(f"/agreements/{a.id}/supplement", data={"csrf_token": token})
    supplement = db.session.scalars(select(Agreement).where(Agreement.supplements_id == a.id)).one()
    assert r.headers["Location"].endswith(f"/agreements/{supplement.id}")

    case_file = c.get(f"/disputes/{dispute.id}/case-file.pdf")
    assert case_file.status_code == 200 and "人民调解卷宗" in re.sub(r"\s+", "", pdf_text(case_file.data))


def test_forms_pages(world, web, signing_dir):
    dispute = make_case(world)
    web.login("mediator_a")
    c = web.client
    token = _token(c, f"/disputes/{dispute.id}/forms/application")
    r = c.post(
        f"/disputes/{dispute.id}/forms/application", data={"csrf_token": token, "requests": "请求调解。"}
    )
    assert r.status_code == 303
    r = c.post(f"/disputes/{dispute.id}/forms/followup", data={"csrf_token": token, "visited_on": "bad"})
    assert r.status_code == 422 and "日期格式" in r.get_data(as_text=True)
    assert c.get(f"/disputes/{dispute.id}/forms/nothing").status_code == 404
    pdf = c.get(f"/disputes/{dispute.id}/forms/application.pdf")
    assert "请求调解。" in pdf_text(pdf.data)


def test_another_towns_user_cannot_see_draft_sign_or_download(world, signing_dir, client, web):
    a = effective_agreement(world)
    dispute = a.dispute
    doc = service.signed_agreement(a)
    other = world.mediator_b  # 双港镇
    # Service level: the scope rule hides the agreement.
    assert service.find_agreement(other.user, a.id) is None
    # API
    h = other.headers
    for method, url in [
        ("get", f"/api/v1/agreements/{a.id}"),
        ("get", f"/api/v1/agreements/{a.id}/pdf"),
        ("get", f"/api/v1/disputes/{dispute.id}/agreements"),
        ("post", f"/api/v1/disputes/{dispute.id}/agreements"),
        ("post", f"/api/v1/agreements/{a.id}/supplements"),
        ("get", f"/api/v1/disputes/{dispute.id}/case-file"),
    ]:
        r = getattr(client, method)(url, headers=h, **({"json": {}} if method == "post" else {}))
        assert r.status_code == 404, (url, r.status_code)
    # Web
    web.login(other.username)
    for url in (
        f"/disputes/{dispute.id}",
        f"/agreements/{a.id}",
        f"/agreements/{a.id}/pdf",
        f"/agreements/{a.id}/preview",
        f"/agreements/{a.id}/preview.pdf",
        f"/disputes/{dispute.id}/documents",
        f"/disputes/{dispute.id}/case-file.pdf",
        f"/disputes/{dispute.id}/forms/application",
        f"/agreements/{a.id}/sign/party-0",
    ):
        assert client.get(url).status_code == 404, url
    token = _token(client, "/verify")
    for url in (
        f"/agreements/{a.id}/supplement",
        f"/agreements/{a.id}/sign/party-0",
        f"/disputes/{dispute.id}/agreements",
    ):
        assert client.post(url, data={"csrf_token": token, "method": "纸质签名"}).status_code == 404, url
    # The verification page stays public.
    client.post("/logout", data={"csrf_token": token})
    assert client.get(f"/verify/{doc.code}").status_code == 200


def test_roles_that_may_not_draft_or_read_the_documents(world, signing_dir, client, web):
    a = effective_agreement(world)
    dispute = a.dispute
    grid = world.grid_a_user  # sees the case (its grid), but does not mediate and sees masked ID numbers
    r = client.get(f"/api/v1/disputes/{dispute.id}/agreements", headers=grid.headers)
    assert r.status_code == 200 and [x["status"] for x in r.json] == ["已生效"]
    r = client.post(f"/api/v1/disputes/{dispute.id}/agreements", headers=grid.headers, json=AGREEMENT)
    assert r.status_code == 403 and "调解员" in r.json["message"]
    r = client.post(f"/api/v1/disputes/{dispute.id}/agreements", headers=world.admin.headers, json=AGREEMENT)
    assert r.status_code == 403
    # The documents carry full ID numbers: only the roles that may read them get the PDFs.
    for url in (f"/api/v1/agreements/{a.id}/pdf", f"/api/v1/disputes/{dispute.id}/case-file"):
        r = client.get(url, headers=grid.headers)
        assert r.status_code == 403 and "身份证号码" in r.json["message"], url
    assert client.get(f"/api/v1/agreements/{a.id}/pdf", headers=world.court_user.headers).status_code == 200
    web.login(grid.username)
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert 'id="documents"' in page and "下载签章文本" not in page and "起草人民调解协议书" not in page
    for url in (
        f"/agreements/{a.id}/pdf",
        f"/agreements/{a.id}/preview",
        f"/agreements/{a.id}/preview.pdf",
        f"/disputes/{dispute.id}/forms/application.pdf",
        f"/disputes/{dispute.id}/case-file.pdf",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/agreements/{a.id}").status_code == 200  # the status page itself is fine


def test_api_flow_and_conflicts(world, signing_dir, client):
    dispute = make_case(world)
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    db.session.commit()
    h = world.mediator_a.headers
    r = client.post(
        f"/api/v1/disputes/{dispute.id}/agreements", headers=h, json={"facts": "事实", "copies": 99}
    )
    assert r.status_code == 422 and "copies" in r.json["errors"]["json"]
    r = client.post(f"/api/v1/disputes/{dispute.id}/agreements", headers=h, json={"facts": "事实"})
    assert r.status_code == 201, r.json
    aid = r.json["id"]
    assert r.json["status"] == "草稿" and [p["name"] for p in r.json["parties"]] == ["张三", "李四"]
    r = client.post(f"/api/v1/agreements/{aid}/submit", headers=h)
    assert r.status_code == 422 and "terms" in r.json["errors"]["json"]
    r = client.patch(
        f"/api/v1/agreements/{aid}", headers=h, json={"terms": "一、赔偿。", "performance_method": "现金。"}
    )
    assert r.status_code == 200 and r.json["facts"] == "事实" and r.json["terms"] == "一、赔偿。"
    assert client.post(f"/api/v1/agreements/{aid}/submit", headers=h).status_code == 200
    r = client.patch(f"/api/v1/agreements/{aid}", headers=h, json={"terms": "改"})
    assert r.status_code == 409 and "签署中" in r.json["message"]
    r = client.post(
        f"/api/v1/agreements/{aid}/signatures",
        headers=h,
        json={"signer": "当事人", "party_index": 0, "image": data_url(signature_png())},
    )
    assert r.status_code == 200 and r.json["signatures"][0]["method"] == "手写签名"
    r = client.post(
        f"/api/v1/agreements/{aid}/signatures",
        headers=h,
        json={"signer": "当事人", "party_index": 0, "method": "按指印"},
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/agreements/{aid}/signatures",
        headers=h,
        json={"signer": "当事人", "party_index": 1, "image": "https://evil.example/x.png"},
    )
    assert r.status_code == 422
    client.post(
        f"/api/v1/agreements/{aid}/signatures",
        headers=h,
        json={"signer": "当事人", "party_index": 1, "method": "纸质签名"},
    )
    assert client.post(f"/api/v1/agreements/{aid}/seal", headers=h).status_code == 200
    assert client.post(f"/api/v1/agreements/{aid}/seal", headers=h).status_code == 409
    r = client.post(
        f"/api/v1/agreements/{aid}/signatures",
        headers=h,
        json={"signer": "调解员", "image": data_url(signature_png())},
    )
    assert r.status_code == 200 and r.json["status"] == "已生效" and len(r.json["verification_code"]) == 10
    pdf = client.get(f"/api/v1/agreements/{aid}/pdf", headers=h)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.patch(f"/api/v1/agreements/{aid}", headers=h, json={"terms": "改"}).status_code == 409
    r = client.post(f"/api/v1/agreements/{aid}/supplements", headers=h, json={"terms": "补充条款"})
    assert r.status_code == 201 and r.json["kind"] == "补充协议" and r.json["supplements_id"] == aid
    case_file = client.get(f"/api/v1/disputes/{dispute.id}/case-file", headers=h)
    assert case_file.status_code == 200 and case_file.data.startswith(b"%PDF")
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/agreements/{agreement_id}/signatures" in spec["paths"]


def test_seal_admin_page(world, web):
    web.login("admin")
    c = web.client
    token = _token(c, "/admin/seals")
    r = c.post(
        "/admin/seals",
        data={
            "csrf_token": token,
            "unit": world.committee_a.code,
            "image": (io.BytesIO(seal_jpeg()), "seal.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    seal = db.session.scalars(select(UnitSeal)).one()
    assert c.get(f"/admin/seals/{world.committee_a.id}.png").data == seal.image
    r = c.post(
        "/admin/seals",
        data={
            "csrf_token": token,
            "unit": world.committee_a.code,
            "image": (io.BytesIO(b"<svg onload=alert(1)>"), "seal.svg"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "无法识别" in r.get_data(as_text=True)
    c.post("/logout", data={"csrf_token": token})
    web.login("mediator_a")
    assert c.get("/admin/seals").status_code == 403
