"""Web pages of disputes (placeholder, replaced by the full pages)."""

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("disputes", __name__, url_prefix="/disputes")


@bp.get("/")
@login_required
def index():
    return render_template("error.html", code=200, message="列表")


@bp.get("/new")
@login_required
def new():
    return render_template("error.html", code=200, message="登记")
