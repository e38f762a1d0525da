"""The admin's view of the SMS outbox: /admin/sms (phones masked)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required

from mediation.common.validators import mask_phone
from mediation.sms.models import SmsStatus
from mediation.sms.outbox import latest, may_view_outbox, shown_params
from mediation.sms.providers import ProviderError, render_text

bp = Blueprint("sms", __name__, url_prefix="/admin/sms")

PAGE_LIMIT = 200


@bp.get("/")
@login_required
def outbox():
    if not may_view_outbox(current_user):
        abort(403)
    status = request.args.get("status", "")
    status = SmsStatus(status) if status in {s.value for s in SmsStatus} else None
    rows = latest(PAGE_LIMIT, status=status)
    return render_template("sms/outbox.html", rows=rows, statuses=list(SmsStatus), status=status)


@bp.app_template_filter("mask_phone")
def mask_phone_filter(value):
    return mask_phone(value)


@bp.app_template_filter("sms_text")
def sms_text_filter(message) -> str:
    """The message's text as the console provider writes it (without the sign name)."""
    template = current_app.config["SMS_TEMPLATES"].get(message.template)
    if template is None:
        return ""
    try:
        return render_text(template, shown_params(message))
    except ProviderError:
        return ""
