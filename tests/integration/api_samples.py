"""Real calls to every /api/v1 operation on the demo app — successes and refusals — for the OpenAPI
tests (test_openapi.py): each call is (method, path, response), the path as the client asked for it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select

from roadchief.domain.tiles import tile_for
from roadchief.extensions import db
from roadchief.models import Segment, Town, Village
from roadchief.services.accounts import create_token
from tests.conftest import make_user
from tests.patrol_traces import trace

XIAOBA = "640381100"  # 小坝镇
OTHER_TOWN = "640381101"


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # as asked, with the query string
    response: object  # the test client's response


def image(fmt: str = "JPEG") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(out, fmt)
    out.seek(0)
    return out


def village_segment(town_code: str) -> Segment:
    town = db.session.scalar(select(Town).where(Town.code == town_code))
    return db.session.scalar(
        select(Segment)
        .join(Village, Segment.village_id == Village.id)
        .where(Segment.town_id == town.id)
        .order_by(Segment.id)
    )


def bearer(user) -> dict:
    # identity: the WSGI test client does not undo gzip as a real HTTP client does
    return {"Authorization": f"Bearer {create_token(user.username)}", "Accept-Encoding": "identity"}


def collect(app) -> list[Call]:
    """Drive each operation at least once with success and with the refusals it documents."""
    from roadchief.models.inspections import Rectification

    client = app.test_client()
    calls: list[Call] = []

    def call(method: str, path: str, headers: dict | None = None, **kwargs) -> object:
        response = client.open(path, method=method, headers=headers or {}, **kwargs)
        calls.append(Call(method, path, response))
        return response

    city = bearer(make_user("city_office"))
    town = bearer(make_user("town_office", town=XIAOBA))
    finance = bearer(make_user("finance"))
    segment = village_segment(XIAOBA)
    other = village_segment(OTHER_TOWN)
    lon, lat = json.loads(segment.geometry)["coordinates"][0]

    # network
    call("GET", "/api/v1/segments?zoom=14", city)
    call("GET", "/api/v1/segments")  # 401
    call("GET", "/api/v1/segments?zoom=99", city)  # 422
    call("GET", "/api/v1/segments?bbox=1,2,3", city)  # 400
    call("GET", f"/api/v1/segments/{segment.id}", city)
    call("GET", f"/api/v1/segments/{other.id}", town)  # 403
    call("GET", "/api/v1/segments/999999", city)  # 404
    tx, ty = tile_for(lon, lat, 12)
    call("GET", f"/api/v1/tiles/roads/12/{tx}/{ty}.mvt", city)
    call("GET", f"/api/v1/tiles/roads/12/{tx}/{ty}.mvt")  # 401
    call("GET", "/api/v1/tiles/roads/17/0/0.mvt", city)  # 400: beyond the deepest zoom
    call("GET", "/api/v1/tiles/roads/3/9/0.mvt", city)  # 400: no such column at zoom 3
    call("GET", "/api/v1/network/summary", city)
    call("GET", "/api/v1/network/summary", town)

    # funding
    call("GET", "/api/v1/funding/plan/2022", finance)
    call("GET", "/api/v1/funding/plan/2022", town)  # 403
    call("GET", "/api/v1/funding/plan/1999", finance)  # 404
    call("GET", "/api/v1/funding/quarters/2022/1", finance)
    call("GET", "/api/v1/funding/quarters/2022/5", finance)  # 404

    # inspections and rectifications
    body = {
        "kind": "supervision",
        "inspected_at": "2022-03-03T08:00:00+08:00",
        "segment_ids": [segment.id],
        "findings": [{"item": "LR04", "quantity": 150}, {"item": "LM04", "quantity": 1}],
        "client_uuid": "3f0c9a52-4a8b-4a55-9b43-0d7c0f1d2e01",
    }
    created = call("POST", "/api/v1/inspections", town, json=body).get_json()
    call("POST", "/api/v1/inspections", town, json=body)  # 200, idempotent
    call(
        "POST",
        "/api/v1/inspections",
        town,
        json={**body, "client_uuid": None, "findings": [{"item": "NOPE", "quantity": 1}]},
    )  # 400
    call("POST", "/api/v1/inspections", town, json={"kind": "supervision"})  # 422
    call("GET", "/api/v1/inspections?month=2022-03", town)
    call("GET", "/api/v1/inspections?month=2022-13", town)  # 400
    call("GET", f"/api/v1/inspections/{created['id']}", town)
    call("GET", "/api/v1/inspections/999999", town)  # 404
    finding = created["findings"][0]
    call(
        "POST",
        f"/api/v1/inspections/{created['id']}/photos",
        town,
        data={"photo": (image(), "a.jpg"), "finding_id": str(finding["id"])},
    )
    call(
        "POST", f"/api/v1/inspections/{created['id']}/photos", city, data={"photo": (image(), "a.jpg")}
    )  # 403: not the recorder
    call("GET", f"/api/v1/inspections/nearest?lon={lon}&lat={lat}", town)
    call("GET", "/api/v1/inspections/nearest?lon=200&lat=95", town)  # 400
    call("GET", "/api/v1/rectifications", town)
    call("GET", "/api/v1/todos", town)
    call("GET", "/api/v1/todos")  # 401
    call("GET", "/api/v1/rectifications?state=overdue", city)
    rid = finding["rectification"]["id"]
    call("GET", f"/api/v1/rectifications/{rid}", town)
    call("POST", f"/api/v1/rectifications/{rid}/verify", town, json={})  # 409: not done yet
    rect = db.session.get(Rectification, rid)
    chief = bearer(make_user("chief", chief_id=rect.chief_id))
    call(
        "POST",
        f"/api/v1/rectifications/{rid}/complete",
        chief,
        data={"note": "已补植", "photo": (image("PNG"), "after.png")},
    )
    call("POST", f"/api/v1/rectifications/{rid}/return", town, json={"note": "仍有死株"})
    call(
        "POST",
        f"/api/v1/rectifications/{rid}/complete",
        chief,
        data={"note": "已补植", "photo": (image("PNG"), "after.png")},
    )
    call("POST", f"/api/v1/rectifications/{rid}/verify", town, json={"note": "已复核"})
    call("GET", "/api/v1/deduction-catalog?year=2022", town)
    call("GET", "/api/v1/inspections/scores/2022/1", city)
    call("GET", f"/api/v1/inspections/scores/2022/1?scope=town:{XIAOBA}", town)  # rows with the March 督查
    call("GET", f"/api/v1/inspections/scores/2022/1?scope=town:{OTHER_TOWN}", town)  # 403

    # map layers
    call("GET", "/api/v1/markers", city)
    call("GET", "/api/v1/markers?kind=rectifications", town)
    call("GET", "/api/v1/towns", city)
    call("GET", "/api/v1/coverage-gaps", city)

    # events and assets
    occurred = (datetime.now(UTC) - timedelta(hours=10)).replace(microsecond=0)
    event_body = {
        "segment_id": segment.id,
        "kind": "landslide",
        "severity": "major",
        "occurred_at": occurred.isoformat(),
        "closed": True,
        "description": "山体塌方堵路",
    }
    call("POST", "/api/v1/events", town, json=event_body)  # 422: closed without sign and detour
    event = call(
        "POST", "/api/v1/events", town, json={**event_body, "warning_sign": "两端设警示牌", "detour": "经村道绕行"}
    ).get_json()
    call("POST", "/api/v1/events", town, json={**event_body, "segment_id": other.id})  # 403
    call("POST", f"/api/v1/events/{event['id']}/repair", town, json={})  # 409: not restored yet
    call(
        "POST", f"/api/v1/events/{event['id']}/restore", town, json={"at": (occurred - timedelta(days=2)).isoformat()}
    )  # 409
    call(
        "POST",
        f"/api/v1/events/{event['id']}/restore",
        town,
        json={"at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    )  # 422
    call("POST", f"/api/v1/events/{event['id']}/restore", town, json={"note": "已抢通"})
    call("POST", f"/api/v1/events/{event['id']}/repair", town, json={"note": "已修复"})
    call("GET", f"/api/v1/events/{event['id']}", town)
    call("GET", "/api/v1/events/999999", town)  # 404
    call("GET", "/api/v1/events?include_repaired=1", city)
    call("GET", "/api/v1/assets", city)
    call("GET", "/api/v1/assets?bbox=9,9,1,1", city)  # 400

    patrol_calls(call, town, city, finance, segment)
    return calls


def patrol_calls(call, town: dict, city: dict, finance: dict, segment: Segment) -> None:
    """巡查轨迹 (第二十二条): a rainy-day patrol driven along the town's segment three hours ago."""
    started = datetime.now(UTC).timestamp() - 3 * 3600
    fixes = trace(json.loads(segment.geometry)["coordinates"], speed_kmh=20, t0=started)
    points = [{"lon": lon, "lat": lat, "t": t} for lon, lat, t in fixes]
    body = {
        "client_id": "9d4f2b1e-7c3a-4e5f-8a6b-1c2d3e4f5a6b",
        "kind": "flood",
        "duty_phase": "雨中",
        "points": points,
        "note": "雨中巡查",
    }
    track = call("POST", "/api/v1/patrols", town, json=body).get_json()
    call("POST", "/api/v1/patrols", town, json=body)  # 200, idempotent
    call("POST", "/api/v1/patrols", city, json=body)  # 409: another's client_id
    far = {**points[1], "lon": 116.4, "lat": 39.9}  # Beijing
    call("POST", "/api/v1/patrols", town, json={"points": [points[0], far]})  # 400 naming 第 2 个点
    call("POST", "/api/v1/patrols", town, json={"points": points[:1]})  # 422: fewer than 2 points
    call("POST", "/api/v1/patrols", finance, json=body)  # 403: finance does not patrol
    gpx = call("GET", f"/api/v1/patrols/{track['id']}/track.gpx", town)
    other_town = bearer(make_user("town_office", town=OTHER_TOWN))
    call("GET", f"/api/v1/patrols/{track['id']}/track.gpx", other_town)  # 404: outside its scope
    call("POST", "/api/v1/patrols/gpx", town, data={"file": (io.BytesIO(gpx.data), "patrol.gpx"), "kind": "daily"})
    broken = gpx.data.replace(b"</trkpt>", b"", 2)
    call("POST", "/api/v1/patrols/gpx", town, data={"file": (io.BytesIO(broken), "broken.gpx")})  # 400 with the line
    call("POST", "/api/v1/patrols/gpx", town, data={"kind": "daily"})  # 422: no file
    call("GET", "/api/v1/patrols", town)
    call("GET", "/api/v1/patrols?flagged=1", city)
    call("GET", "/api/v1/patrols?limit=0", town)  # 422
    call("GET", f"/api/v1/patrols/{track['id']}", town)
    call("GET", "/api/v1/patrols/999999", town)  # 404
    call("GET", "/api/v1/patrol-tracks", city)
    call("GET", "/api/v1/patrol-tracks?bbox=9,9,1,1", city)  # 400
