"""Routing of rectifications (#13 point 1): the chiefs who do the work see and answer a 整改
as the assessed chief does; an assignee with no account is flagged 无账号 to the offices, who
hand it to another person in one step."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import AuditEntry, Chief
from roadchief.models.routing import RectificationAssignee
from roadchief.services import Invalid, rectification_routing, rectifications
from tests.conftest import login, make_user
from tests.integration.test_inspections import XIAOBA, at, chief_of, image_bytes, record, town_id, upload

DAY = date(2022, 3, 1)


def maintainer_segment():
    """A segment of 小坝镇 with a 路段管养责任人 of its own (and so a village, a 村级路长)."""
    for maintainer in db.session.scalars(
        select(Chief).where(Chief.position.in_(("cleaner", "public_welfare", "hired"))).order_by(Chief.id)
    ):
        segment = maintainer.assignments[0].segment
        if segment is not None and segment.village_id and segment.town.code == XIAOBA and not segment.station_id:
            return maintainer, segment
    raise AssertionError("the demo roster has a 小坝镇 maintainer")


def test_city_finding_on_a_village_road_reaches_the_village_chief_and_the_maintainer(demo_app):
    maintainer, segment = maintainer_segment()
    village_chief = chief_of("village", segment.village_id, DAY)
    town_chief = chief_of("town", town_id(XIAOBA), DAY)
    city = make_user("city_office")
    rect = record(city, [segment], [("LM03", 1)], when=at(2022, 3, 1)).inspection.findings[0].rectification
    # the score hits the 镇级路长 (第二十条); the work is the village's
    assert rect.chief_id == town_chief.id and rect.finding.chief_id == town_chief.id
    roles = {a.chief_id: a.role for a in rect.assignees}
    assert roles == {town_chief.id: "assessed", village_chief.id: "worker", maintainer.id: "worker"}

    village_user = make_user("chief", chief_id=village_chief.id)
    assert [r.id for r in rectifications.list_rectifications(village_user, state="active")] == [rect.id]
    assert rectifications.actors_for(village_user, rect) == {"chief"}
    # … and on his 督查 home (我的整改), answer form included
    assert [r.id for r in rectifications.list_rectifications(village_user, chief_id=village_chief.id)] == [rect.id]
    client = demo_app.test_client()
    login(client, village_user)
    assert f'id="photo-{rect.id}"' in client.get("/inspections/").get_data(as_text=True)
    stranger = make_user("chief", chief_id=_other_village_chief(segment))
    assert rect.id not in [r.id for r in rectifications.list_rectifications(stranger, state="active")]
    with pytest.raises(PermissionError):
        rectifications.act(stranger, rect, "complete", "x", upload(image_bytes()), demo_app.config["UPLOAD_DIR"])
    rectifications.act(village_user, rect, "complete", "已修补", upload(image_bytes()), demo_app.config["UPLOAD_DIR"])
    assert rect.state == "done"
    rectifications.act(city, rect, "verify")
    assert rect.state == "verified"
    # the assessed chief is still the one charged if it had been late (Rectification.chief_id)
    assert rect.chief_id == town_chief.id


def _other_village_chief(segment) -> int:
    """A 村级路长 of another village (who must not see this segment's 整改)."""
    for chief in db.session.scalars(select(Chief).where(Chief.position == "village").order_by(Chief.id)):
        if all(a.village_id != segment.village_id for a in chief.assignments):
            return chief.id
    raise AssertionError


def test_no_account_is_flagged_and_reassigned_in_one_step(demo_app):
    maintainer, segment = maintainer_segment()
    town_chief = chief_of("town", town_id(XIAOBA), DAY)
    village_chief = chief_of("village", segment.village_id, DAY)
    town_office = make_user("town_office", town=XIAOBA)
    rect = record(town_office, [segment], [("LM03", 1)], when=at(2022, 3, 1)).inspection.findings[0].rectification
    # a town's 督查 assesses the 村级路长; the maintainer does the work
    assert {a.chief_id: a.role for a in rect.assignees} == {village_chief.id: "assessed", maintainer.id: "worker"}
    assert {a.chief_id for a in rectification_routing.without_account(rect)} == {village_chief.id, maintainer.id}
    make_user("chief", chief_id=village_chief.id)
    assert [a.chief_id for a in rectification_routing.without_account(rect)] == [maintainer.id]

    # only people with an account, answering for the segment or the town, are offered
    offered = dict(rectification_routing.candidates(rect))
    assert offered == {}  # nobody else of 小坝镇 has an account yet
    town_user = make_user("chief", chief_id=town_chief.id)
    offered = dict(rectification_routing.candidates(rect))
    assert list(offered) == [town_chief.id]
    row = next(a for a in rect.assignees if a.chief_id == maintainer.id)
    with pytest.raises(Invalid):
        rectification_routing.reassign(town_office, rect, row.id, maintainer.id)
    other_town = make_user("town_office", town="640381101")
    with pytest.raises(PermissionError):
        rectification_routing.reassign(other_town, rect, row.id, town_chief.id)

    client = demo_app.test_client()
    login(client, town_office)
    page = client.get("/inspections/rectifications").get_data(as_text=True)
    assert "无账号" in page and maintainer.name in page
    response = client.post(
        f"/rectifications/{rect.id}/assignees/{row.id}", data={"chief_id": town_chief.id}, follow_redirects=True
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert rectification_routing.without_account(rect) == []
    assert {a.chief_id for a in rect.assignees} == {village_chief.id, town_chief.id}
    assert rectifications.actors_for(town_user, rect) == {"chief"}
    audit = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "rectification_assignee", AuditEntry.action == "update")
    ).all()
    assert audit and re.search(rf'"chief_id": {town_chief.id}\b', audit[-1].after)
    # a chief or a stranger office cannot post the form
    chief_client = demo_app.test_client()
    login(chief_client, town_user)
    assert chief_client.post(f"/rectifications/{rect.id}/assignees/{row.id}", data={"chief_id": 1}).status_code == 403


def test_assignee_table_refuses_a_bad_role(demo_app):
    maintainer, segment = maintainer_segment()
    rect = record(make_user("city_office"), [segment], [("LM03", 1)], when=at(2022, 3, 1)).inspection.findings[0]
    db.session.add(RectificationAssignee(rectification_id=rect.rectification.id, chief_id=maintainer.id, role="boss"))
    with pytest.raises(Exception, match="(?i)check|constraint"):
        db.session.flush()
    db.session.rollback()


def _migration_routing():
    import importlib.util
    from pathlib import Path

    from roadchief import MIGRATIONS_DIR

    path = Path(MIGRATIONS_DIR) / "versions" / "0014_rectification_routing.py"
    spec = importlib.util.spec_from_file_location("migration_routing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_backfills_assignees_and_report_history(demo_app, demo_client):
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import text

    from roadchief.services import public_reports
    from tests.integration.test_public import ref_from, submit, village_road

    maintainer, segment = maintainer_segment()
    town_office = make_user("town_office", town=XIAOBA)
    rect = record(town_office, [segment], [("LM03", 1)], when=at(2022, 3, 1)).inspection.findings[0].rectification
    rect_id, owner = rect.id, rect.chief_id
    road = village_road()
    ref = ref_from(submit(demo_client, road))
    report = public_reports.find_report(ref)
    public_reports.act(report, make_user("city_office"), "reject", note="不属于农村公路")
    report_id = report.id
    db.session.remove()
    with db.engine.connect() as conn:
        outer = conn.begin()
        with Operations.context(MigrationContext.configure(conn)):
            migration = _migration_routing()
            migration.downgrade()
            migration.upgrade()
            rows = conn.execute(
                text("SELECT chief_id, role FROM rectification_assignee WHERE rectification_id = :r"), {"r": rect_id}
            ).all()
            assert [tuple(r) for r in rows] == [(owner, "assessed")]  # the workers are not guessed afterwards
            steps = conn.execute(
                text("SELECT action, status FROM public_report_event WHERE report_id = :r ORDER BY id"),
                {"r": report_id},
            ).all()
            assert [tuple(s) for s in steps] == [("submit", "received"), ("reject", "rejected")]
        outer.rollback()  # leave the shared schema as the migration made it
