"""Party sessions (party_session) and wrong codes per address (party_code_failure): the parties' door

Revision ID: f2a7d4c9b813
Revises: e5b8c3d1a7f2
Create Date: 2026-11-30 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f2a7d4c9b813"
down_revision = "e5b8c3d1a7f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "party_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_party_session_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_party_session_party_id_party"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_session")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_party_session_key_hash")),
    )
    with op.batch_alter_table("party_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_session_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_session_party_id"), ["party_id"], unique=False)

    op.create_table(
        "party_code_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_code_failure")),
    )
    with op.batch_alter_table("party_code_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_code_failure_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_code_failure_at"), ["at"], unique=False)


def downgrade():
    with op.batch_alter_table("party_code_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_code_failure_at"))
        batch_op.drop_index(batch_op.f("ix_party_code_failure_address"))
    op.drop_table("party_code_failure")
    with op.batch_alter_table("party_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_session_party_id"))
        batch_op.drop_index(batch_op.f("ix_party_session_dispute_id"))
    op.drop_table("party_session")
