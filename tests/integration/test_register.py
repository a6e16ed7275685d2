"""The road register on the demo network: totals, chiefs over time, coverage,
database constraints, mileage versions and the segments API."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import ChiefAssignment, Road, Segment, Village
from roadchief.services.chiefs import AssignmentIndex, coverage_gaps
from roadchief.services.funding_plan import annual_plan
from roadchief.services.network import network_summary, snapshot_mileage
from tests.conftest import login, make_user


def test_demo_totals(demo_runner):
    result = demo_runner.invoke(main, ["network", "summary", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["listed_km"]["镇道"] == "388.701"
    assert summary["listed_km"]["村道"] == "777.554"
    assert summary["listed_km"]["镇村道"] == "1166.255"
    town_sum = sum(int(t["listed_km"]["镇村道"].replace(".", "")) for t in summary["towns"])
    assert town_sum == 1166255
    assert len(summary["towns"]) == 9


def test_init_db_is_idempotent(runner):
    for _ in range(2):
        result = runner.invoke(main, ["init-db"])
        assert result.exit_code == 0, result.output


def test_load_demo_twice_changes_nothing(demo_app):
    from roadchief.services.demo import load_demo_network

    before = network_summary()
    report = load_demo_network()
    assert "新增 0，更新 0" in report
    assert network_summary() == before


def _recording_demo_year(monkeypatch) -> list:
    """The demo year's loader replaced by a recorder: what it loads is checked once, for real, in
    test_demo_activity.py (demo_activity_app); here only that the commands call it, and once."""
    from roadchief.services import demo_activity

    loaded: list = []
    monkeypatch.setattr(demo_activity, "has_activity", lambda: bool(loaded))
    monkeypatch.setattr(demo_activity, "load_demo_activity", lambda **_kw: loaded.append(1) or "演示年度：已载入")
    return loaded


def test_load_demo_adds_the_demo_year_unless_told_not_to(demo_runner, monkeypatch):
    loaded = _recording_demo_year(monkeypatch)
    result = demo_runner.invoke(main, ["load-demo", "--no-activity"])
    assert result.exit_code == 0, result.output
    assert loaded == []
    result = demo_runner.invoke(main, ["load-demo"])
    assert result.exit_code == 0, result.output
    assert "载入演示业务数据（合成）" in result.output and loaded == [1]
    again = demo_runner.invoke(main, ["load-demo"])  # once only: a second run leaves the activity alone
    assert again.exit_code == 0 and "演示业务数据" not in again.output and loaded == [1]


def test_serve_loads_the_demo_year_on_first_start(runner, monkeypatch):
    import waitress

    loaded = _recording_demo_year(monkeypatch)
    served = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: served.append(kwargs))
    result = runner.invoke(main, ["serve", "--port", "5999"])
    assert result.exit_code == 0, result.output
    assert served == [{"host": "127.0.0.1", "port": 5999, "threads": 8}]
    assert "载入演示业务数据（合成）" in result.output and loaded == [1]


def test_chief_replaced_mid_year_stays_attributable(demo_app):
    village = db.session.scalar(select(Village).where(Village.name == "蒋西村"))
    segment = db.session.scalar(select(Segment).where(Segment.village_id == village.id).limit(1))

    def village_chief(day):
        return [c.chief.name for c in AssignmentIndex(day).chiefs_for(segment) if c.position == "village"]

    before, after = village_chief(date(2022, 5, 15)), village_chief(date(2022, 5, 16))
    assert len(before) == 1 and len(after) == 1 and before != after
    levels = {c.position for c in AssignmentIndex(date(2022, 3, 1)).chiefs_for(segment)}
    assert {"chief_total", "city", "town", "village"} <= levels


def test_coverage_report_finds_segments_without_a_required_chief(demo_app):
    assert coverage_gaps(date(2022, 6, 1)) == []
    village = db.session.scalar(select(Village).where(Village.name == "蒋西村"))
    db.session.execute(
        update(ChiefAssignment)
        .where(ChiefAssignment.village_id == village.id, ChiefAssignment.end_date.is_(None))
        .values(end_date=date(2022, 12, 31))
    )
    db.session.commit()
    gaps = coverage_gaps(date(2023, 1, 1))
    assert gaps and all(g.segment.village_id == village.id and g.missing_names == ["村级路长"] for g in gaps)


def _copy(segment: Segment, **changes) -> Segment:
    values = {c.key: getattr(segment, c.key) for c in Segment.__table__.columns if c.key not in ("id", "version")}
    values.update(changes)
    return Segment(**values)


@pytest.mark.parametrize(
    "changes",
    [
        {"start_m": 0, "end_m": 0},  # end must be after start
        {"listed_m": 0},  # length must be positive
        {"overlap": True},  # stake ranges of one road may not overlap
    ],
)
def test_database_refuses_bad_segments(demo_app, changes):
    segment = db.session.scalar(select(Segment).order_by(Segment.id).limit(1))
    if changes.pop("overlap", False):
        changes = {"start_m": segment.start_m + 1, "end_m": segment.end_m + 1}
    else:
        changes.setdefault("start_m", 900000)
        changes.setdefault("end_m", 901000)
    db.session.add(_copy(segment, **changes))
    with pytest.raises(Exception) as error:
        db.session.commit()
    db.session.rollback()
    assert isinstance(error.value, IntegrityError) or "overlap" in str(error.value)


def test_funding_uses_the_mileage_version_in_force(demo_app):
    segment = db.session.scalar(
        select(Segment).join(Road).where(Road.road_class == "村道").order_by(Segment.id).limit(1)
    )
    snapshot_before = annual_plan(2024)["local_total"]
    segment.listed_m += 1000  # re-measured: one more km of 村道
    db.session.commit()
    snapshot_mileage(date(2024, 1, 1), "2024年普查调整")
    assert annual_plan(2023)["local_total"] == "2565700.20"
    assert annual_plan(2023)["listed_km"]["村道"] == "777.554"
    after = annual_plan(2024)
    assert after["listed_km"]["村道"] == "778.554"
    assert after["local_total"] == "2567500.20"  # + 1 km × 3000 元 × 60 %
    assert snapshot_before == "2565700.20"


def test_segments_api_filters(demo_client):
    login(demo_client, make_user("city_office"))
    everything = demo_client.get("/api/v1/segments?zoom=14").get_json()
    assert everything["type"] == "FeatureCollection" and len(everything["features"]) == 365
    feature = everything["features"][0]
    assert feature["geometry"]["type"] in ("LineString", "MultiLineString")
    assert {"code", "name", "class", "listed_km", "town", "grade"} <= set(feature["properties"])
    villages = demo_client.get("/api/v1/segments?class=村道").get_json()["features"]
    assert villages and {f["properties"]["class"] for f in villages} == {"村道"}
    town = demo_client.get("/api/v1/segments?town=640381103").get_json()["features"]
    assert town and {f["properties"]["town"] for f in town} == {"叶盛镇"}
    box = (106.05, 38.0, 106.1, 38.05)
    inside = demo_client.get("/api/v1/segments?bbox=" + ",".join(map(str, box))).get_json()["features"]
    assert 0 < len(inside) < 365
    low = demo_client.get("/api/v1/segments?zoom=8").get_json()["features"]
    full_points = sum(len(json.dumps(f["geometry"])) for f in everything["features"])
    low_points = sum(len(json.dumps(f["geometry"])) for f in low)
    assert low_points < full_points
    assert demo_client.get("/api/v1/segments?bbox=1,2,3").status_code == 400
    assert demo_client.get("/api/v1/segments?class=高速").status_code in (400, 422)


def test_segments_api_is_gzipped_and_cacheable(demo_client):
    login(demo_client, make_user("finance"))
    response = demo_client.get("/api/v1/segments", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip" and response.headers["ETag"]
    again = demo_client.get("/api/v1/segments", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_segment_detail_api_lists_chiefs(demo_client):
    login(demo_client, make_user("city_office"))
    segment = db.session.scalar(select(Segment).join(Road).where(Road.road_class == "村道").limit(1))
    detail = demo_client.get(f"/api/v1/segments/{segment.id}").get_json()
    positions = {c["position_name"] for c in detail["chiefs"]}
    assert {"镇级路长", "村级路长", "总路长"} <= positions
    assert all(c["phone"] for c in detail["chiefs"])


@pytest.mark.parametrize(
    "box",
    [
        (106.05, 38.0, 106.1, 38.05),
        (105.9, 37.8, 106.3, 38.2),
        (100.0, 30.0, 110.0, 40.0),
        (106.07, 38.02, 106.0701, 38.0201),
    ],
)
def test_bbox_filter_through_grid_index_matches_brute_force(demo_client, box):
    login(demo_client, make_user("city_office"))
    expected = {
        s.id
        for s in db.session.scalars(select(Segment))
        if s.max_lon >= box[0] and s.min_lon <= box[2] and s.max_lat >= box[1] and s.min_lat <= box[3]
    }
    got = {f["id"] for f in demo_client.get("/api/v1/segments?bbox=" + ",".join(map(str, box))).get_json()["features"]}
    assert got == expected


def test_grid_index_follows_moved_segments(demo_app):
    from roadchief.models.spatial import SegmentCell, cells_for_bbox

    segment = db.session.scalar(select(Segment).limit(1))
    segment.min_lon, segment.max_lon = segment.min_lon + 1, segment.max_lon + 1
    db.session.commit()
    stored = set(db.session.scalars(select(SegmentCell.cell).where(SegmentCell.segment_id == segment.id)))
    assert stored == set(cells_for_bbox(segment.min_lon, segment.min_lat, segment.max_lon, segment.max_lat))
