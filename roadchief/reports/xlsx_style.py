"""What every workbook the system writes shares: a CJK font named on every cell style and the print setup.

A workbook that names no font opens in Calibri, which has no Chinese glyphs: Excel then
substitutes per character and the printed columns no longer line up. ``finish_workbook``
names ``CJK_FONT`` on every written cell (keeping bold, size and colour) and gives every
sheet A4 paper, fit to one page wide, landscape when the sheet is wide, and the header
rows repeated on each printed page.
"""

from __future__ import annotations

from openpyxl.styles import Font
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

CJK_FONT = "Microsoft YaHei"  # 微软雅黑: on every office PC; LibreOffice falls back to WenQuanYi / Noto CJK
WIDE_COLUMNS = 6  # more columns than this prints landscape

__all__ = ["CJK_FONT", "finish_workbook", "print_setup", "cjk_font"]


def cjk_font(font: Font | None = None, **changes) -> Font:
    """``font`` (or the default) with the CJK family named, plus any changes (bold=True …)."""
    base = font or Font()
    values = {
        "name": CJK_FONT,
        "size": base.sz or 11,
        "bold": base.b,
        "italic": base.i,
        "underline": base.u,
        "strike": base.strike,
        "color": base.color,
        "vertAlign": base.vertAlign,
    }
    values.update(changes)
    return Font(**values)


def _name_fonts(ws: Worksheet) -> None:
    cache: dict[tuple, Font] = {}
    for row in ws.iter_rows():
        for cell in row:
            font = cell.font
            if font.name == CJK_FONT:
                continue
            key = (font.sz, font.b, font.i, font.u, font.strike, font.color.rgb if font.color else None, font.vertAlign)
            if key not in cache:
                cache[key] = cjk_font(font)
            cell.font = cache[key]


def _default_font(wb: Workbook) -> None:
    """The workbook's default font (style 0, what empty cells and new typing use) in the CJK family."""
    from openpyxl.utils.indexed_list import IndexedList

    fonts = list(wb._fonts)
    fonts[0] = cjk_font(fonts[0])
    wb._fonts = IndexedList(fonts)


def print_setup(ws: Worksheet, title_rows: str | None = None, landscape: bool | None = None) -> None:
    """A4, one page wide (as many pages down as needed), header rows repeated on every page."""
    wide = ws.max_column > WIDE_COLUMNS if landscape is None else landscape
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"


def finish_workbook(wb: Workbook, title_rows: dict[str, str] | None = None) -> Workbook:
    """Name the CJK font on every cell; print setup on every sheet (keeping a sheet's own
    print titles and orientation when it set them). ``title_rows`` maps a sheet title to "1:2"."""
    _default_font(wb)
    for ws in wb.worksheets:
        _name_fonts(ws)
        rows = (title_rows or {}).get(ws.title) or ws.print_title_rows
        chosen = ws.page_setup.orientation  # None unless the sheet's writer decided
        print_setup(ws, rows, None if chosen is None else chosen == "landscape")
    return wb
