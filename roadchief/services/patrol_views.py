"""Patrol tracks as the pages, the API, the map and the 一路一档 show them: JSON with metrics
and per-segment coverage, a GeoJSON layer of recent tracks, the 督查 suspected of being made
at a desk (案头检查嫌疑), and the patrols covering a road."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, true
from sqlalchemy.orm import selectinload

from roadchief.domain import clock
from roadchief.domain import patrol_proof as proof
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.models.inspections import Inspection, InspectionSegment
from roadchief.models.patrols import PatrolTrack, PatrolTrackSegment
from roadchief.services.inspection_scope import inspection_condition
from roadchief.services.patrol_rules import rules_for
from roadchief.services.patrols import points_of, track_condition, tracks

MAP_DAYS = 30
MAP_MAX_TRACKS = 300
MAP_MAX_POINTS = 400  # per track on the map (every n-th fix kept)


def _url(endpoint: str, **values) -> str | None:
    from flask import has_request_context, url_for

    return url_for(endpoint, **values) if has_request_context() else None


def segment_text(segment: Segment) -> str:
    return f"{segment.road.code} {format_stake(segment.start_m)}–{format_stake(segment.end_m)}"


def flag_labels(track: PatrolTrack) -> list[str]:
    return [proof.FLAG_LABELS.get(f, f) for f in track.flag_list]


def track_json(track: PatrolTrack, with_points: bool = False) -> dict:
    rules = rules_for(track.rule_year)
    data = {
        "id": track.id,
        "client_id": track.client_uuid,
        "patroller": track.patroller_name,
        "chief_id": track.chief_id,
        "kind": track.kind,
        "kind_label": track.kind_label,
        "duty_phase": track.duty_phase,
        "source": track.source,
        "started_at": clock.iso_beijing(track.started_at),
        "ended_at": clock.iso_beijing(track.ended_at),
        "metrics": {
            "points": track.point_count,
            "duration_s": track.duration_s,
            "length_m": track.length_m,
            "fast_m": track.fast_m,
            "max_speed_kmh": track.max_speed_kmh,
            "gaps": track.gap_count,
        },
        "flags": track.flag_list,
        "flag_labels": flag_labels(track),
        "passed": track.passed,
        "rules": {"year": track.rule_year, **{name: getattr(rules, name) for name in proof.RULE_LIMITS}},
        "segments": [
            {
                "segment_id": s.segment_id,
                "segment": segment_text(s.segment),
                "segment_m": s.segment_m,
                "covered_m": s.covered_m,
                "passed_m": s.passed_m,
                "coverage_pct": s.coverage_pct,
                "covered": s.covered,
                "driven_past": s.driven_past,
            }
            for s in track.best_segments(len(track.segments))
        ],
        "note": track.note,
    }
    if with_points:
        data["points"] = [{"lon": p[0], "lat": p[1], "t": p[2]} for p in points_of(track)]
    return data


def _thin(points: list[list[float]]) -> list[list[float]]:
    if len(points) <= MAP_MAX_POINTS:
        return [[p[0], p[1]] for p in points]
    step = -(-len(points) // MAP_MAX_POINTS)
    kept = points[::step]
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return [[p[0], p[1]] for p in kept]


def patrols_geojson(user, days: int = MAP_DAYS, bbox=None) -> dict:
    """Recent tracks in the user's scope as LineStrings; properties: passed, flag labels,
    best coverage, the page link. The map colours them by pass / flag."""
    since = clock.utcnow() - timedelta(days=days)
    features = []
    rows = tracks(user, limit=MAP_MAX_TRACKS, since=since)
    for track in rows:
        if bbox is not None and (
            track.max_lon < bbox[0] or track.min_lon > bbox[2] or track.max_lat < bbox[1] or track.min_lat > bbox[3]
        ):
            continue
        best = max((s.coverage_permille for s in track.segments), default=0)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": _thin(points_of(track))},
                "properties": {
                    "layer": "patrol",
                    "id": track.id,
                    "patroller": track.patroller_name,
                    "kind": track.kind_label,
                    "started_at": clock.format_beijing(track.started_at),
                    "length_m": track.length_m,
                    "duration_s": track.duration_s,
                    "passed": track.passed,
                    "flags": flag_labels(track),
                    "coverage_pct": f"{best / 10:.1f}",
                    "url": _url("patrols.detail", track_id=track.id),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features, "truncated": len(rows) >= MAP_MAX_TRACKS}


def desk_suspects(user, year: int, limit: int = 500) -> list[dict]:
    """督查 of the year (in the user's scope) whose GPS point lies farther than the year's
    desk distance from every segment they name (案头检查嫌疑)."""
    rules = rules_for(year)
    begin = datetime(year, 1, 1, tzinfo=clock.BEIJING)
    finish = datetime(year + 1, 1, 1, tzinfo=clock.BEIJING)
    nearest = (
        select(InspectionSegment.inspection_id, func.min(InspectionSegment.distance_m).label("distance"))
        .group_by(InspectionSegment.inspection_id)
        .having(func.min(InspectionSegment.distance_m) > rules.desk_distance_m)
        .subquery()
    )
    query = (
        select(Inspection, nearest.c.distance)
        .join(nearest, nearest.c.inspection_id == Inspection.id)
        .options(selectinload(Inspection.segments).selectinload(InspectionSegment.segment).selectinload(Segment.road))
        .where(
            Inspection.kind == "supervision",
            Inspection.inspected_at >= begin,
            Inspection.inspected_at < finish,
            inspection_condition(user),
        )
        .order_by(Inspection.inspected_at.desc())
        .limit(limit)
    )
    out = []
    for inspection, distance in db.session.execute(query):
        if not proof.desk_suspect(distance, rules):
            continue
        out.append(
            {
                "inspection": inspection,
                "distance_m": int(distance),
                "segments": "、".join(segment_text(s.segment) for s in inspection.segments),
                "url": _url("inspections.detail", inspection_id=inspection.id),
            }
        )
    return out


def road_patrols(user, segment_ids: list[int], limit: int = 50) -> list[dict]:
    """Patrols that came near a road's segments, newest first, with each one's coverage
    (``user`` None: every patrol, as the 一路一档 lists every inspection of the road)."""
    if not segment_ids:
        return []
    query = (
        select(PatrolTrackSegment)
        .join(PatrolTrack, PatrolTrackSegment.track_id == PatrolTrack.id)
        .options(
            selectinload(PatrolTrackSegment.track), selectinload(PatrolTrackSegment.segment).selectinload(Segment.road)
        )
        .where(PatrolTrackSegment.segment_id.in_(segment_ids), true() if user is None else track_condition(user))
        .order_by(PatrolTrack.started_at.desc(), PatrolTrackSegment.id)
        .limit(limit)
    )
    return [
        {
            "track_id": row.track_id,
            "when": clock.format_beijing(row.track.started_at),
            "patroller": row.track.patroller_name,
            "kind": row.track.kind_label,
            "segment": segment_text(row.segment),
            "coverage_pct": row.coverage_pct,
            "covered": row.covered,
            "driven_past": row.driven_past,
            "flags": flag_labels(row.track),
        }
        for row in db.session.scalars(query)
    ]
