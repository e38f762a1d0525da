"""The parties' own rating of the handling (party_rating: one per party and case, score 1–5)

Revision ID: f3c9a2e7b5d1
Revises: f2a8c6d1e3b7
Create Date: 2026-11-30 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3c9a2e7b5d1"
down_revision = "f2a8c6d1e3b7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "party_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_party_rating_score_range")),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_party_rating_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_party_rating_party_id_party"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_rating")),
        sa.UniqueConstraint("dispute_id", "party_id", name="uq_party_rating_dispute_party"),
    )
    with op.batch_alter_table("party_rating", schema=None) as batch_op:
        batch_op.create_index("ix_party_rating_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_rating_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_rating_party_id"), ["party_id"], unique=False)


def downgrade():
    with op.batch_alter_table("party_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_rating_party_id"))
        batch_op.drop_index(batch_op.f("ix_party_rating_dispute_id"))
        batch_op.drop_index("ix_party_rating_created_at")
    op.drop_table("party_rating")
