"""Web pages of the ledger: upload (admin and 综治中心 staff), export (anyone, for a node of their
subtree), a progress page that polls a small JSON endpoint, and the result with its downloads.
The requests only queue jobs (upload stored in the database); a worker process runs them
(mediation/ledger/jobs.py)."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select

from mediation.accounts.access import get_visible_node, node_scope
from mediation.common.enums import NodeLevel
from mediation.common.validators import text_error
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.ledger import jobs
from mediation.ledger.models import LedgerJob
from mediation.ledger.schemas import (
    DISPUTE_COLUMNS,
    DISPUTE_EXTENSION_COLUMNS,
    DISPUTE_REQUIRED,
    PARTY_COLUMNS,
    PARTY_EXTENSION_COLUMNS,
)

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

ALLOWED_SUFFIXES = (".xlsx", ".csv")
NODE_LIST_LIMIT = 500


def _export_nodes(user) -> list[tuple[Node, int]]:
    """Nodes the user may export, with their depth for indentation (grids left out of long lists)."""
    stmt = select(Node).where(node_scope(user)).order_by(Node.path)
    if db.session.scalar(select(func.count()).select_from(stmt.subquery())) > NODE_LIST_LIMIT:
        stmt = stmt.where(Node.level != NodeLevel.GRID)
    nodes = db.session.scalars(stmt.limit(5 * NODE_LIST_LIMIT)).all()
    top = min((n.path.count("/") for n in nodes), default=0)
    return [(n, n.path.count("/") - top) for n in nodes]


def _job(job_id: int) -> LedgerJob:
    """A job of the current user (an admin sees every job); 404 otherwise."""
    job = db.session.get(LedgerJob, job_id)
    if job is None or not jobs.may_see_job(current_user, job):
        abort(404)
    return job


@bp.get("/")
@login_required
def index():
    recent = db.session.scalars(
        select(LedgerJob).where(LedgerJob.user_id == current_user.id).order_by(LedgerJob.id.desc()).limit(20)
    ).all()
    return render_template(
        "ledger/index.html",
        may_import=jobs.may_import_ledger(current_user),
        nodes=_export_nodes(current_user),
        jobs=recent,
        dispute_columns=[*DISPUTE_COLUMNS],
        extension_columns=[*DISPUTE_EXTENSION_COLUMNS],
        required=DISPUTE_REQUIRED,
        party_columns=[*PARTY_COLUMNS, *PARTY_EXTENSION_COLUMNS],
    )


@bp.post("/import")
@login_required
def upload():
    if not jobs.may_import_ledger(current_user):
        abort(403)
    file = request.files.get("file")
    name = Path((file.filename or "").replace("\\", "/")).name if file else ""
    if not name:
        flash("请选择要导入的台账文件。", "error")
        return redirect(url_for("ledger.index"))
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        flash("只支持 .xlsx 工作簿或 UTF-8 编码的 .csv 文件。", "error")
        return redirect(url_for("ledger.index"))
    if err := text_error(name):  # the name comes back in the download's Content-Disposition
        flash(f"文件名不可用：{err}请重命名文件后再上传。", "error")
        return redirect(url_for("ledger.index"))
    job_id = jobs.enqueue_import(current_user, file.stream, name, partial=request.form.get("partial") == "1")
    db.session.commit()
    jobs.wake()
    return redirect(url_for("ledger.job", job_id=job_id))


@bp.post("/export")
@login_required
def export():
    code = (request.form.get("node") or "").strip()
    node = get_visible_node(current_user, code) if code else None
    if node is None:
        flash("请选择您辖区内的节点。", "error")
        return redirect(url_for("ledger.index"))
    job_id = jobs.enqueue_export(current_user, node)
    db.session.commit()
    jobs.wake()
    return redirect(url_for("ledger.job", job_id=job_id))


@bp.get("/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    job = _job(job_id)
    files = jobs.file_names(job.id) if job.status == "done" else set()
    return render_template(
        "ledger/job.html",
        job=job,
        progress=jobs.progress_of(job),
        has_rejects=jobs.REJECTS in files,
        has_report=jobs.REPORT in files,
        has_export=jobs.EXPORT in files,
        keep_days=current_app.config.get("LEDGER_RESULT_KEEP_DAYS"),
    )


@bp.get("/jobs/<int:job_id>/progress")
@login_required
def progress(job_id: int):
    return jsonify(jobs.progress_of(_job(job_id)))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {
    "rejects": (jobs.REJECTS, lambda job: f"{Path(job.filename).stem}-错误行.xlsx", XLSX),
    "report": (jobs.REPORT, lambda job: f"{Path(job.filename).stem}-导入报告.csv", "text/csv"),
    "export": (jobs.EXPORT, lambda job: job.filename, XLSX),
}


@bp.get("/jobs/<int:job_id>/<any(rejects, report, export):what>")
@login_required
def download(job_id: int, what: str):
    job = _job(job_id)
    stored, name, mimetype = DOWNLOADS[what]
    stream = jobs.open_file(job.id, stored) if job.status == "done" else None
    if stream is None:
        abort(404)
    return send_file(stream, mimetype=mimetype, as_attachment=True, download_name=name(job))
