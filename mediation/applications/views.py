"""The public form 网上申请调解 (/apply: no sign-in; mobile first; plain HTML forms — the SMS code,
the stepwise place picker and "one more other side" are submit buttons of the same form, so nothing
typed is lost and nothing needs JavaScript) and the staff's view of an application's photos."""

from __future__ import annotations

import io
import re
import uuid

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import get_dispute
from mediation.accounts.views import client_address
from mediation.applications import photos as photo_rules
from mediation.applications import service
from mediation.applications.schemas import FIELD_LABELS, MAX_OTHER_SIDES, ApplicationIn
from mediation.common.enums import PartyKind, values
from mediation.common.validators import mask_phone
from mediation.disputes.case_code import case_public_url, display_code
from mediation.disputes.views import form_token
from mediation.extensions import db

bp = Blueprint("applications", __name__)

SCALAR_FIELDS = ("name", "phone", "code", "id_number", "category", "facts", "requests")
OTHER_FIELDS = ("name", "kind", "phone", "address")
_OTHER_KEY = re.compile(r"^other-(\d{1,2})-(" + "|".join(OTHER_FIELDS) + r")$")
_PLACE_KEY = re.compile(r"^place-(\d{1,2})$")
OTHER_LABELS = {"name": "姓名或名称", "kind": "类型", "phone": "电话", "address": "地址"}
PHOTOS_NOT_KEPT = "为保护您的隐私，已选择的照片不会保留：请重新选择照片后再提交。"


def _blank_other() -> dict:
    return {"name": "", "kind": PartyKind.PERSON.value, "phone": "", "address": ""}


def _read_form(form) -> tuple[dict, list[dict], list[str]]:
    """(the scalar values as typed, the other-side rows as typed — blank rows dropped —, the place
    choices by level)."""
    values_ = {k: form.get(k, "") for k in SCALAR_FIELDS}
    values_["consent"] = "consent" in form
    rows: dict[int, dict] = {}
    places: dict[int, str] = {}
    for key in form:
        if match := _OTHER_KEY.match(key):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = form.get(key, "")
        elif match := _PLACE_KEY.match(key):
            places[int(match.group(1))] = form.get(key, "").strip()
    others = []
    for index in sorted(rows)[: MAX_OTHER_SIDES + 1]:
        row = {**_blank_other(), **rows[index]}
        if any(row[f].strip() for f in ("name", "phone", "address")):
            others.append(row)
    place_codes = []
    for level in sorted(places):
        if not places[level]:
            break
        place_codes.append(places[level])
    return values_, others, place_codes


def _payload(values_: dict, others: list[dict], node_code: str | None) -> dict:
    payload = {k: values_[k] for k in SCALAR_FIELDS}
    payload["consent"] = values_["consent"]
    payload["others"] = [dict(o) for o in others]
    payload["node"] = node_code or ""
    return payload


def _field_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's messages keyed by the form's field ids (``other-0-name``)."""
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key == "others" and isinstance(value, dict):
            for index, sub in value.items():
                if isinstance(sub, dict):
                    for field_name, lines in sub.items():
                        out.setdefault(f"other-{index}-{field_name}", []).extend(lines)
                else:
                    out.setdefault("others", []).extend(sub if isinstance(sub, list) else [sub])
        else:
            out.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return out


def _render(values_, others, place_codes, token, *, errors=None, notice=None, status=200, photos_lost=False):
    errors = dict(errors or {})
    steps, chosen = service.place_steps(place_codes)
    summary = []
    for key, lines in errors.items():
        if key.startswith("other-"):
            index, field_name = key.split("-")[1:3]
            label = f"对方{int(index) + 1}的{OTHER_LABELS.get(field_name, field_name)}"
        else:
            label = FIELD_LABELS.get(key, "")
        summary += [(label, key, line) for line in lines]
    if photos_lost and status != 200:
        summary.append(("照片", "photos", PHOTOS_NOT_KEPT))
    return (
        render_template(
            "applications/form.html",
            values=values_,
            others=others or [_blank_other()],
            max_others=MAX_OTHER_SIDES,
            steps=steps,
            chosen=chosen,
            token=token,
            errors=errors,
            error_summary=summary,
            notice=notice,
            categories=current_app.config["CATEGORIES"],
            kinds=values(PartyKind),
            max_photos=photo_rules.max_photos(),
            photo_mb=photo_rules.photo_limits().max_bytes // (1024 * 1024),
        ),
        status,
    )


@bp.get("/apply")
def form():
    return _render({k: "" for k in SCALAR_FIELDS} | {"consent": False}, [], [], uuid.uuid4().hex)


@bp.post("/apply")
def post():
    values_, others, place_codes = _read_form(request.form)
    token = form_token()
    step = request.form.get("step", "submit")
    photos_chosen = any(f.filename for f in request.files.getlist("photos"))
    if step == "code":
        return _send_code(values_, others, place_codes, token, photos_chosen)
    if step == "place":
        return _render(values_, others, place_codes, token, photos_lost=photos_chosen)
    if step == "add_other":
        more = others + [_blank_other()] if len(others) < MAX_OTHER_SIDES else others
        return _render(values_, more or [_blank_other(), _blank_other()], place_codes, token)
    return _submit(values_, others, place_codes, token, photos_chosen)


def _send_code(values_, others, place_codes, token, photos_chosen):
    error = service.send_code(values_["phone"], client_address())
    if error:
        db.session.rollback()
        return _render(values_, others, place_codes, token, errors={"phone": [error]}, status=422)
    db.session.commit()
    notice = f"验证码已发送至 {mask_phone(values_['phone'].strip())}，请查收短信后填写。"
    if photos_chosen:
        notice += PHOTOS_NOT_KEPT
    return _render(values_, others, place_codes, token, notice=notice)


def _submit(values_, others, place_codes, token, photos_chosen):
    _, chosen = service.place_steps(place_codes)
    errors: dict[str, list[str]] = {}
    data = None
    try:
        data = ApplicationIn().load(_payload(values_, others, chosen.code if chosen else None))
    except ValidationError as err:
        errors = _field_errors(err.messages)
    photos, photo_errors = photo_rules.read_uploads(request.files.getlist("photos"))
    if photo_errors:
        errors["photos"] = photo_errors
    if errors:  # the SMS code is not used up by a form that has other mistakes
        db.session.rollback()
        return _render(
            values_, others, place_codes, token, errors=errors, status=422, photos_lost=photos_chosen
        )
    try:
        result = service.submit(data, photos, token=token, address=client_address())
        db.session.commit()  # a wrong code too: the try counts
    except IntegrityError:  # the same form submitted twice at once: the first one's case
        db.session.rollback()
        previous = service.find_by_token(token)
        if previous is None:
            raise
        result = service.Submission(previous.dispute, replayed=True)
    if result.errors:
        return _render(
            values_, others, place_codes, token, errors=result.errors, status=422, photos_lost=photos_chosen
        )
    dispute = result.dispute
    return render_template(
        "applications/done.html",
        dispute=dispute,
        code=display_code(dispute),
        url=case_public_url(dispute),
        replayed=result.replayed,
        phone=mask_phone(service.application_of(dispute).phone),
        center=service.center_for(dispute.node),
    )


# --- staff: the photos of a case filed online ---------------------------------------------------------


@bp.get("/disputes/<int:dispute_id>/photos/<int:photo_id>")
@login_required
def photo(dispute_id: int, photo_id: int):
    dispute = get_dispute(current_user, dispute_id)  # 404 outside the user's scope
    item = service.photo_of(dispute, photo_id)
    if item is None:
        abort(404)
    return send_file(
        io.BytesIO(item.data),
        mimetype=item.mimetype,
        download_name=f"{dispute.case_no}-照片{item.position + 1}.jpg",
        as_attachment=False,
    )


@bp.app_context_processor
def _inject_photos():
    return {"application_photos": service.photos_of}
