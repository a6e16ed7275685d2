"""reports.svg_charts: bar widths are exact shares of the largest value (or the given maximum)."""

from __future__ import annotations

from decimal import Decimal

from roadchief.reports.svg_charts import bar_chart


def test_bars_are_shares_of_the_largest_value():
    chart = bar_chart("m", "计划与实拨", [("Q1", [("plan", Decimal("200.00")), ("paid", Decimal("150.00"))], "x"),
                                       ("Q2", [("plan", Decimal("200.00")), ("paid", None)], "y")])  # fmt: skip
    q1, q2 = chart.rows
    assert [(b.series, b.value, b.width) for b in q1.bars] == [
        ("plan", Decimal("200.00"), Decimal("100.0")),
        ("paid", Decimal("150.00"), Decimal("75.0")),
    ]
    assert [b.series for b in q2.bars] == ["plan"]  # no value, no bar
    assert q2.y > q1.bars[-1].y and chart.height > q2.bars[0].y
    assert chart.description == "Q1：x；Q2：y"


def test_a_fixed_maximum_and_hours_as_floats():
    chart = bar_chart(
        "s", "得分", [("小坝镇", [("s", Decimal("97.25"))], ""), ("叶盛镇", [("s", 12.5)], "")], maximum=100
    )
    assert [r.bars[0].width for r in chart.rows] == [Decimal("97.3"), Decimal("12.5")]
    assert chart.rows[1].bars[0].value == Decimal("12.5")
    empty = bar_chart("e", "无", [])
    assert empty.rows == () and empty.maximum == 0
