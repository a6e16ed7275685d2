"""待办 (#13 point 2) and public reports through to closure (#13 point 5): confirming a report
opens its 整改, the chiefs see it in 待办 (page, menu count, API), the tracking page shows the
deadline and the dated history; a report near an open one is offered as a possible duplicate."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models import RoadEvent
from roadchief.models.base import utcnow
from roadchief.models.inspections import Rectification
from roadchief.models.public import PublicReport
from roadchief.services import ServiceError, public_reports, rectifications, report_duplicates, todos
from tests.conftest import login, make_user
from tests.integration.test_inspections import first_point, image_bytes, upload
from tests.integration.test_public import PHONE, chiefs_of, ref_from, submit, village_road


def _report(ref: str) -> PublicReport:
    return db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))


def test_public_report_to_rectification_to_closure_with_history(demo_app, demo_client):
    road = village_road()
    segment = road.segments[0]
    village_chief = chiefs_of(segment)["village"]
    report = _report(ref_from(submit(demo_client, road)))
    town_office = make_user("town_office", town=segment.town.code)
    office = demo_app.test_client()
    login(office, town_office)
    deadline = (utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=5)).isoformat()
    page = office.get(f"/p/reports/{report.ref}").get_data(as_text=True)
    assert 'name="item_code"' in page and 'name="rectification_ref"' not in page  # no hand-typed reference
    bad = office.post(f"/p/reports/{report.ref}", data={"action": "confirm", "deadline": "2001-01-01"})
    assert bad.status_code == 303 and _report(report.ref).status == "received"  # refused, nothing written
    office.post(f"/p/reports/{report.ref}", data={"action": "confirm", "deadline": deadline, "note": "已核实"})
    db.session.expire_all()
    report = _report(report.ref)
    rect = db.session.get(Rectification, report.rectification_id)
    assert report.status == "confirmed" and rect.deadline.isoformat() == deadline and rect.state == "open"
    assert rect.finding.inspection.kind == "special" and rect.finding.chief_id is None  # scores nobody by itself
    assert rect.chief_id == village_chief.id
    assert {a.chief_id for a in rect.assignees} >= {village_chief.id}

    chief_user = make_user("chief", chief_id=village_chief.id)
    chief = demo_app.test_client()
    login(chief, chief_user)
    api = chief.get("/api/v1/todos").get_json()
    assert [(i["kind"], i["id"], i["deadline"]) for i in api["items"] if i["kind"] == "rectification"] == [
        ("rectification", rect.id, deadline)
    ]
    assert api["count"] == len(api["items"])
    home = chief.get("/").get_data(as_text=True)
    assert f'data-todo-count aria-label="{api["count"]} 项待办">{api["count"]}<' in home
    rectifications.act(chief_user, rect, "complete", "已修补", upload(image_bytes()), current_app.config["UPLOAD_DIR"])
    assert all(
        i["id"] != rect.id for i in chief.get("/api/v1/todos").get_json()["items"] if i["kind"] == "rectification"
    )
    # the office reviews it, then the verified 整改 puts the report in its 待办 to close
    office_items = todos.todos_for(town_office)
    assert ("review", rect.id) in [(t.kind, t.id) for t in office_items]
    rectifications.act(town_office, rect, "verify")
    report_todo = next(t for t in todos.todos_for(town_office) if t.kind == "report" and t.id == report.id)
    assert report_todo.state == "整改已复核，待办结" and report_todo.deadline.isoformat() == deadline
    office.post(f"/p/reports/{report.ref}", data={"action": "close", "note": "已修补完毕"})
    db.session.expire_all()
    assert _report(report.ref).status == "closed"

    track = demo_client.get(f"/p/t/{report.ref}").get_data(as_text=True)
    assert "已办结" in track and deadline in track and PHONE not in track
    history = track.split('aria-label="办理记录')[1]
    labels = ["群众提交反馈", "确认问题，转整改", "路长提交整改完成", "整改复核通过", "办结"]
    positions = [history.index(label) for label in labels]
    assert positions == sorted(positions)
    # dated in Beijing time: the submission's minute as Beijing shows it
    submitted = report.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    assert submitted in history


def test_todos_sorted_by_deadline_nulls_last(demo_app, demo_client):
    from tests.integration.test_inspections import XIAOBA, at, record
    from tests.integration.test_loop_routing import maintainer_segment

    maintainer, segment = maintainer_segment()
    town_office = make_user("town_office", town=XIAOBA)
    late = record(town_office, [segment], [("LM03", 1)], when=at(2022, 3, 1), deadline=date(2022, 3, 20))
    early = record(town_office, [segment], [("LM01", 1)], when=at(2022, 3, 2), deadline=date(2022, 3, 10))
    db.session.add(
        RoadEvent(segment_id=segment.id, kind="flood_damage", severity="minor", state="reported", occurred_at=utcnow())
    )
    db.session.commit()
    worker = make_user("chief", chief_id=maintainer.id)
    items = todos.todos_for(worker)
    # the menu count is counted in SQL: the same number as the list, for each role
    for user in (worker, town_office, make_user("city_office"), make_user("finance")):
        assert todos.count_for(user) == len(todos.todos_for(user))
    assert todos.count_for(town_office) > 0
    kinds = [(t.kind, t.id) for t in items]
    rect_ids = [late.inspection.findings[0].rectification.id, early.inspection.findings[0].rectification.id]
    assert kinds[:2] == [("rectification", rect_ids[1]), ("rectification", rect_ids[0])]
    assert kinds[-1][0] == "event" and items[-1].deadline is None  # no deadline: last
    client = demo_app.test_client()
    login(client, worker)
    page = client.get("/todos").get_data(as_text=True)
    assert page.index("2022-03-10") < page.index("2022-03-20") and "已逾期" in page
    # another town's office has none of these
    assert not {("rectification", r) for r in rect_ids} & {
        (t.kind, t.id) for t in todos.todos_for(make_user("town_office", town="640381101"))
    }
    assert demo_client.get("/api/v1/todos").status_code == 401


def _near(lon: float, lat: float, metres_east: float) -> tuple[float, float]:
    """A point ``metres_east`` east of (lon, lat), computed in EPSG:4544."""
    from roadchief.domain.lengths import projected_transformer

    x, y = projected_transformer().transform(lon, lat)
    from pyproj import Transformer

    back = Transformer.from_crs("EPSG:4544", "EPSG:4326", always_xy=True)
    return back.transform(x + metres_east, y)


def test_possible_duplicates_offered_merged_or_dismissed(demo_app, demo_client):
    road = village_road()
    segment = road.segments[0]
    lon, lat = first_point(segment)
    first = _report(ref_from(submit(demo_client, road, lon=f"{lon:.6f}", lat=f"{lat:.6f}")))
    assert first.duplicate_state is None and first.duplicate_of_id is None  # never its own duplicate
    assert report_duplicates.find_original(first) is None
    # same segment (the road has one), within 30 days: offered as a duplicate of the open one
    lon2, lat2 = _near(lon, lat, 30)
    second = _report(ref_from(submit(demo_client, road, lon=f"{lon2:.6f}", lat=f"{lat2:.6f}")))
    assert second.duplicate_of_id == first.id and second.duplicate_state == "suspected"
    # the distance rule alone, without a segment: 30 m yes, 80 m no (EPSG:4544 metres)
    probe = PublicReport(road_id=road.id, segment_id=None, lon=lon2, lat=lat2, created_at=utcnow())
    assert report_duplicates.find_original(probe).id in (first.id, second.id)
    far = _near(lon, lat, 80)
    probe = PublicReport(road_id=road.id, segment_id=None, lon=far[0], lat=far[1], created_at=utcnow())
    assert report_duplicates.find_original(probe) is None
    # older than 30 days: not offered
    probe = PublicReport(road_id=road.id, segment_id=segment.id, lon=None, lat=None, created_at=utcnow())
    assert report_duplicates.find_original(probe, now=utcnow() + timedelta(days=31)) is None

    office_user = make_user("town_office", town=segment.town.code)
    office = demo_app.test_client()
    login(office, office_user)
    page = office.get(f"/p/reports/{second.ref}").get_data(as_text=True)
    assert "疑似重复" in page and f"/p/reports/{first.ref}" in page
    assert "疑似重复" in [t.title[:4] for t in todos.todos_for(office_user) if t.id == second.id][0]
    chief = demo_app.test_client()
    login(chief, make_user("chief", chief_id=chiefs_of(segment)["village"].id))
    assert chief.post(f"/p/reports/{second.ref}/duplicate", data={"decision": "merge"}).status_code == 403
    office.post(f"/p/reports/{second.ref}/duplicate", data={"decision": "merge"})
    db.session.expire_all()
    second = _report(second.ref)
    assert second.status == "closed" and second.duplicate_state == "merged" and first.ref in second.office_note
    assert first.ref in demo_client.get(f"/p/t/{second.ref}").get_data(as_text=True)
    with pytest.raises(ServiceError):
        report_duplicates.dismiss(office_user, second)  # decided already

    third = _report(ref_from(submit(demo_client, road)))
    assert third.duplicate_of_id == first.id
    office.post(f"/p/reports/{third.ref}/duplicate", data={"decision": "dismiss"})
    db.session.expire_all()
    third = _report(third.ref)
    assert third.duplicate_state == "dismissed" and third.status == "received"
    assert re.search("核实为单独问题", demo_client.get(f"/p/t/{third.ref}").get_data(as_text=True))
    assert public_reports.FINAL == ("closed", "rejected")
