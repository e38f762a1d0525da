"""调解组织: mediation_org, a profile per unit that is a mediation organisation

Every existing 人民调解委员会 unit gets a profile: at a village or community a 村（居）人民调解委员会, at a
town or 街道 a 乡镇（街道）人民调解委员会; above the towns a name with an industry word makes a
行业性专业性人民调解委员会 of that 行业, anything else an 其他调解组织 (the same rule as
mediation.orgs.service.default_kind, frozen here in SQL).

Revision ID: f3c9a2d6b8e1
Revises: f1a2b3c4d5e6
Create Date: 2026-11-30 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3c9a2d6b8e1"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None

KINDS = (
    "村（居）人民调解委员会",
    "乡镇（街道）人民调解委员会",
    "企事业单位人民调解委员会",
    "行业性专业性人民调解委员会",
    "律师调解工作室",
    "个人调解工作室",
    "驻所（驻庭）调解室",
    "其他调解组织",
)
INDUSTRIES = ("医疗", "交通", "劳动", "物业", "婚姻家庭", "消费", "其他")
# (word in the name, 行业), first match wins
INDUSTRY_WORDS = (
    ("医疗", "医疗"),
    ("医患", "医疗"),
    ("交通", "交通"),
    ("劳动", "劳动"),
    ("劳资", "劳动"),
    ("物业", "物业"),
    ("婚姻", "婚姻家庭"),
    ("家事", "婚姻家庭"),
    ("消费", "消费"),
)


def upgrade():
    op.create_table(
        "mediation_org",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="orgkind", native_enum=False, length=20), nullable=False),
        sa.Column(
            "industry", sa.Enum(*INDUSTRIES, name="industry", native_enum=False, length=8), nullable=True
        ),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("head", sa.String(length=50), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("other_members", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_mediation_org_unit_id_unit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_mediation_org")),
    )
    with op.batch_alter_table("mediation_org", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mediation_org_kind"), ["kind"], unique=False)

    industry_case = " ".join(
        f"WHEN u.name LIKE '%{word}%' THEN '{industry}'" for word, industry in INDUSTRY_WORDS
    )
    op.execute(
        sa.text(
            "INSERT INTO mediation_org (unit_id, kind, industry, updated_at) "
            "SELECT u.id, "
            "CASE WHEN n.level IN ('村', '社区') THEN '村（居）人民调解委员会' "
            "WHEN n.level IN ('镇', '街道') THEN '乡镇（街道）人民调解委员会' "
            f"WHEN (CASE {industry_case} END) IS NOT NULL THEN '行业性专业性人民调解委员会' "
            "ELSE '其他调解组织' END, "
            f"CASE WHEN n.level IN ('村', '社区', '镇', '街道') THEN NULL ELSE (CASE {industry_case} END) END, "
            "CURRENT_TIMESTAMP "
            "FROM unit u JOIN node n ON n.id = u.node_id WHERE u.type = '人民调解委员会'"
        )
    )


def downgrade():
    with op.batch_alter_table("mediation_org", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mediation_org_kind"))
    op.drop_table("mediation_org")
