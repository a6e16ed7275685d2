"""Tests for roadchief.domain.capitals.chinese_capital (大写金额)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadchief.domain.capitals import chinese_capital

CASES = [
    # the figure of 第十五条 as printed on docs/office-formats.md's 季度拨付表
    ("2565700.20", "贰佰伍拾陆万伍仟柒佰元贰角"),
    ("4276167.00", "肆佰贰拾柒万陆仟壹佰陆拾柒元整"),
    ("641425.05", "陆拾肆万壹仟肆佰贰拾伍元零伍分"),
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("0.25", "贰角伍分"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("10.50", "壹拾元伍角"),
    ("15", "壹拾伍元整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1005", "壹仟零伍元整"),
    ("1010.00", "壹仟零壹拾元整"),
    ("1000.05", "壹仟元零伍分"),
    ("1409.50", "壹仟肆佰零玖元伍角"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # rule 3: no 零 after 元 (our choice)
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),  # rule 4: 零 when 角 is 0
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("20000.30", "贰万元叁角"),  # rule 3, consistent with 柒佰元贰角
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("10700", "壹万零柒佰元整"),
    ("100000", "壹拾万元整"),
    ("1000000.00", "壹佰万元整"),
    ("10000000", "壹仟万元整"),
    ("100000000", "壹亿元整"),
    ("100010000.00", "壹亿零壹万元整"),
    ("100000001", "壹亿零壹元整"),
    ("120000000", "壹亿贰仟万元整"),
    ("1000000000000", "壹万亿元整"),
    ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("-5.00", "负伍元整"),
    ("-2565700.20", "负贰佰伍拾陆万伍仟柒佰元贰角"),
    ("-0.00", "零元整"),
    ("12.3", "壹拾贰元叁角"),
    ("7.000", "柒元整"),  # extra zero places are still whole fen
]


@pytest.mark.parametrize(("amount", "expected"), CASES)
def test_exact_cases(amount, expected):
    assert chinese_capital(Decimal(amount)) == expected


@pytest.mark.parametrize("bad", [1.5, 0.0, float("nan")])
def test_float_is_type_error(bad):
    with pytest.raises(TypeError):
        chinese_capital(bad)


@pytest.mark.parametrize("bad", ["1.00", 100, True, None])
def test_non_decimal_is_type_error(bad):
    with pytest.raises(TypeError):
        chinese_capital(bad)


@pytest.mark.parametrize("bad", ["1.005", "NaN", "Infinity", "1E16", "-1E16"])
def test_invalid_decimals_are_value_error(bad):
    with pytest.raises(ValueError):
        chinese_capital(Decimal(bad))


# --- round trip: an independent reader of 大写 --------------------------------

_D = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_U = {"拾": 10, "佰": 100, "仟": 1000}


def _small(text: str) -> int:
    value = num = 0
    for ch in text:
        if ch in _D:
            num = _D[ch]
        else:
            value += num * _U[ch]
            num = 0
    return value + num


def _big(text: str) -> int:
    for unit, scale in (("亿", 10**8), ("万", 10**4)):
        if unit in text:
            high, low = text.split(unit, 1)
            return _big(high) * scale + _big(low)
    return _small(text)


def _read(text: str) -> Decimal:
    sign = -1 if text.startswith("负") else 1
    text = text.removeprefix("负").removesuffix("整")
    yuan, _, frac = text.rpartition("元")
    fen = 0
    for ch, unit in zip(frac, frac[1:]):
        if unit in "角分" and ch in _D:
            fen += _D[ch] * (10 if unit == "角" else 1)
    return sign * (Decimal(_big(yuan)) + Decimal(fen) / 100)


@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1))
def test_round_trip_and_shape(fen):
    amount = Decimal(fen) / 100
    text = chinese_capital(amount)
    assert _read(text) == amount
    assert "零零" not in text
    assert not text.startswith("零") or text == "零元整"
    assert not text.endswith("零")
    cents = abs(fen) % 100
    assert text.endswith("整") == (cents == 0)
    assert "元零" not in text or cents < 10  # 零 after 元 only when 角 is 0
