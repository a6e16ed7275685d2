from decimal import Decimal as D

import numpy
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point, mapping

from roadchief.domain import lengths
from roadchief.domain.lengths import (
    exceeds_tolerance,
    geodesic_length_km,
    length_deviation,
    projected_length_km,
)

# about 1 km, at 青铜峡's longitude and latitude
ONE_KM = LineString([(106.0, 38.0), (106.006, 38.005), (106.0114, 38.0)])
EAST_KM = LineString([(106.0, 38.0), (106.0114, 38.0)])


def _raw_metres(geometry, epsg):
    t = Transformer.from_crs("EPSG:4326", epsg, always_xy=True)
    return shapely.transform(geometry, lambda c: numpy.column_stack(t.transform(c[:, 0], c[:, 1]))).length


def test_exact_lengths_of_reference_lines():
    assert projected_length_km(ONE_KM) == D("1.495")
    assert geodesic_length_km(ONE_KM) == D("1.495")
    assert projected_length_km(EAST_KM) == D("1.001")
    assert geodesic_length_km(EAST_KM) == D("1.001")


def test_epsg_4544_agrees_with_the_geodesic_and_4547_does_not():
    geodesic_m = lengths._GEOD.geometry_length(ONE_KM)
    error_4544 = abs(_raw_metres(ONE_KM, "EPSG:4544") - geodesic_m) / geodesic_m
    error_4547 = abs(_raw_metres(ONE_KM, "EPSG:4547") - geodesic_m) / geodesic_m
    assert error_4544 < 0.001
    assert error_4547 > 0.005  # the ~0.6% a wrong zone would add
    assert abs(projected_length_km(ONE_KM) - geodesic_length_km(ONE_KM)) <= D("0.001")


def test_module_measures_in_epsg_4544_and_caches_the_transformer():
    assert lengths.PROJECTED_CRS == "EPSG:4544"
    transformer = lengths.projected_transformer()
    assert transformer is lengths.projected_transformer()
    assert transformer.target_crs.name.startswith("CGCS2000 / 3-degree Gauss-Kruger CM 105E")
    easting, _ = transformer.transform(105.0, 38.0)  # on the central meridian of EPSG:4544
    assert easting == pytest.approx(500000.0, abs=1e-6)


def test_multilinestring_and_geojson_input():
    multi = MultiLineString([EAST_KM.coords, [(106.1, 38.1), (106.1114, 38.1)]])
    assert projected_length_km(multi) == D("2.001")
    assert projected_length_km(mapping(EAST_KM)) == D("1.001")
    assert geodesic_length_km(mapping(multi)) == D("2.001")
    assert projected_length_km(LineString()) == D("0.000")
    assert geodesic_length_km(MultiLineString()) == D("0.000")


def test_only_lon_lat_lines_are_measured():
    with pytest.raises(ValueError, match="LineString"):
        projected_length_km(Point(106, 38))
    with pytest.raises(ValueError, match="经纬度"):
        projected_length_km(LineString([(590000, 4200000), (591000, 4200000)]))
    with pytest.raises(ValueError):
        geodesic_length_km(LineString([(590000, 4200000), (591000, 4200000)]))


def test_length_deviation():
    assert length_deviation(D("10"), D("10.6")) == D("0.06")
    assert length_deviation(D("10.000"), D("9.5")) == D("0.05")
    assert length_deviation(D("2.5"), D("2.5")) == 0
    with pytest.raises(ValueError):
        length_deviation(D("0"), D("1"))
    with pytest.raises(ValueError):
        length_deviation(D("1"), D("-1"))
    with pytest.raises(TypeError):
        length_deviation(10.0, D("1"))


def test_exceeds_tolerance():
    assert not exceeds_tolerance(D("10"), D("10.5"))  # exactly 5% still passes
    assert exceeds_tolerance(D("10"), D("10.501"))
    assert exceeds_tolerance(D("10"), D("9.4"))
    assert not exceeds_tolerance(D("10"), D("10.9"), tolerance=D("0.1"))
    assert exceeds_tolerance(D("10"), D("10.001"), tolerance=D("0"))
    with pytest.raises(ValueError):
        exceeds_tolerance(D("10"), D("10"), tolerance=D("-0.01"))
