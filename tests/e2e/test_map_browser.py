"""The map in a real browser: headless Chromium (Playwright) against the app served
by waitress on 127.0.0.1 with the demo database.

Skipped cleanly when Playwright or /usr/bin/chromium is missing
(`pip install playwright`, `apt-get install chromium`). A failing test leaves a
screenshot under reports/e2e/.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip("playwright is not installed", allow_module_level=True)
if not CHROMIUM.exists():  # pragma: no cover
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

from sqlalchemy import select  # noqa: E402

from roadchief import create_app  # noqa: E402
from roadchief.extensions import db  # noqa: E402
from roadchief.models import Road, Segment  # noqa: E402
from roadchief.services.accounts import create_user  # noqa: E402
from roadchief.services.chiefs import AssignmentIndex  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "E2e-pass-123"
XSS = "<img src=x onerror=alert(1)>"
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "e2e"
CODE = re.compile(r"[XYCZ]\d{3}640381")


@pytest.fixture(scope="module")
def server(databases):
    """The app on a copy of the demo database, served by waitress in a thread."""
    from waitress.server import create_server

    app = create_app({"SQLALCHEMY_DATABASE_URI": databases.fresh_url(demo=True), "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_user("office", "city_office", PASSWORD, display_name="市路长办")
        # a road with a hostile name, on a village road whose chief also signs in
        segment = db.session.scalars(
            select(Segment).join(Road).where(Road.road_class == "村道").order_by(Segment.id)
        ).first()
        segment.road.name = XSS
        village_chief = next(
            c.chief
            for c in AssignmentIndex(__import__("datetime").date.today()).chiefs_for(segment)
            if c.position == "village"
        )
        create_user("villagechief", "chief", PASSWORD, chief_id=village_chief.id)
        db.session.commit()
        info = {"xss_code": segment.road.code, "xss_segment": segment.id, "xss_chief": village_chief.id}
        db.session.remove()
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{srv.effective_port}", "app": app, **info}
    srv.close()
    srv.task_dispatcher.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _page(browser, request, server, width=1280, height=800, mobile=False):
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile, locale="zh-CN"
    )
    page = context.new_page()
    page.dialogs = []
    page.errors = []

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            page.errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.set_default_timeout(15000)
    return context, page


@pytest.fixture
def page(browser, request, server):
    failed_before = request.session.testsfailed
    context, page = _page(browser, request, server)
    yield page
    if request.session.testsfailed > failed_before:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def phone(browser, request, server):
    failed_before = request.session.testsfailed
    context, page = _page(browser, request, server, 360, 740, mobile=True)
    yield page
    if request.session.testsfailed > failed_before:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page, server, username="office"):
    page.goto(server["url"] + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server["url"]) + r"/(dashboard/)?$"))  # the home: 总览 or the map
    if page.url != server["url"] + "/":
        page.goto(server["url"] + "/")
    wait_for_map(page)


def wait_for_map(page, loads=1):
    # functions, not expressions: Playwright evaluates a bare expression with eval(), which our CSP refuses
    page.wait_for_function(
        "(n) => Number(document.getElementById('map').getAttribute('data-loads') || 0) >= n", arg=loads
    )


def clean(page):
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    assert page.errors == [], f"script errors: {page.errors}"


def point_on_a_segment(page, index=None):
    """Page coordinates of a point half-way along one drawn segment (its clickable line)."""
    return page.evaluate(
        """(index) => {
        const paths = [...document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')];
        const path = paths[index === null ? Math.floor(paths.length / 2) : index];
        const p = path.getPointAtLength(path.getTotalLength() / 2);
        const m = path.getScreenCTM();
        return {x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f};
    }""",
        index,
    )


def centre(page):
    return page.evaluate(
        "() => { const c = window.roadchiefMap.map.getCenter(); return [c.lat, c.lng, window.roadchiefMap.map.getZoom()]; }"
    )


# ---------------------------------------------------------------------------


def test_the_map_draws_the_demo_network(page, server):
    sign_in(page, server)
    assert page.title().startswith("地图")
    assert int(page.get_attribute("#map", "data-index")) == 365
    assert page.locator(".leaflet-overlay-pane path").count() > 100
    assert page.locator(".map-legend").is_visible()
    assert "行政等级" in page.locator(".map-legend").inner_text()
    # colour by latest grade: the legend follows
    page.select_option(".legend-mode", "grade")
    assert "无评分" in page.locator(".map-legend").inner_text()
    clean(page)


def test_the_map_controls_speak_chinese(page, server):
    sign_in(page, server)
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "放大"
    assert page.get_attribute(".leaflet-control-zoom-out", "title") == "缩小"
    assert page.get_attribute(".leaflet-control-layers-toggle", "title") == "图层"
    scale = page.locator(".leaflet-control-scale-line").inner_text()
    assert re.fullmatch(r"\d+ (米|公里)", scale), scale
    html = page.content()
    assert "Zoom in" not in html and "Zoom out" not in html and 'title="Layers"' not in html
    point = point_on_a_segment(page)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(".leaflet-popup-close-button")
    assert page.get_attribute(".leaflet-popup-close-button", "aria-label") == "关闭"
    clean(page)


def test_clicking_a_segment_opens_its_popup(page, server):
    sign_in(page, server)
    point = point_on_a_segment(page)
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    code = popup.locator(".seg-popup-code").inner_text()
    assert CODE.fullmatch(code)
    text = popup.inner_text()
    assert "桩号" in text and re.search(r"K\d+\+\d{3} – K\d+\+\d{3}", text)
    assert "列养里程" in text and " km" in text
    link = popup.locator("a.seg-popup-link")
    assert link.inner_text() == "路段详情"
    assert re.fullmatch(r"/registry/segments/\d+", link.get_attribute("href"))
    popup.locator(".seg-popup-chief-list").first.wait_for()  # chiefs from /api/v1/segments/<id>
    # The popup grew with the chiefs and Leaflet auto-pans to fit it: on a loaded machine a click
    # during that pan lands on the moving map (which closes the popup) instead of the link.
    page.wait_for_function("() => !(window.roadchiefMap.map._panAnim && window.roadchiefMap.map._panAnim._inProgress)")
    with page.expect_navigation(url=re.compile(r".*/registry/segments/\d+$")):
        link.click()
    assert code in page.locator("h1").inner_text()
    clean(page)


def test_searching_a_road_code_zooms_to_it(page, server):
    sign_in(page, server)
    before = centre(page)
    page.fill(".map-search-input", server["xss_code"])
    page.locator(".map-search-results .map-search-hit").first.wait_for()
    page.press(".map-search-input", "Enter")
    page.wait_for_function("(z) => window.roadchiefMap.map.getZoom() > z", arg=before[2])
    page.wait_for_timeout(500)
    after = centre(page)
    assert (round(after[0], 5), round(after[1], 5)) != (round(before[0], 5), round(before[1], 5))
    assert after[2] > before[2]
    clean(page)


def test_a_hostile_road_name_shows_literally_and_runs_nothing(page, server):
    sign_in(page, server)
    # in the search results
    page.fill(".map-search-input", server["xss_code"])
    hit = page.locator(".map-search-results .hit-main").first
    hit.wait_for()
    assert XSS in hit.inner_text()
    assert page.locator(".map-search-results img").count() == 0
    page.press(".map-search-input", "Escape")
    # in the popup
    page.evaluate("(id) => window.roadchiefMap.openSegment(id)", server["xss_segment"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert popup.locator(".seg-popup-name").inner_text() == XSS
    assert popup.locator(".seg-popup-code").inner_text() == server["xss_code"]
    popup.locator(".seg-popup-chief-list").first.wait_for()
    assert page.locator(".leaflet-popup img, .map-search img").count() == 0
    page.wait_for_timeout(300)
    # and on the registry pages
    page.goto(server["url"] + f"/registry/segments/{server['xss_segment']}")
    assert XSS in page.locator("h1").inner_text()
    page.goto(server["url"] + f"/registry/roads/{server['xss_code']}")
    page.locator("#road-map path").first.wait_for()
    page.wait_for_timeout(300)
    clean(page)


def test_a_chief_sees_their_own_segments(page, server):
    sign_in(page, server, "villagechief")
    count = int(page.get_attribute("#map", "data-index"))
    assert 0 < count < 365
    panel = page.locator("#my-panel")
    assert "我的路段" in panel.inner_text()
    buttons = panel.locator("button.my-segment")
    assert buttons.count() == count
    before = centre(page)
    buttons.first.click()
    page.locator(".leaflet-popup-content .seg-popup-code").wait_for()
    assert centre(page) != before or count == 1
    clean(page)


@pytest.mark.parametrize("username", ["office", "villagechief"])
def test_the_first_view_costs_one_data_request(browser, request, server, username):
    # the county overview and a chief's own roads draw from the first answer (#15 point 1)
    context, page = _page(browser, request, server, width=390, height=844, mobile=True)
    request.addfinalizer(context.close)
    data_requests = []
    page.on("request", lambda r: data_requests.append(r.url) if "/api/v1/segments" in r.url else None)
    sign_in(page, server, username)
    page.wait_for_timeout(800)  # longer than the 250 ms debounce of a second load
    assert len(data_requests) == 1, data_requests
    assert page.locator(".leaflet-overlay-pane path").count() > 0
    assert int(page.get_attribute("#map", "data-features")) == int(page.get_attribute("#map", "data-index"))
    clean(page)


def test_the_map_works_on_a_phone(phone, server):
    sign_in(phone, server)
    assert phone.locator(".leaflet-overlay-pane path").count() > 100
    assert not phone.locator("#site-nav").is_visible()
    phone.click(".nav-toggle")
    assert phone.locator("#site-nav").is_visible()
    assert phone.locator("#site-nav a", has_text="路网登记").is_visible()
    phone.click(".nav-toggle")
    point = point_on_a_segment(phone)
    phone.touchscreen.tap(point["x"], point["y"])
    phone.locator(".leaflet-popup-content .seg-popup-code").wait_for()
    box = phone.locator(".leaflet-popup").bounding_box()
    assert box["width"] <= 360
    clean(phone)


# --------------------------------------------------------------------------- map layers: towns, markers, coverage gaps


def _other_village_segment(server):
    """A listed 村道 segment whose village chief is not the one the chief test signs in as."""
    from roadchief.models import ChiefAssignment

    segments = db.session.scalars(
        select(Segment)
        .join(Road)
        .where(Road.road_class == "村道", Segment.is_listed.is_(True), Segment.village_id.is_not(None))
        .order_by(Segment.id.desc())
    )
    for segment in segments:
        chiefs = db.session.scalars(
            select(ChiefAssignment.chief_id).where(
                ChiefAssignment.scope_kind == "village", ChiefAssignment.village_id == segment.village_id
            )
        ).all()
        if chiefs and server["xss_chief"] not in chiefs:
            return segment
    raise AssertionError("no suitable village segment in the demo")


def test_the_town_outlines_draw_without_tiles(page, server):
    sign_in(page, server)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-towns') === '9'")
    assert "no-tiles" in page.get_attribute("#map", "class")
    assert page.locator(".leaflet-tile").count() == 0
    assert page.locator("path.town-outline").count() == 9
    labels = page.locator(".town-label-text")
    assert labels.count() == 9
    assert "小坝镇" in [labels.nth(i).inner_text() for i in range(9)]
    # under the roads: the towns pane sits below the overlay pane
    z = page.evaluate(
        "() => [getComputedStyle(document.querySelector('.leaflet-towns-pane')).zIndex,"
        " getComputedStyle(document.querySelector('.leaflet-overlay-pane')).zIndex]"
    )
    assert int(z[0]) < int(z[1])
    # the layer switcher lists it, and it can be switched off
    page.hover(".leaflet-control-layers")
    switcher = page.locator(".leaflet-control-layers-overlays")
    for name in ("乡镇边界", "检查记录", "整改（未复核）", "缺少路长"):
        assert name in switcher.inner_text()
    switcher.locator("label", has_text="乡镇边界").locator("input").uncheck()
    assert page.locator("path.town-outline").count() == 0
    clean(page)


def test_inspections_appear_as_clusters_and_an_overdue_rectification_stands_out(page, server):
    from datetime import date, datetime, timedelta

    from flask import current_app

    from roadchief.domain.scoring import LOCAL_TZ
    from roadchief.models.accounts import User
    from roadchief.services import inspections as service

    with server["app"].app_context():
        office = db.session.scalar(select(User).where(User.username == "office"))
        segment = _other_village_segment(server)
        lon, lat = __import__("json").loads(segment.geometry_mid)["coordinates"][0]
        if isinstance(lon, list):
            lon, lat = lon
        for n in range(3):
            when = datetime.now(LOCAL_TZ).replace(microsecond=0) - timedelta(days=3 - n, minutes=5)
            data = service.InspectionInput(
                kind="supervision",
                segment_ids=[segment.id],
                inspected_at=when,
                lon=lon,
                lat=lat,
                deadline=date.today() - timedelta(days=2) if n == 0 else None,
                findings=[service.FindingInput("LM03", 1)],
            )
            service.create_inspection(office, data, current_app.config["UPLOAD_DIR"])
        place = {"lon": lon, "lat": lat, "road": segment.road.name}
        db.session.remove()
    sign_in(page, server)
    page.wait_for_function("() => Number(document.getElementById('map').getAttribute('data-markers') || 0) >= 6")
    assert page.get_attribute("#map", "data-overdue") == "1"
    # at the whole-network zoom the three inspections and the three rectifications cluster
    page.locator(".mc.mc-insp").first.wait_for()
    assert "3" in page.locator(".mc.mc-insp").first.inner_text()
    assert page.locator(".mc.mc-rect.mc-overdue").count() >= 1
    # zoomed in to the spot, clustering stops: an overdue marker of its own, with a popup built from text
    page.evaluate("(p) => window.roadchiefMap.map.setView([p.lat, p.lon], 18)", place)
    page.locator(".mk.mk-overdue").first.wait_for()
    page.locator(".mk.mk-overdue").first.click()
    popup = page.locator(".leaflet-popup-content .mk-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "逾期" in text and "整改期限" in text and "路面裂缝" in text
    assert popup.locator("a").get_attribute("href").startswith("/inspections/")
    assert "查" in page.locator(".mk.mk-insp").first.inner_text()
    clean(page)


def test_a_segment_without_its_village_chief_is_drawn_distinctly(page, server):
    from datetime import date, timedelta

    from roadchief.models import ChiefAssignment

    with server["app"].app_context():
        segment = _other_village_segment(server)
        for a in db.session.scalars(
            select(ChiefAssignment).where(
                ChiefAssignment.scope_kind == "village", ChiefAssignment.village_id == segment.village_id
            )
        ):
            a.end_date = date.today() - timedelta(days=1)
        db.session.commit()
        segment_id = segment.id
        db.session.remove()
    sign_in(page, server)
    page.wait_for_function("() => Number(document.getElementById('map').getAttribute('data-gaps') || 0) >= 1")
    assert segment_id in page.evaluate("() => window.roadchiefMap.gapIds()")
    page.evaluate("(id) => window.roadchiefMap.openSegment(id)", segment_id)
    page.locator(".leaflet-popup-content .seg-popup-missing").wait_for()
    assert "村级路长" in page.locator(".leaflet-popup-content .seg-popup-missing").inner_text()
    gap = page.locator(".leaflet-gaps-pane path.gap-line").first
    gap.wait_for()
    assert gap.get_attribute("stroke") == "#d500f9"
    assert gap.get_attribute("stroke-dasharray")
    assert int(gap.get_attribute("stroke-width")) >= 10
    assert "缺少路长" in page.locator(".map-legend").inner_text()
    clean(page)


def test_an_interrupted_road_event_and_its_detour_show_on_the_map(page, server):
    from datetime import datetime, timedelta

    from roadchief.models.accounts import User
    from roadchief.services import events as service

    with server["app"].app_context():
        office = db.session.scalar(select(User).where(User.username == "office"))
        segment = _other_village_segment(server)
        service.create_event(
            office,
            service.EventInput(
                segment_id=segment.id,
                kind="水毁",
                severity="major",
                occurred_at=datetime.now(UTC) - timedelta(hours=2),
                closed=True,
                warning_sign="K0+100 处设置警示牌",
                detour_road=segment.road.code,
                detour="<b>经邻村道路绕行</b>",
            ),
        )
        db.session.remove()
    sign_in(page, server)
    page.wait_for_function("() => Number(document.getElementById('map').getAttribute('data-events') || 0) >= 1")
    page.locator("path.event-closed").first.wait_for()
    page.evaluate(
        "() => { const l = window.roadchiefMap.operationsLayers.events.getLayers()"
        ".find((x) => x.feature.properties.layer === 'event'); l.openPopup(); }"
    )
    popup = page.locator(".leaflet-popup-content .seg-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "水毁" in text and "交通中断" in text and "<b>经邻村道路绕行</b>" in text  # shown as text, not markup
    clean(page)


def test_screenshots_of_the_layers(browser, request, server):
    """1280×800 and 360×740 views with markers, outlines and gaps, kept under reports/e2e/ to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height, mobile in ((1280, 800, False), (360, 740, True)):
        context, shot = _page(browser, request, server, width, height, mobile=mobile)
        sign_in(shot, server)
        shot.wait_for_function("() => document.getElementById('map').getAttribute('data-towns') === '9'")
        shot.wait_for_function("() => document.getElementById('map').getAttribute('data-markers') !== null")
        shot.wait_for_timeout(600)
        shot.screenshot(path=str(SHOTS / f"map-layers-{width}x{height}.png"))
        clean(shot)
        context.close()
