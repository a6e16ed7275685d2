"""photo_receipts: a field photo's client id and content hash (inspection_photo.client_id,
sha256), so the phone's offline queue gets a receipt per photo and a photo sent twice
(a lost response, a retry) is stored once. Existing photos keep NULL.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inspection_photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_inspection_photo_client_id"), ["client_id"])


def downgrade():
    with op.batch_alter_table("inspection_photo", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_inspection_photo_client_id"), type_="unique")
        batch_op.drop_column("sha256")
        batch_op.drop_column("client_id")
