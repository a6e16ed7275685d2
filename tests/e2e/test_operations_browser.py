"""Operations in a real browser (fixtures in tests/e2e/conftest.py): on a 360-px phone a
town office records a 交通中断 with a warning sign and draws the detour by tapping the
small Leaflet map (static detour.js, no inline script); the event page shows the segment
and the drawn detour. No script or CSP errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from sqlalchemy import select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e

TOWN = "640381100"


@pytest.fixture(scope="module")
def office(live_server, e2e_password):
    """A town office user and a segment of its town (from the demo data)."""
    from roadchief.models import Segment, Town
    from roadchief.services.accounts import create_user

    with live_server.context() as session:
        town = session.scalar(select(Town).where(Town.code == TOWN))
        segment = session.scalar(select(Segment).where(Segment.town_id == town.id).order_by(Segment.id))
        create_user("ops-town", "town_office", e2e_password, town=TOWN, display_name=f"{town.name}路长办")
        return {"segment_id": segment.id, "road_code": segment.road.code}


def test_phone_records_a_closure_and_draws_the_detour(live_server, office, new_page, sign_in):
    from roadchief.models.operations import RoadEvent

    page = sign_in(new_page(phone=True), "ops-town")
    page.goto(live_server.url + "/ops/")
    page.click("text=登记突发事件")
    page.wait_for_url(re.compile(r".*/ops/events/new$"))

    # picking the segment draws it on the detour map
    page.select_option("#segment_id", str(office["segment_id"]))
    page.wait_for_function(
        "() => document.querySelectorAll('#detour-map svg path').length >= 2"
    )  # segment (+ empty detour)
    page.check("input[name=closed]")
    page.fill("#warning_sign", "K0+100、K0+600 两端设置“前方断路”警示牌")

    # three taps on the map make the detour line; undo and tap again
    box = page.locator("#detour-map").bounding_box()
    assert box["width"] <= 360
    taps = [(0.35, 0.45), (0.55, 0.7), (0.8, 0.35)]
    for fx, fy in taps:
        page.locator("#detour-map").tap(position={"x": box["width"] * fx, "y": box["height"] * fy})
    page.wait_for_function("() => document.querySelector('.detour-count').textContent.indexOf('3') >= 0")
    page.click("[data-detour-action=undo]")
    assert "再点" not in page.text_content(".detour-count") and "2" in page.text_content(".detour-count")
    page.locator("#detour-map").tap(position={"x": box["width"] * taps[2][0], "y": box["height"] * taps[2][1]})
    page.wait_for_function("() => document.querySelector('.detour-count').textContent.indexOf('3') >= 0")
    drawn = json.loads(page.input_value("#detour_geometry"))
    assert drawn["type"] == "LineString" and len(drawn["coordinates"]) == 3

    page.click("form[action$='/ops/events/new'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/ops/events/\d+$"))
    assert "交通中断" in page.text_content(".page-head .badge")
    # the detail map draws the segment and the detour line (SVG paths, the detour in its own colour)
    page.wait_for_selector("#event-map svg path")
    assert page.locator("#event-map svg path").count() >= 2
    assert page.locator('#event-map path[stroke="#d84315"]').count() >= 1
    assert page.errors == [], page.errors

    event_id = int(page.url.rsplit("/", 1)[1])
    with live_server.context() as session:
        event = session.get(RoadEvent, event_id)
        assert event.interrupted and event.segment_id == office["segment_id"]
        assert json.loads(event.detour_geometry)["coordinates"] == drawn["coordinates"]
