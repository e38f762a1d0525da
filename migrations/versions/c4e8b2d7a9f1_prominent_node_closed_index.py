"""An index of the 突出问题 by 属地 node and closing day (partial: prominent cases only), for the
open 突出问题 of one 区 when the database holds a whole province

Revision ID: c4e8b2d7a9f1
Revises: a7d2e9c4b1f6
Create Date: 2026-11-30 14:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4e8b2d7a9f1"
down_revision = "a7d2e9c4b1f6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dispute_prominent_node_closed",
            ["node_id", "closed_on"],
            unique=False,
            sqlite_where=sa.text("prominent"),
            postgresql_where=sa.text("prominent"),
        )


def downgrade():
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_dispute_prominent_node_closed",
            sqlite_where=sa.text("prominent"),
            postgresql_where=sa.text("prominent"),
        )
