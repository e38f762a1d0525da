"""调解组织 pages: the registry (filters, pages, Excel), an organisation's page, its profile form and
the coverage view (村（居）调委会全覆盖) with its drill-down and Excel export.

Nodes go through ``reports.common.resolve_report_node`` (the user's subtree only); editing is asked of
``orgs.service.may_edit_org``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from mediation.accounts.access import can_see_node
from mediation.common.enums import Industry, OrgKind
from mediation.common.forms import form_payload
from mediation.common.paging import kept_per_page, paginate, web_page_args
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.orgs import service as orgs
from mediation.orgs.schemas import LABELS, OrgArgs, OrgIn
from mediation.reports.common import ReportError, default_node, resolve_report_node, scope_tree

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

EXPORT_LIMIT = 5000


@bp.before_request
@login_required
def _login():
    return None


def _user():
    return current_user._get_current_object()


def _node_arg(default: Node | None) -> Node | None:
    code = request.args.get("node", "").strip()
    if not code:
        return default
    try:
        return resolve_report_node(_user(), code)
    except ReportError as err:
        abort(err.status if err.status != 422 else 404, description=err.message)


def _list_args() -> tuple[dict, OrgKind | None, dict[str, list[str]]]:
    """Page and kind of the registry; a refused value is reported and left out (the list stays usable)."""
    args, errors = web_page_args(request.args, OrgArgs, keys=("page", "per_page", "kind"))
    return args, OrgKind(args["kind"]) if args.get("kind") else None, errors


def _node_options(user) -> list[dict]:
    return [{"code": n.code, "label": "\u3000" * depth + n.name} for n, depth in scope_tree(user)]


def _items(rows) -> list[dict]:
    counts = orgs.member_counts([org.unit_id for org, _, _ in rows])
    return [orgs.org_data(org, node, counts.get(org.unit_id, 0)) for org, _, node in rows]


# ------------------------------------------------------------------------------------ registry


@bp.get("/")
def registry():
    user = _user()
    node = _node_arg(None)
    args, kind, page_errors = _list_args()
    page = paginate(orgs.registry_query(user, node, kind), args["page"], args["per_page"], rows=True)
    page = page.map(_items)
    return render_template(
        "orgs/registry.html",
        page=page,
        node=node,
        kind=kind,
        kinds=list(OrgKind),
        nodes=_node_options(user),
        page_errors=page_errors,
        keep={
            **({"node": node.code} if node else {}),
            **({"kind": kind.value} if kind else {}),
            **kept_per_page(request.args, page_errors),
        },
    )


@bp.get("/export.xlsx")
def export_registry():
    user = _user()
    node = _node_arg(None)
    _, kind, _ = _list_args()
    page = paginate(orgs.registry_query(user, node, kind), 1, EXPORT_LIMIT, rows=True).map(_items)
    scope = (node.name if node else default_node(user).name) + (kind.value if kind else "")
    from mediation.orgs import export  # heavy: openpyxl stays out of start-up

    return export.registry_download(page.items, scope)


# ------------------------------------------------------------------------------------ coverage


@bp.get("/coverage")
def coverage():
    user = _user()
    node = _node_arg(default_node(user))
    report = orgs.coverage(node)
    return render_template(
        "orgs/coverage.html",
        report=report,
        node=node,
        nodes=_node_options(user),
        breadcrumb=[n for n in node.ancestors() if can_see_node(user, n)],
    )


@bp.get("/coverage.xlsx")
def export_coverage():
    node = _node_arg(default_node(_user()))
    from mediation.orgs import export  # heavy: openpyxl stays out of start-up

    return export.coverage_download(orgs.coverage(node))


# ------------------------------------------------------------------------------ one organisation


@bp.get("/<unit_code>")
def org(unit_code):
    user = _user()
    unit = orgs.visible_unit(user, unit_code)
    profile = orgs.profile_of(unit)
    if profile is None and not orgs.may_edit_org(user, unit):
        abort(404)
    return render_template(
        "orgs/org.html",
        unit=unit,
        profile=profile,
        members=orgs.members(unit),
        may_edit=orgs.may_edit_org(user, unit),
    )


@bp.route("/<unit_code>/edit", methods=["GET", "POST"])
def edit(unit_code):
    user = _user()
    unit = orgs.visible_unit(user, unit_code)
    if not orgs.may_edit_org(user, unit):
        abort(403, description="只有系统管理员和本辖区综治中心工作人员可以修改调解组织档案。")
    profile = orgs.profile_of(unit)
    form = {
        "kind": profile.kind.value if profile else "",
        "industry": profile.industry.value if profile and profile.industry else "",
        "founded_on": profile.founded_on.isoformat() if profile and profile.founded_on else "",
        **{
            k: (getattr(profile, k) or "") if profile else ""
            for k in ("head", "address", "phone", "other_members")
        },
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        schema = OrgIn()
        form.update({k: request.form.get(k, "").strip() for k in form})
        try:
            data = schema.load({k: v for k, v in form_payload(request.form, schema).items()})
            orgs.save_org(unit, data)
        except ValidationError as err:
            db.session.rollback()
            errors = {k: v if isinstance(v, list) else [str(v)] for k, v in err.messages.items()}
        else:
            db.session.commit()
            flash(f"{unit.name}的调解组织档案已保存。", "success")
            return redirect(url_for("orgs.org", unit_code=unit.code))
    return render_template(
        "orgs/edit.html",
        unit=unit,
        profile=profile,
        form=form,
        errors=errors,
        labels=LABELS,
        kinds=list(OrgKind),
        industries=list(Industry),
    )
