"""JSON API under /api/v1 (OpenAPI document at /api/v1/openapi.json)."""
from __future__ import annotations

import gzip
import hashlib
import json

from apiflask import APIBlueprint, Schema
from apiflask.fields import Float, Integer, String
from apiflask.validators import OneOf, Range
from flask import abort, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from roadchief.domain.clock import beijing_today
from roadchief.services.map_data import ZOOM_BANDS, segments_geojson_text
from roadchief.services.network import network_summary
from roadchief.web.access import READERS, allow

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="路网")
BEARER = "BearerAuth"


@bp.before_request
def csrf_for_cookie_sessions():
    # Bearer-token clients cannot be driven by another site; cookie sessions can, so
    # unsafe methods from a browser session need the CSRF token header.
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.headers.get("Authorization", "").startswith("Bearer "):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError:
            abort(400, "CSRF 令牌缺失或无效")


def compressed_json(payload, max_age: int = 60):
    """JSON with an ETag (304 when unchanged) and gzip when the client accepts it.
    `payload` may be JSON text already."""
    from flask import make_response
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    body = text.encode()
    etag = hashlib.sha1(body).hexdigest()
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(body)
        response.mimetype = "application/json"
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(gzip.compress(body, compresslevel=6))
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.headers["Vary"] = "Accept-Encoding, Authorization, Cookie"
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    return response


class SegmentQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    road_class = String(data_key="class", load_default=None, validate=OneOf(["市道", "镇道", "村道", "专用公路"]))
    town = String(load_default=None, metadata={"description": "乡镇代码或名称"})
    zoom = Integer(load_default=12, validate=Range(0, 22))


def parse_bbox(text: str | None):
    if not text:
        return None
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        abort(400, "bbox 应为 minlon,minlat,maxlon,maxlat")
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        abort(400, "bbox 应为 minlon,minlat,maxlon,maxlat，且 min ≤ max")
    return parts


@bp.get("/segments")
@allow(*READERS)
@bp.input(SegmentQuery, location="query", arg_name="query")
@bp.doc(summary="路段 GeoJSON", description=f"按范围、等级、乡镇筛选的路段（FeatureCollection），几何按缩放级别预先简化：{ZOOM_BANDS}。", security=BEARER)
def segments(query):
    text, _count = segments_geojson_text(current_user, bbox=parse_bbox(query["bbox"]), road_class=query["road_class"],
                                         town=query["town"], zoom=query["zoom"])
    return compressed_json(text)


@bp.get("/network/summary")
@allow(*READERS)
@bp.doc(summary="列养里程汇总", description="按行政等级、乡镇汇总的列养里程（km，字符串，三位小数）。", security=BEARER)
def summary():
    from roadchief.services.permissions import office_town_id
    town_id = office_town_id(current_user)
    return network_summary(town_id=town_id)


def visible_or_abort(model, row_id: int, can_see):
    """The row, 404 when it doesn't exist, 403 when it lies outside the caller's scope."""
    from roadchief.extensions import db
    row = db.get_or_404(model, row_id)
    if not can_see(current_user, row):
        abort(403)
    return row


@bp.get("/segments/<int:segment_id>")
@allow(*READERS)
@bp.doc(summary="路段详情", description="路段属性、各级路长（姓名、职务、电话）、缺失的必需路长与最新评分。", security=BEARER)
def segment_detail(segment_id: int):
    from roadchief.models import Segment
    from roadchief.services.map_data import segment_detail as detail
    from roadchief.services.permissions import can_see_segment
    return detail(visible_or_abort(Segment, segment_id, can_see_segment))


@bp.get("/funding/plan/<int:year>")
@allow("city_office", "finance")
@bp.doc(summary="年度养护经费计划", description="与 `roadchief funding plan YEAR --json` 相同；金额为两位小数的字符串。", security=BEARER)
def funding_plan(year: int):
    from roadchief.services import ServiceError
    from roadchief.services.funding import annual_plan
    try:
        return annual_plan(year)
    except ServiceError as error:
        abort(404, str(error))


@bp.get("/funding/quarters/<int:year>/<int:quarter>")
@allow("city_office", "finance")
@bp.doc(summary="季度拨付表", description="与 `roadchief funding quarter YEAR Q --json` 相同。", security=BEARER)
def funding_quarter(year: int, quarter: int):
    from roadchief.services import ServiceError
    from roadchief.services.funding import quarter_report
    try:
        return quarter_report(year, quarter)
    except ServiceError as error:
        abort(404, str(error))


STANDARD_ERRORS = {"400": "请求有误", "401": "需要登录（Bearer 令牌）", "403": "无权访问", "404": "不存在",
                   "422": "参数校验失败", "429": "请求过于频繁"}
ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                                                 "detail": {}, "message": {"type": "string"}}}


def document_errors(spec: dict) -> dict:
    """Every API operation can answer with these errors; say so once for all of them."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, text in STANDARD_ERRORS.items():
                responses[code] = {"description": text,
                                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            if operation.get("operationId", "").endswith("segments") or "304" in responses:
                responses.setdefault("304", {"description": "未变化（ETag）"})
    return spec


# ---------------------------------------------------------------- inspections and rectifications (督查、整改)
# The same use cases as the /inspections pages (roadchief.services.inspections), for a mobile app.

from apiflask.fields import Date, DateTime, File, List, Nested  # noqa: E402
from apiflask.validators import Length  # noqa: E402

INSPECTION_TAG = "督查与整改"
MAX_ID = 2**31 - 1
INSPECTION_RECORDERS = ("city_office", "town_office", "inspector", "chief")


class FindingIn(Schema):
    item = String(required=True, metadata={"description": "扣分项编号（见 /deduction-catalog），如 LM04"})
    quantity = Integer(required=True, validate=Range(1, 100000),
                       metadata={"description": "处/次数；按 100 m 计的项为长度（米），每起算 100 米扣一次"})
    segment_id = Integer(load_default=None, validate=Range(1, MAX_ID),
                         metadata={"description": "问题所在路段（本次检查的路段之一；只有一个路段时可省略）"})
    note = String(load_default="")


class InspectionIn(Schema):
    client_uuid = String(load_default=None, metadata={"description": "客户端生成的 UUID：同一编号重复提交返回已保存的记录（幂等）"})
    kind = String(required=True, validate=OneOf(["supervision", "daily", "flood", "winter", "special", "emergency"]),
                  metadata={"description": "supervision 督查（计分）、daily 日常巡查、flood 汛期、winter 冬季、special 专项、emergency 应急"})
    inspected_at = DateTime(load_default=None, metadata={"description": "检查时间（ISO 8601；带时区按所带时区换算，不带时区按北京时间；省略为当前时间）"})
    segment_ids = List(Integer(validate=Range(1, MAX_ID)), required=True, validate=Length(1, 10))
    lon = Float(load_default=None)
    lat = Float(load_default=None)
    note = String(load_default="")
    deadline = Date(load_default=None, metadata={"description": "整改期限（省略为检查日起 7 天）"})
    duty_phase = String(load_default=None, validate=OneOf(["雨前", "雨中", "雨后", "除雪", "撒砂"]),
                        metadata={"description": "汛期巡查必填 雨前/雨中/雨后，冬季巡查必填 除雪/撒砂（第十三条）；其他类别不填"})
    asset_ids = List(Integer(validate=Range(1, MAX_ID)), load_default=[], validate=Length(0, 20),
                     metadata={"description": "本次检查涉及的路产（须在所检查路段上）"})
    findings = List(Nested(FindingIn), load_default=[])


class InspectionListQuery(Schema):
    kind = String(load_default=None)
    month = String(load_default=None, metadata={"description": "YYYY-MM"})
    limit = Integer(load_default=100, validate=Range(1, 500))


class NearestQuery(Schema):
    lon = Float(required=True)
    lat = Float(required=True)


class RectificationQuery(Schema):
    state = String(load_default="active", validate=OneOf(["active", "open", "done", "verified", "overdue"]))


class NoteIn(Schema):
    note = String(load_default="")


class CompleteIn(Schema):
    note = String(required=True)
    photo = File(required=True, metadata={"description": "整改后照片（JPEG/PNG/WebP）"})


class PhotoIn(Schema):
    photo = File(required=True)
    finding_id = Integer(load_default=None, validate=Range(1, MAX_ID))


class CatalogQuery(Schema):
    year = Integer(load_default=None, validate=Range(2000, 2100))


class ScopeQuery(Schema):
    scope = String(load_default=None, metadata={"description": "city 或 town:乡镇代码（默认为本单位）"})


def _inspection_or_abort(inspection_id: int):
    from roadchief.models.inspections import Inspection
    from roadchief.services import inspections as service
    return visible_or_abort(Inspection, inspection_id, service.can_see_inspection)


def _rectification_or_abort(rectification_id: int):
    from roadchief.models.inspections import Rectification
    from roadchief.services import inspections as service
    return visible_or_abort(Rectification, rectification_id, service.can_see_rectification)


@bp.get("/inspections")
@allow(*READERS)
@bp.input(InspectionListQuery, location="query", arg_name="query")
@bp.doc(tags=[INSPECTION_TAG], summary="检查记录列表", description="本人权限范围内的检查记录，新的在前。", security=BEARER)
def inspections_list(query):
    from roadchief.services import inspections as service
    month = None
    if query["month"]:
        parts = query["month"].split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or not (2000 <= int(parts[0]) <= 2100 and 1 <= int(parts[1]) <= 12):
            abort(400, "month 应为 YYYY-MM（2000–2100 年）")
        month = (int(parts[0]), int(parts[1]))
    rows = service.list_inspections(current_user, kind=query["kind"], month=month, limit=query["limit"])
    return {"inspections": [service.inspection_json(i) for i in rows]}


@bp.post("/inspections")
@allow(*INSPECTION_RECORDERS)
@bp.input(InspectionIn, arg_name="body")
@bp.doc(tags=[INSPECTION_TAG], summary="登记检查记录",
        description="督查（计分）或巡查记录，含问题清单；每个问题生成整改并派给该路段当日的责任路长。"
                    "照片用 `POST /inspections/{id}/photos` 另行上传。同一 client_uuid 重复提交返回 200 与已保存的记录；新建返回 201。",
        responses={201: "已新建", 200: "该 client_uuid 的记录此前已保存（幂等）"}, security=BEARER)
def inspections_create(body):
    from flask import current_app
    from roadchief.services import ServiceError
    from roadchief.services import inspections as service
    data = service.InspectionInput(
        kind=body["kind"], segment_ids=body["segment_ids"], inspected_at=body["inspected_at"],
        client_uuid=body["client_uuid"], lon=body["lon"], lat=body["lat"], note=body["note"], deadline=body["deadline"],
        duty_phase=body["duty_phase"], asset_ids=body["asset_ids"],
        findings=[service.FindingInput(item_code=f["item"], quantity=f["quantity"], segment_id=f["segment_id"], note=f["note"])
                  for f in body["findings"]])
    try:
        recorded = service.create_inspection(current_user, data, current_app.config["UPLOAD_DIR"])
    except ServiceError as error:
        return {"error": str(error), "errors": error.errors, "status": 400}, 400
    return {**service.inspection_json(recorded.inspection), "warnings": recorded.warnings}, 201 if recorded.created else 200


@bp.get("/inspections/<int:inspection_id>")
@allow(*READERS)
@bp.doc(tags=[INSPECTION_TAG], summary="检查记录详情", security=BEARER)
def inspections_detail(inspection_id: int):
    from roadchief.services import inspections as service
    return service.inspection_json(_inspection_or_abort(inspection_id))


@bp.post("/inspections/<int:inspection_id>/photos")
@allow(*INSPECTION_RECORDERS)
@bp.input(PhotoIn, location="form_and_files", arg_name="form")
@bp.doc(tags=[INSPECTION_TAG], summary="上传检查照片",
        description="multipart/form-data：photo（JPEG/PNG/WebP，解码校验，保留 EXIF 拍摄时间），可选 finding_id。仅登记人可上传。",
        responses={201: "已上传"}, security=BEARER)
def inspections_photo(inspection_id: int, form):
    from flask import current_app
    from roadchief.services import ServiceError
    from roadchief.services import inspections as service
    inspection = _inspection_or_abort(inspection_id)
    try:
        photo = service.add_photo(current_user, inspection, form["photo"], current_app.config["UPLOAD_DIR"], form["finding_id"])
    except PermissionError:
        abort(403)
    except ServiceError as error:
        return {"error": str(error), "status": 400}, 400
    return {"id": photo.id, "finding_id": photo.finding_id,
            "taken_at": photo.taken_at.isoformat() if photo.taken_at else None}, 201


@bp.get("/inspections/nearest")
@allow(*INSPECTION_RECORDERS)
@bp.input(NearestQuery, location="query", arg_name="query")
@bp.doc(tags=[INSPECTION_TAG], summary="附近路段",
        description="定位点附近可登记的路段及距离（米，EPSG:4544）；far 为 true 表示超过 500 米。", security=BEARER)
def inspections_nearest(query):
    from roadchief.services import ServiceError
    from roadchief.services import inspections as service
    try:
        return {"segments": service.nearest_segments(current_user, query["lon"], query["lat"]),
                "limit_m": service.GPS_WARNING_M}
    except ServiceError as error:
        abort(400, str(error))


@bp.get("/rectifications")
@allow(*READERS)
@bp.input(RectificationQuery, location="query", arg_name="query")
@bp.doc(tags=[INSPECTION_TAG], summary="整改列表",
        description="路长看到派给自己的整改；督查单位看到本单位及辖区的整改。state=overdue 为逾期未整改。", security=BEARER)
def rectifications_list(query):
    from roadchief.services import inspections as service
    state = query["state"]
    rows = service.list_rectifications(current_user, state=None if state == "overdue" else state, overdue=state == "overdue")
    return {"rectifications": [service.rectification_json(r) for r in rows]}


@bp.get("/rectifications/<int:rectification_id>")
@allow(*READERS)
@bp.doc(tags=[INSPECTION_TAG], summary="整改详情", security=BEARER)
def rectifications_detail(rectification_id: int):
    from roadchief.services import inspections as service
    return service.rectification_json(_rectification_or_abort(rectification_id))


def _rectification_step(rectification_id: int, action: str, note: str, photo=None):
    from flask import current_app
    from roadchief.services import ServiceError
    from roadchief.services import inspections as service
    rect = _rectification_or_abort(rectification_id)
    try:
        service.act(current_user, rect, action, note=note, photo=photo, upload_dir=current_app.config["UPLOAD_DIR"])
    except PermissionError:
        abort(403)
    except ServiceError as error:
        return {"error": str(error), "status": 409}, 409
    return service.rectification_json(rect)


@bp.post("/rectifications/<int:rectification_id>/complete")
@allow(*INSPECTION_RECORDERS)
@bp.input(CompleteIn, location="form_and_files", arg_name="form")
@bp.doc(tags=[INSPECTION_TAG], summary="整改完成（责任路长）", responses={200: "操作后的整改", 409: "当前状态不能执行该操作"},
        description="multipart/form-data：note（整改说明）与 photo（整改后照片），均必填。", security=BEARER)
def rectifications_complete(rectification_id: int, form):
    return _rectification_step(rectification_id, "complete", form["note"], form["photo"])


@bp.post("/rectifications/<int:rectification_id>/verify")
@allow(*INSPECTION_RECORDERS)
@bp.input(NoteIn, arg_name="body")
@bp.doc(tags=[INSPECTION_TAG], summary="复核通过（督查单位）", responses={200: "操作后的整改", 409: "当前状态不能执行该操作"}, security=BEARER)
def rectifications_verify(rectification_id: int, body):
    return _rectification_step(rectification_id, "verify", body["note"])


@bp.post("/rectifications/<int:rectification_id>/return")
@allow(*INSPECTION_RECORDERS)
@bp.input(NoteIn, arg_name="body")
@bp.doc(tags=[INSPECTION_TAG], summary="退回重改（督查单位）", responses={200: "操作后的整改", 409: "当前状态不能执行该操作"}, description="note 必填：写明仍需整改的内容。", security=BEARER)
def rectifications_return(rectification_id: int, body):
    return _rectification_step(rectification_id, "return", body["note"])


@bp.get("/deduction-catalog")
@allow(*READERS)
@bp.input(CatalogQuery, location="query", arg_name="query")
@bp.doc(tags=[INSPECTION_TAG], summary="扣分标准", description="某年度现行扣分标准（默认今年）；分值为字符串。", security=BEARER)
def deduction_catalog(query):
    from roadchief.services import inspections as service
    return service.catalog_json(service.catalog_for(query["year"] or beijing_today().year))


@bp.get("/inspections/scores/<int:year>/<int:quarter>")
@allow("city_office", "town_office", "inspector", "finance")
@bp.input(ScopeQuery, location="query", arg_name="query")
@bp.doc(tags=[INSPECTION_TAG], summary="季度考核通报",
        description="与 `roadchief inspections bulletin YEAR Q --json` 相同：排名、突出问题、逾期整改、未督查月份。", security=BEARER)
def inspection_scores(year: int, quarter: int, query):
    from roadchief.services import ServiceError, assessment, permissions
    scopes = permissions.visible_scopes(current_user)
    scope = query["scope"] or (scopes[0] if scopes else None)
    if scope not in scopes or quarter not in (1, 2, 3, 4):
        abort(403 if quarter in (1, 2, 3, 4) else 404)
    try:
        return assessment.bulletin(scope, year, quarter)
    except ServiceError as error:
        abort(404, str(error))


# ---------------------------------------------------------------- map layers (markers, town outlines, coverage gaps)

MAP_TAG = "地图图层"


class MarkerQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    kind = String(load_default=None, validate=OneOf(["inspections", "rectifications"]),
                  metadata={"description": "inspections 检查记录、rectifications 未复核的整改；省略为两者"})
    days = Integer(load_default=365, validate=Range(1, 3660), metadata={"description": "检查记录：最近多少天（默认 365）"})


@bp.get("/markers")
@allow(*READERS)
@bp.input(MarkerQuery, location="query", arg_name="query")
@bp.doc(tags=[MAP_TAG], summary="检查与整改标注点 GeoJSON",
        description="本人权限范围内的检查记录（layer=inspection：日期、类型、检查单位、问题数、链接）与未复核的整改"
                    "（layer=rectification：状态、期限、overdue 逾期、扣分项、链接）。位置为检查的 GPS 点，"
                    "无 GPS 时为路段中点（located=segment）。每类最多 3000 个，超出时 truncated 为 true。",
        responses={200: "FeatureCollection（Point）", 304: "未变化（ETag）"}, security=BEARER)
def markers(query):
    from roadchief.services.map_layers import markers_geojson
    return compressed_json(markers_geojson(current_user, bbox=parse_bbox(query["bbox"]), kind=query["kind"], days=query["days"]),
                           max_age=30)


@bp.get("/towns")
@allow(*READERS)
@bp.doc(tags=[MAP_TAG], summary="乡镇边界 GeoJSON",
        description="各乡镇路段外包范围（凹包加缓冲，Polygon），属性：code、name、segments、listed_km（列养里程）、label（标注点）。"
                    "为示意范围，非法定行政区划界线。",
        responses={200: "FeatureCollection（Polygon）", 304: "未变化（ETag）"}, security=BEARER)
def towns():
    from roadchief.services.map_layers import towns_geojson_text
    return compressed_json(towns_geojson_text(), max_age=300)


@bp.get("/coverage-gaps")
@allow(*READERS)
@bp.doc(tags=[MAP_TAG], summary="缺少必需路长的路段",
        description="本人权限范围内、今日缺少第八条要求的路长（镇道缺镇级路长、村道缺村级路长）的列养路段。", security=BEARER)
def coverage_gaps():
    from roadchief.services.map_layers import coverage_gaps_json
    return coverage_gaps_json(current_user)


# ---------------------------------------------------------------- operations: events, assets (第十一条、第十四条)

OPERATIONS_TAG = "突发事件与路产"


class EventQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    include_repaired = Integer(load_default=0, validate=Range(0, 1),
                               metadata={"description": "1：包括已修复的事件（默认只给未修复的）"})


class BboxQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})


@bp.get("/events")
@allow(*READERS)
@bp.input(EventQuery, location="query", arg_name="query")
@bp.doc(tags=[OPERATIONS_TAG], summary="突发事件 GeoJSON",
        description="本人权限范围内的突发事件（FeatureCollection）。properties.layer 为 event 的是事件点"
                    "（interrupted=true 表示交通中断），为 detour 的是中断事件绘制的绕行线。", security=BEARER)
def events_geojson(query):
    from roadchief.services.events import events_geojson as build
    return compressed_json(build(current_user, bbox=parse_bbox(query["bbox"]), include_repaired=bool(query["include_repaired"])),
                           max_age=30)


@bp.get("/events/<int:event_id>")
@allow(*READERS)
@bp.doc(tags=[OPERATIONS_TAG], summary="突发事件详情", description="状态、各环节时间与用时（小时）。", security=BEARER)
def event_detail(event_id: int):
    from roadchief.services import events as service
    return service.event_json(_event_or_abort(event_id))


@bp.get("/assets")
@allow(*READERS)
@bp.input(BboxQuery, location="query", arg_name="query")
@bp.doc(tags=[OPERATIONS_TAG], summary="路产 GeoJSON", description="本人权限范围内的路产（点或线），properties.layer 为 asset。",
        security=BEARER)
def assets_geojson(query):
    from roadchief.services.assets import assets_geojson as build
    return compressed_json(build(current_user, bbox=parse_bbox(query["bbox"])), max_age=60)


from apiflask.fields import Boolean, Dict  # noqa: E402

EVENT_KINDS = ["flood_damage", "landslide", "snow_ice", "accident", "other"]
EVENT_SEVERITIES = ["minor", "major", "severe"]
EVENT_RECORDERS = ("city_office", "town_office", "inspector", "chief")
EVENT_ACTORS = ("city_office", "town_office", "chief")


class EventIn(Schema):
    segment_id = Integer(required=True, validate=Range(1, MAX_ID), metadata={"description": "路段编号"})
    kind = String(required=True, validate=OneOf(EVENT_KINDS),
                  metadata={"description": "flood_damage 水毁、landslide 塌方、snow_ice 积雪结冰、accident 交通事故、other 其他"})
    severity = String(required=True, validate=OneOf(EVENT_SEVERITIES), metadata={"description": "minor 一般、major 较重、severe 严重"})
    occurred_at = DateTime(required=True, metadata={"description": "发生时间（ISO 8601；带时区按所带时区换算，不带时区按北京时间）"})
    stake = String(load_default="", validate=Length(0, 20), metadata={"description": "桩号，如 K3+200（须在该路段内）"})
    lon = Float(load_default=None, metadata={"description": "经度（WGS84，与 lat 同时给出）"})
    lat = Float(load_default=None, metadata={"description": "纬度（WGS84）"})
    closed = Boolean(load_default=False, metadata={"description": "交通中断：须同时给出 warning_sign 与绕行（detour、detour_road 或 detour_geometry 之一）"})
    description = String(load_default="", validate=Length(0, 2000))
    warning_sign = String(load_default="", validate=Length(0, 2000), metadata={"description": "警示标志的设置情况"})
    detour = String(load_default="", validate=Length(0, 2000), metadata={"description": "绕行路线（文字）"})
    detour_road = String(load_default="", validate=Length(0, 40), metadata={"description": "绕行所经道路的路线编码"})
    detour_geometry = Dict(load_default=None, metadata={"description": "绘制的绕行线：GeoJSON LineString（经纬度）"})


class EventStepIn(Schema):
    at = DateTime(load_default=None, metadata={"description": "抢通/修复时间（ISO 8601；不带时区按北京时间；省略为现在）"})
    note = String(load_default="", validate=Length(0, 2000))


def _event_or_abort(event_id: int):
    from roadchief.models.operations import RoadEvent
    from roadchief.services import events as service
    return visible_or_abort(RoadEvent, event_id, service.can_see_event)


@bp.post("/events")
@allow(*EVENT_RECORDERS)
@bp.input(EventIn, arg_name="body")
@bp.doc(tags=[OPERATIONS_TAG], summary="登记突发事件",
        description="与“登记突发事件”页面相同的规则（第十四条）：交通中断时必须登记警示标志和绕行路线，否则 422。"
                    "照片请在网页上补充。新建返回 201 与事件详情。",
        responses={201: "已登记", 422: "不符合登记规则（中文说明在 error）"}, security=BEARER)
def events_create(body):
    from flask import current_app
    from roadchief.extensions import db
    from roadchief.models import Segment
    from roadchief.services import ServiceError
    from roadchief.services import events as service
    segment = db.session.get(Segment, body["segment_id"])
    if segment is not None and not service.can_record(current_user, segment):
        abort(403)
    data = service.EventInput(
        segment_id=body["segment_id"], kind=body["kind"], severity=body["severity"], occurred_at=body["occurred_at"],
        closed=body["closed"], stake=body["stake"], lon=body["lon"], lat=body["lat"], description=body["description"],
        warning_sign=body["warning_sign"], detour=body["detour"], detour_road=body["detour_road"],
        detour_geometry=body["detour_geometry"])
    try:
        event = service.create_event(current_user, data, current_app.config["UPLOAD_DIR"])
    except ServiceError as error:
        return {"error": str(error), "status": 422}, 422
    return service.event_json(event), 201


def _event_step(event_id: int, action: str, body):
    from flask import current_app
    from roadchief.services import ServiceError
    from roadchief.services import events as service
    event = _event_or_abort(event_id)
    if not service.can_act(current_user, event):
        abort(403)
    try:
        service.act(current_user, event, action, at=body["at"], note=body["note"], upload_dir=current_app.config["UPLOAD_DIR"])
    except service.StepRefused as error:
        return {"error": str(error), "status": 409}, 409
    except ServiceError as error:
        return {"error": str(error), "status": 422}, 422
    return service.event_json(event)


@bp.post("/events/<int:event_id>/restore")
@allow(*EVENT_ACTORS)
@bp.input(EventStepIn, arg_name="body")
@bp.doc(tags=[OPERATIONS_TAG], summary="登记抢通（恢复通行）",
        description="该路段的路长或路长办公室登记抢通。已抢通或已修复的事件返回 409。",
        responses={200: "操作后的事件", 409: "当前状态不能执行该操作", 422: "时间不正确"}, security=BEARER)
def events_restore(event_id: int, body):
    return _event_step(event_id, "restore", body)


@bp.post("/events/<int:event_id>/repair")
@allow(*EVENT_ACTORS)
@bp.input(EventStepIn, arg_name="body")
@bp.doc(tags=[OPERATIONS_TAG], summary="登记修复",
        description="先抢通，后修复：未抢通的事件返回 409。",
        responses={200: "操作后的事件", 409: "当前状态不能执行该操作", 422: "时间不正确"}, security=BEARER)
def events_repair(event_id: int, body):
    return _event_step(event_id, "repair", body)
