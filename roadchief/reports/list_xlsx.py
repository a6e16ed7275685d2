"""One helper for every list page's 导出Excel (registry, ledger, rectifications, public reports, events, audit log).

A list becomes one sheet: an optional title line and a line saying which filters were applied,
then the header row (repeated on every printed page, frozen on screen) and one row per item.
Money is integer fen written as an exact ``#,##0.00`` number, km ``0.000``, moments in Beijing
time, text literal (never a formula; ``xlsx_cells``). A text longer than a cell holds (32,767
characters) is never cut: it continues in the same column of continuation rows marked “（续）”.
``xlsx_style.finish_workbook`` names the CJK font and sets up A4 printing, one page wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, PatternFill, Side
from openpyxl.utils import get_column_letter

from roadchief.domain.clock import to_beijing
from roadchief.reports.xlsx_cells import put_money, put_number, put_text
from roadchief.reports.xlsx_style import cjk_font, finish_workbook

__all__ = ["CELL_LIMIT", "CONTINUED", "ListColumn", "list_workbook", "split_text"]

CELL_LIMIT = 32_767  # characters a spreadsheet cell holds
CONTINUED = "（续）"
KM_FORMAT = "0.000"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
_THIN = Side(style="thin", color="9A9A9A")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DCE3EE")
_WRAP = Alignment(vertical="top", wrap_text=True)
# Text longer than this is not wrapped: a wrapped 2,000-character geometry fills a printed page
# by itself. The whole value is still in the cell (and on screen in the formula bar).
WRAP_LIMIT = 300
_LONG = Alignment(vertical="top", wrap_text=False)
_NUMBER = Alignment(vertical="top", horizontal="right")


@dataclass(frozen=True)
class ListColumn:
    label: str
    width: float = 14
    kind: str = "text"  # text | money (fen) | km (Decimal km) | number (Decimal/int) | moment | date


def split_text(text: str, limit: int = CELL_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, nothing dropped."""
    return [text[i : i + limit] for i in range(0, len(text), limit)] or [""]


def _put(cell, column: ListColumn, value) -> None:
    if value is None or value == "":
        cell.value = None
    elif column.kind == "money":
        put_money(cell, value)
    elif column.kind == "km":
        put_number(cell, Decimal(str(value)) if not isinstance(value, Decimal) else value, KM_FORMAT)
    elif column.kind == "number":
        if isinstance(value, Decimal):
            exponent = value.as_tuple().exponent
            places = max(0, -exponent) if isinstance(exponent, int) else 0
            put_number(cell, value, "0." + "0" * places if places else "0")
        else:
            cell.value = value
    elif column.kind == "moment" and isinstance(value, datetime):
        cell.value = to_beijing(value).replace(tzinfo=None, microsecond=0)  # shown in Beijing time (the header says so)
        cell.number_format = MOMENT_FORMAT
    elif column.kind == "date" and isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        put_text(cell, value)
    if column.kind in ("money", "km", "number"):
        cell.alignment = _NUMBER
    else:
        cell.alignment = _LONG if isinstance(value, str) and len(value) > WRAP_LIMIT else _WRAP
    cell.border = _BORDER


def list_workbook(
    sheet_title: str,
    columns: list[ListColumn],
    rows,
    title: str | None = None,
    note: str | None = None,
) -> bytes:
    """The list as XLSX bytes. ``rows`` yields sequences of values in column order."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title[:31]
    width = len(columns)
    line = 1
    for text, size in ((title, 14), (note, 10)):
        if text:
            ws.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
            cell = put_text(ws.cell(line, 1), text)
            cell.font = cjk_font(bold=size == 14, size=size)
            cell.alignment = Alignment(horizontal="center" if size == 14 else "left", wrap_text=True)
            line += 1
    head = line
    for c, column in enumerate(columns, 1):
        cell = put_text(ws.cell(head, c), column.label)
        cell.font = cjk_font(bold=True)
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = column.width
    r = head + 1
    for values in rows:
        values = list(values)
        pieces = {
            i: split_text(v)
            for i, v in enumerate(values)
            if columns[i].kind == "text" and isinstance(v, str) and len(v) > CELL_LIMIT
        }
        for i, column in enumerate(columns):
            _put(ws.cell(r, i + 1), column, pieces[i][0] if i in pieces else values[i])
        extra = max((len(p) for p in pieces.values()), default=1)
        for k in range(1, extra):  # continuation rows: the rest of each long text, in its own column
            r += 1
            for i, column in enumerate(columns):
                value = pieces[i][k] if i in pieces and k < len(pieces[i]) else None
                if value is None and i == 0 and 0 not in pieces:
                    value = CONTINUED
                _put(ws.cell(r, i + 1), ListColumn(column.label, column.width), value)
        r += 1
    ws.freeze_panes = ws.cell(head + 1, 1)
    if r > head + 1:
        ws.auto_filter.ref = f"A{head}:{get_column_letter(width)}{r - 1}"
    finish_workbook(wb, {ws.title: f"{head}:{head}"})
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
