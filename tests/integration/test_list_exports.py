"""导出Excel on the list pages and the audit log: the page's rows, scope and filters; CJK font, print setup, formats."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models import AuditEntry, LedgerEntry, Segment, Town
from roadchief.reports.list_xlsx import CELL_LIMIT, CONTINUED
from roadchief.reports.xlsx_style import CJK_FONT
from roadchief.services.funding_quarter import close_quarter
from tests.conftest import login, make_user
from tests.integration.test_funding import score_all
from tests.integration.test_inspections import XIAOBA, record, village_segment
from tests.integration.test_public import PHONE, ref_from, submit, village_road

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.data))


def assert_office_ready(book, header_row: int) -> None:
    """CJK font on every written cell, A4, one page wide, header row repeated on every printed page."""
    for ws in book.worksheets:
        fonts = {cell.font.name for row in ws.iter_rows() for cell in row if cell.value is not None}
        assert fonts == {CJK_FONT}, (ws.title, fonts)
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == f"${header_row}:${header_row}"
        assert ws.page_setup.orientation == ("landscape" if ws.max_column > 6 else "portrait")


def data_rows(ws, header_row: int = 3) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=header_row + 1, values_only=True)]


def test_registry_export_applies_the_pages_filters_and_scope(demo_client):
    login(demo_client, make_user("town_office", town=XIAOBA))
    book = workbook(demo_client.get("/registry/export.xlsx?class=村道"))
    assert_office_ready(book, 3)
    ws = book.active
    header = [c.value for c in ws[3]]
    assert header[:6] == ["路线编码", "路线名称", "行政等级", "起点桩号", "止点桩号", "列养里程(km)"]
    rows = data_rows(ws)
    town_id = db.session.scalar(select(Town.id).where(Town.code == XIAOBA))
    expected = db.session.scalar(
        select(func.count(Segment.id))
        .join(Segment.road)
        .where(Segment.town_id == town_id, Segment.road.has(road_class="村道"))
    )
    assert len(rows) == expected > 0
    assert {r[2] for r in rows} == {"村道"} and {r[10] for r in rows} == {"小坝镇"}
    assert all(r[3].startswith("K") and "+" in r[3] for r in rows)
    assert ws.cell(4, 6).number_format == "0.000" and isinstance(ws.cell(4, 6).value, (int, float))
    assert "行政等级：村道" in ws["A2"].value


def test_list_exports_follow_the_pages_access_rules(demo_app):
    demo_client = demo_app.test_client()
    login(demo_client, make_user("inspector"))
    assert demo_client.get("/funding/2022/ledger.xlsx").status_code == 403
    assert demo_client.get("/registry/download?format=gpkg").status_code == 403
    assert demo_client.get("/p/reports.xlsx").status_code == demo_client.get("/p/reports").status_code
    anonymous = demo_app.test_client()
    pages = {
        "/registry/export.xlsx": "/registry/",
        "/ops/events.xlsx": "/ops/events",
        "/inspections/rectifications.xlsx": "/inspections/rectifications",
        "/p/reports.xlsx": "/p/reports",
        "/funding/2022/ledger.xlsx": "/funding/2022/ledger",
    }
    for export, page in pages.items():
        assert anonymous.get(export).status_code in (302, 401), export
        assert demo_client.get(export).status_code == demo_client.get(page).status_code, export


def test_ledger_export_has_money_in_yuan_with_thousands_format(demo_app, tmp_path):
    score_all(tmp_path, 2022, 1)
    close_quarter(2022, 1)
    client = demo_app.test_client()
    login(client, make_user("finance"))
    book = workbook(client.get("/funding/2022/ledger.xlsx"))
    assert_office_ready(book, 3)
    ws = book.active
    assert [c.value for c in ws[3]][4] == "金额(元)"
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.year == 2022)).all()
    rows = data_rows(ws)
    money = [ws.cell(r, 5) for r in range(4, 4 + len(entries))]
    assert all(c.number_format == "#,##0.00" for c in money)
    assert sum(Decimal(str(c.value)) for c in money) == Decimal(sum(e.amount_fen for e in entries)) / 100
    totals = [r for r in rows if r[2] and str(r[2]).startswith("合计")]
    assert totals and ws.cell(4 + len(entries), 5).number_format == "#,##0.00"
    assert isinstance(rows[0][7], datetime)  # 时间 as a spreadsheet date-time (Beijing)


def test_rectification_report_and_event_exports(demo_app):
    city = make_user("city_office")
    segment = village_segment(XIAOBA)
    record(city, [segment], [("LR05", 1)], when=datetime(2022, 1, 10, 10, tzinfo=UTC), deadline=date(2022, 1, 15))
    client = demo_app.test_client()
    ref = ref_from(submit(client, village_road()))
    login(client, city)
    response = client.post(
        "/ops/events/new",
        data={
            "segment_id": segment.id,
            "kind": "flood_damage",
            "severity": "minor",
            "occurred_at": "2026-11-30T20:00",
            "description": "路肩冲刷",
        },
    )
    assert response.status_code == 302

    book = workbook(client.get("/inspections/rectifications.xlsx?view=overdue"))
    assert_office_ready(book, 3)
    rows = data_rows(book.active)
    assert len(rows) == 1 and rows[0][6] == "逾期" and rows[0][5] == datetime(2022, 1, 15)
    assert "状态：逾期" in book.active["A2"].value
    assert data_rows(workbook(client.get("/inspections/rectifications.xlsx?view=verified")).active) == []

    book = workbook(client.get("/p/reports.xlsx?status=open"))
    assert_office_ready(book, 3)
    rows = data_rows(book.active)
    assert [r[0] for r in rows] == [ref] and rows[0][2] == "路面破损"
    assert not any(PHONE in str(v) for row in book.active.iter_rows(values_only=True) for v in row)  # private

    book = workbook(client.get("/ops/events.xlsx?state=all"))
    assert_office_ready(book, 3)
    rows = data_rows(book.active)
    assert len(rows) == 1 and rows[0][9] == "路肩冲刷"
    assert rows[0][6] == datetime(2026, 11, 30, 20, 0)  # entered as Beijing time, shown as Beijing time
    assert book.active.cell(4, 7).number_format == "yyyy-mm-dd hh:mm"


def test_audit_export_keeps_a_100000_character_value_whole(demo_app):
    long_value = "".join(chr(0x4E00 + i % 500) for i in range(100_000))
    db.session.add(AuditEntry(actor="测试", action="event", entity="segment", entity_id="7", note=long_value))
    db.session.commit()
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    book = workbook(client.get("/admin/audit/export.xlsx?entity=segment&entity_id=7&actor=测试"))
    assert_office_ready(book, 1)
    ws = book.active
    header = [c.value for c in ws[1]]
    assert header == [
        "编号",
        "时间（北京时间）",
        "操作人",
        "IP",
        "操作",
        "对象",
        "对象编号",
        "修改前",
        "修改后",
        "说明",
    ]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[0][5] == "路段" and rows[0][4] == "事件"
    pieces = [r[9] for r in rows]
    assert all(len(p) <= CELL_LIMIT for p in pieces) and len(pieces) == 4
    assert "".join(pieces) == long_value  # nothing cut
    assert all(r[0] == CONTINUED for r in rows[1:])
    assert ws.column_dimensions["J"].width < 60 and not ws.cell(2, 10).alignment.wrap_text  # one line, not 40 pages


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "xlsx"])
def test_registry_download_is_the_lossless_export_for_offices(demo_app, tmp_path, fmt):
    client = demo_app.test_client()
    login(client, make_user("town_office", town=XIAOBA))
    response = client.get(f"/registry/download?format={fmt}")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    from roadchief.services.importing.layers import open_layer

    suffix = {"gpkg": ".gpkg", "shp": ".zip", "geojson": ".geojson", "xlsx": ".xlsx"}[fmt]
    path = tmp_path / f"download{suffix}"
    path.write_bytes(response.data)
    layer = open_layer(path, None)
    town_column = "SSXZ" if fmt == "shp" else "所属乡镇"
    assert {r[town_column] for r in layer.records} == {"小坝镇"}  # the office's own town only
    town_id = db.session.scalar(select(Town.id).where(Town.code == XIAOBA))
    assert len(layer.records) == db.session.scalar(select(func.count(Segment.id)).where(Segment.town_id == town_id))


def test_funding_bulletin_and_plan_workbooks_name_the_cjk_font(demo_app, tmp_path):
    from roadchief.reports.funding_xlsx import quarter_xlsx
    from roadchief.services.funding_quarter import quarter_report

    score_all(tmp_path, 2022, 1)
    book = load_workbook(io.BytesIO(quarter_xlsx(quarter_report(2022, 1))))
    ws = book.active
    assert {c.font.name for row in ws.iter_rows() for c in row if c.value is not None} == {CJK_FONT}
    assert int(ws.page_setup.paperSize) == 9  # A4 and ws.print_title_rows
    money = [c for row in ws.iter_rows() for c in row if c.number_format == "#,##0.00"]
    assert money
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    book = workbook(client.get("/inspections/scores/2022/1/bulletin.xlsx"))
    assert len(book.worksheets) == 5  # 考核排名 and the four 存在问题 sheets
    for ws in book.worksheets:
        assert ws.print_title_rows == "$1:$2" and int(ws.page_setup.paperSize) == 9  # A4
        assert {c.font.name for row in ws.iter_rows() for c in row if c.value is not None} == {CJK_FONT}


def test_registry_page_offers_excel_to_readers_and_the_download_to_offices(demo_app):
    office = demo_app.test_client()
    login(office, make_user("town_office", town=XIAOBA))
    page = office.get("/registry/?class=村道").get_data(as_text=True)
    assert "/registry/export.xlsx?class=" in page and "导出Excel" in page and "/registry/download" in page
    inspector = demo_app.test_client()
    login(inspector, make_user("inspector"))
    page = inspector.get("/registry/").get_data(as_text=True)
    assert "导出Excel" in page and "/registry/download" not in page
