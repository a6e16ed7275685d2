"""Photo receipts for the phone's offline queue: each field photo carries its client id, the
server answers one receipt per photo (client id, photo id, SHA-256 of the stored bytes), and a
form or a photo sent again after a lost response is stored once (issue #14 point 2)."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models.inspections import Inspection, InspectionPhoto
from roadchief.services.accounts import create_token
from tests.conftest import login, make_user
from tests.integration.test_inspections import XIAOBA, image_bytes, village_segment

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}


def _form(segment, photo_a: bytes, photo_b: bytes, ids: tuple[str, str]) -> dict:
    now = datetime.now(LOCAL_TZ).replace(second=0, microsecond=0) - timedelta(minutes=5)
    return {
        "client_uuid": str(uuid.uuid4()),
        "kind": "supervision",
        "inspected_at": now.strftime("%Y-%m-%dT%H:%M"),
        "segment_ids": [str(segment.id)],
        "f-0-item": "LM04",
        "f-0-quantity": "1",
        "f-0-photos": [(io.BytesIO(photo_a), "a.jpg")],
        "f-0-photos_client_id": [ids[0]],
        "photos": [(io.BytesIO(photo_b), "b.jpg")],
        "photos_client_id": [ids[1]],
    }


def _again(form: dict, photo_a: bytes, photo_b: bytes) -> dict:
    return {**form, "f-0-photos": [(io.BytesIO(photo_a), "a.jpg")], "photos": [(io.BytesIO(photo_b), "b.jpg")]}


def test_field_form_answers_a_receipt_per_photo_and_a_resent_form_stores_nothing_twice(demo_app):
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    segment = village_segment(XIAOBA)
    photo_a, photo_b = image_bytes(size=(80, 60)), image_bytes("PNG", size=(40, 30))
    ids = (str(uuid.uuid4()), str(uuid.uuid4()))
    form = _form(segment, photo_a, photo_b, ids)

    first = client.post("/inspections/new", data=form, content_type="multipart/form-data", headers=FETCH)
    assert first.status_code == 200, first.get_data(as_text=True)[:500]
    body = first.get_json()
    assert body["ok"] and body["created"] is True
    receipts = {r["client_id"]: r for r in body["receipts"]}
    assert set(receipts) == set(ids)
    assert receipts[ids[0]]["sha256"] == hashlib.sha256(photo_a).hexdigest()
    assert receipts[ids[1]]["sha256"] == hashlib.sha256(photo_b).hexdigest()
    inspection = db.session.get(Inspection, body["id"])
    assert receipts[ids[0]]["finding_id"] == inspection.findings[0].id and receipts[ids[1]]["finding_id"] is None

    # the response was lost: the queue sends the same form again → same record, same receipts
    again = client.post(
        "/inspections/new", data=_again(form, photo_a, photo_b), content_type="multipart/form-data", headers=FETCH
    ).get_json()
    assert again["ok"] and again["created"] is False and again["id"] == body["id"]
    assert sorted(again["receipts"], key=lambda r: r["photo_id"]) == sorted(
        body["receipts"], key=lambda r: r["photo_id"]
    )
    assert (
        db.session.scalar(select(func.count(Inspection.id)).where(Inspection.client_uuid == form["client_uuid"])) == 1
    )
    assert (
        db.session.scalar(select(func.count(InspectionPhoto.id)).where(InspectionPhoto.inspection_id == body["id"]))
        == 2
    )


def test_bad_or_reused_photo_ids_are_refused_in_chinese_and_write_nothing(demo_app):
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    segment = village_segment(XIAOBA)
    photos_before = db.session.scalar(select(func.count(InspectionPhoto.id)))

    bad = _form(segment, image_bytes(), image_bytes(), ("not-a-uuid", str(uuid.uuid4())))
    answer = client.post("/inspections/new", data=bad, content_type="multipart/form-data", headers=FETCH)
    assert answer.status_code == 400
    assert "第 1 条问题第 1 张照片" in answer.get_json()["error"] and "照片编号" in answer.get_json()["error"]

    used = str(uuid.uuid4())
    ok = client.post(
        "/inspections/new",
        data=_form(segment, image_bytes(), image_bytes(), (used, str(uuid.uuid4()))),
        content_type="multipart/form-data",
        headers=FETCH,
    )
    assert ok.status_code == 200
    reused = client.post(
        "/inspections/new",
        data=_form(segment, image_bytes(), image_bytes(), (str(uuid.uuid4()), used)),
        content_type="multipart/form-data",
        headers=FETCH,
    )
    assert reused.status_code == 400 and "照片编号已被其他记录使用" in reused.get_json()["error"]
    assert db.session.scalar(select(func.count(InspectionPhoto.id))) == photos_before + 2
    assert db.session.scalar(select(func.count(Inspection.id)).where(Inspection.client_uuid == bad["client_uuid"])) == 0


def test_api_photo_resent_with_its_client_id_is_stored_once(demo_app):
    client = demo_app.test_client()
    office = make_user("town_office", town=XIAOBA)
    token = {"Authorization": f"Bearer {create_token(office.username)}"}
    segment = village_segment(XIAOBA)
    created = client.post(
        "/api/v1/inspections",
        json={"kind": "supervision", "inspected_at": "2022-03-03T08:00:00+08:00", "segment_ids": [segment.id]},
        headers=token,
    ).get_json()
    data, photo_id = image_bytes(size=(50, 50)), str(uuid.uuid4())

    def send():
        return client.post(
            f"/api/v1/inspections/{created['id']}/photos",
            headers=token,
            data={"photo": (io.BytesIO(data), "a.jpg"), "client_photo_id": photo_id},
        )

    first, second = send(), send()
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    assert first.get_json()["sha256"] == hashlib.sha256(data).hexdigest() and first.get_json()["client_id"] == photo_id
    assert (
        db.session.scalar(select(func.count(InspectionPhoto.id)).where(InspectionPhoto.inspection_id == created["id"]))
        == 1
    )
