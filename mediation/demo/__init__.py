"""The demo (`flask --app mediation demo`): a fictional 海滨区 with its towns, villages and grids,
handling units of every type, one user per role (and a staff account per unit), a few hundred
disputes over eight months, and the history every screen shows.

The tree and the units are shipped as CSV files (mediation/demo_data/) and loaded through the same
importers as `tree import` / `units import`. Disputes are generated with a fixed random seed, so two
fresh loads on the same day give the same data; their life cycle (registered → routed → accepted →
stabilised → closed) is written with its historical dates, one timeline event per step.

Everything else is made by the areas' own service functions with the application clock set to the
moment it happened (mediation/clock.py), so their rules, events and signal receivers apply as they
would have: mediation sessions and 稳控 visits between the steps, follow-ups done (with their result
and score) a few days after they fell due, agreements drafted, signed, sealed and issued as signed
PDFs, a court's 诉前委派, 司法确认, a 民转刑 warning, the grids' sweep reports, 督办 orders, the
carry-over reasons and month closes of the 综治中心, and finally the scheduler's sweep (deadline
warnings, due follow-ups, escalation of an unanswered 督办). A second run adds nothing.

How it is built: one module per domain, each a few plain functions run in this order by ``load_demo``:
``world`` (schema, tree, units, routing rules), ``people`` (accounts), ``cases`` (disputes with their
steps, sessions, a court referral, a police warning), ``documents`` (seals, agreements, 司法确认),
``followups`` (visits, 督办, notifications), ``reports`` (sweep reports, month closes, the summary,
and — after 包案 — the district's 考核通报 of last month), ``orgs`` (the 调解组织 profiles and the
villages' committees, after the routing rules);
``material`` holds the text material and ``base`` what they all share.
"""

from __future__ import annotations

import time as time_module
from datetime import date, timedelta

from mediation import clock
from mediation.common.enums import ROLE_LABELS
from mediation.common.time import local_today, utcnow
from mediation.demo.base import DEMO_PASSWORD, DISTRICT_CODE, SEED, DemoError, local_instant
from mediation.demo.cases import court_referral, existing_demo_disputes, load_disputes, police_notification
from mediation.demo.documents import (
    ensure_signing_certificate,
    judicial_confirmations,
    load_documents,
    rmb_upper,
)
from mediation.demo.followups import (
    complete_followups,
    load_supervision,
    mark_old_notifications_read,
    party_ratings,
)
from mediation.demo.keypeople import load_key_people
from mediation.demo.mediators import load_mediators
from mediation.demo.orgs import load_orgs
from mediation.demo.people import DEMO_USERS, _PasswordHash, ensure_staff, ensure_users
from mediation.demo.reports import (
    close_months,
    history_summary,
    issue_district_notice,
    load_screenings,
    load_sweep_findings,
)
from mediation.demo.world import (
    COMMITTEE_FEATURED,
    DEMO_RULES,
    FEATURED_GRID,
    TOWN_FEATURED,
    History,
    World,
    ensure_routing_rules,
    load_places,
    prepare_schema,
    suggest_pending,
)
from mediation.extensions import db
from mediation.followups.service import run_sweep

# What other code and the tests import from ``mediation.demo``.
__all__ = [
    "COMMITTEE_FEATURED",
    "DEMO_PASSWORD",
    "DEMO_RULES",
    "DEMO_USERS",
    "DISTRICT_CODE",
    "FEATURED_GRID",
    "SEED",
    "TOWN_FEATURED",
    "DemoError",
    "ensure_routing_rules",
    "ensure_signing_certificate",
    "ensure_staff",
    "ensure_users",
    "load_demo",
    "load_history",
    "load_places",
    "prepare_schema",
    "rmb_upper",
]

SWEEP_DAYS_AGO = (10, 4)  # the scheduler's sweep is run as on these days, then now


def load_history(world: World, first_day: date) -> History:
    """Everything after the cases' own steps, in one transaction (the caller commits)."""
    h = History(world, local_today(), utcnow())
    court_referral(h)
    police_notification(h)
    load_documents(h)
    judicial_confirmations(h)
    complete_followups(h)
    party_ratings(h)
    load_screenings(h, first_day)
    load_sweep_findings(h)
    load_supervision(h)
    close_months(h, first_day)
    db.session.flush()
    return h


def load_demo(reset: bool = False, count: int = 400) -> str:
    """Load (or, when already loaded, leave) the demo; returns a Chinese summary."""

    if count < 0:
        raise DemoError("演示纠纷数量不能为负数。")
    started = time_module.perf_counter()
    lines = [prepare_schema(reset)]
    tree, units = load_places()
    password_hash = _PasswordHash()
    users = ensure_users(password_hash)
    staff_total, staff_created = ensure_staff(password_hash)
    db.session.commit()
    lines.append(
        f"行政区划：{tree['rows']} 个节点（新增 {tree['created']}，更新 {tree['updated']}）；"
        f"处置单位：{units['rows']} 个（新增 {units['created']}，更新 {units['updated']}）。"
    )

    world = World()
    existing = existing_demo_disputes(world)
    if existing:
        lines.append(f"演示纠纷已存在（{existing} 件），未重复载入；如需重新生成，请加 --reset。")
    elif count:
        stats, first, last = load_disputes(world, count)
        history = load_history(world, first)
        mediators = load_mediators(history.today)
        key_people = load_key_people(history.today)
        notice = issue_district_notice(history.today)  # after 包案: the notice names the leader
        db.session.commit()
        # What the scheduler does every minute (预警/超期 alerts, due follow-ups, 督办 escalation): as
        # it did on two recent days, and now.
        sweeps = []
        for days_ago in SWEEP_DAYS_AGO:
            with clock.frozen(local_instant(history.today - timedelta(days=days_ago), 9 * 3600 + 600)):
                sweeps.append(run_sweep())
        sweeps.append(run_sweep())
        mark_old_notifications_read(history)
        db.session.commit()
        lines += history_summary(stats, first, last, history, sweeps)
        lines.append("调解员：{} 人，培训记录 {} 条，{} 件案件指定了承办调解员。".format(*mediators))
        lines.append("重点人员/群体：{} 条；包案案件：{}。".format(key_people[0], key_people[1] or "无"))
        lines.append(f"考核通报：{notice or '无'}（海滨区上月）。")
    rules, rules_created = ensure_routing_rules()
    suggested = suggest_pending()
    db.session.commit()
    lines.append(f"分流规则：{rules} 条（新增 {rules_created}）；{suggested} 件待分流纠纷新生成了分流建议。")
    lines += load_orgs(password_hash)  # after the cases: the new committees do not change their units
    db.session.commit()
    lines.append(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for user, created in users:
        note = "" if created else "（已存在，未修改）"
        lines.append(f"  {user.username:<13} {ROLE_LABELS[user.role]}，{user.unit.name}{note}")
    lines.append(
        f"  另有各单位工作人员账号 {staff_total} 个（新增 {staff_created}），用户名为单位代码，"
        f"如 {COMMITTEE_FEATURED.replace('-TW', '-PCS')}（派出所）。"
    )
    lines.append(f"用时 {time_module.perf_counter() - started:.1f} 秒。")
    return "\n".join(lines)
