"""A road row's line: validated, tidied, merged, simplified for the map bands and measured (pure shapely)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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
    # road_shapes(texts_later=True): the batch that writes the three texts when fill_texts asks,
    # and this shape's place in it
    later: tuple[LaterTexts, int] | None = field(default=None, compare=False, repr=False)

    @property
    def measured_m(self) -> int:
        return int(self.measured_km * 1000)


class _NotYet:
    """Stands for a text fill_texts has not written yet: not a str, so no write can take it for one."""

    def __repr__(self) -> str:
        return "<text not written yet: fill_texts>"


TEXT_NOT_YET: Any = _NotYet()


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


def round_like_python(values, digits: int):
    """``round(v, digits)`` for every value of a float array, exactly as Python rounds (the
    stored text must not change with the code path: a re-import compares it to find unchanged
    segments). ``rint(v·10ⁿ)/10ⁿ`` is the same double as Python's correctly rounded result
    except when v·10ⁿ lies within a few ulps of a half, where the multiplication may have
    crossed it; those few values go through ``round`` itself."""
    import numpy

    if not 0 <= digits <= 15:
        raise ValueError("digits must be 0–15")
    scale = 10.0**digits
    scaled = values * scale
    out = numpy.rint(scaled) / scale
    with numpy.errstate(invalid="ignore"):
        fraction = scaled - numpy.floor(scaled)
        doubtful = ~(numpy.abs(fraction - 0.5) > 16 * numpy.spacing(numpy.abs(scaled)) + 1e-9)
    doubtful |= ~numpy.isfinite(scaled)
    if doubtful.any():
        given, rounded = numpy.ravel(values), out.reshape(-1)  # out is new and contiguous: a view
        for at in numpy.flatnonzero(doubtful).tolist():
            rounded[at] = round(float(given[at]), digits)
    return out


def _tidy_many(lines, digits: int):
    """_tidy for an array of LineStrings at once: the kept coordinates (rounded as _tidy does),
    the geometry each belongs to and how many each keeps."""
    import numpy

    coords, index = shapely.get_coordinates(lines, return_index=True)
    flat = round_like_python(coords, digits)
    keep = numpy.ones(len(flat), dtype=bool)
    if len(flat) > 1:
        keep[1:] = (index[1:] != index[:-1]) | (flat[1:, 0] != flat[:-1, 0]) | (flat[1:, 1] != flat[:-1, 1])
    flat, index = flat[keep], index[keep]
    return numpy.ascontiguousarray(flat), index, numpy.bincount(index, minlength=len(lines))


# Python's json writes a float as repr(); so does orjson (the shortest text that reads back
# as the same double) except below 1e-4 or from 1e16, where the two differ in exponent style.
# Lines holding such a coordinate (not a 青铜峡 one, but the box is configurable) keep json.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_PLAIN_MIN, _PLAIN_MAX = 1e-4, 1e16


def _lines_json(flat, counts) -> list[str | None]:
    """The GeoJSON text of each line whose coordinates are the consecutive ``counts`` rows of
    ``flat``, as json.dumps(mapping(line), separators=(",", ":")) writes it; None for a line
    with fewer than two points."""
    import numpy
    import orjson

    magnitude = numpy.abs(flat)
    odd = ((magnitude < _PLAIN_MIN) & (magnitude != 0)) | (magnitude >= _PLAIN_MAX)
    odd_rows = numpy.repeat(numpy.arange(len(counts)), counts)[odd.any(axis=1)]
    needs_json = set(odd_rows.tolist())
    dumps, option = orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
    out: list[str | None] = []
    start = 0
    for line, count in enumerate(counts.tolist()):
        end = start + count
        if count < 2:
            out.append(None)
        else:
            points = flat[start:end]
            text = _ENCODE(points.tolist()) if line in needs_json else dumps(points, option=option).decode()
            out.append('{"type":"LineString","coordinates":' + text + "}")
        start = end
    return out


def _band_texts(simplified) -> list[str | None]:
    flat, _, counts = _tidy_many(simplified, BAND_DIGITS)
    return _lines_json(flat, counts)


class LaterTexts:
    """The map texts (GeoJSON of the line and of its two simplified bands) of lines already
    checked and measured by road_shapes. Only writing needs them, so an importer can check a
    whole file first and have the texts written chunk by chunk while earlier chunks are being
    stored (issue #15). Texts cannot fail: every line here has two points or more."""

    def __init__(self, flat, counts, lines):
        import numpy

        self._flat, self._counts, self._lines = flat, counts, lines
        self._starts = numpy.cumsum(counts) - counts
        self.shapes: list[Shape | None] = [None] * len(counts)

    def fill(self, positions: list[int]) -> None:
        import numpy

        wanted = numpy.asarray(positions, dtype=numpy.intp)
        counts = self._counts[wanted]
        rows = numpy.repeat(self._starts[wanted], counts) + _within(counts)
        full, bands = _texts(self._flat[rows], counts, self._lines[wanted])
        for i, at in enumerate(positions):
            shape = self.shapes[at]
            assert shape is not None and full[i] is not None
            # Written once, before the shape is first used for writing (fill_texts): the only
            # change a Shape ever sees.
            object.__setattr__(shape, "geometry", full[i])
            object.__setattr__(shape, "geometry_mid", bands[0][i] or full[i])
            object.__setattr__(shape, "geometry_low", bands[1][i] or full[i])
            object.__setattr__(shape, "later", None)


def _within(counts):
    """0, 1, … counts[k]-1 for each k, concatenated: each coordinate's place in its line."""
    import numpy

    total = int(counts.sum())
    starts = numpy.repeat(numpy.cumsum(counts) - counts, counts)
    return numpy.arange(total) - starts


def fill_texts(shapes: list[Shape]) -> None:
    """Write the texts of the shapes road_shapes(texts_later=True) left without, one batch at a time."""
    pending: dict[int, tuple[LaterTexts, set[int]]] = {}
    for shape in shapes:
        if shape.later is not None:
            batch, at = shape.later
            pending.setdefault(id(batch), (batch, set()))[1].add(at)
    for batch, positions in pending.values():
        batch.fill(sorted(positions))


def _texts(flat, counts, lines) -> tuple[list[str | None], list[list[str | None]]]:
    """The line texts and the two bands' texts; the bands' simplifications run in two threads
    (shapely releases the GIL in its array functions) while this one writes the full texts."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        simplified = [
            pool.submit(shapely.simplify, lines, tolerance, preserve_topology=True)
            for tolerance in (MID_TOLERANCE_DEG, LOW_TOLERANCE_DEG)
        ]
        full = _lines_json(flat, counts)
        bands = [_band_texts(future.result()) for future in simplified]
    return full, bands


def road_shapes(geoms: list, texts_later: bool = False) -> list:
    """road_shape for every row at once (shapely 2 arrays): each a Shape, or the ValueError
    road_shape raises. Plain valid LineStrings take the vectorised path; any other row (a
    MultiLineString, an invalid or degenerate line) goes through road_shape itself, so the
    results and messages are exactly road_shape's. With ``texts_later`` the vectorised
    rows' texts are left to fill_texts (LaterTexts); everything checked is there already."""
    import numpy

    from roadchief.domain.lengths import _km, projected_transformer

    results: list = [None] * len(geoms)
    array = numpy.empty(len(geoms), dtype=object)
    array[:] = geoms
    present = numpy.array([isinstance(g, BaseGeometry) for g in geoms], dtype=bool)
    simple = numpy.zeros(len(geoms), dtype=bool)
    if present.any():
        candidates = array[present]
        ok = (shapely.get_type_id(candidates) == 1) & ~shapely.is_empty(candidates)
        ok[ok] = shapely.is_valid(candidates[ok])
        bounds = shapely.bounds(candidates)
        with numpy.errstate(invalid="ignore"):
            ok &= numpy.isfinite(bounds).all(axis=1)
            ok &= (-180 <= bounds[:, 0]) & (bounds[:, 0] <= bounds[:, 2]) & (bounds[:, 2] <= 180)
            ok &= (-90 <= bounds[:, 1]) & (bounds[:, 1] <= bounds[:, 3]) & (bounds[:, 3] <= 90)
        simple[numpy.flatnonzero(present)[ok]] = True
    fast = numpy.flatnonzero(simple)
    if len(fast):
        flat, index, counts = _tidy_many(array[fast], COORD_DIGITS)
        enough = counts >= 2
        kept = enough[index]
        flat, index = flat[kept], index[kept]
        fast, counts = fast[enough], counts[enough]
        index = (numpy.cumsum(enough) - 1)[index]
        lines = shapely.linestrings(flat, indices=index)
        x, y = projected_transformer().transform(flat[:, 0], flat[:, 1])
        metres = shapely.length(shapely.linestrings(numpy.column_stack([x, y]), indices=index)).tolist()
        later = LaterTexts(flat, counts, lines) if texts_later else None
        full, bands = ([], []) if later else _texts(flat, counts, lines)
        line_bounds = shapely.bounds(lines).tolist()
        for i, at in enumerate(fast.tolist()):
            measured = _km(metres[i])
            if measured <= 0:
                continue  # road_shape below says so
            min_lon, min_lat, max_lon, max_lat = line_bounds[i]
            if later is not None:
                shape = Shape(*(TEXT_NOT_YET,) * 3, min_lon, min_lat, max_lon, max_lat, measured, later=(later, i))
                later.shapes[i] = shape
                results[at] = shape
                continue
            geometry = full[i]
            assert geometry is not None  # rows with fewer than two points were left to road_shape
            results[at] = Shape(
                geometry=geometry,
                geometry_mid=bands[0][i] or geometry,
                geometry_low=bands[1][i] or geometry,
                min_lon=min_lon,
                min_lat=min_lat,
                max_lon=max_lon,
                max_lat=max_lat,
                measured_km=measured,
            )
    for at, geom in enumerate(geoms):
        if results[at] is None:
            try:
                results[at] = road_shape(geom)
            except ValueError as exc:
                results[at] = exc
    return results
