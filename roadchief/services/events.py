"""Disruption events (第十四条 先抢通，后修复): recording, 抢通 and 修复 steps with photos, lists and per-town times.

Also the public view of a road's current events and picking a segment. Input checks are in
services.event_input; the map's GeoJSON and the API's JSON in services.event_views.

The rules live in roadchief.domain.events; this module applies them to rows.
Who may do what:

* record an event: city_office, town_office (its town), inspector, and a chief on his segments;
* 抢通 / 修复: the chiefs of the segment and the offices in scope.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from roadchief.domain import clock
from roadchief.domain import events as rules
from roadchief.domain.permissions import ACT_ON_EVENT, RECORD_EVENT, roles_for
from roadchief.domain.scoring import LOCAL_TZ
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.operations import RoadEvent, RoadEventPhoto
from roadchief.services import Conflict, ServiceError
from roadchief.services.audit import current_actor
from roadchief.services.event_input import (
    _choice,
    _flag,
    _road_by_code,
    _segment,
    _text,
    clean_line,
    clean_point,
    parse_local,
    parse_stake,
)
from roadchief.services.permissions import can_on_segment, can_see_segment, segment_condition
from roadchief.services.transactions import unit_of_work
from roadchief.services.uploads import PhotoStage, photo_columns, staged_photos

RECORDERS = roles_for(RECORD_EVENT)
MAX_PHOTOS = 6


def aware(moment: datetime | None) -> datetime | None:
    """A moment from the database is aware UTC (models.base.UTCDateTime); this only keeps
    old callers that pass naive UTC ``now`` values working."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def local_text(moment: datetime | None) -> str:
    return clock.format_beijing(aware(moment))


class StepRefused(Conflict):
    """The state machine refuses a step (抢通 twice, 修复 before 抢通…): a conflict with the
    event's current state rather than bad input (the API answers 409)."""


def _state(event: RoadEvent) -> rules.EventState:
    return rules.EventState(
        state=event.state,
        closed=event.closed,
        warning_sign=event.warning_sign or "",
        detour=event.detour or "",
        has_detour_line=bool(event.detour_geometry or event.detour_road_id),
        occurred_at=aware(event.occurred_at),
        restored_at=aware(event.restored_at),
        repaired_at=aware(event.repaired_at),
    )


def _check(event: RoadEvent) -> None:
    try:
        rules.check_record(_state(event))
    except rules.EventError as error:
        raise ServiceError(str(error)) from None


# ------------------------------------------------------------------ scope


def event_condition(user):
    return RoadEvent.segment_id.in_(select(Segment.id).where(segment_condition(user)))


def can_see_event(user, event: RoadEvent) -> bool:
    return can_see_segment(user, event.segment)


def can_record(user, segment: Segment | None = None) -> bool:
    return can_on_segment(user, RECORD_EVENT, segment)


def can_act(user, event: RoadEvent) -> bool:
    """抢通 / 修复: the offices and chiefs whose scope holds the segment."""
    return can_on_segment(user, ACT_ON_EVENT, event.segment)


# ------------------------------------------------------------------ photos


def _store_photos(event: RoadEvent, stage: str, files, photos: PhotoStage, user) -> None:
    files = [f for f in (files or ()) if f is not None and getattr(f, "filename", "x")]
    if len(files) + sum(1 for p in event.photos if p.stage == stage) > MAX_PHOTOS:
        raise ServiceError(f"每个环节最多 {MAX_PHOTOS} 张照片")
    for file in files:
        db.session.add(RoadEventPhoto(event=event, stage=stage, **photo_columns(photos.save(file), user)))


# ------------------------------------------------------------------ use cases


@dataclass
class EventInput:
    segment_id: int | str | None
    kind: str
    severity: str
    occurred_at: datetime | str | None
    closed: bool | str = False
    stake: str | int | None = None
    lon: float | str | None = None
    lat: float | str | None = None
    description: str = ""
    warning_sign: str = ""
    detour: str = ""
    detour_geometry: str | dict | None = None
    detour_road: str | None = None  # road code
    photos: list = field(default_factory=list)
    client_uuid: str | None = None  # the field form's client id (offline queue, issue #14)


def _clean_uuid(value) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise ServiceError("提交编号（client_uuid）格式不正确") from None


def existing_event(client_uuid: str | None, user) -> RoadEvent | None:
    """The event already stored for this client id: the same user's repeat gets it back
    (idempotent); another user's reuse of the id is refused."""
    if not client_uuid:
        return None
    found = db.session.scalar(select(RoadEvent).where(RoadEvent.client_uuid == client_uuid))
    if found is not None and found.client_user_id != user.id:
        raise ServiceError("提交编号已被使用，请刷新页面后重新填写")
    return found


def create_event(user, data: EventInput, upload_dir: str | Path = "", now: datetime | None = None) -> RoadEvent:
    """Record an event. A repeated ``client_uuid`` from the same user returns the event
    already stored (the phone's queue may send a submission twice)."""
    client_uuid = _clean_uuid(data.client_uuid)
    existing = existing_event(client_uuid, user)
    if existing is not None:
        return existing
    segment = _segment(data.segment_id)
    if not can_record(user, segment):
        raise ServiceError("该路段不在您的管辖范围内，不能登记")
    now = now or clock.utcnow()
    occurred = parse_local(data.occurred_at, "发生时间")
    if (occurred - now).total_seconds() > 600:
        raise ServiceError("发生时间不能晚于现在")
    lon, lat = clean_point(data.lon, data.lat)
    detour_road = _road_by_code(data.detour_road)
    event = RoadEvent(
        segment=segment,
        kind=_choice(data.kind, rules.KINDS, "事件类型"),
        severity=_choice(data.severity, rules.SEVERITIES, "严重程度"),
        state="reported",
        closed=data.closed if isinstance(data.closed, bool) else _flag(data.closed),
        stake_m=parse_stake(data.stake, segment),
        lon=lon,
        lat=lat,
        occurred_at=occurred,
        description=_text(data.description, "情况说明"),
        warning_sign=_text(data.warning_sign, "警示标志"),
        detour=_text(data.detour, "绕行路线"),
        detour_geometry=clean_line(data.detour_geometry),
        detour_road_id=detour_road.id if detour_road else None,
        reported_by=current_actor().name,
        client_uuid=client_uuid,
        client_user_id=user.id if client_uuid else None,
    )
    _check(event)
    try:
        with staged_photos(upload_dir) as stage, unit_of_work():
            db.session.add(event)
            _store_photos(event, "report", data.photos, stage, user)
    except Conflict:  # unit_of_work's IntegrityError: the same form arrived twice at once?
        again = existing_event(client_uuid, user)
        if again is None:
            raise
        return again
    return event


def update_safety(
    user,
    event: RoadEvent,
    warning_sign: str,
    detour: str,
    detour_geometry=None,
    detour_road: str | None = None,
    closed: bool | None = None,
) -> RoadEvent:
    """Amend the warning sign / detour (or mark an event 中断) before 抢通."""
    if not can_act(user, event) and not (can_record(user, event.segment)):
        raise ServiceError("无权修改该事件")
    if event.state != "reported":
        raise Conflict("已抢通的事件不再修改警示与绕行信息")
    road = _road_by_code(detour_road)
    try:
        with unit_of_work():
            event.warning_sign = _text(warning_sign, "警示标志")
            event.detour = _text(detour, "绕行路线")
            event.detour_geometry = clean_line(detour_geometry)
            event.detour_road_id = road.id if road else None
            if closed is not None:
                event.closed = closed
            _check(event)
    except StaleDataError:
        raise Conflict("该事件刚刚已被他人修改，请刷新后重试") from None
    return event


def act(
    user,
    event: RoadEvent,
    action: str,
    at=None,
    note: str = "",
    photos=(),
    upload_dir: str | Path = "",
    now: datetime | None = None,
) -> RoadEvent:
    """抢通 (restore) or 修复 (repair) at ``at`` (default now)."""
    if not can_act(user, event):
        raise ServiceError("只有该路段的路长或路长办公室可以登记抢通、修复")
    now = now or clock.utcnow()
    moment = parse_local(at, "时间", required=False) or now
    if (moment - now).total_seconds() > 600:
        raise ServiceError("时间不能晚于现在")
    try:
        after = rules.step(_state(event), action, moment)
    except rules.EventError as error:
        raise StepRefused(str(error)) from None
    actor = current_actor().name
    try:
        with staged_photos(upload_dir) as stage, unit_of_work("该事件刚刚已被他人处理，请刷新后查看"):
            event.state = after.state
            if action == "restore":
                event.restored_at, event.restored_by, event.restore_note = moment, actor, _text(note, "说明")
            else:
                event.repaired_at, event.repaired_by, event.repair_note = moment, actor, _text(note, "说明")
            _store_photos(event, action, photos, stage, user)
    except StaleDataError:
        raise StepRefused("该事件刚刚已被他人处理，请刷新后查看") from None
    return event


# ------------------------------------------------------------------ reading


def _options():
    return (
        selectinload(RoadEvent.segment).selectinload(Segment.road),
        selectinload(RoadEvent.segment).selectinload(Segment.town),
        selectinload(RoadEvent.photos),
        selectinload(RoadEvent.detour_road),
    )


def list_events(user, state: str | None = None, limit: int = 200) -> list[RoadEvent]:
    query = select(RoadEvent).options(*_options()).where(event_condition(user))
    if state == "open":
        query = query.where(RoadEvent.state != "repaired")
    elif state in rules.STATES:
        query = query.where(RoadEvent.state == state)
    return list(db.session.scalars(query.order_by(RoadEvent.occurred_at.desc(), RoadEvent.id.desc()).limit(limit)))


def events_of_road(road_id: int, open_only: bool = False) -> list[RoadEvent]:
    query = (
        select(RoadEvent)
        .join(Segment, RoadEvent.segment_id == Segment.id)
        .options(*_options())
        .where(Segment.road_id == road_id)
    )
    if open_only:
        query = query.where(RoadEvent.state != "repaired")
    return list(db.session.scalars(query.order_by(RoadEvent.occurred_at, RoadEvent.id)))


def event_place(event: RoadEvent) -> str:
    segment = event.segment
    where = f"{segment.road.code} {segment.road.name} "
    if event.stake_m is not None:
        return where + format_stake(event.stake_m)
    return where + f"{format_stake(segment.start_m)}–{format_stake(segment.end_m)}"


def public_events(road_id: int) -> list[dict]:
    """What the road's 公示牌 page shows: events not yet repaired — 中断 with the warning and
    detour, or 已抢通 待修复. Nothing about who reported it."""
    rows = []
    for event in events_of_road(road_id, open_only=True):
        rows.append(
            {
                "kind": event.kind_label,
                "place": event_place(event),
                "occurred": local_text(event.occurred_at),
                "interrupted": event.interrupted,
                "status": "交通中断"
                if event.interrupted
                else ("已抢通，待修复" if event.state == "restored" else "通行受影响，处置中"),
                "warning_sign": event.warning_sign if event.interrupted else "",
                "detour": event.detour if event.interrupted else "",
                "detour_road": f"{event.detour_road.code} {event.detour_road.name}"
                if event.interrupted and event.detour_road
                else "",
                "restored": local_text(event.restored_at),
            }
        )
    return rows


@dataclass
class TownTimes:
    town: Town
    count: int = 0
    restored: int = 0
    repaired: int = 0
    restore_hours: list[float] = field(default_factory=list)
    repair_hours: list[float] = field(default_factory=list)

    @staticmethod
    def _avg(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    @property
    def avg_restore(self) -> float | None:
        return self._avg(self.restore_hours)

    @property
    def avg_repair(self) -> float | None:
        return self._avg(self.repair_hours)

    @property
    def max_restore(self) -> float | None:
        return max(self.restore_hours) if self.restore_hours else None


def town_times(user, year: int) -> list[TownTimes]:
    """Per town: events of the year (by occurrence, Beijing time), how many restored / repaired,
    average and longest hours from occurrence to 抢通 and to 修复."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ)
    rows = db.session.scalars(
        select(RoadEvent)
        .options(*_options())
        .where(event_condition(user), RoadEvent.occurred_at >= start, RoadEvent.occurred_at < end)
    )
    by_town: dict[int, TownTimes] = {}
    for event in rows:
        entry = by_town.setdefault(event.segment.town_id, TownTimes(event.segment.town))
        entry.count += 1
        occurred = aware(event.occurred_at)
        if event.restored_at:
            entry.restored += 1
            entry.restore_hours.append(rules.hours_between(occurred, aware(event.restored_at)))
        if event.repaired_at:
            entry.repaired += 1
            entry.repair_hours.append(rules.hours_between(occurred, aware(event.repaired_at)))
    return sorted(by_town.values(), key=lambda t: t.town.code)


def segment_at(road_code: str, stake) -> Segment:
    """The segment of a road holding a stake ("K3+200" or metres): how a phone user names a place."""
    road = db.session.scalar(select(Road).where(Road.code == str(road_code or "").strip().upper()))
    if road is None:
        raise ServiceError(f"路线 {road_code!r} 不在路网登记中")
    segments = list(db.session.scalars(select(Segment).where(Segment.road_id == road.id).order_by(Segment.start_m)))
    if not segments:
        raise ServiceError("该路线没有路段")
    probe = Segment(start_m=segments[0].start_m, end_m=segments[-1].end_m)
    metres = parse_stake(stake, probe)
    if metres is None:
        if len(segments) == 1:
            return segments[0]
        raise ServiceError("该路线有多个路段，请填写桩号")
    for segment in segments:
        if segment.start_m <= metres <= segment.end_m:
            return segment
    raise ServiceError(f"桩号 {format_stake(metres)} 不在该路线的任何路段上")


# ------------------------------------------------------------------ picking a segment, drawing on a map


def segment_choices(user, limit: int = 3000) -> list[tuple[Road, list[Segment]]]:
    """The segments a user may record on, grouped by road (for a <select> with optgroups)."""
    rows = db.session.scalars(
        select(Segment)
        .join(Road, Segment.road_id == Road.id)
        .options(selectinload(Segment.road), selectinload(Segment.town))
        .where(segment_condition(user))
        .order_by(Road.code, Segment.start_m, Segment.id)
        .limit(limit)
    )
    groups: dict[int, tuple[Road, list[Segment]]] = {}
    for segment in rows:
        groups.setdefault(segment.road_id, (segment.road, []))[1].append(segment)
    return list(groups.values())


def segment_label(segment: Segment) -> str:
    return (
        f"{segment.road.code} {segment.road.name} {format_stake(segment.start_m)}–{format_stake(segment.end_m)}"
        f"（{segment.town.name}）"
    )


def segment_feature(segment: Segment) -> dict:
    """One segment as a GeoJSON Feature for the small maps (detour drawing, event detail)."""
    return {
        "type": "Feature",
        "geometry": json.loads(segment.geometry),
        "properties": {
            "id": segment.id,
            "label": segment_label(segment),
            "start": format_stake(segment.start_m),
            "end": format_stake(segment.end_m),
        },
    }
