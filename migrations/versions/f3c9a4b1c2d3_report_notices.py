"""通报: the scorecard's notices (report_notice) and the nodes they name (report_notice_node)

Revision ID: f3c9a4b1c2d3
Revises: b7e4d2a9c1f5
Create Date: 2026-11-30 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3c9a4b1c2d3"
down_revision = "b7e4d2a9c1f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("issued_by_unit_id", sa.Integer(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["issued_by_unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issued_by_unit_id", "year", "seq", name="uq_report_notice_number"),
        sa.UniqueConstraint("node_id", "period", name="uq_report_notice_period"),
    )
    op.create_index("ix_report_notice_node_id", "report_notice", ["node_id"])
    op.create_table(
        "report_notice_node",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["report_notice.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_id", "node_id", "role"),
    )
    op.create_index("ix_report_notice_node_node_id", "report_notice_node", ["node_id"])


def downgrade():
    op.drop_index("ix_report_notice_node_node_id", table_name="report_notice_node")
    op.drop_table("report_notice_node")
    op.drop_index("ix_report_notice_node_id", table_name="report_notice")
    op.drop_table("report_notice")
