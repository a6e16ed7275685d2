"""百分制 scores and the 优/良/一般 grades of 第二十三条.

第二十三条: 年终考评实行“百分制”，≥85 分为优，≥70 分为良，<70 分为一般.
The grade is taken on the score as printed (two places, half-up), so a unit
shown as 85.00 in the bulletin is never graded 良 because its raw score was
84.995.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from .money import to_decimal

Score = Decimal | int | str

_CENT = Decimal("0.01")
_MIN, _MAX = Decimal(0), Decimal(100)

EXCELLENT, GOOD, FAIR = "优", "良", "一般"


@dataclass(frozen=True)
class GradeBands:
    """Lower bounds (inclusive) of 优 and 良; below ``good`` is 一般."""

    excellent: Decimal = Decimal("85")
    good: Decimal = Decimal("70")

    def __post_init__(self) -> None:
        excellent, good = to_decimal(self.excellent), to_decimal(self.good)
        if not _MIN <= good <= excellent <= _MAX:
            raise ValueError(f"等级分数线须满足 0 ≤ 良({good}) ≤ 优({excellent}) ≤ 100")
        object.__setattr__(self, "excellent", excellent)
        object.__setattr__(self, "good", good)

    def to_dict(self) -> dict[str, str]:
        return {"excellent": str(self.excellent), "good": str(self.good)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradeBands:
        unknown = set(data) - {"excellent", "good"}
        if unknown:
            raise ValueError(f"等级分数线含未知字段：{sorted(unknown)}")
        return cls(**data)


def _check_range(score: Decimal) -> Decimal:
    if not _MIN <= score <= _MAX:
        raise ValueError(f"得分须在 0 至 100 之间（百分制，第二十三条）：{score}")
    return score


def _half_up_cents(value: Fraction) -> Decimal:
    # scores are never negative, so floor(x + ½) is half-up
    return Decimal(math.floor(value * 100 + Fraction(1, 2))).scaleb(-2)


def display_score(score: Score) -> Decimal:
    """Score as printed: two places, half-up (84.995 → 85.00)."""
    return _check_range(to_decimal(score)).quantize(_CENT, rounding=ROUND_HALF_UP)


def grade_for(score: Score, bands: GradeBands = GradeBands()) -> str:
    """ "优", "良" or "一般" for a score (第二十三条), judged on the printed score."""
    shown = display_score(score)
    if shown >= bands.excellent:
        return EXCELLENT
    if shown >= bands.good:
        return GOOD
    return FAIR


def weighted_mean(scores: Sequence[Score], weights: Sequence[Score] | None = None) -> Decimal:
    """Exact weighted mean, then rounded as a printed score.

    Computed with fractions: with weights like 1:1:1 a Decimal division would
    round before the half-up step and could turn an exact 84.995 into 84.99.
    """
    if not scores:
        raise ValueError("没有得分，无法求平均")
    if weights is None:
        weights = [1] * len(scores)
    if len(weights) != len(scores):
        raise ValueError(f"得分 {len(scores)} 个而权重 {len(weights)} 个，数量不一致")
    exact_scores = [Fraction(_check_range(to_decimal(s))) for s in scores]
    exact_weights = [Fraction(to_decimal(w)) for w in weights]
    if any(w < 0 for w in exact_weights):
        raise ValueError(f"权重不能为负：{list(weights)!r}")
    total_weight = sum(exact_weights)
    if total_weight == 0:
        raise ValueError("权重之和为零，无法求加权平均")
    mean = sum(s * w for s, w in zip(exact_scores, exact_weights)) / total_weight
    return _half_up_cents(mean)


def combined_score(
    quarter_scores: Mapping[int, Score | None], quarter_weights: Sequence[Score] = (1, 1, 1, 1)
) -> Decimal | None:
    """半年一评比 / 年终一汇总考评 (第二十一条): the quarter_weights-weighted mean of the
    printed quarter scores that exist, as a printed score.

    ``quarter_scores`` maps quarter (1–4) to its score (None: no score); only the
    quarters given count, so H1 passes {1: …, 2: …}. A quarter's score is the mean of
    its months with a 督查 (or the score an office imported for the unit); each is
    taken as printed (two places) before weighting, so a chief's page, the ranking
    and the settlement always agree. None when no quarter with a positive weight
    has a score. This is the ONE definition of a half-year and year-end score.
    """
    if len(quarter_weights) != 4:
        raise ValueError(f"须给出4个季度权重，收到 {len(quarter_weights)} 个")
    scored = [
        (display_score(s), quarter_weights[q - 1])
        for q, s in sorted(quarter_scores.items())
        if s is not None and to_decimal(quarter_weights[q - 1]) > 0
    ]
    if not scored:
        return None
    return weighted_mean([s for s, _ in scored], [w for _, w in scored])


def competition_ranks(scores: Sequence[Score | None]) -> list[int | None]:
    """Competition ranks (1, 2, 2, 4) of scores already sorted best first, compared as
    printed; None for a missing score (unscored units have no rank)."""
    ranks: list[int | None] = []
    previous, rank = None, 0
    for place, score in enumerate(scores, start=1):
        if score is None:
            ranks.append(None)
            continue
        shown = display_score(score)
        if shown != previous:
            rank, previous = place, shown
        ranks.append(rank)
    return ranks
