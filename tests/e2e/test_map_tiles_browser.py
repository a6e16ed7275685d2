"""The province-scale map in a real browser (#15): above MAP_TILES_ABOVE segments the map draws
vector tiles below zoom 13, never asks for the whole network, finds roads through the server's
search, and zooms in to the GeoJSON view where a segment opens. The demo county (365 segments)
stands in for a province by lowering the threshold."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

LIVE_SERVER_CONFIG = {"MAP_TILES_ABOVE": 100}


@pytest.fixture(scope="module")
def office(live_server, e2e_password):
    from roadchief.services.accounts import create_user

    with live_server.context():
        create_user("t-city", "city_office", e2e_password)
    return "t-city"


def a_segment(live_server):
    """A segment that is its road's only one (its search hit opens it) and the road's code."""
    from sqlalchemy import func

    from roadchief.models import Road, Segment

    with live_server.context() as session:
        single = select(Segment.road_id).group_by(Segment.road_id).having(func.count(Segment.id) == 1)
        segment = session.scalar(select(Segment).where(Segment.road_id.in_(single)).order_by(Segment.id))
        road = session.get(Road, segment.road_id)
        return segment.id, road.code, json.loads(segment.geometry)["coordinates"]


def test_the_first_view_is_tiles_and_no_request_carries_the_whole_network(new_page, sign_in, office):
    page = new_page(phone=True)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    sign_in(page, office)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    page.wait_for_timeout(600)  # past the debounce of a view load
    assert page.get_attribute("#map", "data-tiled") == "true"
    tiles = [url for url in asked if "/api/v1/tiles/roads/" in url]
    segments = [url for url in asked if "/api/v1/segments" in url]
    assert tiles and all(url.endswith(".mvt") for url in tiles)
    # each tile drawn once: the class groups joining the map at start are not switches (they were
    # read as four and redrew the whole view four more times, each decode a second on a phone)
    assert len(tiles) == len(set(tiles)), sorted(tiles)
    assert segments == [], segments  # neither the index nor a view's GeoJSON below zoom 13
    assert not [url for url in asked if "/coverage-gaps" in url]  # a list the size of the network
    # the roads are painted on the tiles' canvases
    painted = page.evaluate(
        """() => Array.from(document.querySelectorAll('.leaflet-tile-container canvas, canvas.leaflet-tile'))
                 .some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                              for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; } return false; })"""
    )
    assert painted, page.evaluate(
        "() => Array.from(document.querySelectorAll('canvas')).map(c => c.className + ' ' + c.width + 'x' + c.height)"
    )
    assert page.errors == []


def test_the_search_asks_the_server_and_opens_the_road_zoomed_in(new_page, sign_in, office, live_server):
    segment_id, code, _coords = a_segment(live_server)
    page = new_page(phone=True)
    sign_in(page, office)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    with page.expect_request(lambda r: "/api/v1/segments?" in r.url and "q=" in r.url):
        page.fill(".map-search-input", code)
    page.locator(".map-search-hit").first.wait_for()
    page.locator(".map-search-hit").first.click()
    page.wait_for_function("() => window.roadchiefMap.map.getZoom() >= 13")
    page.locator(".leaflet-popup-content .seg-popup-code").wait_for()
    assert page.locator(".leaflet-popup-content .seg-popup-code").inner_text() == code
    assert page.get_attribute("#map", "data-tiled") == "false"
    assert int(page.get_attribute("#map", "data-features")) > 0
    assert page.errors == []


def test_a_road_found_over_the_tiles_is_lit_up_from_the_search_answer(new_page, sign_in, office, live_server):
    from sqlalchemy import func

    from roadchief.models import Road, Segment

    with live_server.context() as session:
        code, count = session.execute(
            select(Road.code, func.count(Segment.id))
            .join(Segment)
            .group_by(Road.code)
            .order_by(func.count(Segment.id).desc())
        ).first()
    page = new_page()
    sign_in(page, office)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    page.fill(".map-search-input", code)
    page.locator(".map-search-hit").first.wait_for()
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('.leaflet-halo-pane path').length >= {count}")
    assert page.errors == []


def test_a_tap_on_the_overview_zooms_in_towards_it(new_page, sign_in, office, live_server):
    _segment_id, _code, coords = a_segment(live_server)
    page = new_page()
    sign_in(page, office)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    before = page.evaluate("() => window.roadchiefMap.map.getZoom()")
    lon, lat = coords[len(coords) // 2]
    point = page.evaluate(
        "([lat, lon]) => { const p = window.roadchiefMap.map.latLngToContainerPoint([lat, lon]);"
        " const r = document.getElementById('map').getBoundingClientRect(); return {x: r.left + p.x, y: r.top + p.y}; }",
        [lat, lon],
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(f"() => window.roadchiefMap.map.getZoom() > {before}")
    assert page.errors == []


PAINTED = """() => Array.from(document.querySelectorAll('.leaflet-tile-container canvas, canvas.leaflet-tile'))
    .reduce((n, c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                        for (let i = 3; i < d.length; i += 4) { if (d[i]) { n += 1; } } return n; }, 0)"""


def test_switching_classes_off_in_the_layer_control_redraws_the_tiles_without_them(new_page, sign_in, office):
    page = new_page()
    sign_in(page, office)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    every = page.evaluate(PAINTED)
    assert every > 0
    page.hover(".leaflet-control-layers")
    switcher = page.locator(".leaflet-control-layers-overlays")
    for name in ("专用公路", "村道", "镇道", "市道"):
        switcher.locator("label", has_text=name).locator("input").uncheck()
        page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    page.wait_for_function(f"() => ({PAINTED})() === 0")  # no class shown: blank canvases
    switcher.locator("label", has_text="村道").locator("input").check()
    page.wait_for_function(f"() => ({PAINTED})() > 0")
    only_village = page.evaluate(PAINTED)
    assert 0 < only_village < every  # the county has 镇道 and 市道 too
    assert page.errors == []


COLOURS = """() => Array.from(document.querySelectorAll('.leaflet-tile-container canvas, canvas.leaflet-tile'))
    .reduce((h, c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                        for (let i = 0; i < d.length; i += 4) { if (d[i + 3]) { h = (h * 31 + d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7) % 1000000007; } }
                        return h; }, 0)"""


def test_a_colour_mode_chosen_in_the_legend_recolours_the_tiles(new_page, sign_in, office):
    page = new_page()
    sign_in(page, office)
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    by_class = page.evaluate(COLOURS)
    page.evaluate("() => { document.querySelector('.map-legend details').open = true; }")
    page.select_option(".legend-mode", "town")
    page.wait_for_function(f"() => ({COLOURS})() !== {by_class}")
    page.wait_for_function("() => document.getElementById('map').getAttribute('data-tiles') === 'loaded'")
    page.select_option(".legend-mode", "class")
    page.wait_for_function(f"() => ({COLOURS})() === {by_class}")  # the same picture as at first
    assert page.errors == []
