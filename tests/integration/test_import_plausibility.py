"""The importer refuses rows whose stakes contradict 列养里程 by a unit factor, and lines outside the county."""

from __future__ import annotations

import json

import pytest
from importer_fixtures import PINYIN, PROJECTED, line_east, network_rows, seed_register, write_layer
from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models import AuditEntry, Road, Segment
from roadchief.services.road_import import ImportFailed, import_roads
from tests.conftest import _app, login, make_user


@pytest.fixture
def register(app):
    seed_register()
    return app


def _count() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Road, Segment, AuditEntry))


def _refused(path, **options) -> ImportFailed:
    before = _count()
    with pytest.raises(ImportFailed) as caught:
        import_roads(path, **options)
    assert _count() == before  # nothing written
    return caught.value


def test_stakes_in_metres_read_as_km_are_refused(register, tmp_path):
    rows = network_rows()
    rows[1]["start_stake"], rows[1]["end_stake"] = 2000, 4500  # metres in a numeric (km) column
    path = write_layer(rows, tmp_path / "m.shp", columns=PINYIN)
    error = _refused(path)
    assert [(e.row, e.field) for e in error.errors] == [(2, "止点桩号")]
    assert "1000 倍" in error.errors[0].reason and "米" in error.errors[0].reason
    assert "第 2 行 [止点桩号]" in str(error.errors[0])


def test_listed_km_given_in_metres_is_refused(register, tmp_path):
    rows = network_rows()
    rows[0]["listed_km"] = "2000"  # K0+000—K2+000 listed as 2000 km
    error = _refused(write_layer(rows, tmp_path / "l.geojson"))
    assert [(e.row, e.field) for e in error.errors] == [(1, "止点桩号")]
    assert "列养里程可能以米填写" in error.errors[0].reason


def test_listed_km_shorter_than_stakes_within_reason_is_accepted(register, tmp_path):
    rows = network_rows()
    rows[0]["listed_km"] = "1.500"  # part of K0+000—K2+000 not maintained: plausible
    report = import_roads(write_layer(rows, tmp_path / "ok.geojson"))
    assert report.created == 6


def test_geometry_outside_the_county_is_refused(register, tmp_path):
    rows = network_rows()
    rows[2]["geometry"] = line_east(0, 1500, y_offset=-400_000)  # 400 km south, in 甘肃
    error = _refused(write_layer(rows, tmp_path / "far.geojson"))
    assert [(e.row, e.field) for e in error.errors] == [(3, "几何")]
    assert "超出青铜峡市范围" in error.errors[0].reason


def test_projected_shapefile_is_transformed_before_the_county_check(register, tmp_path):
    inside = write_layer(network_rows(), tmp_path / "in" / "roads.shp", columns=PINYIN, crs=PROJECTED)
    assert import_roads(inside).created == 6
    rows = network_rows()
    rows[0]["geometry"] = line_east(-300_000, 2000)  # still valid EPSG:4544 metres, 300 km west
    rows[0]["road_code"] = rows[1]["road_code"] = "X909640381"
    error = _refused(write_layer(rows, tmp_path / "out" / "roads.shp", columns=PINYIN, crs=PROJECTED))
    assert [(e.row, e.field) for e in error.errors] == [(1, "几何")]


def test_county_box_is_configurable(register, tmp_path):
    register.config["COUNTY_BBOX"] = "106.5,38.5,107.0,39.0"
    error = _refused(write_layer(network_rows(), tmp_path / "c.geojson"))
    assert {e.field for e in error.errors} == {"几何"} and len(error.errors) == 6
    assert "106.5，38.5，107，39" in error.errors[0].reason


def test_metre_stake_columns_are_read_as_metres(register, tmp_path):
    rows = network_rows()
    columns = {"road_code": "code", "road_name": "name", "start_stake": "start_m", "end_stake": "end_m"}
    columns |= {"listed_km": "listed_km", "town": "town", "village": "village"}
    for row in rows:
        for key in ("start_stake", "end_stake"):
            km, metres = row[key].lstrip("K").split("+")
            row[key] = int(km) * 1000 + int(metres)
    report = import_roads(write_layer(rows, tmp_path / "api.geojson", columns=columns))
    assert report.created == 6
    stakes = sorted(db.session.execute(select(Segment.start_m, Segment.end_m)).all())
    assert stakes[-1] == (2000, 4500)


def test_api_export_imports_back_without_multiplying_stakes(databases, tmp_path):
    """GET /api/v1/segments (full geometry) → import into an empty register: same stakes and attributes."""
    from tests.integration.test_network_export import _reference_data, register_snapshot

    source = _app(databases, demo=True)
    app = next(source)
    try:
        client = app.test_client()
        login(client, make_user("city_office"))
        response = client.get("/api/v1/segments?zoom=18")
        assert response.status_code == 200
        data = json.loads(response.get_data(as_text=True))
        feature = next(f for f in data["features"] if f["properties"]["code"] == "X101640381")
        assert feature["properties"]["start_stake"] == "K0+000" and feature["properties"]["tech_grade"] == "二级"
        path = tmp_path / "api.geojson"
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        before = register_snapshot()
    finally:
        next(source, None)
    target = _app(databases, demo=False)
    next(target)
    try:
        _reference_data()
        import_roads(path)
        after = register_snapshot()
        assert after.keys() == before.keys()  # road code and stakes of every segment, none ×1000
        for key, old in before.items():
            assert after[key]["attributes"] == old["attributes"], key  # 技术等级, 路面, 宽度
            assert after[key]["units"] == old["units"], key  # town, village, 公路站
            assert after[key]["listed"] == old["listed"], key
    finally:
        next(target, None)
