"""An event form sent twice with the same client id (the phone's offline queue retrying after a
lost response, issue #14) is stored once; another user's reuse of that id is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models import Segment, Town
from roadchief.models.operations import RoadEvent
from tests.conftest import login, make_user

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}


def _form(segment: Segment, client_uuid: str, description: str) -> dict:
    from roadchief.domain.scoring import LOCAL_TZ

    occurred = datetime.now(UTC) - timedelta(hours=2)
    return {
        "segment_id": segment.id,
        "kind": "flood_damage",
        "severity": "minor",
        "occurred_at": occurred.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"),
        "description": description,
        "client_uuid": client_uuid,
    }


def _count(client_uuid: str) -> int:
    return db.session.scalar(select(func.count(RoadEvent.id)).where(RoadEvent.client_uuid == client_uuid))


def test_the_same_client_uuid_twice_stores_one_event_and_another_user_is_refused(demo_app):
    town = db.session.scalar(select(Town).where(Town.code == "640381100"))
    segment = db.session.scalar(select(Segment).where(Segment.town_id == town.id).order_by(Segment.id))
    office, other = make_user("town_office", town=town.code), make_user("town_office", town=town.code)
    client, other_client = demo_app.test_client(), demo_app.test_client()
    login(client, office)
    login(other_client, other)
    client_uuid = str(uuid.uuid4())
    form = _form(segment, client_uuid, "离线登记的路面塌陷")

    first = client.post("/ops/events/new", data=form)  # the ordinary form post
    assert first.status_code == 302
    event_id = int(first.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    again = client.post("/ops/events/new", data={**form, "description": "重发时改了也不另存"}, headers=FETCH)
    assert again.status_code == 200
    assert again.get_json()["ok"] is True and again.get_json()["id"] == event_id
    assert again.get_json()["url"] == f"/ops/events/{event_id}"
    db.session.expire_all()
    assert _count(client_uuid) == 1
    stored = db.session.get(RoadEvent, event_id)
    assert stored.description == "离线登记的路面塌陷" and stored.client_user_id == office.id

    # another user's reuse of the id is refused, in JSON for the queue and on the page for a post
    refused = other_client.post("/ops/events/new", data=form, headers=FETCH)
    assert refused.status_code == 400 and refused.get_json()["ok"] is False
    assert "提交编号已被使用" in refused.get_json()["error"]
    page = other_client.post("/ops/events/new", data=form)
    assert page.status_code == 400 and "提交编号已被使用" in page.get_data(as_text=True)
    db.session.expire_all()
    assert _count(client_uuid) == 1

    # a malformed id is refused and writes nothing; no id at all still records (old clients)
    before = db.session.scalar(select(func.count(RoadEvent.id)))
    bad = client.post("/ops/events/new", data={**form, "client_uuid": "not-a-uuid"}, headers=FETCH)
    assert bad.status_code == 400 and "client_uuid" in bad.get_json()["error"]
    assert db.session.scalar(select(func.count(RoadEvent.id))) == before
    plain = client.post("/ops/events/new", data={**form, "client_uuid": ""}, headers=FETCH)
    assert plain.status_code == 200 and plain.get_json()["ok"] is True
    db.session.expire_all()
    assert db.session.get(RoadEvent, plain.get_json()["id"]).client_uuid is None
    assert db.session.scalar(select(func.count(RoadEvent.id))) == before + 1

    # a refused form in JSON (the queue shows the error as 提交失败)
    invalid = client.post("/ops/events/new", data={**form, "client_uuid": str(uuid.uuid4()), "kind": ""}, headers=FETCH)
    assert invalid.status_code == 400 and "事件类型" in invalid.get_json()["error"]


def test_the_database_keeps_client_uuid_unique(demo_app):
    import pytest
    from sqlalchemy.exc import IntegrityError

    segment = db.session.scalar(select(Segment).order_by(Segment.id))
    client_uuid = str(uuid.uuid4())
    moment = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(2):
        db.session.add(
            RoadEvent(
                segment=segment, kind="flood_damage", severity="minor", occurred_at=moment, client_uuid=client_uuid
            )
        )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
