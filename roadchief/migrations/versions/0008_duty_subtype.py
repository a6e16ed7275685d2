"""duty_subtype: the 第十三条 duty sub-type of a patrol record (inspection.duty_phase:
雨前/雨中/雨后 for 汛期巡查, 除雪/撒砂 for 冬季巡查). Existing records keep NULL and are
still read from their note text. Asset references use the existing inspection_asset table.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHECK = ("duty_phase IS NULL OR (kind = 'flood' AND duty_phase IN ('雨前', '雨中', '雨后')) "
         "OR (kind = 'winter' AND duty_phase IN ('除雪', '撒砂'))")


def upgrade():
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duty_phase", sa.String(length=4), nullable=True))
        batch_op.create_check_constraint(op.f("ck_inspection_duty_phase"), CHECK)


def downgrade():
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_inspection_duty_phase"), type_="check")
        batch_op.drop_column("duty_phase")
