"""Web-map tiles (the XYZ scheme of OSM and 天地图, EPSG:3857) and Mapbox Vector Tile coordinates.

Pure arithmetic, so the province map's tile maths is checked without a database; the SQL side
(`ST_TileEnvelope`, `ST_AsMVTGeom`) uses the same scheme, and the tests compare the two.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

EXTENT = 4096  # MVT units across a tile (the spec's and PostGIS's default)
BUFFER = 64  # units drawn beyond the edge, so a line's stroke is not cut at the tile border
MAX_TILE_ZOOM = 16
# Up to this zoom a tile is an overview: a segment is a few pixels long, so the roads sharing
# (class, listed, town, grade) are merged into one feature on a coarser grid — a quarter of the
# bytes of one feature per segment (benchmarks/README.md); clicking zooms in instead of opening one.
OVERVIEW_MAX_ZOOM = 9
OVERVIEW_EXTENT = 1024  # 4 units per screen pixel of a 256-px tile: still sub-pixel
# A merged overview line is simplified to a screen pixel before it is snapped to the grid, as
# Leaflet draws its own lines (`smoothFactor` 1): at zoom 7 a road of a kilometre is a pixel long,
# and its vertices tens of metres apart only cost the phone bytes and drawing (the province's
# first view: 97,600 → 50,800 vertices, benchmarks/README.md).
OVERVIEW_SIMPLIFY = OVERVIEW_EXTENT // 256  # tile units: one pixel of a 256-px tile


def extent_for(z: int) -> int:
    return OVERVIEW_EXTENT if z <= OVERVIEW_MAX_ZOOM else EXTENT


def simplify_for(z: int) -> float:
    """Douglas–Peucker tolerance in the tile's units before snapping (0: the grid only)."""
    return OVERVIEW_SIMPLIFY if z <= OVERVIEW_MAX_ZOOM else 0


def tile_width_m(z: int) -> float:
    """A tile's side in Web Mercator metres (EPSG:3857), for tolerances given in tile units."""
    return 2 * math.pi * 6378137.0 / (1 << z)


def buffer_for(z: int) -> int:
    return BUFFER * extent_for(z) // EXTENT


MAX_LAT = 85.0511287798066  # where Web Mercator is square


class TileError(ValueError):
    pass


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_TILE_ZOOM:
        raise TileError(f"缩放级别 z 应在 0–{MAX_TILE_ZOOM} 之间，收到 {z}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise TileError(f"第 {z} 级的瓦片行列号应在 0–{n - 1} 之间，收到 x={x}, y={y}")


def tile_lonlat_bounds(z: int, x: int, y: int, buffer: int = 0) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of a tile, widened by `buffer` MVT units on every side
    (of a tile `check_tile` admits: the API checks once, where it answers 400)."""
    n = 1 << z
    pad = buffer / EXTENT
    x0, x1 = x - pad, x + 1 + pad
    y0, y1 = y - pad, y + 1 + pad  # y grows southwards

    def lon(tx: float) -> float:
        return tx / n * 360.0 - 180.0

    def lat(ty: float) -> float:
        ty = min(max(ty, 0.0), float(n))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return lon(x0), lat(y1), lon(x1), lat(y0)


def lonlat_to_tile_units(
    lon: ArrayLike, lat: ArrayLike, z: int, x: int, y: int, extent: int = EXTENT
) -> tuple[Any, Any]:
    """Positions in a tile's MVT units (0..extent, y down), for scalars or numpy arrays alike."""
    n = 1 << z
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    fx = (np.asarray(lon, dtype=float) + 180.0) / 360.0 * n
    rad = np.radians(lat)
    fy = (1.0 - np.log(np.tan(rad) + 1.0 / np.cos(rad)) / math.pi) / 2.0 * n
    return (fx - x) * extent, (fy - y) * extent


def tile_for(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The (x, y) of the zoom-z tile holding a point."""
    n = 1 << z
    ux, uy = lonlat_to_tile_units(lon, lat, z, 0, 0)
    return min(n - 1, max(0, int(float(ux) // EXTENT))), min(n - 1, max(0, int(float(uy) // EXTENT)))
