"""The XYZ tile maths the vector tiles rest on (domain/tiles.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadchief.domain import tiles


def test_the_world_tile_and_a_known_tile_of_the_county():
    min_lon, min_lat, max_lon, max_lat = tiles.tile_lonlat_bounds(0, 0, 0)
    assert (min_lon, max_lon) == (-180.0, 180.0)
    assert min_lat == pytest.approx(-tiles.MAX_LAT) and max_lat == pytest.approx(tiles.MAX_LAT)
    # 青铜峡市 (106.07° E, 38.02° N) at zoom 12: column floor((106.07 + 180) / 360 · 4096) = 3254,
    # row floor((1 − ln(tan φ + sec φ) / π) / 2 · 4096) = 1579
    assert tiles.tile_for(106.07, 38.02, 12) == (3254, 1579)


def test_the_buffer_widens_a_tile_by_its_share_of_the_extent():
    plain = tiles.tile_lonlat_bounds(10, 813, 391)
    wide = tiles.tile_lonlat_bounds(10, 813, 391, buffer=tiles.BUFFER)
    width = plain[2] - plain[0]
    assert wide[0] == pytest.approx(plain[0] - width * tiles.BUFFER / tiles.EXTENT)
    assert wide[1] < plain[1] and wide[3] > plain[3]


@pytest.mark.parametrize(("z", "x", "y", "message"), [(17, 0, 0, "0–16"), (3, 8, 0, "0–7"), (2, 0, -1, "0–3")])
def test_tiles_that_do_not_exist_are_refused_with_the_valid_range(z, x, y, message):
    with pytest.raises(tiles.TileError, match=message):
        tiles.check_tile(z, x, y)


@given(
    lon=st.floats(min_value=70, max_value=135),
    lat=st.floats(min_value=15, max_value=55),
    z=st.integers(min_value=0, max_value=16),
)
def test_a_point_lies_in_its_tile_at_units_between_0_and_the_extent(lon, lat, z):
    x, y = tiles.tile_for(lon, lat, z)
    min_lon, min_lat, max_lon, max_lat = tiles.tile_lonlat_bounds(z, x, y)
    assert min_lon - 1e-9 <= lon <= max_lon + 1e-9 and min_lat - 1e-9 <= lat <= max_lat + 1e-9
    ux, uy = tiles.lonlat_to_tile_units(lon, lat, z, x, y)
    assert -1e-6 <= float(ux) <= tiles.EXTENT + 1e-6 and -1e-6 <= float(uy) <= tiles.EXTENT + 1e-6
