"""Pure rules of the responsibility loop (#13): who answers a rectification, who reassigns it,
and when a public report may repeat an open one (EPSG:4544 metres, 30 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roadchief.domain import duplicates
from roadchief.domain import permissions as rules

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


def test_a_stored_assignee_answers_as_the_assessed_chief_does():
    assert rules.rectification_parts("chief", 7, "chief:7", 3, "town:X", assignees={3, 7}) == {"chief"}
    assert rules.rectification_parts("chief", 7, "chief:7", 3, "chief:7", assignees={3, 7}) == {"chief", "office"}
    assert rules.rectification_parts("chief", 8, "chief:8", 3, "town:X", assignees={3, 7}) == set()
    assert rules.rectification_parts("town_office", None, "town:X", 3, "town:X", assignees={3}) == {"office"}
    # only a chief's account answers, whatever the assignees say
    assert rules.rectification_parts("inspector", 7, "city", 3, "town:X", assignees={7}) == set()


def test_who_reassigns():
    assert rules.may_reassign("city_office", None, 5, "city", "town:X")
    assert rules.may_reassign("town_office", 5, 5, "town:X", "city")  # the segment's own town
    assert rules.may_reassign("town_office", 6, 5, "town:Y", "town:Y")  # the office that inspected
    assert not rules.may_reassign("town_office", 6, 5, "town:Y", "city")
    assert not rules.may_reassign("chief", None, 5, "chief:1", "chief:1")
    assert not rules.may_reassign("inspector", None, 5, "city", "city")


def test_possible_duplicate_same_segment_or_within_50_m_and_30_days():
    old = duplicates.Sighting(T0, 10, (500000.0, 4200000.0))
    assert duplicates.is_possible_duplicate(duplicates.Sighting(T0 + timedelta(days=3), 10, None), old)
    near = duplicates.Sighting(T0 + timedelta(hours=1), 11, (500030.0, 4200040.0))  # exactly 50 m
    assert duplicates.distance_m(near.xy, old.xy) == 50
    assert duplicates.is_possible_duplicate(near, old)
    far = duplicates.Sighting(T0 + timedelta(hours=1), 11, (500030.0, 4200040.1))
    assert not duplicates.is_possible_duplicate(far, old)
    late = duplicates.Sighting(T0 + timedelta(days=30, seconds=1), 10, None)
    assert not duplicates.is_possible_duplicate(late, old)
    assert duplicates.is_possible_duplicate(duplicates.Sighting(T0 + timedelta(days=30), 10, None), old)
    earlier = duplicates.Sighting(T0 - timedelta(days=1), 10, None)  # the open one must come first
    assert not duplicates.is_possible_duplicate(earlier, old)
    assert not duplicates.is_possible_duplicate(duplicates.Sighting(T0, None, None), old)
