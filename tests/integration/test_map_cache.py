"""The county map's data is built once per data version: a client holding the current ETag gets
its 304 without the body being built, and any change through the application changes the ETag (#15)."""

from __future__ import annotations

import gzip
import json

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.web.api import network as network_api
from tests.conftest import login, make_user


def _counting(monkeypatch):
    calls = []
    real = network_api.segments_geojson_text

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(network_api, "segments_geojson_text", counted)
    return calls


def test_unchanged_data_answers_304_without_building(demo_app, monkeypatch):
    client, second_user = demo_app.test_client(), demo_app.test_client()
    login(client, make_user("city_office", username="cache-city"))
    login(second_user, make_user("city_office", username="cache-city-2"))  # before: a new account is a change too
    calls = _counting(monkeypatch)
    first = client.get("/api/v1/segments?zoom=10", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    features = json.loads(gzip.decompress(first.data))["features"]
    assert len(features) == db.session.scalar(select(db.func.count(Segment.id)))
    etag = first.headers["ETag"]
    assert len(calls) == 1
    again = client.get("/api/v1/segments?zoom=10", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    shared = second_user.get("/api/v1/segments?zoom=10")
    assert shared.status_code == 200 and shared.headers["ETag"] == etag
    assert len(calls) == 1  # the same scope and query: built once for both users
    assert json.loads(shared.data)["features"] == features


def test_a_change_makes_a_new_version(demo_app, monkeypatch):
    client = demo_app.test_client()
    login(client, make_user("city_office", username="cache-edit"))
    first = client.get("/api/v1/segments?zoom=10")
    segment = db.session.scalars(select(Segment).order_by(Segment.id)).first()
    segment.road.name = "缓存检验路"
    db.session.commit()
    after = client.get("/api/v1/segments?zoom=10", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    [feature] = [f for f in json.loads(after.data)["features"] if f["id"] == segment.id]
    assert feature["properties"]["name"] == "缓存检验路"


def test_scopes_never_share_a_body(demo_app):
    city, town = demo_app.test_client(), demo_app.test_client()
    login(city, make_user("city_office", username="cache-scope-city"))
    town_user = make_user("town_office", username="cache-scope-town", town="640381100")
    login(town, town_user)
    everyone = city.get("/api/v1/segments?zoom=10")
    own = town.get("/api/v1/segments?zoom=10", headers={"If-None-Match": everyone.headers["ETag"]})
    assert own.status_code == 200 and own.headers["ETag"] != everyone.headers["ETag"]
    ids = {f["id"] for f in json.loads(own.data)["features"]}
    expected = set(db.session.scalars(select(Segment.id).where(Segment.town_id == town_user.town_id)))
    assert ids == expected and len(ids) < len(json.loads(everyone.data)["features"])
