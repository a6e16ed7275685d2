"""总览 in a real browser (headless Chromium): the office lands on it after signing in, the
inline SVG charts draw under the CSP, and the page fits a 360 px phone."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def office(live_server, e2e_password):
    from roadchief.services.accounts import create_user
    from roadchief.services.demo_activity import load_demo_activity

    with live_server.context():
        load_demo_activity()
        create_user("dash-office", "city_office", e2e_password, display_name="市路长办")
    return "dash-office"


def test_the_office_lands_on_the_overview_and_it_fits_a_phone(live_server, new_page, e2e_password, office):
    page = new_page(phone=True)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(live_server.url + "/login")
    page.fill("#username", office)
    page.fill("#password", e2e_password)
    page.click("form button[type=submit]")
    page.wait_for_url(live_server.url + "/dashboard/")
    assert page.title().startswith("总览")
    for key in ("scores", "money", "responses"):
        chart = page.locator(f'svg[data-chart="{key}"]')
        assert chart.is_visible(), key
        assert chart.bounding_box()["width"] <= 360
        assert page.locator(f'svg[data-chart="{key}"] rect[data-value]').count() > 0, key
    # a bar is as wide as its share of the largest value: widths follow the numbers
    widths = page.evaluate(
        """() => [...document.querySelectorAll('svg[data-chart="money"] rect.s-plan')]
                 .map(r => r.getBoundingClientRect().width)"""
    )
    assert widths and max(widths) > 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    page.locator("#money details.data-table summary").click()
    assert page.locator("#money table").is_visible()
    assert errors == []  # CSP violations are console errors
