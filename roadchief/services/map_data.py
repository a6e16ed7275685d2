"""GeoJSON for the map: filtered in SQL by bbox/class/town/scope, geometry taken from
the band pre-simplified at import for the requested zoom (never simplified per request).

The stored geometry is already GeoJSON text, so features are assembled as text
around it: parsing and re-serialising every coordinate would dominate the time.
"""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import bindparam, or_, select

from roadchief.domain.clock import beijing_today
from roadchief.domain.grades import grade_for
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment, Station, Town, Village
from roadchief.models.spatial import MAX_QUERY_CELLS, SegmentCell, cells_for_bbox
from roadchief.services.permissions import segment_condition, segment_scope
from roadchief.services.units import latest_scores, unit_key_for_segment

SEARCH_LIMIT = 500  # a search answers a road's or a village's segments, never a province's
ZOOM_BANDS = "zoom ≤ 10 用低精度，11–13 用中精度，≥ 14 用全精度"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _grades() -> dict[str, tuple[str, str, str]]:
    return {key: (period, f"{score:.2f}", grade_for(score)) for key, (period, score) in latest_scores().items()}


@lru_cache(maxsize=64)
def _statement(band: str, scope: str, bbox: bool, cells: bool, road_class: bool, town: bool, q: bool = False):
    """The query for one combination of filters, with bound parameters: building SQL
    expressions costs more than running the query on a small viewport, so build each shape once."""
    geometry = {"low": Segment.geometry_low, "mid": Segment.geometry_mid, "full": Segment.geometry}[band]
    query = (
        select(
            Segment.id,
            Segment.start_m,
            Segment.end_m,
            Segment.listed_m,
            Segment.is_listed,
            Segment.tech_grade,
            Segment.surface,
            Segment.width_dm,
            Station.code,
            Station.name,
            Road.code,
            Road.name,
            Road.road_class,
            Town.code,
            Town.name,
            Village.code,
            Village.name,
            geometry,
        )
        .join(Road, Segment.road_id == Road.id)
        .join(Town, Segment.town_id == Town.id)
        .outerjoin(Village, Segment.village_id == Village.id)
        .outerjoin(Station, Segment.station_id == Station.id)
        .order_by(Segment.id)
    )
    if scope == "town":
        query = query.where(Segment.town_id == bindparam("scope_town"))
    if bbox:
        query = query.where(
            Segment.max_lon >= bindparam("min_lon"),
            Segment.min_lon <= bindparam("max_lon"),
            Segment.max_lat >= bindparam("min_lat"),
            Segment.min_lat <= bindparam("max_lat"),
        )
    if cells:  # a viewport: go through the grid index instead of scanning
        query = query.where(
            Segment.id.in_(
                select(SegmentCell.segment_id).where(SegmentCell.cell.in_(bindparam("cells", expanding=True)))
            )
        )
    if road_class:
        query = query.where(Road.road_class == bindparam("road_class"))
    if town:
        query = query.where(or_(Town.code == bindparam("town"), Town.name == bindparam("town")))
    if q:
        pattern = bindparam("q")
        query = query.where(
            or_(
                Road.code.ilike(pattern, escape="\\"),
                Road.name.ilike(pattern, escape="\\"),
                Village.name.ilike(pattern, escape="\\"),
                Town.name.ilike(pattern, escape="\\"),
            )
        ).limit(SEARCH_LIMIT)
    return query


def _band(zoom: int) -> str:
    return "low" if zoom <= 10 else "mid" if zoom <= 13 else "full"


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def segments_geojson_text(
    user, bbox=None, road_class=None, town=None, zoom: int = 12, q: str | None = None
) -> tuple[str, int]:
    """The FeatureCollection as JSON text, and its feature count."""
    params: dict = {"road_class": road_class, "town": town, "q": _like(q.strip()) if q and q.strip() else None}
    visible = segment_scope(user)
    if visible == "all":
        scope = "all"
    elif visible == "town":
        scope, params["scope_town"] = "town", user.town_id
    else:
        scope = "custom"  # chiefs: their assignments decide (rare, and small)
    cells = None
    if bbox:
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), bbox))
        cells = cells_for_bbox(*bbox, limit=MAX_QUERY_CELLS)
        params["cells"] = cells
    query = _statement(
        _band(zoom),
        "all" if scope == "custom" else scope,
        bool(bbox),
        cells is not None,
        bool(road_class),
        bool(town),
        bool(params["q"]),
    )
    if scope == "custom":
        query = query.where(segment_condition(user))
    rows = db.session.execute(query, {k: v for k, v in params.items() if v is not None})
    grades = _grades()
    parts = []
    for (
        seg_id,
        start_m,
        end_m,
        listed_m,
        is_listed,
        tech_grade,
        surface,
        width_dm,
        station_code,
        station_name,
        code,
        name,
        road_class_,
        town_code,
        town_name,
        village_code,
        village_name,
        geom,
    ) in rows:
        key = unit_key_for_segment(road_class_, town_code, village_code, station_code)
        period, score, grade = grades.get(key, (None, None, None)) if key else (None, None, None)
        properties = _dumps(
            {
                "id": seg_id,
                "code": code,
                "name": name,
                "class": road_class_,
                "start_m": start_m,
                "end_m": end_m,
                # K-form stakes and the register's attributes, so the export imports back losslessly
                "start_stake": format_stake(start_m),
                "end_stake": format_stake(end_m),
                "listed_km": _km(listed_m),
                "listed": is_listed,
                "tech_grade": tech_grade,
                "surface": surface,
                "width_m": None if width_dm is None else f"{width_dm // 10}.{width_dm % 10}",
                "station": station_name,
                "town": town_name,
                "town_code": town_code,
                "village": village_name,
                "score": score,
                "grade": grade,
                "period": period,
            }
        )
        parts.append(f'{{"type":"Feature","id":{seg_id},"geometry":{geom},"properties":{properties}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}", len(parts)


def _km(metres: int) -> str:
    whole, rest = divmod(metres, 1000)
    return f"{whole}.{rest:03d}"


def segment_detail(segment: Segment, day=None) -> dict:
    """What a map popup shows about one segment: attributes, chiefs at every level, latest grade."""
    from roadchief.services.chiefs import POSITION_NAMES, AssignmentIndex

    index = AssignmentIndex(day or beijing_today())
    key = unit_key_for_segment(
        segment.road.road_class,
        segment.town.code,
        segment.village.code if segment.village else None,
        segment.station.code if segment.station else None,
    )
    latest = latest_scores().get(key) if key else None
    return {
        "id": segment.id,
        "code": segment.road.code,
        "name": segment.road.name,
        "class": segment.road.road_class,
        "start": format_stake(segment.start_m),
        "end": format_stake(segment.end_m),
        "listed_km": _km(segment.listed_m),
        "measured_km": _km(segment.measured_m),
        "listed": segment.is_listed,
        "tech_grade": segment.tech_grade,
        "surface": segment.surface,
        "town": segment.town.name,
        "village": segment.village.name if segment.village else None,
        "station": segment.station.name if segment.station else None,
        "chiefs": [
            {
                "position": c.position,
                "position_name": c.position_name,
                "name": c.chief.name,
                "title": c.chief.title,
                "phone": c.chief.phone,
                "chief_id": c.chief.id,
            }
            for c in index.chiefs_for(segment)
        ],
        "missing": [POSITION_NAMES[p] for p in index.missing_levels(segment)],
        "score": f"{latest[1]:.2f}" if latest else None,
        "grade": grade_for(latest[1]) if latest else None,
        "period": latest[0] if latest else None,
    }
