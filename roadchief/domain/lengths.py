"""Measured length of a road geometry, compared with its 列养里程.

第十五条 ties the money to 列养里程 (listed km), adjusted every two years from
the 普查; measuring the mapped centre line is how the office spots listed
lengths that no longer match the road.

Lengths are measured in EPSG:4544 (CGCS2000 / 3-degree Gauss-Kruger CM 105E):
青铜峡 lies near 106°E, about 1° off that zone's central meridian, where the
projection's scale error is ~0.01%. EPSG:4547 (CM 114E) would put it 8° off
and overstate every length by ~0.6%, more than many real discrepancies.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, TypeAlias

import numpy
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiLineString, shape
from shapely.geometry.base import BaseGeometry

from .money import to_decimal

# GeoJSON coordinates are WGS 84 lon/lat, which matches CGCS2000 to within
# centimetres: far below the metre the lengths are reported to.
GEOGRAPHIC_CRS = "EPSG:4326"
PROJECTED_CRS = "EPSG:4544"

_KM = Decimal("0.001")
_GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid is GRS80 to within 0.1 mm

Geometry: TypeAlias = BaseGeometry | Mapping[str, Any]  # a shapely geometry or a GeoJSON one


@lru_cache(maxsize=1)
def projected_transformer() -> Transformer:
    """The lon/lat → EPSG:4544 transformer, built once on first use (it is slow to build)."""
    return Transformer.from_crs(GEOGRAPHIC_CRS, PROJECTED_CRS, always_xy=True)


def _lines(geometry: Geometry) -> BaseGeometry:
    geom = geometry if isinstance(geometry, BaseGeometry) else shape(geometry)
    if not isinstance(geom, (LineString, MultiLineString)):
        raise ValueError(f"路线几何须为 LineString 或 MultiLineString，收到 {geom.geom_type}")
    if not geom.is_empty:
        min_x, min_y, max_x, max_y = geom.bounds
        if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
            raise ValueError("路线坐标须为经纬度（经度在前），看起来是投影坐标")
    return geom


def _km(metres: float) -> Decimal:
    # repr of the float, not its binary expansion, so 1000.0005 m rounds as written
    return (Decimal(repr(metres)) / 1000).quantize(_KM, rounding=ROUND_HALF_UP)


def projected_length_km(geometry: Geometry) -> Decimal:
    """Length in km (3 places) of a lon/lat line measured in EPSG:4544."""
    geom = _lines(geometry)
    if geom.is_empty:
        return Decimal("0.000")
    transformer = projected_transformer()

    def to_plane(lonlat: numpy.ndarray) -> numpy.ndarray:
        return numpy.column_stack(transformer.transform(lonlat[:, 0], lonlat[:, 1]))

    return _km(shapely.transform(geom, to_plane).length)


def geodesic_length_km(geometry: Geometry) -> Decimal:
    """Length in km (3 places) on the GRS80 ellipsoid; the reference for checks."""
    geom = _lines(geometry)
    if geom.is_empty:
        return Decimal("0.000")
    return _km(_GEOD.geometry_length(geom))


def length_deviation(listed_km: Decimal, measured_km: Decimal) -> Decimal:
    """Relative deviation |measured − listed| / listed."""
    listed, measured = to_decimal(listed_km), to_decimal(measured_km)
    if listed <= 0:
        raise ValueError(f"列养里程须大于0才能比较：{listed}")
    if measured < 0:
        raise ValueError(f"实测里程不能为负：{measured}")
    return abs(measured - listed) / listed


def exceeds_tolerance(listed_km: Decimal, measured_km: Decimal, tolerance: Decimal = Decimal("0.05")) -> bool:
    """True when the deviation is strictly beyond ``tolerance`` (exactly 5% still passes)."""
    if to_decimal(tolerance) < 0:
        raise ValueError(f"容差不能为负：{tolerance}")
    return length_deviation(listed_km, measured_km) > to_decimal(tolerance)
