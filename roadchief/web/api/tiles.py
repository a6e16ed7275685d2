"""API: vector tiles of the road network for the province-scale map (#15)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from roadchief.domain.permissions import READ, roles_for
from roadchief.domain.tiles import MAX_TILE_ZOOM, TileError, check_tile
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp, versioned_body
from roadchief.web.api.schemas import returns

TILE_CACHE_SIZE = 1024  # ≈ a province's tiles down to zoom 10, each a few to a few hundred KB


@bp.get("/tiles/roads/<int:z>/<int:x>/<int:y>.mvt")
@allow(*roles_for(READ))
@bp.doc(
    summary="路网矢量瓦片",
    description=(
        f"Mapbox Vector Tile（XYZ 编号，EPSG:3857，z = 0–{MAX_TILE_ZOOM}），图层 `roads`：要素 id 为路段 id，"
        "属性 class（行政等级）、listed（是否列养）、town_code（乡镇代码）、grade（最新考评等级，如有）。"
        "只含调用者权限范围内的路段；全省概览按瓦片加载，任何一次请求都不携带整个路网。"
        "PostgreSQL 装有 PostGIS 时由 ST_AsMVT 生成，否则由应用生成，内容相同。"
        "按数据版本缓存并带 ETag（未变化时 304）。没有路段的瓦片返回空内容。"
    ),
    operation_id="getRoadTile",
    responses=returns(
        "VectorTile", "MVT 瓦片（可能为空）", media="application/vnd.mapbox-vector-tile", **{"304": "未变化（ETag）"}
    ),
    security=BEARER,
)
def road_tile(z: int, x: int, y: int):
    from roadchief.services.data_version import network_version
    from roadchief.services.road_tiles import MEDIA_TYPE, scope_key
    from roadchief.services.road_tiles import road_tile as build

    try:  # the one check of the coordinates: before the cache and the 304, which never build
        check_tile(z, x, y)
    except TileError as error:
        abort(400, str(error))
    return versioned_body(
        ("tile", scope_key(current_user), z, x, y),
        lambda: build(current_user, z, x, y),
        MEDIA_TYPE,
        max_age=300,
        cache="tiles",
        size=TILE_CACHE_SIZE,
        version=network_version,  # a sign-in or an inspection leaves the tiles as they are
    )
