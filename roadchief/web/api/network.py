"""API: segments (GeoJSON and detail) and the 列养里程 summary."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Integer
from apiflask.validators import Length, OneOf, Range
from flask_login import current_user

from roadchief.domain.permissions import READ, roles_for
from roadchief.services.map_data import SEARCH_LIMIT, ZOOM_BANDS, segments_geojson_text
from roadchief.services.network import network_summary
from roadchief.services.permissions import segment_scope
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp, parse_bbox, versioned_json, visible_or_abort
from roadchief.web.api.fields import String
from roadchief.web.api.schemas import returns


class SegmentQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    road_class = String(data_key="class", load_default=None, validate=OneOf(["市道", "镇道", "村道", "专用公路"]))
    town = String(load_default=None, metadata={"description": "乡镇代码或名称"})
    zoom = Integer(load_default=12, validate=Range(0, 22))
    q = String(
        load_default=None,
        validate=Length(1, 40),
        metadata={"description": f"搜索：路线编码、路名、村名或乡镇名包含此文字（最多返回 {SEARCH_LIMIT} 段）"},
    )


@bp.get("/segments")
@allow(*roles_for(READ))
@bp.input(SegmentQuery, location="query", arg_name="query")
@bp.doc(
    summary="路段 GeoJSON",
    description=f"按范围、等级、乡镇筛选的路段（FeatureCollection），几何按缩放级别预先简化：{ZOOM_BANDS}。",
    operation_id="listSegments",
    responses=returns("SegmentCollection", "FeatureCollection（LineString）", **{"304": "未变化（ETag）"}),
    security=BEARER,
)
def segments(query):
    bbox = parse_bbox(query["bbox"])
    scope = segment_scope(current_user)
    who = (
        scope,
        current_user.town_id if scope == "town" else None,
        current_user.chief_id if scope == "chief" else None,
    )
    key = (
        "segments",
        who,
        tuple(bbox) if bbox else None,
        query["road_class"],
        query["town"],
        query["zoom"],
        query["q"],
    )

    def build() -> str:
        text, _count = segments_geojson_text(
            current_user,
            bbox=bbox,
            road_class=query["road_class"],
            town=query["town"],
            zoom=query["zoom"],
            q=query["q"],
        )
        return text

    return versioned_json(key, build)


@bp.get("/network/summary")
@allow(*roles_for(READ))
@bp.doc(
    operation_id="getNetworkSummary",
    summary="列养里程汇总",
    description="按行政等级、乡镇汇总的列养里程（km，字符串，三位小数）。",
    responses=returns("NetworkSummary"),
    security=BEARER,
)
def summary():
    from roadchief.services.permissions import office_town_id

    town_id = office_town_id(current_user)
    return network_summary(town_id=town_id)


@bp.get("/segments/<int:segment_id>")
@allow(*roles_for(READ))
@bp.doc(
    summary="路段详情",
    description="路段属性、各级路长（姓名、职务、电话）、缺失的必需路长与最新评分。",
    operation_id="getSegment",
    responses=returns("SegmentDetail"),
    security=BEARER,
)
def segment_detail(segment_id: int):
    from roadchief.models import Segment
    from roadchief.services.map_data import segment_detail as detail
    from roadchief.services.permissions import can_see_segment

    return detail(visible_or_abort(Segment, segment_id, can_see_segment))
