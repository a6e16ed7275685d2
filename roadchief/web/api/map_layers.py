"""API: map layers — inspection and rectification markers, town outlines, coverage gaps."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Integer
from apiflask.validators import OneOf, Range
from flask_login import current_user

from roadchief.domain.permissions import READ, roles_for
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp, compressed_json, parse_bbox
from roadchief.web.api.fields import String
from roadchief.web.api.schemas import returns

MAP_TAG = "地图图层"


class MarkerQuery(Schema):
    bbox = String(load_default=None, metadata={"description": "minlon,minlat,maxlon,maxlat（WGS84）"})
    kind = String(
        load_default=None,
        validate=OneOf(["inspections", "rectifications"]),
        metadata={"description": "inspections 检查记录、rectifications 未复核的整改；省略为两者"},
    )
    days = Integer(
        load_default=365, validate=Range(1, 3660), metadata={"description": "检查记录：最近多少天（默认 365）"}
    )


@bp.get("/markers")
@allow(*roles_for(READ))
@bp.input(MarkerQuery, location="query", arg_name="query")
@bp.doc(
    tags=[MAP_TAG],
    summary="检查与整改标注点 GeoJSON",
    description="本人权限范围内的检查记录（layer=inspection：日期、类型、检查单位、问题数、链接）与未复核的整改"
    "（layer=rectification：状态、期限、overdue 逾期、扣分项、链接）。位置为检查的 GPS 点，"
    "无 GPS 时为路段中点（located=segment）。每类最多 3000 个，超出时 truncated 为 true。",
    operation_id="listMarkers",
    responses=returns("MarkerCollection", "FeatureCollection（Point）", **{"304": "未变化（ETag）"}),
    security=BEARER,
)
def markers(query):
    from roadchief.services.map_layers import markers_geojson

    return compressed_json(
        markers_geojson(current_user, bbox=parse_bbox(query["bbox"]), kind=query["kind"], days=query["days"]),
        max_age=30,
    )


@bp.get("/towns")
@allow(*roles_for(READ))
@bp.doc(
    tags=[MAP_TAG],
    summary="乡镇边界 GeoJSON",
    description="各乡镇路段外包范围（凹包加缓冲，Polygon），属性：code、name、segments、listed_km（列养里程）、label（标注点）。"
    "为示意范围，非法定行政区划界线。",
    operation_id="listTowns",
    responses=returns("TownCollection", "FeatureCollection（Polygon）", **{"304": "未变化（ETag）"}),
    security=BEARER,
)
def towns():
    from roadchief.services.map_layers import towns_geojson_text

    return compressed_json(towns_geojson_text(), max_age=300)


@bp.get("/coverage-gaps")
@allow(*roles_for(READ))
@bp.doc(
    tags=[MAP_TAG],
    summary="缺少必需路长的路段",
    description="本人权限范围内、今日缺少第八条要求的路长（镇道缺镇级路长、村道缺村级路长）的列养路段。",
    operation_id="listCoverageGaps",
    responses=returns("CoverageGaps"),
    security=BEARER,
)
def coverage_gaps():
    from roadchief.services.map_layers import coverage_gaps_json

    return coverage_gaps_json(current_user)
