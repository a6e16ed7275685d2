"""User journeys in a real browser: headless Chromium (Playwright) against the app served
by waitress on 127.0.0.1 with the demo database (fixtures in tests/e2e/conftest.py).

(a) the city office logs a 督查 with two findings and a photo on a phone;
(b) the 村级路长 sees their segments on the map and closes the rectification a town
    office's 督查 gave them; the town office verifies it;
(c) the city office imports the quarter's scores; finance approves the quarter and downloads its PDF;
(d) the public reports a problem from a 公示牌 and gets a reference number.

Skipped cleanly when Playwright or /usr/bin/chromium is missing. No timing assertions.
A failing journey leaves screenshots under reports/e2e/.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from sqlalchemy import func, select

if not Path("/usr/bin/chromium").exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing", allow_module_level=True)

pytestmark = pytest.mark.e2e

YEAR, QUARTER = 2022, 1
REF = re.compile(r"GK\d{8}[A-Z0-9]{4,8}")


# --------------------------------------------------------------------------- data


def _image(path, fmt: str, colour: tuple[int, int, int]):
    """A real photo-sized image (decodable, with some structure) written by Pillow."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), colour)
    draw = ImageDraw.Draw(image)
    for i in range(0, 640, 40):
        draw.line([(i, 0), (640 - i, 480)], fill=(255 - colour[0], 120, 255 - colour[2]), width=3)
    draw.rectangle([200, 150, 440, 330], outline=(255, 255, 255), width=6)
    image.save(path, fmt)
    return path


@pytest.fixture(scope="module")
def cast(live_server, e2e_password):
    """The people and places of the journeys, chosen from the demo data (not hard-coded)."""
    from roadchief.domain.scoring import OVERDUE_CODE
    from roadchief.models import ChiefAssignment, Road, Segment
    from roadchief.services.accounts import create_user
    from roadchief.services.chiefs import AssignmentIndex
    from roadchief.services.deduction_catalog import catalog_for

    with live_server.context() as session:
        index = AssignmentIndex(date.today())

        def chief_of(segment, position):
            found = sorted((c.chief for c in index.chiefs_for(segment) if c.position == position), key=lambda c: c.id)
            return found[0] if found else None

        village_roads = session.scalars(
            select(Segment)
            .join(Road)
            .where(Road.road_class == "村道", Segment.village_id.is_not(None))
            .order_by(Segment.id)
        ).all()
        # (b): a village-road segment with a 村级路长 — the town office's 督查 assesses him (第二十条)
        rect_segment = next(s for s in village_roads if chief_of(s, "village"))
        village_chief = chief_of(rect_segment, "village")
        # (a): a single-segment 镇道 elsewhere — the city office's 督查 assesses the 镇级路长
        town_road_segment = next(
            s
            for s in session.scalars(select(Segment).join(Road).where(Road.road_class == "镇道").order_by(Segment.id))
            if len(s.road.segments) == 1 and chief_of(s, "town") and not s.station_id
        )
        # (d): a village road of several segments, in another village than (b)'s
        public_segment = next(
            s
            for s in village_roads
            if len(s.road.segments) > 1 and s.village_id != rect_segment.village_id and chief_of(s, "village")
        )
        # the expected 村级路长 of (d), read straight from the assignments table
        expected_public_chief = session.scalars(
            select(ChiefAssignment).where(
                ChiefAssignment.scope_kind == "village",
                ChiefAssignment.village_id == public_segment.village_id,
                ChiefAssignment.start_date <= date.today(),
                (ChiefAssignment.end_date.is_(None)) | (ChiefAssignment.end_date >= date.today()),
            )
        ).all()
        expected_public_chief = [a.chief_id for a in expected_public_chief if a.chief.position == "village"]

        items = [i for i in catalog_for(date.today().year).items if i.code != OVERDUE_CODE and i.unit in ("处", "次")]
        town_code = rect_segment.town.code
        create_user("j-office", "city_office", e2e_password, display_name="市路长办督查员")
        create_user(
            "j-town", "town_office", e2e_password, town=town_code, display_name=f"{rect_segment.town.name}路长办"
        )
        create_user("j-chief", "chief", e2e_password, chief_id=village_chief.id)
        create_user("j-finance", "finance", e2e_password, display_name="财政局")
        return {
            "town_road": {
                "id": town_road_segment.id,
                "code": town_road_segment.road.code,
                "town_chief": chief_of(town_road_segment, "town").id,
            },
            "rect_segment": {"id": rect_segment.id, "code": rect_segment.road.code, "town": town_code},
            "village_chief": village_chief.id,
            "public": {"id": public_segment.id, "code": public_segment.road.code, "chiefs": expected_public_chief},
            "items": [(i.code, i.text) for i in items[:3]],
        }


def no_script_errors(page):
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    assert page.errors == [], f"script errors: {page.errors}"


# --------------------------------------------------------------------------- (a)


def test_office_logs_an_inspection_with_two_findings_and_a_photo_on_a_phone(
    live_server, cast, new_page, sign_in, tmp_path
):
    from roadchief.models.inspections import Inspection

    photo = _image(tmp_path / "pothole.png", "PNG", (90, 90, 100))
    segment = cast["town_road"]
    (first_code, first_text), (second_code, second_text) = cast["items"][:2]

    page = sign_in(new_page(phone=True), "j-office")
    page.goto(live_server.url + "/inspections/new")
    assert page.locator("h1").inner_text() == "新建检查记录"
    # no GPS on plain HTTP: find the segment by its road code
    page.fill("#q", segment["code"])
    page.click(".js-search-form button[type=submit]")
    box = page.locator(f"input[name=segment_ids][value='{segment['id']}']")
    box.wait_for()
    box.check()
    assert page.locator("#kind").input_value() == "supervision"

    # first finding: item, quantity, note and a real photo
    page.select_option("#f-0-item", first_code)
    page.fill("#f-0-quantity", "2")
    page.fill("#f-0-note", "K0+200 处坑槽两处")
    page.set_input_files("#f-0-photos", str(photo))
    assert page.locator("#f-0-segment").input_value() == str(segment["id"])  # the only chosen segment
    # second finding, added with the button
    page.click(".js-add-finding")
    page.locator("#f-1-item").wait_for()
    page.select_option("#f-1-item", second_code)
    page.fill("#f-1-note", "路肩杂物")
    assert page.locator("#f-1-segment").input_value() == str(segment["id"])
    assert page.locator(".js-findings .finding").count() == 2

    page.click(".btn-submit")
    page.wait_for_url(re.compile(r".*/inspections/\d+$"))
    inspection_id = int(page.url.rsplit("/", 1)[1])

    assert "检查记录已保存" in page.locator(".flashes").inner_text()
    assert page.locator("h1").inner_text().startswith("督查")
    findings = page.locator(".finding-block")
    assert findings.count() == 2
    text = page.locator("#findings-title").locator("xpath=../..").inner_text()
    assert first_text in text and second_text in text and "2 条" in text
    assert segment["code"] in page.locator(".plain-list").first.inner_text()
    thumb = findings.first.locator("img[src*='/thumb']")
    assert thumb.count() == 1
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert findings.nth(1).locator("img").count() == 0
    no_script_errors(page)

    with live_server.context() as session:
        stored = session.get(Inspection, inspection_id)
        assert stored.kind == "supervision" and stored.office_key == "city"
        assert [s.segment_id for s in stored.segments] == [segment["id"]]
        assert sorted((f.item.code, f.quantity) for f in stored.findings) == sorted([(first_code, 2), (second_code, 1)])
        assert len(stored.photos) == 1 and stored.photos[0].finding_id == stored.findings[0].id
        # a city office's 督查 goes to the 镇级路长 of the segment's town
        assert {f.rectification.chief_id for f in stored.findings} == {segment["town_chief"]}


# --------------------------------------------------------------------------- (b)


def test_village_chief_closes_a_rectification_and_the_town_office_verifies_it(
    live_server, cast, new_page, sign_in, tmp_path
):
    from roadchief.models import User
    from roadchief.models.inspections import Rectification
    from roadchief.services.inspections import FindingInput, InspectionInput, create_inspection

    segment = cast["rect_segment"]
    item_code, item_text = cast["items"][2]
    with live_server.context() as session:
        town_office = session.scalar(select(User).where(User.username == "j-town"))
        recorded = create_inspection(
            town_office,
            InspectionInput(
                kind="supervision",
                segment_ids=[segment["id"]],
                note="镇路长办月度督查",
                findings=[FindingInput(item_code=item_code, quantity=1, note="村道边沟堵塞")],
            ),
            live_server.app.config["UPLOAD_DIR"],
        )
        inspection_id = recorded.inspection.id
        rect = recorded.inspection.findings[0].rectification
        rect_id = rect.id
        assert recorded.inspection.office_key == f"town:{segment['town']}"
        assert rect.chief_id == cast["village_chief"]  # the 村级路长, as 第二十条 says

    after = _image(tmp_path / "fixed.jpg", "JPEG", (60, 140, 60))

    # the chief: their segments on the map
    chief = sign_in(new_page(phone=True), "j-chief")
    chief.wait_for_function("() => Number(document.getElementById('map').getAttribute('data-loads') || 0) >= 1")
    chief.wait_for_function("() => Number(document.getElementById('map').getAttribute('data-index') || 0) > 0")
    mine = int(chief.get_attribute("#map", "data-index"))
    assert chief.locator(".leaflet-overlay-pane path").count() >= 1
    assert chief.locator("#my-panel button.my-segment").count() == mine
    assert segment["code"] in chief.locator("#my-panel").text_content()  # collapsed on a phone

    # … their rectification, closed with an after-photo and a note
    chief.goto(live_server.url + "/inspections/")
    card = chief.locator("article.rect-card", has=chief.locator(f"#photo-{rect_id}"))
    assert item_text in card.inner_text() and "待整改" in card.inner_text()
    chief.set_input_files(f"#photo-{rect_id}", str(after))
    chief.fill(f"#note-{rect_id}", "已组织清理边沟 30 米")
    card.locator("button[type=submit]", has_text="提交整改完成").click()
    chief.wait_for_load_state()
    assert "已整改完成" in chief.locator(".flashes").inner_text()
    chief.goto(live_server.url + f"/inspections/{inspection_id}")
    card = chief.locator("article.rect-card")
    assert "已整改待复核" in card.inner_text() and "已组织清理边沟 30 米" in card.inner_text()
    assert card.locator("img[alt^='整改后照片']").count() == 1
    no_script_errors(chief)

    # the town office that inspected verifies it
    office = sign_in(new_page(), "j-town")
    office.goto(live_server.url + f"/inspections/{inspection_id}")
    office.locator("article.rect-card button[type=submit]", has_text="复核通过").click()
    office.wait_for_url(re.compile(rf".*/inspections/{inspection_id}$"))
    assert "已复核通过" in office.locator(".flashes").inner_text()
    badge = office.locator("article.rect-card .rect-head .badge-ok")
    assert badge.inner_text() == "复核通过"
    assert office.locator("article.rect-card button", has_text="复核通过").count() == 0
    no_script_errors(office)

    with live_server.context() as session:
        stored = session.get(Rectification, rect_id)
        assert stored.state == "verified" and stored.verified_at is not None
        assert stored.chief_note == "已组织清理边沟 30 米"
        assert len(stored.photos) == 1


# --------------------------------------------------------------------------- (c)


def _scores_csv(live_server) -> tuple[bytes, list[dict]]:
    """A score for every paid unit of the quarter: towns and villages by name, stations by their chief."""
    from roadchief.services.funding_quarter import compute_quarter

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["year", "quarter", "town", "village", "chief_id", "score"])
    with live_server.context():
        units = compute_quarter(YEAR, QUARTER)["units"]
    for number, unit in enumerate(units):
        score = "92.5" if number % 3 else "78"  # some 良, so there are deductions
        if unit["kind"] == "station":
            writer.writerow([YEAR, QUARTER, "", "", unit["chief_id"], score])
        else:
            writer.writerow([YEAR, QUARTER, unit["town"], unit["village"] or "", "", score])
    return out.getvalue().encode("utf-8"), units


def test_finance_approves_a_quarter_and_downloads_its_pdf(live_server, new_page, sign_in, cast, tmp_path):
    from roadchief.models import LedgerEntry

    content, units = _scores_csv(live_server)
    upload = tmp_path / "scores-2022-q1.csv"
    upload.write_bytes(content)

    # the city office sets the scores; finance, who did not, approves (不相容职务分离)
    office = sign_in(new_page(), "j-office")
    office.goto(live_server.url + "/funding/scores/import")
    office.set_input_files("#file", str(upload))
    office.click("form[enctype='multipart/form-data'] button[type=submit]")
    office.wait_for_load_state()
    assert f"得分已导入：{len(units)} 行" in office.locator(".flashes").inner_text()

    page = sign_in(new_page(), "j-finance")

    page.goto(live_server.url + f"/funding/{YEAR}/q/{QUARTER}")
    assert "草稿 · 未审定" in page.locator(".status-banner").inner_text()
    page.check("#close input[name=confirm]")
    page.click("#close button[type=submit]")
    page.wait_for_url(re.compile(rf".*/funding/{YEAR}/q/{QUARTER}$"))
    assert "已审定" in page.locator(".flashes").inner_text()
    assert page.locator(".status-banner h2").inner_text() == "已审定"
    assert page.locator("#close").count() == 0

    with page.expect_download() as info:
        page.click("a:has-text('下载 PDF')")
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = tmp_path / "quarter.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    no_script_errors(page)

    with live_server.context() as session:
        assert session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.year == YEAR, LedgerEntry.quarter == QUARTER, LedgerEntry.kind == "payment")
        ) == len(units)

    if shutil.which("pdftotext") is None:  # pragma: no cover - poppler-utils missing
        pytest.skip("pdftotext (poppler-utils) is missing: the PDF's text was not checked")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert f"{YEAR}年第{QUARTER}季度拨付表" in text
    assert units[0]["town"] in text
    assert "合计" in text
    assert "大写" in text


# --------------------------------------------------------------------------- (d)


def test_the_public_reports_a_problem_from_a_sign(live_server, cast, new_page, tmp_path):
    from roadchief.models.public import PublicReport

    target = cast["public"]
    photo = _image(tmp_path / "report.jpg", "JPEG", (150, 120, 80))
    page = new_page(phone=True)  # nobody signs in: a passer-by scanning the QR code
    page.goto(live_server.url + f"/p/r/{target['code']}")
    assert target["code"] in page.content()
    page.click("a.btn-report")
    page.wait_for_url(re.compile(rf".*/p/r/{target['code']}/report$"))
    page.select_option("#category", "路面破损")
    page.select_option("#segment_id", str(target["id"]))
    page.fill("#text", "村口往东约一百米路面塌陷一处，晚上看不清，请尽快处理。")
    page.set_input_files("#photo", str(photo))
    page.click("button.btn-report")
    page.wait_for_url(re.compile(r".*/p/t/GK\w+$"))
    ref = page.locator(".ref-number").inner_text().strip()
    assert REF.fullmatch(ref)
    assert page.url.endswith(f"/p/t/{ref}")
    assert "反馈已提交" in page.locator(".flashes").inner_text()
    assert "已受理" in page.locator(".ref-status").inner_text()
    facts = page.locator(".pub-facts").inner_text()
    assert "路面破损" in facts and "有" in facts
    no_script_errors(page)

    with live_server.context() as session:
        report = session.scalar(select(PublicReport).where(PublicReport.ref == ref))
        assert report is not None and report.status == "received"
        assert report.segment_id == target["id"]
        assert report.photo_path and report.photo_thumb_path
        # a 村道 report goes to the 村级路长 of the segment's village
        assert target["chiefs"], "the demo village has no 村级路长"
        assert report.assigned_chief_id in target["chiefs"]
