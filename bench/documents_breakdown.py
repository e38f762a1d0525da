"""Where an agreement's rendering time goes: ``python bench/documents_bench.py --breakdown``.

Three views of the same document, each next to the floor (the empty page of documents_bench.py):

- *stages*: WeasyPrint's own steps, timed by wrapping its functions for the run (HTML parsing, the
  cascade, building boxes, layout, painting, fonts, the rest of PDF writing);
- *parts*: each part of the agreement hidden in turn (``display: none`` in a ``<style>`` added to the
  HTML, so its boxes are neither built, laid out nor painted): what the agreement costs with it,
  less what it costs without it;
- *counts*, which do not depend on the machine: elements, characters, Pango line layouts, the objects
  a rendering leaves in reference cycles for the garbage collector.

Nothing here changes what the product renders; the wrappers are removed after each run.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

# The agreement's parts (templates/documents/forms/agreement.html), by CSS selector.
PARTS = (
    ("title and number", "h1.doc-title, p.doc-number"),
    ("parties table (当事人)", "table.agreement-parties"),
    ("sections: headings and text", "h2.section, .agreement > .section-body"),
    ("closing paragraphs", ".closing > .section-body"),
    ("signature lines (table, images)", ".signatures table.sign-lines"),
    ("seal, unit's name and date", ".signatures .unit-block"),
    ("verification block (QR code)", ".verify"),
    ("case code block (QR code)", ".case-code"),
)


def missing_parts(agreement_html: str) -> list[str]:
    """The parts of :data:`PARTS` whose selector matches nothing in the agreement's HTML (a part that
    is not there would "cost" nothing: the template changed, and so must :data:`PARTS`)."""
    from weasyprint import HTML

    root = HTML(string=agreement_html).wrapper_element
    return [name for name, selector in PARTS if next(root.query_all(selector), None) is None]


@contextmanager
def _patched(owner, name: str, wrapper: Callable[[Callable], Callable]) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, wrapper(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def _timer(totals: defaultdict, label: str, materialize: bool = False):
    def wrap(original):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                result = original(*args, **kwargs)
                return list(result) if materialize else result
            finally:
                totals[label] += time.perf_counter() - start

        return timed

    return wrap


@contextmanager
def stage_timers(totals: defaultdict, pango: Counter) -> Iterator[None]:
    """WeasyPrint 70's steps (pinned in pyproject.toml), timed into ``totals`` (seconds) while inside."""
    import weasyprint
    from weasyprint import document
    from weasyprint.pdf import fonts
    from weasyprint.text import line_break

    def count_lines(original):
        timed = _timer(pango, "seconds")(original)

        def counted(layout):
            pango["calls"] += 1
            return timed(layout)

        return counted

    with ExitStack() as stack:
        for owner, name, label, materialize in (
            (weasyprint.HTML, "__init__", "parse HTML", False),
            (document.Document, "_build_layout_context", "cascade (styles)", False),
            (document, "build_formatting_structure", "build boxes", False),
            (document, "layout_document", "layout", True),  # a generator: timed while it runs
            (document, "generate_pdf", "write PDF", False),
            (document.Page, "paint", "paint", False),
            (fonts.Font, "subset", "subset fonts", False),
        ):
            stack.enter_context(_patched(owner, name, _timer(totals, label, materialize)))
        stack.enter_context(_patched(line_break.Layout, "get_first_line", count_lines))
        yield


def _median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def print_breakdown(
    pdf: Callable[[str], bytes],
    pages: Callable[[bytes], int],
    agreement_html: str,
    empty_html: str,
    runs: int,
) -> None:
    """``pdf``: the renderer's HTML → PDF (Renderer.pdf, with the data URIs the agreement's HTML uses);
    ``pages``: the number of pages of a PDF."""
    hidden = {
        name: agreement_html.replace(
            "</head>", f"<style>{selector} {{ display: none !important }}</style></head>", 1
        )
        for name, selector in PARTS
    }
    full = agreement_html.replace("</head>", "<style>.no-such-part { display: none }</style></head>", 1)
    assert full != agreement_html, "the page template has no </head>"
    missing = missing_parts(agreement_html)
    assert not missing, f"not in the agreement (update PARTS): {missing}"

    # Counts: the same on every machine.
    body = agreement_html.split("<body", 1)[1]
    elements = len(re.findall(r"<[a-z]", body))
    characters = len(re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", body)))

    # Stages and Pango, agreement and floor, in turns.
    stages = {"agreement": defaultdict(float), "floor": defaultdict(float)}
    pango = {"agreement": Counter(), "floor": Counter()}
    totals: dict[str, list[float]] = {"agreement": [], "floor": []}
    pdf(full), pdf(empty_html)  # warm-up
    for _ in range(runs):
        for name, html in (("agreement", full), ("floor", empty_html)):
            with stage_timers(stages[name], pango[name]):
                start = time.perf_counter()
                pdf(html)
                totals[name].append(time.perf_counter() - start)

    # Parts: the agreement with each part hidden, in turns with the whole.
    part_times: dict[str, list[float]] = {name: [] for name in ("whole", *hidden)}
    part_pages = {name: pages(pdf(html)) for name, html in (("whole", full), *hidden.items())}
    for _ in range(runs):
        for name, html in (("whole", full), *hidden.items()):
            start = time.perf_counter()
            pdf(html)
            part_times[name].append(time.perf_counter() - start)

    # Cyclic garbage one rendering leaves: the collector is off while it renders (Renderer.pdf), so all
    # it allocated is in the young generation, which the first collection after it walks.
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        pdf(full)
        start = time.perf_counter()
        cyclic = gc.collect(0)
        collect_ms = (time.perf_counter() - start) * 1000
    finally:
        if was_enabled:
            gc.enable()

    agreement_ms, floor_ms = _median_ms(totals["agreement"]), _median_ms(totals["floor"])
    print(f"agreement: {elements} elements, {characters:,} characters of text; runs={runs} (medians)")
    print(
        f"whole rendering: agreement {agreement_ms:.1f} ms, floor {floor_ms:.1f} ms, ratio {agreement_ms / floor_ms:.2f} ×"
    )
    print()
    print("| WeasyPrint step | agreement | floor | difference |")
    print("|---|---:|---:|---:|")
    labels = ["parse HTML", "cascade (styles)", "build boxes", "layout", "write PDF", "paint", "subset fonts"]
    for label in labels:
        a, f = (stages[n][label] / runs * 1000 for n in ("agreement", "floor"))
        inside = " (inside write PDF)" if label in ("paint", "subset fonts") else ""
        print(f"| {label}{inside} | {a:.1f} ms | {f:.1f} ms | {a - f:+.1f} ms |")
    for name in ("agreement", "floor"):
        calls = pango[name]["calls"] / runs
        seconds = pango[name]["seconds"] / runs
        print(f"Pango line layouts ({name}): {calls:.0f} per rendering, {seconds * 1000:.1f} ms")
    print()
    whole = _median_ms(part_times["whole"])
    print(
        f"agreement, whole: {whole:.1f} ms, {part_pages['whole']} pages; agreement − floor: {whole - floor_ms:.0f} ms"
    )
    print(
        "(hiding a part can move a page break: the closing block, which is kept whole, then lands elsewhere)"
    )
    print()
    print("| part hidden | pages | agreement without it | the part costs | share of agreement − floor |")
    print("|---|---:|---:|---:|---:|")
    for name in hidden:
        without = _median_ms(part_times[name])
        print(
            f"| {name} | {part_pages[name]} | {without:.1f} ms | {whole - without:+.1f} ms "
            f"| {(whole - without) / (whole - floor_ms):.0%} |"
        )
    print()
    print(
        f"cyclic garbage of one rendering: {cyclic:,} objects, a young-generation collection of {collect_ms:.1f} ms"
    )
