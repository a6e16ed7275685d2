"""路长 and 路段管养责任人, and their dated assignments (第五条、第六条)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.domain.roads import CHIEF_POSITIONS
from roadchief.extensions import db
from roadchief.models.admin import Station, Town, Village
from roadchief.models.base import Audited, Timestamps
from roadchief.models.network import Road, Segment

POSITION_CODES = tuple(p.code for p in CHIEF_POSITIONS)
SCOPE_KINDS = ("city", "town", "village", "station", "road", "segment")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Chief(Audited, Timestamps, db.Model):
    __tablename__ = "chief"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    assignments: Mapped[list[ChiefAssignment]] = relationship(
        back_populates="chief", order_by="ChiefAssignment.start_date"
    )

    __table_args__ = (CheckConstraint(f"position IN ({_in(POSITION_CODES)})", name="position"),)


class ChiefAssignment(Audited, db.Model):
    """A chief answers for a scope from start_date to end_date (inclusive; open when null).

    History is kept, never overwritten, so a chief replaced mid-year stays
    attributable for the months served.
    """

    __tablename__ = "chief_assignment"
    id: Mapped[int] = mapped_column(primary_key=True)
    chief_id: Mapped[int] = mapped_column(ForeignKey("chief.id"), index=True)
    scope_kind: Mapped[str] = mapped_column(String(10))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"), index=True)
    road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"), index=True)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    chief: Mapped[Chief] = relationship(back_populates="assignments")
    town: Mapped[Town | None] = relationship()
    village: Mapped[Village | None] = relationship()
    station: Mapped[Station | None] = relationship()
    road: Mapped[Road | None] = relationship()
    segment: Mapped[Segment | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"scope_kind IN ({_in(SCOPE_KINDS)})", name="scope_kind"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
        CheckConstraint(
            "(scope_kind = 'city' AND town_id IS NULL AND village_id IS NULL AND station_id IS NULL AND road_id IS NULL AND segment_id IS NULL)"
            " OR (scope_kind = 'town' AND town_id IS NOT NULL)"
            " OR (scope_kind = 'village' AND village_id IS NOT NULL)"
            " OR (scope_kind = 'station' AND station_id IS NOT NULL)"
            " OR (scope_kind = 'road' AND road_id IS NOT NULL)"
            " OR (scope_kind = 'segment' AND segment_id IS NOT NULL)",
            name="scope_target",
        ),
    )

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)
