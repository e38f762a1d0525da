"""调解员: mediators, their units, training records, and the cases' 承办调解员

Revision ID: f3c9a1d27b64
Revises: f3c9a2d6b8e1
Create Date: 2026-11-30 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3c9a1d27b64"
down_revision = "f3c9a2d6b8e1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mediator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "employment",
            sa.Enum("专职", "兼职", name="employment", native_enum=False, length=4),
            nullable=False,
        ),
        sa.Column(
            "background",
            sa.Enum(
                "律师",
                "退休法官",
                "退休检察官",
                "心理咨询师",
                "教师",
                "基层干部",
                "其他",
                name="background",
                native_enum=False,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("qualifications", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    with op.batch_alter_table("mediator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediator_name"), ["name"], unique=False)

    op.create_table(
        "mediator_unit",
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["mediator_id"], ["mediator.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("mediator_id", "unit_id"),
    )
    with op.batch_alter_table("mediator_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediator_unit_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "dispute_mediator",
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["dispute.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mediator_id"], ["mediator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dispute_id", "mediator_id"),
    )
    with op.batch_alter_table("dispute_mediator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_mediator_mediator_id"), ["mediator_id"], unique=False)

    op.create_table(
        "mediator_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("organiser", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["mediator_id"], ["mediator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mediator_training", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediator_training_held_on"), ["held_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_mediator_training_mediator_id"), ["mediator_id"], unique=False)


def downgrade():
    with op.batch_alter_table("mediator_training", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediator_training_mediator_id"))
        batch_op.drop_index(batch_op.f("ix_mediator_training_held_on"))
    op.drop_table("mediator_training")
    with op.batch_alter_table("dispute_mediator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_mediator_mediator_id"))
    op.drop_table("dispute_mediator")
    with op.batch_alter_table("mediator_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediator_unit_unit_id"))
    op.drop_table("mediator_unit")
    with op.batch_alter_table("mediator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediator_name"))
    op.drop_table("mediator")
