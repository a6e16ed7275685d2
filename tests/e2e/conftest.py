"""Shared fixtures for the real-browser journeys.

- ``live_server``: the app on a fresh copy of the demo database (SQLite, or the PostgreSQL
  schema of the run when ROADCHIEF_DATABASE_URL says so), served by waitress in a thread
  on 127.0.0.1 with an ephemeral port; CSRF on, rate limits off, no tile server.
- ``chromium_browser``: headless Debian Chromium driven by Playwright; skips the test
  cleanly when Playwright or /usr/bin/chromium is missing.
- ``new_page``: a factory of browser pages (one context each, so each user has their own
  cookies); desktop by default, ``new_page(phone=True)`` is 360×740 with touch. A page
  records script errors and dialogs; when the test fails every page it opened is
  screenshotted to reports/e2e/<test>-<n>.png.
- ``sign_in``: signs a page in through the login form (password ``e2e_password``).

The fixture names differ from the ones test_map_browser.py defines for itself
(server / browser / page / phone), so both can live side by side.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "e2e"
E2E_PASSWORD = "Journey-pass-123"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # keep each phase's report on the item, so fixtures can tell a failed test at teardown
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(node) -> bool:
    return any(getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))


@dataclass
class LiveServer:
    url: str
    app: object

    @contextmanager
    def context(self):
        """An app context on the served database, for setting up and checking data beside the browser."""
        from roadchief.extensions import db

        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()


@pytest.fixture(scope="module")
def live_server(databases, request):
    """The app on a copy of the demo database, served by waitress in a thread on 127.0.0.1; a test
    module may set LIVE_SERVER_CONFIG (a dict) to serve it with other settings."""
    from waitress.server import create_server

    from roadchief import create_app
    from roadchief.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": databases.fresh_url(demo=True),
            "RATELIMIT_ENABLED": False,
            "TILE_URL": "",
            **getattr(request.module, "LIVE_SERVER_CONFIG", {}),
        }
    )
    srv = create_server(app, host="127.0.0.1", port=0, threads=6)
    thread = threading.Thread(target=srv.run, name="e2e-waitress", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{srv.effective_port}", app=app)
    finally:
        srv.close()
        srv.task_dispatcher.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def chromium_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the machine
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():  # pragma: no cover
        pytest.skip("/usr/bin/chromium is missing")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium_browser, request):
    """``new_page(phone=False)`` → a fresh page in its own context (own cookies)."""
    contexts = []

    def factory(phone: bool = False):
        context = chromium_browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
        )
        page = context.new_page()
        page.errors, page.dialogs = [], []

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
        contexts.append((context, page))
        return page

    yield factory
    failed = _failed(request.node)
    for number, (context, page) in enumerate(contexts, start=1):
        if failed:
            SHOTS.mkdir(parents=True, exist_ok=True)
            try:
                page.screenshot(path=str(SHOTS / f"{request.node.name}-{number}.png"), full_page=True)
            except Exception:  # a crashed page must not hide the test's own failure
                pass
        context.close()


@pytest.fixture(scope="session")
def e2e_password():
    """The password of the users a journey creates; ``sign_in`` uses it by default."""
    return E2E_PASSWORD


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, username)``: the login form, then the map (the front page)."""

    def do(page, username: str, password: str = E2E_PASSWORD):
        page.goto(live_server.url + "/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(re.escape(live_server.url) + r"/(dashboard/)?$"))  # the home: 总览 or the map
        if page.url != live_server.url + "/":
            page.goto(live_server.url + "/")  # then the map (the front page), as the journeys expect
        return page

    return do
