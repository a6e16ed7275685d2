"""The responsibility loop in a real browser (#13): headless Chromium (Playwright) against the app
served by waitress with the demo database (fixtures in tests/e2e/conftest.py).

(a) a town's inspector records a finding on a village road on a phone → the 村级路长 signs in,
    sees it in 待办 (menu count, list) and answers it → the town office sees the 管养责任人
    flagged 无账号, reassigns him, verifies and closes the rectification;
(b) a public report through to closure: submitted on the public page → the town office
    confirms it (the 整改 is created) → the 村级路长 answers it → the office verifies and
    closes the report → the tracking page shows 已办结, the deadline and the dated history.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from pathlib import Path

from sqlalchemy import select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e
REF = re.compile(r"GK\d{8}[A-Z0-9]{4,8}")


def _image(path):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (70, 130, 70))
    ImageDraw.Draw(image).rectangle([200, 150, 440, 330], outline=(255, 255, 255), width=6)
    image.save(path, "JPEG")
    return path


@pytest.fixture(scope="module")
def loop_cast(live_server, e2e_password):
    """A village road with a 村级路长 and a 路段管养责任人 (no station), chosen from the demo data."""
    from roadchief.domain.clock import beijing_today
    from roadchief.domain.scoring import OVERDUE_CODE
    from roadchief.models import Chief
    from roadchief.services.accounts import create_user
    from roadchief.services.chiefs import AssignmentIndex
    from roadchief.services.deduction_catalog import catalog_for

    with live_server.context() as session:
        index = AssignmentIndex(beijing_today())
        chosen = None
        for maintainer in session.scalars(
            select(Chief).where(Chief.position.in_(("cleaner", "public_welfare", "hired"))).order_by(Chief.id)
        ):
            segment = maintainer.assignments[0].segment
            if segment is None or not segment.village_id or segment.station_id:
                continue
            by_position = {c.position: c.chief for c in index.chiefs_for(segment)}
            if (
                "village" in by_position
                and "town" in by_position
                and maintainer.id in {c.chief.id for c in index.chiefs_for(segment)}
            ):
                chosen = (segment, maintainer, by_position["village"], by_position["town"])
                break
        assert chosen, "the demo roster has a village segment with a maintainer"
        segment, maintainer, village_chief, town_chief = chosen
        town_code = segment.town.code
        item = next(i for i in catalog_for(beijing_today().year).items if i.code != OVERDUE_CODE and i.unit == "处")
        create_user("l-inspector", "inspector", e2e_password, town=town_code, display_name="镇督查员")
        create_user("l-town", "town_office", e2e_password, town=town_code, display_name=f"{segment.town.name}路长办")
        create_user("l-village", "chief", e2e_password, chief_id=village_chief.id)
        create_user("l-townchief", "chief", e2e_password, chief_id=town_chief.id)
        return {
            "segment": segment.id,
            "road": segment.road.code,
            "maintainer": (maintainer.id, maintainer.name),
            "village_chief": village_chief.id,
            "town_chief": (town_chief.id, town_chief.name),
            "item": (item.code, item.text),
        }


def no_script_errors(page):
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    assert page.errors == [], f"script errors: {page.errors}"


def _menu_count(page) -> int:
    badge = page.locator("[data-todo-count]")
    return int(badge.inner_text()) if badge.count() else 0


def _answer(page, live_server, rect_id: int, photo, note: str):
    """The chief opens 待办, follows the rectification and answers it with a photo and a note."""
    page.goto(live_server.url + "/todos")
    item = page.locator(f"li.todo-item[data-kind=rectification] a[href$='#rect-{rect_id}']")
    assert item.count() == 1
    item.click()
    page.wait_for_url(re.compile(rf".*/inspections/\d+#rect-{rect_id}$"))
    card = page.locator(f"#rect-{rect_id}")
    page.set_input_files(f"#photo-{rect_id}", str(photo))
    page.fill(f"#note-{rect_id}", note)
    card.locator("button[type=submit]", has_text="提交整改完成").click()
    page.wait_for_load_state()
    assert "已整改完成" in page.locator(".flashes").inner_text()


def test_inspector_finding_reaches_the_village_chief_and_the_town_office_closes_it(
    live_server, loop_cast, new_page, sign_in, tmp_path
):
    from roadchief.models.inspections import Finding, Rectification

    code, text = loop_cast["item"]
    inspector = sign_in(new_page(phone=True), "l-inspector")
    inspector.goto(live_server.url + "/inspections/new")
    inspector.fill("#q", loop_cast["road"])
    inspector.click(".js-search-form button[type=submit]")
    box = inspector.locator(f"input[name=segment_ids][value='{loop_cast['segment']}']")
    box.wait_for()
    box.check()
    inspector.select_option("#f-0-item", code)
    inspector.fill("#f-0-note", "村道路面坑槽一处")
    inspector.click(".btn-submit")
    inspector.wait_for_url(re.compile(r".*/inspections/\d+$"))
    inspection_id = int(inspector.url.rsplit("/", 1)[1])
    no_script_errors(inspector)
    with live_server.context() as session:
        rect = session.scalar(
            select(Rectification)
            .join(Finding, Rectification.finding_id == Finding.id)
            .where(Finding.inspection_id == inspection_id)
        )
        rect_id = rect.id
        assert rect.chief_id == loop_cast["village_chief"]  # a town's 督查 assesses the 村级路长 (第二十条)
        assert {a.chief_id for a in rect.assignees} == {loop_cast["village_chief"], loop_cast["maintainer"][0]}

    # the village chief: 待办 in the menu, then the list, then the answer
    chief = sign_in(new_page(phone=True), "l-village")
    assert _menu_count(chief) >= 1
    assert "待办" in chief.locator(".todo-strip").inner_text()
    before = _menu_count(chief)
    _answer(chief, live_server, rect_id, _image(tmp_path / "after.jpg"), "已修补坑槽")
    chief.goto(live_server.url + "/")
    assert _menu_count(chief) == before - 1
    no_script_errors(chief)

    # the town office: the maintainer has no account (无账号) → one-click reassign; then verify
    office = sign_in(new_page(), "l-town")
    office.goto(live_server.url + "/inspections/rectifications?view=done")
    card = office.locator(f"#rect-{rect_id}")
    assert "无账号" in card.inner_text() and loop_cast["maintainer"][1] in card.inner_text()
    card.locator("select[name=chief_id]").select_option(str(loop_cast["town_chief"][0]))
    card.locator("button", has_text="改派").click()
    office.wait_for_load_state()
    assert "已改派给" in office.locator(".flashes").inner_text()
    card = office.locator(f"#rect-{rect_id}")
    assert "无账号" not in card.inner_text() and loop_cast["town_chief"][1] in card.inner_text()
    office.goto(live_server.url + "/todos")
    review = office.locator(f"li.todo-item[data-kind=review] a[href$='#rect-{rect_id}']")
    assert review.count() == 1
    review.click()
    office.locator(f"#rect-{rect_id} button[type=submit]", has_text="复核通过").click()
    office.wait_for_load_state()
    assert "已复核通过" in office.locator(".flashes").inner_text()
    no_script_errors(office)
    with live_server.context() as session:
        stored = session.get(Rectification, rect_id)
        assert stored.state == "verified" and stored.chief_note == "已修补坑槽"
        assert loop_cast["town_chief"][0] in {a.chief_id for a in stored.assignees}


def test_public_report_through_to_closure(live_server, loop_cast, new_page, sign_in, tmp_path):
    from roadchief.models.public import PublicReport

    public = new_page(phone=True)
    public.goto(live_server.url + f"/p/s/{loop_cast['segment']}/report")
    public.select_option("#category", "路面破损")
    public.fill("#text", "村口往东路面塌陷一处，请尽快处理。")
    public.click("button.btn-report")
    public.wait_for_url(re.compile(r".*/p/t/GK\w+$"))
    ref = public.locator(".ref-number").inner_text().strip()
    assert REF.fullmatch(ref)
    no_script_errors(public)

    office = sign_in(new_page(), "l-town")
    office.goto(live_server.url + "/todos")
    office.locator(f"li.todo-item[data-kind=report] a[href$='/p/reports/{ref}']").click()
    office.wait_for_url(re.compile(rf".*/p/reports/{ref}$"))
    assert office.locator("#rectification_ref").count() == 0  # no hand-typed reference
    deadline = office.locator("#deadline").input_value()
    assert date.fromisoformat(deadline) > date(2020, 1, 1)
    office.locator("form", has=office.locator("input[name=action][value=confirm]")).locator("button").click()
    office.wait_for_load_state()
    assert "已确认（转整改）" in office.locator(".flashes").inner_text()
    assert deadline in office.locator("#routing").inner_text()
    with live_server.context() as session:
        report = session.scalar(select(PublicReport).where(PublicReport.ref == ref))
        rect_id = report.rectification_id
        assert rect_id and report.status == "confirmed"

    chief = sign_in(new_page(phone=True), "l-village")
    _answer(chief, live_server, rect_id, _image(tmp_path / "fixed.jpg"), "已回填塌陷")
    no_script_errors(chief)

    office.goto(live_server.url + f"/p/reports/{ref}")
    office.locator("#routing a", has_text="整改").first.click()
    office.locator(f"#rect-{rect_id} button[type=submit]", has_text="复核通过").click()
    office.wait_for_load_state()
    assert "已复核通过" in office.locator(".flashes").inner_text()
    office.goto(live_server.url + "/todos")
    item = office.locator("li.todo-item[data-kind=report]", has=office.locator(f"a[href$='/p/reports/{ref}']"))
    assert "待办结" in item.inner_text()
    item.locator("a").click()
    office.wait_for_url(re.compile(rf".*/p/reports/{ref}$"))
    office.fill("#close-note", "塌陷已回填，恢复通行。")
    office.locator("form", has=office.locator("input[name=action][value=close]")).locator("button").click()
    office.wait_for_load_state()
    assert "已办结" in office.locator(".flashes").inner_text()
    no_script_errors(office)

    public.goto(live_server.url + f"/p/t/{ref}")
    assert "已办结" in public.locator(".ref-status").inner_text()
    facts = public.locator(".pub-facts").inner_text()
    assert deadline in facts and "复核通过" in facts
    history = public.locator("ol.history").inner_text()
    steps = ["群众提交反馈", "确认问题，转整改", "路长提交整改完成", "整改复核通过", "办结"]
    assert [history.index(s) for s in steps] == sorted(history.index(s) for s in steps)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", history)
    assert "塌陷已回填，恢复通行。" in public.content()
    no_script_errors(public)
