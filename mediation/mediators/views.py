"""Web pages of the mediators' registry: the list (filters, paged), a mediator's page (cases,
sessions, results, training), the create/edit form, training entry, the import upload and the
export; and the 承办调解员 form of the case page."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from mediation.accounts.access import get_dispute, get_visible_node
from mediation.common.enums import values
from mediation.common.paging import kept_per_page, web_page_args
from mediation.common.tabular import TableError
from mediation.extensions import db
from mediation.mediators import service, workbook
from mediation.mediators.models import Background, Employment
from mediation.mediators.schemas import MediatorIn, MediatorListArgs, TrainingIn

bp = Blueprint("mediators", __name__, url_prefix="/mediators")

FILTER_KEYS = ("node", "employment", "background", "untrained", "inactive", "q")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/")
@login_required
def index():
    query = {k: v for k, v in request.args.items() if v.strip()}  # an empty select means "all"
    args, errors = web_page_args(query, MediatorListArgs, keys=("page", "per_page", *FILTER_KEYS))
    node = None
    if args.get("node"):
        node = get_visible_node(current_user, args["node"])
        if node is None:
            errors["node"] = ["请选择您辖区内的节点。"]
    args["node_obj"] = node
    listed = service.list_mediators(current_user, args)
    kept = {k: query[k] for k in FILTER_KEYS if k in query and k not in errors}
    return render_template(
        "mediators/index.html",
        listed=listed,
        untrained=service.untrained_ids(m.id for m in listed.items),
        filters=kept,
        kept={**kept, **kept_per_page(query, errors)},
        errors=errors,
        paging_errors_only={k: v for k, v in errors.items() if k in ("page", "per_page")},
        employments=values(Employment),
        backgrounds=values(Background),
        may_manage=service.may_manage_mediators(current_user),
        nodes=service.filter_nodes(current_user),
        shown_phone=lambda m: service.shown_phone(current_user, m),
        year=service.training_year()[0].year,
    )


def _form_data(form) -> dict:
    data = {k: form.get(k, "") for k in ("name", "employment", "background", "qualifications", "phone")}
    data.update(id_number=form.get("id_number", ""), username=form.get("username", ""))
    data["units"] = [c for c in form.getlist("units") if c.strip()]
    data["active"] = form.get("active") == "1"
    return data


def _render_form(mediator, data, errors, status=200):
    return (
        render_template(
            "mediators/form.html",
            mediator=mediator,
            data=data,
            errors=errors,
            units=service.units_for_form(current_user),
            employments=values(Employment),
            backgrounds=values(Background),
        ),
        status,
    )


def _save(mediator):
    data = _form_data(request.form)
    if mediator is not None and not data["id_number"] and mediator.id_number:
        data.pop("id_number")  # left empty on the form: the stored (maybe masked on screen) number stays
    try:
        loaded = MediatorIn().load(data)
        saved = service.save_mediator(current_user, mediator, loaded)
    except (ValidationError, service.MediatorError) as err:
        db.session.rollback()
        return _render_form(mediator, data, err.messages, 422)
    db.session.commit()
    flash("调解员信息已保存。", "success")
    return redirect(url_for("mediators.show", mediator_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not service.may_manage_mediators(current_user):
        abort(403)
    if request.method == "POST":
        return _save(None)
    return _render_form(None, {"active": True, "units": [], "employment": "兼职"}, {})


@bp.route("/<int:mediator_id>/edit", methods=["GET", "POST"])
@login_required
def edit(mediator_id: int):
    mediator = service.get_mediator(current_user, mediator_id)
    if not service.may_edit_mediator(current_user, mediator):
        abort(403)
    if request.method == "POST":
        return _save(mediator)
    data = {
        "name": mediator.name,
        "units": [u.code for u in mediator.units],
        "employment": mediator.employment.value,
        "background": mediator.background.value,
        "qualifications": mediator.qualifications or "",
        "phone": mediator.phone or "",
        "id_number": "",
        "username": mediator.user.username if mediator.user else "",
        "active": mediator.active,
    }
    return _render_form(mediator, data, {})


@bp.get("/<int:mediator_id>")
@login_required
def show(mediator_id: int, training_errors=None, training_data=None, status=200):
    mediator = service.get_mediator(current_user, mediator_id)
    return (
        render_template(
            "mediators/show.html",
            m=mediator,
            record=service.record_of(mediator, current_user),
            untrained=mediator.id in service.untrained_ids([mediator.id]),
            phone=service.shown_phone(current_user, mediator),
            id_number=service.shown_id_number(current_user, mediator),
            may_edit=service.may_edit_mediator(current_user, mediator),
            training_errors=training_errors or {},
            training_data=training_data or {},
            year=service.training_year()[0].year,
        ),
        status,
    )


@bp.post("/<int:mediator_id>/trainings")
@login_required
def add_training(mediator_id: int):
    mediator = service.get_mediator(current_user, mediator_id)
    if not service.may_edit_mediator(current_user, mediator):
        abort(403)
    data = {k: request.form.get(k, "") for k in ("held_on", "hours", "topic", "organiser")}
    try:
        loaded = TrainingIn().load(data)
    except ValidationError as err:
        return show(mediator_id, training_errors=err.messages, training_data=data, status=422)
    service.add_training(current_user, mediator, loaded)
    db.session.commit()
    flash("培训记录已添加。", "success")
    return redirect(url_for("mediators.show", mediator_id=mediator.id) + "#trainings")


@bp.post("/import")
@login_required
def upload():
    if not service.may_manage_mediators(current_user):
        abort(403)
    file = request.files.get("file")
    name = Path((file.filename or "").replace("\\", "/")).name if file else ""
    if not name.lower().endswith(".xlsx"):
        flash("请选择 .xlsx 工作簿（工作表「调解员」「培训记录」）。", "error")
        return redirect(url_for("mediators.index"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.xlsx"
        file.save(path)
        try:
            result = workbook.import_mediators(path, user=current_user)
        except TableError as err:
            db.session.rollback()
            flash(str(err), "error")
            return redirect(url_for("mediators.index"))
    if not result.ok:
        db.session.rollback()
        return render_template("mediators/import_result.html", result=result), 422
    db.session.commit()
    flash(result.summary(), "success")
    return redirect(url_for("mediators.index"))


@bp.post("/export")
@login_required
def export():
    code = (request.form.get("node") or "").strip()
    node = get_visible_node(current_user, code) if code else current_user.unit.node
    if node is None:
        flash("请选择您辖区内的节点。", "error")
        return redirect(url_for("mediators.index"))
    with tempfile.TemporaryDirectory() as tmp:  # mkdtemp: 0700, removed with the file in it
        path = Path(tmp) / "export.xlsx"
        workbook.export_mediators(path, node, user=current_user)
        data = path.read_bytes()
    return send_file(
        io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"调解员-{node.code}.xlsx"
    )


# --- 承办调解员 on the case page -------------------------------------------------------------------


@bp.app_template_global("case_mediator_panel")
def case_mediator_panel(dispute) -> dict:
    """What the case page shows of its 承办调解员: the names, and for whoever may set them the
    candidates (service.case_mediator_candidates)."""
    may = service.may_assign_case_mediators(current_user, dispute)
    return {
        "mediators": list(dispute.mediators),
        "may_assign": may,
        "candidates": service.case_mediator_candidates(dispute) if may else [],
    }


@bp.post("/cases/<int:dispute_id>")
@login_required
def assign(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)
    if not service.may_assign_case_mediators(current_user, dispute):
        abort(403)
    ids = []
    for raw in request.form.getlist("mediators"):
        if not raw.isdigit() or len(raw) > 9:
            abort(400)
        ids.append(int(raw))
    try:
        changed = service.set_case_mediators(current_user, dispute, ids)
    except service.MediatorError as err:
        db.session.rollback()
        flash("；".join(err.messages["mediators"]), "error")
        return redirect(url_for("disputes.show", dispute_id=dispute.id) + "#case-mediators")
    db.session.commit()
    if changed:
        flash("承办调解员已更新。", "success")
    return redirect(url_for("disputes.show", dispute_id=dispute.id) + "#case-mediators")
