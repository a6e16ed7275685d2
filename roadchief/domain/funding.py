"""路长养护经费: annual plan, quarterly payment, deductions and 以奖代补.

- 第十五条: 镇道 5000 元/公里/年, 村道 3000 元/公里/年 (自治区标准) on 列养里程,
  of which the local government funds no less than 60%.
- 第十七条: the money is paid quarterly after 绩效考核.
- 第二十三条: 一般 (<70) units lose a share of their money according to the
  points they lost (扣除分值、扣除相应系数); 优 units share the 以奖代补 by
  ranking and 奖励档次.
- 第二十四条: the money deducted funds the year-end 以奖代补.

All amounts are exact until the last step, which rounds half-up to the fen and
splits totals with the largest-remainder method so every printed column adds up.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, cast

from .grades import EXCELLENT, GradeBands, combined_score, competition_ranks, display_score, grade_for
from .money import (
    allocate_exact,
    exact_mul,
    exact_sum,
    largest_remainder,
    require_fen,
    to_decimal,
    to_fen,
)
from .roads import normalize_class

Number = Decimal | int | str

MIN_LOCAL_SHARE = Decimal("0.60")  # 第十五条 地方政府配套比例不低于60%
DEFAULT_RATES = MappingProxyType({"镇道": Decimal("5000"), "村道": Decimal("3000")})  # 第十五条
FUNDED_CLASSES = frozenset(DEFAULT_RATES)  # 第十五条 only names 镇道 and 村道
# Local bounds (README 经费与考核规则): wide enough for any real policy, narrow enough that
# no amount overflows a BIGINT fen column or a backup's JSON.
MAX_RATE = Decimal("1000000")  # 元/公里/年
MAX_DEDUCTION_K = Decimal("10")
MAX_WEIGHT = Decimal("1000")  # reward tier and quarter weights
MAX_DECIMAL_PLACES = 6
MIN_YEAR, MAX_YEAR = 2000, 2100


class PolicyError(ValueError):
    """Funding parameters the 实施办法 does not allow."""


def _fraction(value: Fraction | Number) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        try:
            return Fraction(value.strip())  # "1/3" keeps the thirds exact
        except ValueError:
            raise ValueError(f"不是有效的比例：{value!r}") from None
    return Fraction(to_decimal(value))


@dataclass(frozen=True)
class RewardTier:
    """奖励档次: ranks whose position i/n in the level is below ``upto`` get ``weight``."""

    upto: Fraction
    weight: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "upto", _fraction(self.upto))
        object.__setattr__(self, "weight", to_decimal(self.weight))

    def to_dict(self) -> dict[str, str]:
        return {"upto": str(self.upto), "weight": str(self.weight)}


DEFAULT_REWARD_TIERS = (
    RewardTier(Fraction(1, 3), Decimal("1.5")),
    RewardTier(Fraction(2, 3), Decimal("1.0")),
    RewardTier(Fraction(1), Decimal("0.5")),
)


def _rate_class(road_class: str) -> str:
    try:
        return normalize_class(road_class)
    except ValueError as exc:
        raise PolicyError(f"经费标准中的公路等级有误：{exc}（第十五条）") from None


@dataclass(frozen=True)
class FundingParams:
    """One year's funding rules; validated on construction, so never invalid."""

    year: int
    rates: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_RATES)  # 元/公里/年; absent class: no funding
    local_share: Decimal = MIN_LOCAL_SHARE
    deduction_k: Decimal = Decimal("1")
    reward_tiers: tuple[RewardTier, ...] = DEFAULT_REWARD_TIERS
    quarter_weights: tuple[Decimal, ...] = (Decimal(1),) * 4
    bands: GradeBands = field(default_factory=GradeBands)
    # why a class 第十五条 does not fund (市道, 专用公路) has a rate: {class: reason}
    rate_reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Accept the JSON shapes of to_dict() (strings, lists, dicts) and store exact types.
        rates = {_rate_class(k): to_decimal(v) for k, v in self.rates.items()}
        if len(rates) != len(self.rates):  # e.g. both "村道" and "C": which rate is meant?
            raise PolicyError(f"同一公路等级给出了两个经费标准（第十五条）：{list(self.rates)}")
        reasons = {_rate_class(k): str(v).strip() for k, v in dict(self.rate_reasons).items() if str(v or "").strip()}
        reasons = {k: v for k, v in reasons.items() if k in rates and k not in FUNDED_CLASSES}
        converted = {
            "rates": MappingProxyType(rates),
            "rate_reasons": MappingProxyType(reasons),
            "local_share": to_decimal(self.local_share),
            "deduction_k": to_decimal(self.deduction_k),
            "reward_tiers": tuple(t if isinstance(t, RewardTier) else RewardTier(**t) for t in self.reward_tiers),
            "quarter_weights": tuple(to_decimal(w) for w in self.quarter_weights),
            "bands": self.bands if isinstance(self.bands, GradeBands) else GradeBands.from_dict(self.bands),
        }
        for name, value in converted.items():
            object.__setattr__(self, name, value)
        self.validate()

    def validate(self) -> None:
        """Raise PolicyError, citing the article, for anything the 实施办法 forbids."""
        if isinstance(self.year, bool) or not isinstance(self.year, int) or not MIN_YEAR <= self.year <= MAX_YEAR:
            raise PolicyError(f"年度须为 {MIN_YEAR}–{MAX_YEAR} 的整数：{self.year!r}")
        for road_class, rate in self.rates.items():
            if rate < 0:
                raise PolicyError(f"{road_class}养护经费标准不得为负：{rate}（第十五条）")
            if rate > MAX_RATE:
                raise PolicyError(f"{road_class}养护经费标准不得超过 {MAX_RATE} 元/公里/年：{rate}（第十五条）")
            _check_places(rate, f"{road_class}养护经费标准")
            if rate > 0 and road_class not in FUNDED_CLASSES and not self.rate_reasons.get(road_class):
                raise PolicyError(f"第十五条只规定镇道、村道的养护经费标准；为{road_class}设定标准须同时登记理由")
        for road_class, reason in self.rate_reasons.items():
            if len(reason) > 500:
                raise PolicyError(f"{road_class}经费标准的理由不得超过500字")
        if self.local_share < MIN_LOCAL_SHARE:
            raise PolicyError(f"地方配套比例不得低于60%（第十五条）：{self.local_share}")
        if self.local_share > 1:
            raise PolicyError(f"地方配套比例不得超过100%，请填小数如 0.60（第十五条）：{self.local_share}")
        _check_places(self.local_share, "地方配套比例")
        if not 0 < self.deduction_k <= MAX_DEDUCTION_K:
            raise PolicyError(
                f"扣减系数须大于0且不超过 {MAX_DEDUCTION_K}（第二十三条 扣除相应系数）：{self.deduction_k}"
            )
        _check_places(self.deduction_k, "扣减系数")
        self._validate_tiers()
        weights = self.quarter_weights
        for weight in weights:
            _check_places(weight, "季度权重")
        if (
            len(weights) != 4
            or any(w < 0 for w in weights)
            or sum(weights) <= 0
            or any(w > MAX_WEIGHT for w in weights)
        ):
            raise PolicyError(f"季度权重须为4个非负数且和大于0（第二十一条 年终汇总考评）：{list(map(str, weights))}")

    def _validate_tiers(self) -> None:
        tiers = self.reward_tiers
        bounds = [t.upto for t in tiers]
        if not tiers or bounds[-1] != 1 or bounds[0] <= 0 or any(a >= b for a, b in zip(bounds, bounds[1:])):
            raise PolicyError(f"奖励档次须按名次比例递增并以1结束（第二十三条）：{[str(b) for b in bounds]}")
        if any(t.weight <= 0 or t.weight > MAX_WEIGHT for t in tiers):
            raise PolicyError(
                f"奖励档次权重须为正数且不超过 {MAX_WEIGHT}（第二十三条）：{[str(t.weight) for t in tiers]}"
            )
        for tier in tiers:
            _check_places(tier.weight, "奖励档次权重")
            if tier.upto.denominator > 1000:
                raise PolicyError(f"奖励档次名次比例的分母不得超过1000（第二十三条）：{tier.upto}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; every number except the year is a string so nothing passes through float."""
        return {
            "year": self.year,
            "rates": {k: str(v) for k, v in self.rates.items()},
            "local_share": str(self.local_share),
            "deduction_k": str(self.deduction_k),
            "reward_tiers": [t.to_dict() for t in self.reward_tiers],
            "quarter_weights": [str(w) for w in self.quarter_weights],
            "bands": self.bands.to_dict(),
            "rate_reasons": dict(self.rate_reasons),
        }

    @property
    def deduction_below(self) -> Decimal:
        """A quarter shown below this score is deducted: the 良 band itself (第二十三条 一般 <70)."""
        return self.bands.good

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FundingParams:
        """Inverse of ``to_dict``; missing keys take the defaults, unknown keys are refused.

        Revisions stored before the deduction threshold became the 良 band carry a
        ``pass_score``; it is accepted and ignored (the threshold is ``bands.good``),
        see ``legacy_pass_score`` for telling the user when it differed."""
        data = {k: v for k, v in data.items() if k != LEGACY_PASS_SCORE}
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise PolicyError(f"经费参数含未知字段：{sorted(unknown)}")
        if "year" not in data:
            raise PolicyError("经费参数缺少年度 year")
        return cls(**data)


LEGACY_PASS_SCORE = "pass_score"


def legacy_pass_score(data: Mapping[str, Any]) -> Decimal | None:
    """The ``pass_score`` of a stored revision when it differs from its 良 band (so the
    page can say the stored value is no longer used), else None."""
    if LEGACY_PASS_SCORE not in data:
        return None
    value = to_decimal(data[LEGACY_PASS_SCORE])
    good = to_decimal(dict(data.get("bands") or {}).get("good", GradeBands().good))
    return None if value == good else value


def _check_places(value: Decimal, what: str) -> None:
    if cast(int, value.as_tuple().exponent) < -MAX_DECIMAL_PLACES or value.adjusted() > 12:
        raise PolicyError(f"{what}最多 {MAX_DECIMAL_PLACES} 位小数且数值须合理：{value}")


def default_params(year: int) -> FundingParams:
    """The rules exactly as 第十五条 and 第二十三条 state them."""
    return FundingParams(year=year)


def _non_negative(value: Number, what: str) -> Decimal:
    result = to_decimal(value)
    if result < 0:
        raise ValueError(f"{what}不能为负：{result}")
    return result


def standard_amount(listed_km: Number, rate: Number) -> Decimal:
    """列养里程 × 标准 (元/公里/年), exact."""
    return exact_mul(_non_negative(listed_km, "列养里程"), _non_negative(rate, "经费标准"))


def local_amount(standard: Number, local_share: Number) -> Decimal:
    """地方配套 part of a standard amount, exact (第十五条, share 60%–100%)."""
    share = to_decimal(local_share)
    if not MIN_LOCAL_SHARE <= share <= 1:
        raise PolicyError(f"地方配套比例须在60%至100%之间（第十五条）：{share}")
    return exact_mul(_non_negative(standard, "标准经费"), share)


def _unit_standard(km_by_class: Mapping[str, Number], params: FundingParams) -> Decimal:
    return exact_sum(
        standard_amount(km, params.rates.get(normalize_class(road_class), 0)) for road_class, km in km_by_class.items()
    )


def annual_local_fen(km_by_class: Mapping[str, Number], params: FundingParams) -> int:
    """One unit's annual local funding in fen: exact, then half-up once."""
    return to_fen(local_amount(_unit_standard(km_by_class, params), params.local_share))


@dataclass(frozen=True)
class UnitPlan:
    standard_fen: int  # 按自治区标准
    local_fen: int  # 地方配套, the 年度经费 the city pays
    remainder_fen: int  # standard − local, the part not borne locally


def plan_allocation(units: Sequence[Mapping[str, Number]], params: FundingParams) -> list[UnitPlan]:
    """Annual plan per unit; each column adds up to its rounded exact total.

    A unit's remainder can be −1 fen only when its local and standard amounts
    are within a fen of each other and round in opposite directions.
    """
    standards = [_unit_standard(unit, params) for unit in units]
    locals_ = [local_amount(s, params.local_share) for s in standards]
    return [
        UnitPlan(standard_fen=s, local_fen=loc, remainder_fen=s - loc)
        for s, loc in zip(allocate_exact(standards), allocate_exact(locals_))
    ]


def split_quarters(annual_fen: int) -> list[int]:
    """Four quarterly bases (第十七条 按季度拨付) summing exactly to the year."""
    return largest_remainder(annual_fen, (1, 1, 1, 1))


def quarter_factor(score: Number | None, params: FundingParams) -> Decimal:
    """Share of the quarter's base that is paid (第二十三条 扣除分值、扣除相应系数).

    Only a quarter graded 一般 — shown score below the 良 band ``bands.good`` — is
    deducted: factor = 1 − k × (100 − shown)/100, never below 0. A 良 or 优 quarter
    is paid in full.
    """
    if score is None:
        raise ValueError("本季度尚无考核得分（待考核），不能计算拨付系数")
    shown = display_score(score)
    if shown >= params.deduction_below:
        return Decimal(1)
    factor = 1 - exact_mul(params.deduction_k, 100 - shown).scaleb(-2)
    return min(max(factor, Decimal(0)), Decimal(1))


@dataclass(frozen=True)
class QuarterPayment:
    quarter_base_fen: int
    score: Decimal | None  # as printed, two places
    grade: str | None
    factor: Decimal | None
    payable_fen: int
    deduction_fen: int  # goes to the 以奖代补 pool (第二十四条)
    provisional: bool  # no score yet: 待考核, nothing paid or deducted


def quarter_payment(quarter_base_fen: int, score: Number | None, params: FundingParams) -> QuarterPayment:
    """What a unit is paid for a quarter and what is deducted (第十七条, 第二十三条).

    Without a score the money is withheld, never paid as if it scored 100.
    """
    base = require_fen(quarter_base_fen, "本季度基数")
    if base < 0:
        raise ValueError(f"本季度基数不能为负：{base}")
    if score is None:
        return QuarterPayment(base, None, None, None, 0, 0, provisional=True)
    shown = display_score(score)
    factor = quarter_factor(shown, params)
    payable = int(exact_mul(base, factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return QuarterPayment(
        base, shown, grade_for(shown, params.bands), factor, payable, base - payable, provisional=False
    )


def annual_score(quarter_scores: Sequence[Number | None], params: FundingParams) -> Decimal | None:
    """年终汇总 of the four quarterly scores (第二十一条): ``grades.combined_score``, the one
    definition the assessment pages, 通报, ranking, settlement and PDFs share."""
    if len(quarter_scores) != 4:
        raise ValueError(f"须给出4个季度的得分（可为空），收到 {len(quarter_scores)} 个")
    return combined_score(dict(zip((1, 2, 3, 4), quarter_scores)), params.quarter_weights)


@dataclass(frozen=True)
class RewardCandidate:
    key: Hashable
    level: str  # e.g. "town", "station", "village"
    annual_score: Number | None
    annual_base_fen: int


@dataclass(frozen=True)
class RewardShare:
    key: Hashable
    level: str
    rank: int  # competition rank within the level (1, 2, 2, 4), as printed in 排名
    tier_index: int  # index into params.reward_tiers, from position rank − 1
    weight: Decimal  # the tier's weight
    reward_fen: int


def _tier_index(position: int, count: int, params: FundingParams) -> int:
    place = Fraction(position, count)
    return next(i for i, tier in enumerate(params.reward_tiers) if place < tier.upto)


def distribute_pool(pool_fen: int, candidates: Sequence[RewardCandidate], params: FundingParams) -> list[RewardShare]:
    """以奖代补 (第二十三条) from the deductions pool (第二十四条).

    Only 优 units qualify. They are ranked within their level by shown annual score
    with competition ranking (equal scores share a rank, the next rank skips:
    1, 2, 2, 4); the tier follows position rank − 1 of n, so equal scores always get
    the same tier, and the share is proportional to tier weight × annual base
    across all qualifiers.
    An empty list means nobody qualifies and the pool carries to next year.
    """
    pool = require_fen(pool_fen, "以奖代补资金池")
    if pool < 0:
        raise ValueError(f"以奖代补资金池不能为负：{pool}")
    keys = [c.key for c in candidates]
    if len(set(keys)) != len(keys):
        raise ValueError("参评单位有重复")
    by_level: dict[str, list[RewardCandidate]] = {}
    for c in candidates:
        if require_fen(c.annual_base_fen, f"{c.key} 年度经费") < 0:
            raise ValueError(f"{c.key} 年度经费不能为负：{c.annual_base_fen}")
        if c.annual_score is not None and grade_for(c.annual_score, params.bands) == EXCELLENT:
            by_level.setdefault(c.level, []).append(c)

    def shown(c: RewardCandidate) -> Decimal:
        assert c.annual_score is not None  # only 优 units are placed
        return display_score(c.annual_score)

    placed = []
    for group in by_level.values():
        group.sort(key=lambda c: (-shown(c), -c.annual_base_fen, str(c.key)))
        ranks = competition_ranks([shown(c) for c in group])
        for c, rank in zip(group, ranks):
            assert rank is not None  # every placed unit has a score
            placed.append((c, rank, _tier_index(rank - 1, len(group), params)))
    weights = [exact_mul(params.reward_tiers[t].weight, c.annual_base_fen) for c, _, t in placed]
    if not any(weights):
        return []  # no 优 unit (or only ones without a base): carry the pool
    rewards = largest_remainder(pool, weights)
    return [
        RewardShare(c.key, c.level, rank, t, params.reward_tiers[t].weight, reward)
        for (c, rank, t), reward in zip(placed, rewards)
    ]


def months_text(months: Sequence[int]) -> str:
    """Months as printed next to a chief: [1, 2] → "1–2月", [1, 2, 4] → "1–2、4月"."""
    ordered = sorted(set(months))
    runs: list[list[int]] = []
    for m in ordered:
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs) + "月"


def holders_text(holders: Sequence[tuple[str, Sequence[int]]], all_months: Sequence[int]) -> str | None:
    """The chief(s) whose score and money a row is (第二十条): one chief who held the unit
    for the whole period is printed alone; otherwise every chief with his months,
    e.g. "张三（1–2月）、李四（3月）"."""
    if not holders:
        return None
    if len(holders) == 1 and set(holders[0][1]) >= set(all_months):
        return holders[0][0]
    return "、".join(f"{name}（{months_text(months)}）" for name, months in holders)
