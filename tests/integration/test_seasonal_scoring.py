"""Seasonal duty (第十三条) feeding the 履职 deductions (第二十一条): the duty sub-type on
patrol records, gaps charged as LZ02 / LZ03 to the assessed chief in the month the
window period ended, shown on the chief's page and in the 通报, carried into funding by
finalising the quarter; and inspections referencing a 路产 on their segments."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models import ChiefAssignment, Road, Segment, Town
from roadchief.models.inspections import Inspection
from roadchief.models.operations import RoadAsset
from roadchief.services import ServiceError, assessment, chief_scores, seasonal
from roadchief.services import inspections as service
from roadchief.services.funding_quarter import compute_quarter
from tests.conftest import login, make_user

XIAOBA = "640381100"
TODAY = date(2023, 1, 15)


def at(y, m, d, hour=10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=LOCAL_TZ)


def record(user, segments, kind, when, phase=None, **extra):
    from flask import current_app

    data = service.InspectionInput(
        kind=kind,
        segment_ids=[s.id for s in segments],
        inspected_at=when,
        duty_phase=phase,
        deadline=max(date(2022, 12, 31), when.date()),
        **extra,
    )
    return service.create_inspection(user, data, current_app.config["UPLOAD_DIR"])


def village_and_chief(day: date = date(2022, 7, 1)):
    """A village of 小坝镇 with listed 村道 segments and its 村级路长 on ``day`` (and through Q3 2022)."""
    town = db.session.scalar(select(Town).where(Town.code == XIAOBA))
    segment = db.session.scalars(
        select(Segment)
        .join(Road)
        .where(
            Segment.town_id == town.id,
            Segment.village_id.is_not(None),
            Segment.is_listed.is_(True),
            Road.road_class == "村道",
        )
        .order_by(Segment.id)
    ).first()
    segments = list(
        db.session.scalars(
            select(Segment)
            .join(Road)
            .where(
                Segment.village_id == segment.village_id,
                Segment.is_listed.is_(True),
                Road.road_class == "村道",
                Segment.town_id == town.id,
            )
            .order_by(Segment.id)
        )
    )
    chief = (
        db.session.scalars(
            select(ChiefAssignment).where(
                ChiefAssignment.scope_kind == "village",
                ChiefAssignment.village_id == segment.village_id,
                ChiefAssignment.start_date <= min(day, date(2022, 7, 1)),
                (ChiefAssignment.end_date.is_(None)) | (ChiefAssignment.end_date >= max(day, date(2022, 9, 30))),
            )
        )
        .first()
        .chief
    )
    return town, segment.village, segments, chief


def patrol_all(user, segments, kind, when, phase):
    for i in range(0, len(segments), service.MAX_SEGMENTS):
        record(user, segments[i : i + service.MAX_SEGMENTS], kind, when, phase)


def month_row(scope, chief_id, month, period="Q3"):
    rows = {r["chief_id"]: r for r in chief_scores.assess(scope, 2022, period, today=TODAY).rows()}
    return next((m for m in rows[chief_id]["months"] if m["month"] == month), None), rows[chief_id]


def test_flood_gap_costs_lz02_in_the_month_the_period_ended(demo_app):
    town, village, segments, chief = village_and_chief()
    city, office = make_user("city_office"), make_user("town_office", town=XIAOBA)
    scope = f"town:{XIAOBA}"
    # a clean 督查 in July: 100
    record(office, segments[:1], "supervision", at(2022, 7, 2))
    assert month_row(scope, chief.id, "2022-07")[0]["score"] == "100.00"

    # 汛期 window 07-04 … 07-17 in two 7-day periods; in period 2 only 雨前 and 雨后 recorded
    window = seasonal.add_window(2022, "flood", date(2022, 7, 4), date(2022, 7, 17), period_days=7, town=XIAOBA)
    for phase, day in (("雨前", 4), ("雨中", 5), ("雨后", 6)):
        patrol_all(city, segments, "flood", at(2022, 7, day), phase)
    patrol_all(city, segments, "flood", at(2022, 7, 12), "雨前")
    patrol_all(city, segments, "flood", at(2022, 7, 14), "雨后")

    july, row = month_row(scope, chief.id, "2022-07")
    assert july["score"] == "97.00" and july["duty"] == 1  # LZ02: 3 points, once for the period's missing 雨中
    assert "汛期第2期" in july["reasons"][0] and "缺雨中巡查" in july["reasons"][0]
    assert segments[0].road.code in july["reasons"][0]
    # the city's scope does not see the village chief's gap
    city_rows = {r["chief_id"] for r in chief_scores.assess("city", 2022, "Q3", today=TODAY).rows()}
    assert chief.id not in city_rows
    # the gap list names the same chief
    gaps = [g for g in seasonal.duty_gaps(city, window, today=TODAY) if g.segment.id == segments[0].id]
    assert [(g.number, g.missing, g.chief_id, g.scope) for g in gaps] == [(2, ["雨中"], chief.id, scope)]

    # the chief's page and the 通报 show the 履职 deduction with its reason
    client = demo_app.test_client()
    login(client, office)
    bulletin = assessment.bulletin(scope, 2022, 3, today=TODAY)
    assert any(
        d["chief"] == chief.name and "缺雨中巡查" in d["reason"] and d["code"] == "LZ02" for d in bulletin["duty"]
    )
    html = client.get(f"/inspections/scores/2022/3?scope={scope}").get_data(as_text=True)
    assert "汛期、冬季巡查未落实" in html
    import shutil
    import subprocess

    from roadchief.reports.bulletin_pdf import bulletin_pdf

    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=bulletin_pdf(bulletin), capture_output=True, check=True
        ).stdout.decode()
        assert "汛期、冬季巡查未落实" in text and "LZ02" in text and chief.name in text

    # a month whose only deduction is a duty gap is scored and still a coverage gap (no 督查)
    seasonal.add_window(2022, "flood", date(2022, 8, 1), date(2022, 8, 7), town=XIAOBA)
    august, row = month_row(scope, chief.id, "2022-08")
    # no record at all: 雨前、雨中、雨后 each once, 3 × 3 = 9 (under LZ02's cap of 9)
    assert august["score"] == "91.00" and august["inspections"] == 0 and "2022-08" in row["gaps"]
    assert len(august["reasons"]) == 3 and all("汛期第1期" in r for r in august["reasons"])

    # recording 雨中 in period 2 removes July's deduction
    patrol_all(city, segments, "flood", at(2022, 7, 13), "雨中")
    july, _ = month_row(scope, chief.id, "2022-07")
    assert july["score"] == "100.00" and july["duty"] == 0

    # finalising Q3 carries August's 91 into funding: (100 + 91) / 2 = 95.50 for the village unit
    unit = f"village:{village.code}"
    report = assessment.finalise_quarter([scope], 2022, 3, today=TODAY)
    assert report[scope]["written"][unit] == "95.50"
    funded = {u["unit_key"]: u for u in compute_quarter(2022, 3)["units"]}[unit]
    assert funded["score"] == "95.50" and not funded["provisional"]


def test_chief_page_lists_duty_deductions(demo_app):
    today = datetime.now(LOCAL_TZ).date()
    first, last = today - timedelta(days=20), today - timedelta(days=14)
    _town, _village, segments, chief = village_and_chief(last)
    city = make_user("city_office")
    seasonal.add_window(first.year, "flood", first, last, town=XIAOBA)
    patrol_all(city, segments, "flood", at(first.year, first.month, first.day), "雨前")
    patrol_all(city, segments, "flood", at(last.year, last.month, last.day), "雨后")
    history = assessment.chief_history(chief, (today.year, today.month), today=today)
    month = next(h for h in history if h["month"] == f"{last.year}-{last.month:02d}")
    assert month["score"] == "97.00" and [d["code"] for d in month["duty"]] == ["LZ02"]
    assert "缺雨中巡查" in month["duty"][0]["reason"]
    # the chief sees the reason on his own page
    client = demo_app.test_client()
    login(client, make_user("chief", chief_id=chief.id))
    page = client.get(f"/inspections/chiefs/{chief.id}").get_data(as_text=True)
    assert "履职扣分" in page and "缺雨中巡查" in page and "LZ02" in page


def test_winter_sanding_record_leaves_no_gap(demo_app):
    town, village, segments, chief = village_and_chief()
    city = make_user("city_office")
    window = seasonal.add_window(2022, "winter", date(2022, 12, 5), date(2022, 12, 11), town=XIAOBA)
    patrol_all(city, segments, "winter", at(2022, 12, 8), "撒砂")
    gaps = seasonal.duty_gaps(city, window, today=TODAY)
    assert not [g for g in gaps if g.segment.id in {s.id for s in segments}]
    assert gaps  # other villages of the town, without records, are missing 除雪或撒砂
    lines = seasonal.gap_lines(date(2022, 12, 1), date(2022, 12, 31), TODAY, scope=f"town:{XIAOBA}")
    assert lines and chief.id not in {line.chief_id for line in lines}
    assert all(line.missing == "除雪或撒砂" for line in lines)


def test_duty_phase_required_for_seasonal_kinds_only(demo_app):
    _town, _village, segments, _chief = village_and_chief()
    city = make_user("city_office")
    with pytest.raises(ServiceError, match="雨前、雨中、雨后"):
        record(city, segments[:1], "flood", at(2022, 7, 5))
    with pytest.raises(ServiceError, match="除雪、撒砂"):
        record(city, segments[:1], "winter", at(2022, 12, 5), "雨中")
    with pytest.raises(ServiceError, match="不填"):
        record(city, segments[:1], "daily", at(2022, 7, 5), "雨前")
    assert record(city, segments[:1], "winter", at(2022, 12, 5), "除雪").inspection.duty_phase == "除雪"
    # the database refuses a mismatched sub-type too
    inspection = db.session.scalar(select(Inspection).where(Inspection.duty_phase == "除雪"))
    inspection.duty_phase = "雨中"
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()

    # the field form: the kind's select carries the sub-type
    client = demo_app.test_client()
    login(client, city)
    html = client.get("/inspections/new").get_data(as_text=True)
    assert 'name="duty_phase_flood"' in html and 'name="duty_phase_winter"' in html and "<script>" not in html
    form = {
        "kind": "flood",
        "inspected_at": "2022-07-05T10:00",
        "segment_ids": [str(segments[0].id)],
        "duty_phase_winter": "除雪",
        "deadline": "2022-12-31",
    }
    response = client.post("/inspections/new", data=form)
    assert response.status_code == 400 and "雨前、雨中、雨后" in response.get_data(as_text=True)
    response = client.post("/inspections/new", data={**form, "duty_phase_flood": "雨中"})
    assert response.status_code == 302
    saved = db.session.scalar(select(Inspection).where(Inspection.kind == "flood"))
    assert saved.duty_phase == "雨中"
    assert "巡查类别" in client.get(f"/inspections/{saved.id}").get_data(as_text=True)


def _asset(segment: Segment, code: str) -> RoadAsset:
    coords = json.loads(segment.geometry)["coordinates"]
    while isinstance(coords[0][0], list):
        coords = coords[0]
    lon, lat = coords[0]
    asset = RoadAsset(
        code=code,
        segment_id=segment.id,
        kind="bridge",
        name=f"{code}桥",
        stake_m=segment.start_m,
        geometry=json.dumps({"type": "Point", "coordinates": [lon, lat]}),
        lon=lon,
        lat=lat,
    )
    db.session.add(asset)
    db.session.commit()
    return asset


def test_inspection_references_an_asset_on_its_segments(demo_app):
    _town, _village, segments, _chief = village_and_chief()
    other = db.session.scalars(
        select(Segment).where(Segment.id.not_in([s.id for s in segments])).order_by(Segment.id)
    ).first()
    here, there = _asset(segments[0], "QL-T01"), _asset(other, "QL-T02")
    city = make_user("city_office")
    with pytest.raises(ServiceError, match="不在本次检查的路段上"):
        record(city, segments[:1], "special", at(2022, 7, 5), asset_ids=[there.id])
    with pytest.raises(ServiceError, match="路产不存在"):
        record(city, segments[:1], "special", at(2022, 7, 5), asset_ids=[999999])
    recorded = record(city, segments[:1], "special", at(2022, 7, 5), asset_ids=[here.id])
    assert [a.asset_id for a in recorded.inspection.assets] == [here.id]
    from roadchief.services.assets import inspections_of_asset

    assert [i.id for i in inspections_of_asset(here)] == [recorded.inspection.id]

    # the field form: the select lists the chosen segment's assets; the JSON feeds inspect.js
    client = demo_app.test_client()
    login(client, city)
    html = client.get(f"/inspections/new?segment_id={segments[0].id}").get_data(as_text=True)
    assert "QL-T01" in html and "QL-T02" not in html
    data = client.get(f"/inspections/assets?segment_id={segments[0].id}").get_json()
    assert [a["code"] for a in data["assets"]] == ["QL-T01"]
    form = {
        "kind": "special",
        "inspected_at": "2022-07-06T10:00",
        "segment_ids": [str(segments[0].id)],
        "asset_ids": str(there.id),
        "deadline": "2022-12-31",
    }
    response = client.post("/inspections/new", data=form)
    assert response.status_code == 400 and "不在本次检查的路段上" in response.get_data(as_text=True)
    response = client.post("/inspections/new", data={**form, "asset_ids": str(here.id)})
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "QL-T01" in detail


def test_patrol_records_through_the_api_carry_their_duty_phase(demo_client):
    from roadchief.services.accounts import create_token

    town, village, segments, chief = village_and_chief()
    token = create_token(make_user("town_office", town=XIAOBA).username)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"kind": "flood", "segment_ids": [segments[0].id], "inspected_at": "2022-07-05T10:00:00+08:00"}
    refused = demo_client.post("/api/v1/inspections", json=body, headers=headers)
    assert refused.status_code == 400 and "雨前" in refused.get_json()["error"]
    created = demo_client.post("/api/v1/inspections", json={**body, "duty_phase": "雨中"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    stored = db.session.get(Inspection, created.get_json()["id"])
    assert stored.duty_phase == "雨中"
