"""The operations forms on a 360-px phone (issue #14 point 5): no page scrolls sideways, inputs
take the full width with large touch targets, and the event form's GPS button fills the
longitude and latitude — or says in Chinese that the position was refused. Fixtures in
tests/e2e/conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from sqlalchemy import select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e

TOWN = "640381100"
# every input, select, textarea and button of the page's forms: (name, width, height, full width?)
CONTROLS = """() => {
  const out = [];
  document.querySelectorAll('main form input, main form select, main form textarea, main form button').forEach((el) => {
    if (el.type === 'hidden' || el.type === 'checkbox' || el.type === 'radio' || el.offsetParent === null) return;
    const r = el.getBoundingClientRect();
    const box = el.closest('.field, fieldset, form').getBoundingClientRect();
    out.push({name: el.name || el.id || el.textContent.trim().slice(0, 12), tag: el.tagName, width: r.width,
              height: r.height, full: r.width >= box.width - 2, inline: !!el.closest('.inline-form, .detour-tools, .table-wrap')});
  });
  return out;
}"""


@pytest.fixture(scope="module")
def ops(live_server, e2e_password):
    """A town office user, an event and an asset of its town."""
    from roadchief.models import Segment, Town
    from roadchief.services import assets, events
    from roadchief.services.accounts import create_user

    with live_server.context() as session:
        town = session.scalar(select(Town).where(Town.code == TOWN))
        segment = session.scalar(select(Segment).where(Segment.town_id == town.id).order_by(Segment.id))
        office = create_user("phone-town", "town_office", e2e_password, town=TOWN, display_name=f"{town.name}路长办")
        create_user("phone-city", "city_office", e2e_password, display_name="市路长办")
        event = events.create_event(
            office,
            events.EventInput(segment_id=segment.id, kind="landslide", severity="minor", occurred_at=datetime.now(UTC)),
        )
        asset = assets.create_asset(
            office,
            assets.AssetInput(kind="sign", code="PH-001", segment_id=segment.id, name="限速标志", stake="K0+050"),
        )
        return {"event": event.id, "asset": asset.id, "road": segment.road.code}


def _pages(ops) -> list[str]:
    return [
        "/ops/",
        "/ops/events",
        "/ops/events/new",
        f"/ops/events/{ops['event']}",
        "/ops/duty",
        "/ops/stock",
        "/ops/plan",
        "/ops/assets",
        "/ops/assets/new",
        f"/ops/assets/{ops['asset']}",
        f"/ops/assets/{ops['asset']}/edit",
        f"/ops/roads/{ops['road']}",
    ]


@pytest.mark.parametrize("user", ["phone-town", "phone-city"])
def test_every_ops_form_fits_a_360_px_phone(live_server, ops, new_page, sign_in, user):
    page = sign_in(new_page(phone=True), user)
    problems = []
    for path in _pages(ops):
        response = page.goto(live_server.url + path)
        if response.status == 403:
            continue
        assert response.ok, (path, response.status)
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        if width > 360:
            problems.append(f"{path}: scrollWidth {width}")
        for c in page.evaluate(CONTROLS):
            if c["height"] < 40:
                problems.append(f"{path}: {c['tag']} {c['name']} only {c['height']:.0f} px high")
            if c["tag"] != "BUTTON" and not c["inline"] and not c["full"]:
                problems.append(f"{path}: {c['tag']} {c['name']} not full width ({c['width']:.0f} px)")
    assert problems == [], "\n".join(problems)
    assert page.errors == [], page.errors


def test_event_form_gps_button_fills_the_position_or_says_why_not(live_server, ops, new_page, sign_in):
    page = sign_in(new_page(phone=True), "phone-town")
    context = page.context
    context.grant_permissions(["geolocation"], origin=live_server.url)
    context.set_geolocation({"longitude": 106.0123456, "latitude": 38.0234567, "accuracy": 8})
    page.goto(live_server.url + "/ops/events/new")
    page.click(".js-gps-fill")
    page.wait_for_function("() => document.querySelector('#lon').value !== ''")
    assert page.input_value("#lon") == "106.012346" and page.input_value("#lat") == "38.023457"
    assert "已定位" in page.inner_text("#gps-status") and "8 米" in page.inner_text("#gps-status")
    page.goto(live_server.url + "/ops/assets/new")  # the asset form too, and it switches to 按经纬度
    page.click(".js-gps-fill")
    page.wait_for_function("() => document.querySelector('#lat').value !== ''")
    assert page.input_value("#lon") == "106.012346" and page.is_checked("#position-point")

    denied = sign_in(new_page(phone=True), "phone-town")
    denied.context.clear_permissions()
    denied.goto(live_server.url + "/ops/events/new")
    denied.click(".js-gps-fill")
    denied.wait_for_function("() => document.querySelector('#gps-status').textContent.indexOf('定位中') < 0")
    assert "未获得定位权限" in denied.inner_text("#gps-status") and denied.input_value("#lon") == ""
    assert page.errors == [] and denied.errors == []
