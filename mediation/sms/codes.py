"""One-time SMS codes (验证码): a party proves a phone number by typing the code sent to it.

API for the rest of the product:

- :func:`issue_code` ``(phone, purpose, *, scope, address) -> CodeResult`` checks the limits, stores
  a new 6-digit code (only its HMAC, keyed with SECRET_KEY) and queues it through the outbox
  (template ``verify_code``, parameters ``code`` and ``minutes``). ``purpose`` says what the code is
  for (e.g. ``"case"``, ``"apply"``), ``scope`` what it opens (e.g. the case code), ``address`` the
  client's address. A refused request gets ``ok=False`` and a Chinese ``error``; nothing is stored.
  A new code replaces the phone's earlier live code for the same purpose and scope.
- :func:`check_code` ``(phone, purpose, scope, code, address) -> bool``: True once for the right code
  within SMS_CODE_TTL seconds (the app clock); every try counts, and after SMS_CODE_MAX_ATTEMPTS
  tries the code is dead. A used code is dead.

Both write in the caller's transaction: the caller commits, also after a wrong code (so that the
try counts). Limits, each one named function returning the Chinese refusal or None:
:func:`resend_wait_error` (one code per phone, purpose and scope every SMS_CODE_RESEND_SECONDS),
:func:`phone_limit_error`, :func:`scope_limit_error`, :func:`address_limit_error` (at most
SMS_CODE_{PHONE,SCOPE,ADDRESS}_LIMIT codes within SMS_CODE_{…}_WINDOW seconds)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from mediation.common.time import utcnow
from mediation.extensions import db
from mediation.sms.models import SmsCode, SmsMessage, SmsStatus
from mediation.sms.outbox import SmsError, enqueue, normalize_phone

CODE_TEMPLATE = "verify_code"
CODE_DIGITS = 6


@dataclass
class CodeResult:
    ok: bool
    error: str | None = None
    code_id: int | None = None
    message: SmsMessage | None = None  # the queued SMS (its params hold the code: tests read it)
    expires_at: object = None


def _cfg(name: str) -> int:
    return int(current_app.config[name])


def code_hash(phone: str, purpose: str, scope: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}\x00{purpose}\x00{scope}\x00{code}".encode(), hashlib.sha256).hexdigest()


def _count_since(*conditions, seconds: int) -> int:
    since = utcnow() - timedelta(seconds=seconds)
    return db.session.scalar(select(func.count(SmsCode.id)).where(SmsCode.created_at > since, *conditions))


def _wait_text(seconds: int) -> str:
    return f"{seconds}秒" if seconds < 120 else f"{(seconds + 59) // 60}分钟"


def resend_wait_error(phone: str, purpose: str, scope: str) -> str | None:
    """One code per phone, purpose and scope every SMS_CODE_RESEND_SECONDS."""
    wait = _cfg("SMS_CODE_RESEND_SECONDS")
    last = db.session.scalar(
        select(func.max(SmsCode.created_at)).where(
            SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.scope == scope
        )
    )
    if last is not None and (left := (last + timedelta(seconds=wait) - utcnow()).total_seconds()) > 0:
        return f"验证码已发送，请{_wait_text(math.ceil(left))}后再试。"
    return None


def phone_limit_error(phone: str) -> str | None:
    """At most SMS_CODE_PHONE_LIMIT codes to one phone within SMS_CODE_PHONE_WINDOW seconds."""
    window = _cfg("SMS_CODE_PHONE_WINDOW")
    if _count_since(SmsCode.phone == phone, seconds=window) >= _cfg("SMS_CODE_PHONE_LIMIT"):
        return f"该手机号获取验证码过于频繁，请{_wait_text(window)}后再试。"
    return None


def scope_limit_error(scope: str) -> str | None:
    """At most SMS_CODE_SCOPE_LIMIT codes for one scope (e.g. one case code) within SMS_CODE_SCOPE_WINDOW."""
    window = _cfg("SMS_CODE_SCOPE_WINDOW")
    if _count_since(SmsCode.scope == scope, seconds=window) >= _cfg("SMS_CODE_SCOPE_LIMIT"):
        return f"该案件获取验证码过于频繁，请{_wait_text(window)}后再试。"
    return None


def address_limit_error(address: str) -> str | None:
    """At most SMS_CODE_ADDRESS_LIMIT codes asked from one client address within SMS_CODE_ADDRESS_WINDOW."""
    window = _cfg("SMS_CODE_ADDRESS_WINDOW")
    if _count_since(SmsCode.address == address, seconds=window) >= _cfg("SMS_CODE_ADDRESS_LIMIT"):
        return f"您所在网络获取验证码过于频繁，请{_wait_text(window)}后再试。"
    return None


def issue_code(phone: str, purpose: str, *, scope: str, address: str) -> CodeResult:
    """Send a new one-time code to ``phone`` (see the module's docstring)."""
    phone, address = normalize_phone(phone), (address or "")[:64]
    for refusal in (
        resend_wait_error(phone, purpose, scope),
        phone_limit_error(phone),
        scope_limit_error(scope),
        address_limit_error(address),
    ):
        if refusal:
            return CodeResult(ok=False, error=refusal)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    ttl = _cfg("SMS_CODE_TTL")
    try:
        message = enqueue(phone, CODE_TEMPLATE, {"code": code, "minutes": max(1, ttl // 60)})
    except SmsError as err:
        return CodeResult(ok=False, error=str(err))
    if message.status == SmsStatus.ABANDONED:  # over the phone's daily cap: recorded, never sent
        return CodeResult(ok=False, error=message.last_error, message=message)
    db.session.execute(
        update(SmsCode)
        .where(SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.scope == scope)
        .where(SmsCode.used_at.is_(None), SmsCode.replaced.is_(False))
        .values(replaced=True)
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    row = SmsCode(
        phone=phone,
        purpose=purpose,
        scope=scope,
        address=address,
        code_hash=code_hash(phone, purpose, scope, code),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        message_id=message.id,
    )
    db.session.add(row)
    db.session.flush()
    return CodeResult(ok=True, code_id=row.id, message=message, expires_at=row.expires_at)


def check_code(phone: str, purpose: str, scope: str, code: str, address: str) -> bool:
    """True once for the right, live code (see the module's docstring). ``address`` is the client's
    address (kept for the same limits as :func:`issue_code` by the caller's own checks)."""
    phone = normalize_phone(phone)
    live = db.session.scalar(
        select(SmsCode)
        .where(
            SmsCode.phone == phone,
            SmsCode.purpose == purpose,
            SmsCode.scope == scope,
            SmsCode.used_at.is_(None),
            SmsCode.replaced.is_(False),
            SmsCode.expires_at > utcnow(),
            SmsCode.attempts < _cfg("SMS_CODE_MAX_ATTEMPTS"),
        )
        .order_by(SmsCode.id.desc())
        .limit(1)
    )
    if live is None:
        return False
    # One try counted atomically: concurrent tries cannot exceed the maximum.
    counted = db.session.execute(
        update(SmsCode)
        .where(
            SmsCode.id == live.id, SmsCode.attempts < _cfg("SMS_CODE_MAX_ATTEMPTS"), SmsCode.used_at.is_(None)
        )
        .values(attempts=SmsCode.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    given = (code or "").strip()
    if counted != 1 or not hmac.compare_digest(live.code_hash, code_hash(phone, purpose, scope, given)):
        return False
    used = db.session.execute(
        update(SmsCode)
        .where(SmsCode.id == live.id, SmsCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return used == 1
