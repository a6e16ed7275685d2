"""Road-network importer: 农村公路普查 layers (GeoJSON, Shapefile, GeoPackage) → the road register.

One call reads a file, checks every row against the register (towns, villages,
stations, existing stake ranges) and either writes the whole file in one
transaction or writes nothing and returns every problem with its row and
column, so an office can fix the spreadsheet in one pass instead of one error
per upload.

This module is the use case; its steps live in ``roadchief.services.importing``
(shared with the asset importer): ``layers`` reads the file, ``columns`` finds the
columns, ``cells`` and ``geometry`` parse values, ``register`` and ``validation``
check the rows, ``writing`` writes them, ``results`` holds errors and the report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm.exc import StaleDataError

from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.services.audit import record_event
from roadchief.services.importing.cells import parse_listed_km
from roadchief.services.importing.columns import FIELDS, MappingFailed, check_mapping, load_mapping, resolve_columns
from roadchief.services.importing.layers import open_layer
from roadchief.services.importing.register import Register
from roadchief.services.importing.results import (
    ImportFailed,
    ImportReport,
    LengthWarning,
    Progress,
    RowError,
    file_error,
)
from roadchief.services.importing.validation import length_warnings, read_rows
from roadchief.services.importing.writing import write_rows

__all__ = [
    "FIELDS",
    "ImportFailed",
    "ImportReport",
    "LengthWarning",
    "RowError",
    "import_roads",
    "load_mapping",
    "parse_listed_km",
]


def _record_import(path: Path, counts, outcome) -> None:
    """One audit entry for the whole import (who, which file, how many segments, the km
    difference) instead of one per row: new roads and segments are bulk inserts, so this entry
    is also what moves the data version (services/data_version.py). Nothing changed, no entry."""
    diff = outcome.diff
    changed = (counts.created, counts.updated, counts.roads_created, counts.roads_updated, counts.mileage_written)
    if not (any(changed) or counts.villages_created):
        return
    note = (
        f"导入路网文件 {path.name}：新建路段 {counts.created} 段，更新 {counts.updated} 段，"
        f"未变 {counts.unchanged} 段，移出列养里程版本 {len(diff.removed)} 段；新建路线 {counts.roads_created} 条，"
        f"更新路线 {counts.roads_updated} 条，新建行政村 {len(counts.villages_created)} 个；"
        f"列养里程 {diff.total_before / 1000:.3f} → {diff.total_after / 1000:.3f} 公里"
        f"（{(diff.total_after - diff.total_before) / 1000:+.3f} 公里，版本“{outcome.name}”）"
    )
    record_event(
        db.session,
        "segment",
        None,
        note,
        before={"listed_km": f"{diff.total_before / 1000:.3f}"},
        after={
            "listed_km": f"{diff.total_after / 1000:.3f}",
            "file": path.name,
            "segments_created": counts.created,
            "segments_updated": counts.updated,
            "segments_removed": len(diff.removed),
            "roads_created": counts.roads_created,
        },
    )


def import_roads(
    path,
    mapping: dict | None = None,
    dry_run: bool = False,
    effective: date | None = None,
    create_villages: bool = False,
    encoding: str | None = None,
    progress: Progress | None = None,
    complete: bool = False,
    confirm: bool | None = None,
) -> ImportReport:
    """Import a road layer into the register: all rows or none.

    Raises ImportFailed (nothing written) listing every bad row; returns an
    ImportReport otherwise. ``dry_run`` checks and counts everything, then
    rolls back. ``complete`` says the file is the whole network: segments it
    lacks leave the mileage version (they stay in the register). ``confirm``
    is the interfaces' "--yes": False makes an import into a register that
    already holds segments a preview (the report's difference, nothing
    written, ``needs_confirmation``); None (programmatic callers) writes. The whole import is one transaction of the current session,
    which this function commits or rolls back: call it with no pending work.
    Progress is reported as ("校验", rows checked) and then ("导入", rows written).
    """
    path = Path(path)
    mapping = check_mapping(mapping, MappingFailed) if mapping else {}
    layer = open_layer(path, encoding, "（须为线图层）")
    columns = resolve_columns(layer.columns, mapping)
    geometries = layer.lonlat_geometries()
    try:
        hold = confirm is False and not dry_run and bool(db.session.scalar(select(func.count(Segment.id))))
        register = Register(create_villages)
        rows = read_rows(layer.records, geometries, columns, register, progress)
        warnings = length_warnings(rows)
        counts, outcome = write_rows(rows, register, effective, complete, progress)
        _record_import(path, counts, outcome)
        if dry_run or hold:
            db.session.rollback()
        else:
            db.session.commit()
    except ImportFailed:
        db.session.rollback()
        raise
    except (DatabaseError, StaleDataError) as exc:
        # Most likely someone changed the register while we were importing: a unique key, the
        # stake-overlap trigger (a ProgrammingError on PostgreSQL) or the segments' optimistic lock.
        db.session.rollback()
        raise file_error(
            f"写入时数据库拒绝（可能有人同时修改了路网），未写入任何数据：{exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    except BaseException:
        db.session.rollback()
        raise
    return ImportReport(
        path=str(path),
        rows=len(layer.frame),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        roads_created=counts.roads_created,
        length_warnings=warnings,
        dry_run=dry_run,
        mileage_version=outcome.name,
        roads_updated=counts.roads_updated,
        villages_created=counts.villages_created,
        mileage_written=counts.mileage_written,
        mileage_base=outcome.base,
        mileage_diff=outcome.diff,
        mileage_lines=outcome.lines,
        mileage_frozen=outcome.frozen,
        needs_confirmation=hold,
        complete=complete,
    )
