"""What part of the register a user may see (roles and scopes)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import false, or_, select, true

from roadchief.domain.clock import beijing_today
from roadchief.extensions import db
from roadchief.models import ChiefAssignment, Segment

SEE_ALL = ("city_office", "finance")


def segment_condition(user, day: date | None = None):
    """A SQL condition on Segment limiting rows to the user's scope."""
    if user.role in SEE_ALL:
        return true()
    if user.role in ("town_office", "inspector"):
        return Segment.town_id == user.town_id if user.town_id else (true() if user.role == "inspector" else false())
    if user.role == "chief" and user.chief_id:
        return chief_segment_condition(user.chief_id, day or beijing_today())
    return false()


def chief_segment_condition(chief_id: int, day: date):
    active = [a for a in db.session.scalars(select(ChiefAssignment).where(ChiefAssignment.chief_id == chief_id))
              if a.active_on(day)]
    parts = []
    for a in active:
        if a.scope_kind == "city":
            return true()
        column = {"town": Segment.town_id, "village": Segment.village_id, "station": Segment.station_id,
                  "road": Segment.road_id, "segment": Segment.id}[a.scope_kind]
        target = {"town": a.town_id, "village": a.village_id, "station": a.station_id,
                  "road": a.road_id, "segment": a.segment_id}[a.scope_kind]
        parts.append(column == target)
    return or_(*parts) if parts else false()


def can_see_segment(user, segment: Segment) -> bool:
    return bool(db.session.scalar(select(Segment.id).where(Segment.id == segment.id, segment_condition(user))))


def can_see_town(user, town_id: int) -> bool:
    if user.role in SEE_ALL:
        return True
    if user.role in ("town_office", "inspector"):
        return user.town_id is None and user.role == "inspector" or user.town_id == town_id
    return False
