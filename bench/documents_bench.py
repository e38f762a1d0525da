"""Time rendering and signing of mediation agreements (人民调解协议书), and the size of the PDFs.

    python bench/documents_bench.py [--runs 20] [--parties 2] [--long]

Builds a throw-away SQLite database in a temporary folder with the small world of
mediation/demo/small.py (the tests' too), a demo certificate and a seal, and one agreement in effect with drawn signatures. Then, ``--runs`` times
after one warm-up: render the final agreement (Jinja → HTML → WeasyPrint, with the QR code), sign
it (pyHanko PAdES B-B), validate it (pyHanko), and render the whole case file. Prints the medians.
``--long`` makes the agreement text about four pages long.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pdf_pages(pdf: bytes) -> int:
    """The number of pages, read with pyHanko (which signs and validates here anyway)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--parties", type=int, default=2)
    parser.add_argument("--long", action="store_true", help="an agreement of about four pages")
    args = parser.parse_args()

    from mediation import create_app
    from mediation.demo import small as h
    from mediation.demo.small import build_world, make_id, zh_number
    from mediation.documents import service, signing
    from mediation.documents.render import Renderer
    from mediation.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="documents-bench-"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}",
            "SECRET_KEY": "bench",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        db.create_all()
        world = build_world()
        h.configure_signing(app, tmp)  # after the world: a certificate per unit, in its name
        parties = [
            {
                "role": "申请人" if i == 0 else "被申请人",
                "kind": "自然人",
                "name": f"当事人{zh_number(i + 1)}号",
                "id_number": make_id(),
                "phone": "13800138000",
                "address": "海滨街道幸福里小区12号楼3门502室",
            }
            for i in range(args.parties)
        ]
        dispute = h.make_case(world, parties=parties)
        extra = {}
        if args.long:
            extra = {
                "facts": "双方因相邻房屋漏水、噪音及公共部位使用发生纠纷，多次协商未果。" * 40,
                "terms": "\n".join(
                    f"{n}、被申请人于2027年{n % 12 + 1}月底前支付第{n}期款项人民币伍佰元整。"
                    for n in range(1, 41)
                ),
            }
        agreement = h.effective_agreement(world, dispute, **extra)
        signer = signing.signer_for_unit(agreement.unit)

        def render() -> bytes:
            renderer = Renderer()
            html = renderer.html(
                "documents/agreement.html",
                **service.agreement_context(renderer, agreement),
                verification=service.verification_block(renderer, "BENCH23456"),
            )
            return renderer.pdf(html)

        def timed(fn, runs):
            fn()  # warm-up (fonts, templates)
            times, result = [], None
            for _ in range(runs):
                start = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - start)
            return statistics.median(times), result

        render_s, pdf = timed(render, args.runs)
        sign_s, signed = timed(lambda: signer.sign(pdf, reason="bench", location="bench"), args.runs)
        verify_s, check = timed(lambda: signer.verify(signed), args.runs)
        assert check.ok, check
        case_s, case_doc = timed(
            lambda: service.case_file_pdf(world.mediator_a.user, dispute), max(3, args.runs // 4)
        )
        db.session.rollback()
        pages = pdf_pages(signed)

    cpu = os.cpu_count()
    print(f"machine: {platform.machine()} {cpu} CPU(s), Python {platform.python_version()}")
    print(
        f"agreement: {args.parties} parties, {pages} page(s){' (long text)' if args.long else ''}, runs={args.runs}"
    )
    print(f"render (Jinja+WeasyPrint) median: {render_s * 1000:.0f} ms")
    print(f"sign (pyHanko PAdES B-B)  median: {sign_s * 1000:.0f} ms")
    print(f"validate (pyHanko)        median: {verify_s * 1000:.0f} ms")
    print(f"render + sign per agreement:      {(render_s + sign_s) * 1000:.0f} ms")
    print(f"PDF size: unsigned {len(pdf) / 1024:.0f} KiB, signed {len(signed) / 1024:.0f} KiB")
    print(f"case file (render + sign) median: {case_s * 1000:.0f} ms, {len(case_doc.content) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
