"""Keeps segment_cell in step with every segment write, whoever writes it."""

from __future__ import annotations

from sqlalchemy import delete, event, insert, inspect
from sqlalchemy.orm import Session

from roadchief.models import Segment
from roadchief.models.spatial import SegmentCell, cells_for_bbox

BBOX = ("min_lon", "min_lat", "max_lon", "max_lat")
CHUNK = 500


def _moved(segment: Segment) -> bool:
    state = inspect(segment)
    return any(state.attrs[name].history.has_changes() for name in BBOX)


def _before_flush(session: Session, flush_context, instances):
    # session.new and session.dirty build a fresh set on every access: read each once
    objects = session.info.setdefault("cells_objects", {})
    objects.update({id(obj): obj for obj in session.new if isinstance(obj, Segment)})
    objects.update({id(obj): obj for obj in session.dirty if isinstance(obj, Segment) and _moved(obj)})


def _after_flush(session: Session, flush_context):
    objects = session.info.pop("cells_objects", {})
    if not objects:
        return
    ids = [obj.id for obj in objects.values()]
    connection = session.connection()
    for start in range(0, len(ids), CHUNK):
        connection.execute(delete(SegmentCell.__table__).where(SegmentCell.segment_id.in_(ids[start : start + CHUNK])))
    rows = [
        {"segment_id": obj.id, "cell": cell}
        for obj in objects.values()
        for cell in cells_for_bbox(obj.min_lon, obj.min_lat, obj.max_lon, obj.max_lat)
    ]
    if rows:
        connection.execute(insert(SegmentCell.__table__), rows)


def index_segments(boxes, insert=None) -> None:
    """Grid cells of segments written without the ORM (the importer's bulk insert):
    (segment id, min lon, min lat, max lon, max lat) each. ``insert`` writes the rows
    (default: bulk.insert_rows; the importer passes its CopyBehind's)."""
    if insert is None:
        from roadchief.services.bulk import insert_rows as insert

    insert(SegmentCell.__table__, [{"segment_id": i, "cell": c} for i, *box in boxes for c in cells_for_bbox(*box)])


def install(session_class) -> None:
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
