"""notification.link: the page where to act (case page, 督办, month close)

Revision ID: c3a1f0e5d2b7
Revises: 52910be54eed
Create Date: 2026-11-30 08:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c3a1f0e5d2b7"
down_revision = '52910be54eed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("link")
