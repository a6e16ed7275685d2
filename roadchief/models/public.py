"""Public reports (社会监督, 第七条): a problem reported by anyone from a 公示牌 page,
tracked as a ticket for the responsible 路长 through to closure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.extensions import db
from roadchief.models.base import Audited, Timestamps, UTCDateTime
from roadchief.models.chiefs import Chief
from roadchief.models.network import Road, Segment

REPORT_CATEGORIES = ("路面破损", "路基塌陷", "桥涵", "交安设施", "路域环境", "占道晒粮堆物", "积雪结冰", "其他")
REPORT_STATUSES = {
    "received": "已受理",
    "assigned": "已转办",
    "confirmed": "已确认（转整改）",
    "closed": "已办结",
    "rejected": "不予受理",
}
DUPLICATE_STATES = {"suspected": "疑似重复", "merged": "已合并", "dismissed": "非重复"}
REPORT_TEXT_MAX = 500
NOTE_MAX = 1000

# Area of 青铜峡市 with a margin; a location outside it is a typo or a spoof.
LON_RANGE = (105.0, 107.0)
LAT_RANGE = (37.0, 39.0)


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class PublicReport(Audited, Timestamps, db.Model):
    __tablename__ = "public_report"
    # the reporter's phone and the IP digest never reach the audit log's readers either
    __audit_exclude__ = ("reporter_phone", "ip_hash")

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"), index=True)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"), index=True)  # the segment's town: office scope
    category: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    photo_path: Mapped[str | None] = mapped_column(String(200))  # relative to UPLOAD_DIR
    photo_thumb_path: Mapped[str | None] = mapped_column(String(200))
    photo_taken_at: Mapped[datetime | None] = mapped_column(DateTime)  # EXIF DateTimeOriginal (camera local time)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    reporter_phone: Mapped[str | None] = mapped_column(String(20))  # private: offices only
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)
    assigned_chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"), index=True)
    office_note: Mapped[str | None] = mapped_column(Text)  # the reply shown on the public status page
    chief_reply: Mapped[str | None] = mapped_column(Text)  # the assigned chief's note, offices only
    rectification_ref: Mapped[str | None] = mapped_column(String(40))
    # confirming creates the 整改 (services.report_routing); a report near an open one is a
    # possible duplicate of it (services.report_duplicates): suspected → merged or dismissed
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("rectification.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("public_report.id"), index=True)
    duplicate_state: Mapped[str | None] = mapped_column(String(10))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip_hash: Mapped[str] = mapped_column(String(64), index=True)

    road: Mapped[Road] = relationship()
    segment: Mapped[Segment | None] = relationship()
    assigned_chief: Mapped[Chief | None] = relationship()
    duplicate_of: Mapped[PublicReport | None] = relationship(remote_side="PublicReport.id")

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(REPORT_STATUSES)})", name="status"),
        CheckConstraint(f"category IN ({_in(REPORT_CATEGORIES)})", name="category"),
        CheckConstraint(f"length(text) BETWEEN 1 AND {REPORT_TEXT_MAX}", name="text_length"),
        CheckConstraint(f"lon IS NULL OR lon BETWEEN {LON_RANGE[0]} AND {LON_RANGE[1]}", name="lon_range"),
        CheckConstraint(f"lat IS NULL OR lat BETWEEN {LAT_RANGE[0]} AND {LAT_RANGE[1]}", name="lat_range"),
        CheckConstraint("(lon IS NULL) = (lat IS NULL)", name="lon_lat_together"),
        CheckConstraint(
            f"duplicate_state IS NULL OR duplicate_state IN ({_in(DUPLICATE_STATES)})", name="duplicate_state"
        ),
        CheckConstraint("(duplicate_state IS NULL) = (duplicate_of_id IS NULL)", name="duplicate_pair"),
    )

    @property
    def status_label(self) -> str:
        return REPORT_STATUSES[self.status]
