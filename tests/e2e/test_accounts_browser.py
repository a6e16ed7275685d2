"""Account lifecycle journeys in a real browser (issue #13 point 6):

(a) the city office disables a user: the user's open browser session and a captured copy
    of its cookie are refused at once, and a new sign-in is refused with a clear message;
(b) the office creates the 路长 accounts of a town in bulk and downloads the slips; a chief
    signs in on a phone with the one-time password from the slip, is held on the password
    form until the password is changed, then sees the map with their name in the header.

Skipped cleanly when Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e

XIAOBA = "640381100"


@pytest.fixture(scope="module")
def people(live_server, e2e_password):
    from roadchief.services.accounts import create_user

    tag = uuid.uuid4().hex[:6]
    with live_server.context():
        office = create_user(f"office-{tag}", "city_office", e2e_password, display_name="市办王科长")
        victim = create_user(f"insp-{tag}", "inspector", e2e_password, display_name="督查员李四")
        return {"office": office.username, "victim": victim.username}


@pytest.fixture
def confirming_page(chromium_browser):
    """A desktop page that accepts the data-confirm dialogs (the shared new_page dismisses them)."""
    context = chromium_browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    page.dialogs = []

    def accept(dialog):
        page.dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_a_disabled_user_is_refused_at_once(live_server, people, new_page, sign_in, confirming_page, chromium_browser):
    url = live_server.url
    victim = sign_in(new_page(), people["victim"])
    victim.goto(url + "/inspections/")
    assert victim.url.startswith(url + "/inspections/")
    captured = victim.context.cookies()
    assert any(c["name"] == "session" for c in captured)

    office = sign_in(confirming_page, people["office"])
    office.goto(url + "/admin/users")
    office.click(f"button[data-user='{people['victim']}']")
    office.wait_for_selector(".flash-success")
    assert "已停用" in office.inner_text(".flashes")
    assert any(people["victim"] in message for message in office.dialogs)

    # the open session is gone on the next click
    victim.goto(url + "/inspections/")
    assert victim.url.startswith(url + "/login")
    # so is a copy of the cookie taken before the disable
    thief_context = chromium_browser.new_context()
    try:
        thief_context.add_cookies(captured)
        thief = thief_context.new_page()
        thief.goto(url + "/inspections/")
        assert thief.url.startswith(url + "/login")
        response = thief.request.get(url + "/api/v1/segments")
        assert response.status == 401 and response.json()["status"] == 401
    finally:
        thief_context.close()
    # and a new sign-in is refused with a clear message
    victim.fill("#username", people["victim"])
    victim.fill("#password", "Journey-pass-123")
    victim.click("form button[type=submit]")
    victim.wait_for_selector(".flash-error")
    assert "该账号已被停用" in victim.inner_text(".flashes")
    assert victim.errors == []


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_a_bulk_created_chief_changes_the_one_time_password_first(
    live_server, people, new_page, sign_in, confirming_page, tmp_path
):
    url = live_server.url
    office = sign_in(confirming_page, people["office"])
    office.goto(url + f"/admin/chief-accounts?town={XIAOBA}")
    assert office.is_visible("#url-warning")  # the demo's 127.0.0.1 address would be dead on paper
    pending = int(office.inner_text("#pending-count"))
    assert pending > 0
    with office.expect_download() as info:
        office.click("#create-chief-accounts")
    path = tmp_path / "slips.pdf"
    info.value.save_as(path)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    slips = re.findall(r"用\s*户\s*名\s+(\S+)\s+一次性密码\s+(\S+)", text)
    assert len(slips) == pending
    username, password = slips[0]

    phone = new_page(phone=True)
    phone.goto(url + "/login")
    phone.fill("#username", username)
    phone.fill("#password", password)
    phone.click("form button[type=submit]")
    phone.wait_for_url(url + "/account/password")
    assert phone.is_visible("#must-change")
    phone.goto(url + "/")  # nothing else opens before the change
    assert phone.url == url + "/account/password"
    phone.fill("#current", password)
    phone.fill("#new", "Chief-new-pass-1")
    phone.fill("#confirm", "Chief-new-pass-1")
    phone.click("form.card button[type=submit]")
    phone.wait_for_url(url + "/")
    with live_server.context():
        from sqlalchemy import select

        from roadchief.extensions import db
        from roadchief.models import User

        user = db.session.scalar(select(User).where(User.username == username))
        assert not user.must_change_password
        name = user.display_name
    assert phone.is_visible("#header-person") and phone.inner_text("#header-person") == name
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360
    assert phone.errors == []
