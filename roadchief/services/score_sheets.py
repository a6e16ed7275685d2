"""Score sheets in the office's words: the columns 年度/季度/乡镇/村/得分 (English names too),
rows numbered as the spreadsheet shows them, and the fill-in template of a year's assessed units."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from roadchief.services import ServiceError
from roadchief.services.importing.columns import _column_key


@dataclass(frozen=True)
class ScoreColumn:
    label: str  # the office's name: the template's header and the name in messages
    aliases: tuple[str, ...]  # accepted header names; earlier ones win when several are present


# canonical field → column; the English names are those the import has always read
COLUMNS: dict[str, ScoreColumn] = {
    "year": ScoreColumn("年度", ("年度", "年份", "年", "year")),
    "quarter": ScoreColumn("季度", ("季度", "quarter")),
    "town": ScoreColumn("乡镇", ("乡镇", "所属乡镇", "乡镇名称", "镇", "town")),
    "village": ScoreColumn("村", ("村", "行政村", "所属村", "村名", "村名称", "village")),
    "station": ScoreColumn("公路站", ("公路站", "station")),
    "chief_id": ScoreColumn("路长编号", ("路长编号", "路长ID", "chief_id")),
    "score": ScoreColumn("得分", ("得分", "考核得分", "分数", "score")),
}
TEMPLATE_COLUMNS = ("year", "quarter", "town", "village", "station", "score")
FORMAT_HINT = "需要 年度、季度、得分，以及 乡镇（加可选的 村）、公路站 或 路长编号；英文列名 year、quarter、town、village、station、chief_id、score 亦可"

_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_QUARTER = re.compile(r"^(?:第)?([1-4一二三四])(?:季度|季)?$|^Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row as the spreadsheet shows it: the header is row 1, blank rows count
    cells: dict[str, str]  # canonical field → the cell's text, stripped


@dataclass(frozen=True)
class Sheet:
    names: dict[str, str]  # canonical field → the header as written in the file (for messages)
    rows: list[SheetRow]


def quarter_number(text: str) -> int:
    """1–4 from 1, 1.0, 一, 第一季度, 第1季度, Q1; ValueError otherwise."""
    text = text.strip().removesuffix(".0")
    match = _QUARTER.match(text)
    if not match:
        raise ValueError(text)
    digit = match.group(1) or match.group(2)
    return _CHINESE_DIGITS.get(digit) or int(digit)


def year_number(text: str) -> int:
    return int(text.strip().removesuffix(".0").removesuffix("年"))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _records(path: Path, data: bytes) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of every record, blank ones included."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gbk"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ServiceError("无法识别 CSV 文件编码（应为 UTF-8 或 GBK）")
        # a spreadsheet program shows one row per record (a quoted line break stays in its cell)
        return [(number, [c.strip() for c in record]) for number, record in enumerate(csv.reader(io.StringIO(text)), 1)]
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
            # read-only sheets yield the missing (blank) rows too, so the count matches the row numbers
            return [
                (number, [_cell_text(v) for v in values])
                for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
            ]
        except Exception:
            raise ServiceError("无法读取 XLSX 文件") from None
    raise ServiceError(f"不支持的文件类型：{suffix or path.name}（应为 .csv 或 .xlsx）")


def _positions(header: list[str]) -> dict[str, int]:
    """Canonical field → column index, for the headers this row names."""
    by_key: dict[str, int] = {}
    for index, name in enumerate(header):
        if name:
            by_key.setdefault(_column_key(name), index)
    positions: dict[str, int] = {}
    for field, column in COLUMNS.items():
        for alias in column.aliases:
            if _column_key(alias) in by_key:
                positions[field] = by_key[_column_key(alias)]
                break
    return positions


def read_sheet(path: Path, content: bytes | None = None) -> Sheet:
    """The header resolved to fields, and the non-blank rows after it. The header is the first
    non-blank row naming a score column (a title row such as “2024年考核得分” may come before it),
    else the first non-blank row."""
    records = _records(path, content if content is not None else path.read_bytes())
    filled = [(n, cells) for n, cells in records if any(cells)]
    if not filled:
        return Sheet({}, [])
    header_number, header = next(((n, c) for n, c in filled[:10] if "score" in _positions(c)), filled[0])
    positions = _positions(header)
    names = {field: header[index] for field, index in positions.items()}
    rows = [
        SheetRow(n, {field: cells[i] if i < len(cells) else "" for field, i in positions.items()})
        for n, cells in filled
        if n > header_number
    ]
    return Sheet(names, rows)


def missing_columns(sheet: Sheet) -> list[str]:
    """What the header lacks, in the office's words (empty when it is complete)."""
    missing = [COLUMNS[f].label for f in ("year", "quarter", "score") if f not in sheet.names]
    if not {"town", "station", "chief_id"} & sheet.names.keys():
        missing.append("乡镇（或 公路站、路长编号）")
    return missing


def template_rows(year: int, quarter: int | None = None) -> list[list]:
    """年度, 季度, 乡镇, 村, 公路站, 得分 (blank) for each assessed unit of the year: the units the
    year's money is paid to (第七条: towns, villages and 公路站 holding segments), per quarter."""
    from roadchief.services.funding_plan import payee_units

    units = payee_units(year)
    towns = {u.place.town_code: u.place.town_name for u in units if u.place.kind != "station"}
    rows = []
    for q in [quarter] if quarter else [1, 2, 3, 4]:
        for unit in units:
            place = unit.place
            if place.kind == "station":
                rows.append([year, q, towns.get(place.town_code, ""), "", place.name, None])
            else:
                rows.append([year, q, place.town_name, place.name if place.kind == "village" else "", "", None])
    return rows


def template_xlsx(year: int, quarter: int | None = None) -> bytes:
    """The fill-in workbook: one row per unit (and quarter), 得分 left blank; it imports as it is filled."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from roadchief.reports.xlsx_cells import row_cells

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{year}年考核得分"[:31]
    font = Font(name="SimSun")
    sheet.append(row_cells(sheet, [COLUMNS[f].label for f in TEMPLATE_COLUMNS]))
    for cell in sheet[1]:
        cell.font = Font(name="SimSun", bold=True)
    for values in template_rows(year, quarter):
        sheet.append(row_cells(sheet, values))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.font = font
    for letter, width in zip("ABCDEF", (8, 8, 14, 16, 18, 10)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    scores = DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True)
    scores.error, scores.errorTitle = "得分应为 0–100 的数", "得分"
    sheet.add_data_validation(scores)
    scores.add(f"F2:F{max(2, sheet.max_row)}")
    sheet.print_title_rows = "1:1"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
