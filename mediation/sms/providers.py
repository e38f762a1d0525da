"""SMS providers, chosen by SMS_PROVIDER: ``console`` (the log and a file; the demo and the tests)
and ``tencent`` (Tencent Cloud SMS through its official SDK, ``tencentcloud-sdk-python-sms``).

A provider has one method, ``send(message, template) -> provider message id``, and raises
:class:`ProviderError` when the message was not accepted (``permanent`` when no retry can help, e.g.
a template the provider does not know or a number it refuses)."""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from flask import current_app
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tencent_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from mediation.common.files import open_private
from mediation.common.time import to_local, utcnow
from mediation.common.validators import mask_phone

log = logging.getLogger(__name__)

_file_lock = threading.Lock()


class ProviderError(Exception):
    """The provider did not accept the message. ``permanent``: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def render_text(template: dict, params: dict) -> str:
    """The template's Chinese text with the message's parameters (a missing one reads as empty)."""
    try:
        return template.get("text", "").format_map(_Missing(params))
    except (ValueError, IndexError, AttributeError) as err:
        raise ProviderError(f"模板文本无效：{err}", permanent=True) from err


class _Missing(dict):
    def __missing__(self, key):
        return ""


class ConsoleProvider:
    """Writes each message to the log (phone masked) and, in full, to SMS_CONSOLE_FILE (0600; default
    ``<instance>/sms-console.log``), one line per message. Never fails."""

    name = "console"

    def __init__(self, app):
        path = app.config.get("SMS_CONSOLE_FILE") or Path(app.instance_path) / "sms-console.log"
        self.path = Path(path)
        self.sign = app.config["SMS_SIGN_NAME"]

    def send(self, message, template: dict) -> str:
        text = f"【{self.sign}】{render_text(template, message.params or {})}"
        message_id = f"console-{uuid.uuid4().hex[:16]}"
        log.info("SMS to %s (%s): %s", mask_phone(message.phone), message.template, text)
        stamp = to_local(utcnow()).strftime("%Y-%m-%d %H:%M:%S")
        with _file_lock, open_private(self.path, "a", encoding="utf-8") as fh:
            fh.write(f"{stamp}\t{message.phone}\t{message.template}\t{message_id}\t{text}\n")
        return message_id


# Tencent Cloud error codes that no retry fixes (the rest, e.g. InternalError, RequestLimitExceeded,
# network errors, are retried with backoff).
TENCENT_PERMANENT = (
    "InvalidParameter",
    "MissingParameter",
    "UnsupportedOperation",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.MissingTemplateToModify",
    "FailedOperation.ContainSensitiveWord",
    "LimitExceeded.PhoneNumberCountLimit",
)


def _permanent(code: str) -> bool:
    return any(code == p or code.startswith(p + ".") for p in TENCENT_PERMANENT)


class TencentProvider:
    """Tencent Cloud SMS (短信, API 2021-01-11 ``SendSms``) through the official SDK. The endpoint and
    scheme are settings (SMS_TENCENT_ENDPOINT, SMS_TENCENT_SCHEME), so tests run it against a local
    stub server (tests/sms_stub.py)."""

    name = "tencent"

    def __init__(self, app):
        cfg = app.config
        missing = [
            k
            for k in ("SMS_TENCENT_SECRET_ID", "SMS_TENCENT_SECRET_KEY", "SMS_TENCENT_SDK_APP_ID")
            if not cfg.get(k)
        ]
        if missing:
            raise ProviderError(f"腾讯云短信未配置：{', '.join(missing)}")
        http = HttpProfile(
            protocol=cfg["SMS_TENCENT_SCHEME"],
            endpoint=cfg["SMS_TENCENT_ENDPOINT"],
            reqTimeout=int(cfg["SMS_TENCENT_TIMEOUT"]),
        )
        profile = ClientProfile(httpProfile=http)
        profile.disable_region_breaker = True  # one endpoint, no fallback to another region's host
        self.client = SmsClient(
            credential.Credential(cfg["SMS_TENCENT_SECRET_ID"], cfg["SMS_TENCENT_SECRET_KEY"]),
            cfg["SMS_TENCENT_REGION"],
            profile,
        )
        self.app_id = str(cfg["SMS_TENCENT_SDK_APP_ID"])
        self.sign = cfg["SMS_SIGN_NAME"]

    def send(self, message, template: dict) -> str:
        params = message.params or {}
        request = tencent_models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{message.phone}"]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign
        request.TemplateId = str(template.get("code", ""))
        request.TemplateParamSet = [str(params.get(name, "")) for name in template.get("params", [])]
        request.SessionContext = f"sms-{message.id}"
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as err:
            code = err.get_code() or "ClientError"
            raise ProviderError(f"{code}: {err.get_message()}", permanent=_permanent(code)) from err
        status = (response.SendStatusSet or [None])[0]
        if status is None:
            raise ProviderError("腾讯云短信未返回发送状态")
        if status.Code != "Ok":
            raise ProviderError(f"{status.Code}: {status.Message}", permanent=_permanent(status.Code or ""))
        return status.SerialNo or response.RequestId


PROVIDERS = {"console": ConsoleProvider, "tencent": TencentProvider}


def provider_for(app=None):
    """The provider SMS_PROVIDER names (a new instance: configuration may change between tests)."""
    app = app or current_app
    name = app.config["SMS_PROVIDER"]
    if name not in PROVIDERS:
        raise RuntimeError(f"SMS_PROVIDER 应为 {'、'.join(PROVIDERS)} 之一，而不是「{name}」")
    return PROVIDERS[name](app)
