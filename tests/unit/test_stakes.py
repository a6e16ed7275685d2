from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadchief.domain.stakes import (
    StakeError,
    find_overlaps,
    format_stake,
    parse_stake,
    parse_stake_km,
    stake_length_km,
)


@pytest.mark.parametrize(
    "text, metres",
    [
        ("K12+345", 12345),
        ("k12+345", 12345),
        ("K12+345.0", 12345),
        (" K0+000 ", 0),
        ("12+345", 12345),
        ("12.345", 12345),
        ("12", 12000),
        ("K12+345.5", 12346),
        ("K12+345.49", 12345),
        ("K1+999.5", 2000),
        ("12.3455", 12346),
        ("Ｋ１２＋３４５", 12345),
        ("K12 + 345", 12345),
        ("K0+005", 5),
    ],
)
def test_parse_stake_strings(text, metres):
    assert parse_stake(text) == metres


def test_numbers_are_kilometres():
    assert parse_stake(D("12.345")) == 12345
    assert parse_stake(12) == 12000
    assert parse_stake_km(D("0.0005")) == 1
    assert parse_stake_km(D("0.0004")) == 0
    with pytest.raises(TypeError):
        parse_stake(12.345)
    with pytest.raises(TypeError):
        parse_stake_km("12")
    with pytest.raises(TypeError):
        parse_stake(True)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "K1+1000",
        "-1",
        "K-1+000",
        "K12+5",
        "K12+05",
        "K12",
        "abc",
        "K12+345+1",
        "12.3.4",
    ],
)
def test_parse_stake_refuses(text):
    with pytest.raises(StakeError):
        parse_stake(text)


def test_stake_errors_are_value_errors_with_chinese_messages():
    with pytest.raises(ValueError, match="小于1000"):
        parse_stake("K1+1000")
    with pytest.raises(StakeError, match="为空"):
        parse_stake(" ")
    with pytest.raises(StakeError, match="不能为负"):
        parse_stake_km(D("-0.001"))
    with pytest.raises(StakeError):
        parse_stake_km(D("NaN"))


@pytest.mark.parametrize(
    "metres, text",
    [
        (12345, "K12+345"),
        (0, "K0+000"),
        (5, "K0+005"),
        (1000, "K1+000"),
        (123456, "K123+456"),
    ],
)
def test_format_stake(metres, text):
    assert format_stake(metres) == text


def test_format_stake_refuses():
    with pytest.raises(StakeError):
        format_stake(-1)
    with pytest.raises(TypeError):
        format_stake(D("12"))


@given(st.integers(0, 10**7))
def test_format_then_parse_round_trips(metres):
    assert parse_stake(format_stake(metres)) == metres


def test_stake_length_km():
    assert stake_length_km(0, 1250) == D("1.250")
    assert str(stake_length_km(12345, 13000)) == "0.655"
    assert str(stake_length_km(0, 1)) == "0.001"
    with pytest.raises(StakeError, match="K1\\+000"):
        stake_length_km(1000, 1000)
    with pytest.raises(StakeError):
        stake_length_km(2000, 1000)
    with pytest.raises(StakeError):
        stake_length_km(-5, 1000)


def test_touching_ranges_do_not_overlap():
    assert find_overlaps([("a", 0, 1000), ("b", 1000, 2000)]) == []


def test_overlap_examples():
    assert find_overlaps([("a", 0, 1000), ("b", 999, 2000)]) == [("a", "b")]
    assert find_overlaps([("b", 500, 600), ("a", 0, 1000)]) == [("b", "a")]
    assert find_overlaps([("a", 0, 100), ("b", 0, 100), ("c", 50, 60), ("d", 100, 200)]) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]
    assert find_overlaps([]) == []


def test_find_overlaps_names_the_bad_range():
    with pytest.raises(StakeError, match="X101"):
        find_overlaps([("X101", 500, 400)])


def _brute_force(ranges):
    return [
        (ranges[i][0], ranges[j][0])
        for i in range(len(ranges))
        for j in range(i + 1, len(ranges))
        if max(ranges[i][1], ranges[j][1]) < min(ranges[i][2], ranges[j][2])
    ]


range_st = st.tuples(st.integers(0, 200), st.integers(1, 60)).map(lambda t: (t[0], t[0] + t[1]))


@given(st.lists(range_st, max_size=25))
def test_find_overlaps_matches_brute_force(spans):
    ranges = [(i, s, e) for i, (s, e) in enumerate(spans)]
    assert find_overlaps(ranges) == _brute_force(ranges)


def test_find_overlaps_is_fast_on_many_disjoint_ranges():
    ranges = [(i, i * 1000, (i + 1) * 1000) for i in range(5000)]
    assert find_overlaps(reversed(ranges)) == []
