"""The 督办 journey in a real browser (headless Chromium against the demo database, fixtures in
tests/e2e/conftest.py): a town office's 督查 leaves a rectification that the 村级路长 does not
fix in time; ``roadchief rectifications escalate`` escalates it to the town office, later to the
city office; each office finds it on its 督办 page (on a 360 px phone for the town), sees the
escalation history on the rectification's page, downloads the numbered 督办通知书 PDF and reads
it back with pdftotext; the town office also got an in-app notice and marks it read.

Skipped cleanly when Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from sqlalchemy import select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e
NOTICE = re.compile(r"青路督〔\d{4}〕(\d+)号")


def _pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is needed"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def overdue(live_server, e2e_password):
    """A 镇路长办 督查 20 days ago with a 5-day deadline, never answered by the 村级路长."""
    from roadchief.domain import clock
    from roadchief.domain.scoring import OVERDUE_CODE
    from roadchief.models import Road, Segment
    from roadchief.services.accounts import create_user
    from roadchief.services.deduction_catalog import catalog_for
    from roadchief.services.inspections import FindingInput, InspectionInput, create_inspection

    with live_server.context() as session:
        segment = session.scalars(
            select(Segment)
            .join(Road)
            .where(Road.road_class == "村道", Segment.village_id.is_not(None))
            .order_by(Segment.id.desc())
        ).first()
        town = segment.town
        town_office = create_user(
            "e-town", "town_office", e2e_password, town=town.code, display_name=f"{town.name}路长办"
        )
        create_user("e-city", "city_office", e2e_password, display_name="市路长办")
        item = next(i for i in catalog_for(clock.beijing_today().year).items if i.code != OVERDUE_CODE)
        recorded = create_inspection(
            town_office,
            InspectionInput(
                kind="supervision",
                segment_ids=[segment.id],
                inspected_at=clock.beijing_now() - timedelta(days=20),
                deadline=clock.beijing_today() - timedelta(days=15),
                findings=[FindingInput(item_code=item.code, quantity=1, note="督办旅程")],
            ),
            live_server.app.config["UPLOAD_DIR"],
        )
        rect = recorded.inspection.findings[0].rectification
        return {
            "rect_id": rect.id,
            "item": item.text,
            "town_name": town.name,
            "chief": rect.chief.name if rect.chief else "未指定",
            "deadline": rect.deadline.isoformat(),
        }


def _escalate(live_server, days_later: int = 0) -> list[dict]:
    """The cron verb (now), or the same service some days later (the clock moved on)."""
    import json

    from roadchief.cli import main

    if days_later == 0:
        result = live_server.app.test_cli_runner().invoke(main, ["rectifications", "escalate", "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["escalated"]
    from roadchief.domain import clock
    from roadchief.services import escalation

    with live_server.context():
        run = escalation.escalate_overdue(clock.utcnow() + timedelta(days=days_later))
        return [{"notice": s.notice_number, "level": s.level} for s in run.escalated]


def _download_notice(page, tmp_path: Path, name: str) -> str:
    with page.expect_download() as info:
        page.locator("a:has-text('下载 PDF')").last.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf") and "督办通知书" in download.suggested_filename
    path = tmp_path / name
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    return _pdf_text(path)


def test_overdue_rectification_escalates_and_offices_download_the_notice(
    live_server, overdue, new_page, sign_in, tmp_path
):
    first = _escalate(live_server)
    assert [s["level"] for s in first] == ["town"]
    town_notice = first[0]["notice"]
    assert _escalate(live_server) == []  # run again: nothing more

    # the town office, on a phone: its 督办 list, the rectification's history, the notice PDF
    page = new_page(phone=True)
    sign_in(page, "e-town")
    page.goto(live_server.url + "/supervision/")
    page.click(f"a:has-text('{town_notice}')")
    page.wait_for_url(re.compile(rf".*/supervision/rectifications/{overdue['rect_id']}$"))
    history = page.locator(".escalation-history")
    assert town_notice in history.inner_text() and f"{overdue['town_name']}路长办公室" in history.inner_text()
    assert overdue["deadline"] in history.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    text = _download_notice(page, tmp_path, "town.pdf")
    for expected in ("督办通知书", town_notice, overdue["item"], overdue["chief"], overdue["deadline"], "签发人"):
        assert expected in text, expected
    # and the in-app notice of it
    page.goto(live_server.url + "/notifications/")
    notice_card = page.locator(".notification-list li", has_text=town_notice)
    assert notice_card.count() == 1
    notice_card.locator("button:has-text('标为已读')").click()
    page.wait_for_url(re.compile(r".*/notifications/$"))
    assert "已读" in page.locator(".notification-list li", has_text=town_notice).inner_text()
    assert page.errors == [] and page.dialogs == []

    # the new deadline passes too: the city office gets it, with the whole history
    second = _escalate(live_server, days_later=5)
    assert [s["level"] for s in second] == ["city"]
    city_notice = second[0]["notice"]
    assert int(NOTICE.match(city_notice).group(1)) == int(NOTICE.match(town_notice).group(1)) + 1
    city = new_page()
    sign_in(city, "e-city")
    city.goto(live_server.url + "/supervision/")
    city.click(f"a:has-text('{city_notice}')")
    rows = city.locator(".escalation-history tbody tr")
    assert rows.count() == 2
    assert town_notice in rows.nth(0).inner_text() and city_notice in rows.nth(1).inner_text()
    assert "市级路长办公室" in rows.nth(1).inner_text()
    text = _download_notice(city, tmp_path, "city.pdf")
    assert city_notice in text and "市级路长办公室" in text and "签发人" in text
    assert city.errors == [] and city.dialogs == []
