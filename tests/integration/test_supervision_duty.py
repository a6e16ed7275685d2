"""一月一督查 and proof of patrol (第二十一条): a month whose only 督查 are desk-inspection
suspects (案头检查嫌疑) is listed as a gap of its own kind; its score is unchanged."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app

from roadchief.domain.patrol_proof import DESK_ONLY_LABEL
from roadchief.domain.scoring import LOCAL_TZ
from roadchief.services import assessment, patrol_rules
from roadchief.services import inspections as service
from tests.conftest import login, make_user
from tests.integration.test_patrols import coords, long_segment, point_km_away


def supervise(user, segment, lon: float, lat: float, day: int):
    return service.create_inspection(
        user,
        service.InspectionInput(
            kind="supervision",
            segment_ids=[segment.id],
            inspected_at=datetime(2022, 7, day, 10, tzinfo=LOCAL_TZ),
            lon=lon,
            lat=lat,
            deadline=date(2022, 7, day + 7),
        ),
        current_app.config["UPLOAD_DIR"],
    ).inspection


def row_of(inspection):
    chief_id = next(s.chief_id for s in inspection.segments if s.chief_id is not None)
    result = assessment.assess(inspection.office_key, 2022, "Q3", today=date(2022, 12, 31))
    return next(r for r in result.rows() if r["chief_id"] == chief_id)


def test_an_on_site_supervision_meets_the_month(demo_app):
    segment, city = long_segment(), make_user("city_office")
    lon, lat = coords(segment)[0]
    row = row_of(supervise(city, segment, lon, lat, 6))
    july = next(m for m in row["months"] if m["month"] == "2022-07")
    assert july["inspections"] == 1
    assert "2022-07" not in row["gaps"] and row["desk_gaps"] == []


def test_a_supervision_5_km_away_is_a_gap_of_its_own_and_keeps_its_score(demo_app):
    segment, city = long_segment(), make_user("city_office")
    far = supervise(city, segment, *point_km_away(segment, 5), 6)
    row = row_of(far)
    july = next(m for m in row["months"] if m["month"] == "2022-07")
    assert row["desk_gaps"] == ["2022-07"]
    assert "2022-07" not in row["gaps"]  # a 督查 happened: not "无督查"
    # the 通报 lists the month with its label and counts the chief
    data = assessment.bulletin(far.office_key, 2022, 3, today=date(2022, 12, 31))
    gap = next(g for g in data["gaps"] if g["chief"] == row["chief"])
    assert gap["desk_months"] == ["2022-07"]
    desk_lines = [line for line in data["requirements"] if DESK_ONLY_LABEL in line]
    assert len(desk_lines) == 1 and desk_lines[0].startswith(
        f"{sum(1 for g in data['gaps'] if g['desk_months'])} 名路长"
    )
    # the chief's history marks the month, still scored
    from roadchief.extensions import db
    from roadchief.models import Chief

    chief = db.session.get(Chief, row["chief_id"])
    history = assessment.chief_history(chief, (2022, 9), today=date(2022, 12, 31))
    marked = next(h for h in history if h["month"] == "2022-07")
    assert marked["desk_only"] is True and marked["score"] == july["score"]

    # with a desk distance beyond 5 km the 督查 is no suspect: the gap goes, the score stays
    patrol_rules.set_rules(2022, {"desk_distance_m": "8000"}, by="test")
    again = row_of(far)
    assert again["desk_gaps"] == []
    assert next(m for m in again["months"] if m["month"] == "2022-07")["score"] == july["score"]
    assert again["score"] == row["score"]


def test_an_on_site_supervision_in_the_month_clears_the_desk_gap(demo_app):
    segment, city = long_segment(), make_user("city_office")
    supervise(city, segment, *point_km_away(segment, 5), 6)
    lon, lat = coords(segment)[0]
    row = row_of(supervise(city, segment, lon, lat, 7))
    assert row["desk_gaps"] == []


def test_the_bulletin_page_shows_the_label(demo_app):
    segment, city = long_segment(), make_user("city_office")
    far = supervise(city, segment, *point_km_away(segment, 5), 6)
    client = current_app.test_client()
    login(client, city)
    page = client.get(f"/inspections/scores/2022/3?scope={far.office_key}").get_data(as_text=True)
    assert DESK_ONLY_LABEL in page
    from io import BytesIO

    from openpyxl import load_workbook

    xlsx = client.get(f"/inspections/scores/2022/3/bulletin.xlsx?scope={far.office_key}")
    assert xlsx.status_code == 200
    cells = [
        str(c) for sheet in load_workbook(BytesIO(xlsx.data)) for row in sheet.iter_rows(values_only=True) for c in row
    ]
    assert any("2022-07" in c and DESK_ONLY_LABEL in c for c in cells)
