"""Mileage versions (列养里程版本) in the database: reading a version or the register as
complete snapshots, the approved-quarter freeze, writing a version's changes and
naming a difference for people (rules in roadchief.domain.mileage; 第十五条)."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from datetime import date

from sqlalchemy import delete, select

from roadchief.domain.mileage import (
    MileageDiff,
    MileageEntry,
    describe_diff,
    frozen_message,
    frozen_years,
    mileage_diff,
)
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import MileageVersion, QuarterClose, Road, Segment, SegmentMileage, Station, Town, Village
from roadchief.services.audit import record_event

_IN_CHUNK = 500

# One change to a version: (segment id, entry) writes the entry, (segment id, None) removes the segment.
Change = tuple[int, "MileageEntry | None"]


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def version_dates() -> list[date]:
    return list(db.session.scalars(select(MileageVersion.effective_from).order_by(MileageVersion.effective_from)))


def version_at(effective: date) -> MileageVersion | None:
    return db.session.scalar(select(MileageVersion).where(MileageVersion.effective_from == effective))


def latest_version() -> MileageVersion | None:
    return db.session.scalar(select(MileageVersion).order_by(MileageVersion.effective_from.desc()).limit(1))


def previous_version(effective: date) -> MileageVersion | None:
    """The version in force just before ``effective``: a new version starts from it."""
    return db.session.scalar(
        select(MileageVersion)
        .where(MileageVersion.effective_from < effective)
        .order_by(MileageVersion.effective_from.desc())
        .limit(1)
    )


def version_entries(version: MileageVersion) -> dict[int, MileageEntry]:
    query = select(
        SegmentMileage.segment_id,
        SegmentMileage.road_class,
        SegmentMileage.town_id,
        SegmentMileage.village_id,
        SegmentMileage.station_id,
        SegmentMileage.listed_m,
        SegmentMileage.is_listed,
    ).where(SegmentMileage.version_id == version.id)
    return {
        seg: MileageEntry(cls, town, village, station, int(metres), bool(listed))
        for seg, cls, town, village, station, metres, listed in db.session.execute(query)
    }


def register_entries(skip: Container[int] = ()) -> dict[int, MileageEntry]:
    """Every segment of the register with its current class, unit and listed metres; the
    segments in ``skip`` (an import's own rows, which replace them anyway) left out."""
    query = select(
        Segment.id,
        Road.road_class,
        Segment.town_id,
        Segment.village_id,
        Segment.station_id,
        Segment.listed_m,
        Segment.is_listed,
    ).join(Road, Segment.road_id == Road.id)
    return {
        seg: MileageEntry(cls, town, village, station, int(metres), bool(listed))
        for seg, cls, town, village, station, metres, listed in db.session.execute(query)
        if seg not in skip
    }


def closed_by_year() -> dict[int, list[int]]:
    closed: dict[int, list[int]] = {}
    for year, quarter in db.session.execute(select(QuarterClose.year, QuarterClose.quarter)):
        closed.setdefault(year, []).append(quarter)
    return closed


def frozen_for(effective: date, existing: bool) -> list[tuple[int, list[int]]]:
    """Years with an approved quarter whose plan a change would alter: changing the version
    dated ``effective`` (``existing``), or creating one there, which moves years to it."""
    closed = closed_by_year()
    if not closed:
        return []
    dates = version_dates()
    if existing:
        return frozen_years(closed, dates, dates, changed=effective)
    return frozen_years(closed, dates, dates + [effective])


def frozen_refusal(hits: list[tuple[int, list[int]]], effective: date) -> str:
    return (
        f"{frozen_message(hits)}，该年度计划与拨付所用的列养里程已冻结，不能新建或修改自 "
        f"{effective.isoformat()} 起的列养里程版本（第十七条 按季度拨付，已拨付数据冻结）；"
        f"请选择在这些年度之后生效的日期"
    )


def changes(before: dict[int, MileageEntry], after: dict[int, MileageEntry]) -> list[Change]:
    """What to write to turn a version holding ``before`` into ``after``."""
    if not before:  # a new version: every row is written (and no entry is compared with None)
        return list(after.items())
    written = [(seg, entry) for seg, entry in after.items() if before.get(seg) != entry]
    return written + [(seg, None) for seg in before if seg not in after]


def _values(version_id: int, segment_id: int, entry: MileageEntry) -> dict:
    return {
        "version_id": version_id,
        "segment_id": segment_id,
        "road_class": entry.road_class,
        "town_id": entry.town,
        "village_id": entry.village,
        "station_id": entry.station,
        "listed_m": entry.listed_m,
        "is_listed": entry.is_listed,
    }


def apply_changes(version: MileageVersion, to_write: list[Change], created: bool = False, insert=None) -> None:
    """Write the changes: one bulk statement per kind (rows present are replaced; a version
    holding no rows yet, such as one just ``created``, needs no deletes). ``insert`` writes the
    new rows (default: bulk.insert_rows; the importer passes its CopyBehind's)."""
    removed = [seg for seg, entry in to_write if entry is None]
    written = [(seg, entry) for seg, entry in to_write if entry is not None]
    held = None
    if not created:
        held = db.session.scalar(select(SegmentMileage.id).where(SegmentMileage.version_id == version.id).limit(1))
    replaced = removed + [seg for seg, _ in written] if held is not None else []
    for chunk in _chunks(replaced):
        db.session.execute(
            delete(SegmentMileage)
            .where(SegmentMileage.version_id == version.id, SegmentMileage.segment_id.in_(chunk))
            .execution_options(synchronize_session=False)  # no SegmentMileage is held as an object
        )
    if written:
        if insert is None:
            from roadchief.services.bulk import insert_rows as insert

        # COPY / core executemany: the ORM bulk path splits its batches at every None
        insert(SegmentMileage.__table__, [_values(version.id, seg, entry) for seg, entry in written])


def record_version_change(version: MileageVersion, diff: MileageDiff, created: bool) -> None:
    """Mileage decides money (第十五条): every version change goes into the audit log."""

    def totals(by_class: dict) -> dict:
        return {cls: f"{metres / 1000:.3f}" for cls, metres in sorted(by_class.items())}

    note = (
        f"{'新建' if created else '调整'}列养里程版本“{version.name}”（{version.effective_from.isoformat()} 起）："
        f"新增 {len(diff.added)} 段，移除 {len(diff.removed)} 段，变更 {len(diff.changed)} 段"
    )
    record_event(
        db.session,
        "mileage_version",
        version.id,
        note,
        before=totals(diff.class_before),
        after=totals(diff.class_after),
    )


class Names:
    """Names of towns, units and segments for printing a difference (loaded once)."""

    def __init__(
        self,
        towns: Iterable[Town] | None = None,
        villages: Iterable[Village] | None = None,
        stations: Iterable[Station] | None = None,
        segment_label: Callable[[int], str | None] | None = None,
    ):
        """Pass the towns, villages and stations already loaded to spare the queries, and the
        segment labels the caller already has (an import's own rows): load_segments asks
        ``segment_label`` first and queries only for the rest."""

        def names(model, given):
            rows = given if given is not None else db.session.scalars(select(model))
            return {row.id: row.name for row in rows}

        self.towns = names(Town, towns)
        self.villages = names(Village, villages)
        self.stations = names(Station, stations)
        self.segments: dict[int, str] = {}
        self._segment_label = segment_label

    def town(self, town_id) -> str | None:
        return self.towns.get(town_id)

    def unit(self, entry: MileageEntry) -> str:
        name = self.towns.get(entry.town, str(entry.town))
        if entry.village is not None:
            name += self.villages.get(entry.village, str(entry.village))
        if entry.station is not None:
            name += f"（{self.stations.get(entry.station, entry.station)}）"
        return name

    def load_segments(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if self._segment_label is not None:
            for i in ids:
                if i not in self.segments and (label := self._segment_label(i)) is not None:
                    self.segments[i] = label
        ids = [i for i in ids if i not in self.segments]
        for chunk in _chunks(ids):
            query = (
                select(Segment.id, Road.code, Segment.start_m, Segment.end_m).join(Road).where(Segment.id.in_(chunk))
            )
            for seg, code, start, end in db.session.execute(query):
                self.segments[seg] = f"{code} {format_stake(start)}—{format_stake(end)}"

    def segment(self, segment_id) -> str:
        return self.segments.get(segment_id, f"路段 {segment_id}")


def diff(before: dict[int, MileageEntry], after: dict[int, MileageEntry]) -> MileageDiff:
    """The difference with town sums over the classes the plan funds (镇道, 村道; 第十五条)."""
    from roadchief.services.network import FUNDED_CLASSES

    return mileage_diff(before, after, FUNDED_CLASSES)


def describe(diff: MileageDiff, examples: int = 5, names: Names | None = None) -> list[str]:
    names = names or Names()
    names.load_segments([*diff.added[:examples], *diff.removed[:examples], *diff.changed[:examples]])
    return describe_diff(diff, names.town, names.segment, names.unit, examples)
