"""Patrol tracks (巡查轨迹, 第二十二条 手机APP): record an uploaded track (phone or GPX),
judge it with domain.patrol_proof against the segments it came near, and read tracks back
within the user's scope. Upload is idempotent by the phone's client id."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import selectinload

from roadchief.domain import clock
from roadchief.domain import patrol_proof as proof
from roadchief.domain.scoring import check_duty_phase
from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.models.inspections import LAT_RANGE, LON_RANGE
from roadchief.models.patrols import PATROL_KINDS, SOURCES, PatrolTrack, PatrolTrackSegment
from roadchief.services import Conflict, NotFound, ServiceError
from roadchief.services import permissions as perms
from roadchief.services.patrol_rules import rules_for
from roadchief.services.transactions import unit_of_work

MAX_POINTS = 20_000
MAX_DURATION_S = 24 * 3600
FUTURE_SLACK_S = 600  # a phone clock a few minutes fast is tolerated
MARGIN_DEG = 0.002  # ≈ 200 m: segments whose box is this near the track's are measured


def _moment(value, number: int) -> float:
    """A fix's time: epoch seconds or milliseconds (phones give ms), or ISO 8601 text
    (Beijing time when it has no offset)."""
    if isinstance(value, bool) or value in (None, ""):
        raise ServiceError(f"第 {number} 个点缺少时间 t")
    if isinstance(value, (int, float)):
        seconds = float(value) / 1000 if value > 1e11 else float(value)
        if not math.isfinite(seconds) or not 1e9 < seconds < 5e9:
            raise ServiceError(f"第 {number} 个点的时间 t 不正确：{value}")
        return seconds
    try:
        moment = clock.parse_local(str(value), f"第 {number} 个点的时间")
    except ValueError as error:
        raise ServiceError(str(error)) from None
    return moment.timestamp()


def clean_points(raw) -> list[tuple[float, float, float]]:
    """[{lon, lat, t}, …] → (lon, lat, t) in time order; ServiceError naming the point."""
    if not isinstance(raw, list) or len(raw) < 2:
        raise ServiceError("轨迹至少需要 2 个定位点")
    if len(raw) > MAX_POINTS:
        raise ServiceError(f"轨迹点过多（上限 {MAX_POINTS} 个）")
    out: list[tuple[float, float, float]] = []
    for number, item in enumerate(raw, start=1):
        if isinstance(item, dict):
            lon, lat, t = item.get("lon"), item.get("lat"), item.get("t")
        elif isinstance(item, (list, tuple)) and len(item) == 3:
            lon, lat, t = item
        else:
            raise ServiceError(f"第 {number} 个点应为 {{lon, lat, t}}")
        try:
            lon_f, lat_f = float(lon), float(lat)
        except (TypeError, ValueError):
            raise ServiceError(f"第 {number} 个点的经纬度不是数字") from None
        if not (LON_RANGE[0] <= lon_f <= LON_RANGE[1] and LAT_RANGE[0] <= lat_f <= LAT_RANGE[1]):
            raise ServiceError(f"第 {number} 个点（{lon_f:.5f}, {lat_f:.5f}）不在青铜峡市范围内")
        seconds = round(_moment(t, number), 3)  # compared as stored (ms), so rounding never reorders
        if out and seconds < out[-1][2]:
            raise ServiceError(f"第 {number} 个点的时间早于前一个点（轨迹点须按时间先后排列）")
        out.append((round(lon_f, 7), round(lat_f, 7), seconds))
    if out[-1][2] - out[0][2] > MAX_DURATION_S:
        raise ServiceError("一条轨迹不能超过 24 小时")
    if out[-1][2] > clock.utcnow().timestamp() + FUTURE_SLACK_S:
        raise ServiceError(f"第 {len(out)} 个点的时间晚于当前时间（请检查手机时间）")
    return out


def _client_uuid(value) -> str:
    text = str(value or "").strip()
    if not text:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ServiceError("client_id 应为 UUID") from None


def _candidates(user, points, day) -> list[Segment]:
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return list(
        db.session.scalars(
            select(Segment)
            .options(selectinload(Segment.road))
            .where(
                Segment.max_lon >= min(lons) - MARGIN_DEG,
                Segment.min_lon <= max(lons) + MARGIN_DEG,
                Segment.max_lat >= min(lats) - MARGIN_DEG,
                Segment.min_lat <= max(lats) + MARGIN_DEG,
                perms.segment_condition(user, day),
            )
            .order_by(Segment.id)
        )
    )


def judge(user, points, year: int):
    """(summary, [(segment, coverage)] for the segments the track came near, flags)."""
    rules = rules_for(year)
    fixes = proof.project(points)
    summary = proof.summarise(fixes, rules)
    corridors = proof.corridors(proof.legs(fixes, rules), rules)
    day = clock.beijing_date(datetime.fromtimestamp(points[0][2], UTC))
    near = []
    for segment in _candidates(user, points, day):
        result = proof.coverage(proof.plane_line(json.loads(segment.geometry)), corridors, rules)
        if proof.touches(result):
            near.append((segment, result))
    return summary, near, proof.flags(summary, [r for _, r in near], rules)


def record_track(
    user, points, client_id=None, kind: str = "daily", duty_phase=None, source: str = "api", note: str = ""
) -> tuple[PatrolTrack, bool]:
    """Store and judge a track. The same client id again returns the stored track
    (``created`` False) without writing; another user's client id is a conflict."""
    client_uuid = _client_uuid(client_id)
    existing = db.session.scalar(select(PatrolTrack).where(PatrolTrack.client_uuid == client_uuid))
    if existing is not None:
        if existing.user_id != user.id:
            raise Conflict("该 client_id 已被他人的轨迹使用")
        return existing, False
    if kind not in PATROL_KINDS:
        raise ServiceError(f"巡查类型应为：{'、'.join(f'{k}（{v}）' for k, v in PATROL_KINDS.items())}")
    try:
        phase = check_duty_phase(kind, duty_phase)
    except ValueError as error:
        raise ServiceError(str(error)) from None
    if source not in SOURCES:
        raise ServiceError("来源不正确")
    clean = clean_points(points)
    started = datetime.fromtimestamp(clean[0][2], UTC)
    year = clock.beijing_date(started).year
    summary, near, flags = judge(user, clean, year)
    lons, lats = [p[0] for p in clean], [p[1] for p in clean]
    with unit_of_work("该轨迹已上传"):
        track = PatrolTrack(
            client_uuid=client_uuid,
            user_id=user.id,
            chief_id=getattr(user, "chief_id", None),
            patroller_name=(user.display_name or user.username)[:80],
            kind=kind,
            duty_phase=phase,
            source=source,
            started_at=started,
            ended_at=datetime.fromtimestamp(clean[-1][2], UTC),
            points_json=json.dumps([list(p) for p in clean], separators=(",", ":")),
            point_count=summary.point_count,
            duration_s=summary.duration_s,
            length_m=summary.length_m,
            fast_m=summary.fast_m,
            max_speed_kmh=summary.max_speed_kmh,
            gap_count=len(summary.gaps),
            flags=",".join(flags),
            passed=proof.passes(flags),
            rule_year=year,
            min_lon=min(lons),
            min_lat=min(lats),
            max_lon=max(lons),
            max_lat=max(lats),
            note=str(note or "").strip()[:500],
        )
        for segment, result in near:
            track.segments.append(
                PatrolTrackSegment(
                    segment=segment,
                    segment_m=result.segment_m,
                    covered_m=result.covered_m,
                    passed_m=result.passed_m,
                    coverage_permille=result.coverage_permille,
                    covered=result.covered,
                    driven_past=result.driven_past,
                )
            )
        db.session.add(track)
    return track, True


# ------------------------------------------------------------------ reading


def track_condition(user):
    """SQL condition on PatrolTrack for what a user may read: every track for the city
    office, finance and an unbound inspector; a town's tracks (near its segments, or by its
    users) for a town office or a town's inspector; a chief his own."""
    from roadchief.models.accounts import User

    scope = perms.segment_scope(user)
    if scope == "all":
        return true()
    own = PatrolTrack.user_id == user.id
    if scope == "town":
        near = exists().where(
            PatrolTrackSegment.track_id == PatrolTrack.id,
            PatrolTrackSegment.segment_id == Segment.id,
            Segment.town_id == user.town_id,
        )
        by_town = exists().where(User.id == PatrolTrack.user_id, User.town_id == user.town_id)
        return or_(own, near, by_town)
    if scope == "chief":
        return or_(own, PatrolTrack.chief_id == user.chief_id)
    return own


def tracks(user, limit: int = 200, flagged_only: bool = False, since=None) -> list[PatrolTrack]:
    query = (
        select(PatrolTrack)
        .options(selectinload(PatrolTrack.segments).selectinload(PatrolTrackSegment.segment).selectinload(Segment.road))
        .where(track_condition(user))
        .order_by(PatrolTrack.started_at.desc(), PatrolTrack.id.desc())
        .limit(limit)
    )
    if flagged_only:
        query = query.where(PatrolTrack.flags != "")
    if since is not None:
        query = query.where(PatrolTrack.started_at >= since)
    return list(db.session.scalars(query))


def get_track(user, track_id: int) -> PatrolTrack:
    track = db.session.get(PatrolTrack, track_id)
    if track is None:
        raise NotFound(f"轨迹 {track_id} 不存在")
    if not db.session.scalar(select(PatrolTrack.id).where(PatrolTrack.id == track_id, track_condition(user))):
        raise NotFound(f"轨迹 {track_id} 不存在")
    return track


def points_of(track: PatrolTrack) -> list[list[float]]:
    return json.loads(track.points_json)


def covered_duty_records(kind: str, begin: datetime, finish: datetime):
    """(segment_id, started_at, duty_phase) of tracks of a duty kind covering a segment at
    least to the year's threshold (the 履职 check of services.seasonal)."""
    return db.session.execute(
        select(PatrolTrackSegment.segment_id, PatrolTrack.started_at, PatrolTrack.duty_phase)
        .join(PatrolTrack, PatrolTrackSegment.track_id == PatrolTrack.id)
        .where(
            and_(
                PatrolTrack.kind == kind,
                PatrolTrack.started_at >= begin,
                PatrolTrack.started_at < finish,
                PatrolTrackSegment.covered.is_(True),
            )
        )
    ).all()
