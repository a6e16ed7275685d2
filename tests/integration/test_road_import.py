"""Importing 普查 road layers: formats, encodings, CRS, upsert, mileage versions, and all-or-nothing errors."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from importer_fixtures import (  # tests/integration is on sys.path (pytest rootdir-less "prepend" import mode)
    CHINESE,
    ENGLISH,
    ORIGIN_X,
    ORIGIN_Y,
    PINYIN,
    clear_ldid,
    line_east,
    network_rows,
    seed_register,
    write_layer,
    zip_shapefile,
)
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from sqlalchemy import delete, func, select

from roadchief.extensions import db
from roadchief.models import AuditEntry, MileageVersion, Road, Segment, SegmentMileage, Village
from roadchief.services import ServiceError
from roadchief.services.importing import validation, writing
from roadchief.services.road_import import ImportFailed, RowError, import_roads, load_mapping

EFFECTIVE = date(2024, 1, 1)


@pytest.fixture
def register(app):
    seed_register()
    return app


def counts() -> dict[str, int]:
    models = (Road, Segment, SegmentMileage, MileageVersion, Village, AuditEntry)
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in models}


def segment(code: str, start_m: int) -> Segment:
    return db.session.scalar(select(Segment).join(Road).where(Road.code == code, Segment.start_m == start_m))


def geojson(tmp_path, rows=None, name="network.geojson", **options):
    return write_layer(network_rows() if rows is None else rows, tmp_path / name, **options)


def failure(path, **options) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        import_roads(path, **options)
    return caught.value


def has_error(exc: ImportFailed, row: int, field: str) -> bool:
    return any(e.row == row and e.field == field for e in exc.errors)


# ---------------------------------------------------------------------------
# Reading and writing a network
# ---------------------------------------------------------------------------


def test_geojson_with_chinese_columns_creates_exact_segments(register, tmp_path):
    report = import_roads(geojson(tmp_path), effective=EFFECTIVE)

    assert (report.rows, report.created, report.updated, report.unchanged, report.roads_created) == (6, 6, 0, 0, 3)
    assert report.length_warnings == []
    assert report.mileage_version == "2024年列养里程"
    roads = {r.code: r for r in db.session.scalars(select(Road))}
    assert {code: (r.name, r.road_class) for code, r in roads.items()} == {
        "X101640381": ("青铜峡—小坝公路", "市道"),
        "Y012640381": ("大坝—韦桥公路", "镇道"),
        "C003640381": ("沙湖村道", "村道"),
    }
    stored = db.session.scalars(select(Segment).order_by(Segment.road_id, Segment.start_m)).all()
    assert [(s.road.code, s.start_m, s.end_m, s.listed_m) for s in stored] == [
        ("X101640381", 0, 2000, 2000),
        ("X101640381", 2000, 4500, 2500),
        ("Y012640381", 0, 1500, 1500),
        ("Y012640381", 1500, 3200, 1700),
        ("C003640381", 0, 1200, 1200),
        ("C003640381", 1200, 2000, 800),
    ]
    first, last = stored[0], stored[-1]
    assert first.station.name == "小坝公路站" and first.village is None and first.town.name == "小坝镇"
    assert (first.tech_grade, first.surface, first.width_dm, first.is_listed) == ("四级", "沥青", 45, True)
    assert stored[2].surface == "水泥"
    assert stored[3].town.code == "640381101" and stored[3].village.name == "大坝村"
    assert last.village.name == "韦桥村" and last.is_listed is False and stored[4].tech_grade == "等外"
    for s in stored:
        assert abs(s.measured_m - s.listed_m) <= 1  # drawn to length in EPSG:4544
        assert isinstance(s.listed_m, int) and isinstance(s.measured_m, int)


def test_geometry_is_compact_geojson_with_zoom_bands_and_bbox(register, tmp_path):
    import_roads(geojson(tmp_path), effective=EFFECTIVE)
    s = segment("X101640381", 0)

    full = json.loads(s.geometry)
    assert full["type"] == "LineString" and len(full["coordinates"]) == 5
    assert " " not in s.geometry
    assert all(round(v, 6) == v for point in full["coordinates"] for v in point)
    mid, low = json.loads(s.geometry_mid), json.loads(s.geometry_low)
    assert len(low["coordinates"]) == 2  # a straight line needs only its ends on the city map
    assert all(round(v, 5) == v for band in (mid, low) for point in band["coordinates"] for v in point)
    xs = [p[0] for p in full["coordinates"]]
    ys = [p[1] for p in full["coordinates"]]
    assert (s.min_lon, s.min_lat, s.max_lon, s.max_lat) == (min(xs), min(ys), max(xs), max(ys))
    assert 105.9 < s.min_lon < 106.1 and 37.9 < s.min_lat < 38.1


def test_reimport_of_same_file_changes_nothing(register, tmp_path):
    path = geojson(tmp_path)
    import_roads(path, effective=EFFECTIVE)
    before = counts()
    versions = {s.id: s.version for s in db.session.scalars(select(Segment))}

    report = import_roads(path, effective=EFFECTIVE)

    assert (report.created, report.updated, report.unchanged, report.roads_created) == (0, 0, 6, 0)
    assert report.roads_updated == 0 and report.mileage_written == 0
    assert counts() == before  # not even an audit entry
    db.session.expire_all()
    assert {s.id: s.version for s in db.session.scalars(select(Segment))} == versions


def test_changed_row_updates_only_that_segment(register, tmp_path):
    import_roads(geojson(tmp_path), effective=EFFECTIVE)
    rows = network_rows()
    rows[1]["listed_km"] = "2.480"
    rows[0]["road_name"] = rows[1]["road_name"] = "青铜峡至小坝公路"

    report = import_roads(geojson(tmp_path, rows, "changed.geojson"), effective=EFFECTIVE)

    assert (report.created, report.updated, report.unchanged, report.roads_updated) == (0, 1, 5, 1)
    assert report.mileage_written == 1
    changed = segment("X101640381", 2000)
    assert changed.listed_m == 2480 and changed.version == 2
    assert changed.road.name == "青铜峡至小坝公路"
    mileage = db.session.scalar(select(SegmentMileage).where(SegmentMileage.segment_id == changed.id))
    assert mileage.listed_m == 2480


def test_zipped_shapefile_pinyin_gbk_with_cpg_in_projected_crs(register, tmp_path):
    shp = write_layer(
        network_rows(), tmp_path / "shp" / "路网.shp", PINYIN, crs="EPSG:4544", numeric=True, encoding="GBK"
    )
    assert shp.with_suffix(".cpg").exists()
    archive = zip_shapefile(shp, tmp_path / "路网.zip", folder="普查/")

    report = import_roads(archive, effective=EFFECTIVE)

    assert (report.created, report.roads_created, report.length_warnings) == (6, 3, [])
    assert db.session.scalar(select(Road.name).where(Road.code == "C003640381")) == "沙湖村道"
    assert [
        (s.start_m, s.end_m, s.listed_m)
        for s in db.session.scalars(
            select(Segment).join(Road).where(Road.code == "X101640381").order_by(Segment.start_m)
        )
    ] == [(0, 2000, 2000), (2000, 4500, 2500)]
    assert abs(segment("X101640381", 0).measured_m - 2000) <= 1


def test_shapefile_without_cpg_falls_back_to_gbk(register, tmp_path):
    shp = write_layer(
        network_rows(), tmp_path / "shp" / "roads.shp", PINYIN, crs="EPSG:4544", numeric=True, encoding="GBK"
    )
    shp.with_suffix(".cpg").unlink()
    clear_ldid(shp.with_suffix(".dbf"))  # nothing left to say GBK but the bytes themselves

    zipped = import_roads(zip_shapefile(shp, tmp_path / "roads.zip"), dry_run=True)
    plain = import_roads(shp, effective=EFFECTIVE)

    assert zipped.created == plain.created == 6
    assert sorted(db.session.scalars(select(Road.name))) == sorted(["青铜峡—小坝公路", "大坝—韦桥公路", "沙湖村道"])
    # and a forced wrong encoding really does garble the names (so the fallback is what made it work)
    wrong = failure(shp, encoding="latin-1")
    assert has_error(wrong, 1, "所属乡镇")


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4490", "EPSG:4544", "EPSG:4547"])
def test_geopackage_with_english_names_in_any_crs(register, tmp_path, crs):
    path = write_layer(network_rows(), tmp_path / "network.gpkg", ENGLISH, crs=crs)

    report = import_roads(path, effective=EFFECTIVE)

    assert (report.created, report.roads_created, report.length_warnings) == (6, 3, [])
    s = segment("Y012640381", 1500)
    assert (s.end_m, s.listed_m, s.village.code) == (3200, 1700, "640381101201")
    assert abs(s.measured_m - 1700) <= 1
    assert 105.9 < s.min_lon < 106.1


def test_mapping_file_names_unusual_columns(register, tmp_path):
    odd = {
        **CHINESE,
        "road_code": "编号",
        "start_stake": "起 点",
        "end_stake": "终点",
        "listed_km": "养护长度",
        "town": "镇名",
    }
    path = geojson(tmp_path, columns=odd)
    assert has_error(failure(path), 0, "路线编码")

    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(
        json.dumps(
            {"road_code": "编号", "start_stake": "起点", "end_stake": "终点", "listed_km": "养护长度", "town": "镇名"},
            ensure_ascii=False,
        ),
        "utf-8",
    )
    report = import_roads(path, mapping=load_mapping(mapping_file), effective=EFFECTIVE)

    assert report.created == 6
    assert segment("C003640381", 1200).listed_m == 800


def test_missing_required_column_names_field_and_accepted_names(register, tmp_path):
    path = geojson(tmp_path, drop=("end_stake", "town"))
    exc = failure(path)
    assert {(e.row, e.field) for e in exc.errors} == {(0, "止点桩号"), (0, "所属乡镇")}
    assert "ZDZH" in str(exc.errors[0]) + str(exc.errors[1])


def test_mapping_to_absent_column_is_refused(register, tmp_path):
    exc = failure(geojson(tmp_path), mapping={"road_code": "NOPE"})
    assert has_error(exc, 0, "路线编码") and "NOPE" in exc.errors[0].reason


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "不是有效的 JSON"),
        ("[1, 2]", "JSON 对象"),
        ('{"road_kode": "X"}', "未知字段"),
        ('{"road_code": ""}', "非空"),
    ],
)
def test_bad_mapping_file(tmp_path, content, message):
    path = tmp_path / "mapping.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ServiceError, match=message):
        load_mapping(path)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(ServiceError, match="不存在"):
        load_mapping(tmp_path / "nope.json")


def test_dry_run_reports_but_writes_nothing(register, tmp_path):
    before = counts()
    report = import_roads(geojson(tmp_path), dry_run=True, effective=EFFECTIVE)

    assert (report.created, report.roads_created, report.dry_run) == (6, 3, True)
    assert counts() == before
    assert "试导入" in report.summary()


def test_length_warning_for_a_wrong_listed_length(register, tmp_path):
    rows = network_rows()
    rows[0]["listed_km"] = "2.500"  # the line is 2000 m long

    report = import_roads(geojson(tmp_path, rows), effective=EFFECTIVE)

    assert report.created == 6  # a warning, not an error
    [warning] = report.length_warnings
    assert (warning.row, warning.road_code, warning.stakes) == (1, "X101640381", "K0+000—K2+000")
    assert warning.listed_km == Decimal("2.500") and abs(warning.measured_km - Decimal("2.000")) <= Decimal("0.001")
    assert warning.deviation == Decimal("0.2000")
    assert "偏差 20.0%" in report.summary() and "第 1 行" in report.summary()


def test_length_within_five_percent_is_not_warned(register, tmp_path):
    rows = network_rows()
    rows[0]["listed_km"] = "2.100"  # 2000 m line: 4.8%
    assert import_roads(geojson(tmp_path, rows)).length_warnings == []


def test_multilinestring_merged_when_connected_and_kept_when_not(register, tmp_path):
    rows = network_rows()
    x, y = ORIGIN_X, ORIGIN_Y
    rows[0]["geometry"] = MultiLineString([[(x, y), (x + 1000, y)], [(x + 1000, y), (x + 2000, y)]])
    rows[1]["geometry"] = MultiLineString([[(x + 2000, y), (x + 3000, y)], [(x + 3100, y), (x + 4600, y)]])

    report = import_roads(geojson(tmp_path, rows), effective=EFFECTIVE)

    assert report.length_warnings == []
    merged, apart = json.loads(segment("X101640381", 0).geometry), json.loads(segment("X101640381", 2000).geometry)
    assert merged["type"] == "LineString" and len(merged["coordinates"]) == 3
    assert apart["type"] == "MultiLineString" and len(apart["coordinates"]) == 2
    assert abs(segment("X101640381", 2000).measured_m - 2500) <= 1
    assert json.loads(segment("X101640381", 2000).geometry_low)["type"] == "MultiLineString"


def test_duplicate_vertices_are_dropped(register, tmp_path):
    rows = network_rows()
    x, y = ORIGIN_X, ORIGIN_Y
    rows[0]["geometry"] = LineString([(x, y), (x, y), (x + 1000, y), (x + 1000, y), (x + 2000, y)])
    import_roads(geojson(tmp_path, rows))
    assert len(json.loads(segment("X101640381", 0).geometry)["coordinates"]) == 3


def test_create_villages_adds_them_with_901_codes(register, tmp_path):
    rows = network_rows()
    rows[4]["village"] = "新华村"
    rows[5]["village"] = "团结村"
    assert has_error(failure(geojson(tmp_path, rows)), 5, "所属村")

    report = import_roads(geojson(tmp_path, rows), create_villages=True, effective=EFFECTIVE)

    created = {v.name: v.code for v in db.session.scalars(select(Village).where(Village.code.like("%9__")))}
    assert created == {"新华村": "640381100901", "团结村": "640381100902"}
    assert segment("C003640381", 0).village.name == "新华村"
    assert len(report.villages_created) == 2


def test_mileage_versions(register, tmp_path):
    path = geojson(tmp_path)
    first = import_roads(path)  # no version yet: one effective 1 January this year
    this_year = date(date.today().year, 1, 1)
    assert first.mileage_version == f"{this_year.year}年列养里程"
    assert db.session.scalar(select(MileageVersion.effective_from)) == this_year

    rows = network_rows()
    rows[0]["listed_km"] = "2.010"
    later = date(this_year.year + 2, 1, 1)  # 第十五条: re-set every two years
    second = import_roads(geojson(tmp_path, rows, "next.geojson"), effective=later)
    assert second.mileage_version == f"{later.year}年列养里程" and second.mileage_written == 6

    third = import_roads(geojson(tmp_path, rows, "next.geojson"))  # None → latest version
    assert third.mileage_version == second.mileage_version and third.mileage_written == 0

    by_version = dict(
        db.session.execute(
            select(MileageVersion.effective_from, SegmentMileage.listed_m)
            .join(MileageVersion, SegmentMileage.version_id == MileageVersion.id)
            .where(SegmentMileage.segment_id == segment("X101640381", 0).id)
        ).all()
    )
    assert by_version == {this_year: 2000, later: 2010}
    assert db.session.scalar(select(func.count()).select_from(SegmentMileage)) == 12
    listed = db.session.scalar(
        select(SegmentMileage.is_listed).where(SegmentMileage.segment_id == segment("C003640381", 1200).id).limit(1)
    )
    assert listed is False


def test_summary_is_chinese_and_multiline(register, tmp_path):
    text = import_roads(geojson(tmp_path), effective=EFFECTIVE).summary()
    assert "路段：新增 6，更新 0，未变 0" in text and "2024年列养里程" in text and text.count("\n") >= 4


def test_row_error_text():
    assert str(RowError(12, "起点桩号", "桩号为空")) == "第 12 行 [起点桩号]：桩号为空"
    assert str(RowError(0, "文件", "无法读取")) == "[文件]：无法读取"


# ---------------------------------------------------------------------------
# Bad input: every problem reported with row and field, nothing written
# ---------------------------------------------------------------------------

X, Y = ORIGIN_X, ORIGIN_Y


def _set(index, **values):
    def mutate(rows):
        rows[index].update(values)

    return mutate


def _append(**values):
    def mutate(rows):
        rows.append({**rows[0], **values})

    return mutate


BAD_ROWS = {
    "null geometry": (_set(2, geometry=None), 3, "几何"),
    "empty geometry": (_set(2, geometry=LineString()), 3, "几何"),
    "invalid geometry": (_set(2, geometry=LineString([(X, Y), (X, Y)])), 3, "几何"),
    "point geometry": (_set(2, geometry=Point(X, Y)), 3, "几何"),
    "polygon geometry": (_set(2, geometry=Polygon([(X, Y), (X + 9, Y), (X, Y + 9)])), 3, "几何"),
    "bad road code": (_set(2, road_code="A12"), 3, "路线编码"),
    "empty road code": (_set(2, road_code=None), 3, "路线编码"),
    "unknown class": (_set(2, road_class="省道"), 3, "行政等级"),
    "unparseable start stake": (_set(2, start_stake="K1+23"), 3, "起点桩号"),
    "text start stake": (_set(2, start_stake="起点"), 3, "起点桩号"),
    "empty end stake": (_set(2, end_stake=None), 3, "止点桩号"),
    "end before start": (_set(2, start_stake="K1+500", end_stake="K1+000"), 3, "止点桩号"),
    "end equals start": (_set(2, end_stake="K0+000"), 3, "止点桩号"),
    "non-numeric length": (_set(2, listed_km="一点五"), 3, "列养里程"),
    "empty length": (_set(2, listed_km=None), 3, "列养里程"),
    "zero length": (_set(2, listed_km="0"), 3, "列养里程"),
    "negative length": (_set(2, listed_km="-1.5"), 3, "列养里程"),
    "four decimals": (_set(2, listed_km="1.5004"), 3, "列养里程"),
    "float with four decimals": (_set(2, listed_km=1.5004), 3, "列养里程"),
    "unknown town": (_set(2, town="红旗镇"), 3, "所属乡镇"),
    "unknown town code": (_set(2, town="640381199"), 3, "所属乡镇"),
    "empty town": (_set(2, town=None), 3, "所属乡镇"),
    "unknown village": (_set(3, village="不存在村"), 4, "所属村"),
    "village of another town": (_set(3, village="640381100201"), 4, "所属村"),
    "unknown village code": (_set(3, village="640381101999"), 4, "所属村"),
    "村道 without village": (_set(4, village=None), 5, "所属村"),
    "村道 with two villages": (_set(4, village="沙湖村、韦桥村"), 5, "所属村"),
    "unknown station": (_set(2, station="不存在公路站"), 3, "公路站"),
    "bad is_listed": (_set(2, is_listed="也许"), 3, "是否列养"),
    "bad tech grade": (_set(2, tech_grade="五级"), 3, "技术等级"),
    "bad surface": (_set(2, surface="玻璃"), 3, "路面类型"),
    "bad width": (_set(2, width="宽"), 3, "路面宽度"),
    "duplicate row": (_append(), 8, "桩号"),
    "overlap in file": (
        _append(start_stake="K1+000", end_stake="K3+000", listed_km="2.000", geometry=line_east(1000, 2000)),
        8,
        "桩号",
    ),
    "class differs within road": (_set(1, road_class="镇道"), 2, "行政等级"),
    "name differs within road": (_set(1, road_name="别的名字"), 2, "路线名称"),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
def test_bad_row_is_reported_and_nothing_written(register, tmp_path, case):
    import_roads(geojson(tmp_path, name="base.geojson"), effective=EFFECTIVE)
    before = counts()
    mutate, row, field = BAD_ROWS[case]
    rows = network_rows()
    rows[0]["listed_km"] = "2.001"  # a valid change in the same file must not be written either
    rows.append(
        {
            **rows[0],
            "start_stake": "K9+000",
            "end_stake": "K9+500",
            "listed_km": "0.500",
            "geometry": line_east(9000, 500),
        }
    )  # nor a valid new segment
    mutate(rows)
    numeric = isinstance(rows[2]["listed_km"], float)

    exc = failure(geojson(tmp_path, rows, numeric=numeric), effective=EFFECTIVE)

    assert has_error(exc, row, field), [str(e) for e in exc.errors]
    assert str(exc).startswith("导入失败：") and "未写入任何数据" in str(exc)
    assert counts() == before
    db.session.expire_all()
    assert segment("X101640381", 0).listed_m == 2000


def test_overlap_with_registered_segments(register, tmp_path):
    import_roads(geojson(tmp_path, name="base.geojson"), effective=EFFECTIVE)
    before = counts()
    row = {
        **network_rows()[0],
        "start_stake": "K1+500",
        "end_stake": "K2+500",
        "listed_km": "1.000",
        "geometry": line_east(1500, 1000),
    }

    exc = failure(geojson(tmp_path, [row]))

    assert [e.row for e in exc.errors] == [1, 1]  # overlaps both K0+000—K2+000 and K2+000—K4+500
    assert all(e.field == "桩号" and "已登记路段" in e.reason for e in exc.errors)
    assert counts() == before


def test_all_errors_are_collected_not_just_the_first(register, tmp_path):
    rows = network_rows()
    rows[0]["start_stake"] = "坏"
    rows[2]["town"] = "红旗镇"
    rows[5]["listed_km"] = "x"
    rows[5]["geometry"] = None
    exc = failure(geojson(tmp_path, rows))
    assert [(e.row, e.field) for e in exc.errors] == [(1, "起点桩号"), (3, "所属乡镇"), (6, "几何"), (6, "列养里程")]
    assert str(exc) == "导入失败：4 处错误，未写入任何数据"
    assert counts()["Segment"] == 0


def test_a_bad_value_repeated_down_the_file_is_reported_on_each_row(register, tmp_path):
    # Each distinct cell value is parsed once (importing/validation.py); every row holding it
    # must still get its own error, and a good value after a bad one still parses.
    rows = network_rows()
    for at in (1, 3, 4):
        rows[at]["town"] = "红旗镇"
        rows[at]["listed_km"] = "x"
    exc = failure(geojson(tmp_path, rows))
    assert [(e.row, e.field) for e in exc.errors] == [
        (row, field) for row in (2, 4, 5) for field in ("列养里程", "所属乡镇")
    ]
    assert len({e.reason for e in exc.errors if e.field == "所属乡镇"}) == 1
    assert counts()["Segment"] == 0


def test_unreadable_file(register, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text("this is not geojson", "utf-8")
    exc = failure(path)
    assert [(e.row, e.field) for e in exc.errors] == [(0, "文件")]
    assert "broken.geojson" in exc.errors[0].reason


@pytest.mark.parametrize("name", ["roads.csv", "roads.ods", "roads"])
def test_unknown_format(register, tmp_path, name):
    path = tmp_path / name
    path.write_text("路线编码\nX101640381\n", "utf-8")
    exc = failure(path)
    assert has_error(exc, 0, "文件") and "不支持的文件格式" in exc.errors[0].reason


def test_zip_without_shapefile_and_with_two(register, tmp_path):
    import zipfile

    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    assert "没有 .shp" in failure(empty).errors[0].reason

    shp = write_layer(network_rows(), tmp_path / "a" / "a.shp", PINYIN, crs="EPSG:4544", numeric=True)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        for folder in ("x/", "y/"):
            for part in shp.parent.iterdir():
                archive.write(part, folder + part.name)
    assert "多个 .shp" in failure(two).errors[0].reason

    not_zip = tmp_path / "fake.zip"
    not_zip.write_bytes(b"PK-not-really")
    assert has_error(failure(not_zip), 0, "文件")


def test_missing_crs_with_projected_coordinates_is_refused(register, tmp_path):
    shp = write_layer(network_rows(), tmp_path / "s" / "noprj.shp", PINYIN, crs="EPSG:4544", numeric=True)
    shp.with_suffix(".prj").unlink()
    exc = failure(shp)
    assert has_error(exc, 0, "文件") and "缺少坐标系" in exc.errors[0].reason and "noprj.shp" in exc.errors[0].reason


def test_missing_crs_with_lonlat_coordinates_is_accepted(register, tmp_path):
    shp = write_layer(network_rows(), tmp_path / "s" / "lonlat.shp", PINYIN, crs="EPSG:4326", numeric=True)
    shp.with_suffix(".prj").unlink()
    assert import_roads(shp).created == 6


def test_geojson_with_projected_coordinates_but_no_crs_is_refused(register, tmp_path):
    path = tmp_path / "projected.geojson"
    feature = {
        "type": "Feature",
        "properties": {
            "路线编码": "X101640381",
            "起点桩号": "K0+000",
            "止点桩号": "K2+000",
            "列养里程": "2.000",
            "所属乡镇": "小坝镇",
        },
        "geometry": {"type": "LineString", "coordinates": [[X, Y], [X + 2000, Y]]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False), "utf-8")
    exc = failure(path)
    assert has_error(exc, 0, "文件") and "缺少坐标系" in exc.errors[0].reason


def test_unexpected_failure_midway_rolls_everything_back(register, tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "write_mileage", explode)
    before = counts()
    with pytest.raises(RuntimeError):
        import_roads(geojson(tmp_path))
    assert counts() == before


# ---------------------------------------------------------------------------
# Size
# ---------------------------------------------------------------------------


def _many_rows(roads: int, parts: int, vertices: int = 3) -> list[dict]:
    """``roads`` 村道 of ``parts`` 900 m segments each, a kilometre apart."""
    return [
        {
            "road_code": f"C{road:03d}640381",
            "road_name": f"第{road}号村道",
            "road_class": None,
            "start_stake": f"K{part}+000",
            "end_stake": f"K{part}+900",
            "listed_km": "0.900",
            "town": "小坝镇",
            "village": "沙湖村",
            "is_listed": None,
            "station": None,
            "geometry": line_east(part * 1000, 900, y_offset=road * 50, vertices=vertices),
        }
        for road in range(roads)
        for part in range(parts)
    ]


def test_three_thousand_rows_with_progress(register, tmp_path):
    rows = _many_rows(100, 30, vertices=4)
    path = geojson(tmp_path, rows, "big.geojson")
    calls = []

    started = time.perf_counter()
    report = import_roads(path, effective=EFFECTIVE, progress=lambda *call: calls.append(call))
    elapsed = time.perf_counter() - started

    assert (report.created, report.roads_created, report.length_warnings) == (3000, 100, [])
    imported = [c for c in calls if c[2] == "导入"]
    assert imported[-1] == (3000, 3000, "导入")
    assert 40 <= len(imported) <= 60  # about every 2%, not every row
    assert [c[0] for c in imported] == sorted(c[0] for c in imported)
    assert db.session.scalar(select(func.count()).select_from(SegmentMileage)) == 3000
    assert db.session.scalar(select(Road.road_class).limit(1)) == "村道"  # from the C prefix
    assert elapsed < 60, f"3000 rows took {elapsed:.1f}s"

    again = import_roads(path, effective=EFFECTIVE)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3000)


@pytest.fixture
def bulk_from_ten(monkeypatch):
    """Writes of 10 rows or more take the bulk path: on PostgreSQL, COPYs run behind (CopyBehind)."""
    from roadchief.services import bulk

    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10)


def _refuse_last(values: dict, key: str = "listed_m") -> dict:
    return {**values, key: 0}  # breaks a CHECK (listed_m > 0) the database alone enforces


@pytest.mark.parametrize("table", ["segment", "segment_mileage"])
def test_a_refused_bulk_write_reports_its_own_error_and_writes_nothing(
    register, tmp_path, monkeypatch, bulk_from_ten, table
):
    """On PostgreSQL the segments' COPY runs behind while the import goes on: its refusal aborts the
    transaction, so the import's next statements fail too; the error shown must be the COPY's own."""
    from roadchief.services import mileage

    path = geojson(tmp_path, _many_rows(2, 15), "bulk.geojson")
    before = counts()
    if table == "segment":
        original = writing._segment_values
        seen = []

        def values(row):
            seen.append(row)
            return _refuse_last(original(row)) if len(seen) == 30 else original(row)

        monkeypatch.setattr(writing, "_segment_values", values)
    else:
        original = mileage._values
        monkeypatch.setattr(
            mileage, "_values", lambda *args: _refuse_last(original(*args)) if args[1] % 7 == 0 else original(*args)
        )
    with pytest.raises(ImportFailed) as caught:
        import_roads(path, effective=EFFECTIVE)
    message = str(caught.value)
    assert "写入时数据库拒绝" in message and f"ck_{table}_listed_positive" in message, message
    assert "InFailedSqlTransaction" not in message and "aborted" not in message
    assert counts() == before
    assert not [t for t in threading.enumerate() if t.name == "roadchief-copy"]  # every COPY waited for


def test_a_failure_while_bulk_writes_run_behind_rolls_back_after_they_end(
    register, tmp_path, monkeypatch, bulk_from_ten
):
    path = geojson(tmp_path, _many_rows(2, 15), "bulk.geojson")
    before = counts()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "_mileage", explode)  # the segments' COPY is queued by now
    with pytest.raises(RuntimeError, match="disk full"):
        import_roads(path, effective=EFFECTIVE)
    assert counts() == before
    assert not [t for t in threading.enumerate() if t.name == "roadchief-copy"]
    monkeypatch.undo()
    report = import_roads(path, effective=EFFECTIVE)  # the connection is fit for the next import
    assert (report.created, report.roads_created) == (30, 2)


def test_bulk_writes_store_what_row_by_row_writes_store(register, tmp_path, monkeypatch):
    """The same file through the ordinary inserts and through the bulk path (COPY behind on
    PostgreSQL, in chunks whose line texts are written just before) leaves the same register:
    segments with their three line texts, grid cells and 列养里程 rows."""
    from roadchief.models.spatial import SegmentCell
    from roadchief.services import bulk

    def snapshot():
        segments = db.session.execute(
            select(
                Road.code,
                Segment.start_m,
                Segment.end_m,
                Segment.listed_m,
                Segment.geometry,
                Segment.geometry_mid,
                Segment.geometry_low,
                Segment.min_lon,
            )
            .join(Road)
            .order_by(Road.code, Segment.start_m)
        ).all()
        cells = db.session.execute(
            select(Road.code, Segment.start_m, SegmentCell.cell)
            .join(Segment, SegmentCell.segment_id == Segment.id)
            .join(Road)
            .order_by(Road.code, Segment.start_m, SegmentCell.cell)
        ).all()
        listed = db.session.execute(
            select(Road.code, Segment.start_m, SegmentMileage.road_class, SegmentMileage.listed_m)
            .join(Segment, SegmentMileage.segment_id == Segment.id)
            .join(Road)
            .order_by(Road.code, Segment.start_m)
        ).all()
        return segments, cells, listed

    path = geojson(tmp_path, _many_rows(12, 3), "bulk.geojson")  # 12 roads, 36 segments
    import_roads(path, effective=EFFECTIVE)
    ordinary = snapshot()
    for model in (SegmentMileage, SegmentCell, Segment, Road, MileageVersion):
        db.session.execute(delete(model))
    db.session.commit()
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10)
    monkeypatch.setattr(writing, "SEGMENT_CHUNK", 10)  # COPYs of 10, 10 and 16 segments, texts written per chunk
    report = import_roads(path, effective=EFFECTIVE)
    assert (report.created, report.roads_created) == (36, 12)
    assert snapshot() == ordinary
    assert len(ordinary[0]) == 36 and len(ordinary[1]) >= 36 and len(ordinary[2]) == 36


def test_database_overlap_rule_backs_up_the_check(register, tmp_path, monkeypatch):
    """If a concurrent edit slips past the pre-check, the database's overlap trigger refuses and nothing is written."""
    import_roads(geojson(tmp_path, name="base.geojson"), effective=EFFECTIVE)
    before = counts()
    monkeypatch.setattr(validation, "check_stakes", lambda rows, register, errors: None)
    row = {
        **network_rows()[0],
        "start_stake": "K1+500",
        "end_stake": "K2+500",
        "listed_km": "1.000",
        "geometry": line_east(1500, 1000),
    }

    exc = failure(geojson(tmp_path, [row]))

    assert has_error(exc, 0, "文件") and "未写入任何数据" in exc.errors[0].reason
    assert counts() == before


def test_database_overlap_rule_holds_for_bulk_writes_too(register, tmp_path, monkeypatch, bulk_from_ten):
    """The overlap rule on the bulk path: on PostgreSQL a COPY is checked once per statement over
    all the rows it added (migration 0020), so two rows of the same COPY may not overlap either."""
    rows = _many_rows(2, 15)
    rows[20] = {**rows[20], "start_stake": "K4+500", "end_stake": "K5+400"}  # over K4 and K5 of the same road
    before = counts()
    monkeypatch.setattr(validation, "check_stakes", lambda rows, register, errors: None)
    exc = failure(geojson(tmp_path, rows, "overlap.geojson"))
    assert has_error(exc, 0, "文件") and "overlaps another segment" in exc.errors[0].reason, exc.errors
    assert counts() == before


def test_queries_do_not_grow_with_rows(register, tmp_path):
    """Towns, villages, roads and segments are loaded in a few queries, not one per row."""
    from sqlalchemy import event

    def rows(parts):
        return [
            {
                **network_rows()[4],
                "road_code": f"C{road:03d}640381",
                "start_stake": f"K{part}+000",
                "end_stake": f"K{part}+500",
                "listed_km": "0.500",
                "geometry": line_east(part * 1000, 500, road * 50),
            }
            for road in range(40)
            for part in range(parts)
        ]

    import_roads(geojson(tmp_path, rows(5), "first.geojson"))  # the roads exist; more segments follow
    selects = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        report = import_roads(geojson(tmp_path, rows(25), "more.geojson"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert (report.created, report.unchanged) == (800, 200)
    assert len(selects) <= 12, selects


def test_empty_layer_is_refused(register, tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    exc = failure(path)
    assert has_error(exc, 0, "文件") and "没有数据行" in exc.errors[0].reason


def test_bad_mapping_passed_directly(register, tmp_path):
    exc = failure(geojson(tmp_path), mapping={"colour": "X"})
    assert has_error(exc, 0, "映射")


def test_unknown_encoding(register, tmp_path):
    assert "未知的文字编码" in failure(geojson(tmp_path), encoding="klingon").errors[0].reason


def test_numbers_from_the_reader_are_exact(register, tmp_path):
    """Numeric cells (floats from DBF/GeoJSON) become exact metres, never float arithmetic."""
    import geopandas

    rows = network_rows()
    for row, km in zip(rows, (2.0, 2.5, 1.5, 1.7, 1.2, 0.8)):  # 1.7 * 1000 == 1699.9999999999998 in float
        row["listed_km"] = km
    path = geojson(tmp_path, rows)
    assert geopandas.read_file(path)["列养里程"].dtype.kind == "f"  # the reader really hands over floats

    assert import_roads(path).created == 6
    assert segment("Y012640381", 1500).listed_m == 1700
    assert segment("C003640381", 0).listed_m == 1200
    assert segment("C003640381", 1200).listed_m == 800


def test_numeric_stakes_are_kilometres(register, tmp_path):
    shp = write_layer(network_rows(), tmp_path / "s" / "n.shp", PINYIN, crs="EPSG:4326", numeric=True)
    import geopandas

    assert geopandas.read_file(shp)["QDZH"].dtype.kind == "f"
    import_roads(shp)
    assert [
        (s.start_m, s.end_m)
        for s in db.session.scalars(
            select(Segment).join(Road).where(Road.code == "Y012640381").order_by(Segment.start_m)
        )
    ] == [(0, 1500), (1500, 3200)]


def test_length_text_with_unit(register, tmp_path):
    rows = network_rows()
    rows[5]["listed_km"] = "0.8 公里"
    import_roads(geojson(tmp_path, rows))
    assert segment("C003640381", 1200).listed_m == 800


def test_cells_that_are_equal_but_of_other_types_are_read_each_by_its_own_type(register):
    # Cells are read a column at a time and each distinct cell once (importing/validation.py):
    # 1, 1.0 and True are equal Python keys, yet True is not a length; NaN is not equal to
    # itself, yet every NaN is the same blank; a list cell cannot be a memo key at all.
    from roadchief.services.importing.register import Register

    listed = [1, True, 1.0, 1, 1.0, True]
    records = [
        {"路线编码": "X101640381", "起点桩号": n * 1.0, "止点桩号": n + 1.0, "列养里程": km, "路面宽度": float("nan"),
         "所属乡镇": "小坝镇"}
        for n, km in enumerate(listed)
    ]  # fmt: skip
    records[2]["路面宽度"] = 6.5
    records[3]["所属乡镇"] = ["小坝镇"]
    lines = [LineString([(106.0 + n / 100, 38.0), (106.0 + n / 100 + 0.0114, 38.0)]) for n in range(len(listed))]
    columns = {key: CHINESE[key] for key in ("road_code", "start_stake", "end_stake", "listed_km", "width", "town")}
    with pytest.raises(ImportFailed) as caught:
        validation.read_rows(records, lines, columns, Register(False), None)
    assert [(e.row, e.field) for e in caught.value.errors] == [(2, "列养里程"), (4, "所属乡镇"), (6, "列养里程")]
    assert caught.value.errors[0].reason == caught.value.errors[2].reason == "列养里程不是数值：True"
    assert "小坝镇" in caught.value.errors[1].reason

    good = [records[i] for i in (0, 2, 4)]
    rows = validation.read_rows(good, [lines[i] for i in (0, 2, 4)], columns, Register(False), None)
    assert [(r.row, r.listed_km, r.width_dm, r.town.name) for r in rows] == [
        (1, Decimal("1.000"), None, "小坝镇"),
        (2, Decimal("1.000"), 65, "小坝镇"),
        (3, Decimal("1.000"), None, "小坝镇"),
    ]
