"""Open311 GeoReport v2 at /open311/v2: services, requests GET/POST, one request, the
rectification deadline as expected_datetime, errors in the spec's form, no private data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select

from roadchief.domain.clock import BEIJING, beijing_today
from roadchief.extensions import db, limiter
from roadchief.models import Segment
from roadchief.models.public import REPORT_CATEGORIES, PublicReport
from roadchief.services.public_reports import act
from tests.conftest import make_user

PHONE = "13987654321"


def _point(segment: Segment) -> tuple[float, float]:
    coords = json.loads(segment.geometry)["coordinates"]
    while isinstance(coords[0][0], list):
        coords = coords[0]
    return coords[1][0], coords[1][1]


def _segment() -> Segment:
    return db.session.scalar(select(Segment).order_by(Segment.id).offset(3))


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(PublicReport))


def _post(client, **fields):
    segment = _segment()
    lon, lat = _point(segment)
    data = {
        "service_code": "pavement",
        "lat": str(lat),
        "long": str(lon),
        "description": "路面有坑槽，夜间危险",
        "phone": PHONE,
        "media_url": "http://example.com/x.jpg",
    }
    data.update(fields)
    return client.post("/open311/v2/requests.json", data={k: v for k, v in data.items() if v is not None})


def test_services_one_per_category(demo_client):
    response = demo_client.get("/open311/v2/services.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    services = response.get_json()
    assert [s["service_name"] for s in services] == list(REPORT_CATEGORIES)
    for s in services:
        assert s["service_code"].isascii() and s["metadata"] is False and s["type"] == "realtime"
        assert s["description"] and s["keywords"] and s["group"]
    xml = demo_client.get("/open311/v2/services.xml")
    assert xml.status_code == 400 and "JSON" in xml.get_json()[0]["description"]


def test_post_creates_exactly_one_report_visible_as_a_request(demo_client):
    before = _count()
    response = _post(demo_client)
    assert response.status_code == 200, response.get_data(as_text=True)
    [answer] = response.get_json()
    ref = answer["service_request_id"]
    assert ref.startswith("GK") and ref in answer["service_notice"]
    assert _count() == before + 1
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    segment = _segment()
    assert report.road_id == segment.road_id and report.segment_id == segment.id
    assert report.category == "路面破损" and report.reporter_phone == PHONE and report.status == "received"

    detail = demo_client.get(f"/open311/v2/requests/{ref}.json")
    assert detail.status_code == 200
    [request] = detail.get_json()
    assert request["service_request_id"] == ref and request["status"] == "open"
    assert request["service_code"] == "pavement" and request["service_name"] == "路面破损"
    assert request["expected_datetime"] is None
    assert request["requested_datetime"].endswith("+08:00") and request["address_id"] == segment.road.code
    assert isinstance(request["lat"], float) and isinstance(request["long"], float)
    listed = demo_client.get("/open311/v2/requests.json").get_json()
    assert [r["service_request_id"] for r in listed] == [ref]
    for url in (
        "/open311/v2/requests.json",
        f"/open311/v2/requests/{ref}.json",
        f"/open311/v2/requests.json?service_request_id={ref}",
    ):
        text = demo_client.get(url).get_data(as_text=True)
        assert PHONE not in text and report.ip_hash not in text and "夜间危险" not in text, url
    assert demo_client.get("/open311/v2/requests/GK00000000XXXX.json").status_code == 404
    assert demo_client.get(f"/open311/v2/requests/{ref}.xml").status_code == 400


def test_bad_input_is_refused_in_the_spec_form_and_nothing_is_written(demo_client):
    before = _count()
    cases = {
        "unknown service": dict(service_code="potholes"),
        "no position": dict(lat=None, long=None),
        "outside the city": dict(lat="30.0", long="120.0"),
        "no road near": dict(lat="38.9", long="106.9"),
        "empty description": dict(description="  "),
        "bad phone": dict(phone="12345"),
        "too long": dict(description="坑" * 501),
    }
    for name, fields in cases.items():
        response = _post(demo_client, **fields)
        assert response.status_code == 400, name
        [error] = response.get_json()
        assert error["code"] == 400 and any("\u4e00" <= ch <= "\u9fff" for ch in error["description"]), name
    assert _count() == before
    assert demo_client.post("/open311/v2/requests.xml", data={}).status_code == 400
    assert _count() == before


def test_request_filters_and_default_window(demo_client):
    first = _post(demo_client).get_json()[0]["service_request_id"]
    second = _post(demo_client, service_code="snow_ice").get_json()[0]["service_request_id"]
    old = _post(demo_client, service_code="other").get_json()[0]["service_request_id"]
    row = db.session.scalar(select(PublicReport).where(PublicReport.ref == old))
    row.created_at = row.created_at - timedelta(days=120)
    db.session.commit()

    def refs(query=""):
        response = demo_client.get(f"/open311/v2/requests.json{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return {r["service_request_id"] for r in response.get_json()}

    assert refs() == {first, second}  # the last 90 days by default
    long_ago = (beijing_today() - timedelta(days=200)).isoformat()
    assert refs(f"?start_date={long_ago}T00:00:00%2B08:00") == {first, second, old}
    assert refs("?service_code=snow_ice") == {second}
    assert refs("?status=closed") == set()
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == first))
    act(report, make_user("city_office"), "close", note="已修补完毕")
    assert refs("?status=closed") == {first} and refs("?status=open") == {second}
    closed = demo_client.get(f"/open311/v2/requests/{first}.json").get_json()[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "已修补完毕"
    tomorrow = (beijing_today() + timedelta(days=1)).isoformat()
    assert refs(f"?end_date={tomorrow}T00:00:00&start_date={tomorrow}T00:00:00") == set()
    for bad in (
        "?status=pending",
        "?service_code=nope",
        "?start_date=yesterday",
        f"?start_date={tomorrow}T00:00:00&end_date={long_ago}T00:00:00",
    ):
        response = demo_client.get(f"/open311/v2/requests.json{bad}")
        assert response.status_code == 400 and response.get_json()[0]["code"] == 400, bad


def test_expected_datetime_is_the_rectification_deadline(demo_client):
    from flask import current_app

    from roadchief.services import inspections as service

    city = make_user("city_office")
    segment = _segment()
    deadline = beijing_today() + timedelta(days=10)
    data = service.InspectionInput(
        kind="supervision",
        segment_ids=[segment.id],
        inspected_at=datetime.now(BEIJING).replace(microsecond=0) - timedelta(minutes=5),
        lon=None,
        lat=None,
        deadline=deadline,
        findings=[service.FindingInput("LM03", 1)],
    )
    inspection = service.create_inspection(city, data, current_app.config["UPLOAD_DIR"]).inspection
    rect = inspection.findings[0].rectification
    ref = _post(demo_client).get_json()[0]["service_request_id"]
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    assert demo_client.get(f"/open311/v2/requests/{ref}.json").get_json()[0]["expected_datetime"] is None
    # confirming opens the report's own 整改 (#13); a hand-typed reference is ignored
    act(report, city, "confirm", rectification_ref=str(rect.id), deadline=deadline + timedelta(days=2))
    assert report.rectification_id != rect.id
    [request] = demo_client.get(f"/open311/v2/requests/{ref}.json").get_json()
    assert request["expected_datetime"] == f"{(deadline + timedelta(days=2)).isoformat()}T23:59:59+08:00"
    assert request["status"] == "open"


def test_posting_needs_no_csrf_token_and_is_rate_limited_with_the_report_form(demo_app_with):
    app = demo_app_with(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=True)  # a machine API: no CSRF token
    limiter.reset()
    client = app.test_client()
    codes = [_post(client).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert _count() == 5
    limiter.reset()
