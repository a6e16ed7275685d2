"""Who works on a rectification (整改 assignees, stored explicitly) and the dated history of a
public report (社会监督, 第七条) shown on its tracking page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from roadchief.extensions import db
from roadchief.models.base import Audited, UTCDateTime, utcnow
from roadchief.models.chiefs import Chief
from roadchief.models.inspections import Rectification
from roadchief.models.public import PublicReport

ASSIGNEE_ROLES = {"assessed": "被考核路长", "worker": "整改责任人"}
REPORT_EVENT_ACTIONS = ("submit", "assign", "confirm", "close", "reject", "reply", "merge", "dismiss", "rectified")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class RectificationAssignee(Audited, db.Model):
    """A chief who sees and may answer a rectification: the assessed chief ("assessed") and the
    chiefs who do the work on the segment ("worker": 村级路长, 路段管养责任人), resolved from the
    roster on the inspection date; an office may reassign a row (one with no account, 无账号)."""

    __tablename__ = "rectification_assignee"
    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectification.id"), index=True)
    chief_id: Mapped[int] = mapped_column(ForeignKey("chief.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    position: Mapped[str] = mapped_column(String(20), default="")
    assigned_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chief: Mapped[Chief] = relationship()
    rectification: Mapped[Rectification] = relationship(
        backref=backref("assignees", order_by="RectificationAssignee.id", cascade="all, delete-orphan")
    )

    __table_args__ = (
        UniqueConstraint("rectification_id", "chief_id"),
        CheckConstraint(f"role IN ({_in(ASSIGNEE_ROLES)})", name="role"),
    )

    @property
    def role_label(self) -> str:
        return ASSIGNEE_ROLES[self.role]


class PublicReportEvent(db.Model):
    """One dated step of a public report (submitted, forwarded, confirmed, closed …), shown on the
    public tracking page; ``note`` is the public text of that step (never the reporter's phone)."""

    __tablename__ = "public_report_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("public_report.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(80), default="")
    user_id: Mapped[int | None] = mapped_column(Integer)

    report: Mapped[PublicReport] = relationship(
        backref=backref("events", order_by="PublicReportEvent.id", cascade="all, delete-orphan")
    )

    __table_args__ = (CheckConstraint(f"action IN ({_in(REPORT_EVENT_ACTIONS)})", name="action"),)
