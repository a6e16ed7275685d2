"""Bar charts drawn as inline SVG on the server (no script, no CDN: the CSP allows neither).

A chart is a plain model — rows of bars with widths in per cent of the largest value — that the
template macro ``dashboard/_charts.html: bar_chart`` draws; widths in per cent keep it fluid on
a 360 px phone. Each bar carries its exact value (``data-value``), and every chart is shown with
a data table, so screen readers and tests read the same numbers the bars are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

TENTH = Decimal("0.1")
LABEL_LINE = 18  # px: the row's label and value text
BAR_HEIGHT = 12
BAR_GAP = 4
ROW_GAP = 10


@dataclass(frozen=True)
class Bar:
    series: str  # CSS class of the series (colour)
    value: Decimal
    width: Decimal  # per cent of the chart's largest value
    y: int


@dataclass(frozen=True)
class Row:
    label: str
    text: str  # the value(s) as written next to the label
    y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    key: str  # id prefix of the SVG's title/desc
    title: str
    rows: tuple[Row, ...]
    height: int
    legend: tuple[tuple[str, str], ...]  # (series class, label)
    maximum: Decimal

    @property
    def description(self) -> str:
        return "；".join(f"{row.label}：{row.text}" for row in self.rows)


def as_decimal(value) -> Decimal:
    """Money and scores are Decimal already; hours (float averages, one place) go through their text."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def bar_chart(
    key: str,
    title: str,
    rows: list[tuple[str, list[tuple[str, object]], str]],
    legend: list[tuple[str, str]] | None = None,
    maximum=None,
) -> Chart:
    """``rows``: (label, [(series, value or None), …], text). A missing value draws no bar.
    Widths are relative to ``maximum`` (default: the largest value)."""
    values = [as_decimal(v) for _, bars, _ in rows for _, v in bars if v is not None]
    top = as_decimal(maximum) if maximum is not None else max(values, default=Decimal(0))
    drawn, y = [], 0
    for label, bars, text in rows:
        bar_y = y + LABEL_LINE
        parts = []
        for series, value in bars:
            if value is not None:
                amount = as_decimal(value)
                width = (amount * 100 / top).quantize(TENTH, ROUND_HALF_UP) if top > 0 else Decimal(0)
                parts.append(Bar(series, amount, max(Decimal(0), min(width, Decimal(100))), bar_y))
            bar_y += BAR_HEIGHT + BAR_GAP
        drawn.append(Row(label, text, y, tuple(parts)))
        y = bar_y + ROW_GAP
    return Chart(key, title, tuple(drawn), max(y, LABEL_LINE), tuple(legend or ()), top)
