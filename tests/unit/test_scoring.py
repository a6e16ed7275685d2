"""扣分制 scoring rules (domain.scoring): points, caps, floor, periods, gaps, the 整改 state machine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from roadchief.domain import scoring
from roadchief.domain.scoring import (
    DONE,
    OPEN,
    VERIFIED,
    CatalogItem,
    FindingLine,
    OverdueCharge,
    Share,
    TransitionError,
    capped_deduction,
    finding_points,
    month_scores,
    monthly_score,
    next_state,
    overdue_month_ends,
    period_result,
    period_score,
    state_at,
)

PIT = CatalogItem("LM04", "路面养护", "坑槽", 100, "处", cap_centi=300, category_cap_centi=500)
DIRT = CatalogItem("LM01", "路面养护", "路面不洁", 50, "100m", cap_centi=400, category_cap_centi=500)
SIGN = CatalogItem("YX02", "沿线设施", "标志缺失", 100, "处")
OVERDUE = CatalogItem("LZ05", "履职", "整改逾期", 200, "次", cap_centi=600, category_cap_centi=2000)
UTC = UTC


def test_points_per_unit():
    assert finding_points(PIT, 2) == 200
    assert finding_points(SIGN, 1) == 100
    # 100 m: every started 100 m counts
    assert [finding_points(DIRT, m) for m in (1, 100, 101, 250, 300)] == [50, 50, 100, 150, 150]
    with pytest.raises(ValueError):
        finding_points(PIT, 0)
    with pytest.raises(ValueError):
        finding_points(PIT, 2.5)


def test_item_and_category_caps_per_inspection():
    # 5 pits = 5 points, item cap 3
    assert capped_deduction([FindingLine(PIT, 5)]) == 300
    # item caps 3 + 4 = 7, category cap 5
    assert capped_deduction([FindingLine(PIT, 5), FindingLine(DIRT, 1000)]) == 500
    # another category is capped apart; an uncapped item adds in full
    assert capped_deduction([FindingLine(PIT, 5), FindingLine(DIRT, 1000), FindingLine(SIGN, 7)]) == 1200
    # the same item twice in one inspection shares its cap
    assert capped_deduction([FindingLine(PIT, 2), FindingLine(PIT, 2)]) == 300


def test_monthly_score_floor_and_mean():
    assert monthly_score([300, 250]) == 9450
    assert monthly_score([6000, 5000]) == 0  # floor 0
    assert period_score([9450, 10000, 8000]) == Decimal("91.50")
    assert period_score([9450, 10000, 8001]) == Decimal("91.50")  # 91.5033…
    assert period_score([]) is None
    # the grade is taken on the printed score: 84.995 → 85.00 → 优
    assert period_score([8499, 8500]) == Decimal("85.00")  # 84.995 half-up
    assert scoring.grade(period_score([8499, 8500])) == "优"
    assert scoring.grade(Decimal("84.99")) == "良" and scoring.grade(Decimal("69.99")) == "一般"


def test_month_scores_caps_each_inspection_and_floor():
    day = date(2022, 3, 10)
    shares = [
        Share(1, 7, day, (FindingLine(PIT, 9),)),  # capped at 3
        Share(2, 7, date(2022, 3, 20), (FindingLine(PIT, 9),)),  # another inspection: its own cap
        Share(3, 8, day, ()),  # clean 督查 → 100
        Share(4, 9, day, tuple(FindingLine(CatalogItem(f"X{i}", "桥涵养护", "x", 3000, "处"), 1) for i in range(5))),
    ]
    scores = month_scores(shares)
    assert scores[(7, (2022, 3))].score_centi == 9400
    assert scores[(7, (2022, 3))].inspections == 2
    assert scores[(8, (2022, 3))].score_centi == 10000
    assert scores[(9, (2022, 3))].score_centi == 0


def test_multiple_segments_two_chiefs_each_capped_apart():
    # one inspection over two towns' segments: each chief's share has its own caps
    shares = [
        Share(1, 7, date(2022, 1, 5), (FindingLine(PIT, 5),)),
        Share(1, 8, date(2022, 1, 5), (FindingLine(PIT, 1),)),
    ]
    scores = month_scores(shares)
    assert scores[(7, (2022, 1))].score_centi == 9700
    assert scores[(8, (2022, 1))].score_centi == 9900


def test_chief_replaced_mid_month_and_gaps():
    months = scoring.period_months(2022, "Q2")
    shares = [
        Share(1, 1, date(2022, 5, 10), (FindingLine(SIGN, 2),)),  # old chief, before the handover
        Share(2, 2, date(2022, 5, 20), (FindingLine(SIGN, 1),)),  # new chief, after it
        Share(3, 1, date(2022, 4, 8), ()),
    ]
    scores = month_scores(shares)
    old = period_result(1, months, scores, expected=[(2022, 4), (2022, 5)])
    new = period_result(2, months, scores, expected=[(2022, 5), (2022, 6)])
    assert old.score == Decimal("99.00")  # (100 + 98) / 2
    assert old.gaps == ()
    assert new.score == Decimal("99.00")
    assert new.gaps == ((2022, 6),)  # June without a 督查 is a gap, not a 100
    assert scoring.pooled_score([old, new]) == Decimal("99.00")  # (100 + 98 + 99) / 3
    empty = period_result(3, months, scores, expected=months)
    assert empty.score is None and empty.grade is None and empty.gaps == months


def test_overdue_charges_land_in_next_month_and_are_capped():
    charges = [OverdueCharge(i, 5, (2022, 2), OVERDUE) for i in range(4)]
    scores = month_scores([], charges)
    month = scores[(5, (2022, 2))]
    assert month.deduction_centi == 600 and month.overdue == 4 and not month.inspected
    result = period_result(5, scoring.period_months(2022, "Q1"), scores, expected=[(2022, 2)])
    assert result.score == Decimal("94.00") and result.gaps == ((2022, 2),)


def _at(*args):
    return datetime(*args, tzinfo=UTC)


def test_rectification_state_machine():
    now, deadline = _at(2022, 3, 1, 2), date(2022, 3, 5)
    with pytest.raises(TransitionError):
        next_state(OPEN, "complete", now, deadline, actor="chief", note="已修补")  # no after-photo
    with pytest.raises(TransitionError):
        next_state(OPEN, "complete", now, deadline, actor="office", note="x", has_photo=True)  # not the chief
    step = next_state(OPEN, "complete", now, deadline, actor="chief", note="已修补", has_photo=True)
    assert step.state == DONE and not step.late
    with pytest.raises(TransitionError):
        next_state(DONE, "verify", now, deadline, actor="chief")  # only the office verifies
    with pytest.raises(TransitionError):
        next_state(DONE, "return", now, deadline, actor="office")  # send-back needs a note
    assert next_state(DONE, "return", now, deadline, actor="office", note="未修补到位").state == OPEN
    assert next_state(DONE, "verify", now, deadline, actor="office").state == VERIFIED
    with pytest.raises(TransitionError):
        next_state(VERIFIED, "return", now, deadline, actor="office", note="x")
    with pytest.raises(TransitionError):
        next_state(OPEN, "verify", now, deadline, actor="office")
    late = next_state(OPEN, "complete", _at(2022, 3, 6, 1), deadline, actor="chief", note="x", has_photo=True)
    assert late.late


def test_overdue_and_state_history():
    deadline = date(2022, 1, 20)
    assert scoring.is_overdue(OPEN, deadline, date(2022, 1, 21))
    assert not scoring.is_overdue(OPEN, deadline, date(2022, 1, 20))
    assert not scoring.is_overdue(DONE, deadline, date(2022, 2, 1))
    opened = _at(2022, 1, 10)
    events = [(_at(2022, 2, 10), "complete"), (_at(2022, 3, 2), "return"), (_at(2022, 4, 2), "complete")]
    assert state_at(events, _at(2022, 2, 11)) == DONE
    assert state_at(events, _at(2022, 3, 1)) == DONE and state_at(events, _at(2022, 3, 3)) == OPEN
    # open at the ends of Jan (past deadline) and March; done at the end of Feb
    assert overdue_month_ends(opened, deadline, events, until=(2022, 4)) == [(2022, 1), (2022, 3)]
    # the deadline is the last day of the month: at midnight it has passed
    assert overdue_month_ends(opened, date(2022, 1, 31), [], until=(2022, 1)) == [(2022, 1)]


def test_catalog_validation_and_default_file():
    assert scoring.validate_catalog([]) == ["扣分标准没有任何条目"]
    errors = scoring.validate_catalog([PIT, CatalogItem("LM04", "路面", "", 0, "米"), DIRT])
    assert any("编号重复" in e for e in errors) and any("类别" in e for e in errors)
    assert any("LZ05" in e for e in errors)
    inconsistent = CatalogItem("LM09", "路面养护", "x", 100, "处", category_cap_centi=900)
    assert any("类别上限须一致" in e for e in scoring.validate_catalog([PIT, inconsistent, OVERDUE]))

    from roadchief.services.deduction_catalog import read_catalog_csv

    path = Path(__file__).resolve().parents[2] / "data" / "deduction_catalog.csv"
    items = read_catalog_csv(path.read_text(encoding="utf-8"))
    assert {i.category for i in items} == set(scoring.CATEGORIES)
    assert {"LZ01", "LZ02", "LZ03", "LZ04", "LZ05"} <= {i.code for i in items}
    assert all(i.unit in scoring.UNITS for i in items)


# ------------------------------------------------------------------ seasonal duty (第十三条)


def _duty_catalog():
    from roadchief.domain.scoring import CatalogItem

    return {
        "LZ02": CatalogItem("LZ02", "履职", "汛期巡查未落实", 300, "次", 900, 2000),
        "LZ03": CatalogItem("LZ03", "履职", "冬季除雪防滑不及时", 300, "处", 900, 2000),
        "LZ05": CatalogItem("LZ05", "履职", "整改逾期", 200, "次", 1000, 2000),
    }


def test_duty_phase_rule():
    import pytest as _pytest

    from roadchief.domain.scoring import check_duty_phase

    assert check_duty_phase("flood", " 雨中 ") == "雨中"
    assert check_duty_phase("winter", "撒砂") == "撒砂"
    assert check_duty_phase("daily", "") is None
    for kind, phase in (("flood", None), ("flood", "除雪"), ("winter", "雨前"), ("supervision", "雨前")):
        with _pytest.raises(ValueError):
            check_duty_phase(kind, phase)


def test_duty_charges_once_per_chief_period_and_missing_record():
    from datetime import date as _date

    from roadchief.domain.scoring import DutyGapLine, duty_charges, duty_deductions

    end1, end2 = _date(2022, 7, 10), _date(2022, 8, 3)
    gaps = [
        DutyGapLine(1, "flood", 5, 1, end1, "雨中", "X001 K0+000–K2+300"),
        DutyGapLine(1, "flood", 5, 1, end1, "雨中", "X002 K0+000–K1+000"),  # same period and phase: once
        DutyGapLine(1, "flood", 5, 2, end2, "雨前", "X001 K0+000–K2+300"),
        DutyGapLine(2, "winter", 6, 1, end1, "除雪或撒砂", "X003 K0+000–K0+500"),
    ]
    charges = duty_charges(gaps, _duty_catalog())
    assert [(c.chief_id, c.month, c.item.code) for c in charges] == [
        (1, (2022, 7), "LZ02"),
        (1, (2022, 8), "LZ02"),
        (2, (2022, 7), "LZ03"),
    ]
    assert charges[0].reason.startswith("汛期第1期") and "X001 K0+000–K2+300、X002" in charges[0].reason
    assert charges[0].reason.endswith("缺雨中巡查") and charges[2].reason.endswith("缺除雪或撒砂记录")
    assert duty_deductions(gaps, _duty_catalog()) == {(1, (2022, 7)): 300, (1, (2022, 8)): 300, (2, (2022, 7)): 300}
    # capped by the item's cap (9 points): four periods missing everything cost 9, not 36
    many = [DutyGapLine(1, "flood", 5, n, end1, p, "X001") for n in range(1, 5) for p in ("雨前", "雨中", "雨后")]
    assert duty_deductions(many, _duty_catalog()) == {(1, (2022, 7)): 900}
    # a catalog without the item charges nothing
    assert duty_charges(gaps, {}) == []


def test_duty_charges_in_month_scores_with_overdue():
    from datetime import date as _date

    from roadchief.domain.scoring import DutyGapLine, OverdueCharge, duty_charges, month_scores, period_result

    catalog = _duty_catalog()
    duty = duty_charges(
        [
            DutyGapLine(1, "flood", 5, n, _date(2022, 7, 10), p, "X001")
            for n in range(1, 5)
            for p in ("雨前", "雨中", "雨后")
        ],
        catalog,
    )
    overdue = [OverdueCharge(r, 1, (2022, 7), catalog["LZ05"]) for r in range(8)]
    scores = month_scores([], overdue, duty)
    july = scores[(1, (2022, 7))]
    # LZ02 capped at 9, LZ05 at 10, together within the 履职 category cap of 20: 19 points
    assert july.deduction_centi == 1900 and july.duty == 12 and july.overdue == 8 and not july.inspected
    assert len(july.reasons) == 12
    result = period_result(1, ((2022, 7), (2022, 8), (2022, 9)), scores, [(2022, 7), (2022, 8), (2022, 9)])
    assert result.gaps == ((2022, 7), (2022, 8), (2022, 9))  # duty-only month: scored, still a coverage gap
    assert str(result.score) == "81.00"


def test_year_score_is_the_weighted_mean_of_quarter_scores_not_of_months():
    """第二十一条: one definition — the year is the quarter_weights mean of the quarter scores."""
    from roadchief.domain.grades import combined_score
    from roadchief.domain.scoring import months_score

    # Q1 has three months at 100, Q2 one month at 70 → months 92.50, quarters 85.00
    monthly = {(2024, 1): 10000, (2024, 2): 10000, (2024, 3): 10000, (2024, 4): 7000}
    months = tuple((2024, m) for m in range(1, 13))
    assert months_score(monthly, months) == Decimal("85.00")
    assert months_score(monthly, months[:3]) == Decimal("100.00")
    assert months_score(monthly, months, (1, 3, 1, 1)) == Decimal("77.50")
    assert combined_score({1: "100", 2: "70", 3: None, 4: None}) == Decimal("85.00")
    assert combined_score({3: None, 4: None}) is None
    assert combined_score({1: "90", 2: "80"}, (1, 0, 1, 1)) == Decimal("90.00")
