"""Safe cell writes for every XLSX the system produces.

Text is always literal text. openpyxl stores a string that starts with "=" as a formula,
and a spreadsheet program evaluates text starting with = + - @ (or a tab / carriage return
before one) as soon as someone edits the cell: a road, chief, village or note called
``=HYPERLINK("http://…","点此")`` would become a live link or worse (CSV/formula injection,
OWASP). So every string is written as an inline string (type ``s``), and a string starting
with one of those characters also gets the cell's *quote prefix* (Excel's stored form of a
leading apostrophe: shown as typed, stays text when edited). Characters XML cannot hold are
replaced by U+FFFD instead of failing the whole export.

Numbers are exact. openpyxl writes a Decimal through ``"%.16g" % value`` (a float); here the
cell's XML text is the exact decimal instead (``<v>2565700.20</v>``), produced from integer fen
or a Decimal without any float arithmetic, with a number format (money ``#,##0.00``). A
spreadsheet program still reads a number, so sums and charts work.

Use ``put_text`` / ``put_money`` / ``put_number`` on a cell got from ``ws.cell(r, c)``, or
``row_cells(ws, values)`` for ``ws.append`` (strings become text cells, ``money_cell(...)``
money cells, Decimals exact numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

from roadchief.domain.money import require_fen, to_decimal

__all__ = [
    "FORMULA_STARTS",
    "MONEY_FORMAT",
    "Money",
    "money_cell",
    "money_text",
    "put_money",
    "put_number",
    "put_text",
    "row_cells",
    "text_cell",
]

# = + - @ per OWASP, tab and CR (a cell starting with one is trimmed, then parsed), and the
# full-width forms a Chinese input method types.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
MONEY_FORMAT = "#,##0.00"
_PLACES = re.compile(r"\.(0+)$")


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def put_text(cell: Cell, value) -> Cell:
    """Write ``value`` as literal text (None or "" leaves the cell empty)."""
    if value is None or value == "":
        cell.value = None
        return cell
    text = _clean(str(value))
    cell.value = text
    cell.data_type = "s"  # never "f" (formula) or "e" (an error code such as "#N/A")
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def _exact(value: Decimal, places: int) -> str:
    """The fixed-point text of ``value`` with ``places`` decimals; refuses to round."""
    quantum = Decimal(1).scaleb(-places)
    if value != value.quantize(quantum):
        raise ValueError(f"{value} 不能用 {places} 位小数精确表示")
    return f"{value.quantize(quantum):.{places}f}"


def money_text(amount) -> str:
    """Integer fen (12345) or Decimal / string yuan ("123.45") → "123.45"; floats refused."""
    if isinstance(amount, int) and not isinstance(amount, bool):
        return _exact(Decimal(require_fen(amount)).scaleb(-2), 2)
    return _exact(to_decimal(amount), 2)


def _put_exact(cell: Cell, text: str, number_format: str) -> Cell:
    cell.value = text
    cell.data_type = "n"  # the text goes into <v> as written: the exact decimal, no float on the way
    cell.number_format = number_format
    return cell


def put_money(cell: Cell, amount, number_format: str = MONEY_FORMAT) -> Cell:
    """An exact money amount (fen int, or Decimal / string yuan) with the money format."""
    return _put_exact(cell, money_text(amount), number_format)


def put_number(cell: Cell, value, number_format: str) -> Cell:
    """An exact Decimal with as many decimals as ``number_format`` shows ("0.000" → 3)."""
    match = _PLACES.search(number_format)
    return _put_exact(cell, _exact(to_decimal(value), len(match.group(1)) if match else 0), number_format)


@dataclass(frozen=True)
class Money:
    """A money amount for ``row_cells``; the exact text is computed (and checked) at once."""

    text: str
    number_format: str = MONEY_FORMAT


def money_cell(amount, number_format: str = MONEY_FORMAT) -> Money | None:
    """Mark a value for ``row_cells`` as money; None / "" stay an empty cell."""
    if amount is None or amount == "":
        return None
    return Money(money_text(amount), number_format)


@dataclass(frozen=True)
class _Text:
    value: object


def text_cell(value) -> _Text:
    """Mark a non-string value (a code that looks like a number …) to be written as text."""
    return _Text(value)


def _plain(value: Decimal) -> str:
    value = to_decimal(value)
    places = max(0, -value.as_tuple().exponent) if isinstance(value.as_tuple().exponent, int) else 0
    return f"{value:.{places}f}"


def row_cells(ws: Worksheet, values) -> list:
    """Values for ``ws.append``: strings become literal-text cells, ``money_cell`` values money
    cells, Decimals exact numbers (their own decimals; set a number format afterwards);
    everything else (int, date, None) is passed through."""
    out = []
    for value in values:
        if isinstance(value, (str, _Text)):
            out.append(put_text(Cell(ws), value.value if isinstance(value, _Text) else value))
        elif isinstance(value, Money):
            out.append(_put_exact(Cell(ws), value.text, value.number_format))
        elif isinstance(value, Decimal):
            out.append(_put_exact(Cell(ws), _plain(value), "General"))
        else:
            out.append(value)
    return out
