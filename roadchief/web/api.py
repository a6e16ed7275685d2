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
    town_id = current_user.town_id if current_user.role == "town_office" else None
    return network_summary(town_id=town_id)


@bp.get("/segments/<int:segment_id>")
@allow(*READERS)
@bp.doc(summary="路段详情", description="路段属性、各级路长（姓名、职务、电话）、缺失的必需路长与最新评分。", security=BEARER)
def segment_detail(segment_id: int):
    from roadchief.extensions import db
    from roadchief.models import Segment
    from roadchief.services.map_data import segment_detail as detail
    from roadchief.services.scope import can_see_segment
    segment = db.get_or_404(Segment, segment_id)
    if not can_see_segment(current_user, segment):
        abort(403)
    return detail(segment)


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
