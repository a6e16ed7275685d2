"""year_lock: serialises money-changing use cases of one funding year.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "year_lock",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_year_lock")),
    )


def downgrade():
    op.drop_table("year_lock")
