"""Patrol tracks (巡查轨迹, 第二十二条 手机APP), the segments each covers, and the year's
proof-of-patrol rules (domain.patrol_proof).

A track's fixes are stored as JSON text ``[[lon, lat, t], …]`` (t: whole seconds since the
epoch, UTC), like the register's GeoJSON geometry: no spatial extension on either database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.domain.patrol_proof import DEFAULT_RULES, RULE_LIMITS
from roadchief.domain.scoring import DUTY_PHASES
from roadchief.extensions import db
from roadchief.models.accounts import User
from roadchief.models.base import Audited, UTCDateTime, utcnow
from roadchief.models.chiefs import Chief
from roadchief.models.network import Segment

PATROL_KINDS = {"daily": "日常巡查", "flood": "汛期巡查", "winter": "冬季巡查", "emergency": "应急巡查"}
SOURCES = ("app", "gpx", "api")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class PatrolTrack(Audited, db.Model):
    __tablename__ = "patrol_track"
    __audit_exclude__ = ("points_json",)  # the fixes never change; the metrics are logged
    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"), index=True)
    patroller_name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(12), default="daily")
    duty_phase: Mapped[str | None] = mapped_column(String(4))
    source: Mapped[str] = mapped_column(String(8), default="app")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    points_json: Mapped[str] = mapped_column(Text)
    point_count: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[int] = mapped_column(Integer)
    fast_m: Mapped[int] = mapped_column(Integer, default=0)
    max_speed_kmh: Mapped[int] = mapped_column(Integer, default=0)
    gap_count: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[str] = mapped_column(String(120), default="")  # comma-separated keys of FLAG_LABELS
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_year: Mapped[int] = mapped_column(Integer)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()
    chief: Mapped[Chief | None] = relationship()
    segments: Mapped[list[PatrolTrackSegment]] = relationship(
        back_populates="track", cascade="all, delete-orphan", order_by="PatrolTrackSegment.id"
    )

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(PATROL_KINDS)})", name="kind"),
        CheckConstraint(f"source IN ({_in(SOURCES)})", name="source"),
        CheckConstraint(
            "duty_phase IS NULL OR "
            + " OR ".join(f"(kind = '{k}' AND duty_phase IN ({_in(ps)}))" for k, ps in DUTY_PHASES.items()),
            name="duty_phase",
        ),
        CheckConstraint("ended_at >= started_at", name="time_order"),
        CheckConstraint("point_count >= 2", name="points"),
        CheckConstraint("duration_s >= 0 AND length_m >= 0 AND fast_m >= 0 AND gap_count >= 0", name="metrics"),
    )

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]

    @property
    def kind_label(self) -> str:
        return PATROL_KINDS[self.kind]

    def best_segments(self, count: int = 3) -> list[PatrolTrackSegment]:
        """The segments it covered most (for lists; a crossing road is touched for a few metres)."""
        return sorted(self.segments, key=lambda s: (-s.coverage_permille, -s.passed_m, s.id))[:count]


class PatrolTrackSegment(Audited, db.Model):
    """One segment a track came near: its length, the part covered (slow legs within the
    buffer) and the part only driven past, in metres; coverage in permille."""

    __tablename__ = "patrol_track_segment"
    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("patrol_track.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    segment_m: Mapped[int] = mapped_column(Integer)
    covered_m: Mapped[int] = mapped_column(Integer)
    passed_m: Mapped[int] = mapped_column(Integer, default=0)
    coverage_permille: Mapped[int] = mapped_column(Integer)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    driven_past: Mapped[bool] = mapped_column(Boolean, default=False)

    track: Mapped[PatrolTrack] = relationship(back_populates="segments")
    segment: Mapped[Segment] = relationship()

    __table_args__ = (
        UniqueConstraint("track_id", "segment_id"),
        CheckConstraint("coverage_permille BETWEEN 0 AND 1000", name="coverage"),
        CheckConstraint("covered_m >= 0 AND passed_m >= 0 AND segment_m >= 0", name="metres"),
    )

    @property
    def coverage_pct(self) -> str:
        return f"{self.coverage_permille / 10:.1f}"


def _rule_checks() -> tuple[CheckConstraint, ...]:
    return tuple(
        CheckConstraint(f"{name} BETWEEN {low} AND {high}", name=name) for name, (low, high, _) in RULE_LIMITS.items()
    )


class PatrolRule(Audited, db.Model):
    """The proof-of-patrol thresholds the office set for a year (defaults: DEFAULT_RULES)."""

    __tablename__ = "patrol_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    min_duration_s: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.min_duration_s)
    min_length_m: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.min_length_m)
    coverage_pct: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.coverage_pct)
    buffer_m: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.buffer_m)
    max_speed_kmh: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.max_speed_kmh)
    max_gap_s: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.max_gap_s)
    max_jump_m: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.max_jump_m)
    desk_distance_m: Mapped[int] = mapped_column(Integer, default=DEFAULT_RULES.desk_distance_m)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = _rule_checks()
