import json
import math
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadchief.domain.funding import (
    FundingParams,
    PolicyError,
    QuarterPayment,
    RewardCandidate,
    RewardTier,
    UnitPlan,
    annual_local_fen,
    annual_score,
    default_params,
    distribute_pool,
    local_amount,
    plan_allocation,
    quarter_factor,
    quarter_payment,
    split_quarters,
    standard_amount,
)
from roadchief.domain.grades import GradeBands

P = default_params(2022)
DEMO_UNIT = {"镇道": D("388.701"), "村道": D("777.554")}  # 1166.255 km, 第十五条


# --- parameters ----------------------------------------------------------


def test_default_params_follow_articles_15_and_23():
    assert P.year == 2022
    assert dict(P.rates) == {"镇道": D("5000"), "村道": D("3000")}
    assert P.local_share == D("0.60") and P.deduction_k == 1 and P.deduction_below == P.bands.good == 70
    assert [(t.upto, t.weight) for t in P.reward_tiers] == [
        (Fraction(1, 3), D("1.5")),
        (Fraction(2, 3), D("1.0")),
        (Fraction(1), D("0.5")),
    ]
    assert P.quarter_weights == (1, 1, 1, 1)
    assert P.bands == GradeBands()


def test_params_round_trip_through_json():
    data = P.to_dict()
    assert data["local_share"] == "0.60"
    assert data["rates"] == {"镇道": "5000", "村道": "3000"}
    assert data["reward_tiers"][0] == {"upto": "1/3", "weight": "1.5"}
    assert FundingParams.from_dict(json.loads(json.dumps(data, ensure_ascii=False))) == P
    custom = FundingParams.from_dict(
        {"year": 2023, "rates": {"Y": "6000"}, "local_share": "0.75", "quarter_weights": ["1", "1", "1", "2"]}
    )
    assert dict(custom.rates) == {"镇道": D("6000")}
    assert custom.quarter_weights[3] == 2 and custom.local_share == D("0.75")


def test_local_share_below_60_percent_is_refused_citing_article_15():
    with pytest.raises(PolicyError, match="第十五条") as info:
        FundingParams(year=2022, local_share=D("0.59"))
    assert "地方配套比例不得低于60%（第十五条）" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(PolicyError, match="第十五条"):
        FundingParams.from_dict({"year": 2022, "local_share": "0.59"})


@pytest.mark.parametrize(
    "changes, article",
    [
        ({"local_share": D("1.01")}, "第十五条"),
        ({"local_share": D("60")}, "第十五条"),
        ({"rates": {"村道": D("-1")}}, "第十五条"),
        ({"rates": {"国道": D("1000")}}, "第十五条"),
        ({"rates": {"村道": D("3000"), "C": D("4000")}}, "第十五条"),
        ({"deduction_k": D("-0.1")}, "第二十三条"),
        ({"deduction_k": D("0")}, "第二十三条"),
        ({"deduction_k": D("10.01")}, "第二十三条"),
        ({"rates": {"市道": D("1000")}}, "第十五条"),
        ({"rates": {"镇道": D("1000000.01")}}, "第十五条"),
        ({"quarter_weights": (1, 1, 1, 1001)}, "第二十一条"),
        ({"reward_tiers": (RewardTier(Fraction(2, 3), D(1)), RewardTier(Fraction(1, 3), D(1)))}, "第二十三条"),
        ({"reward_tiers": (RewardTier(Fraction(1, 2), D(1)),)}, "第二十三条"),
        ({"reward_tiers": ()}, "第二十三条"),
        ({"reward_tiers": (RewardTier(Fraction(1), D(0)),)}, "第二十三条"),
        ({"quarter_weights": (1, 1, 1)}, "第二十一条"),
        ({"quarter_weights": (1, 1, 1, -1)}, "第二十一条"),
        ({"quarter_weights": (0, 0, 0, 0)}, "第二十一条"),
    ],
)
def test_invalid_params_are_refused(changes, article):
    with pytest.raises(PolicyError, match=article):
        FundingParams(year=2022, **changes)


def test_params_refuse_floats_unknown_keys_and_missing_year():
    with pytest.raises(TypeError):
        FundingParams(year=2022, local_share=0.6)
    with pytest.raises(TypeError):
        FundingParams.from_dict({"year": 2022, "rates": {"村道": 3000.0}})
    with pytest.raises(PolicyError):
        FundingParams.from_dict({"year": 2022, "local_shar": "0.7"})
    with pytest.raises(PolicyError):
        FundingParams.from_dict({"local_share": "0.7"})
    with pytest.raises(PolicyError):
        FundingParams(year="2022")


def test_validate_passes_on_defaults():
    assert P.validate() is None


# --- annual plan (第十五条) -----------------------------------------------


def test_standard_and_local_amounts_are_exact():
    assert standard_amount(D("388.701"), D("5000")) == D("1943505.000")
    assert standard_amount(D("777.554"), D("3000")) == D("2332662.000")
    assert local_amount(D("4276167"), D("0.60")) == D("2565700.20")
    assert local_amount(D("0.05"), D("0.6")) == D("0.030")
    with pytest.raises(PolicyError, match="第十五条"):
        local_amount(D("100"), D("0.59"))
    with pytest.raises(ValueError):
        standard_amount(D("-1"), D("3000"))
    with pytest.raises(TypeError):
        standard_amount(1.5, D("3000"))


def test_annual_local_fen_demo_and_unfunded_classes():
    assert annual_local_fen(DEMO_UNIT, P) == 256570020
    assert annual_local_fen({"村道": D("0.001")}, P) == 180  # 1.80 元
    assert annual_local_fen({"C": "10"}, P) == 1800000
    assert annual_local_fen({"市道": D("10"), "专用公路": D("3")}, P) == 0
    assert annual_local_fen({}, P) == 0
    with pytest.raises(ValueError):
        annual_local_fen({"国道": D("1")}, P)


def test_plan_allocation_demo_totals():
    [plan] = plan_allocation([DEMO_UNIT], P)
    assert plan == UnitPlan(standard_fen=427616700, local_fen=256570020, remainder_fen=171046680)
    split = plan_allocation([{"镇道": D("388.701")}, {"村道": D("777.554")}], P)
    assert sum(p.standard_fen for p in split) == 427616700  # 4276167.00
    assert sum(p.local_fen for p in split) == 256570020  # 2565700.20
    assert plan_allocation([], P) == []


def test_plan_allocation_columns_add_up_where_row_rounding_would_not():
    # each unit: 0.001 km × 5 元 = 0.005 元 standard, 0.003 元 local
    params = FundingParams(year=2022, rates={"镇道": D("5")})
    plans = plan_allocation([{"镇道": D("0.001")}] * 3, params)
    assert [p.standard_fen for p in plans] == [1, 1, 0]  # 合计 0.015 → 0.02 元
    assert [p.local_fen for p in plans] == [1, 0, 0]  # 合计 0.009 → 0.01 元
    assert [p.remainder_fen for p in plans] == [0, 1, 0]


# --- quarters (第十七条, 第二十三条) --------------------------------------


def test_split_quarters():
    assert split_quarters(100003) == [25001, 25001, 25001, 25000]
    assert split_quarters(256570020) == [64142505] * 4
    assert split_quarters(0) == [0, 0, 0, 0]
    assert split_quarters(2) == [1, 1, 0, 0]
    with pytest.raises(TypeError):
        split_quarters(1000.0)


@pytest.mark.parametrize(
    "score, factor",
    [
        (100, D("1")),
        (85, D("1")),
        (70, D("1")),
        ("69.995", D("1")),
        ("84.995", D("1")),
        ("69.99", D("0.6999")),
        (50, D("0.5")),
        (0, D("0")),
    ],
)
def test_quarter_factor_with_k_1(score, factor):
    assert quarter_factor(score, P) == factor


def test_quarter_factor_scales_with_k_and_clamps_at_zero():
    k2 = FundingParams(year=2022, deduction_k=D("2"))
    assert quarter_factor(50, k2) == 0
    assert quarter_factor(60, k2) == D("0.2")
    assert quarter_factor(40, k2) == 0
    with pytest.raises(PolicyError, match="大于0"):
        FundingParams(year=2022, deduction_k=D("0"))


def test_quarter_factor_needs_a_score():
    with pytest.raises(ValueError, match="待考核"):
        quarter_factor(None, P)


def test_quarter_payment_below_pass_score():
    pay = quarter_payment(100001, D("69.99"), P)
    # 100001 × 0.6999 = 69990.6999 → 69991
    assert pay == QuarterPayment(
        quarter_base_fen=100001,
        score=D("69.99"),
        grade="一般",
        factor=D("0.6999"),
        payable_fen=69991,
        deduction_fen=30010,
        provisional=False,
    )


def test_quarter_payment_rounds_the_shown_score():
    pay = quarter_payment(64142505, "84.995", P)
    assert (pay.score, pay.grade, pay.factor) == (D("85.00"), "优", D("1"))
    assert (pay.payable_fen, pay.deduction_fen) == (64142505, 0)
    half = quarter_payment(100001, 50, P)  # 50000.5 → 50001
    assert (half.payable_fen, half.deduction_fen) == (50001, 50000)


def test_provisional_quarter_is_withheld_not_paid():
    pay = quarter_payment(64142505, None, P)
    assert pay.provisional is True
    assert (pay.payable_fen, pay.deduction_fen) == (0, 0)
    assert pay.score is None and pay.grade is None and pay.factor is None


def test_quarter_payment_refuses_bad_bases():
    with pytest.raises(TypeError):
        quarter_payment(1000.0, 90, P)
    with pytest.raises(ValueError):
        quarter_payment(-1, 90, P)
    with pytest.raises(TypeError):
        quarter_payment(1000, 90.0, P)


# --- annual score --------------------------------------------------------


def test_annual_score():
    assert annual_score([90, 80, None, 70], P) == D("80.00")
    assert annual_score([D("84.99"), D("85"), None, None], P) == D("85.00")
    assert annual_score([None] * 4, P) is None
    weighted = FundingParams(year=2022, quarter_weights=(1, 1, 1, 2))
    assert annual_score([80, 80, 80, 90], weighted) == D("84.00")
    last_only = FundingParams(year=2022, quarter_weights=(0, 0, 0, 1))
    assert annual_score([90, None, None, None], last_only) is None
    with pytest.raises(ValueError):
        annual_score([90, 90, 90], P)


# --- 以奖代补 (第二十三条, 第二十四条) -----------------------------------


def _c(key, score, base=1000, level="town"):
    return RewardCandidate(key=key, level=level, annual_score=None if score is None else D(score), annual_base_fen=base)


def test_distribute_pool_three_excellent_in_one_level():
    shares = distribute_pool(10000, [_c("c", "86"), _c("a", "90"), _c("b", "88")], P)
    assert [(s.key, s.rank, s.tier_index, s.weight, s.reward_fen) for s in shares] == [
        ("a", 1, 0, D("1.5"), 5000),
        ("b", 2, 1, D("1.0"), 3333),
        ("c", 3, 2, D("0.5"), 1667),
    ]


def test_distribute_pool_across_levels_and_bases():
    shares = distribute_pool(
        6000,
        [
            _c("A", "90", 1000, "town"),
            _c("B", "95", 1000, "village"),
            _c("C", "86", 2000, "village"),
            _c("D", "80", 5000, "village"),
            _c("E", None, 5000, "town"),
        ],
        P,
    )
    # weights 1.5×1000, 1.5×1000, 1.0×2000 (2nd of 2 is in the middle third)
    assert {s.key: (s.rank, s.tier_index, s.reward_fen) for s in shares} == {
        "A": (1, 0, 1800),
        "B": (1, 0, 1800),
        "C": (2, 1, 2400),
    }
    assert sum(s.reward_fen for s in shares) == 6000


def test_distribute_pool_tiers_for_four_and_ties():
    shares = distribute_pool(
        100,
        [
            _c("d", "90", 100),
            _c("b", "90", 300),
            _c("a", "90", 100),
            _c("c", "99", 100),
        ],
        P,
    )
    # competition ranking: the three 90s share rank 2 and, from position 1 of 4, the first tier
    assert [(s.key, s.rank, s.tier_index) for s in shares] == [
        ("c", 1, 0),
        ("b", 2, 0),
        ("a", 2, 0),
        ("d", 2, 0),
    ]
    # weights 150, 450, 150, 150 of 900
    assert [s.reward_fen for s in shares] == [17, 50, 17, 16]
    assert sum(s.reward_fen for s in shares) == 100


def test_distribute_pool_equal_scores_share_rank_and_tier():
    shares = distribute_pool(
        600,
        [
            _c("a", "95", 100),
            _c("b", "90", 100),
            _c("c", "90", 100),
            _c("d", "86", 100),
            _c("e", "85", 100),
            _c("f", "85.00", 100),
        ],
        P,
    )
    got = {s.key: (s.rank, s.tier_index) for s in shares}
    # 1, 2, 2, 4, 5, 5: positions 0, 1, 1, 3, 4, 4 of 6 → tiers by < 1/3, < 2/3, ≤ 1
    assert got == {"a": (1, 0), "b": (2, 0), "c": (2, 0), "d": (4, 1), "e": (5, 2), "f": (5, 2)}
    assert (
        len({s.weight for s in shares if s.key in "bc"}) == 1
    )  # same tier weight (fen may differ by the last remainder)


def test_legacy_pass_score_loads_and_is_ignored():
    stored = {**P.to_dict(), "pass_score": "70"}
    stored.pop("rate_reasons")
    assert FundingParams.from_dict(stored) == P
    from roadchief.domain.funding import legacy_pass_score

    assert legacy_pass_score(stored) is None
    odd = {**stored, "pass_score": "60"}
    params = FundingParams.from_dict(odd)
    assert legacy_pass_score(odd) == D("60")
    # the threshold is the 良 band: a 65 quarter is 一般 and deducted whatever pass_score said
    assert quarter_factor(65, params) == D("0.65")
    assert quarter_factor(70, params) == 1


def test_unfunded_class_rate_needs_a_reason():
    with pytest.raises(PolicyError, match="理由"):
        FundingParams(year=2022, rates={"镇道": 5000, "村道": 3000, "市道": 2000})
    ok = FundingParams(
        year=2022,
        rates={"镇道": 5000, "村道": 3000, "市道": 2000},
        rate_reasons={"市道": "2024 年市政府常务会议纪要第 3 号"},
    )
    assert ok.rate_reasons == {"市道": "2024 年市政府常务会议纪要第 3 号"}
    assert FundingParams.from_dict(json.loads(json.dumps(ok.to_dict(), ensure_ascii=False))) == ok
    # 0 (not funded) needs no reason
    FundingParams(year=2022, rates={"镇道": 5000, "村道": 3000, "专用公路": 0})


def test_year_is_bounded():
    for year in (1999, 2101, 10**12):
        with pytest.raises(PolicyError, match="年度"):
            FundingParams(year=year)


def test_distribute_pool_carries_when_nobody_is_excellent():
    assert distribute_pool(12345, [_c("a", "84.99"), _c("b", "70"), _c("c", None)], P) == []
    assert distribute_pool(12345, [], P) == []
    assert distribute_pool(12345, [_c("a", "95", 0)], P) == []
    assert [s.reward_fen for s in distribute_pool(0, [_c("a", "95")], P)] == [0]
    assert distribute_pool(100, [_c("a", "84.995")], P)[0].reward_fen == 100


def test_distribute_pool_refuses_bad_input():
    with pytest.raises(ValueError):
        distribute_pool(100, [_c("a", "90"), _c("a", "91")], P)
    with pytest.raises(ValueError):
        distribute_pool(-1, [_c("a", "90")], P)
    with pytest.raises(TypeError):
        distribute_pool(100.0, [_c("a", "90")], P)
    with pytest.raises(TypeError):
        distribute_pool(100, [RewardCandidate("a", "town", D("90"), 100.0)], P)


# --- properties -----------------------------------------------------------

km_st = st.decimals(0, 50, places=3, allow_nan=False, allow_infinity=False)
unit_st = st.fixed_dictionaries({"镇道": km_st, "村道": km_st, "市道": km_st})
params_st = st.builds(
    lambda town, village, share: FundingParams(year=2022, rates={"镇道": town, "村道": village}, local_share=share),
    st.decimals(0, 10000, places=2, allow_nan=False, allow_infinity=False),
    st.decimals(0, 10000, places=2, allow_nan=False, allow_infinity=False),
    st.decimals("0.60", 1, places=4, allow_nan=False, allow_infinity=False),
)


def _half_up_fen(yuan: Fraction) -> int:
    return math.floor(yuan * 100 + Fraction(1, 2))


@given(st.lists(unit_st, max_size=15), params_st)
def test_plan_allocation_columns_sum_to_rounded_exact_totals(units, params):
    plans = plan_allocation(units, params)
    standards = [sum(Fraction(u[c]) * Fraction(params.rates[c]) for c in ("镇道", "村道")) for u in units]
    locals_ = [s * Fraction(params.local_share) for s in standards]
    assert sum(p.standard_fen for p in plans) == _half_up_fen(sum(standards))
    assert sum(p.local_fen for p in plans) == _half_up_fen(sum(locals_))
    for plan, std, loc in zip(plans, standards, locals_):
        assert plan.standard_fen == plan.local_fen + plan.remainder_fen
        assert abs(plan.standard_fen - std * 100) < 1 and abs(plan.local_fen - loc * 100) < 1


score_st = st.one_of(st.none(), st.decimals(0, 100, places=3, allow_nan=False, allow_infinity=False))


@given(
    st.lists(st.tuples(st.integers(0, 10**9), score_st), max_size=20),
    st.decimals("0.01", 3, places=2, allow_nan=False, allow_infinity=False),
)
def test_quarter_payments_preserve_every_fen(rows, k):
    params = FundingParams(year=2022, deduction_k=k)
    payments = [quarter_payment(base, score, params) for base, score in rows]
    for pay, (base, score) in zip(payments, rows):
        if score is None:
            assert pay.provisional and pay.payable_fen == pay.deduction_fen == 0
        else:
            assert pay.payable_fen + pay.deduction_fen == base
            assert 0 <= pay.payable_fen <= base
    scored = [p for p in payments if not p.provisional]
    assert sum(p.payable_fen for p in scored) + sum(p.deduction_fen for p in scored) == sum(
        p.quarter_base_fen for p in scored
    )


@given(st.integers(0, 10**10))
def test_split_quarters_sums_to_the_year(annual):
    parts = split_quarters(annual)
    assert sum(parts) == annual and max(parts) - min(parts) <= 1


candidate_st = st.builds(
    RewardCandidate,
    key=st.integers(0, 10**6),
    level=st.sampled_from(["town", "station", "village"]),
    annual_score=score_st,
    annual_base_fen=st.integers(0, 10**8),
)


@given(st.integers(0, 10**9), st.lists(candidate_st, max_size=25, unique_by=lambda c: c.key))
def test_distribute_pool_pays_out_exactly_the_pool(pool, candidates):
    shares = distribute_pool(pool, candidates, P)
    excellent = {c.key for c in candidates if c.annual_score is not None and c.annual_score >= D("84.995")}
    if shares:
        assert sum(s.reward_fen for s in shares) == pool
        assert {s.key for s in shares} == excellent
    else:
        assert all(c.annual_base_fen == 0 for c in candidates if c.key in excellent)
