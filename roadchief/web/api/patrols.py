"""API: patrol tracks (巡查轨迹, 第二十二条 手机APP) and their proof-of-patrol results."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import File, Float, Integer, List, Nested, Raw
from apiflask.validators import Length, OneOf, Range
from flask import Response
from flask_login import current_user

from roadchief.domain.permissions import LOG_INSPECTION, READ, roles_for
from roadchief.models.patrols import PATROL_KINDS
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp, compressed_json, parse_bbox
from roadchief.web.api.fields import String
from roadchief.web.api.schemas import returns
from roadchief.web.api.schemas_patrols import GPX_MEDIA

PATROL_TAG = "巡查轨迹"
RECORDERS = roles_for(LOG_INSPECTION)
KIND_TEXT = "、".join(f"{k}（{v}）" for k, v in PATROL_KINDS.items())
RECORDED = {
    **returns("PatrolTrack", "已新建", 201),
    **returns("PatrolTrack", "该 client_id 的轨迹此前已保存（幂等）", **{"409": "该 client_id 已被他人的轨迹使用"}),
}


class PointIn(Schema):
    lon = Float(required=True, metadata={"description": "经度（WGS84）"})
    lat = Float(required=True, metadata={"description": "纬度（WGS84）"})
    t = Raw(
        required=True,
        metadata={"description": "定位时间：Unix 时间（秒或毫秒），或 ISO 8601 文本（无时区时按北京时间）"},
    )


class TrackMeta(Schema):
    client_id = String(
        load_default=None, metadata={"description": "客户端生成的 UUID：同一编号重复上传返回已保存的轨迹（幂等）"}
    )
    kind = String(load_default="daily", validate=OneOf(list(PATROL_KINDS)), metadata={"description": KIND_TEXT})
    duty_phase = String(
        load_default=None, metadata={"description": "汛期巡查：雨前/雨中/雨后；冬季巡查：除雪/撒砂（其他类型不填）"}
    )
    note = String(load_default="", validate=Length(max=500))


class TrackIn(TrackMeta):
    points = List(
        Nested(PointIn), required=True, validate=Length(2, 20000), metadata={"description": "按时间先后排列的定位点"}
    )


class GpxIn(TrackMeta):
    file = File(required=True, metadata={"description": "GPX 1.1 文件（<trkpt lat lon><time>…），上限 8 MB"})


class ListQuery(Schema):
    flagged = Integer(load_default=0, validate=Range(0, 1), metadata={"description": "1：只列有核验标记的轨迹"})
    limit = Integer(load_default=100, validate=Range(1, 500))


class LayerQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    days = Integer(load_default=30, validate=Range(1, 3660), metadata={"description": "最近多少天（默认 30）"})


def _record(points, body, source: str):
    from roadchief.services import patrols
    from roadchief.services.patrol_views import track_json

    track, created = patrols.record_track(
        current_user,
        points,
        client_id=body["client_id"],
        kind=body["kind"],
        duty_phase=body["duty_phase"],
        source=source,
        note=body["note"],
    )
    return track_json(track), 201 if created else 200


@bp.post("/patrols")
@allow(*RECORDERS)
@bp.input(TrackIn, arg_name="body")
@bp.doc(
    tags=[PATROL_TAG],
    summary="上传巡查轨迹",
    description="手机记录的定位点 [{lon, lat, t}]。服务器按当年核验规则计算时长、里程、车速、定位中断，以及本人范围内"
    "轨迹经过的各路段在缓冲距离（默认 30 米，EPSG:4544）内的覆盖率；超过最高车速的路段计为路过、不计覆盖。"
    "同一 client_id 重复上传返回 200 与已保存的轨迹；新建返回 201。坐标或时间有误时 400，指明第几个点。",
    operation_id="createPatrol",
    responses=RECORDED,
    security=BEARER,
)
def patrol_create(body):
    return _record(body["points"], body, "app")


@bp.post("/patrols/gpx")
@allow(*RECORDERS)
@bp.input(GpxIn, location="form_and_files", arg_name="form")
@bp.doc(
    tags=[PATROL_TAG],
    summary="上传 GPX 轨迹",
    description="multipart/form-data：file（GPX 1.1，读取所有 <trkpt>，每点须有 <time>），可选 client_id、kind、"
    "duty_phase、note。格式错误时 400，指明行号或第几个轨迹点；不接受 DOCTYPE/实体声明。",
    operation_id="uploadPatrolGpx",
    responses={**RECORDED, 413: "上传文件过大"},
    security=BEARER,
)
def patrol_gpx_upload(form):
    from roadchief.services.patrol_gpx import MAX_GPX_BYTES, parse_gpx

    data = form["file"].read(MAX_GPX_BYTES + 1)
    return _record([list(p) for p in parse_gpx(data)], form, "gpx")


@bp.get("/patrols")
@allow(*roles_for(READ))
@bp.input(ListQuery, location="query", arg_name="query")
@bp.doc(
    tags=[PATROL_TAG],
    summary="巡查轨迹列表",
    description="本人权限范围内的轨迹（新在前），含指标、核验标记与各路段覆盖率，不含定位点。",
    operation_id="listPatrols",
    responses=returns("PatrolTrackList"),
    security=BEARER,
)
def patrol_list(query):
    from roadchief.services import patrols
    from roadchief.services.patrol_views import track_json

    rows = patrols.tracks(current_user, limit=query["limit"], flagged_only=bool(query["flagged"]))
    return {"tracks": [track_json(t) for t in rows]}


@bp.get("/patrols/<int:track_id>")
@allow(*roles_for(READ))
@bp.doc(
    tags=[PATROL_TAG],
    summary="巡查轨迹详情",
    description="指标（时长秒、里程米、最高车速、中断数）、核验标记、当年规则、各路段长度、覆盖米数与覆盖率，以及定位点。"
    "不存在或不在本人权限范围内时 404。",
    operation_id="getPatrol",
    responses=returns("PatrolTrackDetail"),
    security=BEARER,
)
def patrol_detail(track_id: int):
    from roadchief.services import patrols
    from roadchief.services.patrol_views import track_json

    return track_json(patrols.get_track(current_user, track_id), with_points=True)


@bp.get("/patrols/<int:track_id>/track.gpx")
@allow(*roles_for(READ))
@bp.doc(
    tags=[PATROL_TAG],
    summary="巡查轨迹 GPX",
    description="GPX 1.1（时间为 UTC），作为附件 patrol-{track_id}.gpx 下载。不存在或不在本人权限范围内时 404（JSON 错误）。",
    operation_id="getPatrolGpx",
    responses=returns("GpxDocument", "GPX 1.1 文件", media=GPX_MEDIA),
    security=BEARER,
)
def patrol_track_gpx(track_id: int):
    from roadchief.services import patrols
    from roadchief.services.patrol_gpx import track_gpx

    track = patrols.get_track(current_user, track_id)
    return Response(
        track_gpx(f"巡查轨迹 {track.id}", patrols.points_of(track), track.patroller_name),
        mimetype=GPX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="patrol-{track.id}.gpx"'},
    )


@bp.get("/patrol-tracks")
@allow(*roles_for(READ))
@bp.input(LayerQuery, location="query", arg_name="query")
@bp.doc(
    tags=[PATROL_TAG],
    summary="巡查轨迹图层 GeoJSON",
    description="本人权限范围内最近的轨迹（LineString，每条最多 400 点），properties：passed 核验通过、flags 标记、"
    "coverage_pct 最高路段覆盖率、url。地图按通过/标记着色。",
    operation_id="getPatrolTrackLayer",
    responses=returns("PatrolTrackCollection", "FeatureCollection（LineString）", **{"304": "未变化（ETag）"}),
    security=BEARER,
)
def patrol_layer(query):
    from roadchief.services.patrol_views import patrols_geojson

    return compressed_json(patrols_geojson(current_user, days=query["days"], bbox=parse_bbox(query["bbox"])), 30)
