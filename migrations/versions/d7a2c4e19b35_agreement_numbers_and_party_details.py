"""Agreement numbers from the 调委会's own series; party details for the 人民调解协议书

case_sequence gets a series (case / agreement); agreement.number is stored (existing agreements keep
the number they were issued with: case number + -协N / -补N); party gets 民族, 职业或职务,
法定代表人 (name, post) and 委托代理人.

Revision ID: d7a2c4e19b35
Revises: c3a1f0e5d2b7
Create Date: 2026-11-30 08:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "d7a2c4e19b35"
down_revision = "c3a1f0e5d2b7"
branch_labels = None
depends_on = None

PARTY_COLUMNS = (("ethnicity", 16), ("occupation", 100), ("legal_rep_name", 100), ("legal_rep_title", 50),
                 ("agent_name", 100))


def upgrade():
    with op.batch_alter_table("case_sequence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series", sa.String(length=16), server_default="case", nullable=False))
        batch_op.drop_constraint("uq_case_sequence_unit_id", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_case_sequence_series"), ["series", "unit_id", "year"])

    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.String(length=64), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_agreement_number"), ["number"], unique=False)
    # Agreements issued before keep their printed number.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT a.id, a.kind, a.seq, d.case_no FROM agreement a "
                                "JOIN dispute d ON d.id = a.dispute_id")).fetchall()
    for agreement_id, kind, seq, case_no in rows:
        suffix = "补" if kind == "补充协议" else "协"
        conn.execute(sa.text("UPDATE agreement SET number = :n WHERE id = :i"),
                     {"n": f"{case_no}-{suffix}{seq}", "i": agreement_id})

    with op.batch_alter_table("party", schema=None) as batch_op:
        for name, length in PARTY_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade():
    with op.batch_alter_table("party", schema=None) as batch_op:
        for name, _ in reversed(PARTY_COLUMNS):
            batch_op.drop_column(name)

    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_number"))
        batch_op.drop_column("number")

    op.execute("DELETE FROM case_sequence WHERE series <> 'case'")
    with op.batch_alter_table("case_sequence", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_case_sequence_series"), type_="unique")
        batch_op.create_unique_constraint("uq_case_sequence_unit_id", ["unit_id", "year"])
        batch_op.drop_column("series")
