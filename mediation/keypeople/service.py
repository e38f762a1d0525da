"""The rules of the 重点人员 / 重点群体 register and of 包案.

Who sees an entry: within the jurisdiction (the entry's place in the subtree of the user's unit)
AND only roles that need it — 综治中心 staff, admins, and the staff of the entry's 责任单位; grid
workers, the court and other units do not, unless they are the 责任单位 (:func:`may_see_entry`,
:func:`entry_scope`). The ID number is masked unless ``may_read_id_numbers``; nothing here logs a
name or an ID number.

A review is due on ``next_review_on`` and then every ``review_days`` days until someone records a
review (which sets the next date). The follow-ups sweep (:func:`send_review_dues`) keeps one
``KeyReviewDue`` row per (entry, due date) and notifies the 责任单位's staff exactly once per due
date.

Service functions flush; the caller commits once (the sweep step commits its own batches)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort
from sqlalchemy import ColumnElement, Select, and_, false, select, true

from mediation import clock
from mediation.accounts.access import (
    dispute_scope,
    get_visible_node,
    is_admin,
    is_center_user,
    is_center_user_or_admin,
    may_read_id_numbers,
    predicate,
    subtree_node_ids,
)
from mediation.accounts.models import User
from mediation.common.paging import Page, paginate
from mediation.common.urls import app_path
from mediation.common.validators import mask_id_number
from mediation.disputes.models import Dispute, register_event_label
from mediation.disputes.service import add_event
from mediation.extensions import db
from mediation.followups.models import NotificationKind
from mediation.followups.service import SweepResult, insert_ignore, notify, register_sweep_step, unit_users
from mediation.geo.models import Node, Unit
from mediation.keypeople.models import CaseLeader, KeyEntry, KeyEntryLog, KeyKind, KeyReviewDue, LogKind

BATCH = 200


class KeyPeopleError(ValueError):
    """Field errors (Chinese), as marshmallow gives them: {field: [messages]}."""

    def __init__(self, messages: dict[str, list[str]]):
        super().__init__(messages)
        self.messages = messages


# --- who sees, who keeps --------------------------------------------------------------------------


def _in_jurisdiction(user: User) -> ColumnElement[bool]:
    return KeyEntry.node_id.in_(subtree_node_ids(user.unit.node))


def entry_scope(user: User) -> ColumnElement[bool]:
    """THE visibility rule as SQL (see :func:`may_see_entry`)."""
    if is_admin(user):
        return true()
    if not user.active or user.unit is None:
        return false()
    if is_center_user(user):
        return _in_jurisdiction(user)
    return and_(_in_jurisdiction(user), KeyEntry.unit_id == user.unit_id)


@predicate
def may_see_key_people(user: User) -> bool:
    """The register at all (list, API list): admins, 综治中心 staff, and the staff of a unit that is
    the 责任单位 of an entry in their jurisdiction. Grid workers, the court and other units are refused
    unless they are such a 责任单位."""
    if is_admin(user):
        return True
    if not user.active or user.unit is None:
        return False
    if is_center_user(user):
        return True
    return bool(db.session.scalar(select(select(KeyEntry.id).where(entry_scope(user)).exists())))


@predicate
def may_see_entry(user: User, entry: KeyEntry) -> bool:
    """One entry (and recording its review): admins; 综治中心 staff when the entry's place is in
    their unit's subtree; the 责任单位's staff within their jurisdiction. Nobody else."""
    if is_admin(user):
        return True
    if not user.active or user.unit is None:
        return False
    node = db.session.get(Node, entry.node_id)
    if node is None or not node.path.startswith(user.unit.node.path):
        return False
    return is_center_user(user) or entry.unit_id == user.unit_id


@predicate
def may_manage_key_people(user: User) -> bool:
    """Register, edit and link cases: 综治中心 staff and admins (the 责任单位 records reviews)."""
    return bool(user.active and is_center_user_or_admin(user))


def may_edit_entry(user: User, entry: KeyEntry) -> bool:
    """Edit an entry: :func:`may_manage_key_people` and :func:`may_see_entry` both."""
    return may_manage_key_people(user) and may_see_entry(user, entry)


def get_entry(user: User, entry_id: int) -> KeyEntry:
    """The entry if the user may see it; 404 otherwise (its existence is not revealed)."""
    entry = db.session.scalars(select(KeyEntry).where(KeyEntry.id == entry_id, entry_scope(user))).first()
    if entry is None:
        abort(404)
    return entry


def shown_id_number(user: User | None, entry: KeyEntry) -> str | None:
    if user is None or may_read_id_numbers(user):
        return entry.id_number
    return mask_id_number(entry.id_number)


def visible_cases(user: User, entry: KeyEntry) -> list[Dispute]:
    """The entry's linked cases the user may see (the others are not shown)."""
    stmt = (
        select(Dispute)
        .where(Dispute.id.in_([d.id for d in entry.cases]), dispute_scope(user))
        .order_by(Dispute.registered_on.desc(), Dispute.id.desc())
    )
    return list(db.session.scalars(stmt)) if entry.cases else []


def units_for_form(user: User) -> list[Unit]:
    """The units that may be named 责任单位: those whose node is in the user's subtree."""
    stmt = select(Unit).order_by(Unit.code)
    if not is_admin(user):
        stmt = stmt.where(Unit.node_id.in_(subtree_node_ids(user.unit.node)))
    return list(db.session.scalars(stmt))


# --- the list -------------------------------------------------------------------------------------


def list_statement(user: User, args: dict, today: date | None = None) -> Select:
    """The entries the user sees, filtered by ``node_obj`` (a subtree), ``kind``, ``due`` (review
    date today or earlier), ``q`` (name contains) and ``inactive``; soonest review first."""
    stmt = select(KeyEntry).where(entry_scope(user))
    node = args.get("node_obj")
    if node is not None:
        stmt = stmt.where(KeyEntry.node_id.in_(subtree_node_ids(node)))
    if args.get("kind"):
        stmt = stmt.where(KeyEntry.kind == KeyKind(args["kind"]))
    if args.get("due"):
        stmt = stmt.where(KeyEntry.next_review_on <= (today or clock.today()))
    if args.get("q"):
        stmt = stmt.where(KeyEntry.name.contains(args["q"], autoescape=True))
    if not args.get("inactive"):
        stmt = stmt.where(KeyEntry.active.is_(True))
    return stmt.order_by(KeyEntry.next_review_on, KeyEntry.id)


def list_entries(user: User, args: dict) -> Page:
    return paginate(list_statement(user, args), args.get("page", 1), args.get("per_page", 20))


# --- saving ---------------------------------------------------------------------------------------


def _log(entry: KeyEntry, kind: LogKind, user: User | None, note: str | None, **kw) -> KeyEntryLog:
    line = KeyEntryLog(
        entry=entry,
        kind=kind,
        on=kw.pop("on", None) or clock.today(),
        user_id=user.id if user is not None else None,
        by_name=user.name if user is not None else "系统",
        note=note,
        **kw,
    )
    db.session.add(line)
    return line


def resolve_cases(user: User, case_nos: list[str]) -> list[Dispute]:
    """The cases named by number, each one the user may see; otherwise a field error naming them."""
    wanted = list(dict.fromkeys(c for c in case_nos if c))
    if not wanted:
        return []
    found = {
        d.case_no: d
        for d in db.session.scalars(select(Dispute).where(Dispute.case_no.in_(wanted), dispute_scope(user)))
    }
    missing = [c for c in wanted if c not in found]
    if missing:
        raise KeyPeopleError({"cases": [f"案件编号不存在或不在您的辖区：{'、'.join(missing)}。"]})
    return [found[c] for c in wanted]


def _place_and_unit(user: User, data: dict) -> tuple[Node, Unit]:
    errors: dict[str, list[str]] = {}
    node = get_visible_node(user, data["node"])
    if node is None:
        errors["node"] = ["请选择您辖区内的节点。"]
    unit = db.session.scalar(select(Unit).where(Unit.code == data["unit"]))
    if unit is None or unit.id not in {u.id for u in units_for_form(user)}:
        errors["unit"] = ["请选择您辖区内的责任单位。"]
    if errors:
        raise KeyPeopleError(errors)
    return node, unit


def _duplicate(name: str, kind: KeyKind, node: Node, other_than: int | None) -> KeyEntry | None:
    stmt = select(KeyEntry).where(
        KeyEntry.name == name, KeyEntry.kind == kind, KeyEntry.node_id == node.id, KeyEntry.active.is_(True)
    )
    if other_than is not None:
        stmt = stmt.where(KeyEntry.id != other_than)
    return db.session.scalars(stmt.order_by(KeyEntry.id)).first()


FIELD_LABELS = {
    "name": "名称",
    "kind": "类别",
    "group_size": "人数",
    "node": "所在地",
    "unit": "责任单位",
    "measures": "稳控措施",
    "review_days": "复查周期",
    "id_number": "身份证号",
    "active": "状态",
}


def _changes(entry: KeyEntry, new: dict) -> list[str]:
    old = {
        "name": entry.name,
        "kind": entry.kind,
        "group_size": entry.group_size,
        "node": entry.node_id,
        "unit": entry.unit_id,
        "measures": entry.measures,
        "review_days": entry.review_days,
        "id_number": entry.id_number,
        "active": entry.active,
    }
    return [FIELD_LABELS[k] for k, v in new.items() if old[k] != v]


def _link_cases(user: User, entry: KeyEntry, cases: list[Dispute]) -> None:
    """Replace the links the user can see; links to cases the user cannot see stay."""
    linked = [d.id for d in entry.cases]
    visible = (
        set(db.session.scalars(select(Dispute.id).where(Dispute.id.in_(linked), dispute_scope(user))))
        if linked
        else set()
    )
    kept = [d for d in entry.cases if d.id not in visible]
    before = {d.id: d for d in entry.cases if d.id in visible}
    after = {d.id: d for d in cases}
    added = [d for i, d in after.items() if i not in before]
    removed = [d for i, d in before.items() if i not in after]
    entry.cases = sorted([*kept, *after.values()], key=lambda d: d.id)
    for d in added:
        _log(entry, LogKind.LINKED, user, d.case_no, dispute_id=d.id)
    for d in removed:
        _log(entry, LogKind.UNLINKED, user, d.case_no, dispute_id=d.id)


HIDDEN_CASE = "（辖区外的案件）"


def history_of(user: User, entry: KeyEntry) -> list[dict]:
    """The entry's history as this user may read it: a linked or unlinked case's number only when
    the user may see that case."""
    ids = {h.dispute_id for h in entry.history if h.dispute_id is not None}
    visible = (
        set(db.session.scalars(select(Dispute.id).where(Dispute.id.in_(ids), dispute_scope(user))))
        if ids
        else set()
    )
    return [
        {
            "kind": h.kind.value,
            "on": h.on,
            "by_name": h.by_name,
            "note": h.note if h.dispute_id is None or h.dispute_id in visible else HIDDEN_CASE,
            "next_review_on": h.next_review_on,
        }
        for h in entry.history
    ]


def save_entry(user: User, entry: KeyEntry | None, data: dict) -> KeyEntry:
    """Create (``entry`` None) or update an entry from loaded :class:`EntryIn` data; every change is a
    line of its history. A second active entry of the same name, kind and place is refused (a retried
    request does not register it twice). Flushes, never commits."""
    node, unit = _place_and_unit(user, data)
    kind = KeyKind(data["kind"])
    twin = _duplicate(data["name"], kind, node, entry.id if entry is not None else None)
    if twin is not None:
        raise KeyPeopleError({"name": [f"该地已登记同名的{kind.value}（编号 {twin.id}），请勿重复登记。"]})
    cases = resolve_cases(user, data.get("cases") or [])
    is_group = kind == KeyKind.UNSTABLE_GROUP or bool(data.get("is_group"))
    new = {
        "name": data["name"],
        "kind": kind,
        "group_size": data.get("group_size") if is_group else None,
        "node": node.id,
        "unit": unit.id,
        "measures": data["measures"],
        "review_days": data["review_days"],
        "active": data.get("active", True),
    }
    if "id_number" in data or entry is None:
        new["id_number"] = None if is_group else data.get("id_number")
    if entry is None:
        entry = KeyEntry(
            created_by_id=user.id, next_review_on=clock.today() + timedelta(days=data["review_days"])
        )
        db.session.add(entry)
        changed = None
    else:
        changed = _changes(entry, new)
        if entry.review_days != new["review_days"]:
            last = entry.next_review_on - timedelta(days=entry.review_days)
            entry.next_review_on = max(last + timedelta(days=new["review_days"]), clock.today())
    entry.name, entry.kind, entry.is_group, entry.group_size = new["name"], kind, is_group, new["group_size"]
    entry.node, entry.unit = node, unit
    entry.measures, entry.review_days, entry.active = new["measures"], new["review_days"], new["active"]
    if "id_number" in new:
        entry.id_number = new["id_number"]
    if changed is None:
        _log(entry, LogKind.CREATED, user, f"下次复查 {entry.next_review_on.isoformat()}")
    elif changed:
        _log(entry, LogKind.CHANGED, user, "修改了" + "、".join(changed))
    _link_cases(user, entry, cases)
    db.session.flush()
    return entry


def record_review(user: User, entry: KeyEntry, data: dict) -> KeyEntryLog:
    """A review (复查): its date, who, a note, and the next review date (default: the date plus the
    interval), which resets the entry's ``next_review_on``. The same date and note twice is one
    review (a retried request returns the first)."""
    on = data["on"]
    next_on = data.get("next_review_on") or on + timedelta(days=entry.review_days)
    if next_on <= on:
        raise KeyPeopleError({"next_review_on": ["下次复查日期应晚于本次复查日期。"]})
    same = db.session.scalars(
        select(KeyEntryLog).where(
            KeyEntryLog.entry_id == entry.id,
            KeyEntryLog.kind == LogKind.REVIEWED,
            KeyEntryLog.on == on,
            KeyEntryLog.note == data["note"],
        )
    ).first()
    if same is not None:
        return same
    line = _log(entry, LogKind.REVIEWED, user, data["note"], on=on, next_review_on=next_on)
    entry.next_review_on = next_on
    db.session.flush()
    return line


# --- the "review due" follow-up (a step of the follow-ups sweep) ---------------------------------


def current_due(entry_next: date, interval: int, today: date) -> date:
    """The due date the sweep stands on: ``next_review_on``, then every ``interval`` days after it
    while no review is recorded — the latest of those not after today."""
    periods = (today - entry_next).days // max(interval, 1)
    return entry_next + timedelta(days=periods * max(interval, 1))


def send_review_dues(today: date, result: SweepResult) -> None:
    """Notify the 责任单位's staff of each active entry whose review is due: one ``KeyReviewDue`` row
    per (entry, due date) — inserted ``ON CONFLICT DO NOTHING`` — and the notification only when this
    run inserted it. Safe to run twice or in two processes."""
    last_id = 0
    while True:
        entries = list(
            db.session.scalars(
                select(KeyEntry)
                .where(KeyEntry.active.is_(True), KeyEntry.next_review_on <= today, KeyEntry.id > last_id)
                .order_by(KeyEntry.id)
                .limit(BATCH)
            )
        )
        if not entries:
            db.session.commit()
            return
        for entry in entries:
            due = current_due(entry.next_review_on, entry.review_days, today)
            new_id = insert_ignore(
                KeyReviewDue, {"entry_id": entry.id, "due_on": due}, ["entry_id", "due_on"]
            )
            if new_id is None:
                continue
            notify(
                unit_users([entry.unit_id]),
                kind=NotificationKind.KEY_REVIEW,
                text=f"{entry.kind.value}「{entry.name}」应于{due.isoformat()}复查稳控情况，请复查并记录。",
                key=f"keypeople:{entry.id}:{due.isoformat()}",
                link=app_path("keypeople.show", entry_id=entry.id),
            )
            result.key_reviews_due += 1
        last_id = entries[-1].id
        db.session.commit()


# --- 包案 ------------------------------------------------------------------------------------------

register_event_label("case_leader_set", "包案")


@predicate
def may_set_case_leader(user: User, dispute: Dispute) -> bool:
    """Name the case's 包案领导 (on a case the user sees): 综治中心 staff and admins."""
    return bool(user.active and is_center_user_or_admin(user))


def leader_of(dispute: Dispute | int) -> CaseLeader | None:
    """The case's 包案领导 (name, post, since) or None. The scorecard may call this or join
    ``CaseLeader.dispute_id == Dispute.id``."""
    dispute_id = dispute if isinstance(dispute, int) else dispute.id
    return db.session.get(CaseLeader, dispute_id)


def set_case_leader(user: User, dispute: Dispute, data: dict) -> CaseLeader:
    """包案: the leader (name, post, date) takes on the case, replacing any before; a timeline event
    records it. The same leader again changes nothing."""
    leader = leader_of(dispute)
    same = leader is not None and (leader.name, leader.post, leader.since) == (
        data["name"],
        data["post"],
        data["since"],
    )
    if same:
        return leader
    previous = f"{leader.post}{leader.name}" if leader is not None else None
    if leader is None:
        leader = CaseLeader(dispute_id=dispute.id)
        db.session.add(leader)
    leader.name, leader.post, leader.since, leader.set_by_id = (
        data["name"],
        data["post"],
        data["since"],
        user.id,
    )
    add_event(
        dispute,
        "case_leader_set",
        user,
        note=f"包案领导：{data['post']} {data['name']}（{data['since'].isoformat()}起）",
        data={
            "name": data["name"],
            "post": data["post"],
            "since": data["since"].isoformat(),
            "previous": previous,
        },
    )
    db.session.flush()
    db.session.expire(dispute, ["case_leader"])
    return leader


def init_app(app) -> None:
    register_sweep_step(send_review_dues)
