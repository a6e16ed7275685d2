"""扣分制 assessment of 路长 (第二十条–第二十三条) and the 整改 (rectification) workflow.

Pure rules, no Flask and no database:

* the deduction catalog (扣分标准): items grouped by the five 第十条 areas
  (路面养护, 路基养护, 桥涵养护, 沿线设施, 路容路貌) plus 履职 (第十三条, 第十四条);
* the points of one finding and the caps of one inspection;
* monthly score = 100 − deductions (floor 0), period scores as the mean of the
  monthly scores, the grade of 第二十三条 taken on the printed two-place score;
* 一月一督查 (第二十一条): months without a 督查 are coverage gaps, never a free 100;
* the rectification state machine, and when an open rectification counts as 整改逾期.

Every score and every deduction is an integer number of hundredths of a point
("centi"): 100 points = 10000. Only period means are Decimal, rounded half-up to
two places by :mod:`roadchief.domain.grades`, exactly as printed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .clock import BEIJING, beijing_date
from .grades import Score, combined_score, display_score, grade_for, weighted_mean

LOCAL_TZ = BEIJING  # months, quarters and deadlines run on the Beijing calendar (domain.clock)
FULL_MARKS = 10000  # 百分制 in hundredths (第二十三条)

# ------------------------------------------------------------------ kinds and catalog

INSPECTION_KINDS = {
    "supervision": "督查",  # by an office; the only scored kind (第二十一条 一月一督查)
    "daily": "日常巡查",  # by chiefs and maintainers: evidence of duty (第十一条)
    "flood": "汛期巡查",  # 雨前、雨中、雨后 (第十三条)
    "winter": "冬季巡查",  # 除雪防滑 (第十三条)
    "special": "专项检查",
    "emergency": "应急巡查",  # 先抢通，后修复 (第十四条)
}
SCORED_KINDS = frozenset({"supervision"})

CATEGORIES = ("路面养护", "路基养护", "桥涵养护", "沿线设施", "路容路貌", "履职")
UNITS = {"处": "处", "100m": "100 m", "次": "次"}  # stored code → label
OVERDUE_CODE = "LZ05"  # 整改逾期: added by the system at month end, never entered by hand
MAX_QUANTITY = 100_000  # 100 km in metres, or that many 处/次: anything above is a typo


@dataclass(frozen=True)
class CatalogItem:
    """One line of the 扣分标准.

    ``points_centi`` is deducted per occurrence. ``cap_centi`` caps this item within
    one inspection; ``category_cap_centi`` caps the whole category within one
    inspection (every item of a category carries the same category cap).
    """

    code: str
    category: str
    text: str
    points_centi: int
    unit: str = "处"
    cap_centi: int | None = None
    category_cap_centi: int | None = None
    basis: str = ""

    @property
    def unit_label(self) -> str:
        return UNITS.get(self.unit, self.unit)


def validate_catalog(items: Sequence[CatalogItem]) -> list[str]:
    """Every problem of a catalog, in Chinese, naming the item; [] when usable."""
    errors: list[str] = []
    seen: set[str] = set()
    category_caps: dict[str, int | None] = {}
    for item in items:
        name = item.code or "（无编号）"
        if not item.code or len(item.code) > 12:
            errors.append(f"{name}：编号不能为空且不超过 12 个字符")
        if item.code in seen:
            errors.append(f"{name}：编号重复")
        seen.add(item.code)
        if item.category not in CATEGORIES:
            errors.append(f"{name}：类别应为 {'、'.join(CATEGORIES)} 之一")
        if not item.text.strip():
            errors.append(f"{name}：扣分内容不能为空")
        if item.unit not in UNITS:
            errors.append(f"{name}：计量单位应为 处、100m 或 次")
        if not 0 < item.points_centi <= FULL_MARKS:
            errors.append(f"{name}：每次扣分应大于 0 且不超过 100")
        for label, cap in (("单项上限", item.cap_centi), ("类别上限", item.category_cap_centi)):
            if cap is not None and not 0 < cap <= FULL_MARKS:
                errors.append(f"{name}：{label}应大于 0 且不超过 100")
        if item.category in category_caps and category_caps[item.category] != item.category_cap_centi:
            errors.append(f"{name}：同一类别（{item.category}）的类别上限须一致")
        category_caps.setdefault(item.category, item.category_cap_centi)
    if items and OVERDUE_CODE not in seen:
        errors.append(f"缺少 {OVERDUE_CODE}（整改逾期）：逾期整改按此项扣分")
    if not items:
        errors.append("扣分标准没有任何条目")
    return errors


# ------------------------------------------------------------------ points of a finding


def occurrences(item: CatalogItem, quantity: int) -> int:
    """How many times the item's points apply.

    处 / 次: the quantity itself. 100 m: the quantity is the affected length in
    metres and every started 100 m counts (1–100 m → 1, 101–200 m → 2), so a
    short stretch is never free and the inspector measures, not rounds.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"数量应为 1–{MAX_QUANTITY} 的整数：{quantity!r}")
    return math.ceil(quantity / 100) if item.unit == "100m" else quantity


def finding_points(item: CatalogItem, quantity: int) -> int:
    """Uncapped deduction of one finding, in hundredths of a point."""
    return occurrences(item, quantity) * item.points_centi


@dataclass(frozen=True)
class FindingLine:
    item: CatalogItem
    quantity: int


def capped_deduction(lines: Iterable[FindingLine]) -> int:
    """Deduction of one inspection (for one chief), caps applied.

    First each item is capped at its own per-inspection cap, then each category
    at its category cap. An inspection covering segments of two chiefs is capped
    separately for each chief (each receives its own share).
    """
    by_item: dict[str, int] = defaultdict(int)
    items: dict[str, CatalogItem] = {}
    for line in lines:
        by_item[line.item.code] += finding_points(line.item, line.quantity)
        items[line.item.code] = line.item
    by_category: dict[str, int] = defaultdict(int)
    category_cap: dict[str, int | None] = {}
    for code, points in by_item.items():
        item = items[code]
        by_category[item.category] += points if item.cap_centi is None else min(points, item.cap_centi)
        category_cap[item.category] = item.category_cap_centi
    return sum(points if (cap := category_cap[c]) is None else min(points, cap) for c, points in by_category.items())


def monthly_score(deductions: Iterable[int]) -> int:
    """百分制: 100 − the month's deductions, never below 0 (第二十一条 扣分制)."""
    return max(0, FULL_MARKS - sum(deductions))


def period_score(monthly: Sequence[int]) -> Decimal | None:
    """Mean of monthly scores (centi) as a printed score (two places, half-up); None when no month was scored."""
    if not monthly:
        return None
    return weighted_mean([Decimal(m).scaleb(-2) for m in monthly])


def grade(score: Decimal | None) -> str | None:
    """优 ≥ 85 / 良 ≥ 70 / 一般 (第二十三条), on the printed score."""
    return None if score is None else grade_for(display_score(score))


def to_centi(score: Decimal) -> int:
    return int(display_score(score).scaleb(2))


# ------------------------------------------------------------------ months and periods

Month = tuple[int, int]


def local_date(moment: datetime) -> date:
    """The Beijing-time calendar day of an aware moment (a naive one is refused, never guessed)."""
    return beijing_date(moment)


def month_of(day: date) -> Month:
    return (day.year, day.month)


def next_month(month: Month) -> Month:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def previous_month(month: Month) -> Month:
    year, m = month
    return (year - 1, 12) if m == 1 else (year, m - 1)


def month_days(month: Month) -> tuple[date, date]:
    year, m = month
    first = date(year, m, 1)
    return first, date(*next_month(month), 1) - timedelta(days=1)


def month_end_moment(month: Month) -> datetime:
    """Midnight (Beijing time) at which the month ends."""
    return datetime.combine(date(*next_month(month), 1), time(0), tzinfo=LOCAL_TZ)


def period_months(year: int, period: str) -> tuple[Month, ...]:
    """Months of "Q1"–"Q4" (一季度一通报), "H1"/"H2" (半年一评比) or "Y" (年终考评)."""
    spans = {"Q1": (1, 3), "Q2": (4, 6), "Q3": (7, 9), "Q4": (10, 12), "H1": (1, 6), "H2": (7, 12), "Y": (1, 12)}
    if period not in spans:
        raise ValueError(f"考核期应为 Q1–Q4、H1、H2 或 Y：{period!r}")
    first, last = spans[period]
    return tuple((year, m) for m in range(first, last + 1))


PERIOD_NAMES = {
    "Q1": "第一季度",
    "Q2": "第二季度",
    "Q3": "第三季度",
    "Q4": "第四季度",
    "H1": "上半年",
    "H2": "下半年",
    "Y": "全年",
}


# ------------------------------------------------------------------ monthly and period scores


@dataclass(frozen=True)
class Share:
    """The findings of one scored inspection that hit one chief."""

    inspection_id: int
    chief_id: int
    day: date
    lines: tuple[FindingLine, ...] = ()


@dataclass(frozen=True)
class OverdueCharge:
    """整改逾期: a rectification still open past its deadline at the end of a month
    costs the responsible chief the catalog's 整改逾期 points in the following month."""

    rectification_id: int
    chief_id: int
    month: Month  # the month the deduction is charged to
    item: CatalogItem


# ------------------------------------------------------------------ seasonal duty (第十三条)

DUTY_PHASES = {"flood": ("雨前", "雨中", "雨后"), "winter": ("除雪", "撒砂")}
DUTY_CODES = {"flood": "LZ02", "winter": "LZ03"}
DUTY_KIND_NAMES = {"flood": "汛期", "winter": "冬季"}


def check_duty_phase(kind: str, phase: str | None) -> str | None:
    """The duty sub-type of a patrol record: required (one of the season's) for 汛期/冬季
    巡查, refused for every other kind. Returns the clean value; ValueError in Chinese."""
    phase = (phase or "").strip() or None
    allowed = DUTY_PHASES.get(kind)
    if allowed is None:
        if phase is not None:
            raise ValueError(f"只有汛期巡查、冬季巡查填写巡查类别（{INSPECTION_KINDS.get(kind, kind)}不填）")
        return None
    if phase not in allowed:
        raise ValueError(f"{INSPECTION_KINDS[kind]}须选择巡查类别：{'、'.join(allowed)}")
    return phase


@dataclass(frozen=True)
class DutyGapLine:
    """One segment of a season window's ended period lacking one duty record, with the
    chief whose score it hits (see services.seasonal)."""

    chief_id: int
    kind: str  # "flood" / "winter"
    window_id: int
    period_no: int  # 1-based within the window
    period_end: date
    missing: str  # 雨前 / 雨中 / 雨后 / 除雪或撒砂
    segment: str = ""  # a short label, e.g. "X001 K0+000–K2+300"


@dataclass(frozen=True)
class DutyCharge:
    """履职 deduction for a missed seasonal duty: one occurrence of the catalog item
    (LZ02 汛期 / LZ03 冬季) per chief × window period × missing record, whatever the
    number of the chief's segments missing it (they are named in the reason); charged
    to the month in which the period ended."""

    chief_id: int
    month: Month
    item: CatalogItem
    reason: str
    segments: tuple[str, ...] = ()


def duty_charges(gaps: Iterable[DutyGapLine], catalog: dict[str, CatalogItem]) -> list[DutyCharge]:
    """The 履职 charges of duty gaps. A catalog without the season's item charges nothing."""
    grouped: dict[tuple[Any, ...], list[DutyGapLine]] = defaultdict(list)
    for gap in gaps:
        grouped[(gap.chief_id, gap.kind, gap.window_id, gap.period_no, gap.period_end, gap.missing)].append(gap)
    charges = []
    for (chief_id, kind, _window, number, end, missing), lines in sorted(
        grouped.items(), key=lambda p: (p[0][0], p[0][4], p[0][2], p[0][3], p[0][5])
    ):
        item = catalog.get(DUTY_CODES.get(kind, ""))
        if item is None:
            continue
        segments = tuple(dict.fromkeys(line.segment for line in lines if line.segment))
        where = "、".join(segments[:3]) + (f" 等 {len(segments)} 个路段" if len(segments) > 3 else "")
        what = f"缺{missing}巡查" if kind == "flood" else f"缺{missing}记录"
        charges.append(
            DutyCharge(
                chief_id,
                month_of(end),
                item,
                f"{DUTY_KIND_NAMES.get(kind, kind)}第{number}期（至 {end.isoformat()}）{where} {what}".replace(
                    "  ", " "
                ),
                segments,
            )
        )
    return charges


def duty_deductions(gaps: Iterable[DutyGapLine], catalog: dict[str, CatalogItem]) -> dict[tuple[int, Month], int]:
    """Per chief and month, the capped 履职 deduction of the duty gaps alone (hundredths)."""
    lines: dict[tuple[int, Month], list[FindingLine]] = defaultdict(list)
    for charge in duty_charges(gaps, catalog):
        lines[(charge.chief_id, charge.month)].append(FindingLine(charge.item, 1))
    return {key: capped_deduction(found) for key, found in lines.items()}


@dataclass
class MonthScore:
    chief_id: int
    month: Month
    inspections: int = 0
    overdue: int = 0
    deduction_centi: int = 0
    duty: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def score_centi(self) -> int:
        return monthly_score([self.deduction_centi])

    @property
    def inspected(self) -> bool:
        return self.inspections > 0


def month_scores(
    shares: Iterable[Share], charges: Iterable[OverdueCharge] = (), duty: Iterable[DutyCharge] = ()
) -> dict[tuple[int, Month], MonthScore]:
    """Each chief's score for each month with a 督查 on their segments, an overdue charge
    or a seasonal duty charge.

    Caps apply per inspection; the system's charges of a month (整改逾期 and 履职
    duty gaps, all of the 履职 category) are capped together as if one inspection.
    A month with only such charges is scored (the chief's fault does not vanish
    because the office skipped a month) and is still a coverage gap for the office.
    """
    result: dict[tuple[int, Month], MonthScore] = {}

    def slot(chief_id: int, month: Month) -> MonthScore:
        return result.setdefault((chief_id, month), MonthScore(chief_id, month))

    for share in shares:
        score = slot(share.chief_id, month_of(share.day))
        score.inspections += 1
        score.deduction_centi += capped_deduction(share.lines)
    overdue: dict[tuple[int, Month], list[FindingLine]] = defaultdict(list)
    counts: dict[tuple[int, Month], list[int]] = defaultdict(lambda: [0, 0])
    for charge in charges:
        overdue[(charge.chief_id, charge.month)].append(FindingLine(charge.item, 1))
        counts[(charge.chief_id, charge.month)][0] += 1
    for duty_charge in duty:
        overdue[(duty_charge.chief_id, duty_charge.month)].append(FindingLine(duty_charge.item, 1))
        counts[(duty_charge.chief_id, duty_charge.month)][1] += 1
        slot(duty_charge.chief_id, duty_charge.month).reasons.append(duty_charge.reason)
    for (chief_id, month), lines in overdue.items():
        score = slot(chief_id, month)
        score.overdue += counts[(chief_id, month)][0]
        score.duty += counts[(chief_id, month)][1]
        score.deduction_centi += capped_deduction(lines)
    return result


def quarter_of(month: Month) -> int:
    return (month[1] - 1) // 3 + 1


def months_score(
    monthly: Mapping[Month, int], months: Sequence[Month], quarter_weights: Sequence[Score] = (1, 1, 1, 1)
) -> Decimal | None:
    """The score of a period from monthly scores (centi): within one quarter the mean
    of its scored months (一季度一通报); over several quarters (半年一评比, 年终考评)
    grades.combined_score of those quarter scores — one definition everywhere."""
    by_quarter: dict[int, list[int]] = defaultdict(list)
    for m in months:
        if m in monthly:
            by_quarter[quarter_of(m)].append(monthly[m])
    quarters = {quarter_of(m) for m in months}
    if len(quarters) == 1:
        return period_score(next(iter(by_quarter.values()), []))
    return combined_score({q: period_score(by_quarter.get(q, [])) for q in sorted(quarters)}, quarter_weights)


@dataclass(frozen=True)
class PeriodResult:
    chief_id: int
    months: tuple[Month, ...]
    monthly: dict[Month, MonthScore] = field(default_factory=dict)
    gaps: tuple[Month, ...] = ()
    quarter_weights: tuple[Score, ...] = (1, 1, 1, 1)  # the year's funding params (第二十一条 年终汇总)

    @property
    def score(self) -> Decimal | None:
        return months_score({m: s.score_centi for m, s in self.monthly.items()}, self.months, self.quarter_weights)

    @property
    def grade(self) -> str | None:
        return grade(self.score)

    @property
    def deduction_centi(self) -> int:
        return sum(s.deduction_centi for s in self.monthly.values())


def period_result(
    chief_id: int,
    months: Sequence[Month],
    scores: dict[tuple[int, Month], MonthScore],
    expected: Iterable[Month],
    quarter_weights: Sequence[Score] = (1, 1, 1, 1),
) -> PeriodResult:
    """A chief's months in a period. ``expected`` are the months the chief held the post
    (any day of it); each of them without a 督查 is a gap (一月一督查, 第二十一条)."""
    monthly = {m: scores[(chief_id, m)] for m in months if (chief_id, m) in scores}
    gaps = tuple(m for m in months if m in set(expected) and not (m in monthly and monthly[m].inspected))
    return PeriodResult(chief_id, tuple(months), monthly, gaps, tuple(quarter_weights))


def pooled_score(results: Iterable[PeriodResult]) -> Decimal | None:
    """A paid unit's quarter score when several chiefs shared it in the quarter: the mean
    of all their monthly scores together (each scored month weighs the same)."""
    monthly = [s.score_centi for r in results for s in r.monthly.values()]
    return period_score(monthly)


# ------------------------------------------------------------------ rectification (整改)

OPEN, DONE, VERIFIED = "open", "done", "verified"
STATE_LABELS = {OPEN: "待整改", DONE: "已整改待复核", VERIFIED: "复核通过"}
ACTIONS = {"complete": "整改完成", "verify": "复核通过", "return": "退回重改"}
TRANSITIONS = {(OPEN, "complete"): DONE, (DONE, "verify"): VERIFIED, (DONE, "return"): OPEN}
ACTION_ACTOR = {"complete": "chief", "verify": "office", "return": "office"}
DEFAULT_DEADLINE_DAYS = 7


class TransitionError(ValueError):
    """A rectification step that is not allowed; the message is for the user."""


@dataclass(frozen=True)
class Step:
    state: str
    late: bool  # completed after the deadline


def next_state(
    state: str, action: str, now: datetime, deadline: date, *, actor: str, note: str = "", has_photo: bool = False
) -> Step:
    """The state after ``action`` by ``actor`` ("chief" or "office").

    open → done: the chief, with an after-photo and a note. done → verified: the
    inspecting office (复核通过). done → open: the office sends it back, with a note
    saying what is still wrong. Everything else is refused.
    """
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise TransitionError(f"当前状态「{STATE_LABELS.get(state, state)}」不能执行「{ACTIONS.get(action, action)}」")
    if ACTION_ACTOR[action] != actor:
        who = "责任路长" if ACTION_ACTOR[action] == "chief" else "督查单位"
        raise TransitionError(f"「{ACTIONS[action]}」只能由{who}操作")
    if action == "complete" and not (has_photo and note.strip()):
        raise TransitionError("整改完成须上传整改后照片并填写整改说明")
    if action == "return" and not note.strip():
        raise TransitionError("退回须写明需要重新整改的内容")
    return Step(target, late=action == "complete" and local_date(now) > deadline)


def is_overdue(state: str, deadline: date, today: date) -> bool:
    """Overdue: still not done (or verified) after the deadline day."""
    return state == OPEN and today > deadline


def state_at(events: Sequence[tuple[datetime, str]], moment: datetime) -> str:
    """Replay the (time, action) history up to (not including) ``moment``."""
    state = OPEN
    for at, action in sorted(events):
        if at >= moment:
            break
        state = TRANSITIONS.get((state, action), state)
    return state


def overdue_month_ends(
    opened: datetime, deadline: date, events: Sequence[tuple[datetime, str]], until: Month
) -> list[Month]:
    """Months (up to ``until``) whose end found the rectification open and past its
    deadline; each costs 整改逾期 in the month after (see :class:`OverdueCharge`)."""
    months: list[Month] = []
    month = month_of(deadline)
    while month <= until:
        end = month_end_moment(month)
        if end > opened and is_overdue(state_at(events, end), deadline, end.date()):
            months.append(month)
        month = next_month(month)
    return months
