"""Read models of the register: listed mileage by class and town."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from roadchief.domain.roads import ROAD_CLASSES
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town

KM = Decimal("0.001")
# 第十五条 funds the 镇村道 (镇道 + 村道) — the measures' 1166.255 km.
FUNDED_CLASSES = ("镇道", "村道")


def km_text(metres: int) -> str:
    return str((Decimal(metres) / 1000).quantize(KM))


def _by_class(metres: dict[str, int]) -> dict[str, str]:
    result = {cls: km_text(metres.get(cls, 0)) for cls in ROAD_CLASSES}
    result["镇村道"] = km_text(sum(metres.get(c, 0) for c in FUNDED_CLASSES))
    result["total"] = km_text(sum(metres.values()))
    return result


def network_summary(town_id: int | None = None) -> dict:
    """Listed km (列养里程, segments flagged listed) by class, by town and overall."""
    query = (
        select(Town.code, Town.name, Road.road_class, func.sum(Segment.listed_m), func.count(Segment.id))
        .join(Segment, Segment.town_id == Town.id)
        .join(Road, Segment.road_id == Road.id)
        .where(Segment.is_listed.is_(True))
        .group_by(Town.code, Town.name, Road.road_class)
    )
    if town_id:
        query = query.where(Town.id == town_id)
    per_town: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    overall: dict[str, int] = defaultdict(int)
    for code, name, road_class, metres, count in db.session.execute(query):
        per_town[(code, name)][road_class] = int(metres)
        counts[(code, name)] += count
        overall[road_class] += int(metres)
    towns = [
        {"code": code, "name": name, "segments": counts[(code, name)], "listed_km": _by_class(metres)}
        for (code, name), metres in sorted(per_town.items())
    ]
    segment_query = select(func.count(Segment.id), func.count(func.distinct(Segment.road_id)))
    unlisted_query = select(func.count(Segment.id)).where(Segment.is_listed.is_(False))
    if town_id:
        segment_query = segment_query.where(Segment.town_id == town_id)
        unlisted_query = unlisted_query.where(Segment.town_id == town_id)
    segments, roads = db.session.execute(segment_query).one()
    return {
        "listed_km": _by_class(overall),
        "segments": segments,
        "roads": roads,
        "unlisted_segments": db.session.scalar(unlisted_query),
        "towns": towns,
    }


def format_summary(summary: dict) -> str:
    lines = [
        f"路线 {summary['roads']} 条，路段 {summary['segments']} 段（其中未列养 {summary['unlisted_segments']} 段）",
        "列养里程（km）：",
    ]
    for cls in (*ROAD_CLASSES, "镇村道", "total"):
        label = "合计" if cls == "total" else cls
        lines.append(f"  {label:<6}{summary['listed_km'][cls]:>12}")
    lines.append("按乡镇（镇道 / 村道 / 合计 km）：")
    for town in summary["towns"]:
        km = town["listed_km"]
        lines.append(f"  {town['name']:<6}{km['镇道']:>10}{km['村道']:>10}{km['total']:>10}")
    return "\n".join(lines)


@dataclass
class SnapshotResult:
    name: str
    effective_from: date
    count: int  # segments in the version
    base: str | None  # the version in force before, which the difference is against
    diff: object  # roadchief.domain.mileage.MileageDiff
    lines: list[str]
    version: object | None = None  # the MileageVersion written (None for a preview)


def snapshot_mileage(effective: date, name: str | None = None, dry_run: bool = False) -> SnapshotResult:
    """Keep the register's current 列养里程 — every segment with its class, paying unit and
    listed metres — as a new version in force from ``effective`` (第十五条: re-set every
    two years); earlier years keep theirs. Refused when it would change the version of a
    year having an approved quarter. ``dry_run`` only computes the difference against the
    version in force before."""
    from roadchief.models import MileageVersion
    from roadchief.services import Conflict, ServiceError, mileage
    from roadchief.services.transactions import unit_of_work

    name = name or f"{effective.year}年列养里程"
    if mileage.version_at(effective) is not None:
        raise Conflict(
            f"{effective.isoformat()} 已有列养里程版本（如需调整该版本，请用 import-roads --effective "
            f"{effective.isoformat()} 导入文件）"
        )
    hits = mileage.frozen_for(effective, existing=False)
    if hits:
        raise ServiceError(mileage.frozen_refusal(hits, effective))
    previous = mileage.previous_version(effective)
    before = mileage.version_entries(previous) if previous else {}
    after = mileage.register_entries()
    diff = mileage.diff(before, after)
    result = SnapshotResult(
        name, effective, len(after), previous.name if previous else None, diff, mileage.describe(diff)
    )
    if dry_run:
        db.session.rollback()
        return result
    with unit_of_work():
        version = MileageVersion(name=name, effective_from=effective)
        db.session.add(version)
        db.session.flush()
        mileage.apply_changes(version, mileage.changes({}, after))
        mileage.record_version_change(version, diff, created=True)
    result.version = version
    return result
