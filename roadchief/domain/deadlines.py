"""Rectification deadlines (整改期限) and 督办 escalation, as pure rules over data the city office sets per year.

Where the rules come from:

* 第十条 sets the quality every road must keep (路面、路基、桥涵、沿线设施、路容路貌) and asks for
  defects to be dealt with "及时"; the measures name no number of days, so the days per deduction
  item and per severity are a local choice, kept as data (:class:`DeadlineRules`) the city office
  edits per year (README, "local rules").
* 第十四条 (先抢通，后修复): a finding of an 应急巡查 gets the shorter ``emergency_days``.
* 第六条/第七条/第二十条: 村级路长 answer to the town (镇级路长办公室 督导考核村级路长), 镇级 and
  公路站路长 to the city office (市级路长办公室 负责日常督查和考核镇级路长). An overdue rectification
  is therefore escalated (督办) one level up: 村 → 镇 office → 市 office; the city office is the top.
* 第十六条 (由市级路长监管): the city office is the last level; past its deadline an item stays
  at the city office (no further escalation, it shows as overdue there).

Severity is taken from a catalog item's points per occurrence (``points_centi``): at least
``serious_points_centi`` is 严重, at least ``major_points_centi`` 较重, else 一般. A per-item
day count overrides the severity's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

GENERAL: Final = "general"
MAJOR: Final = "major"
SERIOUS: Final = "serious"
SEVERITY_LABELS: Final[dict[str, str]] = {GENERAL: "一般", MAJOR: "较重", SERIOUS: "严重"}

# escalation levels: who answers for the item at each step
CHIEF_LEVEL: Final = "chief"  # the responsible chief (no escalation yet)
TOWN: Final = "town"  # 镇级路长办公室
CITY: Final = "city"  # 市级路长办公室
LEVEL_LABELS: Final[dict[str, str]] = {CHIEF_LEVEL: "责任路长", TOWN: "镇级路长办公室", CITY: "市级路长办公室"}

# chief positions (domain.roads.CHIEF_POSITIONS codes) answering to the town office; others to the city
TOWN_SUPERVISED: Final[frozenset[str]] = frozenset({"village", "cleaner", "public_welfare", "hired"})

MAX_DAYS: Final = 365
OPEN: Final = "open"  # domain.scoring.OPEN (kept here so the rule needs no other module)


@dataclass(frozen=True)
class DeadlineRules:
    """A year's parameters. Days are calendar days after the finding's (Beijing) date."""

    general_days: int = 7
    major_days: int = 5
    serious_days: int = 3
    emergency_days: int = 2  # 第十四条 先抢通
    major_points_centi: int = 200  # 2 分 per occurrence or more: 较重
    serious_points_centi: int = 500  # 5 分 or more: 严重
    escalation_days: int = 3  # the 督办 gives the next office this many days from the escalation day
    near_days: int = 2  # "deadline near" notice this many days before the deadline
    item_days: Mapping[str, int] = field(default_factory=dict)  # catalog code → days (overrides severity)

    def days_for_severity(self, severity: str) -> int:
        return {GENERAL: self.general_days, MAJOR: self.major_days, SERIOUS: self.serious_days}[severity]


DEFAULT_RULES: Final = DeadlineRules()


def validate_rules(rules: DeadlineRules) -> list[str]:
    """Chinese errors naming the field; empty when the rules are usable."""
    errors: list[str] = []
    named = {
        "一般问题整改天数": rules.general_days,
        "较重问题整改天数": rules.major_days,
        "严重问题整改天数": rules.serious_days,
        "应急巡查整改天数": rules.emergency_days,
        "督办后整改天数": rules.escalation_days,
    }
    for label, days in named.items():
        if not 1 <= days <= MAX_DAYS:
            errors.append(f"{label}须在 1–{MAX_DAYS} 天之间（现为 {days}）")
    if not 0 <= rules.near_days <= 30:
        errors.append(f"临期提醒天数须在 0–30 天之间（现为 {rules.near_days}）")
    if not 0 < rules.major_points_centi <= rules.serious_points_centi <= 10000:
        errors.append("较重、严重问题的分值界限须满足 0 < 较重 ≤ 严重 ≤ 100 分")
    for code, days in rules.item_days.items():
        if not 1 <= days <= MAX_DAYS:
            errors.append(f"扣分项 {code} 的整改天数须在 1–{MAX_DAYS} 天之间（现为 {days}）")
    return errors


def severity_of(points_centi: int, rules: DeadlineRules = DEFAULT_RULES) -> str:
    if points_centi >= rules.serious_points_centi:
        return SERIOUS
    if points_centi >= rules.major_points_centi:
        return MAJOR
    return GENERAL


def deadline_days(code: str, points_centi: int, rules: DeadlineRules, emergency: bool = False) -> int:
    """Days to fix one finding: the item's own days, else its severity's; an 应急巡查 (第十四条)
    never gets more than ``emergency_days``."""
    days = rules.item_days.get(code) or rules.days_for_severity(severity_of(points_centi, rules))
    return min(days, rules.emergency_days) if emergency else days


def deadline_for(found_on: date, code: str, points_centi: int, rules: DeadlineRules, emergency: bool = False) -> date:
    """The rectification deadline (last day allowed, inclusive) of a finding made on ``found_on``."""
    return found_on + timedelta(days=deadline_days(code, points_centi, rules, emergency))


def first_level(chief_position: str | None, inspecting_office: str) -> str:
    """The office a first 督办 goes to: the town office for a 村级路长 or 管养责任人 (第二十条 镇级路长
    考核村级路长), the city office for a 镇级 or 公路站路长. Without a chief, from who inspected: a
    town's inspection (of 村级 roads) goes to that town, the city's to the city."""
    if chief_position:
        return TOWN if chief_position in TOWN_SUPERVISED else CITY
    return TOWN if inspecting_office.startswith(("town:", "chief:")) else CITY


def next_level(level: str, chief_position: str | None, inspecting_office: str) -> str | None:
    """The level after ``level`` (None at the city office, the top — 第十六条 由市级路长监管)."""
    if level == CHIEF_LEVEL:
        return first_level(chief_position, inspecting_office)
    if level == TOWN:
        return CITY
    return None


def effective_deadline(original: date, escalated: list[date]) -> date:
    """The deadline now running: the latest 督办's, else the original."""
    return escalated[-1] if escalated else original


def escalation_due(state: str, deadline: date, today: date) -> bool:
    """Overdue for 督办: still open (not answered) after its running deadline's day."""
    return state == OPEN and today > deadline


def escalated_deadline(today: date, rules: DeadlineRules) -> date:
    """The deadline a 督办 sets: ``escalation_days`` from the day it is issued."""
    return today + timedelta(days=rules.escalation_days)


def deadline_near(state: str, deadline: date, today: date, rules: DeadlineRules) -> bool:
    """Within ``near_days`` of the deadline (inclusive) and not yet overdue."""
    return state == OPEN and deadline - timedelta(days=rules.near_days) <= today <= deadline


def notice_number(year: int, sequence: int, prefix: str = "青路督") -> str:
    """The 督办通知书 number, e.g. 青路督〔2026〕3号 (sequential per year)."""
    if sequence < 1:
        raise ValueError("督办通知书序号须从 1 开始")
    return f"{prefix}〔{year}〕{sequence}号"
