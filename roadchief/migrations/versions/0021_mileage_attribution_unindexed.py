"""mileage_attribution_unindexed: drop the indexes on segment_mileage's town_id, village_id and
station_id (issue #15).

No query filters a version's rows by town, village or station: the funding plan and the
version's entries read a version whole (by `version_id`, the unique key's first column) and
group by those columns. The indexes served only a delete of a town, village or station (the
foreign key's check on the referencing side), which the system never does; such a delete still
works, by a scan. Meanwhile each new version's COPY kept three more b-trees: 0.5 s of 3.0 s for
60,000 rows. The foreign keys themselves stay.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = ("town_id", "village_id", "station_id")


def upgrade():
    for column in COLUMNS:
        op.drop_index(f"ix_segment_mileage_{column}", table_name="segment_mileage")


def downgrade():
    for column in COLUMNS:
        op.create_index(f"ix_segment_mileage_{column}", "segment_mileage", [column])
