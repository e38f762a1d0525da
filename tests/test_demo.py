"""The demo data set (`flask --app mediation demo`)."""

from __future__ import annotations

from collections import Counter

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from mediation import create_app
from mediation.accounts.models import User
from mediation.common.enums import Channel, NodeLevel, Outcome, PartyKind, Role, Status, UnitType
from mediation.common.time import local_date, local_today
from mediation.common.validators import id_card_error, phone_error, uscc_error
from mediation.demo import DEMO_PASSWORD, DEMO_USERS
from mediation.disputes.models import Dispute, Event, Party
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from mediation.routing.deadlines import deadline_for
from tests.conftest import login

MODELS = (Node, Unit, User, Dispute, Party, Event)


def run_demo(app, *args):
    result = app.test_cli_runner().invoke(args=["demo", *args])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result


def counts() -> dict:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


@pytest.fixture
def demo(app):
    """The demo with 60 disputes on the test database (tables built by create_all, unversioned)."""
    return run_demo(app, "--disputes", "60")


def test_summary_names_the_accounts(demo):
    out = demo.stdout
    assert "create_all" in out  # the unversioned test schema is used as it is, not migrated
    assert "纠纷：60 件" in out
    assert f"密码均为 {DEMO_PASSWORD}" in out
    for username, *_ in DEMO_USERS:
        assert username in out


def test_every_role_level_and_unit_type_is_there(demo):
    roles = {u.role for u in db.session.scalars(select(User))}
    assert roles == set(Role)
    for username, role, unit_code, _ in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        assert (user.role, user.unit.code) == (role, unit_code)
    grid_user = db.session.scalar(select(User).where(User.role == Role.GRID))
    assert grid_user.unit.node.level == NodeLevel.GRID
    court_user = db.session.scalar(select(User).where(User.role == Role.COURT))
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
    for word in ("医疗纠纷人民调解委员会", "道路交通事故纠纷人民调解委员会", "劳动争议人民调解委员会",
                 "物业纠纷人民调解委员会", "派出所", "交警大队", "人力资源和社会保障局", "市场监督管理局",
                 "住房和建设委员会", "信访办公室", "人民法院", "诉调对接中心", "矛盾纠纷调处中心",
                 "综合服务管理平台"):
        assert word in names, word
    # a 综治中心 at the district, at every town and every village
    centers = {u.node_id for u in units if u.type == UnitType.CENTER}
    for n in db.session.scalars(select(Node).where(Node.level != NodeLevel.GRID)):
        assert n.id in centers, n.name
    towns = db.session.scalars(select(Node).where(Node.level.in_([NodeLevel.TOWN, NodeLevel.SUBDISTRICT]))).all()
    for town in towns:
        kinds = {(u.type, u.channel) for u in units if u.node_id == town.id}
        assert (UnitType.COMMITTEE, Channel.PEOPLE) in kinds and (UnitType.ADMINISTRATIVE, Channel.ADMINISTRATIVE) in kinds


def test_disputes_span_months_with_every_status_and_a_consistent_history(app, demo):
    today = local_today()
    disputes = db.session.scalars(select(Dispute)).all()
    assert len(disputes) == 60
    assert len({d.case_no for d in disputes}) == 60
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
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert all(e.on is not None and d.registered_on <= e.on <= today for e in events)
        assert all(local_date(e.at) == e.on for e in events if e.on < today)
        assert all(e.by_name for e in events)
        types = [e.type for e in events]
        assert str(d.registered_on.year) in d.case_no
        assert (d.registering_unit.short_name or "") in d.case_no
        assert d.prominent == (d.risk_level in ("重大", "特别重大") or bool(d.flags))
        assert 1 <= len(d.parties) <= 3
        if d.status == Status.PENDING:
            assert types == ["registered"]
            assert d.channel is None and d.unit is None and d.closed_on is None and d.outcome is None
            continue
        assert types[1] == "routed" and d.unit is not None and d.unit.channel == d.channel
        assert d.node.path.startswith(d.unit.node.path)  # lead unit in or above the 属地
        assert events[1].data["unit"] == d.unit.code
        if d.accepted_on:
            assert "accepted" in types and d.deadline == deadline_for(d.channel.value, d.category, d.accepted_on)
            assert next(e for e in events if e.type == "accepted").on == d.accepted_on
        if d.status == Status.STABILIZED:
            assert d.stabilized_on and "stabilized" in types and d.closed_on is None
        if d.status == Status.CLOSED:
            last = events[-1]
            assert d.outcome is not None and d.closed_on >= d.registered_on
            if d.outcome == Outcome.REJECTED:  # 不予受理: closed without acceptance
                assert last.type == "rejected" and d.accepted_on is None
            else:
                assert last.type == "closed" and d.accepted_on and d.closed_on >= d.accepted_on
            assert last.on == d.closed_on and last.data["outcome"] == d.outcome.value
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


def test_demo_users_see_cases_and_sign_in(app, demo):
    from mediation.accounts.access import visible_disputes

    for username, *_ in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        seen = db.session.scalar(select(func.count()).select_from(visible_disputes(user).subquery()))
        assert seen > 0, username
    db.session.rollback()  # end this test's read transaction before the requests
    for username, *_ in DEMO_USERS:
        client = app.test_client()
        assert login(client, username, "wrong-password").status_code == 401
        r = login(client, username, DEMO_PASSWORD)
        assert r.status_code == 302, (username, r.status_code)
        assert client.get("/").headers["Location"].endswith("/disputes/")


def test_second_run_duplicates_nothing(app, demo):
    before = counts()
    again = run_demo(app, "--disputes", "60")
    assert "已存在" in again.stdout
    assert "新增 0，更新 0" in again.stdout
    db.session.rollback()
    assert counts() == before


def test_reproducible(app, demo, tmp_path):
    """Same seed, same day: a second fresh database gets the same disputes."""
    first = sorted((d.case_no, d.category, d.summary, d.status) for d in db.session.scalars(select(Dispute)))
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'again.sqlite'}",
                        "SECRET_KEY": "test"})
    with other.app_context():
        db.create_all()
        run_demo(other, "--disputes", "60")
        second = sorted((d.case_no, d.category, d.summary, d.status) for d in db.session.scalars(select(Dispute)))
        db.session.remove()
        db.engine.dispose()
    assert second == first


def test_reset_rebuilds_through_the_migrations(tmp_path):
    """On an empty file the schema comes from the migrations; --reset drops everything first."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.sqlite'}",
                      "SECRET_KEY": "test"})
    with app.app_context():
        first = run_demo(app, "--disputes", "20")
        assert "迁移" in first.stdout
        assert "alembic_version" in inspect(db.engine).get_table_names()
        assert db.session.scalar(select(func.count()).select_from(Dispute)) == 20
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE leftover (id INTEGER PRIMARY KEY)"))
        db.session.remove()

        again = run_demo(app, "--reset", "--disputes", "10")
        assert "已清空" in again.stdout
        tables = inspect(db.engine).get_table_names()
        assert "leftover" not in tables and "alembic_version" in tables
        assert db.session.scalar(select(func.count()).select_from(Dispute)) == 10
        version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        config = app.extensions["migrate"].migrate.get_config()
        assert version == ScriptDirectory.from_config(config).get_current_head()
        db.session.remove()
        db.engine.dispose()


def test_partial_unversioned_schema_is_refused(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'odd.sqlite'}",
                      "SECRET_KEY": "test"})
    with app.app_context():
        Node.__table__.create(db.engine)
        result = app.test_cli_runner().invoke(args=["demo", "--disputes", "5"])
        assert result.exit_code == 1
        assert "没有迁移版本记录" in result.stderr and "--reset" in result.stderr
        assert inspect(db.engine).get_table_names() == ["node"]
        db.session.remove()
        db.engine.dispose()
