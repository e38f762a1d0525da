"""An index of the cases by 属地 node and closing day, in place of the plain index on node_id: a
subtree's cases not closed before a day (reports.sql.in_subtree on PostgreSQL: node_id = ANY of the
subtree's ids) without reading a province-sized table whole

Revision ID: d7f3a1c9b5e2
Revises: c4e8b2d7a9f1
Create Date: 2026-11-30 14:40:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "d7f3a1c9b5e2"
down_revision = "c4e8b2d7a9f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_node_closed", ["node_id", "closed_on"], unique=False)
        batch_op.drop_index("ix_dispute_node_id")


def downgrade():
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_node_id", ["node_id"], unique=False)
        batch_op.drop_index("ix_dispute_node_closed")
