"""A year's 整改期限 rules (domain.deadlines): reading them, the city office's edit, and a finding's deadline."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from roadchief.domain import deadlines
from roadchief.domain.deadlines import DEFAULT_RULES, DeadlineRules
from roadchief.extensions import db
from roadchief.models.supervision import DeadlineItemRule, DeadlineRuleSet
from roadchief.services import Invalid
from roadchief.services.transactions import unit_of_work

FIELDS = (
    ("general_days", "一般问题整改天数"),
    ("major_days", "较重问题整改天数"),
    ("serious_days", "严重问题整改天数"),
    ("emergency_days", "应急巡查整改天数"),
    ("escalation_days", "督办后整改天数"),
    ("near_days", "临期提醒天数"),
)
POINT_FIELDS = (("major_points", "较重问题分值下限（分）"), ("serious_points", "严重问题分值下限（分）"))


def rule_set(year: int) -> DeadlineRuleSet | None:
    return db.session.scalar(select(DeadlineRuleSet).where(DeadlineRuleSet.year == year))


def rules_for(year: int) -> DeadlineRules:
    """The year's rules, else the defaults (domain.deadlines.DEFAULT_RULES)."""
    row = rule_set(year)
    if row is None:
        return DEFAULT_RULES
    return DeadlineRules(
        general_days=row.general_days,
        major_days=row.major_days,
        serious_days=row.serious_days,
        emergency_days=row.emergency_days,
        major_points_centi=row.major_points_centi,
        serious_points_centi=row.serious_points_centi,
        escalation_days=row.escalation_days,
        near_days=row.near_days,
        item_days={i.code: i.days for i in row.items},
    )


def finding_deadline(day: date, item, emergency: bool = False, rules: DeadlineRules | None = None) -> date:
    """A finding's deadline from its catalog item (code, points) and the year's rules."""
    rules = rules or rules_for(day.year)
    return deadlines.deadline_for(day, item.code, item.points_centi, rules, emergency=emergency)


def _int(form, name: str, label: str) -> int:
    value = str(form.get(name, "")).strip()
    if not value.isdigit():
        raise Invalid(f"{label}：请填写整数（现为“{value}”）")
    return int(value)


def _points(form, name: str, label: str) -> int:
    from decimal import Decimal, InvalidOperation

    value = str(form.get(name, "")).strip()
    try:
        points = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{label}：请填写分值（现为“{value}”）") from None
    centi = points * 100
    if centi != centi.to_integral_value():
        raise Invalid(f"{label}：最多两位小数")
    return int(centi)


def parse_item_days(text: str, known_codes: set[str]) -> dict[str, int]:
    """Lines "CODE 天数" (or "CODE,天数"); an unknown code or a bad number names its line."""
    result: dict[str, int] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.replace(",", " ").replace("，", " ").strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise Invalid(f"按扣分项设定 第 {number} 行：请写成“扣分项代码 天数”（现为“{raw.strip()}”）")
        code = parts[0].upper()
        if known_codes and code not in known_codes:
            raise Invalid(f"按扣分项设定 第 {number} 行：扣分项 {code} 不在本年度扣分标准中")
        if code in result:
            raise Invalid(f"按扣分项设定 第 {number} 行：扣分项 {code} 重复")
        result[code] = int(parts[1])
    return result


def save_rules(year: int, form, user, known_codes: set[str]) -> DeadlineRuleSet:
    """The city office sets the year's rules (the audit log records the change)."""
    if not 2000 <= year <= 2100:
        raise Invalid(f"年度 {year} 不正确")
    values = {name: _int(form, name, label) for name, label in FIELDS}
    points = {name: _points(form, name, label) for name, label in POINT_FIELDS}
    item_days = parse_item_days(form.get("item_days", ""), known_codes)
    rules = DeadlineRules(
        major_points_centi=points["major_points"],
        serious_points_centi=points["serious_points"],
        item_days=item_days,
        **values,
    )
    if errors := deadlines.validate_rules(rules):
        raise Invalid("；".join(errors))
    with unit_of_work():
        row = rule_set(year)
        if row is None:
            row = DeadlineRuleSet(year=year)
            db.session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.major_points_centi, row.serious_points_centi = rules.major_points_centi, rules.serious_points_centi
        row.updated_by = user.username
        existing = {i.code: i for i in row.items}
        for code, item in existing.items():
            if code not in item_days:
                row.items.remove(item)
        for code, days in item_days.items():
            if code in existing:
                existing[code].days = days
            else:
                row.items.append(DeadlineItemRule(code=code, days=days))
    return row


def item_days_text(rules: DeadlineRules) -> str:
    return "\n".join(f"{code} {days}" for code, days in sorted(rules.item_days.items()))
