"""Disruption events as data for the map and the API: a stake's point, the GeoJSON layer, one event's JSON."""

from __future__ import annotations

import json

from shapely.geometry import shape
from sqlalchemy import select

from roadchief.domain import clock
from roadchief.domain import events as rules
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.models.operations import RoadEvent
from roadchief.services.events import _options, aware, event_condition, event_place, local_text


def point_at_stake(segment: Segment, stake_m: int | None) -> tuple[float, float]:
    """The lon/lat of a stake on a segment, interpolated along its geometry in proportion to
    the stake range (the segment's middle when there is no stake)."""
    line = shape(json.loads(segment.geometry))
    if line.geom_type == "MultiLineString":
        from shapely.ops import linemerge

        line = linemerge(line)
        if line.geom_type != "LineString":
            line = max(line.geoms, key=lambda g: g.length)
    fraction = 0.5
    if stake_m is not None and segment.end_m > segment.start_m:
        fraction = min(1.0, max(0.0, (stake_m - segment.start_m) / (segment.end_m - segment.start_m)))
    point = line.interpolate(fraction, normalized=True)
    return round(point.x, 6), round(point.y, 6)


def event_point(event: RoadEvent) -> tuple[float, float]:
    """Where the map draws the event: its GPS point, else its stake on the segment, else the segment's middle."""
    if event.lon is not None:
        return event.lon, event.lat
    return point_at_stake(event.segment, event.stake_m)


def events_geojson(user, bbox: list[float] | None = None, include_repaired: bool = False) -> dict:
    """FeatureCollection: one Point per event (layer "event") and one LineString per drawn
    detour of an event still 中断 (layer "detour")."""
    query = (
        select(RoadEvent)
        .join(Segment, RoadEvent.segment_id == Segment.id)
        .options(*_options())
        .where(event_condition(user))
    )
    if not include_repaired:
        query = query.where(RoadEvent.state != "repaired")
    if bbox:
        margin = 0.05  # a detour may leave the segment's box
        query = query.where(
            Segment.max_lon >= bbox[0] - margin,
            Segment.min_lon <= bbox[2] + margin,
            Segment.max_lat >= bbox[1] - margin,
            Segment.min_lat <= bbox[3] + margin,
        )
    features = []
    for event in db.session.scalars(query.order_by(RoadEvent.id).limit(2000)):
        lon, lat = event_point(event)
        properties = {
            "id": event.id,
            "layer": "event",
            "kind": event.kind,
            "kind_label": event.kind_label,
            "severity": event.severity,
            "state": event.state,
            "state_label": event.state_label,
            "interrupted": event.interrupted,
            "segment_id": event.segment_id,
            "road_code": event.segment.road.code,
            "place": event_place(event),
            "occurred_at": local_text(event.occurred_at),
            "detour": event.detour,
            "warning_sign": event.warning_sign,
        }
        features.append(
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}
        )
        if event.interrupted and event.detour_geometry:
            features.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(event.detour_geometry),
                    "properties": {"id": event.id, "layer": "detour", "state": event.state, "detour": event.detour},
                }
            )
    return {"type": "FeatureCollection", "features": features}


def event_json(event: RoadEvent) -> dict:
    return {
        "id": event.id,
        "segment_id": event.segment_id,
        "kind": event.kind,
        "kind_label": event.kind_label,
        "severity": event.severity,
        "state": event.state,
        "state_label": event.state_label,
        "closed": event.closed,
        "interrupted": event.interrupted,
        "place": event_place(event),
        "occurred_at": clock.iso_beijing(event.occurred_at),
        "restored_at": clock.iso_beijing(event.restored_at),
        "repaired_at": clock.iso_beijing(event.repaired_at),
        "stake": format_stake(event.stake_m) if event.stake_m is not None else None,
        "lon": event.lon,
        "lat": event.lat,
        "description": event.description,
        "warning_sign": event.warning_sign,
        "detour": event.detour,
        "detour_road": event.detour_road.code if event.detour_road else None,
        "detour_geometry": json.loads(event.detour_geometry) if event.detour_geometry else None,
        "reported_by": event.reported_by,
        "restored_by": event.restored_by,
        "repaired_by": event.repaired_by,
        "hours_to_restore": rules.hours_between(aware(event.occurred_at), aware(event.restored_at)),
        "hours_to_repair": rules.hours_between(aware(event.occurred_at), aware(event.repaired_at)),
    }
