"""整改期限 and 督办 rules (domain.deadlines) and the notification rules (domain.notifications)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from roadchief.domain import deadlines as d
from roadchief.domain import notifications as n

RULES = d.DeadlineRules(
    general_days=10, major_days=5, serious_days=2, emergency_days=1, major_points_centi=300, item_days={"LZ01": 30}
)


def test_severity_from_points_per_occurrence():
    assert d.severity_of(100, RULES) == d.GENERAL
    assert d.severity_of(299, RULES) == d.GENERAL
    assert d.severity_of(300, RULES) == d.MAJOR
    assert d.severity_of(500, RULES) == d.SERIOUS


def test_deadline_from_item_then_severity_and_emergency_is_shorter():
    day = date(2026, 3, 30)
    assert d.deadline_for(day, "LM01", 100, RULES) == date(2026, 4, 9)  # 一般: 10 days
    assert d.deadline_for(day, "LM04", 300, RULES) == date(2026, 4, 4)  # 较重: 5
    assert d.deadline_for(day, "QH01", 800, RULES) == date(2026, 4, 1)  # 严重: 2
    assert d.deadline_for(day, "LZ01", 800, RULES) == date(2026, 4, 29)  # the item's own 30 days win
    assert d.deadline_for(day, "LM01", 100, RULES, emergency=True) == date(2026, 3, 31)  # 第十四条
    assert d.deadline_for(day, "LM01", 100, d.DEFAULT_RULES) == day + timedelta(days=7)


def test_validation_names_the_field():
    bad = d.DeadlineRules(
        general_days=0, near_days=40, major_points_centi=600, serious_points_centi=500, item_days={"X": 0}
    )
    errors = "；".join(d.validate_rules(bad))
    assert "一般问题整改天数" in errors and "临期提醒天数" in errors and "较重" in errors and "X" in errors
    assert d.validate_rules(RULES) == []


def test_levels_village_to_town_to_city_and_city_is_the_top():
    assert d.next_level(d.CHIEF_LEVEL, "village", "town:1") == d.TOWN
    assert d.next_level(d.CHIEF_LEVEL, "cleaner", "chief:3") == d.TOWN
    assert d.next_level(d.CHIEF_LEVEL, "town", "city") == d.CITY
    assert d.next_level(d.CHIEF_LEVEL, "station", "city") == d.CITY
    assert d.next_level(d.CHIEF_LEVEL, None, "town:1") == d.TOWN
    assert d.next_level(d.CHIEF_LEVEL, None, "city") == d.CITY
    assert d.next_level(d.TOWN, "village", "town:1") == d.CITY
    assert d.next_level(d.CITY, "village", "town:1") is None


def test_escalation_due_after_the_running_deadline_only_while_open():
    original = date(2026, 4, 1)
    assert not d.escalation_due("open", original, date(2026, 4, 1))  # the deadline day itself is allowed
    assert d.escalation_due("open", original, date(2026, 4, 2))
    assert not d.escalation_due("done", original, date(2026, 4, 9))  # answered, awaiting review
    running = d.effective_deadline(original, [date(2026, 4, 5)])
    assert running == date(2026, 4, 5) and d.effective_deadline(original, []) == original
    assert not d.escalation_due("open", running, date(2026, 4, 5))
    assert d.escalated_deadline(date(2026, 4, 2), RULES) == date(2026, 4, 5)


def test_deadline_near_window():
    rules = d.DeadlineRules(near_days=2)
    deadline = date(2026, 4, 10)
    assert [d.deadline_near("open", deadline, date(2026, 4, x), rules) for x in (7, 8, 10, 11)] == [
        False,
        True,
        True,
        False,
    ]
    assert not d.deadline_near("verified", deadline, date(2026, 4, 9), rules)


def test_notice_number():
    assert d.notice_number(2026, 3) == "青路督〔2026〕3号"
    with pytest.raises(ValueError):
        d.notice_number(2026, 0)


def test_notification_channels_inapp_always_and_backoff():
    rules = {("created", "assignee"): frozenset({n.SMS, "fax"})}
    assert n.channels_for(rules, "created", "assignee") == {n.INAPP, n.SMS}
    assert n.channels_for(rules, "created", "city_office") == frozenset()
    assert n.audiences_for(n.DEFAULT_RULES, "escalated") == ["assignee", "escalated_office"]
    assert [n.retry_delay(k).total_seconds() for k in (1, 2, 3)] == [60, 120, 240]
    assert n.retry_delay(30) == n.MAX_DELAY
    now = datetime(2026, 4, 1, tzinfo=UTC)
    assert n.next_attempt(now, 1) == now + timedelta(minutes=1)
    assert n.next_attempt(now, n.MAX_ATTEMPTS) is None
    assert n.validate_rules([("created", "assignee", "sms"), ("x", "assignee", "sms"), ("created", "y", "sms")]) == [
        "未知事件：x",
        "未知接收对象：y",
    ]
    assert n.dedupe_key("escalated", "r1", "town", "u2", "email") == "escalated:r1:town:u2:email"
