"""Configuration: defaults for the embedded set-up, everything overridable by the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from mediation.common.files import write_private
from mediation.common.upload_limits import config_defaults as table_limits
from mediation.sms.settings import config_defaults as sms_config

# Enumerations are data, not code: a deployment may extend them through the environment
# (comma-separated) without touching the code. Values are the Chinese names of LEDGER.md.
# 考核: the weights of the scorecard's figures (mediation/reports/scorecard.py, SCORE_FIGURES).
SCORECARD_WEIGHTS = {
    "received": 10,
    "success_rate": 20,
    "on_time_rate": 20,
    "overdue": 15,
    "supervision_rate": 10,
    "followup_rate": 10,
    "satisfaction_rate": 10,
    "screening_rate": 5,
}

DEFAULT_CATEGORIES = (
    "婚姻家庭",
    "邻里",
    "房屋宅基地",
    "山林土地",
    "合同",
    "债务",
    "生产经营",
    "损害赔偿",
    "劳动争议/欠薪",
    "征地拆迁",
    "环境污染",
    "医疗",
    "物业",
    "道路交通事故",
    "消费",
    "涉众型经济",
    "涉军/退役军人",
    "其他",
)
DEFAULT_SOURCES = (
    "群众来访",
    "网格员排查",
    "12345热线",
    "110警情转办",
    "信访转办",
    "法院委派",
    "部门移送",
    "上级交办",
    "网络/微信",
    "网上申请",
)
# The source of a case a party filed through the public form /apply (mediation/applications).
ONLINE_APPLICATION_SOURCE = "网上申请"


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
    # Development: generate once and keep it in the instance folder so sessions survive restarts. The
    # processes of the machine that start at once (two instances, the scheduler) must end with one key:
    # each writes its own to a temporary file and links it into place, which fails for all but the first;
    # everyone then reads the key that won.
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        candidate = key_file.with_name(f".secret_key-{os.getpid()}-{secrets.token_hex(8)}")
        write_private(candidate, secrets.token_hex(32))
        try:
            os.link(candidate, key_file)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return key_file.read_text().strip()


DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"


def _public_url(production: bool) -> str:
    """The address users reach the service at: every absolute link (QR codes and verification links
    in documents, links in e-mails) is built from it, never from the request's Host header."""
    url = (os.environ.get("PUBLIC_URL") or "").strip()
    if not url:
        if production:
            raise RuntimeError(
                "生产环境必须设置 PUBLIC_URL 环境变量，即用户访问本系统的地址，例如 "
                "https://tiaojie.example.gov.cn（PUBLIC_URL is required in production）"
            )
        return DEVELOPMENT_PUBLIC_URL
    check_public_url(url)
    return url.rstrip("/")


def check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RuntimeError(
            f"PUBLIC_URL 应为 http(s)://主机名[:端口][/路径]，例如 https://tiaojie.example.gov.cn，"
            f"而不是「{url}」"
        )


def database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` URLs use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def build_config(instance_path: Path) -> dict:
    production = os.environ.get("MEDIATION_ENV", "development") == "production"
    db_url = database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'mediation.sqlite'}")
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": _secret_key(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # A PostgreSQL streaming replica of DATABASE_URL for the reads of reports and lists
        # (mediation/replica.py); a replica further behind than DATABASE_REPLICA_MAX_LAG seconds
        # is not used.
        "DATABASE_REPLICA_URL": os.environ.get("DATABASE_REPLICA_URL") or None,
        "DATABASE_REPLICA_MAX_LAG": float(os.environ.get("DATABASE_REPLICA_MAX_LAG", "30")),
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
        # 人民调解协议书 (and 补充协议) numbers, issued by the mediating 调委会 from its own yearly
        # sequence: （2026）双港镇调协字第0003号. Same fields.
        "AGREEMENT_NO_PATTERN": os.environ.get("AGREEMENT_NO_PATTERN", "（{year}）{unit}调协字第{seq:04d}号"),
        "DUPLICATE_WINDOW_DAYS": int(os.environ.get("DUPLICATE_WINDOW_DAYS", "30")),
        # Roles that may read full personal ID numbers; everyone else sees 120***********1234.
        "ID_NUMBER_ROLES": _list_env("ID_NUMBER_ROLES", ("mediator", "court")),
        "CATEGORIES": _list_env("CATEGORIES", DEFAULT_CATEGORIES),
        "SOURCES": _list_env("SOURCES", DEFAULT_SOURCES),
        # 网上申请调解 (mediation/applications): photos per application and the size of one, and the
        # applications accepted per phone number / per client address in one Shanghai day.
        "APPLY_MAX_PHOTOS": int(os.environ.get("APPLY_MAX_PHOTOS", "3")),
        "APPLY_PHOTO_MAX_BYTES": int(os.environ.get("APPLY_PHOTO_MAX_BYTES", str(8 * 1024 * 1024))),
        "APPLY_PHONE_DAILY_LIMIT": int(os.environ.get("APPLY_PHONE_DAILY_LIMIT", "3")),
        "APPLY_ADDRESS_DAILY_LIMIT": int(os.environ.get("APPLY_ADDRESS_DAILY_LIMIT", "10")),
        "TIMEZONE": "Asia/Shanghai",
        # What an uploaded table may expand to (mediation/common/upload_limits.py): UPLOAD_MAX_FILE_BYTES,
        # XLSX_MAX_ENTRIES, XLSX_MAX_TOTAL_BYTES, XLSX_MAX_SHEET_BYTES, XLSX_MAX_SHARED_STRINGS_BYTES,
        # XLSX_MAX_PART_BYTES, XLSX_MAX_ROW_BYTES, XLSX_MAX_RATIO, TABLE_MAX_ROWS, TABLE_MAX_COLUMNS,
        # TABLE_MAX_CELL_CHARS, CSV_MAX_LINE_CHARS.
        **table_limits(os.environ),
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        # LOGIN_MAX_FAILURES counts per (account, address) pair; this much higher ceiling per address
        # (any accounts) stops password spraying from one address without locking out a whole office.
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "100")),
        # The reverse proxies in front of gunicorn (nginx, a load balancer) that each append to
        # X-Forwarded-For: the client's address (sign-in lockout, the /apply and /c/ limits) is the one the
        # outermost of them saw. 0: no proxy, the header is ignored (a client could forge it).
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS", "12")),  # sign in again after this
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "180")),  # lifetime of a new API token
        # The parties' door (/c/<case code>, mediation/parties): a party session ends after this many
        # idle minutes, and this many hours after the code was entered whatever happens.
        "PARTY_SESSION_IDLE_MINUTES": float(os.environ.get("PARTY_SESSION_IDLE_MINUTES", "30")),
        "PARTY_SESSION_MAX_HOURS": float(os.environ.get("PARTY_SESSION_MAX_HOURS", "2")),
        # Wrong codes typed from one client address (any case, phone or code) within the window.
        "PARTY_CHECK_ADDRESS_LIMIT": int(os.environ.get("PARTY_CHECK_ADDRESS_LIMIT", "20")),
        "PARTY_CHECK_ADDRESS_WINDOW": int(os.environ.get("PARTY_CHECK_ADDRESS_WINDOW", "3600")),
        "PAGE_SIZE": 20,
        # The Excel export of a filtered case list refuses more rows than this (narrow the filter).
        "CASE_LIST_EXPORT_MAX_ROWS": int(os.environ.get("CASE_LIST_EXPORT_MAX_ROWS", "10000")),
        # Follow-ups, warnings and 督办 (mediation/followups): days after closing / between 稳控 visits.
        "SATISFACTION_VISIT_DAYS": int(os.environ.get("SATISFACTION_VISIT_DAYS", "7")),
        "STABILIZE_VISIT_DAYS": int(os.environ.get("STABILIZE_VISIT_DAYS", "15")),
        "CONFIRMATION_WINDOW_DAYS": int(os.environ.get("CONFIRMATION_WINDOW_DAYS", "30")),
        # 督办 from the overdue review (mediation/reports): the reply date, in days from today.
        "OVERDUE_SUPERVISION_REPLY_DAYS": int(os.environ.get("OVERDUE_SUPERVISION_REPLY_DAYS", "3")),
        # 考核 (mediation/reports/scorecard.py): the weight of each figure in the total (0 or absent: shown,
        # not counted) and the 通报's thresholds (表扬: total >= PRAISE or among the top N; 批评: below).
        "SCORECARD_WEIGHTS": dict(SCORECARD_WEIGHTS),
        "NOTICE_PRAISE_MIN_TOTAL": float(os.environ.get("NOTICE_PRAISE_MIN_TOTAL", "90")),
        "NOTICE_PRAISE_TOP": int(os.environ.get("NOTICE_PRAISE_TOP", "0")),
        "NOTICE_CRITICISE_BELOW": float(os.environ.get("NOTICE_CRITICISE_BELOW", "60")),
        # Days a dispute found by a sweep (排查) may stay neither registered nor explained before the
        # 综治中心 of the grid is told (mediation/reports/screenings.py).
        "SWEEP_REGISTER_DAYS": int(os.environ.get("SWEEP_REGISTER_DAYS", "3")),
        # The scheduler: "embedded" runs it inside the web app (one process, the default), "external"
        # leaves it to `flask --app mediation scheduler`. Either way a database lease lets only one
        # process run the jobs at a time.
        "SCHEDULER_MODE": os.environ.get("SCHEDULER_MODE", "embedded"),
        "SCHEDULER_INTERVAL": float(os.environ.get("SCHEDULER_INTERVAL", "60")),  # seconds between sweeps
        "SCHEDULER_LEASE_SECONDS": float(os.environ.get("SCHEDULER_LEASE_SECONDS", "90")),
        "SCHEDULER_MISFIRE_GRACE": int(os.environ.get("SCHEDULER_MISFIRE_GRACE", str(30 * 24 * 3600))),
        # 台账 import/export jobs (mediation/ledger/jobs.py): rows of ledger_job run by the worker in the
        # scheduler process (or `flask --app mediation ledger work`). A running job beats every
        # LEDGER_JOB_HEARTBEAT seconds; one silent for LEDGER_JOB_TIMEOUT seconds is taken over, at most
        # LEDGER_JOB_ATTEMPTS runs in all, then failed. Files live in the database: the upload is deleted
        # when its job ends (or LEDGER_UPLOAD_KEEP_DAYS later), results after LEDGER_RESULT_KEEP_DAYS.
        "LEDGER_JOB_POLL": float(os.environ.get("LEDGER_JOB_POLL", "2")),
        "LEDGER_JOB_HEARTBEAT": float(os.environ.get("LEDGER_JOB_HEARTBEAT", "10")),
        "LEDGER_JOB_TIMEOUT": float(os.environ.get("LEDGER_JOB_TIMEOUT", "120")),
        "LEDGER_JOB_ATTEMPTS": int(os.environ.get("LEDGER_JOB_ATTEMPTS", "3")),
        "LEDGER_UPLOAD_KEEP_DAYS": float(os.environ.get("LEDGER_UPLOAD_KEEP_DAYS", "0")),
        "LEDGER_RESULT_KEEP_DAYS": float(os.environ.get("LEDGER_RESULT_KEEP_DAYS", "7")),
        "LEDGER_WORK_DIR": os.environ.get("LEDGER_WORK_DIR") or None,  # scratch files (default: system temp)
        # E-mail notifications: sent only when MAIL_SERVER is set.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") in ("1", "true", "yes"),  # STARTTLS
        "MAIL_USE_SSL": os.environ.get("MAIL_USE_SSL", "") in ("1", "true", "yes"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "mediation@localhost"),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        # SMS (mediation/sms): an outbox of rows that the sender (in the scheduler process, or
        # `flask --app mediation sms work`) delivers through SMS_PROVIDER ("console": log and file;
        # "tencent": Tencent Cloud SMS). SMS_TEMPLATES (JSON) overrides or adds templates by key.
        **sms_config(os.environ),
        # Every absolute link (documents' QR code and verification link, e-mails): mediation.common.urls.public_url.
        "PUBLIC_URL": _public_url(production),
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
            "info": {
                "description": "网格员 App、法院系统和脚本使用的接口。认证：Authorization: Bearer <token>。"
            },
        },
    }
