"""working-day calendar: the admin's holiday notices (override table)

Revision ID: c41e7d2a9b60
Revises: 8ffe0e8cf7d8
Create Date: 2026-11-30 07:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41e7d2a9b60'
down_revision = '8ffe0e8cf7d8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_state'))
    )
    op.create_table('calendar_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('annual_year', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('document_no', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_calendar_notice_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_notice')),
    sa.UniqueConstraint('annual_year', name=op.f('uq_calendar_notice_annual_year'))
    )
    with op.batch_alter_table('calendar_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_notice_year'), ['year'], unique=False)

    op.create_table('calendar_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['calendar_notice.id'], name=op.f('fk_calendar_day_notice_id_calendar_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_day')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_day_day'))
    )
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_day_notice_id'), ['notice_id'], unique=False)


def downgrade():
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_day_notice_id'))

    op.drop_table('calendar_day')
    with op.batch_alter_table('calendar_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_notice_year'))

    op.drop_table('calendar_notice')
    op.drop_table('calendar_state')
