"""End to end in headless Chromium: draft an agreement, draw the signatures, download the signed PDF."""

from __future__ import annotations

import re

import pytest

from mediation.documents import service, signing
from mediation.extensions import db
from tests.browser import login, shot
from tests.documents_helpers import configure_signing, demo_roots, make_case, pdf_text, seal_jpeg

pytestmark = pytest.mark.browser


def draw(page, wiggle: int = 0) -> None:
    """Sign with the mouse: a few strokes across the canvas."""
    canvas = page.locator("canvas[data-signature-pad]")
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    strokes = [
        [(0.10, 0.70), (0.25, 0.25), (0.35, 0.75), (0.50, 0.30)],
        [(0.55, 0.60), (0.70, 0.20 + wiggle * 0.05), (0.85, 0.65)],
    ]
    for stroke in strokes:
        page.mouse.move(x + w * stroke[0][0], y + h * stroke[0][1])
        page.mouse.down()
        for px, py in stroke[1:]:
            page.mouse.move(x + w * px, y + h * py, steps=8)
        page.mouse.up()


def test_draft_sign_on_screen_and_download_the_signed_pdf(app, world, live_server, page, tmp_path):
    signing_dir = configure_signing(app, tmp_path)
    dispute = make_case(world)
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    db.session.commit()

    login(page, live_server, "mediator_a")
    page.goto(live_server.url_for(f"/disputes/{dispute.id}"))  # the case page includes the drafting form
    assert page.locator("#documents").is_visible()
    page.get_by_label("协议内容").fill(
        "一、李四赔偿张三墙面修复费用人民币叁仟伍佰元整。\n二、双方再无其他争议。"
    )
    page.get_by_label("履行方式").fill("李四以银行转账方式一次性支付。")
    page.get_by_role("button", name="保存协议草稿").click()
    page.wait_for_url(re.compile(r"/agreements/\d+$"))
    assert page.locator(".agreement-status").inner_text() == "草稿"

    with page.expect_navigation(url=re.compile(r"/agreements/\d+$")):
        page.get_by_role("button", name="提交签署").click()
    assert page.locator(".agreement-status").inner_text() == "签署中"

    # Confirming an empty pad is stopped in the browser.
    page.get_by_role("link", name="张三 签名").click()
    page.wait_for_url(re.compile(r"/sign/party-0$"))
    page.get_by_role("button", name="确认签名").click()
    assert page.locator("[data-signature-error]").is_visible()
    draw(page)
    shot(page, "e2e_documents_signature_pad")
    page.get_by_role("button", name="确认签名").click()
    page.wait_for_url(re.compile(r"/agreements/\d+$"))

    page.get_by_role("link", name="李四 签名").click()
    page.wait_for_url(re.compile(r"/sign/party-1$"))
    draw(page, wiggle=1)
    page.get_by_role("button", name="确认签名").click()
    page.wait_for_url(re.compile(r"/agreements/\d+$"))

    with page.expect_navigation(url=re.compile(r"/agreements/\d+$")):
        page.get_by_role("button", name="加盖印章").click()

    page.get_by_role("link", name="调解员签名").click()
    page.wait_for_url(re.compile(r"/sign/mediator$"))
    draw(page, wiggle=2)
    page.get_by_role("button", name="确认签名").click()
    page.wait_for_url(re.compile(r"/agreements/\d+$"))
    assert page.locator(".agreement-status").inner_text() == "已生效"
    shot(page, "e2e_documents_effective")

    with page.expect_download() as info:
        page.get_by_role("link", name="下载签章 PDF").click()
    download = info.value
    path = tmp_path / "signed.pdf"
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    check = signing.verify_pades(data, demo_roots(signing_dir))
    assert check.ok, check
    text = re.sub(r"\s+", "", pdf_text(data))
    assert "张三" in text and "李四" in text and "叁仟伍佰元整" in text

    # Three drawn signatures were stored as PNG bytes.
    agreement = service.agreements_of(dispute)[0]
    db.session.refresh(agreement)
    drawn = [s for s in agreement.signatures if s.image]
    assert len(drawn) == 3 and all(s.image.startswith(b"\x89PNG") for s in drawn)

    # The public verification page, without logging in, says it is genuine.
    code = service.signed_agreement(agreement).code
    other = page.context.browser.new_context()
    anonymous = other.new_page()
    anonymous.goto(live_server.url_for(f"/verify/{code}"))
    assert anonymous.locator("[data-verdict=genuine]").is_visible()
    assert "张三" not in anonymous.content()
    other.close()
