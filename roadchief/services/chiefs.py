"""Who answers for a segment, at every level, on a given day (第五条、第六条、第八条)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from roadchief.domain.clock import beijing_today
from roadchief.domain.roads import CHIEF_POSITIONS, REQUIRED_CHIEF_LEVEL
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Road, Segment

POSITION_NAMES = {p.code: p.name for p in CHIEF_POSITIONS}
POSITION_ORDER = {p.code: i for i, p in enumerate(CHIEF_POSITIONS)}
# Positions a city-wide assignment brings to a segment of each class: the 市、镇道路长
# answers for 市道 and 镇道 only (第五条).
CITY_POSITIONS_BY_CLASS = {
    "市道": ("chief_total", "chief_deputy_total", "city", "city_deputy", "city_town_roads"),
    "镇道": ("chief_total", "chief_deputy_total", "city", "city_deputy", "city_town_roads"),
    "村道": ("chief_total", "chief_deputy_total", "city", "city_deputy"),
    "专用公路": ("chief_total", "chief_deputy_total", "city", "city_deputy"),
}
TOWN_POSITIONS = ("town", "area")


@dataclass(frozen=True)
class ChiefOnSegment:
    chief: Chief
    position: str
    scope_kind: str

    @property
    def position_name(self) -> str:
        return POSITION_NAMES[self.position]


class AssignmentIndex:
    """All assignments active on a day, indexed by scope, so resolving thousands of
    segments costs one query."""

    def __init__(self, day: date):
        self.day = day
        self.by_scope: dict[tuple[str, int | None], list[ChiefAssignment]] = defaultdict(list)
        rows = db.session.scalars(
            select(ChiefAssignment)
            .options(selectinload(ChiefAssignment.chief))
            .where(
                ChiefAssignment.start_date <= day,
                or_(ChiefAssignment.end_date.is_(None), ChiefAssignment.end_date >= day),
            )
        )
        for a in rows:
            target = {
                "city": None,
                "town": a.town_id,
                "village": a.village_id,
                "station": a.station_id,
                "road": a.road_id,
                "segment": a.segment_id,
            }[a.scope_kind]
            self.by_scope[(a.scope_kind, target)].append(a)

    def chiefs_for(self, segment: Segment, road_class: str | None = None) -> list[ChiefOnSegment]:
        road_class = road_class or segment.road.road_class
        found: list[ChiefOnSegment] = []

        def add(kind, target, positions=None):
            for a in self.by_scope.get((kind, target), ()):
                if positions is None or a.chief.position in positions:
                    found.append(ChiefOnSegment(a.chief, a.chief.position, kind))

        add("city", None, CITY_POSITIONS_BY_CLASS[road_class])
        if segment.station_id:
            add("station", segment.station_id)
        # 镇道 and 村道 are managed by the towns and villages (第八条 镇村道镇村管);
        # a town's chief also answers for the 市道 and 专用公路 passing through it.
        add("town", segment.town_id, TOWN_POSITIONS)
        if segment.village_id:
            add("village", segment.village_id, ("village",))
        add("road", segment.road_id)
        add("segment", segment.id)
        found.sort(key=lambda c: (POSITION_ORDER[c.position], c.chief.name))
        return found

    def missing_levels(self, segment: Segment, road_class: str | None = None) -> list[str]:
        """Required positions (第八条) with nobody assigned on this day."""
        road_class = road_class or segment.road.road_class
        required = REQUIRED_CHIEF_LEVEL.get(road_class)
        if not required:
            return []
        have = {c.position for c in self.chiefs_for(segment, road_class)}
        return [] if required in have else [required]


@dataclass(frozen=True)
class CoverageGap:
    segment: Segment
    missing: list[str]

    @property
    def missing_names(self) -> list[str]:
        return [POSITION_NAMES[p] for p in self.missing]


def coverage_gaps(day: date | None = None, town_id: int | None = None) -> list[CoverageGap]:
    """Listed 镇道/村道 segments lacking a chief at a level they need (第八条)."""
    index = AssignmentIndex(day or beijing_today())
    query = (
        select(Segment)
        .join(Road)
        .options(selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
        .where(Segment.is_listed.is_(True), Road.road_class.in_(tuple(REQUIRED_CHIEF_LEVEL)))
        .order_by(Road.code, Segment.start_m)
    )
    if town_id:
        query = query.where(Segment.town_id == town_id)
    gaps = []
    for segment in db.session.scalars(query):
        missing = index.missing_levels(segment)
        if missing:
            gaps.append(CoverageGap(segment, missing))
    return gaps
