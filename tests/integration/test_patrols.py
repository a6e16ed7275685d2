"""Patrol tracks and proof of patrol (第二十二条 手机APP): synthetic GPS traces along demo
segments, GPX round trip, idempotent upload, desk inspections, the 履职 check, the pages."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.audit import AuditEntry
from roadchief.models.patrols import PatrolRule, PatrolTrack
from roadchief.services import Conflict, ServiceError, patrol_rules, patrol_views, patrols, seasonal
from roadchief.services.patrol_gpx import parse_gpx, track_gpx
from tests.conftest import login, make_user
from tests.patrol_traces import trace

T0 = datetime(2022, 7, 5, 9, 0, tzinfo=LOCAL_TZ).timestamp()


def long_segment(min_m: int = 1500) -> Segment:
    """A listed 村道 segment of the demo register at least ``min_m`` long, with a simple line."""
    for segment in db.session.scalars(
        select(Segment).join(Road).where(Segment.is_listed.is_(True), Segment.measured_m >= min_m).order_by(Segment.id)
    ):
        if json.loads(segment.geometry)["type"] == "LineString":
            return segment
    raise AssertionError("no long segment in the demo data")


def coords(segment: Segment):
    return json.loads(segment.geometry)["coordinates"]


def as_json(points):
    return [{"lon": lon, "lat": lat, "t": int(t * 1000)} for lon, lat, t in points]  # phones send ms


def row_for(track, segment):
    return next(s for s in track.segments if s.segment_id == segment.id)


def test_faithful_half_and_fast_traces_along_a_demo_segment(demo_app):
    segment, city = long_segment(), make_user("city_office")
    faithful, created = patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=20, t0=T0)))
    assert created
    row = row_for(faithful, segment)
    assert row.coverage_permille >= 900 and row.covered and not row.driven_past
    assert abs(faithful.length_m - segment.measured_m) < 0.05 * segment.measured_m

    half, _ = patrols.record_track(city, as_json(trace(coords(segment), 0.0, 0.5, speed_kmh=20, t0=T0)))
    assert 450 <= row_for(half, segment).coverage_permille <= 550
    assert not row_for(half, segment).covered

    fast, _ = patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=100, every_s=2, t0=T0)))
    row = row_for(fast, segment)
    assert row.driven_past and not row.covered and row.coverage_permille < 50
    assert "driven_past" in fast.flag_list and not fast.passed
    assert fast.max_speed_kmh >= 95

    detail = patrol_views.track_json(faithful)
    assert detail["segments"][0]["coverage_pct"] == row_for(faithful, segment).coverage_pct
    assert detail["rules"]["buffer_m"] == 30 and detail["started_at"].endswith("+08:00")


def test_upload_is_idempotent_by_client_id(demo_app):
    segment, city = long_segment(), make_user("city_office")
    client_id = str(uuid.uuid4())
    points = as_json(trace(coords(segment), speed_kmh=20, t0=T0))
    first, created = patrols.record_track(city, points, client_id=client_id)
    again, created_again = patrols.record_track(city, points, client_id=client_id)
    assert created and not created_again and again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(PatrolTrack)) == 1
    with pytest.raises(Conflict):
        patrols.record_track(make_user("inspector"), points, client_id=client_id)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([{"lon": 106.0, "lat": 38.0, "t": 1_700_000_000}], "至少需要 2 个定位点"),
        (
            [{"lon": 106.0, "lat": 38.0, "t": 1_700_000_000}, {"lon": 116.4, "lat": 39.9, "t": 1_700_000_010}],
            "第 2 个点",
        ),
        (
            [{"lon": 106.0, "lat": 38.0, "t": 1_700_000_010}, {"lon": 106.0, "lat": 38.0, "t": 1_700_000_000}],
            "第 2 个点的时间早于",
        ),
        (
            [{"lon": 106.0, "lat": 38.0, "t": 1_700_000_000}, {"lon": "x", "lat": 38.0, "t": 1_700_000_010}],
            "第 2 个点的经纬度",
        ),
        ([{"lon": 106.0, "lat": 38.0, "t": 1_700_000_000}, {"lon": 106.0, "lat": 38.0}], "第 2 个点缺少时间"),
        (
            [{"lon": 106.0, "lat": 38.0, "t": 4_000_000_000}, {"lon": 106.0, "lat": 38.0, "t": 4_000_000_009}],
            "晚于当前时间",
        ),
        (
            [{"lon": 106.0, "lat": 38.0, "t": "2024-05-01 08:00"}, {"lon": 106.0, "lat": 38.0, "t": "昨天"}],
            "第 2 个点的时间格式",
        ),
    ],
)
def test_bad_points_are_refused_naming_the_point_and_write_nothing(demo_app, points, message):
    with pytest.raises(ServiceError, match=message):
        patrols.record_track(make_user("city_office"), points)
    assert db.session.scalar(select(func.count()).select_from(PatrolTrack)) == 0


def test_gpx_round_trip_and_malformed_gpx(demo_app):
    segment, city = long_segment(), make_user("city_office")
    points = trace(coords(segment), speed_kmh=20, t0=T0)
    track, _ = patrols.record_track(city, [list(p) for p in parse_gpx(track_gpx("t", points).encode())], source="gpx")
    text = track_gpx("巡查", patrols.points_of(track))
    again = parse_gpx(text.encode())
    assert len(again) == len(points)
    assert all(
        abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6 and abs(a[2] - b[2]) < 1 for a, b in zip(again, points)
    )
    assert row_for(track, segment).covered

    broken = text.replace("</trkpt>", "", 3)
    with pytest.raises(ServiceError, match=r"GPX 文件格式错误（第 \d+ 行"):
        parse_gpx(broken.encode())
    no_time = text.replace("<time>", "<!--", 1).replace("</time>", "-->", 1)
    with pytest.raises(ServiceError, match=r"GPX 第 1 个轨迹点（第 4 行）缺少 <time>"):
        parse_gpx(no_time.encode())
    with pytest.raises(ServiceError, match="DOCTYPE"):
        parse_gpx(b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]><gpx>&a;</gpx>')
    with pytest.raises(ServiceError, match="没有轨迹点"):
        parse_gpx(b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"></gpx>')


def point_km_away(segment: Segment, km: float) -> tuple[float, float]:
    """A point about ``km`` from the segment's nearest part (east, west, north or south of its start)."""
    import math

    from roadchief.services.inspection_segments import point_distance_m

    lon, lat = coords(segment)[0]
    for angle in range(0, 360, 15):
        for step in range(1, 200):
            d = step * 0.001
            candidate = (lon + d * math.cos(math.radians(angle)) / 0.79, lat + d * math.sin(math.radians(angle)))
            distance = point_distance_m(*candidate, segment.geometry)
            if distance >= km * 1000:
                if distance <= km * 1000 + 100:
                    return round(candidate[0], 6), round(candidate[1], 6)
                break
    raise AssertionError("no point found")


def test_desk_inspection_5_km_away_is_flagged(demo_app):
    from flask import current_app

    from roadchief.services import inspections as service

    segment, city = long_segment(), make_user("city_office")
    lon, lat = coords(segment)[0]
    far_lon, far_lat = point_km_away(segment, 5)
    far = service.create_inspection(
        city,
        service.InspectionInput(
            kind="supervision",
            segment_ids=[segment.id],
            inspected_at=datetime(2022, 7, 6, 10, tzinfo=LOCAL_TZ),
            lon=far_lon,
            lat=far_lat,
            deadline=date(2022, 7, 13),
        ),
        current_app.config["UPLOAD_DIR"],
    ).inspection
    near = service.create_inspection(
        city,
        service.InspectionInput(
            kind="supervision",
            segment_ids=[segment.id],
            inspected_at=datetime(2022, 7, 7, 10, tzinfo=LOCAL_TZ),
            lon=lon,
            lat=lat,
            deadline=date(2022, 7, 14),
        ),
        current_app.config["UPLOAD_DIR"],
    ).inspection
    suspects = patrol_views.desk_suspects(city, 2022)
    assert [s["inspection"].id for s in suspects] == [far.id]
    assert 5000 <= suspects[0]["distance_m"] <= 5100
    assert near.id not in {s["inspection"].id for s in suspects}
    # the distance is the office's rule
    patrol_rules.set_rules(2022, {"desk_distance_m": "8000"}, by="test")
    assert patrol_views.desk_suspects(city, 2022) == []


def test_rules_are_per_year_checked_and_audited(demo_app):
    assert patrol_rules.rules_for(2022).coverage_pct == 80
    with pytest.raises(ServiceError, match="覆盖率阈值"):
        patrol_rules.set_rules(2022, {"coverage_pct": "101"}, by="test")
    assert db.session.scalar(select(func.count()).select_from(PatrolRule)) == 0
    patrol_rules.set_rules(2022, {"coverage_pct": "40"}, by="test")
    assert patrol_rules.rules_for(2022).coverage_pct == 40 and patrol_rules.rules_for(2023).coverage_pct == 80
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "patrol_rule"))
    # the year's threshold decides: half a segment now counts
    segment = long_segment()
    half, _ = patrols.record_track(
        make_user("city_office"), as_json(trace(coords(segment), 0.0, 0.5, speed_kmh=20, t0=T0))
    )
    assert row_for(half, segment).covered


def test_a_flood_patrol_counts_for_duty_only_where_it_covers(demo_app):
    segment, city = long_segment(), make_user("city_office")
    window = seasonal.add_window(2022, "flood", date(2022, 7, 4), date(2022, 7, 10), town=segment.town.code)
    today = date(2022, 7, 20)

    def missing():
        return next(g.missing for g in seasonal.duty_gaps(city, window, today=today) if g.segment.id == segment.id)

    assert missing() == ["雨前", "雨中", "雨后"]
    patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=20, t0=T0)), kind="flood", duty_phase="雨前")
    patrols.record_track(
        city, as_json(trace(coords(segment), 0.0, 0.5, speed_kmh=20, t0=T0 + 3600)), kind="flood", duty_phase="雨中"
    )
    patrols.record_track(
        city, as_json(trace(coords(segment), speed_kmh=100, every_s=2, t0=T0 + 7200)), kind="flood", duty_phase="雨后"
    )
    assert missing() == ["雨中", "雨后"]  # the half trace and the drive-past do not count
    with pytest.raises(ServiceError, match="汛期巡查须选择巡查类别"):
        patrols.record_track(city, as_json(trace(coords(segment), t0=T0)), kind="flood")


def test_road_file_lists_the_patrols_with_coverage(demo_app):
    segment, city = long_segment(), make_user("city_office")
    patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=20, t0=T0)))
    rows = [r for r in patrol_views.road_patrols(city, [segment.id]) if r["segment"].startswith(segment.road.code)]
    assert len(rows) == 1 and float(rows[0]["coverage_pct"]) >= 90 and rows[0]["covered"]
    client = demo_app.test_client()
    login(client, city)
    html = client.get(f"/ops/roads/{segment.road.code}").get_data(as_text=True)
    assert "巡查轨迹（路段覆盖率）" in html and f"{rows[0]['coverage_pct']}%" in html and "已巡查" in html
    assert client.get(f"/ops/roads/{segment.road.code}/file.pdf").status_code == 200


# ------------------------------------------------------------------ the API and the pages


def bearer(user) -> dict:
    from roadchief.services.accounts import create_token

    return {"Authorization": f"Bearer {create_token(user.username)}"}


def test_api_upload_list_detail_gpx_and_openapi(demo_app):
    import io

    segment, inspector = long_segment(), make_user("inspector")
    client = demo_app.test_client()
    headers = bearer(inspector)
    body = {"client_id": str(uuid.uuid4()), "points": as_json(trace(coords(segment), speed_kmh=20, t0=T0))}
    first = client.post("/api/v1/patrols", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/patrols", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    track_id = first.get_json()["id"]
    assert any(s["segment_id"] == segment.id and s["covered"] for s in first.get_json()["segments"])

    refused = client.post(
        "/api/v1/patrols",
        json={
            "points": [{"lon": 106.0, "lat": 38.0, "t": 1_700_000_010}, {"lon": 106.0, "lat": 38.0, "t": 1_700_000_000}]
        },
        headers=headers,
    )
    assert refused.status_code == 400 and "第 2 个点" in refused.get_json()["error"]

    listing = client.get("/api/v1/patrols", headers=headers).get_json()["tracks"]
    assert track_id in {t["id"] for t in listing}
    detail = client.get(f"/api/v1/patrols/{track_id}", headers=headers).get_json()
    assert len(detail["points"]) == detail["metrics"]["points"]
    gpx = client.get(f"/api/v1/patrols/{track_id}/track.gpx", headers=headers)
    assert gpx.status_code == 200 and gpx.mimetype == "application/gpx+xml"

    # the downloaded GPX uploads again as a new track with the same coverage
    upload = client.post(
        "/api/v1/patrols/gpx",
        data={"file": (io.BytesIO(gpx.data), "t.gpx"), "kind": "daily"},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    assert upload.get_json()["segments"] == detail["segments"]
    broken = client.post(
        "/api/v1/patrols/gpx",
        data={"file": (io.BytesIO(gpx.data.replace(b"</trkseg>", b"")), "t.gpx")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400 and "GPX 文件格式错误（第" in broken.get_json()["error"]

    layer = client.get("/api/v1/patrol-tracks?days=3660", headers=headers).get_json()
    assert {f["properties"]["id"] for f in layer["features"]} >= {track_id}

    # a town office of another town sees none of it
    touched = {db.session.get(Segment, s["segment_id"]).town_id for s in detail["segments"]}
    other = next(t.code for t in db.session.scalars(select(Town)) if t.id not in touched)
    assert (
        client.get(f"/api/v1/patrols/{track_id}", headers=bearer(make_user("town_office", town=other))).status_code
        == 404
    )
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {
        "/api/v1/patrols",
        "/api/v1/patrols/gpx",
        "/api/v1/patrols/{track_id}",
        "/api/v1/patrols/{track_id}/track.gpx",
    } <= set(spec["paths"])


def test_pages_list_detail_rules_and_recorder(demo_app):
    segment, city = long_segment(), make_user("city_office")
    track, _ = patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=100, every_s=2, t0=T0)))
    client = demo_app.test_client()
    login(client, city)
    html = client.get("/patrols/").get_data(as_text=True)
    assert "超速路过" in html and "案头检查嫌疑" in html and f"/patrols/{track.id}" in html
    assert "超速" in client.get(f"/patrols/{track.id}").get_data(as_text=True)
    assert client.get(f"/patrols/{track.id}/track.gpx").status_code == 200
    assert 'id="patrol-start"' in client.get("/patrols/new").get_data(as_text=True)

    page = client.get("/patrols/rules?year=2022").get_data(as_text=True)
    assert "覆盖率阈值" in page
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = client.post("/patrols/rules?year=2022", data={"year": "2022", "coverage_pct": "0", "csrf_token": token})
    assert refused.status_code == 302 and patrol_rules.is_default(2022)
    saved = client.post("/patrols/rules?year=2022", data={"year": "2022", "coverage_pct": "60", "csrf_token": token})
    assert saved.status_code == 302 and patrol_rules.rules_for(2022).coverage_pct == 60

    # only the city office edits the rules
    town = demo_app.test_client()
    login(town, make_user("town_office", town=segment.town.code))
    assert town.get("/patrols/rules").status_code == 403
    assert town.get("/patrols/").status_code == 200


def test_the_rules_form_needs_its_csrf_token(demo_app_with):
    import re

    from tests.conftest import PASSWORD

    app = demo_app_with(WTF_CSRF_ENABLED=True)
    city = make_user("city_office")
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": city.username, "password": PASSWORD, "csrf_token": token})
    page = client.get("/patrols/rules?year=2022").get_data(as_text=True)
    assert 'name="csrf_token"' in page and "最高巡查车速" in page
    assert client.post("/patrols/rules", data={"year": "2022", "coverage_pct": "60"}).status_code == 400
    assert patrol_rules.is_default(2022)


def test_map_layer_colours_by_pass_and_flag(demo_app):
    segment, city = long_segment(), make_user("city_office")
    patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=100, every_s=2, t0=T0)))
    from roadchief.domain import clock

    now = clock.utcnow().timestamp()
    fresh, _ = patrols.record_track(city, as_json(trace(coords(segment), speed_kmh=20, t0=now - 3600)))
    layer = patrol_views.patrols_geojson(city)  # the last 30 days: only the fresh track
    assert [f["properties"]["id"] for f in layer["features"]] == [fresh.id]
    props = layer["features"][0]["properties"]
    assert props["passed"] is fresh.passed and props["flags"] == patrol_views.flag_labels(fresh)
    assert len(layer["features"][0]["geometry"]["coordinates"]) <= patrol_views.MAP_MAX_POINTS + 1
    client = demo_app.test_client()
    login(client, city)
    page = client.get("/").get_data(as_text=True)
    # map-patrols.js is served inside the map bundle (web/assets.py BUNDLES)
    from roadchief.web.assets import BUNDLES

    assert "js/map-patrols.js" in BUNDLES["js/map.bundle.js"]
    assert "js/map.bundle." in page and "data-patrols-api" in page


def test_fixes_milliseconds_apart_keep_their_order(demo_app):
    # phones give ms; two fixes 11 ms apart must not be reordered by rounding
    points = [
        {"lon": 106.075, "lat": 38.02, "t": 1796190264170},
        {"lon": 106.07554, "lat": 38.02103, "t": 1796190264682},
        {"lon": 106.07642, "lat": 38.02272, "t": 1796190264693},
    ]
    track, _ = patrols.record_track(make_user("city_office"), points)
    assert [p[2] for p in patrols.points_of(track)] == [1796190264.17, 1796190264.682, 1796190264.693]
