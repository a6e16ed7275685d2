from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadchief.domain.grades import GradeBands, display_score, grade_for, weighted_mean


@pytest.mark.parametrize(
    "score, shown",
    [
        ("84.995", "85.00"),
        ("84.994", "84.99"),
        (100, "100.00"),
        (0, "0.00"),
        (D("69.9951"), "70.00"),
    ],
)
def test_display_score_is_two_places_half_up(score, shown):
    assert str(display_score(score)) == shown


@pytest.mark.parametrize("score", ["-0.01", "100.01", 101, -1])
def test_scores_outside_0_to_100_are_refused(score):
    with pytest.raises(ValueError):
        display_score(score)
    with pytest.raises(ValueError):
        grade_for(score)


def test_float_scores_are_refused():
    # 84.995 as a float is 84.99499999…, which would wrongly print 84.99
    with pytest.raises(TypeError):
        grade_for(84.995)


@pytest.mark.parametrize(
    "score, grade",
    [
        (100, "优"),
        (85, "优"),
        ("84.995", "优"),
        ("84.994", "良"),
        (70, "良"),
        ("69.995", "良"),
        ("69.994", "一般"),
        ("69.99", "一般"),
        (0, "一般"),
    ],
)
def test_grade_for_article_23(score, grade):
    assert grade_for(score) == grade


def test_grade_for_custom_bands():
    bands = GradeBands(excellent=D("90"), good=D("60"))
    assert grade_for(85, bands) == "良"
    assert grade_for(90, bands) == "优"
    assert grade_for("59.99", bands) == "一般"


def test_grade_bands_round_trip_and_validation():
    bands = GradeBands()
    assert bands.excellent == D("85") and bands.good == D("70")
    assert bands.to_dict() == {"excellent": "85", "good": "70"}
    assert GradeBands.from_dict({"excellent": "90", "good": "75"}) == GradeBands(D("90"), D("75"))
    assert GradeBands.from_dict(bands.to_dict()) == bands
    with pytest.raises(ValueError):
        GradeBands(excellent=D("70"), good=D("85"))
    with pytest.raises(ValueError):
        GradeBands(excellent=D("101"))
    with pytest.raises(ValueError):
        GradeBands.from_dict({"excellent": "85", "fair": "50"})
    with pytest.raises(TypeError):
        GradeBands(excellent=85.0)


def test_weighted_mean_examples():
    assert weighted_mean([90, 80]) == D("85.00")
    assert weighted_mean([D("84.99"), D("85.00")], None) == D("85.00")  # exact 84.995
    assert weighted_mean([90, 60], [1, 2]) == D("70.00")
    assert weighted_mean([80, 100], [3, 1]) == D("85.00")
    assert weighted_mean([80, 70, 71]) == D("73.67")  # 73.666…
    assert weighted_mean([90, 10], [1, 0]) == D("90.00")
    assert str(weighted_mean(["84.985", 85, 85])) == "85.00"  # exact 84.995


@pytest.mark.parametrize(
    "scores, weights",
    [
        ([], None),
        ([80, 90], [1]),
        ([80], [0]),
        ([80, 90], [1, -1]),
        ([101], None),
    ],
)
def test_weighted_mean_refuses(scores, weights):
    with pytest.raises(ValueError):
        weighted_mean(scores, weights)


score_st = st.decimals(0, 100, places=3, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(score_st, st.integers(1, 5)), min_size=1, max_size=8))
def test_weighted_mean_lies_between_the_printed_extremes(pairs):
    scores = [s for s, _ in pairs]
    mean = weighted_mean(scores, [w for _, w in pairs])
    assert display_score(min(scores)) <= mean <= display_score(max(scores))
