"""A coarse grid index of segment bounding boxes, so a map viewport finds its
segments through an indexed lookup on any database (no spatial extension needed)."""

from __future__ import annotations

import math

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from roadchief.extensions import db

CELL_DEGREES = 0.05  # ≈ 5 km: a zoom-13 phone viewport touches a handful of cells
MAX_QUERY_CELLS = 400  # beyond this a viewport is "most of the map": scan instead


class SegmentCell(db.Model):
    __tablename__ = "segment_cell"
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)


def _index(value: float, offset: float) -> int:
    return math.floor((value + offset) / CELL_DEGREES)


def cells_for_bbox(
    min_lon: float, min_lat: float, max_lon: float, max_lat: float, limit: int | None = None
) -> list[int] | None:
    """Cell keys a bounding box touches; None when there are more than `limit`."""
    x0, x1 = _index(min_lon, 180), _index(max_lon, 180)
    y0, y1 = _index(min_lat, 90), _index(max_lat, 90)
    if limit is not None and (x1 - x0 + 1) * (y1 - y0 + 1) > limit:
        return None
    return [x * 100_000 + y for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
