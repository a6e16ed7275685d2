"""API: operations — road events (第十四条) and road assets (路产)."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Dict, Float, Integer
from apiflask.validators import Length, OneOf, Range
from flask import abort
from flask_login import current_user

from roadchief.domain.permissions import ACT_ON_EVENT, READ, RECORD_EVENT, roles_for
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp, compressed_json, parse_bbox, visible_or_abort
from roadchief.web.api.fields import String
from roadchief.web.api.inspections import MAX_ID
from roadchief.web.api.schemas import returns
from roadchief.web.errors import refused_with

OPERATIONS_TAG = "突发事件与路产"


class EventQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    include_repaired = Integer(
        load_default=0, validate=Range(0, 1), metadata={"description": "1：包括已修复的事件（默认只给未修复的）"}
    )


class BboxQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})


@bp.get("/events")
@allow(*roles_for(READ))
@bp.input(EventQuery, location="query", arg_name="query")
@bp.doc(
    tags=[OPERATIONS_TAG],
    summary="突发事件 GeoJSON",
    description="本人权限范围内的突发事件（FeatureCollection）。properties.layer 为 event 的是事件点"
    "（interrupted=true 表示交通中断），为 detour 的是中断事件绘制的绕行线。",
    operation_id="listEvents",
    responses=returns("EventCollection", "FeatureCollection（Point、LineString）", **{"304": "未变化（ETag）"}),
    security=BEARER,
)
def events_geojson(query):
    from roadchief.services.event_views import events_geojson as build

    return compressed_json(
        build(current_user, bbox=parse_bbox(query["bbox"]), include_repaired=bool(query["include_repaired"])),
        max_age=30,
    )


@bp.get("/events/<int:event_id>")
@allow(*roles_for(READ))
@bp.doc(
    tags=[OPERATIONS_TAG],
    operation_id="getEvent",
    summary="突发事件详情",
    description="状态、各环节时间与用时（小时）。",
    responses=returns("Event"),
    security=BEARER,
)
def event_detail(event_id: int):
    from roadchief.services.event_views import event_json

    return event_json(_event_or_abort(event_id))


@bp.get("/assets")
@allow(*roles_for(READ))
@bp.input(BboxQuery, location="query", arg_name="query")
@bp.doc(
    tags=[OPERATIONS_TAG],
    summary="路产 GeoJSON",
    description="本人权限范围内的路产（点或线），properties.layer 为 asset。",
    operation_id="listAssets",
    responses=returns("AssetCollection", "FeatureCollection", **{"304": "未变化（ETag）"}),
    security=BEARER,
)
def assets_geojson(query):
    from roadchief.services.assets import assets_geojson as build

    return compressed_json(build(current_user, bbox=parse_bbox(query["bbox"])), max_age=60)


EVENT_KINDS = ["flood_damage", "landslide", "snow_ice", "accident", "other"]
EVENT_SEVERITIES = ["minor", "major", "severe"]
EVENT_RECORDERS = roles_for(RECORD_EVENT)
EVENT_ACTORS = roles_for(ACT_ON_EVENT)


class EventIn(Schema):
    segment_id = Integer(required=True, validate=Range(1, MAX_ID), metadata={"description": "路段编号"})
    kind = String(
        required=True,
        validate=OneOf(EVENT_KINDS),
        metadata={"description": "flood_damage 水毁、landslide 塌方、snow_ice 积雪结冰、accident 交通事故、other 其他"},
    )
    severity = String(
        required=True, validate=OneOf(EVENT_SEVERITIES), metadata={"description": "minor 一般、major 较重、severe 严重"}
    )
    occurred_at = DateTime(
        required=True, metadata={"description": "发生时间（ISO 8601；带时区按所带时区换算，不带时区按北京时间）"}
    )
    stake = String(load_default="", validate=Length(0, 20), metadata={"description": "桩号，如 K3+200（须在该路段内）"})
    lon = Float(load_default=None, metadata={"description": "经度（WGS84，与 lat 同时给出）"})
    lat = Float(load_default=None, metadata={"description": "纬度（WGS84）"})
    closed = Boolean(
        load_default=False,
        metadata={
            "description": "交通中断：须同时给出 warning_sign 与绕行（detour、detour_road 或 detour_geometry 之一）"
        },
    )
    description = String(load_default="", validate=Length(0, 2000))
    warning_sign = String(load_default="", validate=Length(0, 2000), metadata={"description": "警示标志的设置情况"})
    detour = String(load_default="", validate=Length(0, 2000), metadata={"description": "绕行路线（文字）"})
    detour_road = String(load_default="", validate=Length(0, 40), metadata={"description": "绕行所经道路的路线编码"})
    detour_geometry = Dict(load_default=None, metadata={"description": "绘制的绕行线：GeoJSON LineString（经纬度）"})


class EventStepIn(Schema):
    at = DateTime(
        load_default=None, metadata={"description": "抢通/修复时间（ISO 8601；不带时区按北京时间；省略为现在）"}
    )
    note = String(load_default="", validate=Length(0, 2000))


def _event_or_abort(event_id: int):
    from roadchief.models.operations import RoadEvent
    from roadchief.services import events as service

    return visible_or_abort(RoadEvent, event_id, service.can_see_event)


@bp.post("/events")
@allow(*EVENT_RECORDERS)
@refused_with(422)
@bp.input(EventIn, arg_name="body")
@bp.doc(
    tags=[OPERATIONS_TAG],
    summary="登记突发事件",
    description="与“登记突发事件”页面相同的规则（第十四条）：交通中断时必须登记警示标志和绕行路线，否则 422。"
    "照片请在网页上补充。新建返回 201 与事件详情。",
    operation_id="createEvent",
    responses=returns("Event", "已登记", 201, **{"422": "不符合登记规则（中文说明在 error 与 message）"}),
    security=BEARER,
)
def events_create(body):
    from flask import current_app

    from roadchief.extensions import db
    from roadchief.models import Segment
    from roadchief.services import events as service
    from roadchief.services.event_views import event_json

    segment = db.session.get(Segment, body["segment_id"])
    if segment is not None and not service.can_record(current_user, segment):
        abort(403)
    data = service.EventInput(
        segment_id=body["segment_id"],
        kind=body["kind"],
        severity=body["severity"],
        occurred_at=body["occurred_at"],
        closed=body["closed"],
        stake=body["stake"],
        lon=body["lon"],
        lat=body["lat"],
        description=body["description"],
        warning_sign=body["warning_sign"],
        detour=body["detour"],
        detour_road=body["detour_road"],
        detour_geometry=body["detour_geometry"],
    )
    event = service.create_event(current_user, data, current_app.config["UPLOAD_DIR"])  # refusals: 422
    return event_json(event), 201


def _event_step(event_id: int, action: str, body):
    from flask import current_app

    from roadchief.services import events as service
    from roadchief.services.event_views import event_json

    event = _event_or_abort(event_id)
    if not service.can_act(current_user, event):
        abort(403)
    # refusals: StepRefused (the state does not allow it) is a 409, any other a 422 (refused_with)
    service.act(
        current_user, event, action, at=body["at"], note=body["note"], upload_dir=current_app.config["UPLOAD_DIR"]
    )
    return event_json(event)


@bp.post("/events/<int:event_id>/restore")
@allow(*EVENT_ACTORS)
@refused_with(422)
@bp.input(EventStepIn, arg_name="body")
@bp.doc(
    tags=[OPERATIONS_TAG],
    summary="登记抢通（恢复通行）",
    description="该路段的路长或路长办公室登记抢通。已抢通或已修复的事件返回 409。",
    operation_id="restoreEvent",
    responses=returns("Event", "操作后的事件", **{"409": "当前状态不能执行该操作", "422": "时间不正确"}),
    security=BEARER,
)
def events_restore(event_id: int, body):
    return _event_step(event_id, "restore", body)


@bp.post("/events/<int:event_id>/repair")
@allow(*EVENT_ACTORS)
@refused_with(422)
@bp.input(EventStepIn, arg_name="body")
@bp.doc(
    tags=[OPERATIONS_TAG],
    summary="登记修复",
    description="先抢通，后修复：未抢通的事件返回 409。",
    operation_id="repairEvent",
    responses=returns("Event", "操作后的事件", **{"409": "当前状态不能执行该操作", "422": "时间不正确"}),
    security=BEARER,
)
def events_repair(event_id: int, body):
    return _event_step(event_id, "repair", body)
