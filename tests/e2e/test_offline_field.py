"""The installable offline field app in a real browser (issue #14): after one online visit the
service worker opens the field forms with no network; a 督查 filled offline with two photos
survives reloads and a closed page in IndexedDB, shows in the 待同步 list, and once online is
stored exactly once with both photos (resized on the phone to ≤ 1600 px); signing out empties
the cached pages, so the next user never sees them. Fixtures in tests/e2e/conftest.py."""

from __future__ import annotations

import re
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


@pytest.fixture(scope="module")
def field(live_server, e2e_password):
    """A town office user and a segment of its town (from the demo data)."""
    from roadchief.models import Segment, Town
    from roadchief.services.accounts import create_user

    with live_server.context() as session:
        town = session.scalar(select(Town).where(Town.code == TOWN))
        segment = session.scalar(select(Segment).where(Segment.town_id == town.id).order_by(Segment.id))
        create_user("pwa-town", "town_office", e2e_password, town=TOWN, display_name=f"{town.name}路长办")
        return {"segment_id": segment.id, "road_code": segment.road.code}


TAKEN = "2026:11:30 09:15:00"


def _photo(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    """A camera-like JPEG: some structure, and the EXIF 拍摄时间 TAKEN."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for i in range(0, size[0], 60):
        draw.line([(i, 0), (size[0] - i, size[1])], fill=(255 - colour[0], 120, 255 - colour[2]), width=5)
    exif = Image.Exif()
    exif[0x0112] = 1  # Orientation
    exif.get_ifd(0x8769)[36867] = TAKEN  # DateTimeOriginal
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def _inspections_with_note(live_server, note: str):
    from roadchief.models.inspections import Inspection

    with live_server.context() as session:
        found = session.scalars(select(Inspection).where(Inspection.note == note)).all()
        return [
            (
                i.id,
                [(p.width, p.height, p.finding_id, p.client_id, p.sha256, p.taken_at) for p in i.photos],
                [f.id for f in i.findings],
            )
            for i in found
        ]


def test_service_worker_opens_the_field_forms_offline_and_forgets_them_on_sign_out(
    live_server, field, new_page, sign_in
):
    page = sign_in(new_page(phone=True), "pwa-town")
    manifest = page.request.get(live_server.url + "/manifest.webmanifest")
    assert manifest.ok and manifest.json()["short_name"] == "路长制"
    assert "image/png" in page.request.get(live_server.url + manifest.json()["icons"][0]["src"]).headers["content-type"]
    worker = page.request.get(live_server.url + "/sw.js")
    assert worker.headers["service-worker-allowed"] == "/" and "roadchief-static-" in worker.text()

    page.goto(live_server.url + "/inspections/new")
    page.wait_for_function(READY)  # both field pages are kept for this user
    context = page.context
    context.set_offline(True)
    try:
        response = page.reload()
        assert response.from_service_worker
        assert page.locator("h1").inner_text() == "新建检查记录"
        page.wait_for_function("() => !navigator.onLine")
        page.goto(live_server.url + "/ops/events/new")
        assert page.locator("h1").inner_text() == "登记突发事件"
        # the map assets come from the worker's cache too
        page.wait_for_function("() => !!window.L && document.querySelectorAll('#detour-map .leaflet-pane').length > 0")
        # submitting it offline keeps it on the phone (event-form.js; the whole story is in
        # tests/e2e/test_offline_event.py); it has no segment, so the server refuses it later
        page.fill("#description", "路面塌陷约 2 米")
        page.click("form[data-offline-guard] button[type=submit]")
        page.wait_for_selector("#event-offline-status:not([hidden])")
        assert "事件已保存在本机（待同步）" in page.inner_text("#event-offline-status")
        assert page.url.endswith("/ops/events/new") and page.input_value("#description") == ""
        page.evaluate(
            "() => window.RoadchiefQueue.all().then(items => Promise.all(items.map(i => window.RoadchiefQueue.remove(i.id))))"
        )
    finally:
        context.set_offline(False)

    # signing out tells the worker: the cached pages are dropped, offline shows the notice instead
    page.goto(live_server.url + "/inspections/new")
    page.click(".nav-toggle")
    page.click(".user-menu summary")
    page.click(".logout-form button")
    page.wait_for_url(re.compile(r".*/login.*"))
    page.wait_for_function("() => document.documentElement.getAttribute('data-offline-ready') === '0'")
    context.set_offline(True)
    try:
        page.goto(live_server.url + "/inspections/new")
        assert "当前无网络" in page.locator("h1").inner_text()
        assert page.locator("#inspect-form").count() == 0
    finally:
        context.set_offline(False)
    assert page.errors == [], page.errors


def test_an_inspection_with_two_photos_filled_offline_is_stored_once_after_reload_and_close(
    live_server, field, new_page, sign_in, tmp_path
):
    big = _photo(tmp_path / "big.jpg", (2400, 1800), (90, 90, 110))  # resized on the phone
    small = _photo(tmp_path / "small.jpg", (800, 600), (140, 100, 60))  # kept as it is
    note = f"离线督查 {time.time_ns()}"

    page = sign_in(new_page(phone=True), "pwa-town")
    context = page.context
    page.goto(live_server.url + "/inspections/new")
    page.wait_for_function(READY)
    # at the office: find the segment (the draft keeps the list and the tick)
    page.fill("#q", field["road_code"])
    page.click(".js-search-form button[type=submit]")
    box = page.locator(f"input[name=segment_ids][value='{field['segment_id']}']")
    box.wait_for()
    box.check()

    context.set_offline(True)
    page.reload()
    page.wait_for_function("() => !navigator.onLine")
    page.wait_for_function(
        f"() => document.querySelector(\"input[name=segment_ids][value='{field['segment_id']}']\")?.checked"
    )
    item = page.locator("#f-0-item option").nth(1).get_attribute("value")
    page.select_option("#f-0-item", item)
    page.fill("#f-0-note", "K0+100 坑槽")
    page.fill("#note", note)
    page.set_input_files("#f-0-photos", [str(big), str(small)])
    page.wait_for_function("() => document.querySelectorAll('.photo-item').length === 2")

    # a reload offline loses nothing: text and both photos come back from IndexedDB
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('.photo-item').length === 2")
    assert page.input_value("#note") == note and page.input_value("#f-0-item") == item
    assert "照片 2 张" in page.locator("#draft-banner").inner_text()

    page.click(".btn-submit")
    page.wait_for_function(
        "() => document.querySelector('#submit-status').textContent.indexOf('待同步') >= 0"
        " && document.querySelector('.js-sync-count').textContent === '1'"
    )
    sync = page.locator(".js-sync-box")
    assert "等待网络" in sync.inner_text() and "照片 2 张" in sync.inner_text()
    assert page.locator(".photo-item").count() == 0 and page.input_value("#note") == ""  # a fresh form

    page.reload()  # still offline: the queue is still there
    page.wait_for_function("() => document.querySelector('.js-sync-count').textContent === '1'")
    page.close()
    assert _inspections_with_note(live_server, note) == []

    # back online, a new page of the same browser sends it by itself
    context.set_offline(False)
    again = context.new_page()
    again.goto(live_server.url + "/inspections/")
    deadline = time.monotonic() + 20
    while not (stored := _inspections_with_note(live_server, note)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(stored) == 1, stored
    _, photos, finding_ids = stored[0]
    assert len(photos) == 2 and {p[2] for p in photos} == set(finding_ids)
    assert all(max(w, h) <= 1600 for w, h, *_ in photos) and {(w, h) for w, h, *_ in photos} == {
        (1600, 1200),
        (800, 600),
    }
    assert all(p[3] and len(p[4]) == 64 for p in photos)  # each with its client id and receipt hash
    assert {p[5].strftime("%Y:%m:%d %H:%M:%S") for p in photos} == {TAKEN}  # the resized one keeps its EXIF time

    again.goto(live_server.url + "/inspections/new")
    again.wait_for_function("() => document.querySelector('.js-sync-count').textContent === '0'")
    time.sleep(1)
    assert len(_inspections_with_note(live_server, note)) == 1  # sent once, never twice


def test_a_lost_response_is_sent_again_and_stored_once(live_server, field, chromium_browser, sign_in, tmp_path):
    """The server stores the form but the answer never reaches the phone: the queue keeps the
    submission, sends it again, gets the stored record's receipts and only then forgets it."""
    from tests.e2e.conftest import PHONE

    photo = _photo(tmp_path / "one.jpg", (640, 480), (60, 120, 90))
    note = f"回执丢失 {time.time_ns()}"
    # no worker here, so that the page's own requests can be intercepted
    context = chromium_browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", service_workers="block"
    )
    try:
        page = sign_in(context.new_page(), "pwa-town")
        page.goto(live_server.url + "/inspections/new")
        page.fill("#q", field["road_code"])
        page.click(".js-search-form button[type=submit]")
        page.locator(f"input[name=segment_ids][value='{field['segment_id']}']").check()
        page.select_option("#f-0-item", page.locator("#f-0-item option").nth(1).get_attribute("value"))
        page.fill("#note", note)
        spare = _photo(tmp_path / "spare.jpg", (320, 240), (200, 60, 60))
        page.set_input_files("#f-0-photos", [str(spare), str(photo)])
        page.wait_for_function("() => document.querySelectorAll('.photo-item').length === 2")
        page.locator(".photo-item .js-remove-photo").first.click()  # changed their mind about one
        page.wait_for_function("() => document.querySelectorAll('.photo-item').length === 1")

        lost = []

        def drop_the_answer(route):
            if route.request.method == "POST" and not lost:
                lost.append(route.fetch().status)  # the server gets it and answers...
                route.abort()  # ...but the phone never hears back
            else:
                route.continue_()

        page.route("**/inspections/new", drop_the_answer)
        page.click(".btn-submit")
        page.wait_for_function(
            "() => document.querySelector('#submit-status').textContent.indexOf('网络中断') >= 0"
            " && document.querySelector('.js-sync-count').textContent === '1'"
            " && document.querySelector('.js-sync-list').textContent.indexOf('等待网络') >= 0"
        )
        assert lost == [200]
        assert len(_inspections_with_note(live_server, note)) == 1  # stored, though the phone does not know

        page.click(".js-sync-now")
        page.wait_for_function("() => document.querySelector('.js-sync-count').textContent === '0'")
        assert "已同步" in page.locator(".js-sync-done").inner_text()
        stored = _inspections_with_note(live_server, note)
        assert len(stored) == 1 and len(stored[0][1]) == 1  # one inspection, its one photo, not two
        assert stored[0][1][0][:2] == (640, 480)  # the photo kept, not the one removed
    finally:
        context.close()


def test_a_queued_inspection_survives_closing_the_whole_browser(
    live_server, field, chromium_browser, e2e_password, tmp_path
):
    """A persistent profile: queued offline, the browser closed; started again (signed in anew,
    as the session cookie is gone with the browser), the queue is sent from the first page."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE

    photo = _photo(tmp_path / "p.jpg", (1200, 900), (30, 90, 140))
    note = f"关闭浏览器 {time.time_ns()}"
    profile = tmp_path / "profile"

    def launch():
        return chromium_browser.browser_type.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, viewport=PHONE, locale="zh-CN"
        )

    def signed_in(context):
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(live_server.url + "/login")
        if page.locator("#username").count():
            page.fill("#username", "pwa-town")
            page.fill("#password", e2e_password)
            page.click("form button[type=submit]")
            page.wait_for_url(live_server.url + "/")
        return page

    context = launch()
    try:
        page = signed_in(context)
        page.goto(live_server.url + "/inspections/new")
        page.wait_for_function(READY)
        page.fill("#q", field["road_code"])
        page.click(".js-search-form button[type=submit]")
        page.locator(f"input[name=segment_ids][value='{field['segment_id']}']").check()
        context.set_offline(True)
        page.select_option("#f-0-item", page.locator("#f-0-item option").nth(1).get_attribute("value"))
        page.fill("#note", note)
        page.set_input_files("#f-0-photos", str(photo))
        page.wait_for_function("() => document.querySelectorAll('.photo-item').length === 1")
        page.click(".btn-submit")
        page.wait_for_function("() => document.querySelector('.js-sync-count').textContent === '1'")
    finally:
        context.close()  # the whole browser: only the profile on disk is left
    assert _inspections_with_note(live_server, note) == []

    context = launch()
    try:
        signed_in(context)  # the map page: the queue goes from there
        deadline = time.monotonic() + 20
        while not (stored := _inspections_with_note(live_server, note)) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(stored) == 1 and len(stored[0][1]) == 1
    finally:
        context.close()
