"""The disruption event form offline in a real browser (issue #14 point 2): visited online once,
then with no network the typed form survives a reload (draft in IndexedDB), a submit goes into
the 待同步 list, and once online it is stored exactly once. Fixtures in tests/e2e/conftest.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from sqlalchemy import select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e

TOWN = "640381100"
READY = "() => Number(document.documentElement.getAttribute('data-offline-ready') || 0) >= 2"
COUNT = "() => document.querySelector('.js-sync-count').textContent === '{}'"


@pytest.fixture(scope="module")
def segment_id(live_server, e2e_password):
    from roadchief.models import Segment, Town
    from roadchief.services.accounts import create_user

    with live_server.context() as session:
        town = session.scalar(select(Town).where(Town.code == TOWN))
        segment = session.scalar(select(Segment).where(Segment.town_id == town.id).order_by(Segment.id))
        create_user("pwa-event", "town_office", e2e_password, town=TOWN, display_name=f"{town.name}路长办")
        return segment.id


def _events(live_server, description: str):
    from roadchief.models.operations import RoadEvent

    with live_server.context() as session:
        rows = session.scalars(select(RoadEvent).where(RoadEvent.description == description)).all()
        return [(e.id, e.segment_id, e.kind, e.client_uuid) for e in rows]


def test_an_event_filled_offline_survives_a_reload_and_is_stored_once_online(
    live_server, segment_id, new_page, sign_in
):
    description = f"离线登记 路面塌陷 {time.time_ns()}"
    page = sign_in(new_page(phone=True), "pwa-event")
    context = page.context
    page.goto(live_server.url + "/ops/events/new")
    page.wait_for_function(READY)

    context.set_offline(True)
    page.reload()
    page.wait_for_function("() => !navigator.onLine")
    page.select_option("#segment_id", str(segment_id))
    page.select_option("#kind", "landslide")
    page.fill("#description", description)
    page.fill("#warning_sign", "两端设置警示牌")
    page.wait_for_timeout(300)  # the draft is written as typed

    # a reload offline loses nothing: the draft comes back from IndexedDB
    page.reload()
    page.wait_for_function(f"() => document.querySelector('#description').value === {description!r}")
    assert page.input_value("#segment_id") == str(segment_id) and page.input_value("#kind") == "landslide"
    assert page.input_value("#warning_sign") == "两端设置警示牌"
    assert "已从本机恢复" in page.inner_text("#event-offline-status")
    client_uuid = page.input_value("input[name=client_uuid]")
    assert len(client_uuid) == 36

    page.click(".js-event-form button[type=submit]")
    page.wait_for_function(COUNT.format(1))
    assert "待同步" in page.inner_text("#event-offline-status")
    assert "等待网络" in page.inner_text(".js-sync-box")
    assert page.input_value("#description") == ""  # a fresh form, with a new client id
    assert page.input_value("input[name=client_uuid]") not in ("", client_uuid)
    assert page.locator(".js-offline-note:not([hidden])").count() == 0  # not held by offline-guard

    page.reload()  # still offline: still queued, and the fresh form has no old draft
    page.wait_for_function(COUNT.format(1))
    assert page.input_value("#description") == ""
    assert _events(live_server, description) == []

    context.set_offline(False)  # pwa.js sends it when the connection returns
    deadline = time.monotonic() + 20
    while not (stored := _events(live_server, description)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert stored == [(stored[0][0], segment_id, "landslide", client_uuid)]
    page.wait_for_function(COUNT.format(0))
    time.sleep(1)
    assert len(_events(live_server, description)) == 1  # sent once, never twice
    assert page.errors == [], page.errors


def test_a_queued_event_the_server_refuses_goes_back_into_the_form(live_server, segment_id, new_page, sign_in):
    description = f"离线登记 未选路段 {time.time_ns()}"
    page = sign_in(new_page(phone=True), "pwa-event")
    context = page.context
    page.goto(live_server.url + "/ops/events/new")
    page.wait_for_function(READY)
    context.set_offline(True)
    page.reload()
    page.wait_for_function("() => !navigator.onLine")
    page.fill("#description", description)  # no segment, no road code: refused once sent
    page.click(".js-event-form button[type=submit]")
    page.wait_for_function(COUNT.format(1))
    context.set_offline(False)
    page.wait_for_selector(".sync-item.sync-failed", timeout=20000)
    assert "提交失败" in page.inner_text(".js-sync-box")
    assert _events(live_server, description) == []

    page.click(".js-sync-edit")
    page.wait_for_function(f"() => document.querySelector('#description').value === {description!r}")
    page.wait_for_function(COUNT.format(0))
    assert "请修改后重新提交" in page.inner_text("#event-offline-status")
    page.select_option("#segment_id", str(segment_id))
    page.click(".js-event-form button[type=submit]")  # online now: the ordinary post
    page.wait_for_url(lambda url: "/ops/events/new" not in url)
    assert len(_events(live_server, description)) == 1
    page.goto(live_server.url + "/ops/events/new")  # the sent draft is not brought back
    page.wait_for_timeout(500)
    assert page.input_value("#description") == ""
    assert page.errors == [], page.errors
