"""SMS settings and their defaults (read by mediation/config.py from the environment).

SMS_TEMPLATES maps our template keys to what the provider needs: ``code`` (the provider's template
code or ID, per deployment), ``params`` (the order of our parameters: Tencent Cloud fills a
template's {1}, {2} … from a list) and ``text`` (the Chinese text the console provider writes,
with ``{name}`` placeholders). The environment variable SMS_TEMPLATES (a JSON object) replaces
entries by key or adds new ones; a partial entry keeps the defaults of the fields it does not name."""

from __future__ import annotations

import json
from collections.abc import Mapping

DEFAULT_TEMPLATES: dict[str, dict] = {
    "verify_code": {
        "code": "0000001",
        "params": ["code", "minutes"],
        "text": "您的验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    },
    "case_code": {
        "code": "0000002",
        "params": ["case_no", "case_code", "url"],
        "text": "您的纠纷（{case_no}）已受理，案件码{case_code}。查看办理进展：{url}",
    },
    "session_invite": {
        "code": "0000003",
        "params": ["when", "place", "unit"],
        "text": "{unit}定于{when}在{place}进行调解，请准时参加。",
    },
    "session_reminder": {
        "code": "0000004",
        "params": ["when", "place", "unit"],
        "text": "提醒：{unit}定于明天{when}在{place}进行调解，请准时参加。",
    },
    "session_changed": {
        "code": "0000007",
        "params": ["when", "place", "unit"],
        "text": "{unit}通知：调解时间地点变更为{when}在{place}，请准时参加。",
    },
    "session_cancelled": {
        "code": "0000008",
        "params": ["when", "place", "unit"],
        "text": "{unit}通知：原定于{when}在{place}进行的调解已取消，另行通知。",
    },
    "application_received": {
        "code": "0000005",
        "params": ["case_code", "url"],
        "text": "您的调解申请已收到，案件码{case_code}。查看办理进展：{url}",
    },
    "application_refused": {
        "code": "0000006",
        "params": ["reason", "url"],
        "text": "您的调解申请未被受理，原因：{reason}。详情：{url}",
    },
}


def _templates(raw: str | None) -> dict[str, dict]:
    templates = {key: dict(value) for key, value in DEFAULT_TEMPLATES.items()}
    if not raw:
        return templates
    extra = json.loads(raw)
    if not isinstance(extra, dict) or not all(isinstance(v, dict) for v in extra.values()):
        raise RuntimeError('SMS_TEMPLATES 应为 JSON 对象，例如 {"verify_code": {"code": "123456"}}')
    for key, value in extra.items():
        templates[key] = {**templates.get(key, {}), **value}
    return templates


def config_defaults(env: Mapping[str, str]) -> dict:
    def num(name: str, default: str, kind=int):
        return kind(env.get(name, default))

    return {
        "SMS_PROVIDER": env.get("SMS_PROVIDER", "console"),  # console | tencent
        "SMS_SIGN_NAME": env.get("SMS_SIGN_NAME", "矛盾纠纷调解"),
        "SMS_TEMPLATES": _templates(env.get("SMS_TEMPLATES")),
        "SMS_CONSOLE_FILE": env.get("SMS_CONSOLE_FILE") or None,  # default: <instance>/sms-console.log
        # Outbox: messages to one phone per Shanghai day (more are recorded as 已放弃, never sent);
        # provider calls per message; the retry delay doubles from SMS_RETRY_BASE_SECONDS up to
        # SMS_RETRY_MAX_SECONDS; a 发送中 claim older than SMS_CLAIM_TIMEOUT seconds (its sender died)
        # is taken over; the sender polls every SMS_POLL seconds (sooner when this process queued one).
        "SMS_DAILY_CAP_PER_PHONE": num("SMS_DAILY_CAP_PER_PHONE", "10"),
        "SMS_MAX_ATTEMPTS": num("SMS_MAX_ATTEMPTS", "5"),
        "SMS_RETRY_BASE_SECONDS": num("SMS_RETRY_BASE_SECONDS", "30", float),
        "SMS_RETRY_MAX_SECONDS": num("SMS_RETRY_MAX_SECONDS", "3600", float),
        "SMS_CLAIM_TIMEOUT": num("SMS_CLAIM_TIMEOUT", "300", float),
        "SMS_POLL": num("SMS_POLL", "5", float),
        "SMS_SEND_BATCH": num("SMS_SEND_BATCH", "50"),
        # One-time codes: lifetime, tries per code, and how many codes a phone, a scope (e.g. one case
        # code) and a client address may ask for within their windows (seconds); one code per
        # phone, purpose and scope every SMS_CODE_RESEND_SECONDS.
        "SMS_CODE_TTL": num("SMS_CODE_TTL", "300"),
        "SMS_CODE_MAX_ATTEMPTS": num("SMS_CODE_MAX_ATTEMPTS", "5"),
        "SMS_CODE_RESEND_SECONDS": num("SMS_CODE_RESEND_SECONDS", "60"),
        "SMS_CODE_PHONE_LIMIT": num("SMS_CODE_PHONE_LIMIT", "5"),
        "SMS_CODE_PHONE_WINDOW": num("SMS_CODE_PHONE_WINDOW", "3600"),
        "SMS_CODE_SCOPE_LIMIT": num("SMS_CODE_SCOPE_LIMIT", "10"),
        "SMS_CODE_SCOPE_WINDOW": num("SMS_CODE_SCOPE_WINDOW", "3600"),
        "SMS_CODE_ADDRESS_LIMIT": num("SMS_CODE_ADDRESS_LIMIT", "20"),
        "SMS_CODE_ADDRESS_WINDOW": num("SMS_CODE_ADDRESS_WINDOW", "3600"),
        # Tencent Cloud SMS (SMS_PROVIDER=tencent): credentials, the SMS application, and where the
        # API is (tests point SMS_TENCENT_ENDPOINT at a local stub with SMS_TENCENT_SCHEME=http).
        "SMS_TENCENT_SECRET_ID": env.get("SMS_TENCENT_SECRET_ID") or None,
        "SMS_TENCENT_SECRET_KEY": env.get("SMS_TENCENT_SECRET_KEY") or None,
        "SMS_TENCENT_SDK_APP_ID": env.get("SMS_TENCENT_SDK_APP_ID") or None,
        "SMS_TENCENT_REGION": env.get("SMS_TENCENT_REGION", "ap-guangzhou"),
        "SMS_TENCENT_ENDPOINT": env.get("SMS_TENCENT_ENDPOINT", "sms.tencentcloudapi.com"),
        "SMS_TENCENT_SCHEME": env.get("SMS_TENCENT_SCHEME", "https"),
        "SMS_TENCENT_TIMEOUT": num("SMS_TENCENT_TIMEOUT", "10"),
    }
