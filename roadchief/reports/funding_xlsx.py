"""Funding documents as XLSX, from the same models as the PDFs (``funding_pdf``).

Rows and columns are identical to the printed forms.  Amounts stay ``Decimal``
until the cell write, where they become exact numbers (``reports.xlsx_cells``) with
``#,##0.00`` (money), ``0.00`` (scores) or ``0.000`` (km) formats; subtotals and totals are the row sums computed by
the model (static values, so the file reads the same in any viewer).
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from roadchief.reports.document_model import KM, MONEY, Document, Grid, Text
from roadchief.reports.funding_pdf import plan_document, quarter_document, settlement_document
from roadchief.reports.xlsx_cells import MONEY_FORMAT, put_number, put_text
from roadchief.reports.xlsx_style import finish_workbook

__all__ = ["quarter_xlsx", "plan_xlsx", "settlement_xlsx", "render_xlsx"]

_THIN = Side(style="thin", color="4D4D4D")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FILLS = {
    name: PatternFill("solid", fgColor=rgb)
    for name, rgb in (("head", "DCE3EE"), ("subtotal", "F1F1F1"), ("total", "DEDEDE"), ("section", "EEF2F8"))
}
_BOLD = Font(bold=True)


def _number_format(kind: str) -> str:
    return "0.000" if kind == KM else MONEY_FORMAT if kind == MONEY else "0.00"


def _merged_line(ws: Worksheet, row: int, width: int, text: str, **style) -> None:
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    cell = put_text(ws.cell(row, 1), text)
    cell.alignment = Alignment(horizontal=style.pop("align", "left"), vertical="center", wrap_text=True)
    cell.font = Font(**style)


def _write_grid(ws: Worksheet, grid: Grid, top: int, left: int, right: int) -> int:
    """Write header and rows from row ``top``, columns ``left``..``right``.

    When the grid has fewer columns than that span, its last column is merged
    up to ``right`` (the pool summary under the settlement uses this).
    Returns the first free row.
    """
    n = len(grid.columns)
    col_at = {i: left + i for i in range(n)}
    head_rows = 2 if grid.groups else 1
    rows = [(list(range(n)), None)] * head_rows + [(row.cells, row) for row in grid.rows]
    for r, (cells, row) in enumerate(rows, top):
        if row is not None and row.style == "section":
            cells = [row.cells[0]] + [None] * (n - 1)
        for i, value in enumerate(cells):
            cell, col = ws.cell(r, col_at[i]), grid.columns[i]
            if row is None:  # header: label now, merges below
                cell.value, cell.font, cell.fill = col.label, _BOLD, _FILLS["head"]
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            elif isinstance(value, Decimal):
                put_number(cell, value, _number_format(col.kind))  # the exact decimal in the file, no float
            elif isinstance(value, str):
                put_text(cell, value)  # literal text, never a formula
            else:
                cell.value = value if value not in ("", None) else None
            if row is not None:
                indent = 1 if row.style == "child" and i == grid.label_col else 0
                cell.alignment = Alignment(horizontal=col.alignment, vertical="center", wrap_text=True, indent=indent)
                if row.style in _FILLS:
                    cell.fill, cell.font = _FILLS[row.style], _BOLD
            cell.border = _BORDER
        for c in range(col_at[n - 1] + 1, right + 1):  # pad the row so borders/fills reach ``right``
            ws.cell(r, c).border = _BORDER
        if right > col_at[n - 1]:
            ws.merge_cells(start_row=r, start_column=col_at[n - 1], end_row=r, end_column=right)
        if row is not None and row.style == "section":
            ws.merge_cells(start_row=r, start_column=left, end_row=r, end_column=right)
            ws.cell(r, left).alignment = Alignment(horizontal="left", vertical="center")

    if grid.groups:  # two header rows: group bands across, other labels span both rows
        grouped: set[int] = set()
        for first, last, label in grid.groups:
            ws.cell(top, col_at[first], label)
            ws.merge_cells(start_row=top, start_column=col_at[first], end_row=top, end_column=col_at[last])
            grouped.update(range(first, last + 1))
        for i in set(range(n)) - grouped:
            ws.merge_cells(start_row=top, start_column=col_at[i], end_row=top + 1, end_column=col_at[i])
    return top + len(rows)


def render_xlsx(doc: Document) -> bytes:
    """Write a funding :class:`Document` as a one-sheet workbook."""
    wb = Workbook()
    ws = wb.active
    ws.title = doc.sheet_name[:31]
    main = next(b for b in doc.blocks if isinstance(b, Grid))
    width = len(main.columns)
    for c, col in enumerate(main.columns, 1):
        ws.column_dimensions[get_column_letter(c)].width = round(col.width * 0.62, 1)

    _merged_line(ws, 1, width, doc.title, bold=True, size=14, align="center")
    ws.row_dimensions[1].height = 26
    _merged_line(ws, 2, width, f"编制单位：{doc.issuer}　　单位：元　　日期：{doc.date_text}")
    row = 3
    if doc.status:
        _merged_line(
            ws, row, width, f"【{doc.status}】", bold=True, color="C0392B" if doc.draft else "1E6B3A", align="center"
        )
        row += 1
    for block in doc.blocks:
        if isinstance(block, Grid):
            top = row + (block is not main)  # a blank line before secondary tables
            # secondary tables start in column B: column A (序号/排名) is too narrow for labels
            row = _write_grid(ws, block, top, 1 if block is main else 2, width)
            if block is main:
                first_data = top + (2 if block.groups else 1)
                ws.freeze_panes = ws.cell(first_data, 1)
                ws.print_title_rows = f"{top}:{first_data - 1}"  # header repeats on printed pages
        elif isinstance(block, Text):
            _merged_line(ws, row, width, block.text, bold=block.style == "capital")
            ws.row_dimensions[row].height = 30 if len(block.text) > 60 else 18
            row += 1
    ws.page_setup.orientation = "landscape" if doc.wide else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    finish_workbook(wb)  # the CJK font on every cell (keeps the print setup above)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def quarter_xlsx(report: dict) -> bytes:
    """季度拨付表 as XLSX."""
    return render_xlsx(quarter_document(report))


def plan_xlsx(plan: dict) -> bytes:
    """年度养护经费计划 as XLSX."""
    return render_xlsx(plan_document(plan))


def settlement_xlsx(settlement: dict) -> bytes:
    """年终考评及以奖代补结算 as XLSX."""
    return render_xlsx(settlement_document(settlement))
