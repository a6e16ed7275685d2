"""Mileage versions are complete snapshots (issue #11 point 2; 第十五条 列养里程每两年调整一次).

A partial file merges into the version in force before its date, the import shows the
difference and writes only with --yes, --complete removes what the file lacks, a year
with an approved quarter keeps its version, and a past year's plan uses the paying
units in force that year.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date

import pytest
from importer_fixtures import network_rows, seed_register, write_layer
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from roadchief import create_app
from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import MileageVersion, QuarterClose, Road, Segment, SegmentMileage, Village
from roadchief.services import ServiceError
from roadchief.services.demo import demo_dir
from roadchief.services.funding_plan import annual_plan
from roadchief.services.network import snapshot_mileage
from roadchief.services.road_import import ImportFailed, import_roads
from tests.conftest import BASE_URL, ON_POSTGRES, TEST_CONFIG, _with_search_path

V2024 = date(2024, 1, 1)


def demo_features() -> list[dict]:
    return json.loads((demo_dir() / "demo_network.geojson").read_text(encoding="utf-8"))["features"]


def write_features(tmp_path, features, name="partial.geojson"):
    path = tmp_path / name
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    return path


def village_feature(skip: int = 0) -> dict:
    """A demo 村道 feature whose town has another village."""
    features = [f for f in demo_features() if f["properties"]["行政等级"] == "村道" and f["properties"]["所属村"]]
    return copy.deepcopy(features[skip])


def one_km_file(tmp_path, name="one-km.geojson"):
    """The issue's file: one segment of the register, re-measured."""
    feature = village_feature()
    old = feature["properties"]["列养里程"]
    feature["properties"]["列养里程"] = str((int(old.replace(".", "")) + 500) / 1000)  # +0.5 km
    return write_features(tmp_path, [feature], name), feature


def segment_of(feature) -> Segment:
    props = feature["properties"]
    start = props["起点桩号"].lstrip("K").split("+")
    start_m = int(start[0]) * 1000 + int(start[1])
    return db.session.scalar(
        select(Segment).join(Road).where(Road.code == props["路线编码"], Segment.start_m == start_m)
    )


def version_rows(effective: date) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(SegmentMileage)
        .join(MileageVersion)
        .where(MileageVersion.effective_from == effective)
    )


def close(year: int, quarter: int) -> None:
    db.session.add(QuarterClose(year=year, quarter=quarter, closed_by="test", snapshot_json="{}"))
    db.session.commit()


# ---------------------------------------------------------------- a version is complete


def test_partial_file_with_effective_keeps_the_rest_of_the_network(demo_app, tmp_path):
    path, feature = one_km_file(tmp_path)
    plan_2022 = annual_plan(2022)

    report = import_roads(path, effective=V2024)

    assert report.mileage_version == "2024年列养里程"
    assert version_rows(V2024) == 365  # every listed segment, not only the file's
    plan = annual_plan(2024)
    assert plan["listed_km"] == {"镇道": "388.701", "村道": "778.054", "total": "1166.755"}
    assert plan["local_total"] == "2566600.20"  # + 0.5 km × 3000 元 × 60 %
    assert annual_plan(2022) == plan_2022
    diff = report.mileage_diff
    assert (len(diff.added), len(diff.removed), diff.changed) == (0, 0, (segment_of(feature).id,))


def test_snapshot_mileage_builds_on_the_previous_version(demo_app):
    segment = db.session.scalar(
        select(Segment).join(Road).where(Road.road_class == "村道").order_by(Segment.id).limit(1)
    )
    segment.listed_m += 1000
    db.session.commit()
    result = snapshot_mileage(V2024)
    assert result.count == 365 and result.diff.changed == (segment.id,)
    assert annual_plan(2024)["listed_km"]["村道"] == "778.554"
    with pytest.raises(ServiceError, match="已有列养里程版本"):
        snapshot_mileage(V2024)


def test_import_shows_the_difference_and_writes_only_with_yes(demo_runner, tmp_path):
    path, feature = one_km_file(tmp_path)
    town = feature["properties"]["所属乡镇"]

    preview = demo_runner.invoke(main, ["import-roads", str(path), "--effective", "2024-01-01"])

    assert preview.exit_code == 0, preview.output
    out = preview.output
    assert "列养里程差异（对比 2021年列养里程）" in out
    assert "新增 0 段，移除 0 段，变更 1 段" in out
    assert feature["properties"]["路线编码"] in out
    assert f"{town}：" in out and "合计：1166.255 → 1166.755 km（+0.500）" in out
    assert "--yes" in out and "未写入" in out
    assert db.session.scalar(select(func.count()).select_from(MileageVersion)) == 1
    db.session.expire_all()
    assert segment_of(feature).listed_m == int(feature["properties"]["列养里程"].replace(".", "")) - 500

    done = demo_runner.invoke(main, ["import-roads", str(path), "--effective", "2024-01-01", "--yes"])

    assert done.exit_code == 0, done.output
    assert "未写入" not in done.output and "合计：1166.255 → 1166.755 km" in done.output
    assert version_rows(V2024) == 365
    assert annual_plan(2024)["listed_km"]["total"] == "1166.755"
    assert annual_plan(2022)["listed_km"]["total"] == "1166.255"


def test_dry_run_with_yes_still_writes_nothing(demo_runner, tmp_path):
    path, _ = one_km_file(tmp_path)
    result = demo_runner.invoke(main, ["import-roads", str(path), "--effective", "2024-01-01", "--yes", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "试导入" in result.output and "变更 1 段" in result.output
    assert db.session.scalar(select(func.count()).select_from(MileageVersion)) == 1


def test_first_import_into_an_empty_register_needs_no_yes(runner, tmp_path):
    seed_register()
    path = write_layer(network_rows(), tmp_path / "network.geojson")
    result = runner.invoke(main, ["import-roads", str(path), "--effective", "2024-01-01"])
    assert result.exit_code == 0, result.output
    assert "新增 6 段" in result.output and "未写入" not in result.output
    assert version_rows(V2024) == 6


def test_complete_file_removes_what_it_lacks_and_delists(demo_app, tmp_path):
    kept, delisted = village_feature(0), village_feature(1)
    delisted["properties"]["是否列养"] = "否"
    path = write_features(tmp_path, [kept, delisted])

    report = import_roads(path, effective=V2024, complete=True)

    diff = report.mileage_diff
    assert len(diff.removed) == 363 and diff.changed == (segment_of(delisted).id,) and diff.added == ()
    assert version_rows(V2024) == 2
    kept_km = kept["properties"]["列养里程"]
    assert annual_plan(2024)["listed_km"] == {"镇道": "0.000", "村道": kept_km, "total": kept_km}
    assert annual_plan(2022)["listed_km"]["total"] == "1166.255"
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 365  # the register keeps every segment


def test_cli_complete_shows_removed_segments(demo_runner, tmp_path):
    path = write_features(tmp_path, [village_feature(0)])
    result = demo_runner.invoke(main, ["import-roads", str(path), "--effective", "2024-01-01", "--complete"])
    assert result.exit_code == 0, result.output
    assert "移除 364 段" in result.output and "未写入" in result.output


# ---------------------------------------------------------------- approved quarters


def test_new_version_for_a_year_with_a_closed_quarter_is_refused(demo_app, tmp_path):
    path, feature = one_km_file(tmp_path)
    close(2024, 1)
    before = segment_of(feature).listed_m

    with pytest.raises(ImportFailed, match="2024 年第 1 季度已审定拨付"):
        import_roads(path, effective=V2024)
    with pytest.raises(ServiceError, match="2024 年第 1 季度已审定拨付"):
        snapshot_mileage(V2024)

    db.session.expire_all()
    assert segment_of(feature).listed_m == before
    assert db.session.scalar(select(func.count()).select_from(MileageVersion)) == 1


def test_closed_quarter_of_another_year_does_not_block(demo_app, tmp_path):
    path, _ = one_km_file(tmp_path)
    close(2022, 1)
    import_roads(path, effective=V2024)
    assert annual_plan(2024)["listed_km"]["total"] == "1166.755"


def test_import_without_effective_leaves_a_frozen_version_alone(demo_runner, tmp_path):
    path, feature = one_km_file(tmp_path)
    close(2022, 2)
    plan_2022 = annual_plan(2022)

    result = demo_runner.invoke(main, ["import-roads", str(path), "--yes"])

    assert result.exit_code == 0, result.output
    assert "2022 年第 2 季度已审定拨付" in result.output and "--effective" in result.output
    db.session.expire_all()
    assert segment_of(feature).listed_m == int(feature["properties"]["列养里程"].replace(".", ""))  # register updated
    assert annual_plan(2022) == plan_2022  # the version was not
    assert db.session.scalar(select(func.count()).select_from(MileageVersion)) == 1


def test_import_without_effective_merges_into_the_latest_version(demo_app, tmp_path):
    path, _ = one_km_file(tmp_path)
    report = import_roads(path)
    assert report.mileage_version == "2021年列养里程" and report.mileage_written == 1
    assert version_rows(date(2021, 1, 1)) == 365
    assert annual_plan(2022)["listed_km"]["total"] == "1166.755"


def test_snapshot_cli_shows_the_difference_and_needs_yes(demo_runner):
    segment = db.session.scalar(
        select(Segment).join(Road).where(Road.road_class == "村道").order_by(Segment.id).limit(1)
    )
    segment.listed_m += 1000
    db.session.commit()
    preview = demo_runner.invoke(main, ["network", "snapshot-mileage", "2024-01-01"])
    assert preview.exit_code == 0, preview.output
    assert "变更 1 段" in preview.output and "--yes" in preview.output
    assert db.session.scalar(select(func.count()).select_from(MileageVersion)) == 1
    done = demo_runner.invoke(main, ["network", "snapshot-mileage", "2024-01-01", "--yes"])
    assert done.exit_code == 0, done.output and "已保存" in done.output
    assert version_rows(V2024) == 365


# ---------------------------------------------------------------- attributes in force that year


def test_village_move_changes_2024_and_leaves_2022_to_the_fen(demo_app, tmp_path):
    feature = village_feature()
    segment = segment_of(feature)
    old_village = segment.village
    other = db.session.scalar(
        select(Village)
        .where(Village.town_id == segment.town_id, Village.id != old_village.id)
        .order_by(Village.code)
        .limit(1)
    )
    plan_2022 = annual_plan(2022)

    # the register changes today; the 2021 version still holds the old village
    feature["properties"]["所属村"] = other.name
    import_roads(write_features(tmp_path, [feature]), effective=V2024)

    db.session.expire_all()
    assert segment_of(feature).village_id == other.id
    assert annual_plan(2022) == plan_2022

    def village_km(plan, code):
        return next(v["listed_km"]["村道"] for t in plan["towns"] for v in t["villages"] if v["code"] == code)

    plan_2024 = annual_plan(2024)
    km = int(feature["properties"]["列养里程"].replace(".", ""))
    assert (
        int(village_km(plan_2024, other.code).replace(".", ""))
        == int(village_km(plan_2022, other.code).replace(".", "")) + km
    )
    assert plan_2024["local_total"] == plan_2022["local_total"]  # same km, another payee


def test_segment_edited_in_the_register_does_not_change_a_past_plan(demo_app):
    segment = db.session.scalar(
        select(Segment)
        .join(Road)
        .where(Road.road_class == "村道", Segment.village_id.is_not(None))
        .order_by(Segment.id)
        .limit(1)
    )
    other = db.session.scalar(
        select(Village).where(Village.town_id == segment.town_id, Village.id != segment.village_id).limit(1)
    )
    plan_2022 = annual_plan(2022)
    segment.village_id = other.id
    db.session.commit()
    assert annual_plan(2022) == plan_2022


def test_version_rows_are_complete_and_checked(demo_app):
    row = db.session.scalar(select(SegmentMileage).limit(1))
    segment = db.session.get(Segment, row.segment_id)
    assert (row.road_class, row.town_id, row.village_id, row.station_id) == (
        segment.road.road_class,
        segment.town_id,
        segment.village_id,
        segment.station_id,
    )
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE segment_mileage SET road_class = '高速' WHERE id = :id"), {"id": row.id})
        db.session.flush()
    db.session.rollback()


# ---------------------------------------------------------------- migration


def test_migration_0009_backfills_units_and_class(tmp_path):
    from flask_migrate import upgrade

    from roadchief import MIGRATIONS_DIR

    schema = None
    if ON_POSTGRES:
        schema = f"rc_mig_{uuid.uuid4().hex[:10]}"
        engine = create_engine(BASE_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = _with_search_path(BASE_URL, schema)
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR), revision="0008")
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO town (id, code, name, kind) VALUES (1, '640381100', '小坝镇', '镇')"))
                conn.execute(
                    text("INSERT INTO village (id, town_id, code, name) VALUES (1, 1, '640381100201', '沙湖村')")
                )
                conn.execute(text("INSERT INTO station (id, code, name) VALUES (1, 'GLZ01', '小坝公路站')"))
                conn.execute(
                    text(
                        "INSERT INTO road (id, code, name, road_class, created_at, updated_at) "
                        "VALUES (1, 'C003640381', '沙湖村道', '村道', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO segment (id, road_id, start_m, end_m, listed_m, is_listed, town_id, village_id, station_id, "
                        "geometry, geometry_mid, geometry_low, min_lon, min_lat, max_lon, max_lat, measured_m, version, "
                        "created_at, updated_at) VALUES (1, 1, 0, 1200, 1200, TRUE, 1, 1, 1, '{}', '{}', '{}', 106, 38, 106.01, 38, "
                        "1200, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO mileage_version (id, name, effective_from) VALUES (1, '2021年列养里程', '2021-01-01')"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO segment_mileage (id, version_id, segment_id, listed_m, is_listed) "
                        "VALUES (1, 1, 1, 1150, TRUE)"
                    )
                )
            upgrade(directory=str(MIGRATIONS_DIR))
            with db.engine.connect() as conn:
                row = conn.execute(
                    text("SELECT road_class, town_id, village_id, station_id, listed_m FROM segment_mileage")
                ).one()
            assert tuple(row) == ("村道", 1, 1, 1, 1150)
            db.session.remove()
            db.engine.dispose()
    finally:
        if schema:
            engine = create_engine(BASE_URL)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
