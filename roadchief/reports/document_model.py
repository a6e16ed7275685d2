"""The printable model of the funding documents — a :class:`Document` of :class:`Grid` tables and
:class:`Text` lines, written alike by the PDF (``pdf_layout``) and XLSX (``funding_xlsx``) writers —
and the checked parsing of the JSON into its cells: Decimal money and km, 小计/合计 rows summed
from the printed rows, status and date lines, the signature line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from roadchief.domain import clock

DEFAULT_ISSUER = "青铜峡市路长办公室"
MEASURES = "《青铜峡市农村公路管养“路长制”实施办法》"
DASH = "—"


# --------------------------------------------------------------------------- model

TEXT, INDEX, MONEY, KM, SCORE = "text", "index", "money", "km", "score"
SUMMED = (MONEY, KM)


@dataclass(frozen=True)
class Column:
    label: str
    width: float  # relative width (mm on the intended page)
    kind: str = TEXT
    align: str | None = None  # left | center | right; default from kind

    @property
    def alignment(self) -> str:
        return self.align or {TEXT: "left", INDEX: "center"}.get(self.kind, "right")


@dataclass(frozen=True)
class Row:
    cells: tuple  # str | Decimal | None per column; a "section" row has one label
    style: str = "item"  # item | child | subtotal | total | section


@dataclass(frozen=True)
class Grid:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    label_col: int = 1  # where 小计/合计 labels go, indented for child rows
    groups: tuple[tuple[int, int, str], ...] = ()  # (first, last, label) header bands


@dataclass(frozen=True)
class Text:
    text: str
    style: str = "note"  # note | capital | signature


@dataclass(frozen=True)
class Document:
    title: str
    issuer: str
    date_text: str
    status: str | None  # None: no status line
    draft: bool
    blocks: tuple  # Grid | Text
    wide: bool  # A4 landscape
    sheet_name: str


SIGNATURE = Text("经办人：__________　　审核人：__________　　分管领导：__________　　（单位盖章）", "signature")

# --------------------------------------------------------------------------- input parsing

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _decimal(value, places: int, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what}: float money/km is not accepted ({value!r})")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _NUMBER.fullmatch(value):
        number = Decimal(value)
    else:
        raise ValueError(f"{what}: expected a decimal string, got {value!r}")
    quantum = Decimal(1).scaleb(-places)
    if not number.is_finite() or number != number.quantize(quantum):
        raise ValueError(f"{what}: {value!r} has more than {places} decimals")
    return number.quantize(quantum)


def _money(value, what: str = "amount") -> Decimal:
    return _decimal(value, 2, what)


def _km(value, what: str = "km") -> Decimal | None:
    km = None if value is None else _decimal(value, 3, what)
    if km is not None and km < 0:
        raise ValueError(f"{what}: negative length {value!r}")
    return km


def _score(value, what: str = "score"):
    return DASH if value is None else _decimal(value, 2, what)


def _check(what: str, printed: Decimal, declared) -> None:
    """Raise ValueError when a printed sum differs from the total the input declares."""
    if not isinstance(declared, Decimal):
        declared = _money(declared, what)
    if printed != declared:
        raise ValueError(f"{what}: input says {declared}, printed rows sum to {printed}")


def _column_sum(rows, col: int) -> Decimal:
    return sum((r.cells[col] for r in rows if isinstance(r.cells[col], Decimal)), Decimal(0))


def _sum_row(label: str, rows, grid_columns, label_col: int, style: str) -> Row:
    """A 小计/合计 row: the sum of the given printed rows in every summed column."""
    cells = []
    for i, col in enumerate(grid_columns):
        if i == label_col:
            cells.append(label)
        elif col.kind in SUMMED:
            cells.append(_column_sum(rows, i))
        else:
            cells.append("")
    return Row(tuple(cells), style)


def _date_text(value) -> str:
    if not value:
        return "　　年　　月　　日"
    day = date.fromisoformat(str(value)[:10])
    return f"{day.year}年{day.month}月{day.day}日"


def _status(source: dict) -> tuple[str | None, bool]:
    """(status line, is draft): quarters carry ``status``, the settlement ``settled``."""
    if "status" in source:
        approved = source["status"] == "closed"
    elif "settled" in source:
        approved = bool(source["settled"])
    else:
        return None, False
    if not approved:
        return "草稿（未审定）", True
    parts = ["已审定"]
    if source.get("closed_by"):
        parts.append(f"审定人：{source['closed_by']}")
    if source.get("closed_at"):
        parts.append(f"审定时间：{_local_moment(source['closed_at'])}")
    return "　".join(parts), False


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _chief(unit: dict) -> str:
    name, title = unit.get("chief"), unit.get("chief_title")
    return "·".join(p for p in (name, title) if p) or DASH


def _local_moment(value) -> str:
    """A stored moment as finance reads it: Beijing time (naive text means Beijing already)."""
    try:
        at = clock.to_beijing(clock.as_beijing_input(datetime.fromisoformat(str(value))))
    except ValueError:
        return str(value or "")
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"
