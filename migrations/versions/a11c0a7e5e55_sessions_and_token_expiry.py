"""server-side web sessions; API token expiry and hint

Revision ID: a11c0a7e5e55
Revises: c41e7d2a9b60
Create Date: 2026-11-30 07:30:00

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a11c0a7e5e55'
down_revision = 'c41e7d2a9b60'
branch_labels = None
depends_on = None

TOKEN_DAYS = 180


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_session_key_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hint', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))

    # Tokens issued before this upgrade expire TOKEN_DAYS after it (not after their creation, which
    # would end old tokens the moment the service is upgraded).
    token = sa.table('api_token', sa.column('expires_at', sa.DateTime()))
    expires = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=TOKEN_DAYS)
    op.get_bind().execute(token.update().values(expires_at=expires))

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('hint', existing_type=sa.String(length=16), server_default=None)


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('hint')

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))

    op.drop_table('user_session')
