"""Users, their roles and API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.domain.permissions import ROLE_LABELS
from roadchief.extensions import db
from roadchief.models.admin import Town
from roadchief.models.base import Audited, Timestamps, UTCDateTime, utcnow
from roadchief.models.chiefs import Chief

ROLES = ROLE_LABELS


class User(Audited, UserMixin, Timestamps, db.Model):
    __tablename__ = "app_user"
    __audit_exclude__ = ("password_hash", "failed_logins", "locked_until", "last_login_at", "session_epoch")
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"))
    is_active_flag: Mapped[bool] = mapped_column("is_active", Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # in the session cookie at sign-in, checked on every request; bumped on logout, password change and disable
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa.false())

    town: Mapped[Town | None] = relationship()
    chief: Mapped[Chief | None] = relationship()

    __table_args__ = (
        CheckConstraint("role IN ('city_office', 'town_office', 'inspector', 'chief', 'finance')", name="role"),
        CheckConstraint("role != 'town_office' OR town_id IS NOT NULL", name="town_office_has_town"),
        CheckConstraint("role != 'chief' OR chief_id IS NOT NULL", name="chief_has_chief"),
        CheckConstraint("session_epoch >= 0", name="session_epoch"),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.is_active_flag)

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


class ApiToken(Audited, db.Model):
    """Only a SHA-256 digest of the token is stored; the token is shown once. A token works
    until it is revoked or, when it has one, until expires_at."""

    __tablename__ = "api_token"
    __audit_exclude__ = ("token_digest",)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    token_prefix: Mapped[str] = mapped_column(String(16), default="", server_default="", index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("expires_at IS NULL OR expires_at > created_at", name="expiry_after_creation"),
        CheckConstraint("revoked_at IS NULL OR revoked", name="revoked_when"),
    )
