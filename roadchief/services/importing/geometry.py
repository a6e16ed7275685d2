"""A road row's line: validated, tidied, merged, simplified for the map bands and measured (pure shapely)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry import mapping as geojson_mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from roadchief.domain.lengths import projected_length_km

COORD_DIGITS = 6  # ≈ 0.1 m: finer than any survey we receive
MID_TOLERANCE_DEG = 0.00005  # ≈ 5 m at 38°N, for the town-level map
LOW_TOLERANCE_DEG = 0.0003  # ≈ 30 m, for the whole-city map
BAND_DIGITS = 5


def in_lonlat_range(bounds) -> bool:
    """Bounds (min x, min y, max x, max y) that are finite lon/lat degrees."""
    min_x, min_y, max_x, max_y = (float(b) for b in bounds)
    finite = all(b == b and abs(b) != float("inf") for b in (min_x, min_y, max_x, max_y))
    return finite and -180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90


@dataclass(frozen=True)
class Shape:
    geometry: str
    geometry_mid: str
    geometry_low: str
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    measured_km: Decimal

    @property
    def measured_m(self) -> int:
        return int(self.measured_km * 1000)


def _parts(geom: BaseGeometry) -> list[LineString]:
    return list(geom.geoms) if isinstance(geom, MultiLineString) else [geom]


def _tidy(geom: BaseGeometry, digits: int) -> LineString | MultiLineString | None:
    """Round coordinates (Python's correctly rounded round(), so the JSON stays short and stable)
    and drop consecutive duplicate vertices; parts shorter than the rounding vanish."""
    parts = []
    for part in _parts(geom):
        coords: list[tuple[float, float]] = []
        for x, y in ((c[0], c[1]) for c in part.coords):
            point = (round(x, digits), round(y, digits))
            if not coords or coords[-1] != point:
                coords.append(point)
        if len(coords) >= 2:
            parts.append(LineString(coords))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiLineString(parts)


def _merge(geom: LineString | MultiLineString) -> LineString | MultiLineString:
    """Join the parts of a MultiLineString when they connect end to end.

    Merging along the digitised direction first keeps the line running from the
    start stake to the end stake; parts drawn against each other are merged
    undirected only if that yields one line.
    """
    if not isinstance(geom, MultiLineString):
        return geom
    directed = linemerge(geom, directed=True)
    if isinstance(directed, LineString):
        return directed
    undirected = linemerge(geom)
    if isinstance(undirected, LineString):
        return undirected
    return directed if isinstance(directed, MultiLineString) else geom


def _geojson(geom: BaseGeometry) -> str:
    return json.dumps(geojson_mapping(geom), separators=(",", ":"))


def _band(geom: BaseGeometry, tolerance: float) -> str:
    """A pre-simplified copy for a map zoom band; falls back to the full line when it would vanish."""
    simplified = _tidy(geom.simplify(tolerance, preserve_topology=True), BAND_DIGITS)
    return _geojson(simplified if simplified is not None else geom)


def road_shape(geom: BaseGeometry | None) -> Shape:
    """Validate and clean one row's lon/lat geometry; ValueError says what is wrong."""
    if geom is None:
        raise ValueError("缺少几何（空值）")
    if geom.is_empty:
        raise ValueError("几何为空")
    if not isinstance(geom, (LineString, MultiLineString)):
        raise ValueError(f"几何须为线（LineString 或 MultiLineString），收到 {geom.geom_type}")
    if not geom.is_valid:
        raise ValueError(f"几何无效：{shapely.is_valid_reason(geom)}")
    if not in_lonlat_range(geom.bounds):
        raise ValueError("坐标超出经纬度范围")
    cleaned = _tidy(shapely.force_2d(geom), COORD_DIGITS)
    if cleaned is None:
        raise ValueError("几何长度为零（所有顶点重合）")
    cleaned = _merge(cleaned)
    measured = projected_length_km(cleaned)
    if measured <= 0:
        raise ValueError("几何长度不足 1 米")
    min_lon, min_lat, max_lon, max_lat = cleaned.bounds
    return Shape(
        geometry=_geojson(cleaned),
        geometry_mid=_band(cleaned, MID_TOLERANCE_DEG),
        geometry_low=_band(cleaned, LOW_TOLERANCE_DEG),
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        measured_km=measured,
    )
