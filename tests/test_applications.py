"""网上申请调解 (/apply): the public form, its SMS code, place, photos, limits, idempotency, where the
case lands, and the 综治中心's refusal with a reason the applicant hears (issue 15)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from mediation import clock
from mediation.applications.models import ApplicationPhoto, OnlineApplication
from mediation.disputes.models import Dispute, Event
from mediation.extensions import db
from mediation.sms.models import SmsCode, SmsMessage
from tests.conftest import csrf_token, login
from tests.workflow_support import act

PHONE = "13912345678"


@pytest.fixture
def w(world, app):
    clock.set(clock.real_now())  # code expiry and the daily limits on a clock the test moves
    yield world
    clock.reset()


def latest_code(phone: str = PHONE) -> str:
    message = db.session.scalar(
        select(SmsMessage)
        .where(SmsMessage.phone == phone, SmsMessage.template == "verify_code")
        .order_by(SmsMessage.id.desc())
    )
    assert message is not None, "no verification code in the outbox"
    return message.params["code"]


def form(w, token: str, csrf: str, *, place=None, **overrides) -> dict:
    place = place if place is not None else [w.district, w.town_a, w.village_a]
    data = {
        "csrf_token": csrf,
        "idempotency_token": token,
        "step": "submit",
        "name": "王小明",
        "phone": PHONE,
        "code": "",
        "category": "邻里",
        "other-0-name": "赵大强",
        "other-0-kind": "自然人",
        "other-0-phone": "",
        "other-0-address": "新家园社区5号楼",
        "facts": "楼上邻居家装修，连续一个月每天晚上十点后施工，噪音很大。",
        "requests": "请对方晚上十点后停止施工。",
        "consent": "on",
    }
    for level, node in enumerate(place):
        data[f"place-{level}"] = node.code
    data.update(overrides)
    return data


def send_code(client, csrf: str, phone: str = PHONE):
    return client.post("/apply", data={"csrf_token": csrf, "step": "code", "phone": phone})


def new_token() -> str:
    import uuid

    return uuid.uuid4().hex


def apply(client, w, *, phone: str = PHONE, token: str | None = None, files=None, **overrides):
    """Open the form, get a code for ``phone``, submit: the response."""
    csrf = csrf_token(client, "/apply")
    r = send_code(client, csrf, phone)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    data = form(w, token or new_token(), csrf, phone=phone, code=latest_code(phone), **overrides)
    if files:
        data["photos"] = files
    return client.post("/apply", data=data, content_type="multipart/form-data")


def the_case() -> Dispute:
    return db.session.scalar(select(Dispute).order_by(Dispute.id.desc()))


def jpeg_with_exif(size=(1200, 900)) -> bytes:
    img = Image.new("RGB", size, (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0110] = "Model-X"  # Model
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


def upload(raw: bytes, name: str = "p.jpg"):
    return (io.BytesIO(raw), name)


# ------------------------------------------------------------------------------------- the flow


def test_whole_flow_lands_in_pending_at_the_center_with_the_case_code(client, w):
    page = client.get("/apply")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "网上申请调解" in html and 'name="place-0"' in html and "获取验证码" in html

    r = apply(client, w)
    assert r.status_code == 200, r.get_data(as_text=True)[:800]
    d = the_case()
    assert d.source == "网上申请" and d.status == "待分流"
    assert d.registering_unit_id == w.center_a.id and d.registered_by_id is None
    assert d.node_id == w.village_a.id
    assert [(p.role, p.name, p.phone) for p in d.parties] == [
        ("申请人", "王小明", PHONE),
        ("被申请人", "赵大强", None),
    ]
    assert "楼上邻居家装修" in d.summary and "请对方晚上十点后停止施工" in d.summary
    assert [e.type for e in d.events] == ["registered"]
    body = r.get_data(as_text=True)
    grouped = f"{d.case_code[:5]}-{d.case_code[5:]}"
    assert grouped in body
    assert f"/c/{d.case_code}" in body
    sms = db.session.scalar(select(SmsMessage).where(SmsMessage.template == "application_received"))
    assert sms.phone == PHONE and sms.dispute_id == d.id
    assert sms.params["case_code"] == grouped and sms.params["url"].endswith(f"/c/{d.case_code}")
    assert sms.dedupe_key == f"application_received:{d.id}"
    application = db.session.scalar(select(OnlineApplication))
    assert application.dispute_id == d.id and application.phone == PHONE


def test_center_sees_the_application_and_may_route_it(client, w):
    apply(client, w)
    d = the_case()
    login(client, "center_a")
    page = client.get(f"/disputes/{d.id}").get_data(as_text=True)
    assert "网上申请" in page and 'data-action="route"' in page and 'data-action="refuse_application"' in page


@pytest.mark.parametrize(
    ("where", "center"),
    [("village_b", "center_b"), ("grid_a", "center_a"), ("village_a", "center_a")],
)
def test_lands_at_the_center_responsible_for_the_place(client, w, where, center):
    place = {
        "village_b": [w.district, w.town_b, w.village_b],
        "grid_a": [w.district, w.town_a, w.village_a, w.grid_a],
        "village_a": [w.district, w.town_a, w.village_a],
    }[where]
    r = apply(client, w, place=place)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    d = the_case()
    assert d.node_id == getattr(w, where).id
    assert d.registering_unit_id == getattr(w, center).id
    from mediation.routing.service import responsible_center

    assert responsible_center(d).id == getattr(w, center).id
    assert d.case_no.startswith("（")


def test_place_must_reach_a_village_or_grid(client, w):
    r = apply(client, w, place=[w.district, w.town_a])
    assert r.status_code == 422
    assert "纠纷发生地须选到村（社区）或网格" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_the_place_picker_works_level_by_level_without_javascript(client, w):
    csrf = csrf_token(client, "/apply")
    html = client.get("/apply").get_data(as_text=True)
    assert "海滨区" in html and "双港镇" not in html
    r = client.post(
        "/apply",
        data={"csrf_token": csrf, "step": "place", "place-0": w.district.code, "facts": "已经写好的经过"},
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'name="place-1"' in html and "双港镇" in html and "海滨街道" in html
    assert "已经写好的经过" in html  # nothing typed is lost
    r = client.post(
        "/apply",
        data={"csrf_token": csrf, "step": "place", "place-0": w.district.code, "place-1": w.town_b.code},
    )
    html = r.get_data(as_text=True)
    assert 'name="place-2"' in html and "双港村" in html and "新家园社区" not in html
    # a lower choice that no longer belongs to the level above is dropped
    r = client.post(
        "/apply",
        data={
            "csrf_token": csrf,
            "step": "place",
            "place-0": w.district.code,
            "place-1": w.town_b.code,
            "place-2": w.village_a.code,
        },
    )
    assert "已选：海滨区 / 双港镇" in r.get_data(as_text=True)


def test_add_another_other_side_without_javascript(client, w):
    csrf = csrf_token(client, "/apply")
    r = client.post(
        "/apply", data={"csrf_token": csrf, "step": "add_other", "other-0-name": "赵大强", "name": "王小明"}
    )
    html = r.get_data(as_text=True)
    assert 'name="other-1-name"' in html and 'value="赵大强"' in html and 'value="王小明"' in html


def test_two_other_sides(client, w):
    r = apply(
        client, w, **{"other-1-name": "某某物业公司", "other-1-kind": "法人", "other-1-phone": "022-25881234"}
    )
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert [(p.role, p.kind, p.name) for p in the_case().parties][1:] == [
        ("被申请人", "自然人", "赵大强"),
        ("被申请人", "法人", "某某物业公司"),
    ]


# ------------------------------------------------------------------------------------ the SMS code


def test_sms_code_is_required(client, w):
    csrf = csrf_token(client, "/apply")
    r = client.post("/apply", data=form(w, new_token(), csrf))
    assert r.status_code == 422
    assert "请填写短信验证码" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_wrong_code_is_refused_and_counted(client, w):
    csrf = csrf_token(client, "/apply")
    send_code(client, csrf)
    right = latest_code()
    wrong = "000000" if right != "000000" else "111111"
    r = client.post("/apply", data=form(w, new_token(), csrf, code=wrong))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "验证码不正确或已失效" in html
    assert (
        'value="楼上邻居家装修，连续一个月每天晚上十点后施工，噪音很大。"' not in html
    )  # textarea, not value
    assert "楼上邻居家装修，连续一个月每天晚上十点后施工，噪音很大。" in html  # kept
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
    assert db.session.scalar(select(SmsCode.attempts)) == 1  # the try counts
    r = client.post("/apply", data=form(w, new_token(), csrf, code=right))
    assert r.status_code == 200


def test_expired_code_is_refused(client, w, app):
    csrf = csrf_token(client, "/apply")
    send_code(client, csrf)
    code = latest_code()
    clock.advance(seconds=app.config["SMS_CODE_TTL"] + 1)
    r = client.post("/apply", data=form(w, new_token(), csrf, code=code))
    assert r.status_code == 422 and "验证码不正确或已失效" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_code_for_a_landline_is_refused(client, w):
    csrf = csrf_token(client, "/apply")
    r = send_code(client, csrf, "022-25881234")
    assert r.status_code == 422 and "座机无法接收短信" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SmsMessage.id))) == 0


def test_a_form_with_other_mistakes_does_not_use_up_the_code(client, w):
    csrf = csrf_token(client, "/apply")
    send_code(client, csrf)
    code = latest_code()
    r = client.post("/apply", data=form(w, new_token(), csrf, code=code, facts="短"))
    assert r.status_code == 422
    assert db.session.scalar(select(SmsCode.attempts)) == 0
    r = client.post("/apply", data=form(w, new_token(), csrf, code=code))
    assert r.status_code == 200


# ---------------------------------------------------------------------------------- field errors


def test_field_errors_in_chinese_and_nothing_lost(client, w):
    csrf = csrf_token(client, "/apply")
    r = client.post(
        "/apply",
        data={
            "csrf_token": csrf,
            "idempotency_token": new_token(),
            "step": "submit",
            "phone": "12345",
            "id_number": "110101199001011234",
            "requests": "请求赔偿",
            "other-0-phone": "abc",
            "other-0-address": "某小区",
        },
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for message in (
        "请填写您的姓名。",
        "电话号码格式不正确",
        "请填写短信验证码",
        "校验",  # the ID number's check digit
        "请选择纠纷类别。",
        "请选择纠纷发生地",
        "请写明事情经过。",
        "请阅读并勾选同意声明后再提交。",
    ):
        assert message in html, message
    assert 'id="err-other-0-name"' in html and 'id="err-other-0-phone"' in html
    assert 'value="12345"' in html and 'value="某小区"' in html and "请求赔偿" in html
    assert "申请未提交" in html


# ------------------------------------------------------------------------------------ photos


def test_photos_are_reencoded_without_exif(client, w):
    raw = jpeg_with_exif()
    assert b"SecretPhoneMaker" in raw
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (255, 0, 0, 128)).save(png, "PNG")
    r = apply(client, w, files=[upload(raw), upload(png.getvalue(), "b.png")])
    assert r.status_code == 200, r.get_data(as_text=True)[:800]
    photos = db.session.scalars(select(ApplicationPhoto).order_by(ApplicationPhoto.position)).all()
    assert len(photos) == 2
    for photo in photos:
        assert photo.data[:2] == b"\xff\xd8" and photo.mimetype == "image/jpeg"
        assert b"SecretPhoneMaker" not in photo.data and b"Exif" not in photo.data
        with Image.open(io.BytesIO(photo.data)) as img:
            assert img.format == "JPEG" and not img.getexif()
            assert (img.width, img.height) == (photo.width, photo.height)
    assert photos[0].data != raw


def test_a_non_image_is_refused(client, w):
    r = apply(client, w, files=[upload(b"%PDF-1.4 not an image", "x.jpg")])
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "第1张：照片无法识别" in html and "已选择的照片不会保留" in html
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_too_many_photos_are_refused(client, w, app):
    raw = jpeg_with_exif((200, 100))
    count = app.config["APPLY_MAX_PHOTOS"] + 1
    r = apply(client, w, files=[upload(raw, f"{i}.jpg") for i in range(count)])
    assert r.status_code == 422
    assert f"最多上传{count - 1}张照片" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_a_photo_too_large_is_refused(client, w, app):
    app.config["APPLY_PHOTO_MAX_BYTES"] = 10_000
    raw = Image.effect_noise((400, 400), 80).convert("RGB")
    buf = io.BytesIO()
    raw.save(buf, "JPEG", quality=95)
    assert len(buf.getvalue()) > 10_000
    r = apply(client, w, files=[upload(buf.getvalue())])
    assert r.status_code == 422 and "照片过大" in r.get_data(as_text=True)


def test_staff_see_the_photos_through_the_access_check(client, w):
    apply(client, w, files=[upload(jpeg_with_exif((300, 200)))])
    d = the_case()
    photo = db.session.scalar(select(ApplicationPhoto))
    url = f"/disputes/{d.id}/photos/{photo.id}"
    assert client.get(url).status_code in (302, 401)  # not signed in
    login(client, "center_a")
    assert url in client.get(f"/disputes/{d.id}").get_data(as_text=True)
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data == photo.data
    assert "no-store" in r.headers["Cache-Control"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/disputes/")})
    login(client, "center_b")
    assert client.get(url).status_code == 404  # another town


def test_a_photo_id_of_another_case_is_not_served(client, w):
    apply(client, w, files=[upload(jpeg_with_exif((300, 200)))])
    first = the_case()
    photo = db.session.scalar(select(ApplicationPhoto))
    client.post("/logout", data={})
    apply(client, w, phone="13912345679", **{"other-0-name": "钱多多"})
    second = the_case()
    assert second.id != first.id
    login(client, "center_a")
    assert client.get(f"/disputes/{second.id}/photos/{photo.id}").status_code == 404


# --------------------------------------------------------------------- idempotency and limits


def test_a_retried_submit_creates_no_duplicate(client, w):
    token = new_token()
    csrf = csrf_token(client, "/apply")
    send_code(client, csrf)
    data = form(w, token, csrf, code=latest_code())
    first = client.post("/apply", data=data)
    second = client.post("/apply", data=data)
    assert first.status_code == 200 and second.status_code == 200
    assert db.session.scalar(select(func.count(Dispute.id))) == 1
    d = the_case()
    assert "该申请已提交过" in second.get_data(as_text=True)
    assert f"{d.case_code[:5]}-{d.case_code[5:]}" in second.get_data(as_text=True)
    assert (
        db.session.scalar(
            select(func.count(SmsMessage.id)).where(SmsMessage.template == "application_received")
        )
        == 1
    )


def test_applications_per_phone_per_day_are_limited(client, w, app):
    app.config["SMS_CODE_RESEND_SECONDS"] = 0
    app.config["APPLY_PHONE_DAILY_LIMIT"] = 2
    for i in range(2):
        assert apply(client, w, **{"other-0-name": f"对方{'甲乙'[i]}"}).status_code == 200
    r = apply(client, w, **{"other-0-name": "对方丙"})
    assert r.status_code == 422
    assert "该手机号今天已提交2件调解申请" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Dispute.id))) == 2
    clock.advance(days=1)  # a new Shanghai day
    assert apply(client, w, **{"other-0-name": "对方丁"}).status_code == 200


def test_applications_per_address_per_day_are_limited(client, w, app):
    app.config["APPLY_ADDRESS_DAILY_LIMIT"] = 2
    for phone in ("13900000001", "13900000002"):
        assert apply(client, w, phone=phone).status_code == 200
    r = apply(client, w, phone="13900000003")
    assert r.status_code == 422
    assert "您所在网络今天提交的调解申请过多" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Dispute.id))) == 2


def test_the_duplicate_warning_is_for_the_center_not_the_applicant(client, w, app):
    app.config["SMS_CODE_RESEND_SECONDS"] = 0
    apply(client, w)
    r = apply(client, w)
    assert r.status_code == 200
    assert "重复" not in r.get_data(as_text=True)
    d = the_case()
    warning = db.session.scalar(
        select(Event).where(Event.dispute_id == d.id, Event.type == "duplicate_warning")
    )
    assert warning is not None
    login(client, "center_a")
    assert "疑似重复" in client.get(f"/disputes/{d.id}").get_data(as_text=True)


# ---------------------------------------------------------------------------------- refusal


def test_center_refuses_with_a_reason_the_applicant_hears(client, w):
    apply(client, w)
    d = the_case()
    login(client, "center_a")
    csrf = csrf_token(client, f"/disputes/{d.id}")
    reason = "该纠纷已由人民法院立案受理，请按法院通知参加诉讼。"
    r = client.post(
        f"/disputes/{d.id}/actions/refuse_application",
        data={"csrf_token": csrf, "reason": reason, "confirmed": "1", "version": str(d.version)},
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    d = db.session.get(Dispute, d.id)
    assert d.status == "已办结" and d.outcome == "不予受理"
    event = d.events[-1]
    assert event.type == "rejected" and event.note == reason
    sms = db.session.scalar(select(SmsMessage).where(SmsMessage.template == "application_refused"))
    assert sms.phone == PHONE and sms.dedupe_key == f"application_refused:{d.id}"
    assert sms.params["reason"].startswith("该纠纷已由人民法院立案受理") and sms.params["url"].endswith(
        d.case_code
    )


def test_refusal_through_the_api_and_who_may(client, w):
    apply(client, w)
    d = the_case()
    r = act(client, w.mediator_a, d.id, "refuse_application")
    assert r.status_code == 403
    r = act(client, w.center_user_b, d.id, "refuse_application")
    assert r.status_code == 404  # another town does not see it
    r = act(client, w.center_user_a, d.id, "refuse_application", {"reason": ""})
    assert r.status_code == 422
    r = act(client, w.center_user_a, d.id, "refuse_application", {"reason": "不属于人民调解的范围。"})
    assert r.status_code == 200 and r.get_json()["outcome"] == "不予受理"
    assert (
        db.session.scalar(
            select(func.count(SmsMessage.id)).where(SmsMessage.template == "application_refused")
        )
        == 1
    )


def test_refusal_only_for_online_applications(client, w):
    from tests.workflow_support import register

    dispute_id = register(client, w.center_user_a, w.village_a.code)
    r = act(client, w.center_user_a, dispute_id, "refuse_application")
    assert r.status_code == 409 and "网上申请" in r.get_json()["message"]
    login(client, "center_a")
    page = client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert 'data-action="refuse_application"' not in page


# ------------------------------------------------------------------------------ CSRF and headers


def test_the_public_form_needs_its_csrf_token(client, w):
    r = client.post("/apply", data={"step": "code", "phone": PHONE})
    assert r.status_code == 400
    assert db.session.scalar(select(func.count(SmsMessage.id))) == 0


def test_public_pages_have_the_security_headers(client, w):
    for r in (client.get("/apply"), apply(client, w)):
        assert r.status_code == 200
        assert "no-store" in r.headers["Cache-Control"]
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
        html = r.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " onclick=" not in html
