"""Who inspects whom and who may read what: the assessing office of a user, whose score a
finding hits and who must fix it, and the read conditions on inspections and rectifications.

Who inspects decides whose score a finding hits (第二十条), kept as the inspection's
``office_key``:

* "city" — 市级路长办公室 (city_office, or an inspector without a town): assesses the
  镇级路长 of the segment's town, or the 公路站路长 when a station holds the segment;
* "town:CODE" — a 镇级路长办公室 (town_office, or an inspector of that town): assesses
  the 村级路长 of the segment's village;
* "chief:ID" — a chief's own record. A 村级路长's 督查 assesses the 路段管养责任人
  (保洁员/公益性岗位/统筹聘用) of the segment; other records are patrols (日常/汛期/冬季…),
  evidence of duty, not scored, whose findings the chief fixes and closes himself.

The chief is resolved on the inspection's (Beijing) date, so a chief replaced mid-month
answers for the days he served.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.orm import selectinload

from roadchief.domain.scoring import INSPECTION_KINDS, SCORED_KINDS
from roadchief.extensions import db
from roadchief.models import Chief, Segment, Town
from roadchief.models.inspections import Finding, Inspection, InspectionSegment, Rectification
from roadchief.models.routing import RectificationAssignee
from roadchief.services import permissions
from roadchief.services.chiefs import AssignmentIndex
from roadchief.services.permissions import chief_segment_condition, office_key, segment_condition

MAINTAINER_POSITIONS = ("cleaner", "public_welfare", "hired")


def aware(moment: datetime | None) -> datetime | None:
    """A moment from the database is aware UTC (models.base.UTCDateTime); this only keeps
    old callers that pass naive UTC ``now`` values working."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


# ================================================================== offices and scope


def office_label(key: str) -> str:
    kind, _, code = key.partition(":")
    if kind == "city":
        return "市级路长办公室"
    if kind == "town":
        town = db.session.scalar(select(Town).where(Town.code == code))
        return f"{town.name if town else code}路长办公室"
    chief = db.session.get(Chief, int(code)) if code.isdigit() else None
    return chief.name if chief else key


def recordable_kinds(user) -> dict[str, str]:
    """Offices record every kind; chiefs record patrols, and a 村级路长 also 督查s the
    路段管养责任人 (第二十条); finance records nothing."""
    if permissions.records_every_kind(user):
        return dict(INSPECTION_KINDS)
    if permissions.record_scope(user) == "chief":
        kinds = {k: v for k, v in INSPECTION_KINDS.items() if k not in SCORED_KINDS}
        if user.chief.position == "village":
            kinds = {"supervision": "督查（管养责任人）", **kinds}
        return kinds
    return {}


def record_condition(user, day: date):
    """Segments a user may record an inspection on: the town's for a town office or
    inspector, the chief's own for a chief, everything for the city office."""
    scope = permissions.record_scope(user)
    if scope == "chief":
        return chief_segment_condition(user.chief_id, day)
    if scope == "segments":
        return segment_condition(user, day)
    return false()


def _chiefs_in(index: AssignmentIndex, kind: str, target: int | None, positions) -> list[Chief]:
    if target is None:
        return []
    return sorted(
        (a.chief for a in index.by_scope.get((kind, target), ()) if a.chief.position in positions), key=lambda c: c.id
    )


def assessed_chief(index: AssignmentIndex, segment: Segment, key: str) -> Chief | None:
    """Whose score a 督查 finding on this segment hits, on the index's day (第二十条)."""
    kind = key.partition(":")[0]
    if kind == "city":
        found = _chiefs_in(index, "station", segment.station_id, ("station",)) or _chiefs_in(
            index, "town", segment.town_id, ("town",)
        )
    elif kind == "town":
        found = _chiefs_in(index, "village", segment.village_id, ("village",))
    else:
        found = sorted(
            (c.chief for c in index.chiefs_for(segment) if c.position in MAINTAINER_POSITIONS), key=lambda c: c.id
        )
    return found[0] if found else None


def assignee_for(index: AssignmentIndex, segment: Segment, key: str, assessed: Chief | None) -> Chief | None:
    """Who must fix a finding: the assessed chief; for a chief's own record, that chief;
    when the post is vacant, the 村级/镇级/公路站路长 found on the segment."""
    if assessed is not None:
        return assessed
    if key.startswith("chief:"):
        return db.session.get(Chief, int(key.partition(":")[2]))
    for kind, target, position in (
        ("village", segment.village_id, "village"),
        ("town", segment.town_id, "town"),
        ("station", segment.station_id, "station"),
    ):
        found = _chiefs_in(index, kind, target, (position,))
        if found:
            return found[0]
    return None


# ================================================================== who sees what


def inspection_condition(user):
    """SQL condition on Inspection for what a user may read."""
    scope = permissions.inspection_read_scope(user)
    if scope == "all":
        return true()
    if scope == "town":
        in_town = exists().where(
            InspectionSegment.inspection_id == Inspection.id,
            InspectionSegment.segment_id == Segment.id,
            Segment.town_id == user.town_id,
        )
        return or_(Inspection.office_key == office_key(user), in_town)
    if scope == "chief":
        mine = exists().where(
            Finding.inspection_id == Inspection.id,
            Finding.id == Rectification.finding_id,
            or_(
                Rectification.chief_id == user.chief_id,
                Finding.chief_id == user.chief_id,
                Rectification.id.in_(_assigned_to(user.chief_id)),
            ),
        )
        assessed = exists().where(
            InspectionSegment.inspection_id == Inspection.id, InspectionSegment.chief_id == user.chief_id
        )
        return or_(Inspection.user_id == user.id, mine, assessed)
    return false()


def can_see_inspection(user, inspection: Inspection) -> bool:
    return bool(
        db.session.scalar(select(Inspection.id).where(Inspection.id == inspection.id, inspection_condition(user)))
    )


def rectification_condition(user):
    """SQL condition on Rectification (joined to Finding and Inspection)."""
    scope = permissions.inspection_read_scope(user)
    if scope == "all":
        return true()
    if scope == "town":
        in_town = exists().where(Segment.id == Finding.segment_id, Segment.town_id == user.town_id)
        return or_(Inspection.office_key == office_key(user), in_town)
    if scope == "chief":
        return or_(
            Rectification.chief_id == user.chief_id,
            Inspection.office_key == office_key(user),
            Rectification.id.in_(_assigned_to(user.chief_id)),
        )
    return false()


def _assigned_to(chief_id: int):
    """Rectifications a chief is a stored assignee of (the chiefs who do the work, services.rectification_routing)."""
    return select(RectificationAssignee.rectification_id).where(RectificationAssignee.chief_id == chief_id)


def _rectification_query(user):
    return (
        select(Rectification)
        .join(Finding, Rectification.finding_id == Finding.id)
        .join(Inspection, Finding.inspection_id == Inspection.id)
        .where(rectification_condition(user))
        .options(
            selectinload(Rectification.finding).selectinload(Finding.item),
            selectinload(Rectification.finding).selectinload(Finding.segment).selectinload(Segment.road),
            selectinload(Rectification.finding).selectinload(Finding.inspection),
            selectinload(Rectification.chief),
            selectinload(Rectification.assignees).selectinload(RectificationAssignee.chief),
        )
    )


def can_see_rectification(user, rect: Rectification) -> bool:
    return bool(
        db.session.scalar(
            _rectification_query(user).with_only_columns(Rectification.id).where(Rectification.id == rect.id)
        )
    )
