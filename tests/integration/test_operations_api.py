"""Operations, second part: the events API for a mobile app (第十四条 through JSON), manual
road-asset entry (第十一条) and the plan-vs-done export (第七条) as XLSX, PDF and CLI."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from roadchief.domain.clock import beijing_today
from roadchief.extensions import db
from roadchief.models import Segment, Town, Village
from roadchief.models.audit import AuditEntry
from roadchief.models.operations import RoadAsset, RoadEvent
from roadchief.services.accounts import create_token
from tests.conftest import PASSWORD, login, make_user

TOWN = "640381100"
OTHER_TOWN = "640381101"


def _segment(town_code: str = TOWN) -> Segment:
    town = db.session.scalar(select(Town).where(Town.code == town_code))
    return db.session.scalar(
        select(Segment)
        .join(Village, Segment.village_id == Village.id)
        .where(Segment.town_id == town.id)
        .order_by(Segment.id)
    )


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_token(user.username)}"}


def _stake(metres: int) -> str:
    return f"K{metres // 1000}+{metres % 1000:03d}"


def _png() -> io.BytesIO:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (40, 120, 200)).save(out, "PNG")
    out.seek(0)
    return out


# ------------------------------------------------------------------ events API


def test_events_api_story(demo_app):
    segment = _segment()
    office = make_user("town_office", town=TOWN)
    headers = _bearer(office)
    client = demo_app.test_client()
    occurred = (datetime.now(UTC) - timedelta(hours=10)).replace(microsecond=0)
    body = {
        "segment_id": segment.id,
        "kind": "landslide",
        "severity": "major",
        "occurred_at": occurred.isoformat(),
        "closed": True,
        "stake": _stake(segment.start_m),
        "description": "山体塌方堵路",
    }

    # anonymous: 401, nothing saved
    assert client.post("/api/v1/events", json=body).status_code == 401

    # 中断 without warning sign and detour: 422 with the rule in Chinese, nothing saved
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert "警示标志" in response.get_json()["error"] and "绕行路线" in response.get_json()["error"]
    response = client.post("/api/v1/events", json={**body, "warning_sign": "两端设警示牌"}, headers=headers)
    assert response.status_code == 422 and "绕行路线" in response.get_json()["error"]
    assert db.session.scalar(select(RoadEvent.id)) is None

    # a malformed detour line is refused too
    response = client.post(
        "/api/v1/events",
        json={**body, "warning_sign": "两端设警示牌", "detour_geometry": {"type": "Point", "coordinates": [106, 38]}},
        headers=headers,
    )
    assert response.status_code == 422 and "LineString" in response.get_json()["error"]

    detour = {"type": "LineString", "coordinates": [[106.0, 38.0], [106.01, 38.005], [106.02, 38.01]]}
    response = client.post(
        "/api/v1/events",
        json={
            **body,
            "warning_sign": "两端设“前方塌方”警示牌",
            "detour_geometry": detour,
            "detour_road": segment.road.code.lower(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["state"] == "reported" and created["interrupted"] is True
    assert created["detour_geometry"] == detour and created["detour_road"] == segment.road.code
    assert created["stake"] == _stake(segment.start_m)
    event_id = created["id"]
    assert client.get(f"/api/v1/events/{event_id}", headers=headers).get_json()["warning_sign"].startswith("两端")

    # 修复 before 抢通: 409 with the rule
    response = client.post(f"/api/v1/events/{event_id}/repair", json={"note": "想直接修复"}, headers=headers)
    assert response.status_code == 409 and "先抢通" in response.get_json()["error"]

    # another town's office: 403 on every step, and cannot record on this segment
    stranger = _bearer(make_user("town_office", town=OTHER_TOWN))
    assert client.post(f"/api/v1/events/{event_id}/restore", json={}, headers=stranger).status_code == 403
    assert (
        client.post("/api/v1/events", json={**body, "warning_sign": "x", "detour": "y"}, headers=stranger).status_code
        == 403
    )
    # finance may not record at all; an inspector records but does not restore
    assert client.post("/api/v1/events", json=body, headers=_bearer(make_user("finance"))).status_code == 403
    assert (
        client.post(f"/api/v1/events/{event_id}/restore", json={}, headers=_bearer(make_user("inspector"))).status_code
        == 403
    )
    # anonymous steps: 401
    assert client.post(f"/api/v1/events/{event_id}/restore", json={}).status_code == 401

    # a time before the event is refused; then 抢通 and 修复
    response = client.post(
        f"/api/v1/events/{event_id}/restore", json={"at": (occurred - timedelta(hours=1)).isoformat()}, headers=headers
    )
    assert response.status_code == 409 and "早于发生时间" in response.get_json()["error"]
    response = client.post(
        f"/api/v1/events/{event_id}/restore",
        json={"at": (occurred + timedelta(hours=4)).isoformat(), "note": "单车道放行"},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "restored" and response.get_json()["hours_to_restore"] == 4.0
    response = client.post(f"/api/v1/events/{event_id}/restore", json={}, headers=headers)
    assert response.status_code == 409 and "已抢通" in response.get_json()["error"]
    response = client.post(f"/api/v1/events/{event_id}/repair", json={"note": "路基恢复"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["state"] == "repaired"
    db.session.expire_all()
    event = db.session.get(RoadEvent, event_id)
    assert event.repair_note == "路基恢复" and event.restore_note == "单车道放行"

    # the API rejects unknown kinds and out-of-range times before anything else
    assert client.post("/api/v1/events", json={**body, "kind": "meteor"}, headers=headers).status_code == 422
    response = client.post("/api/v1/events", json={**body, "occurred_at": "1900-01-01T00:00:00+08:00"}, headers=headers)
    assert response.status_code == 422
    response = client.post("/api/v1/events", json={**body, "closed": False, "segment_id": 2**31 - 1}, headers=headers)
    assert response.status_code == 422 and "路段不存在" in response.get_json()["error"]
    assert client.post("/api/v1/events/999999/restore", json={}, headers=headers).status_code == 404


def test_events_api_cookie_session_needs_csrf(demo_app_with):
    app = demo_app_with(WTF_CSRF_ENABLED=True)
    segment = _segment()
    client = app.test_client()
    user = make_user("town_office", town=TOWN)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert (
        client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}).status_code
        == 302
    )
    # the test's app context is shared by the client's requests, and Flask-WTF caches the token of
    # the login page (a session since cleared) in ``g``: drop it so the next page issues a fresh one
    from flask import g

    g.pop("csrf_token", None)
    page = client.get("/ops/events/new").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    body = {
        "segment_id": segment.id,
        "kind": "other",
        "severity": "minor",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    assert client.post("/api/v1/events", json=body).status_code == 400
    response = client.post("/api/v1/events", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_openapi_documents_the_event_operations(demo_client):
    spec = demo_client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/events"]
    for action in ("restore", "repair"):
        operation = spec["paths"][f"/api/v1/events/{{event_id}}/{action}"]["post"]
        assert "409" in operation["responses"] and "403" in operation["responses"]


# ------------------------------------------------------------------ the web form with a drawn detour


def test_event_form_with_segment_picker_and_drawn_detour(demo_app):
    segment = _segment()
    client = demo_app.test_client()
    login(client, make_user("town_office", town=TOWN))
    page = client.get("/ops/events/new").get_data(as_text=True)
    assert f'<option value="{segment.id}"' in page and 'data-detour-map="edit"' in page and "js/detour." in page
    other = _segment(OTHER_TOWN)
    assert f'<option value="{other.id}"' not in page
    assert client.get(f"/ops/segments/{segment.id}.json").get_json()["geometry"]["type"] in (
        "LineString",
        "MultiLineString",
    )
    assert client.get(f"/ops/segments/{other.id}.json").status_code == 403

    line = {"type": "LineString", "coordinates": [[106.0, 38.0], [106.01, 38.01]]}
    response = client.post(
        "/ops/events/new",
        data={
            "segment_id": segment.id,
            "kind": "flood_damage",
            "severity": "severe",
            "closed": "1",
            "occurred_at": datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M"),
            "warning_sign": "设置警示牌",
            "detour_geometry": json.dumps(line),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    event = db.session.scalar(select(RoadEvent))
    detail = client.get(f"/ops/events/{event.id}").get_data(as_text=True)
    assert 'data-detour-map="view"' in detail and "106.01" in detail
    # the attribute holds the segment feature as JSON, autoescaped and parseable
    assert "data-segment='{" in detail


# ------------------------------------------------------------------ assets


def test_asset_manual_entry_and_editing(demo_app):
    segment = _segment()
    other = _segment(OTHER_TOWN)
    office = make_user("town_office", town=TOWN)
    client = demo_app.test_client()
    login(client, office)
    assert client.get("/ops/assets/new").status_code == 200
    middle = (segment.start_m + segment.end_m) // 2
    form = {
        "kind": "sign",
        "code": "BZ-0001",
        "name": "限速标志",
        "segment_id": segment.id,
        "stake": _stake(middle),
        "condition": "good",
        "quantity": "2",
        "position": "stake",
    }

    # stake outside the segment, missing stake at-the-stake, bad lon/lat, out-of-scope segment: refused, nothing saved
    response = client.post("/ops/assets/new", data={**form, "stake": _stake(segment.end_m + 1000)})
    assert response.status_code == 400 and "不在该路段" in response.get_data(as_text=True)
    response = client.post("/ops/assets/new", data={**form, "stake": "K1+2x"})
    assert response.status_code == 400 and "桩号格式不正确" in response.get_data(as_text=True)
    response = client.post("/ops/assets/new", data={**form, "stake": ""})
    assert response.status_code == 400 and "请填写桩号" in response.get_data(as_text=True)
    response = client.post("/ops/assets/new", data={**form, "position": "point", "lon": "120", "lat": "30"})
    assert response.status_code == 400 and "不在青铜峡市范围内" in response.get_data(as_text=True)
    response = client.post("/ops/assets/new", data={**form, "segment_id": other.id})
    assert response.status_code == 400 and "管辖范围" in response.get_data(as_text=True)
    response = client.post("/ops/assets/new", data={**form, "kind": "ufo"})
    assert response.status_code == 400 and "路产类型" in response.get_data(as_text=True)
    response = client.post("/ops/assets/new", data={**form, "quantity": "0"})
    assert response.status_code == 400
    assert db.session.scalar(select(RoadAsset.id)) is None

    # at the stake: the point is interpolated along the segment geometry
    response = client.post(
        "/ops/assets/new", data={**form, "photos": (_png(), "sign.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    asset = db.session.scalar(select(RoadAsset).where(RoadAsset.code == "BZ-0001"))
    from roadchief.services.event_views import point_at_stake

    assert (asset.lon, asset.lat) == point_at_stake(segment, middle)
    assert json.loads(asset.geometry) == {"type": "Point", "coordinates": [asset.lon, asset.lat]}
    assert asset.stake_m == middle and asset.quantity == 2 and len(asset.photos) == 1
    created = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "road_asset")).all()
    assert [e.action for e in created] == ["create"] and created[0].user_id == office.id

    # a duplicate code is refused
    response = client.post("/ops/assets/new", data={**form, "name": "另一块"})
    assert response.status_code == 400 and "已被其他路产使用" in response.get_data(as_text=True)

    # editing: page prefilled; a lon/lat point; audited with before and after
    page = client.get(f"/ops/assets/{asset.id}/edit").get_data(as_text=True)
    assert 'value="BZ-0001"' in page and 'value="keep" checked' in page
    response = client.post(
        f"/ops/assets/{asset.id}/edit",
        data={**form, "condition": "poor", "position": "point", "lon": "106.05", "lat": "38.02", "note": "被撞弯"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    db.session.expire_all()
    asset = db.session.get(RoadAsset, asset.id)
    assert (asset.condition, asset.lon, asset.lat, asset.note) == ("poor", 106.05, 38.02, "被撞弯")
    update = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "road_asset", AuditEntry.action == "update")
    ).all()
    assert update and '"poor"' in update[-1].after and '"good"' in update[-1].before
    # "keep" leaves the position alone
    client.post(f"/ops/assets/{asset.id}/edit", data={**form, "position": "keep", "name": "限速 40"})
    db.session.expire_all()
    assert (db.session.get(RoadAsset, asset.id).lon, db.session.get(RoadAsset, asset.id).name) == (106.05, "限速 40")
    assert "修改" in client.get(f"/ops/assets/{asset.id}").get_data(as_text=True)

    # another town's office, the finance office, a chief: no editing
    stranger = demo_app.test_client()
    login(stranger, make_user("town_office", town=OTHER_TOWN))
    assert stranger.get(f"/ops/assets/{asset.id}/edit").status_code == 403
    assert stranger.post(f"/ops/assets/{asset.id}/edit", data=form).status_code == 403
    finance = demo_app.test_client()
    login(finance, make_user("finance"))
    assert finance.get("/ops/assets/new").status_code == 403


# ------------------------------------------------------------------ plan vs done export


def _plan(year: int):
    from roadchief.services import works_plan

    first, second = _segment(), _segment(OTHER_TOWN)
    a = works_plan.add_item(year, first.id, "repair", "坑槽修补", "平方米", 200, "12345.67")
    works_plan.add_item(year, first.id, "preventive", "灌缝", "米", 500, "0.10")
    c = works_plan.add_item(year, second.id, "emergency", "水毁抢修", "处", 3, "8000.05")
    works_plan.record_progress(a, date(year, 5, 1), 200, "12000.01")
    works_plan.record_progress(c, date(year, 6, 1), 1, "2500.33")
    works_plan.record_progress(c, date(year, 6, 2), 1, "0.01")
    return first.town.name, second.town.name


def _yuan(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_plan_export_xlsx_pdf_and_cli(demo_app, tmp_path):
    from openpyxl import load_workbook

    year = beijing_today().year
    first_town, second_town = _plan(year)
    client = demo_app.test_client()
    login(client, make_user("city_office"))

    response = client.get(f"/ops/plan.xlsx?year={year}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data))["按乡镇"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    towns = [r for r in rows if r[0] not in ("合计", None)]
    total = next(r for r in rows if r[0] == "合计")
    assert {r[0] for r in towns} == {first_town, second_town}
    for column in (6, 7):  # budget, spent: the total is the sum of the printed rows to the fen
        assert _yuan(total[column]) == sum(_yuan(r[column]) for r in towns)
    assert _yuan(total[6]) == Decimal("20345.82") and _yuan(total[7]) == Decimal("14500.35")
    assert total[1] == 3 and total[2] == 1 and total[3] == "33.3%"
    first = next(r for r in towns if r[0] == first_town)
    assert first[4] == "200 平方米；500 米" and first[5] == "200 平方米；0 米" and first[3] == "50%"
    assert sheet["G5"].number_format == "#,##0.00"
    assert load_workbook(io.BytesIO(response.data))["计划项目"].max_row == 4

    response = client.get(f"/ops/plan.pdf?year={year}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert f"{year} 年度农村公路养护计划完成情况" in text
    assert first_town in text and second_town in text and "合计" in text
    assert "20345.82" in text and "14500.35" in text
    (tmp_path / "web.pdf").write_bytes(response.data)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "web.pdf")], capture_output=True, check=True).stdout.decode()
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # the CJK font is embedded

    # a town office exports only its own town; finance may export; a chief may not
    town_client = demo_app.test_client()
    login(town_client, make_user("town_office", town=TOWN))
    sheet = load_workbook(io.BytesIO(town_client.get(f"/ops/plan.xlsx?year={year}").data))["按乡镇"]
    assert [r[0].value for r in sheet.iter_rows(min_row=4)] == [first_town, "合计"]
    chief_client = demo_app.test_client()
    from roadchief.models import ChiefAssignment

    chief = db.session.scalar(select(ChiefAssignment).where(ChiefAssignment.end_date.is_(None))).chief
    login(chief_client, make_user("chief", chief_id=chief.id))
    assert chief_client.get(f"/ops/plan.pdf?year={year}").status_code == 403

    # the command line
    from roadchief.cli import main

    pdf, xlsx = tmp_path / "plan.pdf", tmp_path / "plan.xlsx"
    result = demo_app.test_cli_runner().invoke(
        main, ["ops", "plan-report", str(year), "--pdf", str(pdf), "--xlsx", str(xlsx)]
    )
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    cli_total = next(r for r in load_workbook(xlsx)["按乡镇"].iter_rows(min_row=4, values_only=True) if r[0] == "合计")
    assert _yuan(cli_total[6]) == Decimal("20345.82")
    result = demo_app.test_cli_runner().invoke(main, ["ops", "plan-report", str(year)])
    assert result.exit_code == 0 and "合计" in result.output and "20345.82" in result.output
