"""Operations: disruption events (第十四条), seasonal duty windows and emergency stock
(第十三条), road assets (路产, 第十一条) and the annual maintenance plan (第七条).

Money is integer fen, quantities integers; no float except GPS degrees.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.domain.events import KINDS, SEVERITIES, STAGES, STATES
from roadchief.extensions import db
from roadchief.models.admin import Town
from roadchief.models.base import Audited, Timestamps, UTCDateTime, utcnow
from roadchief.models.network import Road, Segment

ASSET_KINDS = {
    "bridge": "桥梁",
    "culvert": "涵洞",
    "sign": "标志牌",
    "warning_post": "示警桩",
    "crash_pier": "防撞墩",
    "milestone": "里程碑",
    "trees": "行道树/绿化带",
}
ASSET_CONDITIONS = {"good": "良好", "fair": "一般", "poor": "较差", "damaged": "损坏"}
WINDOW_KINDS = {"flood": "汛期", "winter": "冬季"}
WORK_CATEGORIES = {"repair": "修复", "preventive": "预防", "emergency": "应急"}


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class RoadEvent(Audited, Timestamps, db.Model):
    """A disruption on a segment, handled 先抢通，后修复 (see roadchief.domain.events)."""

    __tablename__ = "road_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(10), default="reported", index=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)  # 交通中断
    stake_m: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    repaired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(Text, default="")
    warning_sign: Mapped[str] = mapped_column(Text, default="")  # 警示标志: what was set, where
    detour: Mapped[str] = mapped_column(Text, default="")  # 绕行路线 as text
    detour_geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON LineString drawn on the map
    detour_road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"))
    reported_by: Mapped[str] = mapped_column(String(80), default="")
    restored_by: Mapped[str] = mapped_column(String(80), default="")
    repaired_by: Mapped[str] = mapped_column(String(80), default="")
    restore_note: Mapped[str] = mapped_column(Text, default="")
    repair_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The field form's client id (issue #14: an offline submission sent again is stored once)
    # and who sent it (only that user's repeat returns this event).
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    client_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    segment: Mapped[Segment] = relationship()
    detour_road: Mapped[Road | None] = relationship()
    photos: Mapped[list[RoadEventPhoto]] = relationship(back_populates="event", order_by="RoadEventPhoto.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind"),
        CheckConstraint(f"severity IN ({_in(SEVERITIES)})", name="severity"),
        CheckConstraint(f"state IN ({_in(STATES)})", name="state"),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="lon_lat_together"),
        CheckConstraint("state = 'reported' OR restored_at IS NOT NULL", name="restored_time"),
        CheckConstraint("state != 'repaired' OR repaired_at IS NOT NULL", name="repaired_time"),
    )

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def severity_label(self) -> str:
        return SEVERITIES[self.severity]

    @property
    def state_label(self) -> str:
        return STATES[self.state]

    @property
    def interrupted(self) -> bool:
        return self.closed and self.state == "reported"


class RoadEventPhoto(db.Model):
    __tablename__ = "road_event_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("road_event.id"), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    thumb_path: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)  # EXIF DateTimeOriginal (camera wall clock, no zone)
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[RoadEvent] = relationship(back_populates="photos")

    __table_args__ = (CheckConstraint(f"stage IN ({_in(STAGES)})", name="stage"),)


class SeasonWindow(Audited, db.Model):
    """A flood-season (汛期) or winter (冬季) window of a year. During it every listed
    segment in ``town_id`` (all towns when null) needs the duty records of the season
    in each period of ``period_days`` (the whole window when null)."""

    __tablename__ = "season_window"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    period_days: Mapped[int | None] = mapped_column(Integer)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    town: Mapped[Town | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(WINDOW_KINDS)})", name="kind"),
        CheckConstraint("end_date >= start_date", name="dates"),
        CheckConstraint("period_days IS NULL OR period_days > 0", name="period"),
    )

    @property
    def kind_label(self) -> str:
        return WINDOW_KINDS[self.kind]


class EmergencyStock(Audited, Timestamps, db.Model):
    """应急物资储备 of a town: sand, salt, machines… with a whole-number quantity."""

    __tablename__ = "emergency_stock"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    item: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    town: Mapped[Town] = relationship()

    __table_args__ = (UniqueConstraint("town_id", "item"), CheckConstraint("quantity >= 0", name="quantity"))


class RoadAsset(Audited, Timestamps, db.Model):
    """路产: a point (bridge, sign, milestone…) or line (trees, crash piers) asset on a segment."""

    __tablename__ = "road_asset"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    stake_m: Mapped[int | None] = mapped_column(Integer)
    end_stake_m: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(8), default="good")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Point or LineString, lon/lat
    lon: Mapped[float] = mapped_column(Float)  # a representative point, for the map
    lat: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    segment: Mapped[Segment] = relationship()
    photos: Mapped[list[RoadAssetPhoto]] = relationship(back_populates="asset", order_by="RoadAssetPhoto.id")

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(ASSET_KINDS)})", name="kind"),
        CheckConstraint(f"condition IN ({_in(ASSET_CONDITIONS)})", name="condition"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("end_stake_m IS NULL OR stake_m IS NULL OR end_stake_m >= stake_m", name="stakes"),
    )

    @property
    def kind_label(self) -> str:
        return ASSET_KINDS[self.kind]

    @property
    def condition_label(self) -> str:
        return ASSET_CONDITIONS[self.condition]


class RoadAssetPhoto(db.Model):
    __tablename__ = "road_asset_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("road_asset.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))
    thumb_path: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)  # EXIF DateTimeOriginal (camera wall clock, no zone)
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    asset: Mapped[RoadAsset] = relationship(back_populates="photos")


class InspectionAsset(Audited, db.Model):
    """An inspection that looked at an asset (e.g. a bridge inspection)."""

    __tablename__ = "inspection_asset"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("road_asset.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    asset: Mapped[RoadAsset] = relationship()

    __table_args__ = (UniqueConstraint("inspection_id", "asset_id"),)


class WorksPlanItem(Audited, Timestamps, db.Model):
    """One planned work of the 年度养护计划 on a segment, with quantity and budget (fen)."""

    __tablename__ = "works_plan_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    category: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(BigInteger)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    segment: Mapped[Segment] = relationship()
    progress: Mapped[list[WorksProgress]] = relationship(back_populates="item", order_by="WorksProgress.id")

    __table_args__ = (
        CheckConstraint(f"category IN ({_in(WORK_CATEGORIES)})", name="category"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("budget_fen >= 0", name="budget"),
    )

    @property
    def category_label(self) -> str:
        return WORK_CATEGORIES[self.category]

    @property
    def done_quantity(self) -> int:
        return sum(p.quantity for p in self.progress)

    @property
    def spent_fen(self) -> int:
        return sum(p.spent_fen for p in self.progress)


class WorksProgress(Audited, db.Model):
    """Progress recorded on a plan item: quantity done and money spent (fen) on a day."""

    __tablename__ = "works_progress"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("works_plan_item.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(BigInteger)
    spent_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    item: Mapped[WorksPlanItem] = relationship(back_populates="progress")

    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("spent_fen >= 0", name="spent"),
    )
