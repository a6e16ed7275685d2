"""Synthetic GPS traces along a line, for the proof-of-patrol tests (importable from every
test directory: tests/ is on sys.path through its conftest)."""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from pyproj import Transformer
from shapely.geometry import LineString

from roadchief.domain.lengths import projected_transformer

T0 = 1_780_000_000  # 2026-05-28 (UTC), a moment inside the flood season


def trace(
    coords: Sequence[Sequence[float]],
    start: float = 0.0,
    end: float = 1.0,
    speed_kmh: float = 20.0,
    every_s: int = 5,
    t0: float = T0,
    offset_m: float = 0.0,
) -> list[tuple[float, float, float]]:
    """(lon, lat, t) fixes every ``every_s`` seconds driving the line from fraction ``start``
    to ``end`` of its length at ``speed_kmh``, ``offset_m`` to the side of it."""
    forward = projected_transformer()
    inverse = Transformer.from_crs("EPSG:4544", "EPSG:4326", always_xy=True)
    xs, ys = forward.transform([c[0] for c in coords], [c[1] for c in coords])
    line = LineString(list(zip(xs, ys, strict=True)))
    if offset_m:
        line = line.offset_curve(offset_m)
    first, last = start * line.length, end * line.length
    step = speed_kmh / 3.6 * every_s
    out, travelled, t = [], first, t0
    while True:
        point = line.interpolate(min(travelled, last))
        lon, lat = inverse.transform(point.x, point.y)
        out.append((round(lon, 7), round(lat, 7), t))
        if travelled >= last:
            return out
        travelled += step
        t += every_s


def shift(points, seconds: float) -> list[tuple[float, float, float]]:
    return [(lon, lat, t + seconds) for lon, lat, t in points]


def line_length_m(coords) -> float:
    forward = projected_transformer()
    xs, ys = forward.transform([c[0] for c in coords], [c[1] for c in coords])
    return float(shapely.length(LineString(list(zip(xs, ys, strict=True)))))
