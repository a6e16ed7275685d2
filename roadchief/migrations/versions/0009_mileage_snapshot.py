"""mileage_snapshot: a mileage version row holds the class and paying unit in force
(segment_mileage.road_class, town_id, village_id, station_id), backfilled from the
segment and road as they stand, so a past year's plan no longer follows later edits
of the register (第十五条 列养里程每两年调整一次).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CLASSES = "road_class IN ('市道', '镇道', '村道', '专用公路')"


def upgrade():
    with op.batch_alter_table("segment_mileage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("road_class", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("town_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("village_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("station_id", sa.Integer(), nullable=True))
    # Backfill from the register as it stands: the best knowledge of the past there is.
    op.execute(sa.text(
        "UPDATE segment_mileage SET "
        "road_class = (SELECT road.road_class FROM segment JOIN road ON road.id = segment.road_id "
        "              WHERE segment.id = segment_mileage.segment_id), "
        "town_id = (SELECT segment.town_id FROM segment WHERE segment.id = segment_mileage.segment_id), "
        "village_id = (SELECT segment.village_id FROM segment WHERE segment.id = segment_mileage.segment_id), "
        "station_id = (SELECT segment.station_id FROM segment WHERE segment.id = segment_mileage.segment_id)"))
    with op.batch_alter_table("segment_mileage", schema=None) as batch_op:
        batch_op.alter_column("road_class", existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column("town_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_segment_mileage_road_class"), CLASSES)
        batch_op.create_foreign_key(op.f("fk_segment_mileage_town_id_town"), "town", ["town_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_segment_mileage_village_id_village"), "village", ["village_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_segment_mileage_station_id_station"), "station", ["station_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_segment_mileage_town_id"), ["town_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_segment_mileage_village_id"), ["village_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_segment_mileage_station_id"), ["station_id"], unique=False)


def downgrade():
    with op.batch_alter_table("segment_mileage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_mileage_station_id"))
        batch_op.drop_index(batch_op.f("ix_segment_mileage_village_id"))
        batch_op.drop_index(batch_op.f("ix_segment_mileage_town_id"))
        batch_op.drop_constraint(op.f("fk_segment_mileage_station_id_station"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_segment_mileage_village_id_village"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_segment_mileage_town_id_town"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_segment_mileage_road_class"), type_="check")
        batch_op.drop_column("station_id")
        batch_op.drop_column("village_id")
        batch_op.drop_column("town_id")
        batch_op.drop_column("road_class")
