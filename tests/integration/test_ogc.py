"""OGC API – Features at /ogc on the demo network: landing, conformance, collections,
paging, bbox, typed numbers, errors, and public fields only."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from roadchief.domain.clock import utcnow
from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.models.operations import RoadAsset, RoadEvent
from roadchief.models.public import PublicReport
from roadchief.services.public_reports import ReportInput, create_report

PHONE = "13912345678"
SECRET_NOTE = "内部备注请勿外传"


def _get(client, url):
    parts = urlsplit(url)
    return client.get(parts.path + (f"?{parts.query}" if parts.query else ""))


def _links(document) -> dict:
    return {link["rel"]: link for link in document["links"]}


def _segment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Segment))


def _private_data(segment: Segment):
    """A report with a phone, an asset with an internal note, an open and a repaired event."""
    coords = json.loads(segment.geometry)["coordinates"]
    lon, lat = coords[0] if not isinstance(coords[0][0], list) else coords[0][0]
    report = create_report(
        segment.road,
        ReportInput(
            category="路面破损", text=f"坑槽很多，联系我 {PHONE}", phone=PHONE, lon=lon, lat=lat, segment_id=segment.id
        ),
        ip="10.1.2.3",
    )
    report.chief_reply = SECRET_NOTE
    asset = RoadAsset(
        code="QL-TEST-1",
        segment_id=segment.id,
        kind="bridge",
        name="测试桥",
        stake_m=segment.start_m,
        geometry=json.dumps({"type": "Point", "coordinates": [lon, lat]}),
        lon=lon,
        lat=lat,
        note=SECRET_NOTE,
    )
    now = utcnow()
    open_event = RoadEvent(
        segment_id=segment.id,
        kind="landslide",
        severity="major",
        state="reported",
        closed=True,
        stake_m=segment.start_m,
        occurred_at=now - timedelta(hours=3),
        description=SECRET_NOTE,
        warning_sign="设置警示锥桶",
        detour="经 X101 绕行",
        reported_by="王五-13800000000",
        restore_note=SECRET_NOTE,
    )
    repaired = RoadEvent(
        segment_id=segment.id,
        kind="landslide",
        severity="minor",
        state="repaired",
        occurred_at=now - timedelta(days=3),
        restored_at=now - timedelta(days=2),
        repaired_at=now - timedelta(days=1),
        description="已修复的事件",
    )
    db.session.add_all([asset, open_event, repaired])
    db.session.commit()
    return report, asset, open_event, repaired


def test_landing_conformance_and_openapi(demo_client):
    response = demo_client.get("/ogc")
    assert response.status_code == 200 and response.mimetype == "application/json"
    landing = response.get_json()
    assert landing["title"]
    links = _links(landing)
    assert links["self"]["href"].endswith("/ogc") and links["self"]["type"] == "application/json"
    assert links["conformance"]["href"].endswith("/ogc/conformance")
    assert links["data"]["href"].endswith("/ogc/collections")
    assert links["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    conformance = demo_client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conformance
    api = _get(demo_client, links["service-desc"]["href"])
    assert api.status_code == 200
    doc = json.loads(api.data)
    assert doc["openapi"].startswith("3.0") and "/collections/{collectionId}/items" in doc["paths"]


def test_collections_shape(demo_client):
    document = demo_client.get("/ogc/collections").get_json()
    collections = {c["id"]: c for c in document["collections"]}
    assert set(collections) == {"segments", "assets", "events", "reports"}
    segments = collections["segments"]
    assert segments["itemType"] == "feature"
    assert segments["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    [box] = segments["extent"]["spatial"]["bbox"]
    minx, miny, maxx, maxy = box
    assert 105 < minx < maxx < 107 and 37 < miny < maxy < 39
    assert _links(segments)["items"]["type"] == "application/geo+json"
    one = demo_client.get("/ogc/collections/segments").get_json()
    assert one["id"] == "segments" and one["extent"] == segments["extent"]
    assert demo_client.get("/ogc/collections/nothing").status_code == 404
    assert demo_client.get("/ogc/collections/nothing/items").status_code == 404


def test_items_page_through_every_segment(demo_client):
    total = _segment_count()
    response = demo_client.get("/ogc/collections/segments/items?limit=10")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    page = response.get_json()
    assert page["type"] == "FeatureCollection" and page["numberMatched"] == total
    assert page["numberReturned"] == 10 and len(page["features"]) == 10
    assert page["timeStamp"].endswith("+08:00")
    links = _links(page)
    assert links["self"]["type"] == links["next"]["type"] == "application/geo+json"
    assert "prev" not in links
    seen = [f["id"] for f in page["features"]]
    pages = 1
    while "next" in _links(page):
        page = _get(demo_client, _links(page)["next"]["href"]).get_json()
        assert "prev" in _links(page)
        seen += [f["id"] for f in page["features"]]
        pages += 1
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 10)
    default = demo_client.get("/ogc/collections/segments/items").get_json()
    assert default["numberReturned"] == min(100, total)
    every = demo_client.get("/ogc/collections/segments/items?limit=1000").get_json()
    assert every["numberReturned"] == total and "next" not in _links(every)


def test_bbox_filter(demo_client):
    segment = db.session.scalar(select(Segment).order_by(Segment.id).offset(5))
    bbox = f"{segment.min_lon},{segment.min_lat},{segment.max_lon},{segment.max_lat}"
    page = demo_client.get(f"/ogc/collections/segments/items?limit=1000&bbox={bbox}").get_json()
    ids = [f["id"] for f in page["features"]]
    assert segment.id in ids and page["numberMatched"] == len(ids) < _segment_count()
    expected = db.session.scalar(
        select(func.count())
        .select_from(Segment)
        .where(
            Segment.min_lon <= segment.max_lon,
            Segment.max_lon >= segment.min_lon,
            Segment.min_lat <= segment.max_lat,
            Segment.max_lat >= segment.min_lat,
        )
    )
    assert page["numberMatched"] == expected
    # the next link keeps the filter
    small = demo_client.get(f"/ogc/collections/segments/items?limit=1&bbox={bbox}").get_json()
    if small["numberMatched"] > 1:
        assert "bbox=" in _links(small)["next"]["href"]
    far = demo_client.get("/ogc/collections/segments/items?bbox=100,30,100.1,30.1").get_json()
    assert far["numberMatched"] == 0 and far["features"] == []


def test_numbers_are_typed(demo_client):
    segment = db.session.scalar(select(Segment).order_by(Segment.id))
    response = demo_client.get(f"/ogc/collections/segments/items/{segment.id}")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    text = response.get_data(as_text=True)
    # listed_km is a JSON number written with exactly 3 decimals (never a string, never rounded by a float)
    assert re.search(r'"listed_km":\d+\.\d{3}[,}]', text), text[:300]
    assert f'"listed_km":{segment.listed_km}' in text
    p = response.get_json()["properties"]
    assert p["start_m"] == segment.start_m and isinstance(p["start_m"], int)
    assert isinstance(p["start_km"], float) and p["start_km"] == segment.start_m / 1000
    assert re.fullmatch(r"K\d+\+\d{3}", p["start_stake"]) and re.fullmatch(r"K\d+\+\d{3}", p["end_stake"])
    assert isinstance(p["listed_km"], float) and isinstance(p["is_listed"], bool)
    assert p["road_code"] == segment.road.code and p["town"] == segment.town.name
    assert response.get_json()["geometry"]["type"] in ("LineString", "MultiLineString")


def test_bad_parameters_and_missing_features(demo_client):
    for query in (
        "limit=0",
        "limit=1001",
        "limit=abc",
        "limit=-5",
        "offset=-1",
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=106,38,105,37",
        "f=html",
    ):
        response = demo_client.get(f"/ogc/collections/segments/items?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["code"] == 400 and response.get_json()["description"], query
    assert demo_client.get("/ogc/collections/segments/items/999999").status_code == 404
    assert demo_client.get("/ogc/collections/segments/items/abc").status_code == 404
    assert demo_client.get("/ogc/collections/reports/items/GK00000000XXXX").status_code == 404
    missing = demo_client.get("/ogc/collections/segments/items/999999").get_json()
    assert missing["code"] == 404


def test_public_fields_only(demo_client):
    segment = db.session.scalar(select(Segment).order_by(Segment.id))
    report, asset, open_event, repaired = _private_data(segment)
    ip_hash = db.session.get(PublicReport, report.id).ip_hash

    reports = demo_client.get("/ogc/collections/reports/items").get_json()
    [feature] = reports["features"]
    assert feature["id"] == report.ref
    p = feature["properties"]
    assert p["ref"] == report.ref and p["category"] == "路面破损" and p["status"] == "received"
    assert p["road_code"] == segment.road.code and p["created_at"].endswith("+08:00")
    assert feature["geometry"]["type"] == "Point"
    one = demo_client.get(f"/ogc/collections/reports/items/{report.ref}")
    assert one.status_code == 200 and one.get_json()["properties"]["ref"] == report.ref

    events = demo_client.get("/ogc/collections/events/items").get_json()
    assert [f["id"] for f in events["features"]] == [open_event.id]  # the repaired one is not on the sign
    ep = events["features"][0]["properties"]
    assert ep["interrupted"] is True and ep["warning_sign"] == "设置警示锥桶" and ep["detour"] == "经 X101 绕行"
    assert events["features"][0]["geometry"]["type"] == "Point"
    assert demo_client.get(f"/ogc/collections/events/items/{repaired.id}").status_code == 404

    assets = demo_client.get("/ogc/collections/assets/items").get_json()
    assert [f["properties"]["code"] for f in assets["features"]] == ["QL-TEST-1"]
    assert assets["features"][0]["properties"]["kind_label"] == "桥梁"

    urls = ["/ogc", "/ogc/collections", "/ogc/api"]
    for cid in ("segments", "assets", "events", "reports"):
        urls += [f"/ogc/collections/{cid}", f"/ogc/collections/{cid}/items?limit=1000"]
    urls += [
        f"/ogc/collections/reports/items/{report.ref}",
        f"/ogc/collections/events/items/{open_event.id}",
        f"/ogc/collections/assets/items/{asset.id}",
    ]
    for url in urls:
        text = demo_client.get(url).get_data(as_text=True)
        for private in (PHONE, ip_hash, SECRET_NOTE, "王五", "13800000000", "reporter_phone", "ip_hash"):
            assert private not in text, (url, private)
