"""Helpers for the documents tests: a case ready for an agreement, drawn signatures, a seal, PDF text."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw

from mediation.disputes import service as dispute_service
from mediation.disputes.schemas import DisputeCreate
from mediation.documents import service, signing
from mediation.extensions import db
from tests.factories import dispute_payload

PUBLIC_URL = "https://tiaojie.example.gov.cn"


def configure_signing(app, tmp_path: Path) -> Path:
    """Demo certificates for every unit that signs (made after the world: each unit signs in its own
    name), as `flask documents demo-cert` makes them."""
    directory = tmp_path / "signing"
    app.config["SIGNING_DIR"] = str(directory)
    app.config["PUBLIC_URL"] = PUBLIC_URL
    signing.create_unit_demo_certificates(directory, signing.signing_units())
    return directory


def signature_png(width: int = 600, height: int = 200, ink: bool = True) -> bytes:
    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    if ink:
        draw = ImageDraw.Draw(img)
        draw.line([(20, height - 40), (width // 3, 30), (width // 2, height - 30), (width - 30, 40)],
                  fill=(0, 0, 0, 255), width=7)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def data_url(png: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(png).decode()}"


def seal_jpeg(size: int = 300) -> bytes:
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, size - 8, size - 8), outline=(210, 20, 20), width=10)
    draw.regular_polygon((size // 2, size // 2, size // 6), 5, fill=(210, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_case(world, **overrides):
    """A case in 海滨街道, handled by its 调委会, with two parties."""
    data = DisputeCreate().load(dispute_payload(world.grid_a.code, **overrides))
    dispute = dispute_service.register(world.mediator_a.user, data).dispute
    dispute.unit = world.committee_a
    db.session.commit()
    return dispute


AGREEMENT = {
    "facts": "二〇二六年十月，李四家卫生间水管破裂，渗水致张三家天花板和墙面受损。",
    "issues": "漏水原因及修复费用的承担。",
    "responsibilities": "李四未及时维修水管，对损失负全部责任。",
    "terms": "一、李四赔偿张三墙面修复费用人民币叁仟伍佰元整（¥3500.00）。\n二、张三收到赔偿款后，双方再无其他争议。",
    "performance_method": "李四以银行转账方式一次性支付至张三指定账户。",
}


def effective_agreement(world, dispute=None, **fields):
    """Draft, submit, sign (drawn + 按指印), seal and sign as mediator: an agreement in effect."""
    dispute = dispute or make_case(world)
    user = world.mediator_a.user
    if service.active_seal(world.committee_a) is None:
        service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    agreement = service.draft_agreement(user, dispute, {**AGREEMENT, **fields})
    service.submit_for_signing(user, agreement)
    service.sign(user, agreement, "当事人", party_index=0, image=data_url(signature_png()))
    for index in range(1, len(agreement.parties)):
        service.sign(user, agreement, "当事人", party_index=index, method="按指印")
    service.affix_seal(user, agreement)
    service.sign(user, agreement, "调解员", image=data_url(signature_png()))
    db.session.commit()
    assert agreement.is_effective
    return agreement


def pdf_text(pdf: bytes, first: int | None = None, last: int | None = None, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else [])]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def demo_roots(directory: Path) -> list:
    from pyhanko.keys import load_cert_from_pemder

    return [load_cert_from_pemder(str(directory / "demo-ca.pem"))]
