from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from roadchief.domain.clock import UTC, NaiveDatetimeError, to_utc, utcnow  # noqa: F401  (utcnow re-exported)


class UTCDateTime(TypeDecorator):
    """A moment stored as UTC on every database, read back as an aware UTC datetime.

    SQLite keeps no offset (an aware value used to be written as its wall-clock time and
    read back as UTC); PostgreSQL's ``timestamptz`` returns the session's zone. Both now
    get UTC on write and give aware UTC on read. Naive values are refused: where a naive
    time means Beijing time (form input) the caller converts it first (domain.clock).
    The storage type is unchanged (``DateTime(timezone=True)``), so no migration."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"需要 datetime，得到 {type(value).__name__}")
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text (e.g. through a text() query)
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_literal_param(self, value, dialect):
        return self.process_bind_param(value, dialect)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Audited:
    """Marker: every insert, update and delete of this table lands in the audit log."""

    __audited__ = True
