"""网上申请调解: online applications and their photos

Revision ID: f1a2b3c4d5e6
Revises: f3c9a2e7b5d1
Create Date: 2026-11-30 11:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f1a2b3c4d5e6"
down_revision = "f3c9a2e7b5d1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "online_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["dispute.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dispute_id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("online_application", schema=None) as batch_op:
        batch_op.create_index("ix_online_application_address_day", ["address", "created_on"], unique=False)
        batch_op.create_index("ix_online_application_phone_day", ["phone", "created_on"], unique=False)

    op.create_table(
        "application_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("mimetype", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["online_application.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dispute_id"], ["dispute.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("application_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_photo_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_application_photo_dispute_id"), ["dispute_id"], unique=False)


def downgrade():
    with op.batch_alter_table("application_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_photo_dispute_id"))
        batch_op.drop_index(batch_op.f("ix_application_photo_application_id"))
    op.drop_table("application_photo")
    with op.batch_alter_table("online_application", schema=None) as batch_op:
        batch_op.drop_index("ix_online_application_phone_day")
        batch_op.drop_index("ix_online_application_address_day")
    op.drop_table("online_application")
