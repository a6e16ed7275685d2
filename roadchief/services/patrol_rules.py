"""The year's proof-of-patrol thresholds (domain.patrol_proof.PatrolRules), set by the city
office; a year without a row uses the defaults. Every change is audited (models.patrols)."""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import select

from roadchief.domain.patrol_proof import DEFAULT_RULES, RULE_LIMITS, PatrolRules, check_rules
from roadchief.extensions import db
from roadchief.models.patrols import PatrolRule
from roadchief.services import ServiceError
from roadchief.services.transactions import unit_of_work

MIN_YEAR, MAX_YEAR = 2000, 2100


def _check_year(year: int) -> int:
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise ServiceError(f"年度应在 {MIN_YEAR}–{MAX_YEAR} 之间")
    return int(year)


def _row(year: int) -> PatrolRule | None:
    return db.session.scalar(select(PatrolRule).where(PatrolRule.year == year))


def rules_for(year: int) -> PatrolRules:
    """The rules in force for a year: the office's row, else the defaults."""
    row = _row(year)
    if row is None:
        return DEFAULT_RULES
    return PatrolRules(**{f.name: getattr(row, f.name) for f in fields(PatrolRules)})


def is_default(year: int) -> bool:
    return _row(year) is None


def set_rules(year: int, values, by: str) -> PatrolRules:
    """Save a year's rules from form values (missing fields keep the year's current value).
    Refuses a value out of range naming the field; writes nothing then."""
    year = _check_year(year)
    try:
        rules = check_rules(values, rules_for(year))
    except ValueError as error:
        raise ServiceError(str(error)) from None
    with unit_of_work():
        row = _row(year)
        if row is None:
            row = PatrolRule(year=year)
            db.session.add(row)
        for name, value in asdict(rules).items():
            setattr(row, name, value)
        row.updated_by = by[:80]
    return rules


def rule_rows(year: int) -> list[tuple[str, str, int, int, int, int]]:
    """(field, label, value, default, low, high) for the edit form."""
    rules = rules_for(year)
    return [
        (name, label, getattr(rules, name), getattr(DEFAULT_RULES, name), low, high)
        for name, (low, high, label) in RULE_LIMITS.items()
    ]
