"""The demo data set (`flask --app mediation demo`).

The demo is loaded once per module (it takes a few seconds: every area's service functions run, and
the agreements are rendered and signed), on SQLite or on PostgreSQL like the other tests; the tests
here only read it, except the second run, which must add nothing.

The demo draws its cases from a fixed seed (``mediation.demo.SEED``) and dates them back from "today",
so the module runs with the application clock pinned at TEST_TODAY (tests/conftest.py): the same cases
whatever day the tests run. ``TEST_TODAY=2027-01-05 python -m pytest tests/test_demo.py`` tries another day.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from pypdf import PdfReader
from sqlalchemy import func, inspect, select, text

from mediation.accounts.models import User
from mediation.common.enums import Channel, NodeLevel, OrgKind, Outcome, PartyKind, Role, Status, UnitType
from mediation.common.time import local_date
from mediation.common.validators import id_card_error, phone_error, uscc_error
from mediation.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    DISTRICT_CODE,
    FEATURED_GRID,
    SEED,
    TOWN_FEATURED,
    rmb_upper,
)
from mediation.demo.orgs import UNCOVERED
from mediation.disputes.casework import (
    CourtReferral,
    JudicialConfirmation,
    MediationSession,
    PoliceNotification,
)
from mediation.disputes.models import Dispute, Event, Party
from mediation.documents.models import Agreement, AgreementStatus, SignedDocument, SignerKind, UnitSeal
from mediation.extensions import db
from mediation.followups.models import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Notification,
    NotificationKind,
    PartyRating,
    SupervisionOrder,
    SupervisionStatus,
)
from mediation.geo.models import Node, Unit
from mediation.orgs.models import MediationOrg
from mediation.orgs.service import coverage
from mediation.reports.common import Month
from mediation.reports.models import CarryOver, MonthClose, Notice, Screening, SweepFinding
from mediation.reports.satisfaction import satisfaction_report
from mediation.routing.deadlines import deadline_for
from tests.conftest import login, record_chance
from tests.demo_support import demo_world, make_app, run_demo

DISPUTES = 160
MODELS = (
    Node,
    Unit,
    User,
    Dispute,
    Party,
    Event,
    MediationSession,
    CourtReferral,
    JudicialConfirmation,
    PoliceNotification,
    FollowUp,
    PartyRating,
    Notification,
    SupervisionOrder,
    Screening,
    MonthClose,
    CarryOver,
    Agreement,
    SignedDocument,
    UnitSeal,
    MediationOrg,
    Notice,
)
LIFE_CYCLE = ("registered", "routed", "court_referred", "accepted", "stabilized", "closed", "rejected")
BY_THE_SCHEDULER = ("warning_level", "supervision_escalated", "supervision_lapsed")


def counts() -> dict:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


@pytest.fixture(scope="module", autouse=True)
def _pinned_day(pinned_today):
    """Every test here, the demo loads included, sees the same "today"."""
    return pinned_today


@pytest.fixture(autouse=True)
def _demo_seed(request):
    record_chance(request.node, f"demo seed mediation.demo.SEED={SEED} (fixed in the code)")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, _pg_schema, pinned_today):
    """The demo with 160 disputes, loaded once for the module (tables built by create_all, unversioned)."""
    with demo_world(tmp_path_factory.mktemp("demo"), _pg_schema, DISPUTES) as loaded:
        yield loaded


@pytest.fixture
def app(demo_app):
    """This module's ``app``: the demo's, in a fresh application context per test."""
    with demo_app[0].app_context():
        yield demo_app[0]
        db.session.remove()


@pytest.fixture
def demo(app, demo_app):
    return demo_app[1]


@pytest.fixture
def today(pinned_today):
    return pinned_today


# --------------------------------------------------------------------------------- places, people


def test_summary_names_the_accounts_and_the_content(demo):
    out = demo.stdout
    assert "create_all" in out  # the unversioned test schema is used as it is, not migrated
    assert f"纠纷：{DISPUTES} 件" in out and "法院诉前委派 1 件" in out
    assert f"密码均为 {DEMO_PASSWORD}" in out
    for username, *_ in DEMO_USERS:
        assert username in out
    for word in (
        "回访：已完成",
        "调解协议：已生效",
        "排查报告",
        "督办",
        "月清月结",
        "已生成演示签章证书",
        "用时",
    ):
        assert word in out, word


def test_every_demo_case_has_its_own_case_code(demo):
    from mediation.disputes.case_code import is_case_code

    codes = db.session.scalars(select(Dispute.case_code)).all()
    assert len(codes) >= DISPUTES and len(set(codes)) == len(codes)
    assert all(is_case_code(c) for c in codes)


def test_every_role_level_and_unit_type_is_there(demo):
    roles = {u.role for u in db.session.scalars(select(User))}
    assert roles == set(Role)
    for username, role, unit_code, _ in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        assert (user.role, user.unit.code) == (role, unit_code)
    grid_user = db.session.scalar(select(User).where(User.username == "wanggeyuan"))
    assert grid_user.unit.node.level == NodeLevel.GRID
    court_user = db.session.scalar(select(User).where(User.username == "fayuan"))
    assert court_user.unit.type == UnitType.COURT

    levels = Counter(db.session.scalars(select(Node.level)))
    assert levels[NodeLevel.DISTRICT] == 1
    assert levels[NodeLevel.SUBDISTRICT] + levels[NodeLevel.TOWN] in range(4, 6)
    assert levels[NodeLevel.TOWN] >= 1 and levels[NodeLevel.SUBDISTRICT] >= 1
    assert levels[NodeLevel.COMMUNITY] >= 1 and levels[NodeLevel.VILLAGE] >= 1
    assert levels[NodeLevel.GRID] >= 2 * (levels[NodeLevel.COMMUNITY] + levels[NodeLevel.VILLAGE])
    for n in db.session.scalars(select(Node)):
        if n.level == NodeLevel.GRID:
            assert n.code.startswith(n.parent.code + "G")
        elif n.level != NodeLevel.DISTRICT:
            assert len(n.code) == 12 and n.code.startswith("120116")
        assert n.path.endswith(f"/{n.id}/") and (n.parent is None or n.path.startswith(n.parent.path))

    units = db.session.scalars(select(Unit)).all()
    assert {u.type for u in units} == set(UnitType)
    assert {u.channel for u in units} == set(Channel) | {None}
    names = " ".join(u.name for u in units)
    for word in (
        "医疗纠纷人民调解委员会",
        "道路交通事故纠纷人民调解委员会",
        "劳动争议人民调解委员会",
        "物业纠纷人民调解委员会",
        "派出所",
        "交警大队",
        "人力资源和社会保障局",
        "市场监督管理局",
        "住房和建设委员会",
        "信访办公室",
        "人民法院",
        "诉调对接中心",
        "矛盾纠纷调处中心",
        "综合服务管理平台",
    ):
        assert word in names, word
    # a 综治中心 at the district, at every town and every village
    centers = {u.node_id for u in units if u.type == UnitType.CENTER}
    for n in db.session.scalars(select(Node).where(Node.level != NodeLevel.GRID)):
        assert n.id in centers, n.name
    towns = db.session.scalars(
        select(Node).where(Node.level.in_([NodeLevel.TOWN, NodeLevel.SUBDISTRICT]))
    ).all()
    for town in towns:
        kinds = {(u.type, u.channel) for u in units if u.node_id == town.id}
        assert (UnitType.COMMITTEE, Channel.PEOPLE) in kinds and (
            UnitType.ADMINISTRATIVE,
            Channel.ADMINISTRATIVE,
        ) in kinds


def test_every_unit_has_someone_to_act_for_it(demo):
    """Each unit without a demo user has a staff account named after its code, with a fitting role."""
    demo_units = {code for _, _, code, _ in DEMO_USERS}
    users = {u.unit_id: u for u in db.session.scalars(select(User))}
    for unit in db.session.scalars(select(Unit)):
        assert unit.id in users, unit.name
        if unit.code in demo_units:
            continue
        staff = db.session.scalar(select(User).where(User.username == unit.code))
        assert staff is not None and staff.unit_id == unit.id and staff.active and staff.display_name
        expected = {
            UnitType.CENTER: Role.CENTER,
            UnitType.COURT: Role.COURT,
            UnitType.COMMITTEE: Role.MEDIATOR,
            UnitType.ADMINISTRATIVE: Role.MEDIATOR,
        }.get(unit.type)
        if unit.type == UnitType.OTHER:
            expected = Role.GRID if unit.channel is None else Role.MEDIATOR
        assert staff.role == expected, unit.code


def test_mediation_orgs_have_profiles_and_two_places_are_uncovered(app, demo):
    """调解组织: every committee has a profile, the kinds include an industry committee, a lawyer's and a
    personal studio and the court's 驻庭调解室; all villages and communities but two have their own
    村（居）调委会, which the coverage view lists."""
    orgs = db.session.scalars(select(MediationOrg)).all()
    kinds = {o.kind for o in orgs}
    assert {OrgKind.VILLAGE, OrgKind.TOWN, OrgKind.INDUSTRY, OrgKind.LAWYER, OrgKind.PERSONAL} <= kinds
    assert OrgKind.STATIONED in kinds
    assert {o.industry.value for o in orgs if o.kind == OrgKind.INDUSTRY} == {"医疗", "交通", "劳动", "物业"}
    committees = db.session.scalars(select(Unit.id).where(Unit.type == UnitType.COMMITTEE)).all()
    assert set(committees) <= {o.unit_id for o in orgs}
    assert all(o.head and o.phone and o.founded_on for o in orgs)
    report = coverage(db.session.scalar(select(Node).where(Node.code == DISTRICT_CODE)))
    assert [p["code"] for p in report["uncovered_places"]] == sorted(UNCOVERED)
    assert report["covered"] == report["total"] - 2 and report["total"] >= 20
    assert "村（居）调委会覆盖" in demo.stdout


# ---------------------------------------------------------------------------------------- cases


def test_disputes_span_months_with_every_status_and_a_consistent_history(app, demo, today):
    disputes = db.session.scalars(select(Dispute)).all()
    referred = set(db.session.scalars(select(CourtReferral.dispute_id)))
    assert len(disputes) == DISPUTES + 1 and len(referred) == 1  # and the court's 诉前委派
    assert len({d.case_no for d in disputes}) == len(disputes)
    months = {(d.registered_on.year, d.registered_on.month) for d in disputes}
    assert len(months) >= 6
    assert min(d.registered_on for d in disputes).toordinal() <= today.toordinal() - 200
    assert max(d.registered_on for d in disputes) <= today
    statuses = Counter(d.status for d in disputes)
    assert set(statuses) == set(Status)
    assert statuses[Status.CLOSED] > statuses[Status.HANDLING]
    outcomes = Counter(d.outcome for d in disputes if d.status == Status.CLOSED)
    assert outcomes.most_common(1)[0][0] == Outcome.SUCCESS and len(outcomes) >= 2
    assert any(d.status == Status.HANDLING and d.deadline and d.deadline < today for d in disputes)  # overdue
    assert {d.category for d in disputes} <= set(app.config["CATEGORIES"])
    assert {d.source for d in disputes} <= set(app.config["SOURCES"])
    assert len({d.category for d in disputes}) >= 8
    assert any(d.prominent for d in disputes) and any(not d.prominent for d in disputes)

    for d in disputes:
        events = d.events  # ordered by (at, id)
        assert events[0].type == "registered", d.case_no
        assert events[0].on == d.registered_on and events[0].data["case_no"] == d.case_no
        assert all(e.on is not None and d.registered_on <= e.on <= today for e in events)
        assert all(local_date(e.at) == e.on for e in events if e.on < today), d.case_no
        assert all(e.by_name for e in events)
        assert all(e.user_id is not None for e in events if e.type not in BY_THE_SCHEDULER)  # someone did it
        types = [e.type for e in events if e.type in LIFE_CYCLE]
        assert str(d.registered_on.year) in d.case_no
        assert (d.registering_unit.short_name or "") in d.case_no
        assert d.prominent == (d.risk_level in ("重大", "特别重大") or bool(d.flags))
        assert 1 <= len(d.parties) <= 3
        if d.status == Status.PENDING:
            assert types == ["registered"]
            assert d.channel is None and d.unit is None and d.closed_on is None and d.outcome is None
            continue
        route = next(e for e in events if e.type == types[1])
        assert route.data["unit"] == d.unit.code
        assert d.node.path.startswith(d.unit.node.path)  # lead unit in or above the 属地
        if d.id in referred:
            assert types[1] == "court_referred" and d.channel == Channel.COURT_LINK
        else:
            assert types[1] == "routed" and d.unit.channel == d.channel
        if d.accepted_on:
            assert "accepted" in types and d.deadline == deadline_for(
                d.channel.value, d.category, d.accepted_on
            )
            assert next(e for e in events if e.type == "accepted").on == d.accepted_on
        if d.status == Status.STABILIZED:
            assert d.stabilized_on and "stabilized" in types and d.closed_on is None
        if d.status == Status.CLOSED:
            last = next(e for e in reversed(events) if e.type in LIFE_CYCLE)
            assert d.outcome is not None and d.closed_on >= d.registered_on
            if d.outcome == Outcome.REJECTED:  # 不予受理: closed without acceptance
                assert last.type == "rejected" and d.accepted_on is None
            else:
                assert last.type == "closed" and d.accepted_on and d.closed_on >= d.accepted_on
            assert last.on == d.closed_on and last.data["outcome"] == d.outcome.value
            assert types[-1] == last.type
        else:
            assert d.closed_on is None and d.outcome is None and "closed" not in types


def test_parties_have_valid_identifiers(demo):
    parties = db.session.scalars(select(Party)).all()
    kinds = Counter(p.kind for p in parties)
    assert kinds[PartyKind.PERSON] > kinds[PartyKind.LEGAL] > 0
    for p in parties:
        assert p.name
        if p.id_number:
            error = id_card_error(p.id_number) if p.kind == PartyKind.PERSON else uscc_error(p.id_number)
            assert error is None, (p.name, p.id_number, error)
        if p.phone:
            assert phone_error(p.phone) is None, p.phone


def test_casework_sessions_referral_confirmation_and_police(demo, today):
    sessions = db.session.scalars(select(MediationSession)).all()
    assert len(sessions) > DISPUTES // 2
    for s in sessions:
        d = s.dispute
        assert d.accepted_on <= s.held_on <= (d.closed_on or today)
        assert s.record and s.place and s.mediators and "申请人" in s.attendees
        event = next(e for e in d.events if e.type == "session" and e.on == s.held_on)
        assert event.user.unit_id in {d.unit_id, *(u.id for u in d.co_units)}
    with_sessions = {s.dispute_id for s in sessions}
    open_cases = db.session.scalars(
        select(Dispute).where(
            Dispute.status.in_([Status.HANDLING, Status.STABILIZED]), Dispute.accepted_on.is_not(None)
        )
    ).all()
    assert sum(d.id in with_sessions for d in open_cases) >= len(open_cases) // 3

    referral = db.session.scalars(select(CourtReferral)).one()
    assert re.fullmatch(r"（\d{4}）津0116民诉前调\d+号", referral.court_case_no)
    assert referral.kind == "诉前委派" and referral.court.code.endswith("-FY")
    assert referral.dispute.source == "法院委派" and referral.dispute.accepted_on is not None
    assert referral.unit.code == f"{TOWN_FEATURED}-TW" and referral.dispute.status == Status.HANDLING

    confirmations = db.session.scalars(select(JudicialConfirmation)).all()
    assert any(c.result is None for c in confirmations)  # applied, waiting for the court
    for c in confirmations:
        assert c.dispute.outcome == Outcome.SUCCESS and 0 <= (c.applied_on - c.agreement_on).days <= 30
        assert c.result in (None, "确认有效") and (c.result is None) == (c.ruled_on is None)
    police = db.session.scalars(select(PoliceNotification)).all()
    assert police and all("民转刑风险" in p.dispute.flags for p in police)


# ------------------------------------------------------------------------------------ follow-ups


def test_follow_ups_of_old_cases_are_done_and_recent_ones_pending(demo, today):
    """No 满意度回访 hundreds of days overdue: those of cases closed more than two weeks ago are done
    (result and a 1–5 score, via the service: a followup_done event), the last week's are still to do."""
    satisfaction = db.session.scalars(
        select(FollowUp).where(FollowUp.kind == FollowUpKind.SATISFACTION)
    ).all()
    closed = db.session.scalars(
        select(Dispute).where(Dispute.status == Status.CLOSED, Dispute.outcome != Outcome.REJECTED)
    ).all()
    assert {f.dispute_id for f in satisfaction} == {d.id for d in closed}
    for f in satisfaction:
        age = (today - f.anchor_on).days
        if age > 14:
            assert f.status == FollowUpStatus.DONE, (f.dispute.case_no, age)
        elif age <= 7:
            assert f.status == FollowUpStatus.OPEN
        if f.status == FollowUpStatus.DONE:
            assert f.result and 1 <= f.satisfaction <= 5 and f.done_by.unit_id == f.unit_id
            assert f.due_on <= local_date(f.done_at) < today
            event = next(
                e for e in f.dispute.events if e.type == "followup_done" and e.data.get("followup") == f.id
            )
            assert event.on == local_date(f.done_at) and event.data["satisfaction"] == f.satisfaction
    scores = Counter(f.satisfaction for f in satisfaction if f.satisfaction)
    assert scores[5] + scores[4] > scores[1] + scores[2] + scores[3]

    open_rows = db.session.scalars(select(FollowUp).where(FollowUp.status == FollowUpStatus.OPEN)).all()
    assert open_rows and max((today - f.due_on).days for f in open_rows) <= 7  # at most a week late


def test_parties_rated_some_closed_cases_and_the_satisfaction_figure_is_not_empty(demo, today):
    """A handful of the parties' own ratings, through the ratings service: of closed cases, by their
    parties, one per party, after the closing and before today; the district's 满意率 has answers."""
    ratings = db.session.scalars(select(PartyRating).order_by(PartyRating.id)).all()
    assert len(ratings) >= 10
    assert len({(r.dispute_id, r.party_id) for r in ratings}) == len(ratings)
    for r in ratings:
        assert r.party.dispute_id == r.dispute_id and r.dispute.status == Status.CLOSED
        assert r.dispute.closed_on < local_date(r.created_at) < today and 1 <= r.score <= 5
    assert any(r.comment for r in ratings) and any(r.comment is None for r in ratings)
    district = db.session.scalar(select(Node).where(Node.parent_id.is_(None)).order_by(Node.code))
    months = {Month.of(local_date(r.created_at)) for r in ratings}
    reports = [satisfaction_report(district, m) for m in sorted(months)]
    assert all(rep["answered"] > 0 for rep in reports)
    assert sum(rep["satisfied"] for rep in reports) > 0 and any(rep["by_unit"] for rep in reports)

    for d in db.session.scalars(select(Dispute).where(Dispute.status == Status.STABILIZED)):
        visits = db.session.scalars(
            select(FollowUp)
            .where(FollowUp.dispute_id == d.id, FollowUp.kind == FollowUpKind.STABILIZE)
            .order_by(FollowUp.round)
        ).all()
        upcoming = [v for v in visits if v.status == FollowUpStatus.OPEN]
        assert upcoming and all(v.due_on >= today for v in upcoming), d.case_no  # the next visit is ahead
        assert all(v.status == FollowUpStatus.DONE for v in visits if v.due_on < today)
        assert [v.round for v in visits] == list(range(1, len(visits) + 1))
        if (today - d.stabilized_on).days > 20:
            assert any(v.status == FollowUpStatus.DONE for v in visits)


# ------------------------------------------------------------------------------------- documents


def test_agreements_in_effect_with_valid_signed_pdfs(app, demo):
    from mediation.documents import service as documents

    agreements = db.session.scalars(select(Agreement).order_by(Agreement.id)).all()
    effective = [a for a in agreements if a.status == AgreementStatus.EFFECTIVE]
    assert 1 <= len(effective) <= 10
    assert [a.status for a in agreements].count(AgreementStatus.SIGNING) == 1
    for a in effective:
        d = a.dispute
        assert d.status == Status.CLOSED and d.outcome == Outcome.SUCCESS and a.effective_on == d.closed_on
        assert a.missing() == [] and a.seal is not None and a.seal.unit_id == a.unit_id == d.unit_id
        assert {s.method for s in a.signatures if s.signer_kind == SignerKind.PARTY} <= {"纸质签名", "按指印"}
        assert a.signature_for(SignerKind.MEDIATOR).by.unit_id == a.unit_id
        assert "人民币" in a.terms or "整改" in a.terms or "道歉" in a.terms
        events = [e for e in d.events if e.type in ("agreement_effective", "closed")]
        assert [e.type for e in events] == ["agreement_effective", "closed"]  # in effect, then closed
        kinds = {f.kind for f in db.session.scalars(select(FollowUp).where(FollowUp.dispute_id == d.id))}
        assert {FollowUpKind.PERFORMANCE, FollowUpKind.CONFIRMATION, FollowUpKind.SATISFACTION} <= kinds
        doc = documents.signed_agreement(a)
        assert doc is not None and doc.pdf.startswith(b"%PDF")
        check = documents.verify(doc.code)
        assert check.genuine, check.signature.problem if check.signature else "no signature"
    seals = db.session.scalars(select(UnitSeal)).all()
    assert {s.unit_id for s in seals} == {a.unit_id for a in agreements}
    assert all(s.image.startswith(b"\x89PNG") for s in seals)


def test_rmb_upper():
    from decimal import Decimal

    assert rmb_upper(Decimal("3500")) == "叁仟伍佰元整"
    assert rmb_upper(Decimal("10500")) == "壹万零伍佰元整"
    assert rmb_upper(Decimal("120000")) == "壹拾贰万元整"
    assert rmb_upper(Decimal("1006.50")) == "壹仟零陆元伍角"
    assert rmb_upper(Decimal("86000.08")) == "捌万陆仟元零捌分"


# -------------------------------------------------------------------------------------- reports


def test_sweep_reports_for_past_months_some_grids_missing_now(demo, today):
    from mediation.reports.common import Month
    from mediation.reports.figures import grids_not_reported, shuangbai_report

    district = db.session.scalar(select(Node).where(Node.level == NodeLevel.DISTRICT))
    grids = db.session.scalars(select(Node).where(Node.level == NodeLevel.GRID)).all()
    first = db.session.scalar(select(func.min(Dispute.registered_on)))
    month = Month.of(first).shift(1)
    while month < Month.of(today):
        report = shuangbai_report(district, month)
        assert report["grids_total"] == len(grids) and report["screening_rate"] >= 0.9, month.key
        month = month.shift(1)
    missing = grids_not_reported(district, Month.of(today))
    assert 0 < len(missing) < len(grids) // 4 or today.day == 1  # a few grids still to report this month
    rows = db.session.scalars(select(Screening)).all()
    assert all(r.reported_on < today and r.node.level == NodeLevel.GRID for r in rows)
    assert sum(r.found == 0 for r in rows) > len(rows) // 2 and any(r.found for r in rows)  # mostly 零报告
    for r in rows:
        assert r.user.unit.node_id == r.node_id  # filed by the grid's own worker
    # what the sweeps found is what the grid workers registered
    for grid in grids:
        reports = [r for r in rows if r.node_id == grid.id]
        if not reports:
            continue
        until = max(r.reported_on for r in reports)
        registered = db.session.scalar(
            select(func.count(Dispute.id)).where(
                Dispute.node_id == grid.id, Dispute.source == "网格员排查", Dispute.registered_on <= until
            )
        )
        assert sum(r.found for r in reports) == registered, grid.code
    featured = [r for r in rows if r.node.code == FEATURED_GRID]
    assert len(featured) >= 20  # wanggeyuan reports every week


def test_months_closed_and_submitted_with_carry_over_reasons(demo, today):
    from mediation.reports.common import Month
    from mediation.reports.month_close import missing_reasons

    last, current = Month.of(today).shift(-1), Month.of(today)
    town = db.session.scalar(select(Node).where(Node.code == TOWN_FEATURED))
    district = db.session.scalar(select(Node).where(Node.level == NodeLevel.DISTRICT))
    closes = db.session.scalars(select(MonthClose).where(MonthClose.node_id == town.id)).all()
    months = sorted(c.month for c in closes)
    first = db.session.scalar(select(func.min(Dispute.registered_on)))
    assert months[0] == Month.of(first).key and months[-1] == last.key and len(months) == len(set(months))
    for c in closes:
        assert c.status == MonthClose.CLOSED and c.submitted_to_id == district.id and c.submitted_at
        assert c.closed_by.username == "zhenzhongxin"
        assert local_date(c.closed_at) > Month.parse(c.month).last
        assert c.snapshot["monthly"]["month"] == c.month
        assert all(case["carry_over_reason"] for case in c.snapshot["carry_over"])
        assert missing_reasons(town, Month.parse(c.month)) == []
    assert not db.session.scalar(select(func.count(MonthClose.id)).where(MonthClose.month == current.key))
    late = db.session.scalars(
        select(Node).where(Node.level.in_([NodeLevel.TOWN, NodeLevel.SUBDISTRICT]))
    ).all()
    assert any(
        not db.session.scalar(
            select(MonthClose.id).where(MonthClose.node_id == n.id, MonthClose.month == last.key)
        )
        for n in late
    )
    reasons = db.session.scalars(select(CarryOver)).all()
    assert reasons and all(r.dispute.prominent and len(r.reason) >= 4 for r in reasons)
    for r in reasons:
        end = Month.parse(r.month).last
        assert r.dispute.registered_on <= end and (r.dispute.closed_on is None or r.dispute.closed_on > end)


# ------------------------------------------------------------------------------------ 督办, notices


def test_supervision_orders_on_overdue_cases(demo, today):
    orders = db.session.scalars(select(SupervisionOrder).order_by(SupervisionOrder.id)).all()
    assert len(orders) >= 3
    statuses = Counter(o.status for o in orders)
    assert statuses[SupervisionStatus.REPLIED] >= 1 and statuses[SupervisionStatus.ESCALATED] == 1
    assert statuses[SupervisionStatus.PENDING] >= 1
    for o in orders:
        d = o.dispute
        assert d.status != Status.CLOSED and d.deadline < local_date(o.issued_at)  # overdue when issued
        assert o.issued_by_unit.type == UnitType.CENTER and o.target_unit_id == d.unit_id
        assert o.issued_by.username in ("zhenzhongxin", "quzhongxin")
        if o.status == SupervisionStatus.REPLIED:
            assert o.reply and o.replied_by.unit_id == o.target_unit_id
            assert local_date(o.issued_at) < local_date(o.replied_at) <= o.reply_by
        if o.status == SupervisionStatus.ESCALATED:
            assert o.reply_by < today and o.escalated_to.code == "120116000000-ZZ"
        if o.status == SupervisionStatus.PENDING:
            assert o.reply_by >= today
        assert "supervised" in [e.type for e in d.events]
    tiaojieyuan = db.session.scalar(select(User).where(User.username == "tiaojieyuan"))
    assert any(
        o.target_unit_id == tiaojieyuan.unit_id and o.status == SupervisionStatus.PENDING for o in orders
    )


def test_notifications_some_read(demo):
    rows = db.session.scalars(select(Notification)).all()
    assert rows and any(r.read_at for r in rows) and any(r.read_at is None for r in rows)
    kinds = {r.kind for r in rows}
    assert {"督办", "超期"} <= {str(k) for k in kinds}
    quzhongxin = db.session.scalar(select(User).where(User.username == "quzhongxin"))
    assert any(r.user_id == quzhongxin.id for r in rows)
    old = [r for r in rows if r.created_at < max(x.created_at for x in rows) - timedelta(days=4)]
    assert all(r.read_at for r in old)


# -------------------------------------------------------------------------------- users, re-runs


def test_demo_users_see_cases_and_sign_in(app, demo):
    from mediation.accounts.access import visible_disputes

    usernames = [u for u, *_ in DEMO_USERS] + [f"{TOWN_FEATURED}-PCS"]  # and a staff account
    for username in usernames:
        user = db.session.scalar(select(User).where(User.username == username))
        seen = db.session.scalar(select(func.count()).select_from(visible_disputes(user).subquery()))
        assert seen > 0, username
    db.session.rollback()  # end this test's read transaction before the requests
    for username in usernames:
        client = app.test_client()
        assert login(client, username, "wrong-password").status_code == 401
        r = login(client, username, DEMO_PASSWORD)
        assert r.status_code == 302, (username, r.status_code)
        assert client.get("/").headers["Location"].endswith("/worklist/")


def test_second_run_duplicates_nothing(app, demo):
    before = counts()
    again = run_demo(app, "--disputes", str(DISPUTES))
    assert "已存在" in again.stdout
    assert "新增 0，更新 0" in again.stdout and "（新增 0）" in again.stdout
    db.session.rollback()
    assert counts() == before


def snapshot_of_demo() -> dict:
    """What a demo load made, independent of ids and of the moment it ran."""
    return {
        "disputes": sorted(
            (d.case_no, d.category, d.summary, d.status, d.outcome)
            for d in db.session.scalars(select(Dispute))
        ),
        "followups": sorted(
            (f.dispute.case_no, f.kind, f.round, f.status, f.satisfaction, f.result or "")
            for f in db.session.scalars(select(FollowUp))
        ),
        "sessions": sorted(
            (s.dispute.case_no, s.held_on, s.record) for s in db.session.scalars(select(MediationSession))
        ),
        "screenings": sorted(
            (s.node.code, s.reported_on, s.found) for s in db.session.scalars(select(Screening))
        ),
        "agreements": sorted(
            (a.dispute.case_no, a.status, a.terms) for a in db.session.scalars(select(Agreement))
        ),
        "orders": sorted(
            (o.dispute.case_no, o.level, o.status) for o in db.session.scalars(select(SupervisionOrder))
        ),
        "closes": sorted((c.node.code, c.month) for c in db.session.scalars(select(MonthClose))),
    }


def test_reproducible(tmp_path):
    """Same seed, same day: two fresh databases get the same cases and the same history.
    (tests/test_reproducible.py also compares every column across two PYTHONHASHSEED values.)"""
    loads = []
    for name in ("one", "two"):
        app = make_app(f"sqlite:///{tmp_path / (name + '.sqlite')}", tmp_path / name)
        with app.app_context():
            db.create_all()
            run_demo(app, "--disputes", "40")
            loads.append(snapshot_of_demo())
            db.session.remove()
            db.engine.dispose()
    assert loads[0] == loads[1]
    assert loads[0]["followups"] and loads[0]["screenings"] and loads[0]["closes"]


def test_reset_rebuilds_through_the_migrations(tmp_path):
    """On an empty file the schema comes from the migrations; --reset drops everything first."""
    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite'}", tmp_path)
    with app.app_context():
        first = run_demo(app, "--disputes", "20")
        assert "迁移" in first.stdout
        assert "alembic_version" in inspect(db.engine).get_table_names()
        assert db.session.scalar(select(func.count()).select_from(Dispute)) == 21  # and the court's referral
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
        db.session.remove()

        again = run_demo(app, "--reset", "--disputes", "10")
        assert "已清空" in again.stdout and "演示签章证书已存在" in again.stdout  # the certificate is kept
        tables = inspect(db.engine).get_table_names()
        assert "leftover" not in tables and "alembic_version" in tables
        assert db.session.scalar(select(func.count()).select_from(Dispute)) == 11
        version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        config = app.extensions["migrate"].migrate.get_config()
        assert version == ScriptDirectory.from_config(config).get_current_head()
        db.session.remove()
        db.engine.dispose()


def test_partial_unversioned_schema_is_refused(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'odd.sqlite'}", tmp_path)
    with app.app_context():
        Node.__table__.create(db.engine)
        result = app.test_cli_runner().invoke(args=["demo", "--disputes", "5"])
        assert result.exit_code == 1
        assert "没有迁移版本记录" in result.stderr and "--reset" in result.stderr
        assert inspect(db.engine).get_table_names() == ["node"]
        db.session.remove()
        db.engine.dispose()


def test_demo_mediators_trainings_and_case_links(demo):
    from mediation.common.validators import person_name_error
    from mediation.mediators import service
    from mediation.mediators.models import Mediator, dispute_mediator

    people = db.session.scalars(select(Mediator)).all()
    assert people and all(person_name_error(m.name) is None for m in people)
    untrained = service.untrained_ids(m.id for m in people)
    assert 0 < len(untrained) < len(people)
    assert db.session.scalar(select(func.count()).select_from(dispute_mediator)) > 0


def test_demo_key_people_and_a_case_taken_on_by_a_leader(demo):
    from mediation.followups.models import Notification, NotificationKind
    from mediation.keypeople import service
    from mediation.keypeople.models import CaseLeader, KeyEntry, KeyKind

    entries = db.session.scalars(select(KeyEntry).order_by(KeyEntry.id)).all()
    assert [e.kind for e in entries] == [KeyKind.UNSTABLE_GROUP, KeyKind.PETITIONER]
    assert all(e.cases for e in entries)
    assert [h.kind.value for h in entries[0].history][0] == "复查"
    # The person's review was due: the sweep told the committee, once.
    due = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.KEY_REVIEW)
    ).all()
    assert due and {n.link for n in due} == {f"/key-people/{entries[1].id}"}
    leaders = db.session.scalars(select(CaseLeader)).all()
    assert len(leaders) == 1 and service.leader_of(leaders[0].dispute_id).post == "双港镇党委副书记"


def test_demo_sweep_findings_with_one_left_open_and_flagged(app, demo, today):
    """排查 that leads to 化解: wanggeyuan's sweep reports list the cases they found, registered from the
    report; one finding past SWEEP_REGISTER_DAYS is neither registered nor explained, and the demo's
    sweep has flagged it to the 综治中心 of the grid (once)."""
    rows = db.session.scalars(select(SweepFinding)).all()
    assert len(rows) >= 3 and all(f.screening.node.code == FEATURED_GRID for f in rows)
    open_ = [f for f in rows if f.is_open]
    assert len(open_) == 1 and open_[0].flagged_at is not None
    limit = timedelta(days=app.config["SWEEP_REGISTER_DAYS"])
    assert open_[0].screening.reported_on < today - limit
    assert all(f.dispute is not None and f.dispute.node_id == f.node_id for f in rows if not f.is_open)
    flags = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.SWEEP_OPEN)
    ).all()
    assert {n.key for n in flags} == {f"sweep-finding:{open_[0].id}"}
    assert all(n.user.unit.type == UnitType.CENTER for n in flags)


def test_demo_district_notice_of_last_month(app, demo, today):
    """The district 综治中心 issued last month's 考核通报; its kept PDF reads back (pypdf) as a 通报, and
    quzhongxin finds it in the list."""
    notices = db.session.scalars(select(Notice)).all()
    assert len(notices) == 1
    notice = notices[0]
    assert notice.node.code == DISTRICT_CODE and notice.period == Month.of(today).shift(-1).key
    assert notice.number in demo.stdout
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(notice.pdf)).pages))
    assert "通报" in text and notice.snapshot["rows"][0]["node_name"] in text
    client = app.test_client()
    assert login(client, "quzhongxin", DEMO_PASSWORD).status_code == 302
    page = client.get("/reports/notices")
    assert page.status_code == 200 and notice.number in page.get_data(as_text=True)
    pdf = client.get(f"/reports/notices/{notice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data == notice.pdf
