"""Time rendering and signing of mediation agreements (人民调解协议书), and the size of the PDFs.

    python bench/documents_bench.py [--runs 20] [--parties 2] [--long] [--json out.json]

Builds a throw-away SQLite database in a temporary folder with the small world of
mediation/demo/small.py (the tests' too), a demo certificate and a seal, and one agreement in effect with drawn signatures. Then, ``--runs`` times
after one warm-up: render the final agreement (Jinja → HTML → WeasyPrint, with the QR code), sign
it (pyHanko PAdES B-B), validate it (pyHanko), and render and sign the 卷宗 (case file) of a case
that went its whole course (``case_file_case``: cover, 卷内目录, 申请书, 登记表, 受理通知书, 告知书,
调解记录, the agreement, 司法确认申请书, 回访记录 — ten pages or more, or the bench stops), wall-clock
and CPU time; and the floor:
WeasyPrint rendering an empty A4 page through the same renderer, page template and stylesheet (so
the same fonts: one character in the regular face and one in the bold, which the agreement uses
too, to have both faces loaded, subset and embedded), in the same process. Prints minimum, median
and maximum; ``--json`` writes every run's time. ``--long`` makes the agreement text about four
pages long.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The floor: the documents' page template and stylesheet (its A4 @page with the page-number footer),
# with one character in each of the two faces, nothing else.
EMPTY_PAGE = """{% extends "documents/_page.html" %}
{% block title %}空白页{% endblock %}
{% block body %}<h1 class="doc-title">空</h1><p>空</p>{% endblock %}"""


def stats(seconds: list[float]) -> str:
    ms = sorted(x * 1000 for x in seconds)
    return f"{ms[0]:.0f} / {statistics.median(ms):.0f} / {ms[-1]:.0f} ms"


def pdf_pages(pdf: bytes) -> int:
    """The number of pages, read with pyHanko (which signs and validates here anyway)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


def agreement_html(renderer, agreement) -> str:
    """The final agreement's HTML for the PDF engine, with its QR code and verification code."""
    from mediation.documents import service

    return renderer.html(
        "documents/agreement.html",
        **service.agreement_context(renderer, agreement),
        verification=service.verification_block(renderer, "BENCH23456"),
    )


def empty_html(renderer, template) -> str:
    """The floor's HTML: :data:`EMPTY_PAGE` with the renderer's stylesheet."""
    return template.render(stylesheet=renderer.stylesheet, print_css="documents/print.css", for_web=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--parties", type=int, default=2)
    parser.add_argument("--long", action="store_true", help="an agreement of about four pages")
    parser.add_argument("--json", default=None, help="also write every run's time as JSON to this file")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="instead: where the agreement's time goes (WeasyPrint's steps, each part, counts; bench/documents_breakdown.py)",
    )
    args = parser.parse_args()

    from mediation import create_app
    from mediation.common.heap import settle_heap
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
        settle_heap()  # as each gunicorn worker does once it has built the app (deploy/gunicorn.conf.py)

        empty_template = app.jinja_env.from_string(EMPTY_PAGE)

        def render() -> bytes:
            renderer = Renderer()
            return renderer.pdf(agreement_html(renderer, agreement))

        def empty_page() -> bytes:
            renderer = Renderer()
            return renderer.pdf(empty_html(renderer, empty_template))

        def timed(fn, runs, cpu=None):
            """Wall-clock times of ``runs`` calls after a warm-up (and their CPU times into ``cpu``)."""
            fn()  # warm-up (fonts, templates)
            times, result = [], None
            for _ in range(runs):
                start, start_cpu = time.perf_counter(), time.process_time()
                result = fn()
                times.append(time.perf_counter() - start)
                if cpu is not None:
                    cpu.append(time.process_time() - start_cpu)
            return times, result

        if args.breakdown:
            from documents_breakdown import print_breakdown

            renderer = Renderer()  # one renderer: it knows the data URIs of the agreement's HTML
            print_breakdown(
                renderer.pdf,
                pdf_pages,
                agreement_html(renderer, agreement),
                empty_html(renderer, empty_template),
                args.runs,
            )
            return

        # The agreement and its floor in turns, so that both see the same moments of a busy machine.
        render_t, empty_t = [], []
        pdf = render()  # warm-up (fonts, templates)
        empty = empty_page()
        for _ in range(args.runs):
            for fn, times in ((render, render_t), (empty_page, empty_t)):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
        sign_t, signed = timed(lambda: signer.sign(pdf, reason="bench", location="bench"), args.runs)
        verify_t, check = timed(lambda: signer.verify(signed), args.runs)
        assert check.ok, check
        full_case = h.case_file_case(world)
        case_cpu: list[float] = []
        case_t, case_doc = timed(
            lambda: service.case_file_pdf(world.mediator_a.user, full_case), args.runs, case_cpu
        )
        db.session.rollback()
        pages = pdf_pages(signed)
        case_pages = pdf_pages(case_doc.content)
        assert case_pages >= 10, case_pages
        assert pdf_pages(empty) == 1

    render_s, sign_s, verify_s, case_s = (statistics.median(t) for t in (render_t, sign_t, verify_t, case_t))

    cpu = os.cpu_count()
    print(f"machine: {platform.machine()} {cpu} CPU(s), Python {platform.python_version()}")
    print(
        f"agreement: {args.parties} parties, {pages} page(s){' (long text)' if args.long else ''}, runs={args.runs}"
    )
    print("times: min / median / max")
    print(f"render (Jinja+WeasyPrint):        {stats(render_t)}")
    print(f"floor: empty A4 page, same fonts: {stats(empty_t)}, {len(empty) / 1000:.0f} KB")
    print(f"sign (pyHanko PAdES B-B):         {stats(sign_t)}")
    print(f"validate (pyHanko):               {stats(verify_t)}")
    print(f"render + sign per agreement (medians): {(render_s + sign_s) * 1000:.0f} ms")
    print(
        f"PDF size: unsigned {len(pdf):,} bytes, signed {len(signed):,} bytes ({len(signed) / 1000:.0f} KB)"
    )
    print(
        f"case file (卷宗), {case_pages} pages, render + sign: {stats(case_t)} "
        f"(CPU {stats(case_cpu)}), {len(case_doc.content) / 1000:.0f} KB"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "parties": args.parties,
                    "long": args.long,
                    "pages": pages,
                    "runs": args.runs,
                    "samples_ms": {
                        name: [x * 1000 for x in times]
                        for name, times in (
                            ("render", render_t),
                            ("empty_page", empty_t),
                            ("sign", sign_t),
                            ("validate", verify_t),
                            ("case_file", case_t),
                            ("case_file_cpu", case_cpu),
                        )
                    },
                    "unsigned_bytes": len(pdf),
                    "signed_bytes": len(signed),
                    "empty_page_bytes": len(empty),
                    "case_file_bytes": len(case_doc.content),
                    "case_file_pages": case_pages,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
