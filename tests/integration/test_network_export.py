"""Lossless register export: every format imported into an empty register gives the same register and summary."""

from __future__ import annotations

import json
import zipfile

import pytest
from sqlalchemy import select

from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import Road, Segment, Station, Town, Village
from tests.conftest import _app

FORMATS = [("gpkg", "路网.gpkg"), ("shp", "roads.shp"), ("shp-zip", "roads.zip"), ("geojson", "路网.geojson")]
FORMATS.append(("xlsx", "路网.xlsx"))


def _coords(geometry: str) -> list[float]:
    flat: list[float] = []

    def walk(value):
        if isinstance(value[0], (int, float)):
            flat.extend(value[:2])
        else:
            for part in value:
                walk(part)

    walk(json.loads(geometry)["coordinates"])
    return flat


def register_snapshot() -> dict:
    """Every attribute of every segment, keyed by road and stakes (ids may differ)."""
    query = (
        select(Segment, Road, Town.code, Village.code, Station.code)
        .join(Road, Segment.road_id == Road.id)
        .join(Town, Segment.town_id == Town.id)
        .outerjoin(Village, Segment.village_id == Village.id)
        .outerjoin(Station, Segment.station_id == Station.id)
    )
    snapshot = {}
    for segment, road, town, village, station in db.session.execute(query):
        snapshot[(road.code, segment.start_m, segment.end_m)] = {
            "road": (road.name, road.road_class),
            "listed": (segment.listed_m, segment.is_listed),
            "attributes": (segment.tech_grade, segment.surface, segment.width_dm),
            "units": (town, village, station),
            "measured_m": segment.measured_m,
            "type": json.loads(segment.geometry)["type"],
            "coords": _coords(segment.geometry),
            "bands": (segment.geometry_mid, segment.geometry_low),
            "bounds": (segment.min_lon, segment.min_lat, segment.max_lon, segment.max_lat),
        }
    return snapshot


def _reference_data():
    """An empty register: towns, villages and the station, no roads."""
    from roadchief.services.admin_units import ensure_admin_units, ensure_station
    from roadchief.services.demo import _load_villages, demo_dir
    from roadchief.services.transactions import unit_of_work

    ensure_admin_units()
    with unit_of_work():
        ensure_station("GLZ01", "青铜峡公路站")
    _load_villages(demo_dir() / "villages.csv")


def _assert_same(before: dict, after: dict) -> None:
    assert after.keys() == before.keys()
    for key, old in before.items():
        new = after[key]
        coords_old, coords_new = old.pop("coords"), new.pop("coords")
        assert len(coords_new) == len(coords_old), key
        assert max(abs(a - b) for a, b in zip(coords_old, coords_new)) <= 1e-7, key
        assert new == old, key


@pytest.mark.parametrize("fmt, name", FORMATS, ids=[f for f, _ in FORMATS])
def test_export_imports_back_into_an_empty_register_unchanged(databases, tmp_path, fmt, name):
    path = tmp_path / name
    source = _app(databases, demo=True)
    app = next(source)
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(main, ["network", "export", str(path)])
        assert result.exit_code == 0, result.output
        assert "已导出 365 个路段" in result.output
        summary = runner.invoke(main, ["network", "summary", "--json"]).output
        before = register_snapshot()
    finally:
        next(source, None)
    if fmt == "shp":
        assert path.with_suffix(".cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    if fmt == "shp-zip":
        assert any(n.endswith(".cpg") for n in zipfile.ZipFile(path).namelist())

    target = _app(databases, demo=False)
    app = next(target)
    try:
        _reference_data()
        assert db.session.scalar(select(Segment.id)) is None
        runner = app.test_cli_runner()
        result = runner.invoke(main, ["import-roads", str(path)])
        assert result.exit_code == 0, result.output
        assert runner.invoke(main, ["network", "summary", "--json"]).output == summary
        _assert_same(before, register_snapshot())
    finally:
        next(target, None)


def test_export_columns_are_the_importers(demo_app, tmp_path):
    """Stakes in K form, Shapefile columns the pinyin initials the importer knows, every attribute present."""
    import geopandas

    from roadchief.services.importing.columns import FIELDS
    from roadchief.services.network_export import export_network

    export_network(tmp_path / "r.shp")
    frame = geopandas.read_file(tmp_path / "r.shp")
    assert {
        "LXBM",
        "LXMC",
        "XZDJ",
        "QDZH",
        "ZDZH",
        "LYLC",
        "JSDJ",
        "LMLX",
        "LMKD",
        "SSXZ",
        "SSC",
        "SFLY",
        "GLZ",
    } <= set(frame.columns)
    assert all(len(c) <= 10 for c in frame.columns)
    row = frame[frame["LXBM"] == "X101640381"].iloc[0]
    assert (row["QDZH"], row["ZDZH"], row["LYLC"], row["LMKD"]) == ("K0+000", "K9+386", 9.386, 8.5)
    assert (row["JSDJ"], row["LMLX"], row["SSXZ"], row["SFLY"]) == ("二级", "沥青", "瞿靖镇", "是")
    assert set(frame["GLZ"].dropna()) == {"青铜峡公路站"}
    export_network(tmp_path / "r.geojson")
    properties = json.loads((tmp_path / "r.geojson").read_text("utf-8"))["features"][0]["properties"]
    for spec in FIELDS.values():
        assert spec.label in properties or spec.label == "路面宽度" and "路面宽度" in properties


def test_unknown_export_format_is_refused(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(main, ["network", "export", str(tmp_path / "roads.txt")])
    assert result.exit_code != 0 and "无法从文件名" in result.output
    assert not (tmp_path / "roads.txt").exists()


def test_a_line_longer_than_a_cell_continues_in_the_next_columns(app, tmp_path):
    """A 3,000-vertex line is over 32,767 characters of WKT: 几何WKT, 几何WKT续1 …, read back joined."""
    from importer_fixtures import seed_register
    from openpyxl import load_workbook

    from roadchief.services.importing.workbook import CELL_LIMIT, WKT_HEADER
    from roadchief.services.network_export import export_network
    from roadchief.services.road_import import import_roads

    seed_register()
    coordinates = [[round(106.0 + i * 0.00001, 6), round(38.0 + (i % 2) * 0.000005, 6)] for i in range(3000)]
    feature = {
        "type": "Feature",
        "properties": {"路线编码": "X101640381", "路线名称": "长线", "起点桩号": "K0+000", "止点桩号": "K2+700"}
        | {"列养里程": "2.700", "所属乡镇": "小坝镇"},
        "geometry": {"type": "LineString", "coordinates": coordinates},
    }
    source = tmp_path / "long.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    import_roads(source)
    before = register_snapshot()
    export_network(tmp_path / "long.xlsx")
    sheet = load_workbook(tmp_path / "long.xlsx").active
    header = [c.value for c in sheet[1]]
    wkt_columns = [i for i, name in enumerate(header) if str(name).startswith(WKT_HEADER)]
    assert len(wkt_columns) >= 2 and header[wkt_columns[1]] == f"{WKT_HEADER}续1"
    assert all(len(sheet.cell(2, i + 1).value) <= CELL_LIMIT for i in wkt_columns)
    report = import_roads(tmp_path / "long.xlsx")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)  # the same line read back
    _assert_same(before, register_snapshot())
