"""Web pages of disputes: the case list, the registration form and the case page.

The pages call the same service functions and schemas as the JSON API: the list goes through
``service.list_disputes`` (validated by ``DisputeListArgs``), the form is validated by the very
``DisputeCreate`` schema, and every lookup goes through ``accounts.access``.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date
from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import get_dispute, get_visible_node, may_register_and_accept, node_scope
from mediation.accounts.models import User
from mediation.common.enums import PartyKind, PartyRole, RiskFlag, RiskLevel, Status, Venue, values
from mediation.common.paging import Page
from mediation.common.qr import qr_data_uri
from mediation.common.time import local_today
from mediation.database import MAX_ID
from mediation.disputes import service, workflow
from mediation.disputes.case_code import case_link
from mediation.disputes.models import Dispute, Party
from mediation.disputes.schemas import DisputeCreate, DisputeListArgs, max_parties
from mediation.disputes.workflow import DATA_LABELS as workflow_labels
from mediation.disputes.workflow import Stage, stage_of
from mediation.documents.models import Agreement
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.geo.service import preorder
from mediation.mediators.models import Mediator
from mediation.replica import replica_reads
from mediation.reports import screenings
from mediation.reports.common import ReportError
from mediation.reports.figures import figure_title
from mediation.routing.deadlines import OVERDUE, WARNING, warning_level

bp = Blueprint("disputes", __name__, url_prefix="/disputes")

FILTER_KEYS = (
    "stage",
    "level",
    "unit",
    "mediator",
    "mine",
    "status",
    "category",
    "node",
    "date_from",
    "date_to",
    "q",
    "sort",
    "per_page",
    *service.FIGURE_KEYS,
)
# The sortable columns of the list: (sort key of DisputeListArgs, heading).
SORT_HEADINGS = (
    ("case_no", "案号"),
    ("registered", "登记日期"),
    ("category", "类别"),
    ("risk", "风险"),
    ("stage", "阶段"),
    ("unit", "承办单位"),
    ("deadline", "期限"),
)
# The same orders as a select (phones show no table headings).
SORT_OPTIONS = (
    ("-registered", "登记日期（新→旧）"),
    ("registered", "登记日期（旧→新）"),
    ("deadline", "期限（近→远）"),
    ("-deadline", "期限（远→近）"),
    ("-risk", "风险（高→低）"),
    ("case_no", "案号"),
    ("stage", "阶段"),
    ("unit", "承办单位"),
    ("category", "类别"),
)
SCALAR_FIELDS = (
    "category",
    "source",
    "summary",
    "node",
    "risk_level",
    "venue",
    "people_count",
    "amount",
    "occurred_on",
)
PARTY_FIELDS = (
    "role",
    "kind",
    "name",
    "id_number",
    "phone",
    "address",
    "ethnicity",
    "occupation",
    "legal_rep_name",
    "legal_rep_title",
    "agent_name",
)
_PARTY_KEY = re.compile(r"^parties-(\d{1,4})-(" + "|".join(PARTY_FIELDS) + r")$")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def form_token() -> str:
    """The form's idempotency token (a resubmitted form is answered once), or a new one if it has none."""
    token = request.form.get("idempotency_token", "").strip().lower()
    return token if _TOKEN.match(token) else uuid.uuid4().hex


FIELD_LABELS = {
    "category": "纠纷类别",
    "source": "来源",
    "summary": "简要情况",
    "node": "属地",
    "risk_level": "风险等级",
    "venue": "发现场所",
    "flags": "风险标记",
    "people_count": "涉及人数",
    "amount": "涉及金额",
    "occurred_on": "发生日期",
    "parties": "当事人",
    "role": "角色",
    "kind": "类型",
    "name": "姓名/名称",
    "id_number": "证件号码",
    "phone": "联系电话",
    "address": "住址",
    "ethnicity": "民族",
    "occupation": "职业或职务",
    "legal_rep_name": "法定代表人",
    "legal_rep_title": "法定代表人职务",
    "agent_name": "委托代理人",
    "status": "状态",
    "date_from": "登记日期起",
    "date_to": "登记日期止",
    "q": "关键词",
    "page": "页码",
    "stage": "办理阶段",
    "level": "期限预警",
    "unit": "承办单位",
    "mine": "分给我的",
    "sort": "排序",
    "per_page": "每页条数",
    "figure": "报表指标",
    "month": "报表月份",
    "week": "报表周次",
    "period": "考核期间",
    "channel": "化解渠道",
    "_schema": "表单",
    "Idempotency-Key": "表单",
    "accept": "本委员会直接受理",
}

# Labels of the keys that timeline events carry in their ``data``.
DATA_LABELS = {
    "case_no": "案号",
    "category": "类别",
    "source": "来源",
    "node": "属地",
    "risk_level": "风险等级",
    "parties": "当事人数",
    "channel": "渠道",
    "unit": "承办单位",
    "co_units": "联办单位",
    "reason": "原因",
    "from_unit": "原单位",
    "to_unit": "新单位",
    "date": "日期",
    "outcome": "结果",
    "deadline": "期限",
    "old_deadline": "原期限",
    "new_deadline": "新期限",
    "days": "天数",
    "note": "说明",
    "flags": "风险标记",
    "status": "状态",
    "accepted_on": "受理日期",
    "closed_on": "办结日期",
    "due_on": "期限",
    "kind": "类型",
    "level": "级别",
    "satisfaction": "满意度",
    "order": "督办单",
    "followup": "回访",
    "result": "结果",
    "reply_by": "答复期限",
    "escalated_to": "上报至",
    "agreement_id": "协议书编号",
    "supplements": "补充的协议",
    "form": "文书",
    "parties_consent": "双方当事人同意",
    "effective_on": "生效日期",
    "performance_due": "履行期限",
    "signer": "签名人",
    "method": "签署方式",
    "role": "角色",
}


def _workflow_data_labels() -> None:
    for key, label in workflow_labels.items():
        DATA_LABELS.setdefault(key, label)


_workflow_data_labels()


# ---------------------------------------------------------------- helpers shared by the pages


def scope_nodes(user) -> list[tuple[Node, int]]:
    """The nodes the user may work in, as a tree in pre-order: (node, depth below the top)."""

    nodes = db.session.scalars(select(Node).where(node_scope(user))).all()
    return preorder(nodes)


def node_options(user) -> list[dict]:
    return [
        {"code": n.code, "label": "\u3000" * depth + n.name, "level": n.level.value}
        for n, depth in scope_nodes(user)
    ]


def flatten_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"parties.0.id_number": ["…"]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            for k, v in flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        for i, value in enumerate(messages):
            if isinstance(value, str):
                out.setdefault(prefix, []).append(value)
            else:
                for k, v in flatten_errors(value, f"{prefix}.{i}").items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix, []).append(str(messages))
    return out


def form_errors(messages) -> dict[str, list[str]]:
    """Errors keyed by the form control they belong to: ``flags.1`` is shown under ``flags``,
    ``parties.0.id_number`` under that party's ID number."""
    out: dict[str, list[str]] = {}
    for key, msgs in flatten_errors(messages).items():
        parts = key.split(".")
        if parts[0] == "parties" and len(parts) > 1 and parts[1].isdigit():
            key = ".".join(parts[:3])
        else:
            key = parts[0]
        out.setdefault(key, []).extend(msgs)
    return out


def error_label(key: str) -> str:
    parts = key.split(".")
    if parts[0] == "parties" and len(parts) >= 2 and parts[1].isdigit():
        rest = FIELD_LABELS.get(parts[2], parts[2]) if len(parts) > 2 else ""
        return f"当事人{int(parts[1]) + 1}" + (f" · {rest}" if rest else "")
    return FIELD_LABELS.get(parts[0], parts[0])


def error_anchor(key: str) -> str:
    """The id of the input an error belongs to (see the templates' naming)."""
    parts = key.split(".")
    if parts[0] == "parties" and len(parts) > 2 and parts[1].isdigit():
        return f"f-parties-{parts[1]}-{parts[2]}"
    return f"f-{parts[0]}"


def deadline_state(dispute: Dispute, today: date) -> str | None:
    """The CSS state of the case's warning level (routing.deadlines.warning_level, the one rule)."""

    level = warning_level(dispute, today)
    if level is None:
        return None
    return {OVERDUE: "overdue", WARNING: "warning"}.get(level, "ok")


def place_labels(disputes: list[Dispute], user) -> dict[int, str]:
    """属地 of each case as the path below the places the user already knows (at most three names)."""
    node_ids = {d.node_id for d in disputes}
    nodes = {n.id: n for n in db.session.scalars(select(Node).where(Node.id.in_(node_ids)))}
    ancestor_ids = {int(p) for n in nodes.values() for p in n.path.strip("/").split("/") if p}
    names = {n.id: n.name for n in db.session.scalars(select(Node).where(Node.id.in_(ancestor_ids)))}
    own = {int(p) for p in user.unit.node.path.strip("/").split("/") if p} if user.unit else set()
    out = {}
    for d in disputes:
        node = nodes[d.node_id]
        chain = [int(p) for p in node.path.strip("/").split("/") if p]
        below = [i for i in chain if i not in own] or chain[-1:]
        out[d.id] = "/".join(names.get(i, "") for i in below[-3:])
    return out


NODE_KEYS = {"node", "from_node", "to_node"}
UNIT_KEYS = {"unit", "co_units", "from_unit", "to_unit", "units", "from_center", "to_center", "court"}
USER_KEYS = {"from_handler", "to_handler"}
AGREEMENT_KEYS = {"agreement_id", "supplements"}
# Keys kept in the data for the record but not shown: internal ids, and the verification code,
# which belongs on the document it verifies (shown there, labelled), not in the timeline.
HIDDEN_KEYS = {"code", "followup", "order"}
# A boolean whose label reads as a double negative when shown as 是/否: shown as the positive.
POSITIVE_BOOLEANS = {"override": ("采纳分流建议", False)}


def code_names(events) -> dict[str, dict[str, str]]:
    """Names of the node, unit, user and agreement references that timeline events carry, to show
    names and 协议书编号, not codes and ids."""
    wanted: dict[str, set] = {"node": set(), "unit": set(), "user": set(), "agreement": set()}

    def want(key, value) -> None:
        kind = (
            "node"
            if key in NODE_KEYS
            else "unit"
            if key in UNIT_KEYS
            else "user"
            if key in USER_KEYS
            else "agreement"
            if key in AGREEMENT_KEYS
            else None
        )
        if kind:
            wanted[kind].update(str(v) for v in (value if isinstance(value, list) else [value]) if v)

    for event in events:
        for key, value in (event.data or {}).items():
            if isinstance(value, dict):  # suggested / previous: {channel, unit, …}
                for k, v in value.items():
                    want(k, v)
            else:
                want(key, value)
    names: dict[str, dict[str, str]] = {"node": {}, "unit": {}, "user": {}, "agreement": {}}
    if wanted["node"]:
        names["node"] = dict(
            db.session.execute(select(Node.code, Node.name).where(Node.code.in_(wanted["node"]))).all()
        )
    if wanted["unit"]:
        names["unit"] = dict(
            db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(wanted["unit"]))).all()
        )
    if wanted["user"]:
        names["user"] = {
            u.username: u.name
            for u in db.session.scalars(select(User).where(User.username.in_(wanted["user"])))
        }
    ids = [int(v) for v in wanted["agreement"] if v.isdigit()]
    if ids:
        names["agreement"] = {
            str(a.id): a.number for a in db.session.scalars(select(Agreement).where(Agreement.id.in_(ids)))
        }
    return names


def _names_of(key: str, names: dict) -> dict:
    kind = (
        "node"
        if key in NODE_KEYS
        else "unit"
        if key in UNIT_KEYS
        else "user"
        if key in USER_KEYS
        else "agreement"
        if key in AGREEMENT_KEYS
        else ""
    )
    return names.get(kind, {})


def _data_text(key: str, value, names: dict) -> str | None:
    """One value of an event's data as words; None when it is not to be shown."""
    lookup = _names_of(key, names)
    if key in AGREEMENT_KEYS:
        # the agreement's 协议书编号; an agreement no longer there is not shown by its id
        return lookup.get(str(value))
    if lookup:
        value = (
            [lookup.get(str(v), v) for v in value]
            if isinstance(value, list)
            else lookup.get(str(value), value)
        )
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) or None
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            if v is None or v == "" or k in HIDDEN_KEYS or k not in DATA_LABELS:
                continue
            text = _data_text(k, v, names)
            if text:
                parts.append(text if k in ("channel", "unit") else f"{DATA_LABELS[k]}：{text}")
        return " · ".join(parts) or None
    return str(value)


@bp.app_template_filter("event_data")
def event_data_filter(data, names: dict | None = None) -> list[tuple[str, str]]:
    """An event's data as (label, text) rows in words a user understands: names instead of codes,
    the 协议书编号 instead of an id; internal keys and keys without a Chinese label are left out."""
    if not isinstance(data, dict):
        return []
    names = names or {}
    items = []
    for key, value in data.items():
        if value is None or value == "" or value == [] or key in HIDDEN_KEYS:
            continue
        if key in POSITIVE_BOOLEANS and isinstance(value, bool):
            label, positive_when = POSITIVE_BOOLEANS[key]
            items.append((label, "是" if value == positive_when else "否"))
            continue
        if key not in DATA_LABELS:
            continue
        text = _data_text(key, value, names)
        if text:
            items.append((DATA_LABELS[key], text))
    return items


# ---------------------------------------------------------------- the case list


def _list_args() -> tuple[dict, dict, dict[str, list[str]]]:
    """The list filters from the query string: (args for service.filtered_disputes, the values as
    typed, errors by field). The page, its page links and its Excel export read them alike."""
    raw = {k: request.args.get(k, "").strip() for k in (*FILTER_KEYS, "page")}
    raw = {k: v for k, v in raw.items() if v}
    errors: dict[str, list[str]] = {}
    args: dict = {}
    try:
        args = DisputeListArgs().load(raw)
    except ValidationError as err:
        errors = flatten_errors(err.messages)
    if not errors and args.get("date_from") and args.get("date_to") and args["date_from"] > args["date_to"]:
        errors["date_to"] = ["截止日期不能早于起始日期。"]
    if not errors and args.get("node") and get_visible_node(current_user, args["node"]) is None:
        errors["node"] = ["未知的属地，或不在您的辖区内。"]
    if (
        not errors
        and args.get("unit")
        and args["unit"] != service.NO_UNIT
        and db.session.scalar(select(Unit.id).where(Unit.code == args["unit"])) is None
    ):
        errors["unit"] = ["未知的承办单位。"]
    if not errors and args.get("mediator") and db.session.get(Mediator, args["mediator"]) is None:
        errors["mediator"] = ["未知的调解员。"]
    return args, raw, errors


def unit_options(user) -> list[dict]:
    """Units a lead-unit filter offers: those attached to the places the user works in."""
    rows = db.session.execute(
        select(Unit.code, Unit.name)
        .join(Node, Node.id == Unit.node_id)
        .where(node_scope(user))
        .order_by(Node.path, Unit.code)
    ).all()
    return [{"code": code, "name": name} for code, name in rows]


def figure_heading(args: dict, raw: dict) -> dict:
    """The heading of a report drill-down list: the figure, the node, the month and the line, and
    the link back to the report page the figure is on."""

    node = db.session.scalar(select(Node).where(Node.code == args["node"]))
    unit = None
    if args.get("unit") == service.NO_UNIT:
        unit = "未分流"
    elif args.get("unit"):
        unit = db.session.scalar(select(Unit.name).where(Unit.code == args["unit"]))
    return figure_title(
        args["figure"],
        node,
        args.get("month"),
        week=args.get("week"),
        term=args.get("period"),
        prominent=args.get("prominent", False),
        direct=args.get("direct", False),
        channel=args.get("channel"),
        venue=args.get("venue"),
        category=args.get("category"),
        level=args.get("level"),
        unit=unit,
        mediator=db.session.get(Mediator, args["mediator"]).name if args.get("mediator") else None,
    )


@bp.get("/")
@login_required
@replica_reads
def index():
    args, raw, errors = _list_args()
    if "per_page" not in raw or errors:
        args["per_page"] = current_app.config["PAGE_SIZE"]
    args.setdefault("page", 1)
    listed = Page(items=[], total=0, page=args["page"], per_page=args["per_page"])
    if not errors:
        listed = service.list_disputes(current_user, args)
    items: list[Dispute] = listed.items

    # Page links, sort links and the export keep the filters as the user typed them.
    kept = {k: raw[k] for k in FILTER_KEYS if k in raw}
    party_names: dict[int, list[str]] = {}
    if items:
        for p in db.session.scalars(
            select(Party)
            .where(Party.dispute_id.in_([d.id for d in items]))
            .order_by(Party.dispute_id, Party.position)
        ):
            party_names.setdefault(p.dispute_id, []).append(p.name)
    today = local_today()
    sort = raw.get("sort", "-registered") if not errors else "-registered"
    return render_template(
        "disputes/index.html",
        items=items,
        listed=listed,
        filters=raw,
        kept=kept,
        errors=errors,
        error_label=error_label,
        places=place_labels(items, current_user) if items else {},
        party_names=party_names,
        deadline_states={d.id: deadline_state(d, today) for d in items},
        stages={d.id: stage_of(d).value for d in items},
        stage_values=values(Stage),
        levels=[WARNING, OVERDUE],
        units=unit_options(current_user),
        sort=sort,
        sort_headings=SORT_HEADINGS,
        sort_options=SORT_OPTIONS,
        statuses=values(Status),
        categories=current_app.config["CATEGORIES"],
        nodes=node_options(current_user),
        figure=figure_heading(args, raw) if raw.get("figure") and not errors else None,
    )


@bp.get("/export.xlsx")
@login_required
@replica_reads
def export():
    """The filtered list as an Excel workbook (same filters and order as the page, all pages)."""
    # heavy: openpyxl (disputes.export) stays out of start-up
    from mediation.disputes.export import ExportTooLarge, case_list_workbook

    args, raw, errors = _list_args()
    if errors:
        flash(
            "筛选条件有误，未导出："
            + "；".join(f"{error_label(k)}：{m}" for k, ms in errors.items() for m in ms),
            "error",
        )
        return redirect(url_for("disputes.index", **{k: raw[k] for k in FILTER_KEYS if k in raw}))
    try:
        data = case_list_workbook(current_user, args)
    except ExportTooLarge as err:
        flash(err.message, "error")
        return redirect(url_for("disputes.index", **{k: raw[k] for k in FILTER_KEYS if k in raw}))
    name = f"纠纷列表-{local_today().isoformat()}.xlsx"
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=name,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------- the registration form


def _form_payload(form) -> tuple[dict, dict, list[dict]]:
    """(the payload for DisputeCreate, the scalar values as typed, the party rows as typed).

    Party rows come as ``parties-<n>-<field>``; rows left completely blank are dropped, so the
    indexes of the payload (and of its error messages) are those of the rows shown again."""
    values_ = {k: form.get(k, "") for k in SCALAR_FIELDS}
    rows: dict[int, dict] = {}
    for key in form:
        match = _PARTY_KEY.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = form.get(key, "")
    parties = []
    # One row more than a case may have is enough for DisputeCreate to refuse the form (werkzeug
    # limits a form to 1000 parts anyway).
    for index in sorted(rows)[: max_parties() + 1]:
        row = {f: rows[index].get(f, "") for f in PARTY_FIELDS}
        if any(row[f].strip() for f in PARTY_FIELDS[2:]):
            parties.append(row)
    payload = {**values_, "flags": form.getlist("flags"), "parties": [dict(p) for p in parties]}
    if "accept" in form:  # 本委员会直接受理 (an unticked checkbox is not sent)
        payload["accept"] = True
    return payload, values_, parties


def _blank_party() -> dict:
    return {
        "role": PartyRole.APPLICANT.value,
        "kind": PartyKind.PERSON.value,
        **{f: "" for f in PARTY_FIELDS[2:]},
    }


def _render_form(
    values_: dict,
    flags: list[str],
    parties: list[dict],
    token: str,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    accept: bool = False,
    *,
    label=error_label,
    **extra,
):
    """The registration form; ``extra`` (e.g. the court's referral fields, court_views.py) goes to the template."""
    errors = errors or {}
    summary = [(label(k), error_anchor(k), m) for k, msgs in errors.items() for m in msgs]
    return render_template(
        "disputes/new.html",
        **extra,
        values=values_,
        flags=flags,
        parties=parties or [_blank_party()],
        token=token,
        errors=errors,
        error_summary=summary,
        categories=current_app.config["CATEGORIES"],
        sources=current_app.config["SOURCES"],
        risk_levels=values(RiskLevel),
        risk_flags=values(RiskFlag),
        venues=values(Venue),
        party_roles=values(PartyRole),
        party_kinds=values(PartyKind),
        nodes=node_options(current_user),
        today=local_today().isoformat(),
        blank_party=_blank_party(),
        may_accept=may_register_and_accept(current_user),
        accept=accept,
    ), status


def _blank_form(finding):
    defaults = {k: "" for k in SCALAR_FIELDS}
    defaults["risk_level"] = RiskLevel.ORDINARY.value
    defaults["node"] = current_user.unit.node.code if current_user.unit else ""
    rows = []
    if finding is not None:
        prefilled, rows = screenings.registration_values(finding)
        defaults.update(prefilled)
        rows = [{**_blank_party(), **r} for r in rows]
    return _render_form(defaults, [], rows, uuid.uuid4().hex, finding=finding)


def _finding_arg():
    """The sweep finding named by ``finding`` (query or form) if the user may see it; 404 otherwise."""
    raw = (request.values.get("finding") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID:
        abort(404)
    try:
        return screenings.get_finding(current_user, int(raw))
    except ReportError as err:
        abort(err.status)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    finding = _finding_arg()  # registered from a sweep report's finding (排查发现): prefilled, then linked
    if request.method == "GET":
        if finding is not None and not finding.is_open:
            flash(f"该排查发现已处理（{finding.state}），无需再登记。", "info")
            return redirect(url_for("reports.sweep_page", screening_id=finding.screening_id), 303)
        return _blank_form(finding)

    payload, values_, parties = _form_payload(request.form)
    token = form_token()
    key = f"web:{token}"
    fingerprint = service.request_fingerprint(payload)
    try:
        data = DisputeCreate().load(payload)
        register = partial(screenings.register_finding, current_user, finding) if finding else None
        register = register or partial(workflow.register_case, current_user)
        result = register(data, idempotency_key=key, fingerprint=fingerprint)
        workflow.commit(keep_loaded=not result.replayed)  # the flash reads what was written
    except (workflow.WorkflowError, ReportError) as err:
        db.session.rollback()
        return _render_form(
            values_,
            payload["flags"],
            parties,
            token,
            {"_schema": [err.message]},
            422,
            accept="accept" in payload,
            finding=finding,
        )
    except ValidationError as err:
        db.session.rollback()
        errors = form_errors(err.messages)
        if "Idempotency-Key" in errors:
            # The same form was already submitted with other content (back button, edit, resend):
            # a new token lets the user register it as a new case on purpose.
            errors = {
                "_schema": [
                    "此表单已经提交过，登记时的内容与现在不同。如确需再登记一件新纠纷，请核对后再次提交。"
                ]
            }
            token = uuid.uuid4().hex
        return _render_form(
            values_,
            payload["flags"],
            parties,
            token,
            errors,
            422,
            accept="accept" in payload,
            finding=finding,
        )
    except IntegrityError:
        # A concurrent submit of the same form committed first: show that case.
        db.session.rollback()
        previous = service.find_idempotent(current_user, key, fingerprint)
        if previous is None:
            raise
        result = service.Registration(previous, replayed=True)

    dispute = result.dispute
    if result.replayed:
        flash(f"该表单已提交过，未重复登记。案号：{dispute.case_no}", "info")
    else:
        flash(f"登记成功，案号：{dispute.case_no}", "success")
        if dispute.accepted_on is not None and dispute.unit_id == current_user.unit_id:
            flash(
                f"已由本委员会直接受理，办理期限至{dispute.deadline.isoformat()}。"
                "负责属地的综治中心已收到通知。",
                "success",
            )
        for warning in result.warnings:
            flash(warning, "warning")
    if finding is not None:  # back to the sweep report: found N, registered M
        return redirect(url_for("reports.sweep_page", screening_id=finding.screening_id), 303)
    return redirect(url_for("disputes.show", dispute_id=dispute.id), 303)


# ---------------------------------------------------------------- the case page


@bp.get("/<int:dispute_id>")
@login_required
def show(dispute_id: int):
    dispute = get_dispute(current_user, dispute_id)  # 404 outside the user's scope
    parties = [(p, service.shown_id_number(p, current_user)) for p in dispute.parties]
    events = list(dispute.events)
    link = case_link(dispute)
    return render_template(
        "disputes/show.html",
        dispute=dispute,
        case_link=link,
        case_qr=qr_data_uri(link["qr_data"]),
        parties=parties,
        events=events,
        names=code_names(events),
        place=dispute.node.full_name(" / "),
        deadline_state=deadline_state(dispute, local_today()),
    )
