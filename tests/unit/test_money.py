import math
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadchief.domain.money import (
    FEN,
    allocate_exact,
    exact_mul,
    exact_sum,
    fen_to_yuan,
    format_fen,
    format_yuan,
    largest_remainder,
    round_fen,
    to_decimal,
    to_fen,
)


def test_fen_constant():
    assert FEN == D("0.01")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1.10", D("1.10")),
        (" 2 ", D("2")),
        (5, D(5)),
        (D("0.005"), D("0.005")),
    ],
)
def test_to_decimal_accepts_exact_inputs(value, expected):
    result = to_decimal(value)
    assert result == expected and isinstance(result, D)


@pytest.mark.parametrize("value", [0.1, 1.0, True, None, [1]])
def test_to_decimal_refuses_float_bool_and_others(value):
    with pytest.raises(TypeError):
        to_decimal(value)


@pytest.mark.parametrize("value", ["abc", "", "NaN", "Infinity", D("NaN")])
def test_to_decimal_refuses_non_numbers(value):
    with pytest.raises(ValueError):
        to_decimal(value)


def test_exact_sum_and_mul_never_round():
    assert exact_sum([D("1e30"), D("1e-30")]) == D("1000000000000000000000000000000.000000000000000000000000000001")
    assert exact_sum(["0.1"] * 10) == D("1.0")
    assert exact_sum([]) == 0
    assert exact_mul("388.701", 5000) == D("1943505.000")
    with pytest.raises(TypeError):
        exact_mul(0.1, 3)


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("2.345", D("2.35")),
        ("2.344", D("2.34")),
        ("-2.345", D("-2.35")),
        (D("0.005"), D("0.01")),
        (7, D("7.00")),
    ],
)
def test_round_fen_is_half_up(amount, expected):
    assert round_fen(amount) == expected
    assert str(round_fen(amount)) == str(expected)


def test_to_fen():
    assert to_fen("1234.505") == 123451
    assert to_fen(D("0.004")) == 0
    assert to_fen(3) == 300
    assert isinstance(to_fen("1.5"), int)
    with pytest.raises(TypeError):
        to_fen(0.1)


def test_fen_to_yuan():
    assert str(fen_to_yuan(123450)) == "1234.50"
    assert fen_to_yuan(-5) == D("-0.05")
    for bad in (1.0, D("1"), "1", True):
        with pytest.raises(TypeError):
            fen_to_yuan(bad)


def test_format_yuan_and_fen():
    assert format_yuan(D("1234.5")) == "1234.50"
    assert format_yuan(D("0.005")) == "0.01"
    assert format_yuan(D("-0.001")) == "0.00"
    assert format_fen(123450) == "1234.50"
    assert format_fen(-5) == "-0.05"
    assert format_fen(0) == "0.00"
    with pytest.raises(TypeError):
        format_yuan(1234)  # yuan or fen? refuse
    with pytest.raises(TypeError):
        format_yuan(1234.5)
    with pytest.raises(TypeError):
        format_fen(D("1234"))


@pytest.mark.parametrize(
    "total, weights, expected",
    [
        (10, [1, 1, 1], [4, 3, 3]),
        (100, [D("1.5"), 1, D("0.5")], [50, 33, 17]),
        (7, [0, 1, 1], [0, 4, 3]),
        (5, [D("0"), D("2")], [0, 5]),
        (0, [1, 2], [0, 0]),
        (1, [Fraction(1, 3), Fraction(2, 3)], [0, 1]),
    ],
)
def test_largest_remainder_examples(total, weights, expected):
    assert largest_remainder(total, weights) == expected


@pytest.mark.parametrize("weights", [[], [0, 0], [D(0)]])
def test_largest_remainder_refuses_zero_weights(weights):
    with pytest.raises(ValueError):
        largest_remainder(10, weights)


def test_largest_remainder_refuses_bad_inputs():
    with pytest.raises(ValueError):
        largest_remainder(10, [1, -1, 2])
    with pytest.raises(ValueError):
        largest_remainder(-1, [1])
    with pytest.raises(TypeError):
        largest_remainder(10, [0.5, 0.5])
    with pytest.raises(TypeError):
        largest_remainder(10.0, [1])
    with pytest.raises(TypeError):
        largest_remainder(10, ["1"])


def test_allocate_exact_keeps_the_column_total():
    assert allocate_exact([D("0.333"), D("0.333"), D("0.334")]) == [33, 33, 34]
    # rounding each row would print 0.01 + 0.01 under a 合计 of 0.01
    assert allocate_exact([D("0.005"), D("0.005")]) == [1, 0]
    assert allocate_exact([D("1943505.000"), D("2332662.000")]) == [194350500, 233266200]
    assert allocate_exact([]) == []
    with pytest.raises(TypeError):
        allocate_exact([0.1])


weights_st = st.lists(
    st.one_of(st.integers(0, 10**6), st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False)),
    min_size=1,
    max_size=30,
).filter(lambda ws: any(w > 0 for w in ws))


@given(st.integers(0, 10**10), weights_st)
def test_largest_remainder_properties(total, weights):
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    weight_sum = sum(Fraction(w) for w in weights)
    for part, w in zip(parts, weights):
        quota = total * Fraction(w) / weight_sum
        assert part in (math.floor(quota), math.ceil(quota))
        if w == 0:
            assert part == 0


@given(st.lists(st.decimals(-(10**7), 10**7, places=4, allow_nan=False, allow_infinity=False), max_size=30))
def test_allocate_exact_properties(amounts):
    parts = allocate_exact(amounts)
    exact_total = sum((Fraction(a) for a in amounts), Fraction(0))
    assert sum(parts) == to_fen(exact_sum(amounts))
    assert abs(sum(parts) - exact_total * 100) <= Fraction(1, 2)
    for part, amount in zip(parts, amounts):
        assert abs(part - Fraction(amount) * 100) < 1


def test_money_for_people_has_thousands_separators():
    from decimal import Decimal

    import pytest

    from roadchief.domain.money import group_yuan
    from roadchief.web.formatting import fen, yuan

    assert group_yuan(Decimal("4276167")) == "4,276,167.00"
    assert group_yuan(Decimal("-1234.565")) == "-1,234.57" and group_yuan(Decimal("-0.001")) == "0.00"
    assert yuan("2565700.20") == "2,565,700.20" and yuan(Decimal("999.5")) == "999.50"
    assert yuan("—") == "—" and yuan(None) == "" and yuan("") == ""
    assert fen(123456789) == "1,234,567.89"
    from roadchief.web.formatting import money_text

    assert money_text("+12345.60 / −880.00") == "+12,345.60 / −880.00"
    assert money_text("C001640381 K1+200 1234567.891") == "C001640381 K1+200 1234567.891"  # not an amount
    with pytest.raises(TypeError):
        yuan(100)  # yuan or fen? refused
    with pytest.raises(TypeError):
        group_yuan(1.5)
