"""XLSX exports (issue #11 point 10): user text never becomes a formula, money is exact.

Names such as ``=HYPERLINK("http://x","y")``, ``+1``, ``-2+3``, ``@SUM(A1)`` are given to
villages, towns, chiefs, works-plan items and audit notes, then every XLSX export is read
back: each such cell is a text cell holding the name as typed, and no sheet holds a formula.
Money cells carry the exact two-decimal amount in the file and the rows add up to the total."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import AuditEntry, Chief, Segment, Town, Village
from roadchief.reports.xlsx_cells import money_cell, money_text, put_money, put_number, put_text, row_cells
from tests.conftest import make_user

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "=1+1", "\t=cmd", "＝1+1", "#N/A"]


def sheets_xml(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")}


def assert_no_formula(data: bytes) -> None:
    for name, xml in sheets_xml(data).items():
        assert "<f>" not in xml and "<f " not in xml, name


def text_cells(data: bytes, wanted) -> dict[str, list]:
    """Every cell whose value is one of ``wanted``: (sheet, coordinate, data_type, quotePrefix)."""
    book = load_workbook(io.BytesIO(data))
    found: dict[str, list] = {w: [] for w in wanted}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in found:
                    found[cell.value].append((ws.title, cell.coordinate, cell.data_type, cell.quotePrefix))
    return found


def assert_literal(data: bytes, names) -> None:
    assert_no_formula(data)
    for name, cells in text_cells(data, names).items():
        assert cells, f"{name!r} not found in the workbook"
        for sheet, coordinate, data_type, quote in cells:
            assert data_type == "s", (name, sheet, coordinate, data_type)
            assert quote or not name.startswith(("=", "+", "-", "@", "\t", "＝")), (name, sheet, coordinate)


def raw_value(data: bytes, sheet_index: int, coordinate: str) -> str:
    xml = sheets_xml(data)[f"xl/worksheets/sheet{sheet_index}.xml"]
    match = re.search(rf'<c r="{coordinate}"[^>]*>(?:<v>([^<]*)</v>)?', xml)
    assert match, coordinate
    return match.group(1)


# ------------------------------------------------------------------ the helper itself


def test_text_cells_round_trip_as_literal_text():
    wb = Workbook()
    ws = wb.active
    for r, name in enumerate(HOSTILE, 1):
        put_text(ws.cell(r, 1), name)
    ws.append(row_cells(ws, HOSTILE))
    put_text(ws.cell(20, 1), "控制\x01字符")
    out = io.BytesIO()
    wb.save(out)
    assert_literal(out.getvalue(), HOSTILE)
    back = load_workbook(io.BytesIO(out.getvalue())).active
    assert [back.cell(r, 1).value for r in range(1, len(HOSTILE) + 1)] == HOSTILE
    assert back.cell(20, 1).value == "控制\ufffd字符"  # XML cannot hold it; the export does not fail


def test_plain_openpyxl_would_have_written_a_formula():
    """Why the helper exists: openpyxl's own assignment turns "=…" into a formula."""
    wb = Workbook()
    wb.active["A1"] = HOSTILE[0]
    assert wb.active["A1"].data_type == "f"


@pytest.mark.parametrize(
    "amount, text",
    [
        (256570020, "2565700.20"),
        (Decimal("2565700.20"), "2565700.20"),
        ("4276167", "4276167.00"),
        (-5, "-0.05"),
        (0, "0.00"),
        (123456789012345678, "1234567890123456.78"),
    ],
)
def test_money_cells_hold_the_exact_amount(amount, text):
    wb = Workbook()
    ws = wb.active
    put_money(ws.cell(1, 1), amount)
    ws.append(row_cells(ws, [money_cell(amount)]))
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    assert raw_value(data, 1, "A1") == raw_value(data, 1, "A2") == text  # not "%.16g" of a float
    back = load_workbook(io.BytesIO(data)).active
    assert back["A1"].number_format == back["A2"].number_format == "#,##0.00"
    assert back["A1"].data_type == "n"


def test_money_refuses_floats_and_amounts_finer_than_a_fen():
    with pytest.raises(TypeError):
        money_text(0.1)
    with pytest.raises(ValueError):
        money_text(Decimal("1.005"))
    with pytest.raises(TypeError):
        money_text(True)
    wb = Workbook()
    with pytest.raises(ValueError):
        put_number(wb.active.cell(1, 1), Decimal("1.2345"), "0.000")


# ------------------------------------------------------------------ every export


@pytest.fixture
def hostile_names(demo_app):
    """Two villages, a town and two chiefs renamed to formula-looking names."""
    villages = db.session.scalars(select(Village).order_by(Village.id).limit(2)).all()
    villages[0].name, villages[1].name = HOSTILE[0], HOSTILE[2]
    town = db.session.scalar(select(Town).order_by(Town.id))
    town.name = HOSTILE[3]
    chiefs = db.session.scalars(select(Chief).order_by(Chief.id).limit(2)).all()
    chiefs[0].name, chiefs[1].name = HOSTILE[1], HOSTILE[4]
    db.session.commit()
    return {"villages": [v.name for v in villages], "town": town.name, "chiefs": [c.name for c in chiefs]}


def test_funding_plan_xlsx_literal_names_and_exact_money(hostile_names):
    from roadchief.reports.funding_xlsx import plan_xlsx
    from roadchief.services.funding_plan import annual_plan

    plan = annual_plan(2022)
    data = plan_xlsx(plan)
    assert_literal(data, [*hostile_names["villages"], hostile_names["town"]])
    ws = load_workbook(io.BytesIO(data)).active
    head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "序号")
    cols = {ws.cell(head, c).value: c for c in range(1, ws.max_column + 1)}
    name, local = cols["乡镇 / 村"], cols["地方配套"]
    total_row = next(r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, name).value == "合计")
    items = [
        r
        for r in range(head + 1, total_row)
        if ws.cell(r, local).value is not None and not str(ws.cell(r, name).value).endswith("小计")
    ]
    coordinate = lambda r: f"{ws.cell(r, local).column_letter}{r}"  # noqa: E731
    exact = [Decimal(raw_value(data, 1, coordinate(r))) for r in items]
    assert all(
        e == e.quantize(Decimal("0.01"))
        and raw_value(data, 1, coordinate(r)).count(".") == 1
        and len(raw_value(data, 1, coordinate(r)).split(".")[1]) == 2
        for e, r in zip(exact, items)
    )
    assert raw_value(data, 1, coordinate(total_row)) == "2565700.20" == plan["local_total"]
    assert sum(exact) == Decimal("2565700.20")  # the rows add up to the printed total, to the fen
    assert ws.cell(total_row, local).number_format == "#,##0.00"


def test_funding_quarter_xlsx_literal_names(hostile_names):
    from roadchief.reports.funding_xlsx import quarter_xlsx
    from roadchief.services.funding_quarter import quarter_report

    report = quarter_report(2022, 1)
    data = quarter_xlsx(report)
    assert_literal(data, [*hostile_names["villages"], hostile_names["town"]])
    ws = load_workbook(io.BytesIO(data)).active
    head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "序号")
    cols = {ws.cell(head, c).value: c for c in range(1, ws.max_column + 1)}
    base = cols["本季度基数"]
    total_row = next(r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, cols["乡镇 / 村"]).value == "合计")
    assert raw_value(data, 1, f"{ws.cell(total_row, base).column_letter}{total_row}") == report["budget"]


def test_bulletin_and_ranking_xlsx_literal_names(hostile_names):
    from roadchief.reports.bulletin_pdf import bulletin_xlsx, ranking_xlsx
    from roadchief.services import assessment

    bulletin = assessment.bulletin("city", 2022, 1, today=date(2022, 4, 2))
    names = {r["chief"] for lv in bulletin["levels"] for r in lv["rows"]} | {
        r["unit_name"] for lv in bulletin["levels"] for r in lv["rows"]
    }
    wanted = [n for n in (*hostile_names["chiefs"], hostile_names["town"]) if n in names]
    assert wanted, "the renamed chiefs or town should be in the 通报"
    assert_literal(bulletin_xlsx(bulletin), wanted)
    ranking = assessment.ranking("city", 2022, "H1", today=date(2022, 7, 2))
    assert_literal(ranking_xlsx(ranking), wanted)


def test_works_plan_xlsx_literal_names_and_exact_money(demo_app):
    from roadchief.reports.works_plan_report import plan_xlsx
    from roadchief.services import works_plan

    segment = db.session.scalar(select(Segment).order_by(Segment.id))
    works_plan.add_item(2022, segment.id, "repair", HOSTILE[0], "平方米", 200, "12345.67")
    works_plan.add_item(2022, segment.id, "repair", HOSTILE[3], "米", 5, "0.10")
    data = plan_xlsx(works_plan.plan_report(make_user("city_office"), 2022))
    assert_literal(data, [HOSTILE[0], HOSTILE[3]])
    town_sheet = load_workbook(io.BytesIO(data))["按乡镇"]
    total = next(r for r in town_sheet.iter_rows(min_row=4) if r[0].value == "合计")
    assert raw_value(data, 1, total[6].coordinate) == "12345.77"
    items_sheet = load_workbook(io.BytesIO(data))["计划项目"]
    budgets = [raw_value(data, 2, row[8].coordinate) for row in items_sheet.iter_rows(min_row=2)]
    assert sorted(budgets) == ["0.10", "12345.67"] and sum(map(Decimal, budgets)) == Decimal("12345.77")


def test_audit_export_literal_user_text(demo_app):
    from roadchief.services.audit_query import export_xlsx

    db.session.add(
        AuditEntry(
            actor=HOSTILE[2],
            action="event",
            entity="test",
            entity_id=HOSTILE[3],
            note=HOSTILE[0],
            ip="-1",
            after='{"name": "=1+1"}',
        )
    )
    db.session.commit()
    data = export_xlsx(select(AuditEntry).where(AuditEntry.entity == "test"))
    assert_literal(data, [HOSTILE[0], HOSTILE[2], HOSTILE[3], "-1"])
