"""ledger jobs in the database: claim/heartbeat columns, job files

Revision ID: 52910be54eed
Revises: a11c0a7e5e55
Create Date: 2026-11-30 07:40:00

Jobs queued or running under the old design (files in the web worker's instance directory) need
nothing: a running one has no heartbeat, so the worker queues it again; an import without a stored
upload then fails with a message asking to upload again; an export simply runs. Results of old
finished jobs stay on disk and the page says they are no longer kept.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '52910be54eed'
down_revision = 'a11c0a7e5e55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('worker', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_ledger_job_status'), ['status'], unique=False)

    op.create_table('ledger_job_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['ledger_job.id'], name=op.f('fk_ledger_job_file_job_id_ledger_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_job_file')),
    sa.UniqueConstraint('job_id', 'name', 'seq', name=op.f('uq_ledger_job_file_job_id'))
    )


def downgrade():
    op.drop_table('ledger_job_file')
    with op.batch_alter_table('ledger_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_job_status'))
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker')
        batch_op.drop_column('attempts')
