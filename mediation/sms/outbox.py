"""The SMS outbox: every message is a :class:`~mediation.sms.models.SmsMessage` row; a sender sends it.

API for the rest of the product (the parties' door builds on it):

- :func:`enqueue` ``(phone, template, params, *, dedupe_key=None, dispute=None) -> SmsMessage`` adds a
  message in the caller's transaction (the caller commits). It validates the phone (a mobile number,
  :func:`mediation.common.validators.mobile_error`) and that ``template`` is a key of SMS_TEMPLATES,
  raising :class:`SmsError` (Chinese messages by field) otherwise. With a ``dedupe_key`` it is
  idempotent: a second call with the same key returns the first message (even from another
  transaction racing it). A message over the per-phone daily cap (:func:`daily_cap_error`) is still
  recorded, as 已放弃 with the reason, and never sent.
- :func:`send_due` ``(limit=…, *, worker=None) -> SendResult`` claims up to ``limit`` due messages,
  calls the provider (SMS_PROVIDER, :mod:`mediation.sms.providers`) for each and records the outcome:
  已发送 exactly once; on a failure, back to 待发送 after an exponential backoff
  (:func:`retry_delay`), 失败 after SMS_MAX_ATTEMPTS calls or at once for a permanent error.
- :class:`SmsSender` runs :func:`send_due` in a thread: in every scheduler process (the embedded
  scheduler of ``flask run`` too, so the demo delivers without extra steps) and in
  ``flask --app mediation sms work``. A commit that queued a message wakes this process's sender.

Exactly once: a claim is one short transaction (``SELECT`` the due rows ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, then ``UPDATE … SET status='发送中', claimed_by=me WHERE id IN (those) AND still due``; on
SQLite the transaction holds the write lock), committed before the provider is called; the outcome is written only ``WHERE claimed_by
= me AND status = '发送中'``. Two senders never send one message. A sender that dies between the
provider call and the commit leaves the row 发送中; after SMS_CLAIM_TIMEOUT seconds it is due again
(counted as an attempt): that crash window is the only way a message can reach a phone twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from flask import Flask, current_app
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediation import clock
from mediation.accounts.access import is_admin, predicate
from mediation.common.time import SHANGHAI, utcnow
from mediation.common.validators import mobile_error
from mediation.common.worker import PollingWorker, default_worker_name
from mediation.database import write_intent
from mediation.extensions import db
from mediation.sms.models import SmsMessage, SmsStatus
from mediation.sms.providers import ProviderError, provider_for

log = logging.getLogger(__name__)

EXTENSION_KEY = "mediation_sms_sender"
_WAKE = threading.Event()  # set after a commit of this process that queued a message


class SmsError(ValueError):
    """Bad input to :func:`enqueue`: ``errors`` maps a field to its Chinese messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("；".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


def normalize_phone(phone: str) -> str:
    return (phone or "").strip().replace(" ", "").replace("-", "")


def template_config(key: str) -> dict | None:
    return current_app.config["SMS_TEMPLATES"].get(key)


def message_errors(phone: str, template: str, params) -> dict[str, list[str]]:
    """What is wrong with a message before it is queued, by field (empty when nothing)."""
    errors: dict[str, list[str]] = {}
    if err := mobile_error(phone or ""):
        errors["phone"] = [err]
    if template_config(template) is None:
        errors["template"] = [f"短信模板「{template}」不存在。"]
    if not isinstance(params, dict):
        errors["params"] = ["短信参数应为键值对。"]
    return errors


def day_start() -> datetime:
    """00:00 Shanghai time of today (the app clock's day), as naive UTC."""
    return datetime.combine(clock.today(), time(0, 0), SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def daily_cap_error(phone: str) -> str | None:
    """The per-phone daily cap: None while ``phone`` has had fewer than SMS_DAILY_CAP_PER_PHONE
    messages queued today (Shanghai day; abandoned ones do not count), else the reason."""
    cap = int(current_app.config["SMS_DAILY_CAP_PER_PHONE"])
    count = db.session.scalar(
        select(func.count(SmsMessage.id)).where(
            SmsMessage.phone == phone,
            SmsMessage.created_at >= day_start(),
            SmsMessage.status != SmsStatus.ABANDONED,
        )
    )
    if count >= cap:
        return f"该手机号今日短信已达上限（{cap}条），本条未发送。"
    return None


def enqueue(
    phone: str, template: str, params: dict, *, dedupe_key: str | None = None, dispute=None
) -> SmsMessage:
    """Queue one SMS (see the module's docstring). The caller commits; the sender of this process is
    woken after that commit."""
    if errors := message_errors(phone, template, params):
        raise SmsError(errors)
    phone = normalize_phone(phone)
    if dedupe_key is not None:
        existing = db.session.scalar(select(SmsMessage).where(SmsMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    message = SmsMessage(
        phone=phone,
        template=template,
        params=dict(params),
        dedupe_key=dedupe_key,
        dispute_id=getattr(dispute, "id", dispute),
        next_attempt_at=utcnow(),
    )
    if reason := daily_cap_error(phone):
        message.status, message.last_error = SmsStatus.ABANDONED, reason
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        # Another transaction queued the same dedupe_key since our look-up: that message it is.
        existing = db.session.scalar(select(SmsMessage).where(SmsMessage.dedupe_key == dedupe_key))
        if existing is None:
            raise
        return existing
    db.session.info["sms_queued"] = True
    return message


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session) -> None:
    if session.info.pop("sms_queued", False):
        wake()


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: nothing was queued
        session.info.pop("sms_queued", None)


def wake() -> None:
    """Tell this process's sender that a message was queued, instead of waiting for its next poll."""
    _WAKE.set()


# --- sending ----------------------------------------------------------------------------------------------


@dataclass
class SendResult:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # taken over by another sender meanwhile

    @property
    def claimed(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed) + len(self.lost)


def claim_due(worker: str, limit: int) -> list[int]:
    """Take up to ``limit`` due messages for ``worker``, atomically (see the module's docstring):
    待发送 ones whose next_attempt_at has come, and 发送中 ones whose sender's claim is older than
    SMS_CLAIM_TIMEOUT seconds. Each claim counts as an attempt."""
    stale = clock.real_now() - timedelta(seconds=float(current_app.config["SMS_CLAIM_TIMEOUT"]))
    due = ((SmsMessage.status == SmsStatus.PENDING) & (SmsMessage.next_attempt_at <= utcnow())) | (
        (SmsMessage.status == SmsStatus.SENDING) & (SmsMessage.claimed_at < stale)
    )
    ids = (
        select(SmsMessage.id)
        .where(due)
        .order_by(SmsMessage.next_attempt_at, SmsMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with write_intent():
        db.session.commit()
        # Two statements in one transaction: the due rows are locked (PostgreSQL: FOR UPDATE SKIP
        # LOCKED, held to the commit) before they are updated. One ``UPDATE … WHERE id IN (SELECT …
        # LIMIT n FOR UPDATE SKIP LOCKED)`` is not safe: PostgreSQL may run the subquery again for each
        # row and claim far more than n rows.
        locked = list(db.session.scalars(ids))
        claimed = []
        if locked:
            claimed = list(
                db.session.scalars(
                    update(SmsMessage)
                    .where(SmsMessage.id.in_(locked), due)
                    .values(
                        status=SmsStatus.SENDING,
                        claimed_by=worker,
                        claimed_at=clock.real_now(),
                        attempts=SmsMessage.attempts + 1,
                    )
                    .returning(SmsMessage.id)
                    .execution_options(synchronize_session=False)
                )
            )
        db.session.commit()
    return sorted(claimed)


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed calls: SMS_RETRY_BASE_SECONDS doubled
    for each further failure, at most SMS_RETRY_MAX_SECONDS."""
    cfg = current_app.config
    seconds = float(cfg["SMS_RETRY_BASE_SECONDS"]) * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, float(cfg["SMS_RETRY_MAX_SECONDS"])))


def _record(message_id: int, worker: str, **values) -> bool:
    """Write the outcome of this worker's claim; False when the claim is no longer this worker's."""
    with write_intent():
        db.session.commit()
        done = db.session.execute(
            update(SmsMessage)
            .where(
                SmsMessage.id == message_id,
                SmsMessage.claimed_by == worker,
                SmsMessage.status == SmsStatus.SENDING,
            )
            .values(claimed_by=None, claimed_at=None, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    return done == 1


def send_one(message_id: int, worker: str, provider, result: SendResult) -> None:
    """Call the provider for one claimed message and record the outcome."""
    message = db.session.get(SmsMessage, message_id, populate_existing=True)
    db.session.commit()  # no transaction stays open during the provider's call
    template = template_config(message.template)
    try:
        if template is None:
            raise ProviderError(f"短信模板「{message.template}」已不在配置中。", permanent=True)
        provider_id = provider.send(message, template)
    except ProviderError as err:
        error = str(err)[:1000]
        if err.permanent or message.attempts >= int(current_app.config["SMS_MAX_ATTEMPTS"]):
            outcome, bucket = {"status": SmsStatus.FAILED, "last_error": error}, result.failed
        else:
            outcome = {
                "status": SmsStatus.PENDING,
                "last_error": error,
                "next_attempt_at": utcnow() + retry_delay(message.attempts),
            }
            bucket = result.retrying
        log.warning("SMS %s attempt %s failed: %s", message_id, message.attempts, error)
    else:
        outcome = {
            "status": SmsStatus.SENT,
            "sent_at": utcnow(),
            "provider": provider.name,
            "provider_message_id": str(provider_id)[:100],
            "last_error": None,
        }
        bucket = result.sent
    (bucket if _record(message_id, worker, **outcome) else result.lost).append(message_id)


def send_due(limit: int | None = None, *, worker: str | None = None) -> SendResult:
    """Send what is due, at most ``limit`` messages (default SMS_SEND_BATCH): see the module's
    docstring. Needs an app context; commits its own short transactions."""
    worker = worker or default_worker_name()
    limit = int(limit if limit is not None else current_app.config["SMS_SEND_BATCH"])
    result = SendResult()
    ids = claim_due(worker, limit)
    if not ids:
        return result
    try:
        provider = provider_for()
    except ProviderError as err:  # not configured: every claimed message waits and retries
        provider = _Refusing(str(err))
    for message_id in ids:
        send_one(message_id, worker, provider, result)
    return result


class _Refusing:
    name = "unconfigured"

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, message, template):
        raise ProviderError(self.reason)


class SmsSender(PollingWorker):
    """Runs :func:`send_due` every SMS_POLL seconds in a thread (sooner when woken), until stopped."""

    wake = _WAKE
    thread_name = "mediation-sms-sender"
    label = "SMS sender"

    def __init__(self, app: Flask, *, name: str | None = None, poll: float | None = None):
        super().__init__(app, name=name, poll=poll if poll is not None else app.config["SMS_POLL"])

    def run_once(self) -> SendResult:
        total = SendResult()
        with self.app.app_context():
            try:
                while not self._stop.is_set():
                    result = send_due(worker=self.name)
                    for name in ("sent", "retrying", "failed", "lost"):
                        getattr(total, name).extend(getattr(result, name))
                    if result.claimed < int(self.app.config["SMS_SEND_BATCH"]):
                        break
            finally:
                db.session.remove()
        return total


def start_sender(app: Flask) -> SmsSender:
    """The SMS sender of this process (one per app), started."""
    sender = app.extensions.get(EXTENSION_KEY)
    if sender is None:
        sender = app.extensions[EXTENSION_KEY] = SmsSender(app)
    return sender.start()


# --- reading ------------------------------------------------------------------------------------------------


@predicate
def may_view_outbox(user) -> bool:
    """The outbox (phones, texts of every case) is system administration: the admin only."""
    return user is not None and getattr(user, "is_authenticated", True) and is_admin(user)


# Parameters that are secrets for whoever reads the outbox (a one-time code opens a party's case).
SECRET_PARAMS = {"verify_code": ("code",)}


def shown_params(message: SmsMessage) -> dict:
    """The message's parameters as the outbox page and ``sms outbox`` show them: a one-time code is
    masked unless the provider is the console one (the demo and the tests, where the outbox *is* the
    phone). With a real provider nobody but the phone's owner reads a code, admins included."""
    params = dict(message.params or {})
    if current_app.config.get("SMS_PROVIDER", "console") != "console":
        for key in SECRET_PARAMS.get(message.template, ()):
            if key in params:
                params[key] = "******"
    return params


def latest(limit: int = 50, phone: str | None = None, status: SmsStatus | None = None) -> list[SmsMessage]:
    """The latest messages, newest first; only those to ``phone`` / in ``status`` when given."""
    stmt = select(SmsMessage).order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc()).limit(limit)
    if phone:
        stmt = stmt.where(SmsMessage.phone == normalize_phone(phone))
    if status:
        stmt = stmt.where(SmsMessage.status == status)
    return list(db.session.scalars(stmt))
