"""The importer's array path for road lines (road_shapes) gives exactly what the per-row path
(road_shape) gives: the same stored texts, boxes and lengths, the same refusals. A re-import
compares stored texts to find unchanged segments, so "close" is not enough."""

from __future__ import annotations

import json
import random

import numpy
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point

from roadchief.services.importing.geometry import Shape, fill_texts, road_shape, road_shapes, round_like_python
from roadchief.services.importing.writing import chunk_sizes


@given(
    st.lists(st.floats(min_value=-180, max_value=180, allow_nan=False), min_size=1, max_size=50),
    st.sampled_from([0, 1, 3, 5, 6, 7, 9]),
)
@settings(max_examples=300, deadline=None)
def test_rounding_matches_python_round(values, digits):
    rounded = round_like_python(numpy.array(values), digits).tolist()
    assert rounded == [round(v, digits) for v in values]


def test_rounding_matches_python_round_at_halves_and_edges():
    # Values whose decimal expansion sits on or next to a half at the rounding digit, where a
    # multiply-then-round shortcut goes wrong (round(2.675, 2) is 2.67: 2.675 is stored below it).
    halves = [2.675, 0.125, 0.375, 106.0000005, 38.1234565, -106.0000015, 1.0000005, -0.0, 0.0, 1e-9]
    neighbours = [numpy.nextafter(v, d) for v in halves for d in (-numpy.inf, numpy.inf)]
    values = numpy.array(halves + neighbours + [numpy.nan, numpy.inf, -numpy.inf])
    for digits in (2, 5, 6, 7):
        got = round_like_python(values, digits).tolist()
        want = [round(float(v), digits) for v in values]
        assert [repr(g) for g in got] == [repr(w) for w in want]


def _random_line(rng: random.Random) -> LineString:
    lon, lat = rng.uniform(105.8, 106.4), rng.uniform(37.8, 38.2)
    points = [(lon, lat)]
    for _ in range(rng.randint(1, 40)):
        step = rng.choice([1e-7, 3e-6, 2e-5, 4e-4, 2e-3])  # sub-rounding jitter to long strides
        lon, lat = lon + rng.uniform(-step, step), lat + rng.uniform(-step, step)
        points.append((lon, lat))
    return LineString(points)


def _same(fast, slow):
    if isinstance(slow, ValueError):
        assert isinstance(fast, ValueError) and str(fast) == str(slow)
    else:
        assert fast == slow


def test_array_path_equals_the_row_path():
    rng = random.Random(15)
    geoms = [_random_line(rng) for _ in range(400)]
    geoms += [
        None,
        Point(106, 38),
        LineString([(106.1, 38.1), (106.1000000001, 38.1000000001)]),  # collapses when rounded
        LineString([(106.1, 38.1), (106.1, 38.100001)]),  # shorter than a metre
        LineString([(106.1, 38.1), (106.2, 38.2), (106.1, 38.2), (106.2, 38.1)]),  # self-crossing, valid
        LineString([(0.00003, 38.1), (0.5, 38.2)]),  # a coordinate json writes in exponent form
        LineString([(106.1, 38.1, 1190.0), (106.2, 38.2, 1201.5)]),  # 3D
        MultiLineString([[(106.1, 38.1), (106.2, 38.2)], [(106.2, 38.2), (106.3, 38.25)]]),
        LineString([(200, 38), (201, 38)]),  # not lon/lat
    ]
    for fast, geom in zip(road_shapes(geoms), geoms):
        try:
            slow = road_shape(geom)
        except ValueError as exc:
            slow = exc
        _same(fast, slow)


def test_texts_written_later_are_the_texts_written_at_once():
    """road_shapes(texts_later=True) checks and measures every line at once but leaves the three
    map texts to fill_texts, which the importer calls chunk by chunk, in any order, as it writes."""
    rng = random.Random(7)
    geoms = [_random_line(rng) for _ in range(300)]
    geoms += [None, LineString([(0.00003, 38.1), (0.5, 38.2)]), MultiLineString([[(106.1, 38.1), (106.2, 38.2)]])]
    at_once = road_shapes(geoms)
    later = road_shapes(geoms, texts_later=True)
    shapes = [shape for shape in later if isinstance(shape, Shape)]
    waiting = [shape for shape in shapes if shape.later is not None]
    assert len(waiting) >= 290  # the array path's lines: nothing to write until asked
    assert all(not isinstance(shape.geometry, str) for shape in waiting)
    for now, then in zip(at_once, later):  # what the checks read is there already
        if isinstance(now, Shape):
            assert (then.min_lon, then.max_lat, then.measured_km) == (now.min_lon, now.max_lat, now.measured_km)
    order = list(range(len(later)))
    rng.shuffle(order)
    for start in range(0, len(order), 70):
        chunk = [later[i] for i in order[start : start + 70] if isinstance(later[i], Shape)]
        fill_texts(chunk + chunk[:3])  # a shape asked for twice is written once
    assert all(shape.later is None for shape in shapes)
    for now, then in zip(at_once, later):
        _same(then, now)
        if isinstance(now, Shape):
            assert (then.geometry, then.geometry_mid, then.geometry_low) == (
                now.geometry,
                now.geometry_mid,
                now.geometry_low,
            )


def test_stored_text_is_the_json_of_the_line():
    line = LineString([(106.1234564999, 38.5), (106.2, 38.0000005), (106.3, 38.7)])
    (shape,) = road_shapes([line])
    assert shape.geometry == json.dumps(
        {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in line.coords]},
        separators=(",", ":"),
    )
    assert shapely.from_geojson(shape.geometry_low).is_valid


@pytest.mark.parametrize("digits", [-1, 16])
def test_rounding_refuses_digits_it_cannot_do_exactly(digits):
    with pytest.raises(ValueError):
        round_like_python(numpy.array([1.5]), digits)


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=50, max_value=5_000), st.integers(50, 20_000))
def test_chunk_sizes_cover_every_row_once_and_grow_to_the_most(total, first, most):
    sizes = chunk_sizes(total, first, most)
    assert sum(sizes) == total and all(size > 0 for size in sizes)
    assert all(size < most + min(first, most) for size in sizes)  # a small tail joins the last
    if len(sizes) > 1:
        assert sizes[0] == min(first, most) and sizes == sorted(sizes[:-1]) + sizes[-1:]


def test_chunk_sizes_of_a_province():
    assert chunk_sizes(60_000, 3_000, 12_000) == [3_000, 6_000, 12_000, 12_000, 12_000, 12_000, 3_000]
    assert chunk_sizes(36, 3_000, 10) == [10, 10, 16]
    assert chunk_sizes(2_500, 3_000, 12_000) == [2_500]
