"""Disruptions of a road (水毁、塌方、积雪结冰、交通事故…) and their handling under
“先抢通，后修复” (第十四条): a pure state machine, no database.

States: ``reported`` (登记) → ``restored`` (抢通: traffic passes again) → ``repaired``
(修复). An event may be reported as *中断* (traffic cut); while it is cut and not yet
restored, a warning sign (醒目的警示标志) and a detour (绕行路线) must be on record —
an event cannot be saved as 中断 without both. Repair never comes before 抢通: a
road repaired without being cut is restored and repaired at once (two steps, same time).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

KINDS = {
    "flood_damage": "水毁",
    "landslide": "塌方",
    "snow_ice": "积雪结冰",
    "accident": "交通事故",
    "other": "其他",
}
SEVERITIES = {"minor": "一般", "major": "较重", "severe": "严重"}
STATES = {"reported": "已登记（待抢通）", "restored": "已抢通（待修复）", "repaired": "已修复"}
STAGES = {"report": "登记", "restore": "抢通", "repair": "修复"}
ACTIONS = ("restore", "repair")


class EventError(ValueError):
    """A step or a record that the rules do not allow; the message is for the user."""


@dataclass(frozen=True)
class EventState:
    state: str = "reported"
    closed: bool = False  # 交通中断
    warning_sign: str = ""  # what warning sign was set, where
    detour: str = ""  # 绕行路线 (text) — or a drawn line / a picked road, see has_detour
    has_detour_line: bool = False
    occurred_at: datetime | None = None
    restored_at: datetime | None = None
    repaired_at: datetime | None = None

    @property
    def has_detour(self) -> bool:
        return bool(self.detour.strip()) or self.has_detour_line

    @property
    def interrupted(self) -> bool:
        """Traffic is cut right now (中断 and not yet 抢通)."""
        return self.closed and self.state == "reported"

    @property
    def open(self) -> bool:
        return self.state != "repaired"


def check_record(event: EventState) -> EventState:
    """Validate an event as saved (new or edited). Returns it unchanged or raises EventError."""
    if event.state not in STATES:
        raise EventError(f"未知状态：{event.state}")
    if event.interrupted:
        missing = []
        if not event.warning_sign.strip():
            missing.append("警示标志的设置情况")
        if not event.has_detour:
            missing.append("绕行路线")
        if missing:
            raise EventError("交通中断且未抢通时，必须登记" + "和".join(missing) + "（第十四条）")
    if event.restored_at and event.occurred_at and event.restored_at < event.occurred_at:
        raise EventError("抢通时间不能早于发生时间")
    if event.repaired_at and event.restored_at and event.repaired_at < event.restored_at:
        raise EventError("修复时间不能早于抢通时间")
    return event


def step(event: EventState, action: str, at: datetime) -> EventState:
    """The event after ``action`` (restore = 抢通, repair = 修复) at ``at``."""
    if action == "restore":
        if event.state != "reported":
            raise EventError("只有待抢通的事件可以登记抢通" if event.state == "repaired" else "该事件已抢通")
        if event.occurred_at and at < event.occurred_at:
            raise EventError("抢通时间不能早于发生时间")
        return check_record(replace(event, state="restored", restored_at=at))
    if action == "repair":
        if event.state == "reported":
            raise EventError("先抢通，后修复：请先登记抢通（恢复通行）")
        if event.state == "repaired":
            raise EventError("该事件已修复")
        if event.restored_at and at < event.restored_at:
            raise EventError("修复时间不能早于抢通时间")
        return check_record(replace(event, state="repaired", repaired_at=at))
    raise EventError(f"未知操作：{action}")


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    """Elapsed hours (for display and averages only, never stored)."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 1)
