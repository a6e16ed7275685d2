"""Inspections (督查/巡查), their findings, rectifications (整改), photos, the deduction
catalog (扣分标准) and quarter finalisations (第二十条–第二十三条).

Points are integer hundredths of a point (``*_centi``); no float except GPS degrees.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
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

from roadchief.domain.scoring import CATEGORIES, DUTY_PHASES, INSPECTION_KINDS, STATE_LABELS, UNITS, CatalogItem
from roadchief.extensions import db
from roadchief.models.accounts import User
from roadchief.models.base import Audited, Timestamps, UTCDateTime, utcnow
from roadchief.models.chiefs import Chief
from roadchief.models.network import Segment

if TYPE_CHECKING:  # operations imports this module
    from roadchief.models.operations import InspectionAsset

# Area of 青铜峡市 with a margin (as for public reports): a point outside is a typo or a spoof.
LON_RANGE = (105.0, 107.0)
LAT_RANGE = (37.0, 39.0)


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class DeductionCatalog(Audited, db.Model):
    """One version of a year's 扣分标准. Edits make a new version; an inspection keeps
    the version it was scored with. ``is_example`` marks the shipped default until
    the city office confirms it."""

    __tablename__ = "deduction_catalog"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items: Mapped[list[DeductionItem]] = relationship(
        back_populates="catalog", order_by="DeductionItem.position", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("year", "version"),)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def label(self) -> str:
        return f"{self.year} 年第 {self.version} 版"


class DeductionItem(Audited, db.Model):
    __tablename__ = "deduction_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("deduction_catalog.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(String(200))
    points_centi: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(6))
    cap_centi: Mapped[int | None] = mapped_column(Integer)
    category_cap_centi: Mapped[int | None] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(60), default="")
    catalog: Mapped[DeductionCatalog] = relationship(back_populates="items")

    __table_args__ = (
        UniqueConstraint("catalog_id", "code"),
        CheckConstraint(f"category IN ({_in(CATEGORIES)})", name="category"),
        CheckConstraint(f"unit IN ({_in(UNITS)})", name="unit"),
        CheckConstraint("points_centi > 0 AND points_centi <= 10000", name="points"),
    )

    def rule(self) -> CatalogItem:
        return CatalogItem(
            self.code,
            self.category,
            self.text,
            self.points_centi,
            self.unit,
            self.cap_centi,
            self.category_cap_centi,
            self.basis,
        )


class QuarterFinalisation(Audited, db.Model):
    """An office finalised a quarter: its scores went to the funding module and its
    inspections were frozen. ``scope_key``: "city" (镇级/公路站路长) or "town:CODE" (村级路长)."""

    __tablename__ = "quarter_finalisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    scope_key: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    finalised_by: Mapped[str] = mapped_column(String(80))
    finalised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scores_json: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("year", "quarter", "scope_key"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
    )


class Inspection(Audited, Timestamps, db.Model):
    """A 督查 (scored) or a patrol record. ``office_key`` is who inspected, which fixes
    whose score the findings hit (第二十条): "city", "town:CODE" or "chief:ID".
    ``client_uuid`` comes from the field form so a re-submit is idempotent."""

    __tablename__ = "inspection"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    inspector_name: Mapped[str] = mapped_column(String(80))
    office_key: Mapped[str] = mapped_column(String(40), index=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("deduction_catalog.id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    finalisation_id: Mapped[int | None] = mapped_column(ForeignKey("quarter_finalisation.id"))
    # 第十三条 duty sub-type of a 汛期/冬季巡查: 雨前/雨中/雨后, 除雪/撒砂 (None for other kinds,
    # and for records made before the field existed, whose note text is read instead)
    duty_phase: Mapped[str | None] = mapped_column(String(4))

    user: Mapped[User | None] = relationship()
    catalog: Mapped[DeductionCatalog] = relationship()
    segments: Mapped[list[InspectionSegment]] = relationship(back_populates="inspection", cascade="all, delete-orphan")
    findings: Mapped[list[Finding]] = relationship(
        back_populates="inspection", order_by="Finding.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[InspectionPhoto]] = relationship(back_populates="inspection", order_by="InspectionPhoto.id")
    # 路产 looked at (roadchief.models.operations.InspectionAsset; each on one of the segments)
    assets: Mapped[list[InspectionAsset]] = relationship(order_by="InspectionAsset.id")

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(INSPECTION_KINDS)})", name="kind"),
        CheckConstraint(
            "duty_phase IS NULL OR "
            + " OR ".join(f"(kind = '{k}' AND duty_phase IN ({_in(ps)}))" for k, ps in DUTY_PHASES.items()),
            name="duty_phase",
        ),
        CheckConstraint(f"lon IS NULL OR lon BETWEEN {LON_RANGE[0]} AND {LON_RANGE[1]}", name="lon_range"),
        CheckConstraint(f"lat IS NULL OR lat BETWEEN {LAT_RANGE[0]} AND {LAT_RANGE[1]}", name="lat_range"),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="lon_lat_together"),
    )

    @property
    def kind_label(self) -> str:
        return INSPECTION_KINDS[self.kind]


class InspectionSegment(Audited, db.Model):
    """A segment covered by an inspection: the GPS point's distance to it (metres) and the
    chief assessed for it on the inspection day (None for patrol records or a vacant post).
    A 督查 counts as that chief's 督查 of the month even when it found nothing."""

    __tablename__ = "inspection_segment"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    distance_m: Mapped[int | None] = mapped_column(Integer)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"), index=True)
    inspection: Mapped[Inspection] = relationship(back_populates="segments")
    segment: Mapped[Segment] = relationship()
    chief: Mapped[Chief | None] = relationship()

    __table_args__ = (UniqueConstraint("inspection_id", "segment_id"),)


class Finding(Audited, db.Model):
    """A catalog item × quantity on one segment. ``chief_id`` is whose score it hits
    (None for patrol records or when nobody held the post)."""

    __tablename__ = "finding"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("deduction_item.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"), index=True)

    inspection: Mapped[Inspection] = relationship(back_populates="findings")
    segment: Mapped[Segment] = relationship()
    item: Mapped[DeductionItem] = relationship()
    chief: Mapped[Chief | None] = relationship()
    rectification: Mapped[Rectification | None] = relationship(
        back_populates="finding", uselist=False, cascade="all, delete-orphan"
    )
    photos: Mapped[list[InspectionPhoto]] = relationship(
        primaryjoin="and_(InspectionPhoto.finding_id == Finding.id, InspectionPhoto.rectification_id.is_(None))",
        viewonly=True,
        order_by="InspectionPhoto.id",
    )

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity"),)  # 0 only after a correction voids it


class Rectification(Audited, Timestamps, db.Model):
    """整改: opened by each finding, answered by the chief, checked by the inspecting office."""

    __tablename__ = "rectification"
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id"), unique=True)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"), index=True)
    deadline: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    chief_note: Mapped[str] = mapped_column(Text, default="")
    office_note: Mapped[str] = mapped_column(Text, default="")
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    finding: Mapped[Finding] = relationship(back_populates="rectification")
    chief: Mapped[Chief | None] = relationship()
    events: Mapped[list[RectificationEvent]] = relationship(
        back_populates="rectification", order_by="RectificationEvent.id"
    )
    photos: Mapped[list[InspectionPhoto]] = relationship(viewonly=True, order_by="InspectionPhoto.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint(f"state IN ({_in(STATE_LABELS)})", name="state"),)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


class RectificationEvent(db.Model):
    """History of a rectification: each step with who, when, the note and the photo.
    Replaying it gives the state at any month end (整改逾期)."""

    __tablename__ = "rectification_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectification.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")
    rectification: Mapped[Rectification] = relationship(back_populates="events")

    __table_args__ = (CheckConstraint("action IN ('complete', 'verify', 'return')", name="action"),)


class InspectionPhoto(Audited, db.Model):
    """A validated photo stored outside the web root (see services.uploads): of a finding,
    or the after-photo of a rectification."""

    __tablename__ = "inspection_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id"), index=True)
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("rectification.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))
    thumb_path: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)  # EXIF DateTimeOriginal (camera local time)
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # the phone's photo id (receipt)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the stored bytes, answered in the receipt
    inspection: Mapped[Inspection] = relationship(back_populates="photos")
    finding: Mapped[Finding | None] = relationship(foreign_keys=[finding_id])


class InspectionCorrection(db.Model):
    """A change to a finding after its inspection was frozen by a finalised quarter
    (or any later edit): the old and new quantity and why. The finding carries the
    new quantity; re-finalising the quarter writes the scores as a correction."""

    __tablename__ = "inspection_correction"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id"), index=True)
    quantity_before: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finding: Mapped[Finding] = relationship()
