"""Production safety: links from PUBLIC_URL (never the Host header), no demo signing certificate in
production, private file modes, no-store on personal data, a CSP without inline scripts, and a
SQL error that is a bug answered 500 (only an unusable database is 503)."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import text

from mediation import ROOT, create_app
from mediation.config import build_config
from mediation.documents import service, signing
from mediation.documents.models import SignedDocument
from mediation.documents.render import Renderer, qr_png
from mediation.extensions import db
from tests.conftest import PG_URL
from tests.documents_helpers import (
    data_url,
    effective_agreement,
    make_case,
    pdf_text,
    seal_jpeg,
    signature_png,
)
from tests.test_ledger import error_file

PUBLIC = "https://tiaojie.example.gov.cn"
EVIL = "http://evil.example"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def signing_dir(app, world, tmp_path):
    directory = tmp_path / "signing"
    app.config["SIGNING_DIR"] = str(directory)
    app.config["PUBLIC_URL"] = PUBLIC
    signing.create_unit_demo_certificates(directory, signing.signing_units())  # each unit signs in its name
    return directory


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """The environment of a production start, complete; each test takes away or spoils one piece."""
    monkeypatch.setenv("MEDIATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    monkeypatch.setenv("SCHEDULER_MODE", "external")
    monkeypatch.setenv("SIGNING_DIR", str(tmp_path / "prod-signing"))
    for name in ("SIGNING_P12_PATH", "SIGNING_P12_PASSWORD", "SIGNING_PROVIDER", "SIGNING_TRUST_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _real_certificate(path: Path, password: str) -> Path:
    """A signing certificate that is not a demo one (a stand-in for the committee's real one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "海滨街道人民调解委员会"),
            x509.NameAttribute(NameOID.COMMON_NAME, "海滨街道人民调解委员会"),
        ]
    )
    now = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"real", key, cert, None, serialization.BestAvailableEncryption(password.encode())
        )
    )
    return path


# ------------------------------------------------------------------ links come from PUBLIC_URL


def test_signed_agreement_links_to_public_url_even_when_the_host_header_lies(app, world, signing_dir):
    """The mediator's signature (the last one) issues the signed PDF inside a request whose Host
    header says evil.example: the QR code and the printed verification link still name PUBLIC_URL."""
    dispute = make_case(world)
    user = world.mediator_a.user
    service.upload_seal(world.admin.user, world.committee_a, seal_jpeg())
    agreement = service.draft_agreement(
        user,
        dispute,
        {
            "facts": "渗水致墙面受损。",
            "issues": "修复费用。",
            "responsibilities": "李四负全部责任。",
            "terms": "一、李四赔偿张三叁仟伍佰元整。",
            "performance_method": "银行转账。",
        },
    )
    service.submit_for_signing(user, agreement)
    service.sign(user, agreement, "当事人", party_index=0, image=data_url(signature_png()))
    for index in range(1, len(agreement.parties)):
        service.sign(user, agreement, "当事人", party_index=index, method="按指印")
    service.affix_seal(user, agreement)
    db.session.commit()

    client = app.test_client()  # every request of this browser goes to "evil.example"
    html = client.get("/login", base_url=EVIL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post(
        "/login",
        base_url=EVIL,
        data={"username": "mediator_a", "password": "password123", "csrf_token": token},
    )
    assert r.status_code == 302
    r = client.post(
        f"/agreements/{agreement.id}/sign/mediator",
        base_url=EVIL,
        data={"csrf_token": token, "method": "手写签名", "signature": data_url(signature_png())},
    )
    assert r.status_code == 303
    db.session.expire_all()
    doc = db.session.query(SignedDocument).filter_by(agreement_id=agreement.id).one()
    words = re.sub(r"\s+", "", pdf_text(doc.pdf))
    assert f"{PUBLIC}/verify" in words
    assert "evil.example" not in words and "localhost" not in words

    # The QR code's payload: the same PNG as the QR code of the PUBLIC_URL link (qrcode is deterministic).
    with app.test_request_context("/", base_url=EVIL, headers={"Host": "evil.example"}):
        renderer = Renderer()
        block = service.verification_block(renderer, doc.code)
        assert block["url"] == f"{PUBLIC}/verify/{doc.code}"
        assert block["qr"] == renderer.data_uri(qr_png(f"{PUBLIC}/verify/{doc.code}"), "image/png")


def test_notification_email_links_to_public_url(app, world):
    from mediation.followups.models import Notification, NotificationKind
    from mediation.followups.service import _mail_message

    app.config["PUBLIC_URL"] = PUBLIC + "/"  # a trailing slash gives no double slash
    dispute = make_case(world)
    row = Notification(
        user=world.mediator_a.user,
        dispute=dispute,
        kind=NotificationKind.WARNING,
        key=f"test:{dispute.id}",
        text="案件已进入预警。",
        email_to="m@example.cn",
    )
    db.session.add(row)
    db.session.commit()
    with app.test_request_context("/", base_url=EVIL, headers={"Host": "evil.example"}):
        body = _mail_message(row, current_app.config).get_content()
    assert f"查看案件：{PUBLIC}/disputes/{dispute.id}" in body
    assert "evil.example" not in body


def test_public_url_defaults_to_the_development_address(monkeypatch, tmp_path):
    monkeypatch.delenv("MEDIATION_ENV", raising=False)
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    assert build_config(tmp_path)["PUBLIC_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("PUBLIC_URL", "https://tiaojie.example.gov.cn/mediation/")
    assert build_config(tmp_path)["PUBLIC_URL"] == "https://tiaojie.example.gov.cn/mediation"
    monkeypatch.setenv("PUBLIC_URL", "tiaojie.example.gov.cn")
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        build_config(tmp_path)


def test_production_refuses_to_start_without_public_url(production_env, monkeypatch):
    monkeypatch.delenv("PUBLIC_URL")
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app()
    monkeypatch.setenv("PUBLIC_URL", PUBLIC)
    assert create_app().config["PUBLIC_URL"] == PUBLIC  # the control: complete, it starts


# ------------------------------------------------------------------ no demo signing in production


def test_demo_certificates_are_recognisable(tmp_path):
    paths = signing.create_demo_certificates(
        tmp_path / "signing", unit_code="U1", unit_name="海滨街道人民调解委员会"
    )
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    assert signing.is_demo_certificate(ca)
    real = _real_certificate(tmp_path / "real.p12", "Str0ng-Passw0rd")
    from cryptography.hazmat.primitives.serialization import pkcs12

    _, cert, _ = pkcs12.load_key_and_certificates(real.read_bytes(), b"Str0ng-Passw0rd")
    assert not signing.is_demo_certificate(cert)


def test_production_refuses_to_start_with_the_demo_certificate(production_env):
    signing.create_demo_certificates(production_env / "prod-signing")
    with pytest.raises(RuntimeError, match="演示签章证书"):
        create_app()


def test_production_refuses_to_start_with_a_demo_or_empty_password(production_env, monkeypatch):
    real = _real_certificate(production_env / "real.p12", signing.DEMO_PASSWORD)
    monkeypatch.setenv("SIGNING_P12_PATH", str(real))
    monkeypatch.setenv("SIGNING_P12_PASSWORD", signing.DEMO_PASSWORD)
    with pytest.raises(RuntimeError, match="演示密码或空密码"):
        create_app()
    strong = _real_certificate(production_env / "strong.p12", "Str0ng-Passw0rd")
    monkeypatch.setenv("SIGNING_P12_PATH", str(strong))
    monkeypatch.setenv("SIGNING_P12_PASSWORD", "Str0ng-Passw0rd")
    assert create_app().config["ENV_NAME"] == "production"  # the control: a real certificate starts


def test_production_refuses_to_sign_with_the_demo_certificate(app, world, signing_dir):
    """The demo certificate appeared after the start (or the check was bypassed): signing refuses,
    in Chinese, and no signed document is stored."""
    app.config["ENV_NAME"] = "production"
    with pytest.raises(service.DocumentError, match="生产环境不得使用演示签章证书"):
        effective_agreement(world)
    db.session.rollback()
    assert db.session.query(SignedDocument).count() == 0
    app.config["ENV_NAME"] = "development"
    assert effective_agreement(world).is_effective  # the control: in development the demo signs


def test_demo_cert_command_refused_in_production(app, tmp_path):
    app.config["ENV_NAME"] = "production"
    app.config["SIGNING_DIR"] = str(tmp_path / "signing")
    result = app.test_cli_runner().invoke(args=["documents", "demo-cert"])
    assert result.exit_code == 1 and "生产环境" in result.output
    assert not (tmp_path / "signing" / "demo.p12").exists()


# ------------------------------------------------------------------ files are private


@pytest.fixture
def open_umask():
    """A permissive umask, so the modes below are the code's doing, not the environment's."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_secret_key_and_signing_material_are_owner_only(open_umask, monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("MEDIATION_ENV", raising=False)
    build_config(tmp_path)
    assert _mode(tmp_path / "secret_key") == 0o600
    paths = signing.create_demo_certificates(tmp_path / "signing")
    assert _mode(tmp_path / "signing") == 0o700
    for path in (*paths.values(), tmp_path / "signing" / "demo-ca.key"):
        assert _mode(path) == 0o600, path


def test_exports_rejects_and_backups_are_owner_only(app, world, open_umask, tmp_path):
    from mediation import ops
    from mediation.ledger.service import export_ledger, import_ledger

    make_case(world)
    export = tmp_path / "export.xlsx"
    export_ledger(export, world.district)
    assert _mode(export) == 0o600
    result = import_ledger(error_file(tmp_path), partial=True, rejects_path=tmp_path / "rejects.xlsx")
    db.session.rollback()
    assert result.rejects_path and _mode(Path(result.rejects_path)) == 0o600
    backup = ops.backup(tmp_path / "backup.dump")  # pg_dump -Fc, or SQLite's backup API
    assert _mode(backup) == 0o600


def test_instance_folder_and_embedded_database_are_owner_only(open_umask, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SCHEDULER_MODE": "external",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new.sqlite'}",
        }
    )
    assert _mode(app.instance_path) == 0o700
    assert _mode(tmp_path / "new.sqlite") == 0o600
    with app.app_context():
        db.create_all()  # SQLite keeps the mode of the file it finds
        db.engine.dispose()
    assert _mode(tmp_path / "new.sqlite") == 0o600


# ------------------------------------------------------------------ caching and scripts


def test_personal_data_is_not_stored_by_caches(app, world, web):
    dispute = make_case(world)
    web.login("mediator_a")
    page = web.client.get(f"/disputes/{dispute.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    r = app.test_client().get(f"/api/v1/disputes/{dispute.id}", headers=world.mediator_a.headers)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    denied = app.test_client().get("/api/v1/disputes")  # an error answer too
    assert denied.status_code == 401 and denied.headers["Cache-Control"] == "no-store"
    static = app.test_client().get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in (static.headers.get("Cache-Control") or "")
    static.close()


def test_script_src_has_no_unsafe_inline(app, world, web):
    web.login("mediator_a")
    r = web.client.get("/disputes/new")
    csp = {d.split()[0]: d.split()[1:] for d in r.headers["Content-Security-Policy"].split(";") if d.strip()}
    sources = csp.get("script-src", csp["default-src"])
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def test_no_template_has_an_inline_script_or_event_handler():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in INLINE_SCRIPT.finditer(source)]
        found += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in EVENT_HANDLER.finditer(source)]
        found += [
            f"{path.relative_to(ROOT)}: javascript: URL" for _ in re.finditer(r"javascript:", source, re.I)
        ]
    assert not found, found


# ------------------------------------------------------------------ SQL errors: bug 500, unavailable 503


def _add_sql_routes(app):
    def bad_sql():
        db.session.execute(text("SELEC 1 FROM nowhere"))
        return "unreachable"

    def missing_table():
        db.session.execute(text("SELECT * FROM no_such_table_here"))
        return "unreachable"

    app.add_url_rule("/_test/bad-sql", "test_bad_sql", bad_sql)
    app.add_url_rule("/api/v1/_test/bad-sql", "test_bad_sql_api", bad_sql)
    app.add_url_rule("/_test/missing-table", "test_missing_table", missing_table)


def test_a_wrong_sql_statement_is_a_500_logged_as_a_bug(app, caplog):
    _add_sql_routes(app)
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        r = client.get("/_test/bad-sql")
    assert r.status_code == 500, r.get_data(as_text=True)
    assert "数据库暂时不可用" not in r.get_data(as_text=True)
    assert any(rec.levelno >= logging.ERROR and rec.exc_info for rec in caplog.records)
    assert client.get("/_test/missing-table").status_code == 500
    r = client.get("/api/v1/_test/bad-sql")
    assert r.status_code == 500 and r.is_json and r.get_json()["message"] == "服务器内部错误，请稍后重试。"
    assert "SELEC" not in r.get_data(as_text=True)  # no SQL or driver text in the answer
    assert client.get("/healthz").status_code == 200  # the session was rolled back: the next request works


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")
def test_a_locked_sqlite_database_is_a_503(app, db_url):
    def write():
        db.session.execute(text("PRAGMA busy_timeout=50"))
        db.session.execute(text("UPDATE user_account SET username = username"))
        return "written"

    app.add_url_rule("/_test/write", "test_write", write)
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        r = app.test_client().get("/_test/write")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.status_code == 503 and "数据库暂时不可用" in r.get_data(as_text=True)
    assert app.test_client().get("/_test/write").status_code == 200  # the control: unlocked, it writes
