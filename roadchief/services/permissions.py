"""The one permissions service: what the signed-in user may do, the SQL conditions for his scope, and the assessment scopes he sees (rules in domain.permissions)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import false, or_, select, true

from roadchief.domain import permissions as rules
from roadchief.domain.clock import beijing_today
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Segment, Town
from roadchief.models.inspections import Finding, Inspection
from roadchief.services import NotFound

SEE_ALL = ("city_office", "finance")  # kept for importers; the rule is domain.permissions.segment_scope


# ================================================================== capabilities


def can(user, capability: str) -> bool:
    """Whether the user (anonymous allowed) holds a capability of domain.permissions."""
    return bool(getattr(user, "is_authenticated", True)) and rules.may(getattr(user, "role", None), capability)


def has_role(user, *roles: str) -> bool:
    """Whether a signed-in user has one of these roles."""
    return bool(getattr(user, "is_authenticated", True)) and getattr(user, "role", None) in roles


def is_chief(user) -> bool:
    return has_role(user, rules.CHIEF)


def is_town_office(user) -> bool:
    return has_role(user, rules.TOWN_OFFICE)


def is_city_office(user) -> bool:
    return has_role(user, rules.CITY_OFFICE)


def own_chief_id(user) -> int | None:
    """The chief a chief's account stands for (None for every other role)."""
    return user.chief_id if is_chief(user) else None


def is_own_chief(user, chief_id: int) -> bool:
    """A chief looking at his own record (other chiefs are refused; other roles pass)."""
    return not is_chief(user) or user.chief_id == chief_id


def office_town_id(user) -> int | None:
    """The town a town office is limited to (None for city-wide roles and the others)."""
    return user.town_id if is_town_office(user) else None


def bound_town_id(user) -> int | None:
    """The town a town office or a town's inspector is limited to; None when not bound."""
    return user.town_id if rules.town_bound(user.role, bool(user.town_id)) else None


def segment_scope(user) -> str:
    """ "all", "town", "chief" or "none" (domain.permissions.segment_scope)."""
    return rules.segment_scope(user.role, bool(user.town_id), bool(user.chief_id))


# ================================================================== the register (absorbs the former services.scope)


def segment_condition(user, day: date | None = None):
    """A SQL condition on Segment limiting rows to the user's scope."""
    scope = segment_scope(user)
    if scope == "all":
        return true()
    if scope == "town":
        return Segment.town_id == user.town_id
    if scope == "chief":
        return chief_segment_condition(user.chief_id, day or beijing_today())
    return false()


def chief_segment_condition(chief_id: int, day: date):
    active = [
        a
        for a in db.session.scalars(select(ChiefAssignment).where(ChiefAssignment.chief_id == chief_id))
        if a.active_on(day)
    ]
    parts = []
    for a in active:
        if a.scope_kind == "city":
            return true()
        column = {
            "town": Segment.town_id,
            "village": Segment.village_id,
            "station": Segment.station_id,
            "road": Segment.road_id,
            "segment": Segment.id,
        }[a.scope_kind]
        target = {
            "town": a.town_id,
            "village": a.village_id,
            "station": a.station_id,
            "road": a.road_id,
            "segment": a.segment_id,
        }[a.scope_kind]
        parts.append(column == target)
    return or_(*parts) if parts else false()


def can_see_segment(user, segment: Segment) -> bool:
    return bool(db.session.scalar(select(Segment.id).where(Segment.id == segment.id, segment_condition(user))))


def can_see_town(user, town_id: int) -> bool:
    return rules.sees_town(user.role, user.town_id, town_id)


def can_on_segment(user, capability: str, segment: Segment | None = None) -> bool:
    """A capability exercised on a segment in the user's scope (or on none yet chosen)."""
    if not can(user, capability):
        return False
    return segment is None or can_see_segment(user, segment)


# ================================================================== assessment scopes (第二十条)


def office_key(user) -> str | None:
    """The assessing office a user records for: "city", "town:CODE" or "chief:ID"."""
    kind = rules.office_kind(user.role, bool(user.town_id), bool(user.chief_id))
    if kind == "city":
        return "city"
    if kind == "town":
        return f"town:{user.town.code}"
    if kind == "chief":
        return f"chief:{user.chief_id}"
    return None


def default_scope(user) -> str | None:
    if rules.defaults_to_city(user.role):
        return "city"
    key = office_key(user)
    if key and key.startswith("chief:"):
        return key if user.chief.position == "village" else None
    return key


def visible_scopes(user) -> list[str]:
    """The scopes whose results a user may read: the city office, finance and city
    inspectors read every office's; a town office its own; a 村级路长 his maintainers'."""
    if rules.reads_every_scope(user.role, bool(user.town_id)):
        return ["city"] + [f"town:{code}" for code in db.session.scalars(select(Town.code).order_by(Town.code))]
    scope = default_scope(user)
    return [scope] if scope else []


def check_scope(scope: str) -> str:
    kind, _, code = scope.partition(":")
    if kind == "city" and not code:
        return scope
    if kind == "town" and db.session.scalar(select(Town.id).where(Town.code == code)):
        return scope
    if kind == "chief" and code.isdigit() and db.session.get(Chief, int(code)):
        return scope
    raise NotFound(f"考核范围不正确：{scope}")


def can_finalise(user, scope: str) -> bool:
    """The city office finalises its own scope and, on a town's behalf, any town's; a
    town office its own. Chiefs' scopes (maintainers) are never paid, so never finalised."""
    return rules.may_finalise(user.role, office_key(user), scope)


# ================================================================== inspections and rectifications


def records_every_kind(user) -> bool:
    """Offices and inspectors record every kind of inspection (domain.permissions.records_every_kind)."""
    return rules.records_every_kind(user.role)


def record_scope(user) -> str:
    """ "segments", "chief" or "none": where the user may record an inspection."""
    return rules.record_scope(user.role, bool(user.chief_id))


def inspection_read_scope(user) -> str:
    """ "all", "town", "chief" or "none": which inspections and rectifications the user reads."""
    return rules.inspection_read_scope(user.role, bool(user.town_id), bool(user.chief_id))


def can_correct(user, inspection) -> bool:
    """Whether the user corrects this inspection (his own office recorded it)."""
    return rules.may_correct(user.role, office_key(user), inspection.office_key)


def rectification_parts(user, rect) -> set[str]:
    """The parts ("chief", "office") the user plays on a rectification; its stored assignees
    (services.rectification_routing) answer it as its chief does."""
    return rules.rectification_parts(
        user.role,
        user.chief_id,
        office_key(user),
        rect.chief_id,
        rect.finding.inspection.office_key,
        assignees={a.chief_id for a in getattr(rect, "assignees", ())},
    )


def reassign_condition(user):
    """SQL condition on Rectification (joined to Finding and Inspection): the ones the user may
    reassign (the same rule as can_reassign, domain.permissions.may_reassign)."""
    if not can(user, rules.REASSIGN_RECTIFICATION):
        return false()
    if is_city_office(user):
        return true()
    parts = [Inspection.office_key == office_key(user)]
    if is_town_office(user) and user.town_id:
        parts.append(Finding.segment_id.in_(select(Segment.id).where(Segment.town_id == user.town_id)))
    return or_(*parts)


def can_reassign(user, rect) -> bool:
    """Whether the user may hand an assignee's part of a rectification to another person."""
    if not getattr(user, "is_authenticated", True):
        return False
    return rules.may_reassign(
        user.role, user.town_id, rect.finding.segment.town_id, office_key(user), rect.finding.inspection.office_key
    )
