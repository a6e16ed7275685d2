"""Time: every moment is stored and computed in UTC, read and printed in Beijing time.

Rules (README "Time"):

* a moment (an aware ``datetime``) is stored as UTC on every database;
* what people type (web forms, naive API values, EXIF times) is Beijing time (Asia/Shanghai);
* calendar days, months and quarters are taken in Beijing time (the 青铜峡 office calendar),
  never the host's time zone, so ``TZ`` of the server process does not matter;
* everything shown or printed is Beijing time; JSON carries ISO 8601 with ``+08:00``.

Pure: no Flask or database imports. Tests freeze the clock by monkeypatching ``_now``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import overload
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
MINUTE = "%Y-%m-%d %H:%M"
FORM_INPUT = "%Y-%m-%dT%H:%M"  # the value format of <input type="datetime-local">


class NaiveDatetimeError(ValueError):
    """A moment without a time zone reached a place that cannot guess it."""


def _now() -> datetime:
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return _now().astimezone(UTC)


def beijing_now() -> datetime:
    """Now, aware, in Beijing time."""
    return utcnow().astimezone(BEIJING)


def beijing_today() -> date:
    """Today's date in Beijing (not the host's date)."""
    return beijing_now().date()


@overload
def to_utc(moment: datetime) -> datetime: ...
@overload
def to_utc(moment: None) -> None: ...
def to_utc(moment: datetime | None) -> datetime | None:
    """An aware moment in UTC; a naive one is refused (its zone cannot be known here)."""
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(f"时间缺少时区，无法换算为 UTC：{moment.isoformat()}")
    return moment.astimezone(UTC)


@overload
def to_beijing(moment: datetime) -> datetime: ...
@overload
def to_beijing(moment: None) -> None: ...
def to_beijing(moment: datetime | None) -> datetime | None:
    """An aware moment in Beijing time; a naive one is refused."""
    if moment is None:
        return None
    return to_utc(moment).astimezone(BEIJING)


def as_beijing_input(moment: datetime) -> datetime:
    """A moment from user input: naive means Beijing wall-clock time, aware is kept (in UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)


def parse_local(value: object, what: str = "时间") -> datetime | None:
    """Form or API input as an aware UTC moment: ``2026-11-30T20:00`` (naive: Beijing time),
    ``2026-11-30 20:00``, or with an offset (``…+08:00``, ``…Z``). Empty gives None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_beijing_input(value)
    text = str(value).strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{what}格式不正确：{value}（应为 YYYY-MM-DD HH:MM，北京时间）") from None
    return as_beijing_input(moment)


def beijing_date(moment: datetime) -> date:
    """The Beijing calendar day of an aware moment."""
    return to_beijing(moment).date()


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def format_beijing(moment: datetime | None, fmt: str = MINUTE) -> str:
    """A moment printed in Beijing time ("" for None); naive moments are refused."""
    if moment is None:
        return ""
    return to_beijing(moment).strftime(fmt)


def iso_beijing(moment: datetime | None) -> str | None:
    """The API form of a moment: ISO 8601 in Beijing time with its offset, e.g.
    ``2026-11-30T20:00:00+08:00`` (None stays None)."""
    if moment is None:
        return None
    return to_beijing(moment).isoformat()
