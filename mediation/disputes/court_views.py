"""The court liaison's web pages of 诉调对接: refer a case (诉前委派 / 诉中委托), follow the referred
cases, and record the 司法确认 rulings.

The referral form is the registration form (disputes/new.html) with the court's fields; it calls
workflow.refer_case, as the API does. The ruling calls workflow.perform(…, "rule_confirmation"), as
the case page and the API do. Lists come from disputes/court.py, which starts from accounts.access.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import get_dispute
from mediation.common.enums import RiskLevel
from mediation.common.forms import form_payload
from mediation.common.paging import kept_per_page, web_page_args
from mediation.common.time import local_today
from mediation.disputes import court, service, workflow
from mediation.disputes import views as dispute_views
from mediation.disputes.casework import CONFIRMATION_RESULTS, REFERRAL_KINDS
from mediation.disputes.workflow_schemas import ConfirmationRuleIn, CourtReferralIn, CourtReferralListArgs
from mediation.disputes.workflow_views import ACTION_ERRORS, action_failed
from mediation.documents.service import may_read_documents
from mediation.extensions import db

bp = Blueprint("court", __name__, url_prefix="/court")

REFERRAL_LABELS = {
    "kind": "委派方式",
    "court_case_no": "法院案号",
    "unit": "接收调解的单位",
    "co_units": "联办单位",
    "referred_on": "委派日期",
}
REFERRAL_KEYS = tuple(REFERRAL_LABELS)


def _require_court_page() -> None:
    if not court.may_use_court_page(current_user):
        abort(403)


def _label(key: str) -> str:
    return REFERRAL_LABELS.get(key) or dispute_views.error_label(key)


# ---------------------------------------------------------------- the 诉调对接 page


@bp.get("/")
@login_required
def index():
    _require_court_page()
    state = request.args.get("state", "")
    if state not in court.STATES:
        state = ""
    args, page_errors = web_page_args(
        request.args, CourtReferralListArgs, per_page=current_app.config["PAGE_SIZE"]
    )
    today = local_today()
    listed = court.list_referrals(
        current_user, state=state or None, page=args["page"], per_page=args["per_page"], today=today
    )
    pending = court.pending_confirmations(current_user)

    return render_template(
        "court/index.html",
        rows=listed.items,
        listed=listed,
        page_errors=page_errors,
        page_args=kept_per_page(request.args, page_errors),
        state=state,
        states=court.STATES,
        counts=court.deadline_counts(current_user, today),
        pending=pending,
        pending_agreements=court.effective_agreements([c.dispute_id for c in pending]),
        can_read_documents=may_read_documents(current_user),
        may_refer=workflow.may_refer(current_user),
        results=CONFIRMATION_RESULTS,
        today=today.isoformat(),
    )


# ---------------------------------------------------------------- refer a case


def _referral_context() -> dict:
    return {
        "referral": {"kinds": REFERRAL_KINDS, "units": workflow.referral_targets(current_user)},
        "form_title": "法院委派调解",
        "form_action": url_for("court.refer"),
        "back_url": url_for("court.index"),
        "submit_label": "提交委派",
        "label": _label,
    }


def _add_referral_fields(form, payload: dict, values_: dict) -> None:
    """The referral's own fields of the posted form: into ``payload`` (for CourtReferralIn) and
    ``values_`` (to show the form again)."""
    for key in REFERRAL_KEYS:
        values_[key] = form.get(key, "")
        if key == "co_units":
            payload[key] = [v for v in form.getlist(key) if v.strip()]
        elif values_[key].strip():
            payload[key] = values_[key].strip()


@bp.route("/refer", methods=["GET", "POST"])
@login_required
def refer():
    if not workflow.may_refer(current_user):
        abort(403)
    extra = _referral_context()
    if request.method == "GET":
        defaults = {k: "" for k in (*dispute_views.SCALAR_FIELDS, *REFERRAL_KEYS)}
        defaults.update(risk_level=RiskLevel.ORDINARY.value, kind=REFERRAL_KINDS[0], source="法院委派")
        return dispute_views._render_form(defaults, [], [], uuid.uuid4().hex, **extra)

    payload, values_, parties = dispute_views._form_payload(request.form)
    payload.pop("source", None)  # a court referral's source is 法院委派 (CourtReferralIn)
    _add_referral_fields(request.form, payload, values_)
    token = dispute_views.form_token()
    key = f"web-refer:{token}"
    fingerprint = service.request_fingerprint(payload)
    try:
        data = CourtReferralIn().load(payload)
        dispute = workflow.refer_case(current_user, data, idempotency_key=key, fingerprint=fingerprint)
        workflow.commit()
    except ValidationError as err:
        db.session.rollback()
        errors = dispute_views.form_errors(err.messages)
        if "Idempotency-Key" in errors:
            errors = {
                "_schema": [
                    "此表单已经提交过，提交时的内容与现在不同。如确需再委派一件案件，请核对后再次提交。"
                ]
            }
            token = uuid.uuid4().hex
        return dispute_views._render_form(values_, payload["flags"], parties, token, errors, 422, **extra)
    except workflow.WorkflowError as err:
        db.session.rollback()
        return dispute_views._render_form(
            values_, payload["flags"], parties, token, {"_schema": [err.message]}, err.status, **extra
        )
    except IntegrityError:
        db.session.rollback()  # a concurrent submit of the same form committed first: show that case
        previous = service.find_idempotent(current_user, key, fingerprint)
        if previous is None:
            raise
        dispute = previous
    referral = workflow.referral_of(dispute)
    for event in dispute.events:
        if event.type == "duplicate_warning" and event.note:
            flash(event.note, "warning")
    flash(
        f"已{referral.kind}{referral.unit.name}调解，案号：{dispute.case_no}（法院案号{referral.court_case_no}）。",
        "success",
    )
    return redirect(url_for("court.index"), 303)


# ---------------------------------------------------------------- 司法确认: the ruling


@bp.post("/disputes/<int:dispute_id>/ruling")
@login_required
def rule(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)  # 404 outside the user's scope
    back = url_for("court.index") + "#confirmations"
    try:
        payload = ConfirmationRuleIn().load(form_payload(request.form, ConfirmationRuleIn()))
        workflow.perform(current_user, dispute, "rule_confirmation", payload)
        workflow.commit()
    except ACTION_ERRORS as err:
        return action_failed(err, "rule_confirmation", back, case_no=dispute.case_no)
    flash(
        f"已登记{dispute.case_no}的司法确认裁定：{payload['result']}（{payload['ruling_no']}）。", "success"
    )
    return redirect(back, 303)
