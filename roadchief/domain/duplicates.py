"""When a new public report is offered to the office as a possible duplicate of an open one
(社会监督, 第七条; a local rule, the policy is silent): on the same segment, or within
``RADIUS_M`` metres measured in EPSG:4544 (the register's metric CRS), reported within
``WINDOW_DAYS`` days. The office decides (merge or dismiss); nothing is merged automatically."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

RADIUS_M: Final = 50
WINDOW_DAYS: Final = 30


@dataclass(frozen=True)
class Sighting:
    """A report as the rule sees it: when, on which segment, where (EPSG:4544 metres, or None)."""

    at: datetime
    segment_id: int | None
    xy: tuple[float, float] | None


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Plane distance between two projected points (metres)."""
    return math.hypot(a[0] - b[0], a[1] - b[1])


def is_possible_duplicate(
    new: Sighting, old: Sighting, radius_m: int = RADIUS_M, window_days: int = WINDOW_DAYS
) -> bool:
    """Whether ``new`` may report the same problem as the open report ``old``."""
    if not (timedelta(0) <= new.at - old.at <= timedelta(days=window_days)):
        return False
    if new.segment_id is not None and new.segment_id == old.segment_id:
        return True
    return new.xy is not None and old.xy is not None and distance_m(new.xy, old.xy) <= radius_m
