"""The county box and the stake-unit plausibility rule (domain/county.py)."""

from __future__ import annotations

import pytest

from roadchief.domain.county import COUNTY_BBOX, outside_bbox, parse_bbox, stake_unit_mismatch


def test_county_box_holds_qingtongxia_with_a_margin():
    assert not outside_bbox((105.722, 37.805, 106.227, 38.218))  # the demo network's extent
    assert outside_bbox((116.3, 39.9, 116.4, 40.0))  # 北京
    assert outside_bbox((106.0, 38.0, 106.6, 38.1))  # runs 0.15° past the eastern margin
    assert COUNTY_BBOX == (105.25, 37.5, 106.45, 38.35)


@pytest.mark.parametrize(
    "span_m, listed_m, refused",
    [
        (1_200, 1_200, None),
        (2_000, 1_500, None),  # part of the stake span not maintained
        (2_000, 21, None),  # 95×: still below the factor of 100
        (2_000_000, 2_000, "米"),  # stakes of 2000 m read as 2000 km
        (2_000, 2_000_000, "列养里程可能以米填写"),  # 列养里程 2000 (m) in a km column
    ],
)
def test_stake_unit_mismatch(span_m, listed_m, refused):
    reason = stake_unit_mismatch(span_m, listed_m)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason and "倍" in reason


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "107,38,106,39", "0,95,1,96"])
def test_bad_bbox_text_is_refused(text):
    with pytest.raises(ValueError):
        parse_bbox(text)


def test_bbox_text():
    assert parse_bbox(" 105.3, 37.6 ,106.4,38.3") == (105.3, 37.6, 106.4, 38.3)
