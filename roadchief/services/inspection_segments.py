"""Where an inspection is recorded: GPS distance to a segment, the segments near a point or
found by name that a user may record on, and the 路产 on them (the field form's helpers)."""

from __future__ import annotations

import json
from datetime import date

from shapely import transform as shapely_transform
from shapely.geometry import Point, shape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.clock import beijing_today
from roadchief.domain.lengths import projected_transformer
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Segment, Town, Village
from roadchief.models.inspections import LAT_RANGE, LON_RANGE
from roadchief.models.operations import RoadAsset
from roadchief.services import ServiceError
from roadchief.services.inspection_scope import record_condition

GPS_WARNING_M = 500
NEAREST_MARGIN_DEG = 0.01  # ≈ 1.1 km north–south, 0.9 km east–west at 38°N
MAX_SEGMENTS = 10
MAX_ID = 2**31 - 1


# ================================================================== GPS


def point_distance_m(lon: float, lat: float, geometry: str | dict) -> int:
    """Distance in whole metres from a lon/lat point to a segment's line, measured in
    EPSG:4544 (the projection the register's lengths use, see domain.lengths)."""
    transformer = projected_transformer()
    line = shape(json.loads(geometry) if isinstance(geometry, str) else geometry)

    def to_plane(coords):
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        coords = coords.copy()
        coords[:, 0], coords[:, 1] = x, y
        return coords

    x, y = transformer.transform(lon, lat)
    return int(round(shapely_transform(line, to_plane).distance(Point(x, y))))


def distance_warning(
    lon: float | None, lat: float | None, geometry: str | dict, limit: int = GPS_WARNING_M
) -> int | None:
    """The distance in metres when the point is more than ``limit`` from the segment, else None."""
    if lon is None or lat is None:
        return None
    distance = point_distance_m(lon, lat, geometry)
    return distance if distance > limit else None


def clean_point(lon, lat) -> tuple[float | None, float | None]:
    if lon in (None, "") and lat in (None, ""):
        return None, None
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ServiceError("定位坐标不正确：经度和纬度须同时为数字") from None
    if not (LON_RANGE[0] <= lon_f <= LON_RANGE[1] and LAT_RANGE[0] <= lat_f <= LAT_RANGE[1]):
        raise ServiceError(f"定位点（{lon_f:.5f}, {lat_f:.5f}）不在青铜峡市范围内")
    return round(lon_f, 6), round(lat_f, 6)


def segment_label(segment: Segment) -> str:
    place = segment.village.name if segment.village else segment.town.name
    return (
        f"{segment.road.code} {segment.road.name} {format_stake(segment.start_m)}–{format_stake(segment.end_m)}"
        f"（{place}）"
    )


def segment_json(segment: Segment, distance: int | None = None) -> dict:
    return {
        "id": segment.id,
        "label": segment_label(segment),
        "road_code": segment.road.code,
        "road_name": segment.road.name,
        "road_class": segment.road.road_class,
        "start": format_stake(segment.start_m),
        "end": format_stake(segment.end_m),
        "town": segment.town.name,
        "village": segment.village.name if segment.village else None,
        "distance_m": distance,
        "far": distance is not None and distance > GPS_WARNING_M,
    }


def nearest_segments(user, lon: float, lat: float, limit: int = 8) -> list[dict]:
    """The user's recordable segments nearest to a point: bounding boxes within ~1 km
    (widened to ~5 km when nothing is that close), then exact distances."""
    lon, lat = clean_point(lon, lat)
    if lon is None:
        raise ServiceError("请提供定位点经纬度（lon、lat）")
    options = (selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
    for margin in (NEAREST_MARGIN_DEG, NEAREST_MARGIN_DEG * 5):
        candidates = db.session.scalars(
            select(Segment)
            .options(*options)
            .where(
                record_condition(user, beijing_today()),
                Segment.min_lon <= lon + margin,
                Segment.max_lon >= lon - margin,
                Segment.min_lat <= lat + margin,
                Segment.max_lat >= lat - margin,
            )
        ).all()
        if candidates:
            break
    ranked = sorted(((point_distance_m(lon, lat, s.geometry), s) for s in candidates), key=lambda p: (p[0], p[1].id))
    return [segment_json(s, d) for d, s in ranked[:limit]]


def chosen_segments(user, ids: list[int], day: date) -> list[dict]:
    """Segments already picked (a re-shown form, or a link from a segment page) that the user may record on."""
    ids = [i for i in ids if 1 <= i <= MAX_ID]
    if not ids:
        return []
    rows = db.session.scalars(
        select(Segment)
        .options(selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
        .where(Segment.id.in_(ids), record_condition(user, day))
    )
    return [segment_json(s) for s in rows]


def search_segments(user, text: str, limit: int = 20) -> list[dict]:
    """Segments by road code or name, village or town name (no GPS)."""
    from roadchief.models import Road

    like = f"%{text.strip()}%"
    if not text.strip():
        return []
    rows = db.session.scalars(
        select(Segment)
        .join(Road)
        .join(Town, Segment.town_id == Town.id)
        .outerjoin(Village, Segment.village_id == Village.id)
        .options(selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
        .where(
            record_condition(user, beijing_today()),
            Road.code.ilike(like) | Road.name.ilike(like) | Village.name.ilike(like) | Town.name.ilike(like),
        )
        .order_by(Road.code, Segment.start_m)
        .limit(limit)
    )
    return [segment_json(s) for s in rows]


def assets_on_segments(user, segment_ids: list[int], day: date | None = None) -> list[dict]:
    """路产 on the given segments the user may record on, for the field form's select."""
    ids = [i for i in segment_ids if 1 <= i <= MAX_ID][: MAX_SEGMENTS * 5]
    if not ids:
        return []
    from roadchief.models import Road

    rows = db.session.scalars(
        select(RoadAsset)
        .join(Segment, RoadAsset.segment_id == Segment.id)
        .join(Road, Segment.road_id == Road.id)
        .options(selectinload(RoadAsset.segment).selectinload(Segment.road))
        .where(RoadAsset.segment_id.in_(ids), record_condition(user, day or beijing_today()))
        .order_by(Road.code, RoadAsset.stake_m, RoadAsset.code)
        .limit(500)
    )
    return [asset_json(a) for a in rows]


def asset_json(asset: RoadAsset) -> dict:
    stake = format_stake(asset.stake_m) if asset.stake_m is not None else ""
    return {
        "id": asset.id,
        "segment_id": asset.segment_id,
        "code": asset.code,
        "label": " ".join(p for p in (asset.code, asset.kind_label, asset.name, stake) if p),
    }
