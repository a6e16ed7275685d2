"""The map's extra layers on the demo network: inspection and rectification markers
(shape, scope, overdue flag, fallback position), town outlines and coverage gaps."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from shapely.geometry import Point, shape
from sqlalchemy import select

from roadchief.domain.clock import beijing_today
from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models import ChiefAssignment, Road, Segment, Town, Village
from roadchief.services import inspections as service
from roadchief.services.map_layers import segment_midpoint
from tests.conftest import login, make_user

XIAOBA, DABA = "640381100", "640381101"


def _town_id(code: str) -> int:
    return db.session.scalar(select(Town.id).where(Town.code == code))


def _village_road_segment(town_code: str) -> Segment:
    return db.session.scalars(
        select(Segment)
        .join(Road)
        .join(Village, Segment.village_id == Village.id)
        .where(Segment.town_id == _town_id(town_code), Road.road_class == "村道", Segment.is_listed.is_(True))
        .order_by(Segment.id)
    ).first()


def _first_point(segment: Segment) -> tuple[float, float]:
    coords = json.loads(segment.geometry)["coordinates"]
    while isinstance(coords[0][0], list):
        coords = coords[0]
    return coords[0][0], coords[0][1]


def _record(user, segment, *, gps=True, days_ago=0, deadline=None, findings=(("LM03", 2),)):
    when = datetime.now(LOCAL_TZ).replace(microsecond=0) - timedelta(days=days_ago, minutes=5)
    lon, lat = _first_point(segment) if gps else (None, None)
    data = service.InspectionInput(
        kind="supervision",
        segment_ids=[segment.id],
        inspected_at=when,
        lon=lon,
        lat=lat,
        deadline=deadline,
        findings=[service.FindingInput(code, qty) for code, qty in findings],
    )
    from flask import current_app

    return service.create_inspection(user, data, current_app.config["UPLOAD_DIR"]).inspection


def _client(app, user):
    client = app.test_client()
    login(client, user)
    return client


def _markers(client, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.get("/api/v1/markers" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"]
    return response.get_json()


def _by_layer(collection, layer):
    return [f for f in collection["features"] if f["properties"]["layer"] == layer]


# ------------------------------------------------------------------ markers


def test_markers_show_an_inspection_and_its_rectification_in_scope(demo_app):
    city = make_user("city_office")
    segment = _village_road_segment(XIAOBA)
    inspection = _record(city, segment)
    lon, lat = _first_point(segment)

    city_view = _markers(_client(demo_app, city))
    assert city_view["type"] == "FeatureCollection" and city_view["truncated"] is False
    [point] = [f for f in _by_layer(city_view, "inspection") if f["properties"]["id"] == inspection.id]
    assert point["geometry"] == {"type": "Point", "coordinates": [lon, lat]}
    p = point["properties"]
    assert p["kind"] == "supervision" and p["kind_label"] and p["findings"] == 1 and p["segments"] == 1
    assert p["office"] == "市级路长办公室" and p["url"] == f"/inspections/{inspection.id}" and p["located"] == "gps"
    assert (
        p["date"] == datetime.now(LOCAL_TZ).date().isoformat()
        or p["date"] == (datetime.now(LOCAL_TZ) - timedelta(minutes=5)).date().isoformat()
    )
    [rect] = _by_layer(city_view, "rectification")
    r = rect["properties"]
    assert rect["geometry"]["coordinates"] == [lon, lat]
    assert r["status"] == "open" and r["status_label"] == "待整改" and r["overdue"] is False
    assert r["inspection_id"] == inspection.id and r["url"] == f"/inspections/{inspection.id}"
    assert r["item"] and r["item_code"] == "LM03" and r["segment"].startswith(segment.road.code)
    assert date.fromisoformat(r["deadline"]) >= beijing_today()

    # the town office of the segment's town sees both, another town's office neither
    own_town = _markers(_client(demo_app, make_user("town_office", town=XIAOBA)))
    assert inspection.id in [f["properties"]["id"] for f in _by_layer(own_town, "inspection")]
    assert len(_by_layer(own_town, "rectification")) == 1
    other_town = _markers(_client(demo_app, make_user("town_office", town=DABA)))
    assert other_town["features"] == []

    # kind and bbox filter
    only_rect = _markers(_client(demo_app, city), kind="rectifications")
    assert {f["properties"]["layer"] for f in only_rect["features"]} == {"rectification"}
    near = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    assert len(_markers(_client(demo_app, city), bbox=near)["features"]) == 2
    far = "105.0,37.0,105.01,37.01"
    assert _markers(_client(demo_app, city), bbox=far)["features"] == []


def test_an_overdue_rectification_is_flagged_and_a_point_without_gps_sits_mid_segment(demo_app):
    city = make_user("city_office")
    segment = _village_road_segment(XIAOBA)
    inspection = _record(city, segment, gps=False, days_ago=20, deadline=beijing_today() - timedelta(days=5))
    view = _markers(_client(demo_app, city))
    [rect] = _by_layer(view, "rectification")
    assert rect["properties"]["overdue"] is True and rect["properties"]["located"] == "segment"
    mid = segment_midpoint(segment.geometry_mid)
    assert rect["geometry"]["coordinates"] == list(mid)
    assert shape(json.loads(segment.geometry)).distance(Point(mid)) < 0.001
    [insp] = [f for f in _by_layer(view, "inspection") if f["properties"]["id"] == inspection.id]
    assert insp["properties"]["located"] == "segment"
    # older inspections drop out with a shorter window; open rectifications stay whatever their age
    recent = _markers(_client(demo_app, city), days=10)
    assert _by_layer(recent, "inspection") == [] and len(_by_layer(recent, "rectification")) == 1


def test_a_chief_sees_the_rectifications_assigned_to_him(demo_app):
    city = make_user("city_office")
    segment = _village_road_segment(XIAOBA)
    _record(city, segment)
    rect = db.session.scalars(select(service.Rectification)).one()
    assert rect.chief_id
    chief_view = _markers(_client(demo_app, make_user("chief", chief_id=rect.chief_id)))
    assert [f["properties"]["id"] for f in _by_layer(chief_view, "rectification")] == [rect.id]
    # a village chief of another village: neither assessed nor an assignee (#13 routing adds the
    # segment's own 村级路长 and maintainer, who do see it)
    answering = {rect.chief_id, *(a.chief_id for a in rect.assignees)}
    other = db.session.scalar(
        select(ChiefAssignment.chief_id)
        .where(
            ChiefAssignment.chief_id.not_in(answering),
            ChiefAssignment.scope_kind == "village",
            ChiefAssignment.village_id != segment.village_id,
        )
        .order_by(ChiefAssignment.id)
    )
    assert _markers(_client(demo_app, make_user("chief", chief_id=other)))["features"] == []


def test_markers_need_a_sign_in_and_a_valid_query(demo_app):
    anonymous = demo_app.test_client()
    assert anonymous.get("/api/v1/markers").status_code == 401
    client = _client(demo_app, make_user("finance"))
    assert client.get("/api/v1/markers?kind=nothing").status_code == 422
    assert client.get("/api/v1/markers?bbox=1,2,3").status_code == 400


# ------------------------------------------------------------------ town outlines


def test_towns_are_nine_polygons_holding_their_segments(demo_app):
    client = _client(demo_app, make_user("inspector"))
    response = client.get("/api/v1/towns")
    assert response.status_code == 200
    data = response.get_json()
    assert len(data["features"]) == 9
    polygons = {}
    for feature in data["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        p = feature["properties"]
        assert p["code"] and p["name"] and p["segments"] > 0 and float(p["listed_km"]) > 0
        polygons[p["code"]] = shape(feature["geometry"])
        assert polygons[p["code"]].is_valid
        assert polygons[p["code"]].contains(Point(p["label"]))
    rows = db.session.execute(select(Town.code, Segment.geometry_mid).join(Town, Segment.town_id == Town.id)).all()
    assert rows
    for code, geometry in rows:
        assert polygons[code].contains(Point(segment_midpoint(geometry))), code
    # an unchanged register answers from the cache: the same text, the same ETag
    again = client.get("/api/v1/towns")
    assert again.headers["ETag"] == response.headers["ETag"]
    assert client.get("/api/v1/towns", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_town_outlines_follow_a_register_change(demo_app):
    from roadchief.services.map_layers import towns_geojson_text

    before = json.loads(towns_geojson_text())
    segment = _village_road_segment(XIAOBA)
    segment.listed_m += 1000
    db.session.commit()
    after = json.loads(towns_geojson_text())
    km = {f["properties"]["code"]: f["properties"]["listed_km"] for f in before["features"]}
    km_after = {f["properties"]["code"]: f["properties"]["listed_km"] for f in after["features"]}
    assert float(km_after[XIAOBA]) - float(km[XIAOBA]) == 1.0


# ------------------------------------------------------------------ coverage gaps


def test_a_segment_shows_as_a_gap_once_its_village_chief_leaves(demo_app):
    segment = _village_road_segment(XIAOBA)
    city = _client(demo_app, make_user("city_office"))
    before = city.get("/api/v1/coverage-gaps").get_json()
    assert before["date"] == beijing_today().isoformat()
    assert segment.id not in [s["id"] for s in before["segments"]]
    assignments = db.session.scalars(
        select(ChiefAssignment).where(
            ChiefAssignment.scope_kind == "village",
            ChiefAssignment.village_id == segment.village_id,
            ChiefAssignment.end_date.is_(None),
        )
    ).all()
    assert assignments
    for a in assignments:
        a.end_date = beijing_today() - timedelta(days=1)
    db.session.commit()
    after = city.get("/api/v1/coverage-gaps").get_json()
    [gap] = [s for s in after["segments"] if s["id"] == segment.id]
    assert gap["code"] == segment.road.code and gap["missing"] == ["村级路长"]
    # scoped: the segment's town office sees it, another town's office does not
    own = _client(demo_app, make_user("town_office", town=XIAOBA)).get("/api/v1/coverage-gaps").get_json()
    assert segment.id in [s["id"] for s in own["segments"]]
    other = _client(demo_app, make_user("town_office", town=DABA)).get("/api/v1/coverage-gaps").get_json()
    assert segment.id not in [s["id"] for s in other["segments"]]
