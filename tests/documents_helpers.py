"""Helpers for the documents tests: PDF text, fonts and pages, the demo roots. The builders (a case ready
for an agreement, drawn signatures, a seal) live in mediation/demo/small.py, which the benches use too."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mediation.demo.small import (
    AGREEMENT,
    PUBLIC_URL,
    configure_signing,
    data_url,
    effective_agreement,
    make_case,
    seal_jpeg,
    signature_png,
)

__all__ = [
    "AGREEMENT",
    "PUBLIC_URL",
    "configure_signing",
    "data_url",
    "demo_roots",
    "effective_agreement",
    "make_case",
    "pdf_fonts",
    "pdf_pages",
    "pdf_text",
    "seal_jpeg",
    "signature_png",
]


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
