"""domain.permissions: roles, capabilities, scopes and who assesses whom (第二十条)."""

from __future__ import annotations

import pytest

from roadchief.domain import permissions as p


def test_every_capability_names_known_roles():
    for capability, roles in p.CAPABILITIES.items():
        assert roles and set(roles) <= set(p.ALL_ROLES), capability
    assert set(p.ROLE_LABELS) == set(p.ALL_ROLES)
    assert p.ROLE_LABELS["city_office"] == "市级路长办公室"


@pytest.mark.parametrize(
    "role, capability, allowed",
    [
        ("city_office", p.MANAGE_USERS, True),
        ("finance", p.MANAGE_USERS, False),
        ("finance", p.MANAGE_FUNDING, True),
        ("town_office", p.MANAGE_FUNDING, False),
        ("town_office", p.VIEW_FUNDING, True),
        ("chief", p.VIEW_FUNDING, False),
        ("chief", p.LOG_INSPECTION, True),
        ("finance", p.LOG_INSPECTION, False),
        ("city_office", p.EDIT_PARAMS, True),
        ("finance", p.EDIT_PARAMS, False),
        ("inspector", p.ACT_ON_EVENT, False),
        ("chief", p.ACT_ON_EVENT, True),
        (None, p.READ, False),
    ],
)
def test_may(role, capability, allowed):
    assert p.may(role, capability) is allowed


def test_unknown_capability_is_an_error():
    with pytest.raises(KeyError):
        p.roles_for("fly")


@pytest.mark.parametrize(
    "role, has_town, has_chief, scope",
    [
        ("city_office", False, False, "all"),
        ("finance", False, False, "all"),
        ("inspector", False, False, "all"),
        ("inspector", True, False, "town"),
        ("town_office", True, False, "town"),
        ("town_office", False, False, "none"),
        ("chief", False, True, "chief"),
        ("chief", False, False, "none"),
    ],
)
def test_segment_scope(role, has_town, has_chief, scope):
    assert p.segment_scope(role, has_town, has_chief) == scope


def test_town_visibility():
    assert p.sees_town("finance", None, 7)
    assert p.sees_town("inspector", None, 7)
    assert p.sees_town("town_office", 7, 7) and not p.sees_town("town_office", 8, 7)
    assert not p.sees_town("chief", None, 7)
    assert p.town_bound("inspector", True) and not p.town_bound("inspector", False)
    assert not p.town_bound("city_office", True)


def test_report_scope_leaves_out_inspectors_and_finance():
    assert p.report_scope("city_office", False, False) == "all"
    assert p.report_scope("town_office", True, False) == "town"
    assert p.report_scope("chief", False, True) == "chief"
    assert p.report_scope("finance", False, False) == "none"
    assert p.report_scope("inspector", True, False) == "none"


def test_who_assesses_whom():
    # 市级路长办公室 assesses 镇级路长 and 公路站路长; a town office its 村级路长 (第二十条)
    assert p.assessed_levels("city") == ("town", "station")
    assert p.assessed_levels("town") == ("village",)
    assert p.assessed_levels("chief") == ("maintainer",)
    assert p.assessed_levels("nowhere") == ()
    assert p.assessor_of("station") == "city" and p.assessor_of("village") == "town"
    assert p.assessor_of("maintainer") == "chief" and p.assessor_of("mayor") is None


def test_office_kind_and_result_scopes():
    assert p.office_kind("city_office", False, False) == "city"
    assert p.office_kind("inspector", False, False) == "city"
    assert p.office_kind("inspector", True, False) == "town"
    assert p.office_kind("town_office", True, False) == "town"
    assert p.office_kind("chief", False, True) == "chief"
    assert p.office_kind("finance", False, False) is None
    assert p.reads_every_scope("finance", False) and p.reads_every_scope("inspector", False)
    assert not p.reads_every_scope("town_office", True)
    assert p.defaults_to_city("finance") and not p.defaults_to_city("inspector")


def test_finalising():
    assert p.may_finalise("city_office", "city", "town:640381100")
    assert p.may_finalise("town_office", "town:640381100", "town:640381100")
    assert not p.may_finalise("town_office", "town:640381100", "town:640381101")
    assert not p.may_finalise("city_office", "city", "chief:3")
    assert not p.may_finalise("finance", None, "city")


def test_recording_inspections():
    assert all(p.records_every_kind(r) for r in ("city_office", "town_office", "inspector"))
    assert not p.records_every_kind("chief") and not p.records_every_kind("finance")
    assert p.record_scope("chief", True) == "chief" and p.record_scope("chief", False) == "none"
    assert p.record_scope("town_office", True) == "segments" and p.record_scope("inspector", False) == "segments"
    assert p.record_scope("finance", False) == "none"


@pytest.mark.parametrize(
    "role, has_town, has_chief, scope",
    [
        ("city_office", False, False, "all"),
        ("finance", False, False, "all"),
        ("inspector", False, False, "all"),
        ("inspector", True, False, "town"),
        ("town_office", True, False, "town"),
        ("town_office", False, False, "none"),
        ("chief", False, True, "chief"),
        ("chief", False, False, "none"),
    ],
)
def test_inspection_read_scope(role, has_town, has_chief, scope):
    assert p.inspection_read_scope(role, has_town, has_chief) == scope


def test_correcting_and_rectification_parts():
    assert p.may_correct("town_office", "town:1", "town:1") and p.may_correct("chief", "chief:3", "chief:3")
    assert not p.may_correct("town_office", "town:1", "city")
    assert not p.may_correct("finance", None, None)
    assert p.rectification_parts("chief", 3, "chief:3", 3, "town:1") == {"chief"}
    assert p.rectification_parts("chief", 3, "chief:3", 4, "chief:3") == {"office"}
    assert p.rectification_parts("town_office", None, "town:1", 3, "town:1") == {"office"}
    assert p.rectification_parts("inspector", None, "city", 3, "town:1") == set()
