"""bench/documents_breakdown.py (``documents_bench.py --breakdown``): its parts are the agreement's,
and its timers measure WeasyPrint's steps and go away afterwards. Nothing here asserts a time."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from mediation.documents.render import Renderer
from tests.bench_modules import bench_module
from tests.documents_helpers import configure_signing, effective_agreement


@pytest.fixture(scope="module")
def breakdown():
    with bench_module("documents_breakdown") as module:
        yield module


@pytest.fixture(scope="module")
def documents_bench():
    with bench_module("documents_bench") as module:
        yield module


@pytest.fixture
def agreement_html(app, world, tmp_path, documents_bench):
    """The agreement's HTML as ``documents_bench.py --breakdown`` builds it."""
    configure_signing(app, tmp_path)
    renderer = Renderer()
    return renderer, documents_bench.agreement_html(renderer, effective_agreement(world))


def test_every_part_is_in_the_agreement(breakdown, agreement_html):
    _, html = agreement_html
    assert breakdown.missing_parts(html) == []
    # A selector that matches nothing is reported: the check can fail.
    html_without_qr = html.replace('class="verify"', 'class="gone"')
    assert breakdown.missing_parts(html_without_qr) == ["verification block (QR code)"]


def test_stage_timers_measure_and_are_removed(breakdown, agreement_html):
    import weasyprint
    from weasyprint import document
    from weasyprint.text import line_break

    originals = (weasyprint.HTML.__init__, document.layout_document, line_break.Layout.get_first_line)
    renderer, html = agreement_html
    totals, pango = defaultdict(float), Counter()
    with breakdown.stage_timers(totals, pango):
        pdf = renderer.pdf(html)
    assert pdf.startswith(b"%PDF")
    steps = {"parse HTML", "cascade (styles)", "build boxes", "layout", "write PDF", "paint", "subset fonts"}
    assert steps <= {label for label, seconds in totals.items() if seconds > 0}
    assert pango["calls"] > 100  # every line of the agreement's text is laid out by Pango
    assert (weasyprint.HTML.__init__, document.layout_document, line_break.Layout.get_first_line) == originals
    assert renderer.pdf(html).startswith(b"%PDF")  # and rendering works as before without them
