"""通报: a 综治中心 issues the period's scorecard of its node as a notice — the ranking, the units
通报表扬 (total at least ``NOTICE_PRAISE_MIN_TOTAL``, or among the top ``NOTICE_PRAISE_TOP``) and
通报批评 (total below ``NOTICE_CRITICISE_BELOW``), and the overdue cases named (case number, 属地,
承办单位, days overdue; no personal data). The notice keeps the data it was issued with and its PDF
(typeset like the other 文书, through the documents renderer); the units it names see it."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from mediation.accounts.access import acts_for_a_center, can_see_node, is_admin, node_scope, predicate
from mediation.accounts.models import User
from mediation.common.time import local_today
from mediation.disputes.models import Dispute
from mediation.documents.render import Renderer
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.keypeople.models import CaseLeader
from mediation.reports.common import ReportError
from mediation.reports.figures import child_nodes, figure_filter
from mediation.reports.models import Notice, NoticeNamed
from mediation.reports.scorecard import Term, scorecard
from mediation.reports.sql import day_number, lit

PRAISE, CRITICISM, OVERDUE = "表扬", "批评", "超期"


@predicate
def may_issue_notice(user: User, node: Node) -> bool:
    """A 通报 is issued by a 综治中心 (its staff, or an admin of one) for its own node or its subtree."""
    return acts_for_a_center(user) and can_see_node(user, node)


@predicate
def may_see_notice(user: User, notice: Notice) -> bool:
    """Who sees a 通报: the levels that see its node (the issuing level and above, admins), and the
    staff of every unit at a node it names (表扬, 批评, or one of its cases listed overdue)."""
    if can_see_node(user, notice.node):
        return True
    return user.unit is not None and any(n.node_id == user.unit.node_id for n in notice.named)


def visible_notices(user: User):
    """The notices the user sees (:func:`may_see_notice`, in SQL), newest first."""
    stmt = select(Notice).join(Node, Node.id == Notice.node_id)
    if not is_admin(user):
        named = select(NoticeNamed.notice_id).where(NoticeNamed.node_id == user.unit.node_id)
        stmt = stmt.where(or_(node_scope(user), Notice.id.in_(named)))
    return stmt.order_by(Notice.issued_at.desc(), Notice.id.desc())


def thresholds() -> dict:
    c = current_app.config
    return {
        "praise_min": float(c.get("NOTICE_PRAISE_MIN_TOTAL", 90)),
        "praise_top": int(c.get("NOTICE_PRAISE_TOP", 0)),
        "criticise_below": float(c.get("NOTICE_CRITICISE_BELOW", 60)),
    }


def praised_and_criticised(rows: list[dict], t: dict) -> tuple[list[dict], list[dict]]:
    """表扬: ranked units with total >= praise_min, or within the top ``praise_top`` ranks; 批评:
    ranked units below criticise_below and not praised. Unranked units (no data) are neither."""
    ranked = [r for r in rows if r["total"] is not None]
    praised = [
        r
        for r in ranked
        if r["total"] >= t["praise_min"] or (t["praise_top"] and r["rank"] <= t["praise_top"])
    ]
    criticised = [r for r in ranked if r["total"] < t["criticise_below"] and r not in praised]
    return praised, criticised


def overdue_cases(node: Node, term: Term, today: date) -> list[dict]:
    """The cases behind the scorecard's 超期数 (figure ``overdue`` of the node's subtree: open at the
    period's end with a deadline before it), the longest overdue first, with the child they lie under.
    Days overdue are counted to the period's end, or to today while the period runs; ``leader`` is the
    case's 包案领导 (post and name, keypeople's ``CaseLeader``) or None."""
    until = min(term.last, today)
    days = (day_number(lit(until)) - day_number(Dispute.deadline)).label("days")
    stmt = (
        select(
            Dispute.case_no,
            Dispute.category,
            Node.path,
            Node.name.label("node_name"),
            Unit.name.label("unit"),
            CaseLeader.post.label("leader_post"),
            CaseLeader.name.label("leader_name"),
            days,
        )
        .join(Node, Node.id == Dispute.node_id)
        .outerjoin(Unit, Unit.id == Dispute.unit_id)
        .outerjoin(CaseLeader, CaseLeader.dispute_id == Dispute.id)
        .where(figure_filter("overdue", node, term))
        .order_by(days.desc(), Dispute.case_no)
    )
    children = {c.id: c for c in child_nodes(node)}
    prefix = len(node.path)
    out = []
    for r in db.session.execute(stmt):
        rest = r.path[prefix:].strip("/")
        child = children.get(int(rest.split("/")[0])) if rest else None
        out.append(
            {
                "case_no": r.case_no,
                "category": r.category,
                "place": r.node_name,
                "child": child.code if child else None,
                "child_name": child.name if child else node.name,
                "unit": r.unit or "未分流",
                "leader": f"{r.leader_post}{r.leader_name}" if r.leader_name else None,
                "days_overdue": max(int(r.days), 0),
            }
        )
    return out


def notice_data(node: Node, term: Term, today: date) -> dict:
    """What a 通报 says, as data (kept on the notice, the PDF is rendered from it)."""
    card = scorecard(node, term)
    t = thresholds()
    praised, criticised = praised_and_criticised(card["rows"], t)
    return {
        "node": node.code,
        "node_name": node.name,
        "period": term.key,
        "period_label": term.label,
        "figures": card["figures"],
        "rows": card["rows"],
        "thresholds": t,
        "praised": [r["node"] for r in praised],
        "criticised": [r["node"] for r in criticised],
        "overdue": overdue_cases(node, term, today),
    }


def render_pdf(notice_number: str, issuer: str, issued_on: date, data: dict) -> bytes:
    renderer = Renderer()
    names = {r["node"]: r["node_name"] for r in data["rows"]}
    html = renderer.html(
        "reports/notice_pdf.html",
        number=notice_number,
        issuer=issuer,
        issued_on=issued_on,
        data=data,
        praised=[names[c] for c in data["praised"]],
        criticised=[names[c] for c in data["criticised"]],
    )
    return renderer.pdf(html)


def issue_notice(user: User, node: Node, term: Term) -> Notice:
    """Issue the 通报 of the node for the period: 403 unless :func:`may_issue_notice`, 409 when the
    node's notice of that period exists (a retry makes no second one), 422 for a period not begun."""
    if not may_issue_notice(user, node):
        raise ReportError("只有综治中心可以对本辖区印发考核通报。", status=403)
    today = local_today()
    if term.first > today:
        raise ReportError("考核期间尚未开始，不能印发通报。", status=422, field="period")
    existing = db.session.scalar(select(Notice).where(Notice.node_id == node.id, Notice.period == term.key))
    if existing is not None:
        raise ReportError(f"{node.name}{term.label}的考核通报已印发（{existing.number}）。", status=409)
    data = notice_data(node, term, today)
    unit = user.unit
    year = today.year
    seq = (
        db.session.scalar(
            select(func.max(Notice.seq)).where(Notice.issued_by_unit_id == unit.id, Notice.year == year)
        )
        or 0
    ) + 1
    number = f"{unit.short_name or unit.name}通报〔{year}〕{seq}号"
    notice = Notice(
        node_id=node.id,
        period=term.key,
        year=year,
        seq=seq,
        number=number,
        issued_by_unit_id=unit.id,
        issued_by_id=user.id,
        snapshot=data,
        pdf=render_pdf(number, unit.name, today, data),
    )
    codes = {
        PRAISE: data["praised"],
        CRITICISM: data["criticised"],
        OVERDUE: [c["child"] for c in data["overdue"]],
    }
    ids = dict(
        db.session.execute(
            select(Node.code, Node.id).where(Node.code.in_({c for v in codes.values() for c in v if c}))
        ).all()
    )
    for role, values in codes.items():
        for code in sorted({c for c in values if c}):
            notice.named.append(NoticeNamed(node_id=ids[code], role=role))
    db.session.add(notice)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ReportError(f"{node.name}{term.label}的考核通报已印发。", status=409) from None
    return notice


def notice_summary(notice: Notice) -> dict:
    data = notice.snapshot or {}
    names = {r["node"]: r["node_name"] for r in data.get("rows", [])}
    return {
        "id": notice.id,
        "number": notice.number,
        "node": notice.node.code,
        "node_name": notice.node.name,
        "period": notice.period,
        "period_label": data.get("period_label", notice.period),
        "issued_by": notice.issued_by_unit.name,
        "issued_at": notice.issued_at,
        "praised": [names.get(c, c) for c in data.get("praised", [])],
        "criticised": [names.get(c, c) for c in data.get("criticised", [])],
        "overdue_count": len(data.get("overdue", [])),
    }
