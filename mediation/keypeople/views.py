"""Web pages of the 重点人员 / 重点群体 register: the list (filters, paged), an entry's page (history,
linked cases, the review form), the register/edit form; and the 包案 form of the case page."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from mediation import clock
from mediation.accounts.access import get_dispute, get_visible_node
from mediation.common.enums import values
from mediation.common.paging import kept_per_page, web_page_args
from mediation.extensions import db
from mediation.keypeople import service
from mediation.keypeople.models import KeyKind
from mediation.keypeople.schemas import CaseLeaderIn, EntryIn, EntryListArgs, ReviewIn
from mediation.mediators.service import filter_nodes

bp = Blueprint("keypeople", __name__, url_prefix="/key-people")

FILTER_KEYS = ("node", "kind", "due", "inactive", "q")
FORM_KEYS = ("name", "kind", "group_size", "node", "unit", "id_number", "measures", "review_days")


def _require_register() -> None:
    if not service.may_see_key_people(current_user):
        abort(403)


@bp.get("/")
@login_required
def index():
    _require_register()
    query = {k: v for k, v in request.args.items() if v.strip()}
    args, errors = web_page_args(query, EntryListArgs, keys=("page", "per_page", *FILTER_KEYS))
    node = None
    if args.get("node"):
        node = get_visible_node(current_user, args["node"])
        if node is None:
            errors["node"] = ["请选择您辖区内的节点。"]
    args["node_obj"] = node
    kept = {k: query[k] for k in FILTER_KEYS if k in query and k not in errors}
    return render_template(
        "keypeople/index.html",
        listed=service.list_entries(current_user, args),
        filters=kept,
        kept={**kept, **kept_per_page(query, errors)},
        errors=errors,
        paging_errors_only={k: v for k, v in errors.items() if k in ("page", "per_page")},
        kinds=values(KeyKind),
        nodes=filter_nodes(current_user),
        may_manage=service.may_manage_key_people(current_user),
        today=clock.today(),
    )


def _form_data(form) -> dict:
    data = {k: form.get(k, "") for k in FORM_KEYS}
    data["is_group"] = form.get("is_group") == "1"
    data["active"] = form.get("active", "1") == "1"
    data["cases"] = [c for c in re.split(r"[\s,，、；;]+", form.get("cases", "")) if c]
    return data


def _render_form(entry, data, errors, status=200):
    return (
        render_template(
            "keypeople/form.html",
            entry=entry,
            data=data,
            errors=errors,
            kinds=values(KeyKind),
            units=service.units_for_form(current_user),
            nodes=filter_nodes(current_user),
        ),
        status,
    )


def _save(entry):
    data = _form_data(request.form)
    if entry is not None and not data["id_number"] and entry.id_number:
        data.pop("id_number")  # left empty: the stored (masked on screen) number stays
    shown = {**data, "cases": " ".join(data["cases"])}
    try:
        loaded = EntryIn().load(data)
        saved = service.save_entry(current_user, entry, loaded)
    except (ValidationError, service.KeyPeopleError) as err:
        db.session.rollback()
        return _render_form(entry, shown, err.messages, 422)
    db.session.commit()
    flash("重点人员信息已保存。", "success")
    return redirect(url_for("keypeople.show", entry_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not service.may_manage_key_people(current_user):
        abort(403)
    if request.method == "POST":
        return _save(None)
    data = {"review_days": "30", "kind": KeyKind.PETITIONER.value, "node": current_user.unit.node.code}
    return _render_form(None, data, {})


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit(entry_id: int):
    entry = service.get_entry(current_user, entry_id)
    if not service.may_edit_entry(current_user, entry):
        abort(403)
    if request.method == "POST":
        return _save(entry)
    data = {
        "name": entry.name,
        "kind": entry.kind.value,
        "is_group": entry.is_group,
        "group_size": entry.group_size or "",
        "node": entry.node.code,
        "unit": entry.unit.code,
        "id_number": "",
        "measures": entry.measures,
        "review_days": entry.review_days,
        "active": entry.active,
        "cases": " ".join(d.case_no for d in service.visible_cases(current_user, entry)),
    }
    return _render_form(entry, data, {})


@bp.get("/<int:entry_id>")
@login_required
def show(entry_id: int, review_errors=None, review_data=None, status=200):
    entry = service.get_entry(current_user, entry_id)
    return (
        render_template(
            "keypeople/show.html",
            e=entry,
            cases=service.visible_cases(current_user, entry),
            history=service.history_of(current_user, entry),
            id_number=service.shown_id_number(current_user, entry),
            may_edit=service.may_edit_entry(current_user, entry),
            today=clock.today(),
            review_errors=review_errors or {},
            review_data=review_data or {"on": clock.today().isoformat()},
        ),
        status,
    )


@bp.post("/<int:entry_id>/reviews")
@login_required
def review(entry_id: int):
    entry = service.get_entry(current_user, entry_id)
    data = {k: request.form.get(k, "") for k in ("on", "note", "next_review_on")}
    try:
        service.record_review(current_user, entry, ReviewIn().load(data))
    except (ValidationError, service.KeyPeopleError) as err:
        db.session.rollback()
        return show(entry_id, review_errors=err.messages, review_data=data, status=422)
    db.session.commit()
    flash("复查记录已保存。", "success")
    return redirect(url_for("keypeople.show", entry_id=entry.id) + "#history")


# --- 包案 on the case page ---------------------------------------------------------------------------


@bp.app_template_global("case_leader_panel")
def case_leader_panel(dispute) -> dict:
    """What the case page shows of 包案: the leader, and whether the user may set one."""
    return {
        "leader": service.leader_of(dispute),
        "may_set": service.may_set_case_leader(current_user, dispute),
        "today": clock.today(),
    }


@bp.post("/cases/<int:dispute_id>/leader")
@login_required
def set_leader(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)
    if not service.may_set_case_leader(current_user, dispute):
        abort(403)
    data = {k: request.form.get(k, "") for k in ("name", "post", "since")}
    try:
        service.set_case_leader(current_user, dispute, CaseLeaderIn().load(data))
    except ValidationError as err:
        db.session.rollback()
        for field, messages in err.messages.items():
            label = {"name": "姓名", "post": "职务", "since": "包案日期"}.get(field, field)
            flash(f"{label}：{'；'.join(messages)}", "error")
        return redirect(url_for("disputes.show", dispute_id=dispute.id) + "#case-leader")
    db.session.commit()
    flash("包案领导已确定。", "success")
    return redirect(url_for("disputes.show", dispute_id=dispute.id) + "#case-leader")
