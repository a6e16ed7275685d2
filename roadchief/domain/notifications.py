"""Who is told what about a rectification (整改), on which channel, and how failed sends are retried.

第二十二条 asks the city office to use 互联网、手机APP for the assessment work; the events and the
people told are local choices (README), kept as data the city office edits. In-app notices are
always written for every recipient; e-mail and SMS are extra channels per event and audience.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

INAPP: Final = "inapp"
EMAIL: Final = "email"
SMS: Final = "sms"
CHANNEL_LABELS: Final[dict[str, str]] = {INAPP: "站内", EMAIL: "电子邮件", SMS: "短信"}
EXTRA_CHANNELS: Final[tuple[str, ...]] = (EMAIL, SMS)

EVENT_LABELS: Final[dict[str, str]] = {
    "created": "新整改任务",
    "deadline_near": "整改临期",
    "escalated": "督办",
    "answered": "整改已答复",
    "verified": "整改已验收",
    "returned": "整改被退回",
}

AUDIENCE_LABELS: Final[dict[str, str]] = {
    "assignee": "责任路长",
    "inspecting_office": "督查单位",
    "escalated_office": "督办接收单位",
    "town_office": "所在镇路长办公室",
    "city_office": "市级路长办公室",
}

# (event, audience) → extra channels beyond in-app; an absent pair sends nothing
Rules = dict[tuple[str, str], frozenset[str]]

DEFAULT_RULES: Final[Rules] = {
    ("created", "assignee"): frozenset({SMS}),
    ("deadline_near", "assignee"): frozenset({SMS}),
    ("escalated", "assignee"): frozenset({SMS}),
    ("escalated", "escalated_office"): frozenset({EMAIL}),
    ("answered", "inspecting_office"): frozenset(),
    ("verified", "assignee"): frozenset(),
    ("returned", "assignee"): frozenset({SMS}),
}

MAX_ATTEMPTS: Final = 6
BASE_DELAY: Final = timedelta(minutes=1)
MAX_DELAY: Final = timedelta(hours=6)


def channels_for(rules: Rules, event: str, audience: str) -> frozenset[str]:
    """The channels an audience gets for an event: in-app always, plus the configured extras;
    nothing when the pair is not configured."""
    if (event, audience) not in rules:
        return frozenset()
    return frozenset({INAPP}) | (rules[(event, audience)] & frozenset(EXTRA_CHANNELS))


def audiences_for(rules: Rules, event: str) -> list[str]:
    return [a for a in AUDIENCE_LABELS if (event, a) in rules]


def validate_rules(pairs: Iterable[tuple[str, str, str]]) -> list[str]:
    """(event, audience, channel) triples from a form: errors name the unknown value."""
    errors = []
    for event, audience, channel in pairs:
        if event not in EVENT_LABELS:
            errors.append(f"未知事件：{event}")
        elif audience not in AUDIENCE_LABELS:
            errors.append(f"未知接收对象：{audience}")
        elif channel not in CHANNEL_LABELS:
            errors.append(f"未知渠道：{channel}")
    return errors


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed try: 1, 2, 4, 8 … minutes, at most 6 hours."""
    if attempts < 1:
        return timedelta(0)
    delay: timedelta = BASE_DELAY * (2 ** min(attempts - 1, 20))
    return min(delay, MAX_DELAY)


def next_attempt(now: datetime, attempts: int) -> datetime | None:
    """When to try again after ``attempts`` failures, None once :data:`MAX_ATTEMPTS` is reached (given up)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + retry_delay(attempts)


def dedupe_key(event: str, subject: str, occurrence: str, recipient: str, channel: str) -> str:
    """One notice per event occurrence, recipient and channel: the outbox refuses a second."""
    return f"{event}:{subject}:{occurrence}:{recipient}:{channel}"[:200]
