"""The Alembic migrations build exactly the models' schema, and downgrade cleanly."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from mediation import create_app
from mediation.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def fresh_url(tmp_path):
    """An empty database of the kind under test."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, db.metadata)


def test_upgrade_matches_models_and_downgrade_removes_everything(fresh_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        assert _diff(db.engine) == []
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()  # and back up again
        assert _diff(db.engine) == []
        db.engine.dispose()


def test_case_codes_are_backfilled_unique_and_dropped_on_downgrade(fresh_url):
    """e5b8c3d1a7f2 (一案一码): cases that exist before it get a unique, well-formed, checked code each;
    the column is then NOT NULL and unique; the downgrade removes it again."""
    from mediation.disputes.case_code import is_case_code

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="d7a2c4e19b35")
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO node (id, code, name, level, path) VALUES (1, 'N1', '海滨区', '区', '/1/')")
            )
            conn.execute(
                text(
                    "INSERT INTO unit (id, code, name, type, node_id) VALUES (1, 'U1', '海滨区综治中心', '综治中心', 1)"
                )
            )
            for i in range(1, 41):
                conn.execute(
                    text(
                        "INSERT INTO dispute (id, case_no, category, source, summary, risk_level, flags, prominent,"
                        " civil_to_criminal, node_id, registering_unit_id, registered_at, registered_on, status,"
                        " version, updated_at) VALUES (:i, :no, '邻里', '群众来访', '漏水', '一般', '[]', false,"
                        " false, 1, 1, '2026-11-01 01:00:00', '2026-11-01', '待分流', 1, '2026-11-01 01:00:00')"
                    ),
                    {"i": i, "no": f"（2026）海滨调字第{i:04d}号"},
                )
        upgrade()
        with db.engine.connect() as conn:
            codes = conn.execute(text("SELECT case_code FROM dispute ORDER BY id")).scalars().all()
        assert len(codes) == 40 and len(set(codes)) == 40
        assert all(is_case_code(c) for c in codes), codes
        column = next(c for c in inspect(db.engine).get_columns("dispute") if c["name"] == "case_code")
        assert column["nullable"] is False
        assert any(
            u["column_names"] == ["case_code"] for u in inspect(db.engine).get_unique_constraints("dispute")
        )
        assert _diff(db.engine) == []
        downgrade(revision="d7a2c4e19b35")
        assert "case_code" not in {c["name"] for c in inspect(db.engine).get_columns("dispute")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM dispute")).scalar() == 40
        db.engine.dispose()


def test_party_sessions_migration_adds_and_removes_its_tables(fresh_url):
    """f2a7d4c9b813 (the parties' door): party_session and party_code_failure, with the session's
    key hash unique; the downgrade to the case codes removes them and nothing else."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="e5b8c3d1a7f2")
        before = set(inspect(db.engine).get_table_names())
        assert "party_session" not in before
        upgrade(revision="f2a7d4c9b813")
        insp = inspect(db.engine)
        assert set(insp.get_table_names()) == before | {"party_session", "party_code_failure"}
        unique = [u["column_names"] for u in insp.get_unique_constraints("party_session")]
        assert ["key_hash"] in unique
        fks = {
            fk["referred_table"]: fk["options"].get("ondelete")
            for fk in insp.get_foreign_keys("party_session")
        }
        assert {k: (v or "").upper() for k, v in fks.items()} == {"dispute": "CASCADE", "party": "CASCADE"}
        downgrade(revision="e5b8c3d1a7f2")
        assert set(inspect(db.engine).get_table_names()) == before
        db.engine.dispose()


def test_party_ratings_table_keeps_one_rating_per_party_and_is_dropped_on_downgrade(fresh_url):
    """f3c9a2e7b5d1 (满意度评价): party_rating with its unique (case, party) key and the 1–5 check,
    and the followup.done_at index; the downgrade removes both and nothing else."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="f2a8c6d1e3b7")  # the revision before
        assert "party_rating" not in inspect(db.engine).get_table_names()
        upgrade(revision="f3c9a2e7b5d1")
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO node (id, code, name, level, path) VALUES (1, 'N1', '海滨区', '区', '/1/')")
            )
            conn.execute(
                text(
                    "INSERT INTO unit (id, code, name, type, node_id) VALUES (1, 'U1', '海滨区综治中心', '综治中心', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO dispute (id, case_no, case_code, category, source, summary, risk_level, flags,"
                    " prominent, civil_to_criminal, node_id, registering_unit_id, registered_at, registered_on,"
                    " status, version, updated_at) VALUES (1, 'N1', 'C1', '邻里', '群众来访', '漏水', '一般', '[]',"
                    " false, false, 1, 1, '2026-11-01 01:00:00', '2026-11-01', '已办结', 1, '2026-11-01 01:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO party (id, dispute_id, position, role, kind, name)"
                    " VALUES (1, 1, 0, '申请人', '自然人', '张三')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO party_rating (dispute_id, party_id, score, created_at)"
                    " VALUES (1, 1, 5, '2026-11-02 01:00:00')"
                )
            )
        for values in ("(1, 1, 4, '2026-11-02 02:00:00')", "(1, 1, 0, '2026-11-02 02:00:00')"):
            with pytest.raises(IntegrityError), db.engine.begin() as conn:  # unique key, then the 1–5 check
                if values.endswith("0, '2026-11-02 02:00:00')"):
                    conn.execute(text("DELETE FROM party_rating"))
                conn.execute(
                    text(
                        f"INSERT INTO party_rating (dispute_id, party_id, score, created_at) VALUES {values}"
                    )
                )
        assert "ix_followup_done_at" in {i["name"] for i in inspect(db.engine).get_indexes("followup")}
        upgrade()
        assert _diff(db.engine) == []
        downgrade(revision="f2a8c6d1e3b7")
        assert "party_rating" not in inspect(db.engine).get_table_names()
        assert "ix_followup_done_at" not in {i["name"] for i in inspect(db.engine).get_indexes("followup")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM party")).scalar() == 1


def test_mediation_orgs_backfill_committees_by_level_and_downgrade(fresh_url):
    """f3c9a2d6b8e1 (调解组织): every 人民调解委员会 that exists before it gets a profile whose kind is
    the one ``orgs.service.default_kind`` gives (by its node's level, above the towns by its name);
    other units get none; the downgrade drops the table and keeps the units."""
    from mediation.common.enums import NodeLevel
    from mediation.orgs.service import default_kind

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    nodes = [
        (1, "区", "/1/"),
        (2, "街道", "/1/2/"),
        (3, "镇", "/1/3/"),
        (4, "社区", "/1/2/4/"),
        (5, "村", "/1/3/5/"),
    ]
    units = [
        (1, "海滨区人民调解委员会", "人民调解委员会", 1),
        (2, "海滨区医疗纠纷人民调解委员会", "人民调解委员会", 1),
        (3, "海滨区道路交通事故纠纷人民调解委员会", "人民调解委员会", 1),
        (4, "海滨街道人民调解委员会", "人民调解委员会", 2),
        (5, "双港镇人民调解委员会", "人民调解委员会", 3),
        (6, "新家园社区人民调解委员会", "人民调解委员会", 4),
        (7, "双港村人民调解委员会", "人民调解委员会", 5),
        (8, "海滨街道综治中心", "综治中心", 2),
        (9, "海滨区物业纠纷人民调解委员会", "人民调解委员会", 1),
    ]
    with app.app_context():
        upgrade(revision="e5b8c3d1a7f2")
        with db.engine.begin() as conn:
            for i, level, path in nodes:
                conn.execute(
                    text("INSERT INTO node (id, code, name, level, path) VALUES (:i, :c, :n, :l, :p)"),
                    {"i": i, "c": f"N{i}", "n": f"节点{i}", "l": level, "p": path},
                )
            for i, name, type_, node_id in units:
                conn.execute(
                    text("INSERT INTO unit (id, code, name, type, node_id) VALUES (:i, :c, :n, :t, :node)"),
                    {"i": i, "c": f"U{i}", "n": name, "t": type_, "node": node_id},
                )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT unit_id, kind, industry FROM mediation_org ORDER BY unit_id")
            ).all()
        levels = {i: NodeLevel(level) for i, level, _ in nodes}
        expected = []
        for i, name, type_, node_id in units:
            if type_ == "人民调解委员会":
                kind, industry = default_kind(levels[node_id], name)
                expected.append((i, kind.value, industry.value if industry else None))
        assert [tuple(r) for r in rows] == expected
        assert {r[1] for r in rows} == {
            "其他调解组织",
            "行业性专业性人民调解委员会",
            "乡镇（街道）人民调解委员会",
            "村（居）人民调解委员会",
        }
        assert _diff(db.engine) == []
        downgrade(revision="e5b8c3d1a7f2")
        assert "mediation_org" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM unit")).scalar() == 9
        db.engine.dispose()


def test_key_people_migration_adds_the_register_and_case_leaders_and_removes_them(fresh_url):
    """b7e4d2a9c1f5 (重点人员 / 包案): the register, its case links, history and review-due rows (one per
    entry and due date), and case_leader (one per case); the downgrade removes them and nothing else."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_url, "SECRET_KEY": "x"})
    added = {"key_entry", "key_entry_dispute", "key_entry_log", "key_review_due", "case_leader"}
    with app.app_context():
        upgrade(revision="f3c9a1d27b64")
        before = set(inspect(db.engine).get_table_names())
        assert not added & before
        upgrade(revision="b7e4d2a9c1f5")
        insp = inspect(db.engine)
        assert set(insp.get_table_names()) == before | added
        unique = [u["column_names"] for u in insp.get_unique_constraints("key_review_due")]
        assert ["entry_id", "due_on"] in unique
        assert insp.get_pk_constraint("case_leader")["constrained_columns"] == ["dispute_id"]
        downgrade(revision="f3c9a1d27b64")
        assert set(inspect(db.engine).get_table_names()) == before
        db.engine.dispose()
