"""重点人员 / 重点群体: the register (key_entry), its linked cases, history and review-due rows; 包案
(case_leader: the leader who takes on a case)

Revision ID: b7e4d2a9c1f5
Revises: f3c9a1d27b64
Create Date: 2026-11-30 11:42:33.744325

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b7e4d2a9c1f5"
down_revision = "f3c9a1d27b64"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "key_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "重大不稳定群体",
                "重点信访人员",
                "肇事肇祸风险人员",
                "个人极端风险人员",
                "其他重点人员",
                name="keykind",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("review_days", sa.Integer(), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_key_entry_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], name=op.f("fk_key_entry_node_id_node")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_key_entry_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_entry")),
    )
    with op.batch_alter_table("key_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_entry_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_key_entry_next_review_on"), ["next_review_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_key_entry_node_id"), ["node_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_key_entry_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "case_leader",
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("post", sa.String(length=100), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["dispute.id"], name=op.f("fk_case_leader_dispute_id_dispute"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["user_account.id"], name=op.f("fk_case_leader_set_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_case_leader")),
    )
    op.create_table(
        "key_entry_dispute",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_key_entry_dispute_dispute_id_dispute"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["key_entry.id"],
            name=op.f("fk_key_entry_dispute_entry_id_key_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "dispute_id", name=op.f("pk_key_entry_dispute")),
    )
    with op.batch_alter_table("key_entry_dispute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_entry_dispute_dispute_id"), ["dispute_id"], unique=False)

    op.create_table(
        "key_entry_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "登记",
                "复查",
                "修改",
                "关联案件",
                "取消关联",
                name="logkind",
                native_enum=False,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("by_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("dispute_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["dispute.id"],
            name=op.f("fk_key_entry_log_dispute_id_dispute"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["key_entry.id"],
            name=op.f("fk_key_entry_log_entry_id_key_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_key_entry_log_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_entry_log")),
    )
    with op.batch_alter_table("key_entry_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_entry_log_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "key_review_due",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["key_entry.id"],
            name=op.f("fk_key_review_due_entry_id_key_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_review_due")),
        sa.UniqueConstraint("entry_id", "due_on", name="uq_key_review_due_entry_day"),
    )


def downgrade():
    op.drop_table("key_review_due")
    with op.batch_alter_table("key_entry_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_entry_log_entry_id"))

    op.drop_table("key_entry_log")
    with op.batch_alter_table("key_entry_dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_entry_dispute_dispute_id"))

    op.drop_table("key_entry_dispute")
    op.drop_table("case_leader")
    with op.batch_alter_table("key_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_entry_unit_id"))
        batch_op.drop_index(batch_op.f("ix_key_entry_node_id"))
        batch_op.drop_index(batch_op.f("ix_key_entry_next_review_on"))
        batch_op.drop_index(batch_op.f("ix_key_entry_name"))

    op.drop_table("key_entry")
