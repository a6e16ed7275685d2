"""Inspections on the demo network: the field form, rectifications (complete / return /
verify / overdue), GPS distance, photos, scores per scope, the 通报 PDF, finalising
into the funding module, the API and the CLI."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models import AuditEntry, Chief, ChiefAssignment, QuarterScore, Segment, Town, Village
from roadchief.models.inspections import Inspection, InspectionPhoto
from roadchief.services import (
    ServiceError,
    assessment,
    chief_scores,
    deduction_catalog,
    inspection_scope,
    inspection_segments,
    rectifications,
)
from roadchief.services import inspections as service
from roadchief.services.funding_quarter import compute_quarter
from tests.conftest import login, make_user

XIAOBA, DABA, QUJING = "640381100", "640381101", "640381104"


# ------------------------------------------------------------------ helpers


def heavy_findings(segment_id: int) -> list[tuple[str, int, int]]:
    """Findings hitting every category's cap: one such 督查 costs 69 points (see the floor test)."""
    codes = ("LM04", "LM01", "LM03", "LJ04", "LJ03", "QH04", "QH01", "YX02", "YX04", "LR05", "LR06", "LZ04", "LZ01")
    return [(code, 5000 if code == "LM01" else 9, segment_id) for code in codes]


def image_bytes(fmt="JPEG", size=(64, 48), taken: str | None = None) -> bytes:
    image = Image.new("RGB", size, (120, 160, 90))
    out = io.BytesIO()
    if taken:
        exif = Image.Exif()
        exif[306] = taken  # DateTime
        exif.get_ifd(0x8769)[36867] = taken  # DateTimeOriginal
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def upload(data: bytes, name="photo.jpg") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


def town_id(code: str) -> int:
    return db.session.scalar(select(Town.id).where(Town.code == code))


def village_segment(town_code: str, village_name: str | None = None, index: int = 0) -> Segment:
    query = (
        select(Segment)
        .join(Village, Segment.village_id == Village.id)
        .where(Segment.town_id == town_id(town_code))
        .order_by(Segment.id)
    )
    if village_name:
        query = query.where(Village.name == village_name)
    return db.session.scalars(query).all()[index]


def first_point(segment: Segment) -> tuple[float, float]:
    geometry = json.loads(segment.geometry)
    coords = geometry["coordinates"]
    while isinstance(coords[0][0], list):
        coords = coords[0]
    return coords[0][0], coords[0][1]


def chief_of(kind: str, target_id: int, day: date) -> Chief:
    column = {"town": ChiefAssignment.town_id, "village": ChiefAssignment.village_id}[kind]
    return (
        db.session.scalars(
            select(ChiefAssignment).where(
                ChiefAssignment.scope_kind == kind,
                column == target_id,
                ChiefAssignment.start_date <= day,
                (ChiefAssignment.end_date.is_(None)) | (ChiefAssignment.end_date >= day),
            )
        )
        .first()
        .chief
    )


def at(y, m, d, hour=10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=LOCAL_TZ)


def record(user, segments, findings=(), when=None, kind="supervision", **extra):
    """An inspection through the service; the deadline defaults to the year's end so that no
    整改逾期 mixes into a test that is not about it."""
    extra.setdefault("deadline", date(2022, 12, 31))
    data = service.InspectionInput(
        kind=kind,
        segment_ids=[s.id for s in segments],
        inspected_at=when,
        findings=[service.FindingInput(*f) if isinstance(f, tuple) else f for f in findings],
        **extra,
    )
    from flask import current_app

    return service.create_inspection(user, data, current_app.config["UPLOAD_DIR"])


def rows_by_chief(scope, year, period, today=date(2023, 1, 15)):
    return {r["chief_id"]: r for r in chief_scores.assess(scope, year, period, today=today).rows()}


# ------------------------------------------------------------------ the whole path on the web (the "done when")


def test_office_inspects_chief_rectifies_office_verifies_bulletin_and_funding(demo_app, tmp_path):
    office, chief_client = demo_app.test_client(), demo_app.test_client()
    city = make_user("city_office")
    login(office, city)
    segment = village_segment(XIAOBA)
    other = village_segment(XIAOBA, index=3)
    lon, lat = first_point(segment)

    page = office.get("/inspections/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="client_uuid"' in html and "js/inspect." in html and 'capture="environment"' in html
    assert "<script>" not in html  # CSP: no inline script

    nearest = office.get(f"/inspections/nearest?lon={lon}&lat={lat}").get_json()["segments"]
    assert nearest[0]["id"] == segment.id and nearest[0]["distance_m"] == 0 and not nearest[0]["far"]

    # today, so that the chief answers before the deadline, as in the field
    now = datetime.now(LOCAL_TZ).replace(second=0, microsecond=0) - timedelta(minutes=5)
    year, quarter, deadline = now.year, (now.month - 1) // 3 + 1, now.date() + timedelta(days=10)
    client_uuid = str(uuid.uuid4())
    form = {
        "client_uuid": client_uuid,
        "kind": "supervision",
        "inspected_at": now.strftime("%Y-%m-%dT%H:%M"),
        "segment_ids": [str(segment.id), str(other.id)],
        "lon": str(lon),
        "lat": str(lat),
        "deadline": deadline.isoformat(),
        "f-0-item": "LM04",
        "f-0-quantity": "2",
        "f-0-segment": str(segment.id),
        "f-0-note": "K0+300 坑槽",
        "f-0-photos": (io.BytesIO(image_bytes(taken=now.strftime("%Y:%m:%d %H:%M:%S"))), "IMG_0001.jpg"),
        "f-1-item": "LR05",
        "f-1-quantity": "1",
        "f-1-segment": str(other.id),
        "f-2-item": "",
        "f-2-quantity": "1",  # an untouched blank row
    }
    response = office.post("/inspections/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    inspection = db.session.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid))
    assert [f.item.code for f in inspection.findings] == ["LM04", "LR05"]
    assert inspection.office_key == "city" and inspection.catalog.is_example

    # the photo: decoded, EXIF time kept, stored outside the web root under a generated name, with a thumbnail
    photo = inspection.findings[0].photos[0]
    assert photo.taken_at == now.replace(tzinfo=None)
    upload_dir = Path(demo_app.config["UPLOAD_DIR"])
    assert (upload_dir / photo.path).is_file() and (upload_dir / photo.thumb_path).is_file()
    assert "IMG_0001" not in photo.path and "static" not in str(upload_dir)
    assert office.get(f"/inspections/photos/{photo.id}/thumb").mimetype == "image/jpeg"

    # a re-submit after a dropped connection returns the same record
    form["f-0-photos"] = (io.BytesIO(image_bytes()), "IMG_0001.jpg")
    again = office.post(
        "/inspections/new", data=form, content_type="multipart/form-data", headers={"X-Requested-With": "fetch"}
    )
    assert again.get_json()["id"] == inspection.id and again.get_json()["created"] is False
    assert db.session.scalar(select(func.count(Inspection.id))) == 1

    # the 镇级路长 of 小坝镇 on that day answers for both findings
    town_chief = chief_of("town", town_id(XIAOBA), now.date())
    rects = [f.rectification for f in inspection.findings]
    assert {r.chief_id for r in rects} == {town_chief.id} and {r.deadline for r in rects} == {deadline}

    chief_user = make_user("chief", chief_id=town_chief.id)
    login(chief_client, chief_user)
    mine = chief_client.get(f"/inspections/chiefs/{town_chief.id}").get_data(as_text=True)
    assert "路面坑槽" in mine and "提交整改完成" in mine and "<svg" in mine
    rect = rects[0]
    url = f"/inspections/rectifications/{rect.id}"
    # no after-photo: refused, still open
    chief_client.post(url, data={"action": "complete", "note": "已修补"})
    db.session.refresh(rect)
    assert rect.state == "open"
    # the office cannot complete, the chief cannot verify
    assert office.post(url, data={"action": "complete", "note": "x"}).status_code == 403
    done = {"action": "complete", "note": "已修补 2 处", "photo": (io.BytesIO(image_bytes()), "after.jpg")}
    chief_client.post(url, data=done, content_type="multipart/form-data")
    db.session.refresh(rect)
    assert rect.state == "done" and len(rect.photos) == 1
    assert chief_client.post(url, data={"action": "verify"}).status_code == 403
    # sent back with a note, answered again, verified
    office.post(url, data={"action": "return", "note": "边缘未压实"})
    db.session.refresh(rect)
    assert rect.state == "open" and rect.returned_count == 1 and rect.office_note == "边缘未压实"
    done["photo"] = (io.BytesIO(image_bytes()), "after2.jpg")
    chief_client.post(url, data=done, content_type="multipart/form-data")
    office.post(url, data={"action": "verify"})
    db.session.refresh(rect)
    assert rect.state == "verified" and [e.action for e in rect.events] == ["complete", "return", "complete", "verify"]

    # the quarter's 通报 ranks the town chief: 100 − 2 (pits) − 1 (pile) = 97.00, 优
    page = office.get(f"/inspections/scores/{year}/{quarter}").get_data(as_text=True)
    assert town_chief.name in page and "97.00" in page
    pdf = office.get(f"/inspections/scores/{year}/{quarter}/bulletin.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        path = tmp_path / "bulletin.pdf"
        path.write_bytes(pdf.data)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
        assert "二、考核排名" in text and town_chief.name in text and "97.00" in text and "四、下步工作要求" in text
    xlsx = office.get(f"/inspections/scores/{year}/{quarter}/bulletin.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert any(r[3] == town_chief.name and r[5] == Decimal("97.00") for r in values[2:])

    # finalising writes the score into the funding quarter and changes what is payable
    before = {u["unit_key"]: u for u in compute_quarter(year, quarter)["units"]}[f"town:{XIAOBA}"]
    assert before["provisional"]
    response = office.post(f"/inspections/scores/{year}/{quarter}/finalise", data={"scope": "city"})
    assert response.status_code == 302
    after = {u["unit_key"]: u for u in compute_quarter(year, quarter)["units"]}[f"town:{XIAOBA}"]
    assert after["score"] == "97.00" and not after["provisional"] and after["payable"] != before["payable"]
    score = db.session.scalar(select(QuarterScore).where(QuarterScore.unit_key == f"town:{XIAOBA}"))
    assert score.source == "inspection" and score.chief_id == town_chief.id
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "quarter_finalisation"))
    db.session.refresh(inspection)
    assert inspection.frozen
    # a frozen quarter takes no new 督查; a change is a recorded correction
    with pytest.raises(ServiceError, match="已定稿"):
        record(city, [segment], when=now - timedelta(minutes=1))
    finding = inspection.findings[1]
    office.post(
        f"/inspections/{inspection.id}/correct", data={"finding_id": finding.id, "quantity": "0", "reason": "误判"}
    )
    db.session.refresh(finding)
    assert finding.quantity == 0
    assessment.finalise_quarter(["city"], year, quarter)
    score = db.session.scalar(select(QuarterScore).where(QuarterScore.unit_key == f"town:{XIAOBA}"))
    assert score.source == "correction" and score.score_centi == 9800


# ------------------------------------------------------------------ scoring from hand-made inspections


def test_scores_caps_floor_multiple_segments_replacement_and_gaps(demo_app):
    office = make_user("town_office", town=QUJING)
    old_seg = village_segment(QUJING, "蒋西村")
    other = village_segment(QUJING, "蒋东村")
    old_chief = chief_of("village", old_seg.village_id, date(2022, 5, 10))
    new_chief = chief_of("village", old_seg.village_id, date(2022, 5, 20))
    other_chief = chief_of("village", other.village_id, date(2022, 5, 10))
    assert old_chief.id != new_chief.id  # the demo roster replaces 蒋西村's chief on 2022-05-16

    # before the handover: one inspection over two villages, each chief capped apart
    # LM04 pits: 9 × 1 = 9 → item cap 6; LM01 dirt: 1250 m → 13 × 0.5 = 6.5 → cap 5; category cap 15 → 11
    record(
        office,
        [old_seg, other],
        [("LM04", 9, old_seg.id), ("LM01", 1250, old_seg.id), ("YX02", 2, other.id)],
        when=at(2022, 5, 10),
    )
    # after the handover, on the same segment: the new chief
    record(office, [old_seg], [("QH04", 1)], when=at(2022, 5, 20))
    # April: a clean 督查 of the old chief
    record(office, [old_seg], [], when=at(2022, 4, 8))
    rows = rows_by_chief(f"town:{QUJING}", 2022, "Q2")
    old, new, oth = rows[old_chief.id], rows[new_chief.id], rows[other_chief.id]
    assert [(m["month"], m["score"]) for m in old["months"]] == [("2022-04", "100.00"), ("2022-05", "89.00")]
    assert old["score"] == "94.50" and old["grade"] == "优" and old["gaps"] == []
    assert new["months"][0]["score"] == "98.00" and new["gaps"] == ["2022-06"]  # June: no 督查 → gap, not 100
    assert oth["score"] == "98.00" and oth["gaps"] == ["2022-04", "2022-06"]
    never = [r for r in rows.values() if r["score"] is None]
    assert never and all(len(r["gaps"]) == 3 for r in never)

    # floor: two heavy 督查 in one month take the chief to 0, not below
    # (each category capped: 15 + 10 + 10 + 8 + 10 + 16 = 69 points per inspection, twice = 138)
    heavy = heavy_findings(other.id)
    record(office, [other], heavy, when=at(2022, 7, 3))
    record(office, [other], heavy, when=at(2022, 7, 20))
    july = rows_by_chief(f"town:{QUJING}", 2022, "Q3")[other_chief.id]
    assert july["months"][0]["score"] == "0.00" and july["grade"] == "一般"

    # the unit's quarter score pools both chiefs' months: (100 + 89 + 98) / 3 = 95.67
    result = chief_scores.assess(f"town:{QUJING}", 2022, "Q2", today=date(2023, 1, 15))
    scores, unscored = assessment.unit_scores(result)
    unit = f"village:{old_seg.village.code}"
    assert scores[unit] == (9567, new_chief.id)
    assert unscored


def test_overdue_rectification_counts_next_month(demo_app):
    city = make_user("city_office")
    segment = village_segment(DABA)
    chief = chief_of("town", town_id(DABA), date(2022, 1, 10))
    recorded = record(city, [segment], [("LR05", 1)], when=at(2022, 1, 10), deadline=date(2022, 1, 15))
    rect = recorded.inspection.findings[0].rectification
    assert rectifications.is_overdue(rect, date(2022, 1, 16)) and not rectifications.is_overdue(rect, date(2022, 1, 15))
    overdue = rectifications.list_rectifications(city, overdue=True, today=date(2022, 1, 16))
    assert [r.id for r in overdue] == [rect.id]
    # open at the ends of January and February: 整改逾期 (2 points) in February and March
    chief_user = make_user("chief", chief_id=chief.id)
    rectifications.act(
        chief_user, rect, "complete", "已清理", upload(image_bytes()), demo_app.config["UPLOAD_DIR"], now=at(2022, 3, 5)
    )
    assert rect.late
    row = rows_by_chief("city", 2022, "Q1", today=date(2022, 4, 2))[chief.id]
    assert [(m["month"], m["score"], m["overdue"]) for m in row["months"]] == [
        ("2022-01", "99.00", 0),
        ("2022-02", "98.00", 1),
        ("2022-03", "98.00", 1),
    ]
    assert row["gaps"] == ["2022-02", "2022-03"]  # scored for the overdue, still months without a 督查
    bulletin = assessment.bulletin("city", 2022, 1, today=date(2022, 4, 2))
    assert bulletin["overdue"] == []  # done (awaiting review) by the end of March
    listed = assessment.bulletin("city", 2022, 1, today=date(2022, 2, 20))["overdue"]
    assert [(o["id"], o["days"]) for o in listed] == [(rect.id, 36)]


def test_rectification_only_by_its_chief_and_the_inspecting_office(demo_app):
    city = make_user("city_office")
    town_office = make_user("town_office", town=XIAOBA)
    segment = village_segment(XIAOBA)
    village_chief = chief_of("village", segment.village_id, date(2022, 3, 1))
    recorded = record(town_office, [segment], [("LM03", 1)], when=at(2022, 3, 1))
    rect = recorded.inspection.findings[0].rectification
    assert rect.chief_id == village_chief.id and recorded.inspection.findings[0].chief_id == village_chief.id
    stranger = make_user("chief", chief_id=chief_of("village", village_segment(DABA).village_id, date(2022, 3, 1)).id)
    with pytest.raises(PermissionError):
        rectifications.act(stranger, rect, "complete", "x", upload(image_bytes()), demo_app.config["UPLOAD_DIR"])
    owner = make_user("chief", chief_id=village_chief.id)
    rectifications.act(owner, rect, "complete", "已灌缝", upload(image_bytes()), demo_app.config["UPLOAD_DIR"])
    with pytest.raises(PermissionError):  # the city office did not inspect: only 小坝镇's office verifies
        rectifications.act(city, rect, "verify")
    with pytest.raises(ServiceError, match="退回须写明"):
        rectifications.act(town_office, rect, "return", "")
    rectifications.act(town_office, rect, "verify")
    assert rect.state == "verified"
    with pytest.raises(ServiceError):
        rectifications.act(town_office, rect, "return", "再看看")


def test_village_chief_assesses_maintainers_and_patrols_are_not_scored(demo_app):
    from roadchief.models import Chief as ChiefRow

    maintainer = db.session.scalar(select(ChiefRow).where(ChiefRow.position == "cleaner").order_by(ChiefRow.id))
    segment = maintainer.assignments[0].segment
    village_chief = chief_of("village", segment.village_id, date(2022, 3, 1))
    user = make_user("chief", chief_id=village_chief.id)
    assert "supervision" in inspection_scope.recordable_kinds(user)
    recorded = record(user, [segment], [("LR03", 250)], when=at(2022, 3, 1))
    finding = recorded.inspection.findings[0]
    assert finding.chief_id == maintainer.id and finding.rectification.chief_id == maintainer.id
    rows = chief_scores.assess(f"chief:{village_chief.id}", 2022, "Q1", today=date(2023, 1, 1)).rows()
    assert {r["chief_id"]: r["score"] for r in rows if r["score"]} == {maintainer.id: "98.50"}  # 250 m → 3 × 0.5
    # a patrol (日常巡查) is evidence of duty: its finding goes to the recorder, scores nobody
    patrol = record(user, [segment], [("LR03", 100)], when=at(2022, 3, 2), kind="daily").inspection
    assert patrol.findings[0].chief_id is None and patrol.findings[0].rectification.chief_id == village_chief.id
    assert rectifications.actors_for(user, patrol.findings[0].rectification) == {"chief", "office"}
    town_chief = make_user("chief", chief_id=chief_of("town", town_id(XIAOBA), date(2022, 3, 1)).id)
    assert "supervision" not in inspection_scope.recordable_kinds(town_chief)
    with pytest.raises(ServiceError):
        assessment.finalise_quarter([f"chief:{village_chief.id}"], 2022, 1)


# ------------------------------------------------------------------ GPS and photos


def test_gps_distance_warning(demo_app):
    # an east–west line at 38°N: 0.001° of latitude is about 111 m
    line = {"type": "LineString", "coordinates": [[106.0, 38.0], [106.01, 38.0]]}
    assert inspection_segments.point_distance_m(106.005, 38.0, line) == 0
    assert 395 <= inspection_segments.point_distance_m(106.005, 38.0036, line) <= 405
    assert inspection_segments.distance_warning(106.005, 38.0036, line) is None  # 400 m: fine
    assert 595 <= inspection_segments.distance_warning(106.005, 38.0054, line) <= 605  # 600 m: warned
    assert inspection_segments.distance_warning(
        106.005, 38.0045, line, limit=500
    ) == 500 or inspection_segments.distance_warning(106.005, 38.0045, line) in (
        None,
        501,
    )  # the limit itself is not "more than"
    assert inspection_segments.distance_warning(None, None, line) is None

    city = make_user("city_office")
    segment = village_segment(XIAOBA)
    lon, lat = first_point(segment)  # the segment's southern end
    far_lat = lat - 0.009  # about 1 km south of it
    recorded = record(city, [segment], [], when=at(2022, 3, 1), lon=lon, lat=far_lat)
    assert 990 <= recorded.inspection.segments[0].distance_m <= 1010
    assert any("超过 500 米" in w for w in recorded.warnings)
    near = inspection_segments.nearest_segments(city, lon, lat)
    assert near[0]["id"] == segment.id and near[0]["distance_m"] == 0
    with pytest.raises(ServiceError, match="不在青铜峡市范围内"):
        record(city, [segment], [], when=at(2022, 3, 1), lon=116.4, lat=39.9)


def test_photo_validation_rejects_fakes_and_oversized(demo_app):
    client = demo_app.test_client()
    make = make_user("city_office")
    login(client, make)
    segment = village_segment(XIAOBA)
    upload_dir = Path(demo_app.config["UPLOAD_DIR"])
    before = set(upload_dir.rglob("*")) if upload_dir.exists() else set()

    def post(data: bytes, name: str):
        return client.post(
            "/inspections/new",
            content_type="multipart/form-data",
            headers={"X-Requested-With": "fetch"},
            data={
                "kind": "supervision",
                "inspected_at": "2022-03-01T10:00",
                "segment_ids": [str(segment.id)],
                "f-0-item": "LM04",
                "f-0-quantity": "1",
                "f-0-photos": (io.BytesIO(data), name),
            },
        )

    fake = post(b"<?php echo 'not an image'; ?>" * 20, "road.jpg")
    assert fake.status_code == 400 and "不是有效的图片" in fake.get_json()["error"]
    demo_app.config["PHOTO_MAX_BYTES"] = 2000
    big = post(image_bytes("PNG", size=(400, 400)) + b"\0" * 3000, "big.png")
    assert big.status_code == 400 and "照片过大" in big.get_json()["error"]
    assert db.session.scalar(select(func.count(Inspection.id))) == 0  # nothing written
    assert db.session.scalar(select(func.count(InspectionPhoto.id))) == 0
    after = set(upload_dir.rglob("*")) if upload_dir.exists() else set()
    assert {p for p in after - before if p.is_file()} == set()
    # the rejected form comes back without JS as a page naming the problem
    del demo_app.config["PHOTO_MAX_BYTES"]
    page = client.post(
        "/inspections/new",
        content_type="multipart/form-data",
        data={
            "kind": "supervision",
            "segment_ids": [str(segment.id)],
            "f-0-item": "LM04",
            "f-0-photos": (io.BytesIO(b"GIF89a-not-really"), "x.png"),
        },
    )
    assert page.status_code == 400 and "第 1 条问题第 1 张照片" in page.get_data(as_text=True)


# ------------------------------------------------------------------ scope (第二十条)


def test_town_office_cannot_score_another_towns_chiefs(demo_app):
    client = demo_app.test_client()
    own = make_user("town_office", town=XIAOBA)
    login(client, own)
    theirs = village_segment(DABA)
    with pytest.raises(ServiceError, match="不在本单位管辖范围内"):
        record(own, [theirs], [("LM04", 1)], when=at(2022, 3, 1))
    response = client.post(
        "/inspections/new",
        data={"kind": "supervision", "segment_ids": [str(theirs.id)], "inspected_at": "2022-03-01T10:00"},
    )
    assert response.status_code == 400 and db.session.scalar(select(func.count(Inspection.id))) == 0
    assert client.get(f"/inspections/nearest?lon={first_point(theirs)[0]}&lat={first_point(theirs)[1]}").get_json()[
        "segments"
    ] == [] or all(
        s["town"] == "小坝镇"
        for s in client.get(
            f"/inspections/nearest?lon={first_point(theirs)[0]}&lat={first_point(theirs)[1]}"
        ).get_json()["segments"]
    )
    # its results are its own villages only; another town's or the city's are refused
    assert client.get(f"/inspections/scores/2022/1?scope=town:{DABA}").status_code == 403
    assert client.get("/inspections/scores/2022/1?scope=city").status_code == 403
    assert client.post("/inspections/scores/2022/1/finalise", data={"scope": f"town:{DABA}"}).status_code == 403
    rows = chief_scores.assess(f"town:{XIAOBA}", 2022, "Q1").rows()
    assert rows and {r["level"] for r in rows} == {"village"}
    assert all(r["unit_key"].startswith(f"village:{XIAOBA}") for r in rows)
    other_chief = chief_of("village", theirs.village_id, date(2022, 3, 1))
    assert client.get(f"/inspections/chiefs/{other_chief.id}").status_code == 403
    # a town office's 督查 scores its village chiefs, never the 镇级路长
    mine = record(own, [village_segment(XIAOBA)], [("LM04", 1)], when=at(2022, 3, 1))
    assert mine.inspection.findings[0].chief.position == "village"
    # finalising its own scope writes village units only
    report = assessment.finalise_quarter([f"town:{XIAOBA}"], 2022, 1, today=date(2022, 4, 2))
    assert report[f"town:{XIAOBA}"]["written"] and all(
        k.startswith("village:") for k in report[f"town:{XIAOBA}"]["written"]
    )
    assert client.post("/inspections/scores/2022/1/finalise", data={"scope": f"town:{XIAOBA}"}).status_code == 302


def test_finalise_refused_when_funding_quarter_closed(demo_app):
    from roadchief.models import QuarterClose

    db.session.add(QuarterClose(year=2022, quarter=2, closed_by="test", snapshot_json="{}"))
    db.session.commit()
    with pytest.raises(ServiceError, match="已审定"):
        assessment.finalise_quarter(["city"], 2022, 2)


# ------------------------------------------------------------------ catalog, API, CLI, exports


def test_catalog_versions_keep_the_scored_version(demo_app):
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    city = make_user("city_office")
    first = record(city, [village_segment(XIAOBA)], [("LM04", 2)], when=at(2022, 3, 1)).inspection
    catalog = first.catalog
    assert catalog.is_example and not catalog.confirmed
    form = {"rows": str(len(catalog.items)), "note": "坑槽改为每处 2 分"}
    for n, item in enumerate(catalog.items):
        form.update(
            {
                f"code-{n}": item.code,
                f"category-{n}": item.category,
                f"text-{n}": item.text,
                f"points-{n}": "2" if item.code == "LM04" else deduction_catalog.points_text(item.points_centi),
                f"unit-{n}": item.unit,
                f"cap-{n}": deduction_catalog.points_text(item.cap_centi),
                f"category_cap-{n}": deduction_catalog.points_text(item.category_cap_centi),
                f"basis-{n}": item.basis,
            }
        )
    response = client.post(f"/inspections/catalog/{catalog.id}/edit", data=form)
    assert response.status_code == 302
    latest = deduction_catalog.latest_catalog(2022)
    assert latest.version == 2 and next(i for i in latest.items if i.code == "LM04").points_centi == 200
    bad = dict(form, **{"points-0": "abc"})
    assert client.post(f"/inspections/catalog/{latest.id}/edit", data=bad).status_code == 400
    client.post(f"/inspections/catalog/{latest.id}/confirm")
    db.session.refresh(latest)
    assert latest.confirmed
    second = record(city, [village_segment(XIAOBA)], [("LM04", 2)], when=at(2022, 3, 2)).inspection
    assert second.catalog_id == latest.id and first.catalog_id == catalog.id
    chief = chief_of("town", town_id(XIAOBA), date(2022, 3, 1))
    march = rows_by_chief("city", 2022, "Q1")[chief.id]["months"][0]
    assert march["deduction"] == "6"  # 2 (old version) + 4 (new version)


def test_api_create_list_and_answer(demo_app):
    from roadchief.services.accounts import create_token

    client = demo_app.test_client()
    office = make_user("town_office", town=XIAOBA)
    token = {"Authorization": f"Bearer {create_token(office.username)}"}
    segment = village_segment(XIAOBA)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "supervision",
        "inspected_at": "2022-03-03T08:00:00+08:00",
        "segment_ids": [segment.id],
        "findings": [{"item": "LR04", "quantity": 150}],
    }
    created = client.post("/api/v1/inspections", json=body, headers=token)
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["findings"][0]["points"] == "1" and data["findings"][0]["rectification"]["state"] == "open"
    assert client.post("/api/v1/inspections", json=body, headers=token).status_code == 200  # idempotent
    photo = client.post(
        f"/api/v1/inspections/{data['id']}/photos",
        headers=token,
        data={"photo": (io.BytesIO(image_bytes()), "a.jpg"), "finding_id": str(data["findings"][0]["id"])},
    )
    assert photo.status_code == 201
    assert client.get("/api/v1/inspections?month=2022-13", headers=token).status_code == 400
    listed = client.get("/api/v1/inspections?month=2022-03", headers=token).get_json()["inspections"]
    assert [i["id"] for i in listed] == [data["id"]]
    bad = client.post(
        "/api/v1/inspections",
        json={**body, "client_uuid": None, "findings": [{"item": "NOPE", "quantity": 1}]},
        headers=token,
    )
    assert bad.status_code == 400 and "扣分项" in bad.get_json()["error"]

    chief = chief_of("village", segment.village_id, date(2022, 3, 3))
    chief_token = {"Authorization": f"Bearer {create_token(make_user('chief', chief_id=chief.id).username)}"}
    rects = client.get("/api/v1/rectifications", headers=chief_token).get_json()["rectifications"]
    assert [r["id"] for r in rects] == [data["findings"][0]["rectification"]["id"]]
    rid = rects[0]["id"]
    assert client.post(f"/api/v1/rectifications/{rid}/verify", json={}, headers=chief_token).status_code == 403
    done = client.post(
        f"/api/v1/rectifications/{rid}/complete",
        headers=chief_token,
        data={"note": "已补植", "photo": (io.BytesIO(image_bytes("PNG")), "after.png")},
    )
    assert done.status_code == 200 and done.get_json()["state"] == "done"
    returned = client.post(f"/api/v1/rectifications/{rid}/return", json={"note": "死株仍在"}, headers=token)
    assert returned.get_json()["state"] == "open"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {
        "/api/v1/inspections",
        "/api/v1/rectifications",
        "/api/v1/rectifications/{rectification_id}/complete",
    } <= set(spec["paths"])
    catalog = client.get("/api/v1/deduction-catalog?year=2022", headers=token).get_json()
    assert any(i["code"] == "LZ05" for i in catalog["items"])


def test_pages_render_for_each_role(demo_app):
    city = make_user("city_office")
    segment = village_segment(XIAOBA)
    inspection = record(city, [segment], [("LM04", 1)], when=at(2022, 2, 1)).inspection
    chief = chief_of("town", town_id(XIAOBA), date(2022, 2, 1))
    users = {
        "city_office": city,
        "finance": make_user("finance"),
        "town_office": make_user("town_office", town=XIAOBA),
        "inspector": make_user("inspector"),
        "chief": make_user("chief", chief_id=chief.id),
    }
    for role, user in users.items():
        client = demo_app.test_client()
        login(client, user)
        assert client.get("/inspections/").status_code == 200, role
        assert client.get("/inspections/rectifications?view=overdue").status_code == 200, role
        assert client.get(f"/inspections/chiefs/{chief.id}").status_code == 200, (
            role
        )  # its own 镇长 for the town office
        assert client.get("/inspections/catalog").status_code == 302
        if role in ("city_office", "finance", "inspector"):
            assert client.get(f"/inspections/{inspection.id}").status_code == 200, role
            assert client.get("/inspections/ranking/2022?period=Y").status_code == 200
            assert client.get("/inspections/ranking/2022?period=H1").status_code == 200
            export = client.get("/inspections/ranking/2022/export?period=Y")
            assert export.status_code == 200 and export.data[:2] == b"PK"
        if role == "city_office":  # years outside 2000–2100 are not there
            assert client.get("/inspections/scores/99999/1").status_code == 404
            assert client.get("/inspections/catalog?year=-5").status_code == 404
            assert client.get("/inspections/ranking/1999?period=Y").status_code == 404
    chief_client = demo_app.test_client()
    login(chief_client, users["chief"])
    assert chief_client.get("/inspections/me").headers["Location"].endswith(f"/inspections/chiefs/{chief.id}")
    assert "路面坑槽" in chief_client.get("/inspections/").get_data(as_text=True)


def test_cli_finalise_and_bulletin(demo_app, tmp_path):
    from roadchief.cli import main

    city = make_user("city_office")
    record(city, [village_segment(DABA)], [("LM04", 3)], when=at(2022, 1, 12))
    runner = demo_app.test_cli_runner()
    result = runner.invoke(main, ["inspections", "bulletin", "2022", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["levels"][0]["name"] == "镇级路长" and data["overview"]["inspections"] == 1
    pdf = tmp_path / "b.pdf"
    assert runner.invoke(main, ["inspections", "bulletin", "2022", "1", "--pdf", str(pdf)]).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    result = runner.invoke(main, ["inspections", "finalise", "2022", "1"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(QuarterScore.score_centi).where(QuarterScore.unit_key == f"town:{DABA}")) == 9700
    assert runner.invoke(main, ["inspections", "catalog", "2022"]).exit_code == 0
    assert "无得分" in runner.invoke(main, ["inspections", "scores", "2022", "Q1"]).output
