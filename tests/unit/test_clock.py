"""The clock module and the UTC column type: conversions, Beijing calendar, naive refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from roadchief.domain import clock
from roadchief.models.base import UTCDateTime

UTC = UTC


def test_to_utc_and_to_beijing_refuse_naive_moments():
    moment = datetime(2026, 11, 30, 20, 0, tzinfo=clock.BEIJING)
    assert clock.to_utc(moment) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert clock.to_utc(moment).tzinfo is UTC
    assert clock.to_beijing(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)).isoformat() == "2026-12-01T00:00:00+08:00"
    assert clock.to_utc(None) is None and clock.format_beijing(None) == ""
    for convert in (clock.to_utc, clock.to_beijing, clock.format_beijing, clock.iso_beijing):
        with pytest.raises(clock.NaiveDatetimeError, match="时区"):
            convert(datetime(2026, 11, 30, 20, 0))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-30T20:00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),  # datetime-local field
        ("2026-11-30 20:00:30", datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC)),
        ("2026-11-30T20:00:00+08:00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ("2026-11-30T12:00:00Z", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ("2026-11-30T07:00:00-05:00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 20, 0), datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),  # naive datetime: Beijing
        ("", None),
        (None, None),
        ("  ", None),
    ],
)
def test_parse_local_reads_naive_input_as_beijing_time(value, expected):
    parsed = clock.parse_local(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


def test_parse_local_names_the_field_in_its_error():
    with pytest.raises(ValueError, match="检查时间格式不正确：30/11/2026"):
        clock.parse_local("30/11/2026 20:00", "检查时间")


def test_beijing_calendar_and_printing(monkeypatch):
    monkeypatch.setattr(clock, "_now", lambda: datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    assert clock.utcnow() == datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert clock.beijing_today() == date(2027, 1, 1)
    assert clock.beijing_date(datetime(2026, 9, 30, 14, 30, tzinfo=UTC)) == date(2026, 9, 30)
    assert clock.beijing_date(datetime(2026, 9, 30, 16, 0, tzinfo=UTC)) == date(2026, 10, 1)
    assert clock.quarter_of(date(2026, 9, 30)) == 3 and clock.quarter_of(date(2026, 10, 1)) == 4
    assert clock.format_beijing(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == "2026-11-30 20:00"
    assert clock.iso_beijing(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == "2026-11-30T20:00:00+08:00"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_utc_column_type_writes_utc_and_reads_aware_utc(dialect):
    column = UTCDateTime()
    bound = column.process_bind_param(datetime(2026, 11, 30, 20, 0, tzinfo=clock.BEIJING), dialect)
    assert bound.replace(tzinfo=None) == datetime(2026, 11, 30, 12, 0)
    assert bound.tzinfo is None if dialect.name == "sqlite" else bound.utcoffset() == timedelta(0)
    read = column.process_result_value(datetime(2026, 11, 30, 12, 0), dialect)  # SQLite hands back naive
    assert read == datetime(2026, 11, 30, 12, 0, tzinfo=UTC) and read.tzinfo is UTC
    pg_read = column.process_result_value(datetime(2026, 11, 30, 20, 0, tzinfo=clock.BEIJING), dialect)
    assert pg_read.tzinfo is UTC and pg_read.hour == 12
    assert column.process_bind_param(None, dialect) is None and column.process_result_value(None, dialect) is None
    with pytest.raises(clock.NaiveDatetimeError):
        column.process_bind_param(datetime(2026, 11, 30, 20, 0), dialect)


def test_every_moment_column_is_utc():
    """All datetime columns of the models use UTCDateTime, except the photos' EXIF times,
    which are the camera's wall clock (no zone known) and are kept and shown as the camera wrote them."""
    from sqlalchemy import DateTime

    import roadchief.models  # noqa: F401
    from roadchief.extensions import db

    camera = {("inspection_photo", "taken_at"), ("public_report", "photo_taken_at")}
    found = []
    for table in db.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, (DateTime, UTCDateTime)):
                found.append((table.name, column.name))
                if (table.name, column.name) in camera or column.name == "taken_at":
                    continue
                assert isinstance(column.type, UTCDateTime), f"{table.name}.{column.name}"
    assert len(found) > 20
