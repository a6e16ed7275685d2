"""Time (issue #11): moments stored as UTC on SQLite and PostgreSQL alike, form input read as
Beijing time, months and quarters by the Beijing calendar, everything printed in Beijing time,
whatever the process time zone (each test runs with TZ=UTC and TZ=Asia/Shanghai)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
import uuid
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from roadchief.domain import clock
from roadchief.domain.scoring import period_months
from roadchief.extensions import db
from roadchief.models import AuditEntry
from roadchief.models.inspections import Inspection
from roadchief.models.operations import RoadEvent
from roadchief.models.public import PublicReport
from roadchief.reports.funding_pdf import quarter_pdf
from roadchief.reports.funding_xlsx import quarter_xlsx
from roadchief.services import chief_scores
from roadchief.services.accounts import create_token
from roadchief.services.backup import create_backup
from roadchief.services.backup_restore import restore_backup
from roadchief.services.funding_quarter import close_quarter, quarter_report
from tests.conftest import login, make_user
from tests.integration.test_backup import empty_target, source  # noqa: F401  (fixtures)
from tests.integration.test_funding import score_all
from tests.integration.test_inspections import XIAOBA, village_segment
from tests.integration.test_public import ref_from, submit, village_road

UTC = UTC


@pytest.fixture(params=["UTC", "Asia/Shanghai"])
def process_tz(request):
    """Run the test with the process's local time zone set to UTC, then to Beijing."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def freeze(monkeypatch):
    """Set the application clock to an aware moment."""

    def at(moment: datetime):
        monkeypatch.setattr(clock, "_now", lambda: moment.astimezone(UTC))

    return at


def stored_utc(inspection_id: int) -> datetime:
    """The value as the database holds it, read without the ORM type (SQLite: text, naive UTC)."""
    raw = db.session.execute(text("SELECT inspected_at FROM inspection WHERE id = :i"), {"i": inspection_id}).scalar()
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    return raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw.astimezone(UTC)


def form_inspection(client, segment, when_text: str) -> Inspection:
    client_uuid = str(uuid.uuid4())
    response = client.post(
        "/inspections/new",
        data={
            "client_uuid": client_uuid,
            "kind": "supervision",
            "inspected_at": when_text,
            "segment_ids": [str(segment.id)],
            "deadline": "2026-12-31",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return db.session.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid))


def api_inspection(client, token, segment, when_text: str) -> dict:
    response = client.post(
        "/api/v1/inspections",
        headers=token,
        json={
            "client_uuid": str(uuid.uuid4()),
            "kind": "supervision",
            "inspected_at": when_text,
            "segment_ids": [segment.id],
            "findings": [],
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def scored_ids(months) -> set[int]:
    return {i.id for i in chief_scores.scored_inspections(tuple(months))}


def share_days(months) -> set[date]:
    return {s.day for s in chief_scores.shares_of(chief_scores.scored_inspections(tuple(months)))}


def test_evening_inspection_on_the_last_day_of_a_month_counts_for_that_month(demo_app, process_tz, freeze):
    freeze(datetime(2026, 12, 1, 9, 0, tzinfo=clock.BEIJING))
    client = demo_app.test_client()
    office = make_user("city_office")
    login(client, office)
    token = {"Authorization": f"Bearer {create_token(office.username)}"}
    segment = village_segment(XIAOBA)

    by_form = form_inspection(client, segment, "2026-11-30T20:00")
    by_api_aware = api_inspection(client, token, segment, "2026-11-30T20:00:00+08:00")
    by_api_utc = api_inspection(client, token, segment, "2026-11-30T12:00:00Z")
    by_api_naive = api_inspection(client, token, segment, "2026-11-30T20:00:00")  # naive: Beijing time
    ids = {by_form.id, by_api_aware["id"], by_api_utc["id"], by_api_naive["id"]}
    db.session.expire_all()

    moment = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    for inspection_id in ids:
        assert stored_utc(inspection_id) == moment
        assert db.session.get(Inspection, inspection_id).inspected_at == moment
        assert db.session.get(Inspection, inspection_id).inspected_at.utcoffset() == UTC.utcoffset(None)
    # the month is November, in the API filter and in the scoring
    november, december = ((2026, 11),), ((2026, 12),)
    assert ids <= scored_ids(november) and not ids & scored_ids(december)
    assert share_days(november) == {date(2026, 11, 30)} and not share_days(december)
    listed = client.get("/api/v1/inspections?month=2026-11", headers=token).get_json()["inspections"]
    assert ids <= {i["id"] for i in listed}
    assert not ids & {
        i["id"] for i in client.get("/api/v1/inspections?month=2026-12", headers=token).get_json()["inspections"]
    }
    # JSON: ISO 8601 in Beijing time with its offset
    assert {i["inspected_at"] for i in listed if i["id"] in ids} == {"2026-11-30T20:00:00+08:00"}
    # pages show Beijing time
    assert "2026-11-30 20:00" in client.get(f"/inspections/{by_form.id}").get_data(as_text=True)
    assert "2026-11-30 20:00" in client.get("/inspections/").get_data(as_text=True)


def test_evening_inspection_on_the_last_day_of_a_quarter_counts_for_that_quarter(demo_app, process_tz, freeze):
    freeze(datetime(2026, 10, 1, 9, 0, tzinfo=clock.BEIJING))
    client = demo_app.test_client()
    office = make_user("city_office")
    login(client, office)
    token = {"Authorization": f"Bearer {create_token(office.username)}"}
    segment = village_segment(XIAOBA)
    ids = {
        form_inspection(client, segment, "2026-09-30T22:30").id,
        api_inspection(client, token, segment, "2026-09-30T22:30:00+08:00")["id"],
        api_inspection(client, token, segment, "2026-09-30T22:30")["id"],
    }
    db.session.expire_all()
    for inspection_id in ids:
        assert stored_utc(inspection_id) == datetime(2026, 9, 30, 14, 30, tzinfo=UTC)
    q3, q4 = period_months(2026, "Q3"), period_months(2026, "Q4")
    assert ids <= scored_ids(q3) and not ids & scored_ids(q4)
    assert share_days(q3) == {date(2026, 9, 30)} and not share_days(q4)


def test_road_event_times_from_form_and_api_are_beijing_time(demo_app, process_tz, freeze):
    freeze(datetime(2026, 12, 1, 9, 0, tzinfo=clock.BEIJING))
    client = demo_app.test_client()
    office = make_user("town_office", town=XIAOBA)
    login(client, office)
    token = {"Authorization": f"Bearer {create_token(office.username)}"}
    segment = village_segment(XIAOBA)
    response = client.post(
        "/ops/events/new",
        data={
            "segment_id": segment.id,
            "kind": "flood_damage",
            "severity": "minor",
            "occurred_at": "2026-11-30T20:00",
            "description": "路肩冲刷",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    body = {"segment_id": segment.id, "kind": "landslide", "severity": "minor", "description": "落石"}
    naive = client.post("/api/v1/events", json={**body, "occurred_at": "2026-11-30T20:00:00"}, headers=token)
    aware = client.post("/api/v1/events", json={**body, "occurred_at": "2026-11-30T12:00:00+00:00"}, headers=token)
    assert naive.status_code == 201 and aware.status_code == 201, (naive.get_json(), aware.get_json())
    assert naive.get_json()["occurred_at"] == aware.get_json()["occurred_at"] == "2026-11-30T20:00:00+08:00"
    db.session.expire_all()
    events = db.session.scalars(select(RoadEvent)).all()
    assert len(events) == 3 and {e.occurred_at for e in events} == {datetime(2026, 11, 30, 12, 0, tzinfo=UTC)}
    restored = client.post(
        f"/api/v1/events/{naive.get_json()['id']}/restore", json={"at": "2026-11-30T23:15"}, headers=token
    )
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["restored_at"] == "2026-11-30T23:15:00+08:00"
    page = client.get(f"/ops/events/{events[0].id}").get_data(as_text=True)
    assert "2026-11-30 20:00" in page


def test_form_time_that_does_not_parse_is_refused_in_chinese(demo_app, process_tz, freeze):
    freeze(datetime(2026, 12, 1, 9, 0, tzinfo=clock.BEIJING))
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    response = client.post(
        "/inspections/new",
        data={
            "client_uuid": str(uuid.uuid4()),
            "kind": "supervision",
            "inspected_at": "30/11/2026 20:00",
            "segment_ids": [str(village_segment(XIAOBA).id)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "检查时间格式不正确" in response.get_data(as_text=True)
    assert db.session.scalar(select(Inspection.id)) is None


def test_signed_quarter_pdf_and_xlsx_print_the_approval_time_in_beijing_time(demo_app, process_tz, freeze, tmp_path):
    score_all(tmp_path, 2022, 1)
    # approved at 16:30 UTC on 6 April = 00:30 on 7 April in Beijing: the date differs too
    freeze(datetime(2022, 4, 6, 16, 30, tzinfo=UTC))
    close_quarter(2022, 1)
    db.session.expire_all()
    report = quarter_report(2022, 1)
    assert datetime.fromisoformat(report["closed_at"]) == datetime(2022, 4, 6, 16, 30, tzinfo=UTC)
    assert report["closed_at"] == "2022-04-07T00:30:00+08:00"
    assert report["generated_on"] == "2022-04-07"
    expected = "审定时间：2022年4月7日 00:30"
    workbook = load_workbook(io.BytesIO(quarter_xlsx(report)))
    cells = [str(c.value) for row in workbook.active.iter_rows() for c in row if c.value]
    assert any(expected in c for c in cells), cells[:6]
    assert any("2022年4月7日" in c for c in cells[:3])
    if shutil.which("pdftotext"):
        pdf = tmp_path / "q.pdf"
        pdf.write_bytes(quarter_pdf(report))
        printed = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert expected.replace(" ", "") in "".join(printed.split())
        assert "4月6日" not in printed
    client = demo_app.test_client()
    login(client, make_user("finance"))
    page = client.get("/funding/2022/q/1").get_data(as_text=True)
    assert "2022-04-07 00:30" in page


@pytest.mark.parametrize(
    "moment, prefix",
    [
        (datetime(2026, 12, 31, 23, 30, tzinfo=clock.BEIJING), "GK20261231"),
        (datetime(2027, 1, 1, 7, 30, tzinfo=clock.BEIJING), "GK20270101"),  # still 31 Dec in UTC
    ],
)
def test_public_report_reference_uses_the_beijing_date(demo_app, demo_client, process_tz, freeze, moment, prefix):
    freeze(moment)
    ref = ref_from(submit(demo_client, village_road()))
    assert ref.startswith(prefix)
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    db.session.expire_all()
    assert report.created_at == moment.astimezone(UTC)
    assert moment.strftime("%Y-%m-%d %H:%M") in demo_client.get(f"/p/t/{ref}").get_data(as_text=True)


def test_audit_log_page_filter_export_and_user_list_use_beijing_time(demo_app, process_tz, freeze):
    # 17:00:05 UTC on 30 November is 01:00:05 on 1 December in Beijing
    freeze(datetime(2026, 11, 30, 17, 0, 5, tzinfo=UTC))
    client = demo_app.test_client()
    city = make_user("city_office")
    login(client, city)
    db.session.expire_all()
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.at == datetime(2026, 11, 30, 17, 0, 5, tzinfo=UTC)
    page = client.get("/admin/audit/?since=2026-12-01&until=2026-12-01").get_data(as_text=True)
    assert "2026-12-01 01:00:05" in page
    assert "2026-12-01 01:00:05" not in client.get("/admin/audit/?until=2026-11-30").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get("/admin/audit/export.xlsx?since=2026-12-01").data))
    sheet = book.active
    assert "北京时间" in sheet["B1"].value
    assert sheet["B2"].value == datetime(2026, 12, 1, 1, 0, 5)
    assert "2026-12-01 01:00" in client.get("/admin/users").get_data(as_text=True)


def test_backup_and_restore_keep_evening_times_exactly(source, empty_target, process_tz, freeze, tmp_path):
    freeze(datetime(2026, 12, 1, 9, 0, tzinfo=clock.BEIJING))
    client = source.test_client()
    login(client, make_user("city_office"))
    inspection = form_inspection(client, village_segment(XIAOBA), "2026-11-30T20:00")
    db.session.expire_all()
    expected = {(i.id, i.inspected_at, i.created_at) for i in db.session.scalars(select(Inspection))}
    audit_times = sorted(db.session.scalars(select(AuditEntry.at)))
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    target = empty_target()
    with target.app_context():
        restore_backup(archive)
        assert {(i.id, i.inspected_at, i.created_at) for i in db.session.scalars(select(Inspection))} == expected
        assert db.session.get(Inspection, inspection.id).inspected_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        assert sorted(db.session.scalars(select(AuditEntry.at))) == audit_times
        assert share_days(((2026, 11),)) == {date(2026, 11, 30)}
