"""年度养护计划完成情况 (plan vs. done, 第七条) as XLSX and PDF, from
``services.works_plan.plan_report``: one row per town — items planned and completed,
quantities per unit, completion, budget and money spent — and the 合计 row.

Money stays integer fen until the cell is written: the XLSX gets ``Decimal`` yuan
(exact, two decimals), the PDF the ``format_fen`` text. The 合计 row is the sum of
the printed rows to the fen (the same items, added once per town and once in total).
"""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roadchief.domain.money import format_fen
from roadchief.reports.fonts import register_cjk_font
from roadchief.reports.pdf_layout import _NumberedCanvas
from roadchief.reports.xlsx_cells import put_money, put_text
from roadchief.reports.xlsx_style import finish_workbook

__all__ = ["plan_xlsx", "plan_pdf", "HEAD", "ITEM_HEAD"]

HEAD = ["乡镇", "计划项数", "已完成项数", "完成率", "计划数量", "完成数量", "计划预算（元）", "已支出（元）"]
ITEM_HEAD = ["乡镇", "路线", "路段", "类别", "工程内容", "单位", "计划数量", "完成数量", "预算（元）", "已支出（元）"]
MONEY_FORMAT = "#,##0.00"


def title(year: int) -> str:
    return f"{year} 年度农村公路养护计划完成情况"


def _row(t) -> list:
    return [t.town, t.items, t.done_items, t.completion, t.planned_text, t.done_text, t.budget_fen, t.spent_fen]


# ------------------------------------------------------------------ XLSX

_THIN = Side(style="thin", color="4D4D4D")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DCE3EE")
_TOTAL_FILL = PatternFill("solid", fgColor="DEDEDE")


def _sheet_rows(
    ws, top: int, head: list[str], rows: list[list], money_cols: set[int], total: list | None = None
) -> int:
    for c, label in enumerate(head, 1):
        cell = ws.cell(top, c, label)
        cell.font, cell.fill, cell.border = Font(bold=True), _HEAD_FILL, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    r = top
    for r, row in enumerate(rows + ([total] if total else []), top + 1):
        is_total = total is not None and r == top + len(rows) + 1
        for c, value in enumerate(row, 1):
            cell = ws.cell(r, c)
            if c - 1 in money_cols:
                put_money(cell, value, MONEY_FORMAT)  # integer fen -> the exact yuan text in the file
                cell.alignment = Alignment(horizontal="right")
            else:
                if isinstance(value, str):
                    put_text(cell, value)  # literal text, never a formula
                else:
                    cell.value = value
                cell.alignment = Alignment(horizontal="right" if isinstance(value, int) else "left", wrap_text=True)
            cell.border = _BORDER
            if is_total:
                cell.font, cell.fill = Font(bold=True), _TOTAL_FILL
    return r + 1


def plan_xlsx(report: dict, generated: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "按乡镇"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEAD))
    ws.cell(1, 1, title(report["year"])).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(HEAD))
    ws.cell(
        2,
        1,
        "金额单位：元；完成率 = 已完成项数 ÷ 计划项数（完成数量达到计划数量的项目为已完成）"
        + (f"；生成时间 {generated}" if generated else ""),
    )
    _sheet_rows(ws, 3, HEAD, [_row(t) for t in report["towns"]], {6, 7}, _row(report["total"]))
    for letter, width in zip("ABCDEFGH", (16, 10, 11, 9, 28, 28, 16, 16)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"

    items = wb.create_sheet("计划项目")
    rows = [
        [
            i.segment.town.name,
            i.segment.road.code,
            f"{_stake(i.segment.start_m)}–{_stake(i.segment.end_m)}",
            i.category_label,
            i.title,
            i.unit,
            i.quantity,
            i.done_quantity,
            i.budget_fen,
            i.spent_fen,
        ]
        for i in report["items"]
    ]
    _sheet_rows(items, 1, ITEM_HEAD, rows, {8, 9})
    for letter, width in zip("ABCDEFGHIJ", (14, 14, 20, 8, 36, 8, 10, 10, 16, 16)):
        items.column_dimensions[letter].width = width
    items.freeze_panes = "A2"
    finish_workbook(wb, {"按乡镇": "1:3", "计划项目": "1:1"})
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _stake(metres: int) -> str:
    from roadchief.domain.stakes import format_stake

    return format_stake(metres)


# ------------------------------------------------------------------ PDF


def plan_pdf(report: dict, generated: str = "") -> bytes:
    font = register_cjk_font()
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=21, alignment=1, spaceAfter=4),
        "sub": ParagraphStyle(
            "sub", fontName=font, fontSize=9, leading=12, alignment=1, textColor=colors.HexColor("#444444")
        ),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11),
        "num": ParagraphStyle("num", fontName=font, fontSize=8.5, leading=11, alignment=2),
        "muted": ParagraphStyle("muted", fontName=font, fontSize=8.5, leading=11, textColor=colors.HexColor("#666666")),
    }
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=15 * mm,
        title=title(report["year"]),
        author="青铜峡市路长办公室",
    )
    story = [
        Paragraph(escape(title(report["year"])), styles["title"]),
        Paragraph(
            escape("金额单位：元　完成率 = 已完成项数 ÷ 计划项数" + (f"　生成时间 {generated}" if generated else "")),
            styles["sub"],
        ),
        Spacer(1, 3 * mm),
    ]

    def table(head, rows, widths, numeric: set[int], total_last: bool):
        data = [[Paragraph(escape(h), styles["cell"]) for h in head]]
        data += [
            [Paragraph(escape(str(v)), styles["num"] if i in numeric else styles["cell"]) for i, v in enumerate(row)]
            for row in rows
        ]
        t = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        commands = [
            ("FONT", (0, 0), (-1, -1), styles["cell"].fontName, 8.5),  # else a non-embedded Helvetica
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#4d4d4d")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dce3ee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if total_last:
            commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#dedede")))
        t.setStyle(TableStyle(commands))
        return t

    def printed(t) -> list:
        row = _row(t)
        return row[:6] + [format_fen(row[6]), format_fen(row[7])]

    story.append(Paragraph("一、按乡镇", styles["h2"]))
    rows = [printed(t) for t in report["towns"]] + [printed(report["total"])]
    story.append(table(HEAD, rows, [30, 18, 20, 18, 56, 56, 27, 27], {1, 2, 3, 6, 7}, True))
    story.append(Paragraph("二、计划项目", styles["h2"]))
    if report["items"]:
        story.append(
            table(
                ITEM_HEAD,
                [
                    [
                        i.segment.town.name,
                        i.segment.road.code,
                        f"{_stake(i.segment.start_m)}–{_stake(i.segment.end_m)}",
                        i.category_label,
                        i.title,
                        i.unit,
                        i.quantity,
                        i.done_quantity,
                        format_fen(i.budget_fen),
                        format_fen(i.spent_fen),
                    ]
                    for i in report["items"]
                ],
                [24, 24, 30, 12, 70, 14, 18, 18, 31, 31],
                {6, 7, 8, 9},
                False,
            )
        )
    else:
        story.append(Paragraph("本年度尚无计划项目", styles["muted"]))
    doc.build(story, canvasmaker=_NumberedCanvas)
    return out.getvalue()
