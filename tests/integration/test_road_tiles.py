"""Vector tiles of the road network (#15): what a tile holds, for whom, cached how, and — on
PostgreSQL with PostGIS — that ST_AsMVT and the Python builder cut the same tile."""

from __future__ import annotations

import json

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from sqlalchemy import String, event, func, select

from roadchief.domain import tiles
from roadchief.extensions import db
from roadchief.models import QuarterScore, Road, Segment, Town, Village
from roadchief.services import road_tiles
from tests.conftest import ON_POSTGRES, login, make_user

XIAOBA = "640381100"


def county_tiles(z: int) -> set[tuple[int, int]]:
    """Every zoom-z tile the demo network's boxes touch."""
    found = set()
    for min_lon, min_lat, max_lon, max_lat in db.session.execute(
        select(Segment.min_lon, Segment.min_lat, Segment.max_lon, Segment.max_lat)
    ):
        x0, y0 = tiles.tile_for(min_lon, max_lat, z)
        x1, y1 = tiles.tile_for(max_lon, min_lat, z)
        found |= {(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    return found


def fetch(client, z, x, y, **headers):
    response = client.get(f"/api/v1/tiles/roads/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "identity", **headers})
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    return response


def features(body: bytes) -> list[dict]:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}).get("roads", {}).get("features", [])


def ids_over(client, z: int) -> set[int]:
    seen = set()
    for x, y in county_tiles(z):
        seen |= {f["id"] for f in features(fetch(client, z, x, y).data)}
    return seen


def groups_over(client, z: int) -> set[tuple]:
    seen = set()
    for x, y in county_tiles(z):
        for f in features(fetch(client, z, x, y).data):
            assert "id" not in f or f["id"] in (None, 0), "an overview feature stands for many segments"
            seen.add((f["properties"]["class"], f["properties"]["town_code"], f["properties"]["listed"]))
    return seen


def expected_groups(town_id=None) -> set[tuple]:
    query = select(Road.road_class, Town.code, Segment.is_listed).join(Road).join(Town, Segment.town_id == Town.id)
    if town_id is not None:
        query = query.where(Segment.town_id == town_id)
    return set(db.session.execute(query.distinct()).tuples())


def test_the_county_tiles_hold_every_segment_once_cut_to_the_tile(demo_client):
    login(demo_client, make_user("city_office"))
    assert ids_over(demo_client, 10) == set(db.session.scalars(select(Segment.id)))
    segment = db.session.scalar(select(Segment).order_by(Segment.id))
    lon, lat = json.loads(segment.geometry)["coordinates"][0]
    x, y = tiles.tile_for(lon, lat, 13)
    drawn = {f["id"]: f for f in features(fetch(demo_client, 13, x, y).data)}
    feature = drawn[segment.id]
    road = db.session.get(Road, segment.road_id)
    town = db.session.get(Town, segment.town_id)
    assert feature["properties"]["class"] == road.road_class
    assert feature["properties"]["town_code"] == town.code
    assert feature["properties"]["listed"] is segment.is_listed
    # the first vertex lands where the tile maths puts it, within the 4096 grid's rounding
    ux, uy = tiles.lonlat_to_tile_units(lon, lat, 13, x, y)
    coords = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"]))
    assert min(abs(cx - float(ux)) + abs(cy - float(uy)) for cx, cy in coords) <= 2
    for cx, cy in coords:  # never beyond the buffer
        assert -tiles.BUFFER <= cx <= tiles.EXTENT + tiles.BUFFER and -tiles.BUFFER <= cy <= tiles.EXTENT + tiles.BUFFER


def test_a_town_office_gets_only_its_towns_roads(demo_client):
    login(demo_client, make_user("town_office", town=XIAOBA))
    town = db.session.scalar(select(Town).where(Town.code == XIAOBA))
    own = set(db.session.scalars(select(Segment.id).where(Segment.town_id == town.id)))
    assert own and ids_over(demo_client, 10) == own
    assert groups_over(demo_client, 8) == expected_groups(town.id)


def test_an_overview_tile_merges_the_roads_of_one_kind_into_one_feature(demo_client):
    login(demo_client, make_user("city_office"))
    assert groups_over(demo_client, 8) == expected_groups()
    for x, y in county_tiles(9):
        kinds = [
            (f["properties"]["class"], f["properties"]["town_code"], f["properties"]["listed"])
            for f in features(fetch(demo_client, 9, x, y).data)
        ]
        assert len(kinds) == len(set(kinds)), "one feature per kind in a tile"
        for f in features(fetch(demo_client, 9, x, y).data):
            for cx, cy in shapely.get_coordinates(shapely.geometry.shape(f["geometry"])):
                assert -16 <= cx <= tiles.OVERVIEW_EXTENT + 16 and -16 <= cy <= tiles.OVERVIEW_EXTENT + 16


def test_an_overview_is_simplified_to_a_pixel_and_stays_on_its_roads(demo_client):
    """Lighter (under half the vertices its roads have on the grid) and not wrong (every drawn point
    within a pixel of a road of its kind, plus the grid's rounding) — on whichever builder this
    database answers with."""
    login(demo_client, make_user("city_office"))
    z = 8
    extent, tolerance = tiles.extent_for(z), tiles.simplify_for(z)
    assert tolerance == extent // 256  # one screen pixel
    rows = db.session.execute(
        select(Segment.geometry_low, Road.road_class, Town.code, Segment.is_listed).join(Road).join(Town)
    ).all()
    box = shapely.box(0, 0, extent, extent)
    for x, y in county_tiles(z):

        def to_units(coords, x=x, y=y):
            ux, uy = tiles.lonlat_to_tile_units(coords[:, 0], coords[:, 1], z, x, y, extent)
            return np.column_stack([ux, uy])

        roads = {}
        for geometry, *kind in rows:
            roads.setdefault(tuple(kind), []).append(shapely.transform(shapely.from_geojson(geometry), to_units))
        drawn_vertices = 0
        for f in features(fetch(demo_client, z, x, y).data):
            p = f["properties"]
            inside = shapely.geometry.shape(f["geometry"]).intersection(box)
            source = shapely.union_all(roads[(p["class"], p["town_code"], p["listed"])])
            points = shapely.points(shapely.get_coordinates(shapely.segmentize(inside, 1.0)))
            assert shapely.distance(points, source).max() <= tolerance + 1, (x, y, p)
            drawn_vertices += len(shapely.get_coordinates(inside))
        everything = shapely.union_all([line for lines in roads.values() for line in lines]).intersection(box)
        on_grid = len(shapely.get_coordinates(shapely.set_precision(everything, 1.0)))
        # the demo county at zoom 8: 0.42 of them simplified, 0.63 on the grid alone
        assert drawn_vertices < on_grid * 0.5, (x, y, drawn_vertices, on_grid)


def test_a_tile_outside_the_network_is_empty_and_bad_numbers_are_refused(demo_client):
    login(demo_client, make_user("city_office"))
    assert fetch(demo_client, 10, 0, 0).data == b""
    refused = demo_client.get("/api/v1/tiles/roads/5/40/0.mvt")
    assert refused.status_code == 400 and "0–31" in refused.get_json()["message"]
    assert demo_client.get("/api/v1/tiles/roads/17/0/0.mvt").status_code == 400


def test_signing_in_is_required(demo_client):
    assert demo_client.get("/api/v1/tiles/roads/9/0/0.mvt").status_code == 401


def test_a_tile_is_answered_gzipped_and_then_304_until_the_network_changes(demo_client):
    login(demo_client, make_user("city_office"))
    x, y = sorted(county_tiles(10))[0]  # (a tile of the county)
    first = demo_client.get(f"/api/v1/tiles/roads/10/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and first.headers["ETag"]
    again = demo_client.get(f"/api/v1/tiles/roads/10/{x}/{y}.mvt", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    make_user("finance")  # not the network: an account, like a sign-in or an inspection, keeps the tiles
    db.session.commit()
    kept = demo_client.get(f"/api/v1/tiles/roads/10/{x}/{y}.mvt", headers={"If-None-Match": first.headers["ETag"]})
    assert kept.status_code == 304
    village = db.session.scalar(select(Village).order_by(Village.id))
    db.session.add(QuarterScore(year=2022, quarter=1, unit_key=f"village:{village.code}", score_centi=9100))
    db.session.commit()  # a grade is drawn: the tiles change
    changed = demo_client.get(f"/api/v1/tiles/roads/10/{x}/{y}.mvt", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200


def test_a_tile_carries_the_latest_grade_of_the_segments_unit(demo_client):
    village = db.session.scalar(select(Village).order_by(Village.id))
    db.session.add(QuarterScore(year=2022, quarter=1, unit_key=f"village:{village.code}", score_centi=6800))
    db.session.commit()
    segment = db.session.scalar(
        select(Segment).join(Road).where(Segment.village_id == village.id, Road.road_class == "村道")
    )
    login(demo_client, make_user("city_office"))
    lon, lat = json.loads(segment.geometry)["coordinates"][0]
    x, y = tiles.tile_for(lon, lat, 12)
    drawn = {f["id"]: f["properties"] for f in features(fetch(demo_client, 12, x, y).data)}
    assert drawn[segment.id]["grade"] == "一般"
    assert all(p.get("grade") in (None, "一般") for p in drawn.values())


@pytest.mark.skipif(not ON_POSTGRES, reason="PostGIS is a PostgreSQL extension")
def test_postgis_and_python_cut_the_same_tiles(demo_app):
    if road_tiles.postgis_schema() is None:
        pytest.skip("PostGIS is not installed on this PostgreSQL server")
    assert road_tiles.builder() == "postgis"
    user = make_user("city_office")
    for z in (7, 8, 12):  # the first view of a province, an overview, a tile of segments
        for x, y in sorted(county_tiles(z)):
            if z <= tiles.OVERVIEW_MAX_ZOOM:  # merged features: compare kind by kind

                def kinds(body):
                    return {
                        tuple(sorted(f["properties"].items())): shapely.geometry.shape(f["geometry"])
                        for f in features(body)
                    }

                sql = kinds(road_tiles._postgis_tile(road_tiles.postgis_schema(), user, z, x, y))
                python = kinds(road_tiles._python_tile(user, z, x, y))
                assert set(sql) == set(python), (z, x, y)
                for key, shape in sql.items():
                    assert shape.hausdorff_distance(python[key]) <= 3, (z, x, y, key)
                continue
            by_sql = {
                f["id"]: f for f in features(road_tiles._postgis_tile(road_tiles.postgis_schema(), user, z, x, y))
            }
            by_python = {f["id"]: f for f in features(road_tiles._python_tile(user, z, x, y))}
            # a line collapsing to one grid cell may be kept by one snapper and dropped by the other
            assert len(set(by_sql) ^ set(by_python)) <= max(2, len(by_sql) // 100), (z, x, y)
            for key in set(by_sql) & set(by_python):
                assert by_sql[key]["properties"] == by_python[key]["properties"]
                a = shapely.geometry.shape(by_sql[key]["geometry"])
                b = shapely.geometry.shape(by_python[key]["geometry"])
                assert a.hausdorff_distance(b) <= 3, (z, x, y, key)


def test_the_sql_unit_key_agrees_with_the_python_one_on_every_case(demo_app):
    import itertools

    from sqlalchemy import literal

    from roadchief.services.units import unit_key_for_segment

    cases = itertools.product(
        ("村道", "镇道", "市道", "专用公路"), ("640381100",), ("640381100201", "", None), ("Z01", "", None)
    )
    for road_class, town, village, station in cases:
        sql = db.session.scalar(
            select(road_tiles.unit_key_sql(*(literal(v, String) for v in (road_class, town, village, station))))
        )
        assert sql == unit_key_for_segment(road_class, town, village, station), (road_class, village, station)


def test_the_map_page_extent_is_kept_per_network_version_and_scope(demo_app):
    from roadchief.services.data_version import network_version

    office, town_office = make_user("city_office"), make_user("town_office", town=XIAOBA)
    count, box = road_tiles.scope_extent(office)
    assert count == db.session.scalar(select(func.count(Segment.id)))
    town_count, town_box = road_tiles.scope_extent(town_office)
    assert 0 < town_count < count  # a scope of its own, not the office's answer
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert road_tiles.scope_extent(office) == (count, box)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert not [sql for sql in statements if "min_lon" in sql], "counted again for an unchanged network"
    before = network_version()
    segment = db.session.scalar(select(Segment).order_by(Segment.id))
    edge = segment.max_lon
    segment.max_lon = box[2] + 1.0  # an edit of the network (audited): the box grows
    db.session.commit()
    try:
        assert network_version() != before
        assert road_tiles.scope_extent(office)[1][2] == box[2] + 1.0
    finally:
        segment.max_lon = edge
        db.session.commit()
