"""Configuration: defaults for the embedded set-up, everything overridable by the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# Enumerations are data, not code: a deployment may extend them through the environment
# (comma-separated) without touching the code. Values are the Chinese names of LEDGER.md.
DEFAULT_CATEGORIES = (
    "婚姻家庭", "邻里", "房屋宅基地", "山林土地", "合同", "债务", "生产经营", "损害赔偿",
    "劳动争议/欠薪", "征地拆迁", "环境污染", "医疗", "物业", "道路交通事故", "消费", "涉众型经济",
    "涉军/退役军人", "其他",
)
DEFAULT_SOURCES = (
    "群众来访", "网格员排查", "12345热线", "110警情转办", "信访转办", "法院委派", "部门移送",
    "上级交办", "网络/微信",
)


def _list_env(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return tuple(v.strip() for v in raw.split(",") if v.strip())


def _secret_key(instance_path: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise RuntimeError("生产环境必须设置 SECRET_KEY 环境变量 (SECRET_KEY is required in production)")
    # Development: generate once and keep it in the instance folder so sessions survive restarts.
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def build_config(instance_path: Path) -> dict:
    production = os.environ.get("MEDIATION_ENV", "development") == "production"
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'mediation.sqlite'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://"):]
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": _secret_key(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,  # uploads (ledger workbooks, seals, PDFs to verify)
        # JSON request bodies: size and nesting (mediation/common/limits.py).
        "MAX_JSON_BYTES": int(os.environ.get("MAX_JSON_BYTES", str(2 * 1024 * 1024))),
        "JSON_MAX_DEPTH": int(os.environ.get("JSON_MAX_DEPTH", "32")),
        # Parties of one case; a larger group dispute is registered with representatives and 涉及人数.
        "MAX_PARTIES_PER_CASE": int(os.environ.get("MAX_PARTIES_PER_CASE", "100")),
        # Case numbers: （2026）海滨调字第0001号. Fields: year, unit (the unit's short name), seq.
        "CASE_NO_PATTERN": os.environ.get("CASE_NO_PATTERN", "（{year}）{unit}调字第{seq:04d}号"),
        "DUPLICATE_WINDOW_DAYS": int(os.environ.get("DUPLICATE_WINDOW_DAYS", "30")),
        # Roles that may read full personal ID numbers; everyone else sees 120***********1234.
        "ID_NUMBER_ROLES": _list_env("ID_NUMBER_ROLES", ("mediator", "court")),
        "CATEGORIES": _list_env("CATEGORIES", DEFAULT_CATEGORIES),
        "SOURCES": _list_env("SOURCES", DEFAULT_SOURCES),
        "TIMEZONE": "Asia/Shanghai",
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "PAGE_SIZE": 20,
        # Follow-ups, warnings and 督办 (mediation/followups): days after closing / between 稳控 visits.
        "SATISFACTION_VISIT_DAYS": int(os.environ.get("SATISFACTION_VISIT_DAYS", "7")),
        "STABILIZE_VISIT_DAYS": int(os.environ.get("STABILIZE_VISIT_DAYS", "15")),
        "CONFIRMATION_WINDOW_DAYS": int(os.environ.get("CONFIRMATION_WINDOW_DAYS", "30")),
        # 督办 from the overdue review (mediation/reports): the reply date, in days from today.
        "OVERDUE_SUPERVISION_REPLY_DAYS": int(os.environ.get("OVERDUE_SUPERVISION_REPLY_DAYS", "3")),
        # The scheduler: "embedded" runs it inside the web app (one process, the default), "external"
        # leaves it to `flask --app mediation scheduler`. Either way a database lease lets only one
        # process run the jobs at a time.
        "SCHEDULER_MODE": os.environ.get("SCHEDULER_MODE", "embedded"),
        "SCHEDULER_INTERVAL": float(os.environ.get("SCHEDULER_INTERVAL", "60")),  # seconds between sweeps
        "SCHEDULER_LEASE_SECONDS": float(os.environ.get("SCHEDULER_LEASE_SECONDS", "90")),
        "SCHEDULER_MISFIRE_GRACE": int(os.environ.get("SCHEDULER_MISFIRE_GRACE", str(30 * 24 * 3600))),
        # E-mail notifications: sent only when MAIL_SERVER is set.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") in ("1", "true", "yes"),  # STARTTLS
        "MAIL_USE_SSL": os.environ.get("MAIL_USE_SSL", "") in ("1", "true", "yes"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "mediation@localhost"),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", ""),  # links in e-mails, e.g. https://tiaojie.example.cn
        # flask-smorest / OpenAPI
        "API_TITLE": "矛盾纠纷多元化解 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Served from the swagger-ui-bundle package by our own route, so the page works offline.
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearerAuth": []}],
            "info": {"description": "网格员 App、法院系统和脚本使用的接口。认证：Authorization: Bearer <token>。"},
        },
    }
