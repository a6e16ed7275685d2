"""segment_cell: a coarse grid index of segment bounding boxes for map viewports.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "segment_cell",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], name=op.f("fk_segment_cell_segment_id_segment"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("segment_id", "cell", name=op.f("pk_segment_cell")),
    )
    op.create_index(op.f("ix_segment_cell_cell"), "segment_cell", ["cell"], unique=False)
    # backfill the segments imported before this revision
    from roadchief.models.spatial import cells_for_bbox
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, min_lon, min_lat, max_lon, max_lat FROM segment")).all()
    cells = [{"segment_id": r[0], "cell": c} for r in rows for c in cells_for_bbox(r[1], r[2], r[3], r[4])]
    if cells:
        bind.execute(sa.text("INSERT INTO segment_cell (segment_id, cell) VALUES (:segment_id, :cell)"), cells)


def downgrade():
    op.drop_index(op.f("ix_segment_cell_cell"), table_name="segment_cell")
    op.drop_table("segment_cell")
