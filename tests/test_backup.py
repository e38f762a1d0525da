"""Backup and restore with the real tools (pg_dump/pg_restore on PostgreSQL, SQLite's backup API)."""

from __future__ import annotations

from sqlalchemy import func, select

from mediation.disputes.models import Dispute, Party
from mediation.extensions import db
from tests.factories import dispute_payload


def test_backup_then_restore_brings_back_exactly_the_saved_state(app, client, world, tmp_path):
    grid, headers = world.grid_a.code, world.mediator_a.headers
    for i in range(3):
        assert (
            client.post(
                "/api/v1/disputes", headers=headers, json=dispute_payload(grid, summary=f"备份测试{i}")
            ).status_code
            == 201
        )
    snapshot = sorted(db.session.execute(select(Dispute.case_no, Dispute.summary)).all())
    runner = app.test_cli_runner()
    target = tmp_path / "backup.dump"
    result = runner.invoke(args=["db-backup", "create", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0

    # Changes after the backup: one more case, one case edited, one deleted.
    client.post("/api/v1/disputes", headers=headers, json=dispute_payload(grid, summary="备份之后"))
    first = db.session.scalar(select(Dispute).order_by(Dispute.id))
    first.summary = "被改过"
    db.session.delete(db.session.scalar(select(Dispute).order_by(Dispute.id.desc())))
    db.session.commit()
    assert sorted(db.session.execute(select(Dispute.case_no, Dispute.summary)).all()) != snapshot

    db.session.remove()
    result = runner.invoke(args=["db-backup", "restore", "--yes", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(db.session.execute(select(Dispute.case_no, Dispute.summary)).all()) == snapshot
    assert db.session.scalar(select(func.count()).select_from(Party)) == 6
    # The restored database works: a new registration continues the number sequence.
    r = client.post("/api/v1/disputes", headers=headers, json=dispute_payload(grid, summary="恢复之后"))
    assert r.status_code == 201 and r.get_json()["case_no"].endswith("第0004号")  # the state of the backup


def test_restore_refuses_missing_file(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["db-backup", "restore", "--yes", str(tmp_path / "nope.dump")])
    assert result.exit_code != 0
