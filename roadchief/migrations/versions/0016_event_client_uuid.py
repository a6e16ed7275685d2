"""event_client_uuid: a disruption event's client id from the field form (road_event.client_uuid,
UNIQUE) and the user who sent it (client_user_id), so an offline submission sent twice (a lost
response, a retry from the phone's queue) is stored once (issue #14). Existing events keep NULL.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("road_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_uuid", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("client_user_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_road_event_client_uuid"), ["client_uuid"])
        batch_op.create_foreign_key(
            op.f("fk_road_event_client_user_id_app_user"), "app_user", ["client_user_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("road_event", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_road_event_client_user_id_app_user"), type_="foreignkey")
        batch_op.drop_constraint(op.f("uq_road_event_client_uuid"), type_="unique")
        batch_op.drop_column("client_user_id")
        batch_op.drop_column("client_uuid")
