"""一案一码: every case gets a case code (dispute.case_code, unique, not null)

Existing cases get a fresh code each (9 random characters of the codes' alphabet and a check
character, as mediation.disputes.models.new_case_code draws them), then the column becomes NOT NULL
and unique.

Revision ID: e5b8c3d1a7f2
Revises: e5b1c2d3f4a6
Create Date: 2026-11-30 10:40:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "e5b8c3d1a7f2"
down_revision = "e5b1c2d3f4a6"
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when the application's code does).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10


def _code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    total = sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body))
    return body + ALPHABET[(-total * pow(LENGTH, -1, len(ALPHABET))) % len(ALPHABET)]


def upgrade():
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_code", sa.String(length=16), nullable=True))

    conn = op.get_bind()
    ids = conn.execute(sa.text("SELECT id FROM dispute ORDER BY id")).scalars().all()
    used: set[str] = set()
    for dispute_id in ids:
        code = _code()
        while code in used:
            code = _code()
        used.add(code)
        conn.execute(sa.text("UPDATE dispute SET case_code = :c WHERE id = :i"), {"c": code, "i": dispute_id})

    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.alter_column("case_code", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_dispute_case_code"), ["case_code"])


def downgrade():
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_dispute_case_code"), type_="unique")
        batch_op.drop_column("case_code")
