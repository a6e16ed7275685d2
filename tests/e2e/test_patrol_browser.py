"""The phone's patrol recorder in a real browser (fixtures in tests/e2e/conftest.py): on a
360-px phone with a mocked GPS, an inspector starts a patrol, the page records fixes, a
reload resumes the patrol without losing them, and stopping uploads one track with every fix.
No script or CSP errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from sqlalchemy import select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def patroller(live_server, e2e_password):
    from roadchief.models import Segment
    from roadchief.services.accounts import create_user

    with live_server.context() as session:
        segment = session.scalar(select(Segment).where(Segment.measured_m >= 1000).order_by(Segment.id))
        coords = json.loads(segment.geometry)["coordinates"]
        if isinstance(coords[0][0], list):  # a MultiLineString: its first part
            coords = coords[0]
        create_user("patrol-e2e", "inspector", e2e_password, display_name="巡查员甲")
        return {"coords": coords[:6]}


def test_phone_records_a_patrol_survives_a_reload_and_uploads(live_server, patroller, new_page, sign_in):
    from roadchief.models.patrols import PatrolTrack

    page = sign_in(new_page(phone=True), "patrol-e2e")
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    lon, lat = patroller["coords"][0]
    context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
    page.goto(live_server.url + "/patrols/new")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.click("#patrol-start")
    page.wait_for_function("() => Number(document.getElementById('patrol').dataset.points) >= 1")

    def move_to(point, count):
        context.set_geolocation({"longitude": point[0], "latitude": point[1], "accuracy": 5})
        page.wait_for_function("(n) => Number(document.getElementById('patrol').dataset.points) >= n", arg=count)

    move_to(patroller["coords"][1], 2)
    move_to(patroller["coords"][2], 3)

    # a reload resumes the patrol with the fixes already taken
    page.reload()
    page.wait_for_function("() => Number(document.getElementById('patrol').dataset.points) >= 3")
    assert "已恢复" in page.text_content("#patrol-state")
    assert page.is_disabled("#patrol-start") and not page.is_disabled("#patrol-stop")
    move_to(patroller["coords"][3], 4)
    recorded = int(page.get_attribute("#patrol", "data-points"))

    page.click("#patrol-stop")
    page.wait_for_function("() => document.getElementById('patrol').dataset.uploaded")
    track_id = int(page.get_attribute("#patrol", "data-uploaded"))
    assert page.get_attribute("#patrol", "data-queued") == "0"
    assert "已上传" in page.text_content("#patrol-result")
    assert page.evaluate("() => window.localStorage.getItem('roadchief.patrol.current')") is None
    with live_server.context() as session:
        tracks = list(session.scalars(select(PatrolTrack)))
        assert [t.id for t in tracks] == [track_id]
        assert tracks[0].point_count == recorded and tracks[0].source == "app"
        assert tracks[0].patroller_name == "巡查员甲"
    assert page.errors == []
