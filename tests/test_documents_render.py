"""Rendering: untrusted text stays text and fetches nothing; the forms; the case file (卷宗)."""

from __future__ import annotations

import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from mediation.documents import forms as F
from mediation.documents import service, signing
from mediation.documents.render import STATIC_ROOT, Renderer
from mediation.extensions import db
from tests.documents_helpers import (
    AGREEMENT,
    configure_signing,
    demo_roots,
    effective_agreement,
    make_case,
    pdf_pages,
    pdf_text,
)


@pytest.fixture
def signing_dir(app, world, tmp_path):
    return configure_signing(app, tmp_path)


@pytest.fixture
def trap():
    """A local HTTP server that counts every request made to it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def hostile(base: str) -> dict[str, str]:
    return {
        "img": '<img src="file:///etc/passwd">',
        "http": f'<img src="{base}/from-text.png">',
        "css": f'<style>@import url("{base}/import.css"); body {{ background: url({base}/bg.png) }}</style>',
        "link": f'<link rel="stylesheet" href="{base}/x.css">',
        "inline": f'<span style="background-image:url({base}/inline.png)">x</span>',
        "script": "<script>alert(1)</script>",
    }


def test_untrusted_text_is_text_and_nothing_is_fetched(world, signing_dir, trap, tmp_path):
    base, hits = trap
    h = hostile(base)
    dispute = make_case(
        world,
        summary="摘要" + h["css"],
        parties=[
            {"role": "申请人", "kind": "自然人", "name": "王五", "address": h["img"]},
            {"role": "被申请人", "kind": "自然人", "name": "赵六", "address": h["link"]},
        ],
    )
    # A person's name may no longer hold markup (validators.person_name_error); one stored earlier
    # (or by an older import) must still render as text.
    dispute.parties[0].name = "王<b>五</b>"
    db.session.flush()
    agreement = service.draft_agreement(
        world.mediator_a.user,
        dispute,
        {
            **AGREEMENT,
            "facts": "事实" + h["http"],
            "issues": h["inline"],
            "terms": "条款" + h["script"],
            "responsibilities": "url(file:///etc/shadow) " + h["css"],
        },
    )
    db.session.commit()

    renderer = Renderer()
    html = renderer.html("documents/agreement.html", **service.agreement_context(renderer, agreement))
    # Escaped in the HTML: no element made of user text.
    assert (
        '<img src="file:///etc/passwd">' not in html
        and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    )
    assert "<script>" not in html and "<style>@import" not in html and "<b>五</b>" not in html

    pdf = renderer.pdf(html)
    fetcher = renderer.fetcher
    # Nothing but our own data URIs was fetched (the stylesheet is given to the engine parsed, see
    # test_the_print_stylesheet_is_parsed_once_per_process); nothing was refused: nothing else was asked for.
    assert [u for u in fetcher.attempts if not u.startswith("data:")] == []
    assert fetcher.refused == []
    assert hits == []

    # The text appears literally in the PDF.
    text = _flat(pdf_text(pdf))
    for value in (
        '<imgsrc="file:///etc/passwd">',
        "<script>alert(1)</script>",
        "王<b>五</b>",
        f'<linkrel="stylesheet"href="{base}/x.css">',
        f"url({base}/inline.png)",
        "url(file:///etc/shadow)",
    ):
        assert value in text, value
    assert "root:x:0:0" not in text


def test_the_fetcher_refuses_everything_but_our_static_files(app, trap, tmp_path):
    base, hits = trap
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    foreign_png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    renderer = Renderer()
    own = renderer.data_uri(b"\x89PNG\r\n\x1a\n" + b"0" * 10, "image/png")
    raw = f"""<html lang="zh-CN"><head>
      <link rel="stylesheet" href="documents/print.css">
      <link rel="stylesheet" href="{secret.as_uri()}">
      <link rel="stylesheet" href="documents/../../mediation/config.py">
      <link rel="stylesheet" href="{base}/remote.css">
      <style>@import url("https://example.invalid/x.css"); body {{ background: url({base}/bg.png) }}
             @font-face {{ font-family: X; src: url({base}/font.woff) }} p {{ font-family: X }}</style>
      </head><body><p>测试</p>
      <img src="file:///etc/passwd"><img src="{base}/img.png"><img src="{foreign_png}"><img src="{own}">
      <img src="ftp://127.0.0.1/x.png"><object data="{base}/obj.svg"></object></body></html>"""
    pdf = renderer.pdf(raw)
    f = renderer.fetcher
    assert pdf.startswith(b"%PDF")
    assert hits == [], hits
    refused = "\n".join(f.refused)
    for url in (
        secret.as_uri(),
        "config.py",
        f"{base}/remote.css",
        "https://example.invalid/x.css",
        f"{base}/bg.png",
        f"{base}/font.woff",
        "file:///etc/passwd",
        f"{base}/img.png",
        foreign_png[:60],
        "ftp://127.0.0.1/x.png",
    ):
        assert url in refused, url
    served = [u for u in f.attempts if u not in f.refused]
    assert served == [(STATIC_ROOT / "documents/print.css").as_uri(), own] or set(served) == {
        (STATIC_ROOT / "documents/print.css").as_uri(),
        own,
    }


def test_the_print_stylesheet_is_parsed_once_per_process(app, world, signing_dir, monkeypatch):
    """Counted: WeasyPrint fetched and parsed print.css (a ``<link>`` in every document) once per
    document, ≈ 15 ms of a 卷宗; the renderer gives it the stylesheet parsed once per process. It still
    applies (the page footer, the A4 margins come from it), and a browser still gets the ``<link>``."""
    import weasyprint  # heavy: only this test needs the class itself

    parsed = []
    weasyprint_init = weasyprint.CSS.__init__

    def counted(self, *args, **kwargs):
        parsed.append(kwargs.get("url") or kwargs.get("base_url"))
        weasyprint_init(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.CSS, "__init__", counted)
    agreement = effective_agreement(world)
    for _ in range(3):
        renderer = Renderer()
        html = renderer.html("documents/agreement.html", **service.agreement_context(renderer, agreement))
        assert "<link" not in html and "<style" not in html
        pdf = renderer.pdf(html)
        assert re.search(r"第 ?1 ?页 ?共 ?\d ?页", pdf_text(pdf)), "the stylesheet's page footer"
    assert len(parsed) <= 1, parsed  # once in this process (none if an earlier test parsed it)

    with app.test_request_context():
        web = Renderer(for_web=True)
        html = web.html("documents/agreement.html", **service.agreement_context(web, agreement))
    assert '<link rel="stylesheet" href="/static/documents/print.css">' in html


@pytest.mark.parametrize("kind", [k for k in F.FORMS])
def test_every_form_renders_with_the_case_data(world, signing_dir, kind):
    from mediation.disputes import workflow
    from mediation.disputes.workflow_schemas import AcceptIn, RejectIn, RouteIn

    dispute = make_case(world)
    # Each form in a state of the case it belongs to (documents.service.form_applies).
    if kind not in ("application", "registration", "cover"):
        workflow.perform(
            world.center_user_a.user,
            dispute,
            "route",
            RouteIn().load({"channel": "人民调解", "unit": "TW-A"}),
        )
        if kind == "rejection":
            workflow.perform(
                world.mediator_a.user, dispute, "reject", RejectIn().load({"reason": "不属于受理范围。"})
            )
        else:
            workflow.perform(world.mediator_a.user, dispute, "accept", AcceptIn().load({}))
        if kind == "confirmation":
            effective_agreement(world, dispute)
    if F.FORMS[kind].editable and F.FORMS[kind].fields:
        values = {
            "requests": "请求调解赔偿事宜。",
            "reason": "被申请人拒绝继续调解。",
            "court": "海滨区人民法院",
            "visited_on": "2026-12-01",
            "method": "电话回访",
            "visitor": "调解员甲",
            "visited": "张三",
            "performance": "已按期足额支付。",
            "retention": "长期",
            "title": "漏水赔偿纠纷",
            "agreed_on": "2026-11-20",
            "content": "双方口头达成协议。",
        }
        service.save_form(
            world.mediator_a.user,
            dispute,
            kind,
            {f.name: values.get(f.name, "") for f in F.FORMS[kind].fields},
        )
    db.session.commit()
    pdf = service.render_form_pdf(dispute, kind)
    text = _flat(pdf_text(pdf))
    title = F.FORMS[kind].title
    assert _flat(title.replace("人民调解卷宗封面", "人民调解卷宗")) in text
    assert dispute.case_no in text
    if kind not in ("record", "followup", "cover"):
        assert "张三" in text


def test_form_fields_are_validated(world):
    dispute = make_case(world)
    with pytest.raises(service.DocumentError) as err:
        service.save_form(
            world.mediator_a.user,
            dispute,
            "followup",
            {"visited_on": "2026-13-01", "method": "飞鸽传书", "visitor": "", "performance": "x"},
        )
    assert err.value.status == 422
    assert set(err.value.errors) == {"visited_on", "method", "visitor", "visited"}
    with pytest.raises(service.DocumentError) as err:
        service.save_form(world.grid_a_user.user, dispute, "application", {"requests": "x"})
    assert err.value.status == 403


def test_case_file_has_cover_index_with_page_numbers_and_every_document(world, signing_dir, tmp_path):
    dispute = make_case(world)
    user = world.mediator_a.user
    service.save_form(user, dispute, "application", {"requests": "请求调解漏水赔偿。"})
    from datetime import date

    try:
        from mediation.disputes.casework import MediationSession
    except ImportError:  # pragma: no cover - the casework area is optional for documents
        MediationSession = None
    if MediationSession is not None:
        db.session.add(
            MediationSession(
                dispute_id=dispute.id,
                held_on=date(2026, 11, 20),
                place="调解室",
                mediators="调解员甲",
                attendees="张三、李四",
                record="双方陈述意见，初步达成一致。",
            )
        )
    agreement = effective_agreement(world, dispute)
    service.save_form(
        user,
        dispute,
        "followup",
        {
            "visited_on": "2026-12-20",
            "method": "上门回访",
            "visitor": "调解员甲",
            "visited": "张三",
            "performance": "已履行完毕。",
        },
    )
    db.session.commit()

    doc = service.case_file_pdf(user, dispute)
    db.session.commit()
    pdf = doc.content
    assert doc.pdf is None and doc.sha256 and doc.doc_type == "卷宗"  # only the hash is kept
    assert signing.verify_pades(pdf, demo_roots(signing_dir)).ok
    assert service.verify(doc.code, pdf).genuine

    pages = pdf_pages(pdf, tmp_path)
    first_page = _flat(pdf_text(pdf, 1, 1))
    assert "人民调解卷宗" in first_page and dispute.case_no in first_page
    toc = pdf_text(pdf, 2, 2, layout=True)
    assert "卷内目录" in toc
    expected = ["人民调解申请书", "人民调解受理登记表"]
    if MediationSession is not None:
        expected.append("人民调解记录")
    expected += ["人民调解协议书", "人民调解回访记录"]
    # Every document appears in the index with the page it starts on.
    rows = []
    for title in expected:
        match = re.search(r"^\s*\d+\s+" + re.escape(title) + r"\s.*?(\d+)\s*$", toc, re.M)
        assert match, (title, toc)
        rows.append((title, int(match.group(1))))
    numbers = [n for _, n in rows]
    assert numbers == sorted(numbers) and numbers[0] == 3 and numbers[-1] <= pages
    for title, number in rows:
        assert title in _flat(pdf_text(pdf, number, number)), (title, number)
    # The signed agreement travels inside as an attachment, byte for byte.
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert f"{agreement.number}.pdf" in listing
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "att.pdf"), str(path)], check=True)
    assert (tmp_path / "att.pdf").read_bytes() == service.signed_agreement(agreement).pdf
    assert any(e.type == "case_file_exported" for e in dispute.events)
