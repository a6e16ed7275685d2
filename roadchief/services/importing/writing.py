"""Writing checked road rows: new villages, roads, segments and the 列养里程 version they belong to."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, text

from roadchief.domain.clock import beijing_today
from roadchief.domain.mileage import MileageDiff, MileageEntry, frozen_message, merge_version
from roadchief.extensions import db
from roadchief.models import MileageVersion, Road, Segment, Village
from roadchief.services import mileage
from roadchief.services.bulk import CopyBehind, assign_ids
from roadchief.services.importing.columns import FIELDS
from roadchief.services.importing.geometry import Shape, fill_texts
from roadchief.services.importing.register import NewVillage, Register
from roadchief.services.importing.results import ImportFailed, Progress, RowError, Ticker
from roadchief.services.importing.validation import Row
from roadchief.services.spatial_index import BBOX, index_segments

_IN_CHUNK = 500  # IN (...) lists well under any driver's parameter limit

FIRST_CREATED_VILLAGE = 901  # codes 901+ are visibly ours, not from the 统计用区划代码


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    roads_created: int = 0
    roads_updated: int = 0
    mileage_written: int = 0
    villages_created: list[str] = field(default_factory=list)


def _create_villages(register: Register, counts: Counts) -> None:
    """Villages named in the file but not registered (create_villages=True).

    Their codes are the town code + 901, 902 …: the 统计用区划代码 never uses
    9xx for 村委会, so an office can spot (and later correct) our placeholders.
    """
    used = set(register.villages_by_code)
    for new in register.new_villages.values():
        number = FIRST_CREATED_VILLAGE
        while f"{new.town.code}{number:03d}" in used:
            number += 1
        if number > 999:
            raise ImportFailed(
                f"导入失败：{new.town.name}已没有可用的行政村代码",
                [RowError(0, FIELDS["village"].label, f"{new.town.name}的 901–999 号村代码已用完")],
            )
        code = f"{new.town.code}{number:03d}"
        used.add(code)
        new.created = Village(town=new.town, code=code, name=new.name)
        db.session.add(new.created)
        counts.villages_created.append(f"{new.town.name}{new.name}（{code}）")


def _road_attributes(rows: list[Row]) -> dict[str, tuple[str | None, str]]:
    """Road code → (name, class); rows already agree (check_roads_consistent), the first name given wins."""
    attributes: dict[str, tuple[str | None, str]] = {}
    for row in rows:
        name, _ = attributes.get(row.road_code, (None, row.road_class))
        attributes[row.road_code] = (name or row.road_name, row.road_class)
    return attributes


def _upsert_roads(
    rows: list[Row], register: Register, counts: Counts, behind: CopyBehind
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Road code → road id, and the new roads still to write. Changed registered roads are
    updated through the ORM (their audit entries keep before → after). New roads get their ids
    from the sequence on PostgreSQL and are returned unwritten (write_rows queues their COPY
    once the segments have their ids too); elsewhere they are inserted here, in bulk (the
    import's summary entry records them, services/audit.py)."""
    roads: dict[str, int] = {}
    new: list[dict[str, Any]] = []
    for code, (name, road_class) in _road_attributes(rows).items():
        road = register.roads.get(code)
        if road is None:
            # A layer without names still needs one on the register: the code stands in until edited.
            new.append({"code": code, "name": name or code, "road_class": road_class})
            continue
        if _assign(road, {"road_class": road_class, **({"name": name} if name else {})}):
            counts.roads_updated += 1
        roads[code] = road.id
    if not new:
        return roads, []
    counts.roads_created += len(new)
    if assign_ids(Road.__table__, new):  # PostgreSQL: nothing to read back
        roads.update((road["code"], road["id"]) for road in new)
        return roads, new
    behind.insert(Road.__table__, new)
    codes = [road["code"] for road in new]
    for chunk in _chunks(codes):
        roads.update(
            (code, id_) for id_, code in db.session.execute(select(Road.id, Road.code).where(Road.code.in_(chunk)))
        )
    return roads, []


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so an identical row leaves the object clean
    (no UPDATE, no version bump, no audit entry)."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _segment_values(row: Row) -> dict[str, Any]:
    """A segment's columns from its row, but for the line texts (_line_texts)."""
    village = row.village.created if isinstance(row.village, NewVillage) else row.village
    shape = row.shape
    return {
        "listed_m": row.listed_m,
        "is_listed": row.is_listed,
        "tech_grade": row.tech_grade,
        "surface": row.surface,
        "width_dm": row.width_dm,
        "town_id": row.town.id,
        "village_id": village.id if village else None,
        "station_id": row.station.id if row.station else None,
        "min_lon": shape.min_lon,
        "min_lat": shape.min_lat,
        "max_lon": shape.max_lon,
        "max_lat": shape.max_lat,
        "measured_m": shape.measured_m,
    }


def _line_texts(shape: Shape) -> dict[str, str]:
    return {"geometry": shape.geometry, "geometry_mid": shape.geometry_mid, "geometry_low": shape.geometry_low}


def _with_texts(new: list[dict[str, Any]], shapes: list[Shape]) -> list[dict[str, Any]]:
    """New segments' rows with their line texts, written now if still to come (fill_texts)."""
    fill_texts(shapes)
    for values, shape in zip(new, shapes, strict=True):
        values.update(_line_texts(shape))
    return new


def _insert_segments(new: list[dict[str, Any]], behind: CopyBehind) -> dict[tuple[int, int, int], int]:
    """Bulk insert of new segments without ids (SQLite, or too few for COPY) and their grid
    cells; (road id, start, end) → segment id, read back."""
    behind.insert(Segment.__table__, new)
    road_ids = sorted({values["road_id"] for values in new})
    # The boxes are the values just inserted (Float columns hold them as given): only the ids come back.
    wanted = {(values["road_id"], values["start_m"], values["end_m"]): values for values in new}
    ids: dict[tuple[int, int, int], int] = {}
    boxes: list[tuple[int, float, float, float, float]] = []
    for chunk in _chunks(road_ids):
        query = select(Segment.id, Segment.road_id, Segment.start_m, Segment.end_m).where(Segment.road_id.in_(chunk))
        for id_, *key in db.session.execute(query):
            values = wanted.get(tuple(key))  # type: ignore[arg-type]
            if values is not None:
                ids[values["road_id"], values["start_m"], values["end_m"]] = id_
                boxes.append((id_, *(values[b] for b in BBOX)))
    index_segments(boxes, behind.insert)
    return ids


# New segments go in as a few COPYs: while the server stores one, the next one's line texts are
# written (the texts are left until here, issue #15). The first is small, so the server starts
# early; they grow to about SEGMENT_CHUNK rows.
FIRST_SEGMENT_CHUNK = 3_000
SEGMENT_CHUNK = 12_000


def chunk_sizes(total: int, first: int, most: int) -> list[int]:
    """Sizes that add up to ``total``, doubling from ``first`` up to ``most``; a tail smaller
    than the first joins the chunk before it."""
    sizes: list[int] = []
    size = smallest = min(first, most)
    left = total
    while left > 0:
        sizes.append(min(size, left))
        left -= sizes[-1]
        size = min(size * 2, most)
    if len(sizes) > 1 and sizes[-1] < smallest:
        tail = sizes.pop()
        sizes[-1] += tail
    return sizes


def _queue_new_segments(new: list[dict[str, Any]], shapes: list[Shape], behind: CopyBehind) -> None:
    """Write the ``new`` segments (their ids given; ``shapes`` their lines) and their grid cells."""
    start = 0
    for size in chunk_sizes(len(new), FIRST_SEGMENT_CHUNK, SEGMENT_CHUNK):
        chunk = _with_texts(new[start : start + size], shapes[start : start + size])
        start += size
        behind.insert(Segment.__table__, chunk)
        index_segments([(values["id"], *(values[b] for b in BBOX)) for values in chunk], behind.insert)


def _upsert_segments(
    rows: list[Row],
    roads: dict[str, int],
    register: Register,
    counts: Counts,
    progress: Progress | None,
    behind: CopyBehind,
) -> tuple[list[tuple[Row, int]], list[dict[str, Any]], list[Shape]]:
    """(row, segment id) for every row, and the new segments still to write with their lines.
    Registered segments are updated through the ORM (an identical row leaves its segment clean).
    New ones get their ids from the sequence on PostgreSQL and are returned unwritten, without
    their line texts, so the caller reads what it needs before their COPY starts
    (_queue_new_segments); elsewhere they are inserted here."""
    stored = {(s.road_id, s.start_m, s.end_m): s for segments in register.segments.values() for s in segments}
    if stored:  # a registered segment's texts are compared with the row's
        fill_texts([row.shape for row in rows if (roads[row.road_code], row.start_m, row.end_m) in stored])
    ticker = Ticker(progress, len(rows), "导入")
    written: list[tuple[Row, int | None]] = []
    new: list[dict[str, Any]] = []
    shapes: list[Shape] = []
    for done, row in enumerate(rows, start=1):
        road_id = roads[row.road_code]
        values = _segment_values(row)
        key = (road_id, row.start_m, row.end_m)
        segment = stored.get(key)
        if segment is None:
            new.append({"road_id": road_id, "start_m": row.start_m, "end_m": row.end_m, **values})
            shapes.append(row.shape)
            counts.created += 1
            written.append((row, None))
        else:
            if _assign(segment, {**values, **_line_texts(row.shape)}):
                counts.updated += 1
            else:
                counts.unchanged += 1
            written.append((row, segment.id))
        ticker.tick(done)
    if not new:
        return written, [], []  # type: ignore[return-value]
    db.session.flush()  # updates first, as the ORM would have ordered them
    if assign_ids(Segment.__table__, new):  # PostgreSQL: nothing to read back
        ids = {(values["road_id"], values["start_m"], values["end_m"]): values["id"] for values in new}
    else:
        ids, new, shapes = _insert_segments(_with_texts(new, shapes), behind), [], []
    resolved = [
        (row, ids[(roads[row.road_code], row.start_m, row.end_m)] if id_ is None else id_) for row, id_ in written
    ]
    return resolved, new, shapes


@dataclass
class VersionOutcome:
    name: str  # the version written (or that would be)
    base: str | None  # what the difference is against: the version changed or the one before
    diff: MileageDiff
    lines: list[str]
    frozen: str | None = None  # why the version was left alone (import without --effective)


def _file_entries(written: list[tuple[Row, int]]) -> dict[int, MileageEntry]:
    entries = {}
    for row, segment_id in written:
        village = row.village.created if isinstance(row.village, NewVillage) else row.village
        entries[segment_id] = MileageEntry(
            row.road_class,
            row.town.id,
            village.id if village else None,
            row.station.id if row.station else None,
            row.listed_m,
            row.is_listed,
        )
    return entries


def _with_road_classes(
    after: dict[int, MileageEntry], roads: dict[str, int], register: Register, rows: list[Row]
) -> dict[int, MileageEntry]:
    """A road has one class (第三条): when the file sets it, every segment of that road in the
    version follows, the ones absent from a partial file included."""
    classes = {roads[code]: road_class for code, (_, road_class) in _road_attributes(rows).items()}
    for road_id, segments in register.segments.items():
        road_class = classes.get(road_id)
        for segment in segments:
            entry = after.get(segment.id)
            if road_class and entry is not None and entry.road_class != road_class:
                after[segment.id] = dataclasses.replace(entry, road_class=road_class)
    return after


def write_mileage(to_write: list, version: MileageVersion, counts: Counts, created: bool = False, insert=None) -> None:
    """Write a version's changes (rows added, changed or removed); unchanged rows are left alone."""
    mileage.apply_changes(version, to_write, created=created, insert=insert)
    counts.mileage_written += len(to_write)
    db.session.flush()


def _frozen_note(version: MileageVersion, hits: list[tuple[int, list[int]]]) -> str:
    suggest = date(max(year for year, _ in hits) + 1, 1, 1).isoformat()
    return (
        f"列养里程版本“{version.name}”未改动：{frozen_message(hits)}，该版本已冻结（登记簿已按文件更新）。"
        f"如需按本文件调整列养里程，请加 --effective 日期 新建版本（如 --effective {suggest}）"
    )


@dataclass
class _MileageStart:
    """What the file's 列养里程 version starts from: every read _mileage needs."""

    target: MileageVersion | None  # the version the file goes into, if it exists
    new_date: date
    before: dict[int, MileageEntry]  # the version as it is (or the one before a new version)
    base_name: str | None
    base: dict[int, MileageEntry]  # what the file's rows are merged into
    hits: list[tuple[int, list[int]]]  # approved quarters a change would alter
    created: MileageVersion | None  # the new version the file goes into (none when frozen quarters forbid it)


def _new_version_name(effective_from: date) -> str:
    return f"{effective_from.year}年列养里程"


def _mileage_start(written: list[tuple[Row, int]], effective: date | None, complete: bool) -> _MileageStart:
    """Read before the new segments' COPY starts (on PostgreSQL it then runs behind the
    computing). Nothing here reads them: the register's own segments are read with the file's
    left out, since its rows replace them."""
    db.session.flush()  # new villages and changed segments
    target = mileage.version_at(effective) if effective else mileage.latest_version()
    new_date = effective or (target.effective_from if target else date(beijing_today().year, 1, 1))
    previous = None if target else mileage.previous_version(new_date)
    if target is not None:
        before, base_name = mileage.version_entries(target), target.name
        base = before
    elif previous is not None:
        before, base_name = mileage.version_entries(previous), previous.name
        base = before
    else:
        # The first version starts from the register; the file's own segments are replaced by
        # its rows, and a complete file replaces everything, so neither is read back.
        before, base_name = {}, None
        base = {} if complete else mileage.register_entries(skip={segment_id for _, segment_id in written})
    hits = mileage.frozen_for(new_date, existing=target is not None)
    created = None
    if target is None and not hits:
        # Made here, not once the difference is known, so its INSERT does not wait for the COPYs:
        # a version that does not exist yet is always written (unless frozen quarters forbid it).
        created = MileageVersion(name=_new_version_name(new_date), effective_from=new_date)
        db.session.add(created)
        db.session.flush()
    return _MileageStart(target, new_date, before, base_name, base, hits, created)


def _mileage(
    start: _MileageStart,
    written: list[tuple[Row, int]],
    roads: dict[str, int],
    register: Register,
    rows: list[Row],
    effective: date | None,
    complete: bool,
    counts: Counts,
    behind: CopyBehind,
) -> VersionOutcome:
    """Bring the file into the 列养里程 version it belongs to (re-set every two years, 第十五条).

    A version is complete: with --effective D the file goes into the version dated D, or a
    new one that starts from the version in force before D (with none, from the whole
    register); without, into the latest version. A partial file changes only its own
    segments; ``complete`` removes the others from the version.
    """
    target, new_date, before, base_name = start.target, start.new_date, start.before, start.base_name
    after = merge_version(start.base, _file_entries(written), complete)
    after = _with_road_classes(after, roads, register, rows)
    diff = mileage.diff(before, after)
    villages = [*register.villages_by_code.values(), *(v.created for v in register.new_villages.values() if v.created)]
    by_id = {segment_id: row for row, segment_id in written}
    # The file's own rows name their segments: no query waits for the segments' COPY.
    names = mileage.Names(
        set(register.towns.values()),
        villages,
        set(register.stations.values()),
        segment_label=lambda i: f"{row.road_code} {row.stakes}" if (row := by_id.get(i)) else None,
    )
    lines = mileage.describe(diff, names=names)
    name = target.name if target else _new_version_name(new_date)
    if target is not None and diff.is_empty:
        return VersionOutcome(name, base_name, diff, lines)
    hits = start.hits
    if hits:
        if effective is not None:
            reason = mileage.frozen_refusal(hits, new_date)
            raise ImportFailed(f"导入失败：{reason}，未写入任何数据", [RowError(0, "列养里程版本", reason)])
        return VersionOutcome(
            name,
            base_name,
            diff,
            lines,
            frozen=_frozen_note(target, hits)
            if target
            else f"未创建列养里程版本：{frozen_message(hits)}，请加 --effective 日期 新建版本",
        )
    version = target or start.created
    assert version is not None  # _mileage_start made one wherever no quarter is frozen
    changes = mileage.changes(before if target else {}, after)
    write_mileage(changes, version, counts, created=target is None, insert=behind.insert)
    mileage.record_version_change(version, diff, created=target is None)
    return VersionOutcome(name, base_name, diff, lines)


def write_rows(
    rows: list[Row], register: Register, effective: date | None, complete: bool, progress: Progress | None
) -> tuple[Counts, VersionOutcome]:
    counts = Counts()
    if db.session.get_bind().dialect.name == "postgresql":
        # The import's commit need not wait for the WAL flush (a crash loses at most the import, whole:
        # it is one transaction); checks, constraints and triggers are unchanged.
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
    _create_villages(register, counts)
    db.session.flush()  # the new villages' ids, for the bulk inserts
    # Large writes run behind (PostgreSQL): the server's work on one table overlaps the Python
    # that prepares the next. Leaving the block waits for them all, before anything commits.
    with CopyBehind() as behind:
        roads, new_roads = _upsert_roads(rows, register, counts, behind)
        # The roads' COPY runs while the segment rows are built; its one read is the register's
        # villages, roads and segments, all loaded before.
        behind.insert(Road.__table__, new_roads)
        written, new_segments, shapes = _upsert_segments(rows, roads, register, counts, progress, behind)
        start = _mileage_start(written, effective, complete)
        _queue_new_segments(new_segments, shapes, behind)
        outcome = _mileage(start, written, roads, register, rows, effective, complete, counts, behind)
    return counts, outcome
