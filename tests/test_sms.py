"""The SMS outbox, its providers (console; Tencent Cloud against a local stub) and one-time codes.

SQLite by default, PostgreSQL with TEST_DATABASE_URL (the two concurrent senders matter most there)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mediation import clock
from mediation.database import write_intent
from mediation.demo.small import make_case
from mediation.extensions import db
from mediation.followups.scheduler import SchedulerRunner
from mediation.sms import codes, outbox
from mediation.sms.models import SmsCode, SmsMessage, SmsStatus
from mediation.sms.outbox import SmsError, SmsSender, enqueue, send_due
from tests.sms_stub import APP_ID, SECRET_ID, SECRET_KEY, SmsStub
from tests.test_jobs_durable import other_app, wait_for  # noqa: F401  (a fixture)

PHONE = "13800138000"
OTHER = "13900139000"


@pytest.fixture
def sms_app(app, tmp_path):
    app.config.update(SMS_CONSOLE_FILE=str(tmp_path / "sms-console.log"), SMS_PROVIDER="console")
    clock.set(clock.real_now())
    yield app
    clock.reset()


@pytest.fixture
def stub(sms_app):
    with SmsStub() as server:
        sms_app.config.update(
            SMS_PROVIDER="tencent",
            SMS_TENCENT_SECRET_ID=SECRET_ID,
            SMS_TENCENT_SECRET_KEY=SECRET_KEY,
            SMS_TENCENT_SDK_APP_ID=APP_ID,
            SMS_TENCENT_ENDPOINT=server.endpoint,
            SMS_TENCENT_SCHEME="http",
            SMS_TENCENT_TIMEOUT=5,
        )
        yield server


def fresh(message_id: int) -> SmsMessage:
    db.session.rollback()
    return db.session.get(SmsMessage, message_id, populate_existing=True)


def count(*where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(SmsMessage.id)).where(*where))


def queue(phone=PHONE, template="verify_code", params=None, **kwargs) -> int:
    """Queue as the app's writers do outside a request (write_intent): on SQLite the transaction takes
    the write lock at BEGIN and waits for a running sender's claim, instead of failing at the insert."""
    db.session.commit()
    with write_intent():
        message = enqueue(phone, template, params or {"code": "123456", "minutes": 5}, **kwargs)
        db.session.commit()
    return message.id


# --- enqueue ----------------------------------------------------------------------------------------------


def test_enqueue_refuses_a_bad_phone_or_an_unknown_template_field_by_field(sms_app):
    with pytest.raises(SmsError) as err:
        enqueue("022-12345678", "no_such_template", {})
    assert err.value.errors["phone"] == ["请填写11位手机号码（座机无法接收短信）。"]
    assert err.value.errors["template"] == ["短信模板「no_such_template」不存在。"]
    with pytest.raises(SmsError) as err:
        enqueue("12345", "verify_code", {})
    assert "电话号码格式不正确" in err.value.errors["phone"][0]
    assert count() == 0


def test_enqueue_with_a_dedupe_key_is_idempotent_across_transactions(sms_app):
    first = queue(dedupe_key="case-7-accepted-party-3")
    again = queue(dedupe_key="case-7-accepted-party-3")  # the retried request
    assert again == first and count() == 1
    other = queue(dedupe_key="case-7-accepted-party-4")
    assert other != first and count() == 2
    assert queue() != queue()  # without a key, two messages


def test_a_concurrent_enqueue_with_the_same_key_returns_the_first_row(sms_app, other_app):  # noqa: F811
    """The look-up misses (the other transaction had not committed yet); the unique key catches it."""
    first = queue(dedupe_key="k-1")
    other = other_app()
    with other.app_context():
        message = enqueue(PHONE, "verify_code", {"code": "1"}, dedupe_key="k-1")
        db.session.commit()
        assert message.id == first


def test_daily_cap_per_phone_abandons_messages_over_it_and_resets_the_next_day(sms_app):
    sms_app.config["SMS_DAILY_CAP_PER_PHONE"] = 3
    ids = [queue() for _ in range(3)]
    over = queue()
    other_phone = queue(OTHER)
    message = fresh(over)
    assert message.status == SmsStatus.ABANDONED
    assert message.last_error == "该手机号今日短信已达上限（3条），本条未发送。"
    result = send_due()
    assert sorted(result.sent) == sorted([*ids, other_phone])
    assert fresh(over).status == SmsStatus.ABANDONED and fresh(over).attempts == 0
    clock.advance(days=1)
    assert fresh(queue()).status == SmsStatus.PENDING


# --- sending ----------------------------------------------------------------------------------------------


def test_console_provider_sends_each_message_once_and_writes_the_file(sms_app, tmp_path):
    message_id = queue(params={"code": "654321", "minutes": 5})
    result = send_due()
    assert result.sent == [message_id]
    message = fresh(message_id)
    assert message.status == SmsStatus.SENT and message.attempts == 1 and message.sent_at is not None
    assert message.provider == "console" and message.provider_message_id.startswith("console-")
    assert send_due().claimed == 0  # nothing left: sent once
    lines = (tmp_path / "sms-console.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert PHONE in lines[0] and "【矛盾纠纷调解】您的验证码为654321，5分钟内有效。" in lines[0]
    assert (tmp_path / "sms-console.log").stat().st_mode & 0o777 == 0o600


def test_tencent_provider_sends_through_the_sdk_to_the_stub(stub):
    message_id = queue(
        template="case_code",
        params={"case_no": "（2026）海滨调字第0001号", "case_code": "K7M2QX", "url": "u"},
    )
    assert send_due().sent == [message_id]
    message = fresh(message_id)
    assert message.status == SmsStatus.SENT and message.provider == "tencent"
    assert message.provider_message_id.startswith("2433:")
    (request,) = stub.requests
    assert request["action"] == "SendSms" and request["headers"]["X-TC-Version"] == "2021-01-11"
    assert request["body"]["PhoneNumberSet"] == ["+8613800138000"]
    assert request["body"]["SmsSdkAppId"] == APP_ID and request["body"]["SignName"] == "矛盾纠纷调解"
    assert request["body"]["TemplateId"] == "0000002"
    assert request["body"]["TemplateParamSet"] == ["（2026）海滨调字第0001号", "K7M2QX", "u"]


def test_failures_are_retried_with_exponential_backoff_then_failed(stub, sms_app):
    sms_app.config.update(SMS_MAX_ATTEMPTS=3, SMS_RETRY_BASE_SECONDS=30, SMS_RETRY_MAX_SECONDS=3600)
    stub.fail_next("InternalError", times=10)
    message_id = queue()
    start = clock.now()
    assert send_due().retrying == [message_id]
    message = fresh(message_id)
    assert (message.status, message.attempts) == (SmsStatus.PENDING, 1)
    assert message.last_error.startswith("InternalError")
    assert message.next_attempt_at == start + timedelta(seconds=30)
    assert send_due().claimed == 0  # not due yet
    clock.advance(seconds=30)
    assert send_due().retrying == [message_id]
    assert fresh(message_id).next_attempt_at == start + timedelta(seconds=30 + 60)  # doubled
    clock.advance(seconds=59)
    assert send_due().claimed == 0
    clock.advance(seconds=1)
    assert send_due().failed == [message_id]
    message = fresh(message_id)
    assert (message.status, message.attempts, message.sent_at) == (SmsStatus.FAILED, 3, None)
    assert len(stub.sent) == 3
    clock.advance(days=1)
    assert send_due().claimed == 0  # 失败 is final


def test_a_retry_that_succeeds_is_sent_once(stub):
    stub.fail_next("RequestLimitExceeded")
    message_id = queue()
    assert send_due().retrying == [message_id]
    clock.advance(minutes=5)
    assert send_due().sent == [message_id]
    assert (fresh(message_id).status, fresh(message_id).attempts, fresh(message_id).last_error) == (
        SmsStatus.SENT,
        2,
        None,
    )
    assert len(stub.sent) == 2


def test_a_per_number_refusal_is_permanent_or_retried_by_its_code(stub):
    stub.status_next("FailedOperation.PhoneNumberInBlacklist")
    blocked = queue()
    assert send_due().failed == [blocked]
    assert fresh(blocked).last_error.startswith("FailedOperation.PhoneNumberInBlacklist")
    stub.status_next("LimitExceeded.PhoneNumberDailyLimit")
    limited = queue(OTHER)
    assert send_due().retrying == [limited]


def test_bad_credentials_are_an_error_the_stub_answers_and_are_retried(stub, sms_app):
    sms_app.config["SMS_TENCENT_SECRET_ID"] = "AKIDwrong"
    message_id = queue()
    assert send_due().retrying == [message_id]
    assert fresh(message_id).last_error.startswith("AuthFailure.SecretIdNotFound")


def test_an_unconfigured_provider_leaves_messages_waiting(sms_app):
    sms_app.config.update(SMS_PROVIDER="tencent", SMS_TENCENT_SECRET_ID=None)
    message_id = queue()
    assert send_due().retrying == [message_id]
    assert "腾讯云短信未配置" in fresh(message_id).last_error


def test_a_claim_takes_at_most_its_limit_oldest_first(sms_app):
    ids = [queue() for _ in range(7)]
    assert outbox.claim_due("w1", 3) == ids[:3]
    assert outbox.claim_due("w2", 3) == ids[3:6]
    assert outbox.claim_due("w3", 3) == ids[6:]
    assert count(SmsMessage.status == SmsStatus.SENDING) == 7


def test_a_dead_senders_claim_is_taken_over_and_its_late_outcome_is_not_written(sms_app):
    message_id = queue()
    (claimed,) = outbox.claim_due("dead-host:1:aaaa", 10)
    assert claimed == message_id and fresh(message_id).status == SmsStatus.SENDING
    assert send_due().claimed == 0  # a live claim is left alone
    db.session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id)
        .values(claimed_at=clock.real_now() - timedelta(seconds=301))
    )
    db.session.commit()
    assert send_due(worker="new-host:1:bbbb").sent == [message_id]
    assert fresh(message_id).attempts == 2
    # the dead sender wakes up: its outcome is not written over the new one
    assert outbox._record(message_id, "dead-host:1:aaaa", status=SmsStatus.FAILED) is False
    assert fresh(message_id).status == SmsStatus.SENT


def test_two_concurrent_senders_send_every_message_exactly_once(stub, sms_app, other_app):  # noqa: F811
    """Two application instances (as two processes have) send from one outbox at once, each in its
    own thread, through the stub (whose 10 ms latency widens the race). Every message reaches the provider
    once. Meaningful on PostgreSQL (FOR UPDATE SKIP LOCKED); on SQLite the write lock serialises."""
    sms_app.config["SMS_DAILY_CAP_PER_PHONE"] = 1000
    stub.delay = 0.01
    ids = [queue(params={"code": f"{i:06d}", "minutes": 5}) for i in range(40)]
    apps = [other_app(**{k: v for k, v in sms_app.config.items() if k.startswith("SMS_")}) for _ in range(2)]
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def run(index: int) -> None:
        try:
            with apps[index].app_context():
                db.session.execute(select(1))  # connected before the start, like a running worker
                db.session.rollback()
                barrier.wait()
                sent = []
                while (result := send_due(limit=3, worker=f"sender-{index}")).claimed:
                    assert result.claimed <= 3, result  # a claim takes at most its limit
                    sent += result.sent
                results[index] = sent
        except BaseException as err:  # noqa: BLE001 - re-raised below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results[0] + results[1]) == ids
    assert results[0] and results[1], "both senders should have sent some messages"
    contexts = [body["SessionContext"] for body in stub.sent]
    assert sorted(contexts) == sorted(f"sms-{i}" for i in ids)  # each message called the provider once
    assert count(SmsMessage.status == SmsStatus.SENT, SmsMessage.attempts == 1) == 40


def test_the_sender_thread_delivers_right_after_the_commit(sms_app):
    """What the demo relies on: the scheduler process (``flask run`` embeds it) runs a sender that a
    commit which queued a message wakes at once, instead of its next poll."""
    runner = SchedulerRunner(sms_app, interval=3600)
    assert isinstance(runner.sms_sender, SmsSender)
    sender = runner.sms_sender
    sender.poll = 3600  # only the wake can make it send
    sender.start()
    try:
        time_to_start = wait_for(lambda: sender.running, 10, "the sender thread")
        assert time_to_start
        message_id = queue()
        wait_for(lambda: fresh(message_id).status == SmsStatus.SENT, 20, "the message to be sent")
    finally:
        sender.stop()


# --- one-time codes ----------------------------------------------------------------------------------------


def issue(phone=PHONE, purpose="case", scope="K7M2QX", address="10.0.0.1") -> codes.CodeResult:
    result = codes.issue_code(phone, purpose, scope=scope, address=address)
    db.session.commit()
    return result


def sent_code(result: codes.CodeResult) -> str:
    return fresh(result.message.id).params["code"]


def test_a_code_is_sent_through_the_outbox_and_only_its_hash_is_stored(sms_app):
    result = issue()
    assert result.ok and result.error is None
    code = sent_code(result)
    assert re.fullmatch(r"\d{6}", code)
    message = fresh(result.message.id)
    assert message.template == "verify_code" and message.params["minutes"] == 5
    row = db.session.get(SmsCode, result.code_id)
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at == row.created_at + timedelta(seconds=300)
    assert codes.check_code(PHONE, "case", "K7M2QX", code, "10.0.0.1") is True


def test_a_code_is_single_use_and_bound_to_phone_purpose_and_scope(sms_app):
    code = sent_code(issue())
    assert codes.check_code(OTHER, "case", "K7M2QX", code, "a") is False
    assert codes.check_code(PHONE, "apply", "K7M2QX", code, "a") is False
    assert codes.check_code(PHONE, "case", "OTHER1", code, "a") is False
    assert codes.check_code(PHONE, "case", "K7M2QX", code, "a") is True
    db.session.commit()
    assert codes.check_code(PHONE, "case", "K7M2QX", code, "a") is False  # used


def test_a_code_dies_after_five_tries(sms_app):
    code = sent_code(issue())
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert codes.check_code(PHONE, "case", "K7M2QX", wrong, "a") is False
        db.session.commit()
    assert codes.check_code(PHONE, "case", "K7M2QX", wrong, "a") is False  # the fifth try
    db.session.commit()
    assert codes.check_code(PHONE, "case", "K7M2QX", code, "a") is False  # dead now
    assert db.session.scalar(select(SmsCode.attempts)) == 5


def test_a_code_expires_on_the_app_clock(sms_app):
    code = sent_code(issue())
    clock.advance(seconds=300)
    assert codes.check_code(PHONE, "case", "K7M2QX", code, "a") is False
    db.session.rollback()
    code = sent_code(issue())  # a new one (the resend wait has passed)
    clock.advance(seconds=299)
    assert codes.check_code(PHONE, "case", "K7M2QX", code, "a") is True


def test_a_new_code_replaces_the_earlier_one(sms_app):
    sms_app.config["SMS_CODE_RESEND_SECONDS"] = 0
    first = sent_code(issue())
    second = sent_code(issue())
    if first != second:
        assert codes.check_code(PHONE, "case", "K7M2QX", first, "a") is False
    assert codes.check_code(PHONE, "case", "K7M2QX", second, "a") is True


def test_code_requests_are_limited_per_phone_scope_and_address(sms_app):
    sms_app.config.update(
        SMS_CODE_RESEND_SECONDS=60,
        SMS_CODE_PHONE_LIMIT=3,
        SMS_CODE_SCOPE_LIMIT=4,
        SMS_CODE_ADDRESS_LIMIT=5,
        SMS_DAILY_CAP_PER_PHONE=100,
    )
    assert issue().ok
    refused = issue()
    assert (refused.ok, refused.error) == (False, "验证码已发送，请60秒后再试。")
    clock.advance(seconds=60)
    assert issue().ok
    clock.advance(seconds=60)
    assert issue().ok
    clock.advance(seconds=60)
    assert issue().error == "该手机号获取验证码过于频繁，请60分钟后再试。"  # 3 per hour for one phone
    assert issue(phone="13700137000").ok  # a 4th for the scope, from another phone
    assert issue(phone="13600136000").error == "该案件获取验证码过于频繁，请60分钟后再试。"
    assert issue(phone="13600136000", scope="OTHER1").ok  # the 5th from this address
    assert (
        issue(phone="13500135000", scope="OTHER2").error == "您所在网络获取验证码过于频繁，请60分钟后再试。"
    )
    assert issue(phone="13500135000", scope="OTHER2", address="10.0.0.2").ok
    db.session.rollback()
    assert db.session.scalar(select(func.count(SmsCode.id))) == 6  # refusals store nothing
    clock.advance(seconds=3600)
    assert issue().ok  # the windows slide


def test_a_code_over_the_daily_cap_is_refused(sms_app):
    sms_app.config.update(SMS_DAILY_CAP_PER_PHONE=1, SMS_CODE_RESEND_SECONDS=0)
    assert issue().ok
    refused = issue()
    assert refused.ok is False and refused.error == "该手机号今日短信已达上限（1条），本条未发送。"
    assert count(SmsMessage.status == SmsStatus.ABANDONED) == 1


def test_a_bad_phone_gets_no_code(sms_app):
    result = issue(phone="022-12345678")
    assert result.ok is False and "手机号码" in result.error
    assert count() == 0


# --- CLI and the admin page -----------------------------------------------------------------------------


def test_cli_outbox_masks_phones_unless_asked_for_one(sms_app):
    queue(params={"code": "111111", "minutes": 5})
    queue(OTHER, params={"code": "222222", "minutes": 5})
    send_due()
    runner = sms_app.test_cli_runner()
    out = runner.invoke(args=["sms", "outbox"])
    assert out.exit_code == 0, out.output
    assert "138****8000" in out.output and "139****9000" in out.output
    assert PHONE not in out.output and "已发送" in out.output
    out = runner.invoke(args=["sms", "outbox", "--phone", PHONE, "--limit", "5"])
    assert out.exit_code == 0 and PHONE in out.output and "code=111111" in out.output
    assert OTHER not in out.output and "139****9000" not in out.output
    out = runner.invoke(args=["sms", "outbox", "--limit", "1"])
    assert out.output.count("verify_code") == 1


def test_one_time_codes_are_masked_for_readers_of_the_outbox_with_a_real_provider(stub, sms_app):
    """With a real provider the outbox page and ``sms outbox`` never show a code (an admin could open a
    party's case with it); with the console provider (demo, tests) the outbox is the phone."""
    queue(params={"code": "314159", "minutes": 5})
    queue(
        template="case_code",
        params={"case_no": "（2026）海滨调字第0001号", "case_code": "K7M2Q-X9P4R", "url": "u"},
    )
    out = sms_app.test_cli_runner().invoke(args=["sms", "outbox", "--phone", PHONE])
    assert out.exit_code == 0, out.output
    assert "314159" not in out.output and "code=******" in out.output and "K7M2Q-X9P4R" in out.output
    message = db.session.scalars(select(SmsMessage).where(SmsMessage.template == "verify_code")).one()
    assert outbox.shown_params(message)["code"] == "******"
    sms_app.config["SMS_PROVIDER"] = "console"
    assert outbox.shown_params(message)["code"] == "314159"


def test_cli_work_once_sends_what_is_due(sms_app):
    message_id = queue()
    out = sms_app.test_cli_runner().invoke(args=["sms", "work", "--once"])
    assert out.exit_code == 0 and "已发送 1" in out.output
    assert fresh(message_id).status == SmsStatus.SENT


def test_admin_page_lists_the_outbox_with_masked_phones(sms_app, world, web):
    queue(params={"code": "333333", "minutes": 5})
    sms_app.config["SMS_DAILY_CAP_PER_PHONE"] = 1
    queue()
    web.login("admin")
    html = web.client.get("/admin/sms/").get_data(as_text=True)
    assert "短信发件箱" in html and "138****8000" in html and PHONE not in html
    assert "您的验证码为333333" in html and "已放弃" in html and "待发送" in html
    assert 'href="/admin/sms/"' in html  # the menu link
    only = web.client.get("/admin/sms/?status=已放弃").get_data(as_text=True)
    assert "已达上限" in only and "您的验证码为333333" not in only


def test_a_message_scoped_to_a_case_shows_its_case_number(sms_app, world, web):
    dispute = make_case(world)
    db.session.commit()
    message_id = queue(template="case_code", params={"case_code": "K7M2QX"}, dispute=dispute)
    assert fresh(message_id).dispute_id == dispute.id
    web.login("admin")
    assert dispute.case_no in web.client.get("/admin/sms/").get_data(as_text=True)


@pytest.mark.parametrize("username", ["mediator_a", "center_a", "court", "grid_a", "qu_center"])
def test_admin_page_is_refused_to_everyone_else(sms_app, world, web, username):
    queue()
    web.login(username)
    assert web.client.get("/admin/sms/").status_code == 403
    assert "/admin/sms/" not in web.client.get("/disputes/").get_data(as_text=True)
