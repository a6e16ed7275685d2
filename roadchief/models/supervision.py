"""Deadline rules per year, 督办 escalations of overdue rectifications, and the notification outbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.domain.deadlines import LEVEL_LABELS
from roadchief.domain.notifications import AUDIENCE_LABELS, CHANNEL_LABELS, EVENT_LABELS
from roadchief.extensions import db
from roadchief.models.accounts import User
from roadchief.models.base import Audited, UTCDateTime, utcnow
from roadchief.models.inspections import Rectification


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class DeadlineRuleSet(Audited, db.Model):
    """A year's 整改期限 parameters (domain.deadlines.DeadlineRules), set by the city office."""

    __tablename__ = "deadline_rule_set"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    general_days: Mapped[int] = mapped_column(Integer)
    major_days: Mapped[int] = mapped_column(Integer)
    serious_days: Mapped[int] = mapped_column(Integer)
    emergency_days: Mapped[int] = mapped_column(Integer)
    major_points_centi: Mapped[int] = mapped_column(Integer)
    serious_points_centi: Mapped[int] = mapped_column(Integer)
    escalation_days: Mapped[int] = mapped_column(Integer)
    near_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    items: Mapped[list[DeadlineItemRule]] = relationship(
        back_populates="rule_set", order_by="DeadlineItemRule.code", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint(
            "general_days BETWEEN 1 AND 365 AND major_days BETWEEN 1 AND 365 AND serious_days BETWEEN 1 AND 365"
            " AND emergency_days BETWEEN 1 AND 365 AND escalation_days BETWEEN 1 AND 365",
            name="days",
        ),
        CheckConstraint("near_days BETWEEN 0 AND 30", name="near_days"),
        CheckConstraint("major_points_centi > 0 AND major_points_centi <= serious_points_centi", name="points"),
    )


class DeadlineItemRule(Audited, db.Model):
    """Days for one deduction item (by catalog code), overriding its severity's."""

    __tablename__ = "deadline_item_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("deadline_rule_set.id"), index=True)
    code: Mapped[str] = mapped_column(String(12))
    days: Mapped[int] = mapped_column(Integer)
    rule_set: Mapped[DeadlineRuleSet] = relationship(back_populates="items")

    __table_args__ = (
        UniqueConstraint("rule_set_id", "code"),
        CheckConstraint("days BETWEEN 1 AND 365", name="days"),
    )


class RectificationEscalation(Audited, db.Model):
    """One 督办 of an overdue rectification to the next level's office (append-only). The
    unique (rectification, level) makes escalating twice impossible; the 督办通知书 number
    (青路督〔year〕N号) is unique and sequential per year."""

    __tablename__ = "rectification_escalation"
    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectification.id"), index=True)
    level: Mapped[str] = mapped_column(String(10))
    office_key: Mapped[str] = mapped_column(String(40), index=True)  # "city" or "town:CODE"
    office_name: Mapped[str] = mapped_column(String(80))
    escalated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    previous_deadline: Mapped[date] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)
    notice_year: Mapped[int] = mapped_column(Integer)
    notice_seq: Mapped[int] = mapped_column(Integer)
    notice_number: Mapped[str] = mapped_column(String(40), unique=True)
    chief_name: Mapped[str] = mapped_column(String(40), default="")
    rectification: Mapped[Rectification] = relationship()

    __table_args__ = (
        UniqueConstraint("rectification_id", "level"),
        UniqueConstraint("notice_year", "notice_seq"),
        CheckConstraint(f"level IN ({_in(k for k in LEVEL_LABELS if k != 'chief')})", name="level"),
        CheckConstraint("notice_seq >= 1", name="notice_seq"),
        CheckConstraint("new_deadline >= previous_deadline", name="deadline"),
    )

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]


class NotificationRule(Audited, db.Model):
    """Who gets what: an (event, audience) pair and an extra channel ("inapp" alone means in-app only).
    No rows at all means the defaults of domain.notifications."""

    __tablename__ = "notification_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(20))
    audience: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        UniqueConstraint("event", "audience", "channel"),
        CheckConstraint(f"event IN ({_in(EVENT_LABELS)})", name="event"),
        CheckConstraint(f"audience IN ({_in(AUDIENCE_LABELS)})", name="audience"),
        CheckConstraint(f"channel IN ({_in(CHANNEL_LABELS)})", name="channel"),
    )


class NotificationContact(Audited, db.Model):
    """A user's e-mail address and mobile number for notices (the chief's phone is used when empty)."""

    __tablename__ = "notification_contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), unique=True)
    email: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")


class NotificationOutbox(db.Model):
    """One notice to one person on one channel. ``dedupe_key`` is unique: the same event never
    sends twice. Failed sends are retried at ``next_attempt_at`` (None once given up or sent)."""

    __tablename__ = "notification_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(120), default="")
    template_key: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"channel IN ({_in(CHANNEL_LABELS)})", name="channel"),
        CheckConstraint(f"template_key IN ({_in(EVENT_LABELS)})", name="template_key"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("user_id IS NOT NULL OR chief_id IS NOT NULL", name="recipient"),
    )
