"""Workflow actions on the case page: the data of the partial ``disputes/_actions.html`` and its POST
routes. The forms post to ``/disputes/<id>/actions/<action>``; the same schemas and service
functions as the JSON API decide, so a rule exists once."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from mediation.accounts.access import get_dispute
from mediation.common.confirm import confirmation_page, is_confirmed
from mediation.common.enums import Channel, Outcome, UnitType, values
from mediation.common.forms import error_lines, form_payload
from mediation.common.time import local_today, to_local, utcnow
from mediation.disputes import workflow
from mediation.disputes.casework import CONFIRMATION_RESULTS
from mediation.disputes.workflow_schemas import ACTION_SCHEMAS, FIELD_LABELS
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing import service as routing

bp = Blueprint("workflow", __name__)

SUCCESS_MESSAGES = {
    "route": "已分流至{unit}，等待受理。",
    "accept": "已受理，办理期限至{deadline}。",
    "reject": "已决定不予受理，案件办结。",
    "refuse_application": "已对网上申请不予受理，案件办结；理由已通过短信告知申请人。",
    "transfer": "已移交{unit}，等待其受理。",
    "escalate": "已上报{center}，案件回到待分流。",
    "reassign": "已改派给{handler}。",
    "stabilize": "已转为稳控。",
    "resume": "已恢复办理。",
    "close": "案件已办结（{outcome}）。",
    "refuse": "已记录当事人拒绝调解，案件以不予受理办结。",
    "extend": "办理期限已延长至{deadline}。",
    "session": "调解记录已保存。",
    "notify_police": "已记录民转刑预警及告知公安机关情况。",
    "apply_confirmation": "已登记司法确认申请。",
    "rule_confirmation": "已登记司法确认裁定结果。",
    "return_to_court": "案件已以调解不成功办结，并退回法院。",
}

# The case page's main actions (a filled button) and refusals (a red outline).
MAIN_ACTIONS = ("route", "accept", "session", "close")  # in the order shown
DANGER_ACTIONS = ("reject", "refuse", "refuse_application")

# What an irreversible action does, asked before it is done (the dialog of static/app.js, or the
# confirmation page); the server refuses these actions without ``confirmed=1``.
_ENDS_CASE = "案件将办结：不再受理、调解，计入本月办结数（不计调处成功）；办结后不能恢复办理。"
CONFIRM_ACTIONS = {
    "reject": "确定对本案不予受理？" + _ENDS_CASE,
    "refuse_application": "确定对这件网上申请不予受理？理由将以短信告知申请人。" + _ENDS_CASE,
    "refuse": "确定记录当事人拒绝调解？本案将以“不予受理”办结。" + _ENDS_CASE,
}
CONFIRM_OUTCOMES = {
    Outcome.WITHDRAWN.value: "确定以“撤回”办结？表示申请人撤回调解申请。" + _ENDS_CASE,
    Outcome.REJECTED.value: "确定以“不予受理”办结？" + _ENDS_CASE,
}


def confirmation_text(action: str, data) -> str | None:
    """The question to confirm before ``action`` with these form values, or None."""
    if action in CONFIRM_ACTIONS:
        return CONFIRM_ACTIONS[action]
    if action == "close":
        return CONFIRM_OUTCOMES.get(str(data.get("outcome") or "").strip())
    return None


ACTION_ERRORS = (ValidationError, workflow.WorkflowError, StaleDataError)


def action_failed(err: Exception, action: str, back: str, case_no: str | None = None):
    """A web form's action that raised one of ACTION_ERRORS: nothing is saved, and the user goes back to
    ``back`` with why — each invalid field, the workflow's refusal (409 state or version, 403 role), or
    that the case changed meanwhile. ``case_no`` names the case on a page that lists several. The case
    page's actions and the court's ruling answer through this one function."""
    db.session.rollback()
    if isinstance(err, ValidationError):
        where = f"（{case_no}）" if case_no else ""
        for line in error_lines(err.messages, FIELD_LABELS):
            flash(f"{workflow.TRANSITIONS[action].label}未保存{where}：{line}", "error")
    elif isinstance(err, workflow.WorkflowError):
        flash(f"{case_no}：{err.message}" if case_no else err.message, "error")
    else:
        flash(workflow.STALE_MESSAGE, "error")
    return redirect(back, 303)


def _success_message(action: str, dispute) -> str:
    return SUCCESS_MESSAGES[action].format(
        unit=dispute.unit.name if dispute.unit else "",
        deadline=dispute.deadline.isoformat() if dispute.deadline else "—",
        center=dispute.center.name if dispute.center else "上级综治中心",
        handler=dispute.handler.name if dispute.handler else "",
        outcome=dispute.outcome or "",
    )


@bp.post("/disputes/<int:dispute_id>/actions/<action>")
@login_required
def act(dispute_id: int, action: str):
    schema_class = ACTION_SCHEMAS.get(action)
    if schema_class is None:
        abort(404)
    dispute = get_dispute(current_user, dispute_id)
    back = url_for("disputes.show", dispute_id=dispute_id) + "#workflow"
    try:
        payload = schema_class().load(form_payload(request.form, schema_class()))
        question = confirmation_text(action, payload)
        if (
            question
            and not is_confirmed(request.form)
            and workflow.refusal(current_user, dispute, action) is None
        ):
            label = workflow.TRANSITIONS[action].label
            return confirmation_page(
                request.form,
                action=url_for("workflow.act", dispute_id=dispute_id, action=action),
                title=f"请确认：{label}",
                message=question,
                cancel_url=back,
                danger=True,
                submit_label=f"确认{label}",
                details=[f"案号：{dispute.case_no}"],
            )
        workflow.perform(current_user, dispute, action, payload)
        workflow.commit()
    except ACTION_ERRORS as err:
        return action_failed(err, action, back)
    flash(_success_message(action, dispute), "success")
    return redirect(back, 303)


# --- the partial's data (queries stay in Python, not in the template) ----------------------------


def _units_for_choice() -> list[Unit]:
    units = db.session.execute(select(Unit, Node.path).join(Node, Unit.node_id == Node.id)).all()
    return [u for u, _ in sorted(units, key=lambda row: (row[1].count("/"), row[1], row[0].code))]


def workflow_panel(dispute) -> SimpleNamespace:
    user = current_user
    info = workflow.casework(user, dispute)
    allowed = info["allowed_actions"]
    panel = SimpleNamespace(**info)
    # the main actions first, refusals last (the order of the buttons on the page)
    ordered = sorted(
        allowed,
        key=lambda a: (
            (0, MAIN_ACTIONS.index(a)) if a in MAIN_ACTIONS else (2, 0) if a in DANGER_ACTIONS else (1, 0)
        ),
    )
    panel.actions = [(a, workflow.TRANSITIONS[a].label) for a in ordered]
    panel.main_actions, panel.danger_actions = MAIN_ACTIONS, DANGER_ACTIONS
    panel.confirm_actions, panel.confirm_outcomes = CONFIRM_ACTIONS, CONFIRM_OUTCOMES
    # The unit picker: the same list as GET /api/v1/disputes/<id>/candidate-units (routing.candidate_units).
    panel.candidates = routing.candidate_units(dispute, user) if {"route", "transfer"} & set(allowed) else []
    panel.unit_groups = routing.grouped(panel.candidates)
    panel.transfer_groups = routing.grouped([c for c in panel.candidates if c.unit.id != dispute.unit_id])
    panel.suggestion_unreachable = (
        dispute.suggested_unit is not None
        and "route" in allowed
        and not any(c.suggested for c in panel.candidates)
    )
    panel.courts = (
        [u for u in _units_for_choice() if u.type == UnitType.COURT]
        if "apply_confirmation" in allowed
        else []
    )
    panel.mediators = workflow.takeover_candidates(dispute) if "reassign" in allowed else []
    panel.escalation_target = workflow._escalation_target(dispute) if "escalate" in allowed else None
    panel.channels = values(Channel)
    panel.outcomes = values(Outcome)
    panel.results = CONFIRMATION_RESULTS
    panel.today = local_today().isoformat()
    panel.now = to_local(utcnow()).strftime("%Y-%m-%dT%H:%M")
    panel.stage_class = {
        "待分流": "pending",
        "待受理": "pending",
        "办理中": "handling",
        "稳控": "stabilized",
        "已办结": "closed",
    }.get(panel.stage, "neutral")
    panel.level_class = {"正常": "ok", "预警": "warning", "超期": "overdue"}.get(
        panel.warning_level or "", "none"
    )
    return panel


@bp.app_context_processor
def _inject_panel():
    return {"workflow_panel": workflow_panel}
