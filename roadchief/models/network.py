"""The road register: roads, their segments (stake ranges) and dated mileage versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.extensions import db
from roadchief.models.admin import Station, Town, Village
from roadchief.models.base import Audited, Timestamps

M_PER_KM = Decimal(1000)


class Road(Audited, Timestamps, db.Model):
    __tablename__ = "road"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    road_class: Mapped[str] = mapped_column(String(8))
    segments: Mapped[list[Segment]] = relationship(back_populates="road", order_by="Segment.start_m")

    __table_args__ = (CheckConstraint("road_class IN ('市道', '镇道', '村道', '专用公路')", name="road_class"),)


class Segment(Audited, Timestamps, db.Model):
    """One stake range of a road. Stakes and listed length are whole metres (exact)."""

    __tablename__ = "segment"
    __audit_exclude__ = ("geometry_mid", "geometry_low")  # derived from geometry, which is logged
    id: Mapped[int] = mapped_column(primary_key=True)
    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"))  # indexed first in the unique key below
    start_m: Mapped[int] = mapped_column(Integer)
    end_m: Mapped[int] = mapped_column(Integer)
    listed_m: Mapped[int] = mapped_column(BigInteger)  # 列养里程 in metres = km with 3 decimals
    is_listed: Mapped[bool] = mapped_column(Boolean, default=True)
    tech_grade: Mapped[str | None] = mapped_column(String(8))
    surface: Mapped[str | None] = mapped_column(String(8))
    width_dm: Mapped[int | None] = mapped_column(Integer)  # decimetres
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"), index=True)
    # GeoJSON geometry in lon/lat; simplified copies per zoom band are made at import
    # so the map never simplifies per request.
    geometry: Mapped[str] = mapped_column(Text)
    geometry_mid: Mapped[str] = mapped_column(Text)
    geometry_low: Mapped[str] = mapped_column(Text)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    measured_m: Mapped[int] = mapped_column(BigInteger)  # geometry length in EPSG:4544
    version: Mapped[int] = mapped_column(Integer, default=1)

    road: Mapped[Road] = relationship(back_populates="segments")
    town: Mapped[Town] = relationship()
    village: Mapped[Village | None] = relationship()
    station: Mapped[Station | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("end_m > start_m", name="stake_order"),
        CheckConstraint("start_m >= 0", name="stake_positive"),
        CheckConstraint("listed_m > 0", name="listed_positive"),
        UniqueConstraint("road_id", "start_m", "end_m"),
    )

    @property
    def listed_km(self) -> Decimal:
        return (Decimal(self.listed_m) / M_PER_KM).quantize(Decimal("0.001"))

    @property
    def measured_km(self) -> Decimal:
        return (Decimal(self.measured_m) / M_PER_KM).quantize(Decimal("0.001"))

    @property
    def road_class(self) -> str:
        return self.road.road_class


class MileageVersion(Audited, db.Model):
    """列养里程 is re-set every two years (第十五条); a year's funding uses the version in force then."""

    __tablename__ = "mileage_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    note: Mapped[str | None] = mapped_column(Text)


class SegmentMileage(db.Model):
    """One segment in a mileage version: a complete snapshot row holding the class and
    the paying unit (town, village, station) in force from the version's date, so a past
    year's plan never reads the segment's current attributes (第十五条, 第七条)."""

    __tablename__ = "segment_mileage"
    id: Mapped[int] = mapped_column(primary_key=True)
    # indexed first in the unique key below (version_id, segment_id)
    version_id: Mapped[int] = mapped_column(ForeignKey("mileage_version.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    road_class: Mapped[str] = mapped_column(String(8))
    # Not indexed: a version is read whole and grouped by its paying unit (migration 0021).
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    listed_m: Mapped[int] = mapped_column(BigInteger)
    is_listed: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("version_id", "segment_id"),
        CheckConstraint("listed_m > 0", name="listed_positive"),
        CheckConstraint("road_class IN ('市道', '镇道', '村道', '专用公路')", name="road_class"),
    )
