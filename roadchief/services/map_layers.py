"""Map layers beside the road lines: inspection and rectification markers, town
outlines and the segments lacking a required chief (coverage gaps).

Scope follows the rest of the app: markers use the inspection and rectification
read conditions of ``services.inspections`` (so a popup's link always opens), the
coverage gaps use ``segment_condition``. Town outlines are geography, computed
from the register and cached in-process until the register changes.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

from shapely import concave_hull, segmentize
from shapely import transform as shapely_transform
from shapely.geometry import LineString, MultiLineString, Polygon, mapping, shape
from shapely.ops import linemerge
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from roadchief.domain import clock, scoring
from roadchief.domain.lengths import projected_transformer
from roadchief.extensions import db
from roadchief.models import Segment, Town
from roadchief.models.inspections import Finding, Inspection, InspectionSegment, Rectification
from roadchief.services.permissions import bound_town_id, segment_condition

MAX_MARKERS = 3000  # per kind; the newest (inspections) / soonest due (rectifications) win
DEFAULT_DAYS = 365  # inspections of the last year by default
OUTLINE_BUFFER_M = 400  # the outline stands this far off the outermost roads
OUTLINE_DENSIFY_M = 250  # so the hull cannot cut across a long straight road
OUTLINE_RATIO = 0.3


# ------------------------------------------------------------------ geometry helpers


def _line(geometry_text: str):
    geom = shape(json.loads(geometry_text))
    if isinstance(geom, MultiLineString):
        merged = linemerge(geom)
        geom = merged if isinstance(merged, LineString) else max(merged.geoms, key=lambda g: g.length)
    return geom


def segment_midpoint(geometry_text: str) -> tuple[float, float] | None:
    """Lon/lat of the point half-way along a segment's line (its longest part when split)."""
    try:
        geom = _line(geometry_text)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if geom.is_empty:
        return None
    point = geom.interpolate(0.5, normalized=True)
    return round(point.x, 6), round(point.y, 6)


def _in_bbox(lon: float, lat: float, bbox) -> bool:
    return bbox is None or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])


def _bbox_overlaps_segment(bbox, segment=Segment):
    min_lon, min_lat, max_lon, max_lat = bbox
    return and_(
        segment.max_lon >= min_lon, segment.min_lon <= max_lon, segment.max_lat >= min_lat, segment.min_lat <= max_lat
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _inspection_url(inspection_id: int) -> str:
    from flask import has_request_context, url_for

    return (
        url_for("inspections.detail", inspection_id=inspection_id)
        if has_request_context()
        else f"/inspections/{inspection_id}"
    )


def _point_feature(lon: float, lat: float, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}


# ------------------------------------------------------------------ markers


def inspection_markers(
    user, bbox=None, days: int = DEFAULT_DAYS, now: datetime | None = None
) -> tuple[list[dict], bool]:
    """Inspections the user may read, at their GPS point (or the middle of their first
    segment when recorded without one). Returns (features, truncated)."""
    from roadchief.services.inspection_scope import inspection_condition, office_label

    now = now or clock.utcnow()
    query = (
        select(Inspection)
        .where(inspection_condition(user), Inspection.inspected_at >= now - timedelta(days=days))
        .options(
            selectinload(Inspection.findings), selectinload(Inspection.segments).selectinload(InspectionSegment.segment)
        )
        .order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
        .limit(MAX_MARKERS + 1)
    )
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        with_gps = and_(
            Inspection.lon.is_not(None),
            Inspection.lon.between(min_lon, max_lon),
            Inspection.lat.between(min_lat, max_lat),
        )
        without_gps = and_(
            Inspection.lon.is_(None),
            exists().where(
                InspectionSegment.inspection_id == Inspection.id,
                InspectionSegment.segment_id == Segment.id,
                _bbox_overlaps_segment(bbox),
            ),
        )
        query = query.where(or_(with_gps, without_gps))
    rows = list(db.session.scalars(query))
    truncated = len(rows) > MAX_MARKERS
    labels: dict[str, str] = {}
    features = []
    for inspection in rows[:MAX_MARKERS]:
        if inspection.lon is not None and inspection.lat is not None:
            lon, lat, located = inspection.lon, inspection.lat, "gps"
        else:
            segments = sorted(inspection.segments, key=lambda s: s.id)
            point = segment_midpoint(segments[0].segment.geometry_mid) if segments else None
            if point is None:
                continue
            (lon, lat), located = point, "segment"
        if not _in_bbox(lon, lat, bbox):
            continue
        if inspection.office_key not in labels:
            labels[inspection.office_key] = office_label(inspection.office_key)
        features.append(
            _point_feature(
                lon,
                lat,
                {
                    "layer": "inspection",
                    "id": inspection.id,
                    "kind": inspection.kind,
                    "kind_label": inspection.kind_label,
                    "date": scoring.local_date(_aware(inspection.inspected_at)).isoformat(),
                    "office": labels[inspection.office_key],
                    "inspector": inspection.inspector_name,
                    "findings": sum(1 for f in inspection.findings if f.quantity),
                    "segments": len(inspection.segments),
                    "located": located,
                    "url": _inspection_url(inspection.id),
                },
            )
        )
    return features, truncated


def rectification_markers(user, bbox=None, today: date | None = None) -> tuple[list[dict], bool]:
    """Rectifications not yet verified that the user may read, at their inspection's GPS
    point or the middle of the finding's segment. Returns (features, truncated)."""
    from roadchief.services.inspection_scope import rectification_condition
    from roadchief.services.inspection_segments import segment_label

    today = today or clock.beijing_today()
    # an alias: the scope condition has its own EXISTS over Segment, which must not correlate with this join
    place = aliased(Segment)
    query = (
        select(Rectification, Finding, Inspection, place)
        .join(Finding, Rectification.finding_id == Finding.id)
        .join(Inspection, Finding.inspection_id == Inspection.id)
        .join(place, Finding.segment_id == place.id)
        .where(rectification_condition(user), Rectification.state != scoring.VERIFIED)
        .options(
            selectinload(Rectification.chief),
            selectinload(Finding.item),
            selectinload(place.road),
            selectinload(place.town),
            selectinload(place.village),
        )
        .order_by(Rectification.deadline, Rectification.id)
        .limit(MAX_MARKERS + 1)
    )
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        with_gps = and_(
            Inspection.lon.is_not(None),
            Inspection.lon.between(min_lon, max_lon),
            Inspection.lat.between(min_lat, max_lat),
        )
        query = query.where(or_(with_gps, and_(Inspection.lon.is_(None), _bbox_overlaps_segment(bbox, place))))
    rows = list(db.session.execute(query))
    truncated = len(rows) > MAX_MARKERS
    features = []
    for rect, finding, inspection, segment in rows[:MAX_MARKERS]:
        if inspection.lon is not None and inspection.lat is not None:
            lon, lat, located = inspection.lon, inspection.lat, "gps"
        else:
            point = segment_midpoint(segment.geometry_mid)
            if point is None:
                continue
            (lon, lat), located = point, "segment"
        if not _in_bbox(lon, lat, bbox):
            continue
        features.append(
            _point_feature(
                lon,
                lat,
                {
                    "layer": "rectification",
                    "id": rect.id,
                    "inspection_id": inspection.id,
                    "status": rect.state,
                    "status_label": rect.state_label,
                    "deadline": rect.deadline.isoformat(),
                    "overdue": scoring.is_overdue(rect.state, rect.deadline, today),
                    "returned": rect.returned_count,
                    "item": finding.item.text,
                    "item_code": finding.item.code,
                    "segment": segment_label(segment),
                    "segment_id": segment.id,
                    "chief": rect.chief.name if rect.chief else None,
                    "located": located,
                    "url": _inspection_url(inspection.id),
                },
            )
        )
    return features, truncated


def markers_geojson(user, bbox=None, kind: str | None = None, days: int = DEFAULT_DAYS) -> dict:
    features: list[dict] = []
    truncated = False
    if kind in (None, "inspections"):
        found, cut = inspection_markers(user, bbox, days)
        features += found
        truncated |= cut
    if kind in (None, "rectifications"):
        found, cut = rectification_markers(user, bbox)
        features += found
        truncated |= cut
    return {"type": "FeatureCollection", "features": features, "truncated": truncated}


# ------------------------------------------------------------------ town outlines

_outline_lock = threading.Lock()
_outline_cache: dict[str, tuple[tuple, str]] = {}  # database URL -> (register stamp, GeoJSON text)


def _register_stamp() -> tuple:
    count, latest, max_id = db.session.execute(
        select(func.count(Segment.id), func.max(Segment.updated_at), func.max(Segment.id))
    ).one()
    return count, str(latest), max_id


def _outline(lines: list, transformer_fwd, transformer_inv) -> Polygon | None:
    projected = [shapely_transform(g, lambda xy: _apply(transformer_fwd, xy)) for g in lines]
    if not projected:
        return None
    collection = MultiLineString(
        [part for g in projected for part in (g.geoms if isinstance(g, MultiLineString) else [g])]
    )
    hull = concave_hull(segmentize(collection, OUTLINE_DENSIFY_M), ratio=OUTLINE_RATIO)
    outline = hull.buffer(OUTLINE_BUFFER_M, quad_segs=4).simplify(60)
    if outline.geom_type != "Polygon":  # a buffer of a connected hull is one polygon; be safe anyway
        outline = max(getattr(outline, "geoms", [outline]), key=lambda g: g.area)
    outline = Polygon(outline.exterior)  # no holes: an outline, not a mask
    back = shapely_transform(outline, lambda xy: _apply(transformer_inv, xy))
    return back


def _apply(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def towns_geojson_text() -> str:
    """Town outlines: a buffered concave hull of each town's roads, with the town's listed km."""
    url = str(db.engine.url)
    stamp = _register_stamp()
    cached = _outline_cache.get(url)
    if cached and cached[0] == stamp:
        return cached[1]
    with _outline_lock:
        cached = _outline_cache.get(url)
        if cached and cached[0] == stamp:
            return cached[1]
        text = _compute_towns()
        _outline_cache[url] = (stamp, text)
        return text


def _compute_towns() -> str:
    from pyproj import Transformer

    from roadchief.domain.lengths import GEOGRAPHIC_CRS, PROJECTED_CRS

    forward = projected_transformer()
    inverse = Transformer.from_crs(PROJECTED_CRS, GEOGRAPHIC_CRS, always_xy=True)
    towns = {t.id: t for t in db.session.scalars(select(Town))}
    lines: dict[int, list] = {}
    listed: dict[int, int] = {}
    counts: dict[int, int] = {}
    for town_id, geometry, listed_m, is_listed in db.session.execute(
        select(Segment.town_id, Segment.geometry_mid, Segment.listed_m, Segment.is_listed)
    ):
        try:
            lines.setdefault(town_id, []).append(shape(json.loads(geometry)))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        counts[town_id] = counts.get(town_id, 0) + 1
        if is_listed:
            listed[town_id] = listed.get(town_id, 0) + listed_m
    features = []
    for town_id in sorted(lines, key=lambda i: towns[i].code):
        outline = _outline(lines[town_id], forward, inverse)
        if outline is None or outline.is_empty:
            continue
        town = towns[town_id]
        metres = listed.get(town_id, 0)
        label = outline.representative_point() if not outline.centroid.within(outline) else outline.centroid
        geometry = mapping(outline)
        geometry = {
            "type": "Polygon",
            "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring] for ring in geometry["coordinates"]],
        }
        features.append(
            {
                "type": "Feature",
                "id": town.code,
                "geometry": geometry,
                "properties": {
                    "code": town.code,
                    "name": town.name,
                    "kind": town.kind,
                    "segments": counts.get(town_id, 0),
                    "listed_km": f"{metres // 1000}.{metres % 1000:03d}",
                    "label": [round(label.x, 6), round(label.y, 6)],
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))


# ------------------------------------------------------------------ coverage gaps


def coverage_gaps_json(user, day: date | None = None) -> dict:
    """Segments in the user's scope lacking a required chief on ``day`` (第八条)."""
    from roadchief.services.chiefs import coverage_gaps

    day = day or clock.beijing_today()
    town_id = bound_town_id(user)
    gaps = coverage_gaps(day, town_id)
    visible = set(db.session.scalars(select(Segment.id).where(segment_condition(user, day))))
    return {
        "date": day.isoformat(),
        "segments": [
            {
                "id": g.segment.id,
                "code": g.segment.road.code,
                "name": g.segment.road.name,
                "town": g.segment.town.name,
                "village": g.segment.village.name if g.segment.village else None,
                "missing": g.missing_names,
            }
            for g in gaps
            if g.segment.id in visible
        ],
    }
