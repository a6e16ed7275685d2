"""Proof of patrol (巡查轨迹核验): does a recorded GPS track show that a segment was patrolled?

第二十二条 asks the city office to manage and assess the chiefs' work with 手机APP and other
networked means; 第十一条 and 第十三条 ask for 日常巡查 and 汛期/冬季巡查, 第二十一条 for 一月一督查.
A patrol record without a track proves nothing, so a track is judged here:

* coverage: the share of each segment's length lying within ``buffer_m`` of the track,
  measured in EPSG:4544 (the projection of the register's lengths, see domain.lengths);
* speed sanity: legs faster than ``max_speed_kmh`` are "driven past" (路过) and cover nothing;
* gaps: legs with a time gap over ``max_gap_s`` or a jump over ``max_jump_m`` are flagged
  and cover nothing (a straight line between two far fixes is no evidence of the road between);
* minimum duration and length of the whole track;
* a 督查 whose GPS point lies farther than ``desk_distance_m`` from its segments is flagged
  as a possible desk inspection (案头检查嫌疑).

The thresholds are local choices (the policy sets none); the office edits them per year
(services.patrols), :data:`DEFAULT_RULES` holds the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Final, Literal

import numpy
import shapely
from shapely.geometry import MultiLineString, shape
from shapely.geometry.base import BaseGeometry

from .lengths import projected_transformer


@dataclass(frozen=True)
class PatrolRules:
    """A year's thresholds (whole numbers, so the office edits exact values)."""

    min_duration_s: int = 600  # 10 分钟
    min_length_m: int = 500
    coverage_pct: int = 80  # a segment counts as patrolled at ≥ this share of its length
    buffer_m: int = 30
    max_speed_kmh: int = 40
    max_gap_s: int = 120
    max_jump_m: int = 500
    desk_distance_m: int = 1000


DEFAULT_RULES: Final = PatrolRules()

# field → (lowest, highest, label) for the office's edit form
RULE_LIMITS: Final[dict[str, tuple[int, int, str]]] = {
    "min_duration_s": (0, 86_400, "最短时长（秒）"),
    "min_length_m": (0, 200_000, "最短里程（米）"),
    "coverage_pct": (1, 100, "覆盖率阈值（%）"),
    "buffer_m": (5, 200, "缓冲距离（米）"),
    "max_speed_kmh": (5, 150, "最高巡查车速（km/h）"),
    "max_gap_s": (10, 3600, "定位中断（秒）"),
    "max_jump_m": (50, 10_000, "定位跳变（米）"),
    "desk_distance_m": (100, 50_000, "案头检查距离（米）"),
}

FLAG_LABELS: Final[dict[str, str]] = {
    "short_duration": "时长不足",
    "short_length": "里程不足",
    "driven_past": "超速路过",
    "gap": "定位中断",
    "low_coverage": "覆盖不足",
}

LegKind = Literal["slow", "fast", "gap"]


def check_rules(values: Mapping[str, Any], base: PatrolRules = DEFAULT_RULES) -> PatrolRules:
    """Rules from form or JSON values (missing fields keep ``base``); ValueError in Chinese
    naming the field when a value is not a whole number within its range."""
    changes: dict[str, int] = {}
    for item in fields(PatrolRules):
        if item.name not in values or str(values[item.name]).strip() == "":
            continue
        low, high, label = RULE_LIMITS[item.name]
        text = str(values[item.name]).strip()
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"{label}应为整数：{text}") from None
        if not low <= number <= high:
            raise ValueError(f"{label}应在 {low}–{high} 之间：{number}")
        changes[item.name] = number
    return replace(base, **changes)


# ------------------------------------------------------------------ the track


@dataclass(frozen=True)
class Fix:
    """A GPS fix in the plane (EPSG:4544 metres) with its time (seconds since the epoch)."""

    x: float
    y: float
    t: float


@dataclass(frozen=True)
class Leg:
    start: Fix
    end: Fix
    metres: float
    seconds: float
    kind: LegKind
    number: int  # the 1-based number of the leg's end point in the track

    @property
    def speed_kmh(self) -> float:
        return self.metres / self.seconds * 3.6 if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class Gap:
    point: int  # the 1-based number of the point after the gap
    seconds: int
    metres: int


@dataclass(frozen=True)
class TrackSummary:
    point_count: int
    duration_s: int
    length_m: int  # along the legs that are not gaps
    fast_m: int  # of which faster than the speed limit
    max_speed_kmh: int  # over the legs that are not gaps
    gaps: tuple[Gap, ...]


def project(points: Sequence[tuple[float, float, float]]) -> list[Fix]:
    """(lon, lat, t) points → fixes in EPSG:4544, in the given order."""
    if not points:
        return []
    array = numpy.asarray(points, dtype=float)
    xs, ys = projected_transformer().transform(array[:, 0], array[:, 1])
    return [Fix(float(x), float(y), float(t)) for x, y, t in zip(xs, ys, array[:, 2], strict=True)]


def legs(fixes: Sequence[Fix], rules: PatrolRules = DEFAULT_RULES) -> list[Leg]:
    """Consecutive fixes as legs, each slow (evidence), fast (driven past) or a gap.
    Fixes at the same second are merged (no leg) unless they jump, which is a gap."""
    out: list[Leg] = []
    for number, (a, b) in enumerate(zip(fixes, fixes[1:], strict=False), start=2):
        metres = float(numpy.hypot(b.x - a.x, b.y - a.y))
        seconds = b.t - a.t
        if seconds <= 0 and metres <= rules.buffer_m:
            continue
        kind: LegKind
        if seconds <= 0 or seconds > rules.max_gap_s or metres > rules.max_jump_m:
            kind = "gap"
        elif metres / seconds * 3.6 > rules.max_speed_kmh:
            kind = "fast"
        else:
            kind = "slow"
        out.append(Leg(a, b, metres, seconds, kind, number))
    return out


def summarise(fixes: Sequence[Fix], rules: PatrolRules = DEFAULT_RULES) -> TrackSummary:
    track_legs = legs(fixes, rules)
    moving = [leg for leg in track_legs if leg.kind != "gap"]
    duration = fixes[-1].t - fixes[0].t if len(fixes) >= 2 else 0.0
    return TrackSummary(
        point_count=len(fixes),
        duration_s=int(round(duration)),
        length_m=int(round(sum(leg.metres for leg in moving))),
        fast_m=int(round(sum(leg.metres for leg in moving if leg.kind == "fast"))),
        max_speed_kmh=int(round(max((leg.speed_kmh for leg in moving), default=0.0))),
        gaps=tuple(
            Gap(leg.number, int(round(leg.seconds)), int(round(leg.metres))) for leg in track_legs if leg.kind == "gap"
        ),
    )


def _runs(track_legs: Sequence[Leg], kind: LegKind) -> BaseGeometry:
    """The legs of one kind joined into lines (consecutive legs make one line)."""
    lines: list[list[tuple[float, float]]] = []
    previous: Leg | None = None
    for leg in track_legs:
        if leg.kind != kind:
            previous = None
            continue
        if previous is None:
            lines.append([(leg.start.x, leg.start.y)])
        lines[-1].append((leg.end.x, leg.end.y))
        previous = leg
    return MultiLineString(lines) if lines else MultiLineString()


@dataclass(frozen=True)
class Corridors:
    """The buffered slow and fast parts of a track, built once per track."""

    slow: BaseGeometry
    fast: BaseGeometry


def corridors(track_legs: Sequence[Leg], rules: PatrolRules = DEFAULT_RULES) -> Corridors:
    slow = _runs(track_legs, "slow").buffer(rules.buffer_m)
    fast = _runs(track_legs, "fast").buffer(rules.buffer_m)
    return Corridors(slow, fast)


def plane_line(geojson: Mapping[str, Any]) -> BaseGeometry:
    """A lon/lat GeoJSON line in EPSG:4544."""
    transformer = projected_transformer()

    def to_plane(lonlat: numpy.ndarray) -> numpy.ndarray:
        return numpy.column_stack(transformer.transform(lonlat[:, 0], lonlat[:, 1]))

    return shapely.transform(shape(geojson), to_plane)


@dataclass(frozen=True)
class SegmentCoverage:
    segment_m: int
    covered_m: int  # within the buffer of the slow legs
    passed_m: int  # within the buffer of fast legs only
    coverage_permille: int
    covered: bool  # coverage ≥ the threshold
    driven_past: bool  # fast legs would have reached the threshold, the slow ones do not


def coverage(line: BaseGeometry, track: Corridors, rules: PatrolRules = DEFAULT_RULES) -> SegmentCoverage:
    """How much of a segment (a line in EPSG:4544) the track covers."""
    total = float(line.length)
    if total <= 0:
        return SegmentCoverage(0, 0, 0, 0, False, False)
    # clip the corridors to the segment's box first: intersecting a long track's whole
    # corridor is ~10× slower than its clipped piece, and the result is the same
    x0, y0, x1, y1 = line.bounds
    slow = shapely.clip_by_rect(track.slow, x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    fast = shapely.clip_by_rect(track.fast, x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    covered = float(line.intersection(slow).length) if not slow.is_empty else 0.0
    if fast.is_empty:
        passed = 0.0
    else:
        fast_part = line.intersection(fast)
        passed = float(fast_part.difference(slow).length) if not slow.is_empty else float(fast_part.length)
    permille = min(1000, int(round(covered * 1000 / total)))
    threshold = rules.coverage_pct * 10
    return SegmentCoverage(
        segment_m=int(round(total)),
        covered_m=int(round(covered)),
        passed_m=int(round(passed)),
        coverage_permille=permille,
        covered=permille >= threshold,
        driven_past=permille < threshold and (covered + passed) * 1000 / total >= threshold,
    )


def touches(result: SegmentCoverage) -> bool:
    """Whether the track came near the segment at all (worth listing)."""
    return result.covered_m > 0 or result.passed_m > 0


def flags(
    summary: TrackSummary, coverages: Sequence[SegmentCoverage], rules: PatrolRules = DEFAULT_RULES
) -> tuple[str, ...]:
    """The track's flags (keys of FLAG_LABELS), in a stable order."""
    found: list[str] = []
    if summary.duration_s < rules.min_duration_s:
        found.append("short_duration")
    if summary.length_m < rules.min_length_m:
        found.append("short_length")
    if any(c.driven_past for c in coverages) or (summary.fast_m > 0 and summary.fast_m * 2 >= summary.length_m):
        found.append("driven_past")
    if summary.gaps:
        found.append("gap")
    if not any(c.covered for c in coverages):
        found.append("low_coverage")
    return tuple(found)


def passes(track_flags: Sequence[str]) -> bool:
    """A track proves a patrol when it is long enough in time and distance and covers at
    least one segment; gaps and fast legs alone are shown but do not fail it (the covered
    share already leaves them out)."""
    return not {"short_duration", "short_length", "low_coverage"} & set(track_flags)


def desk_suspect(distance_m: int | None, rules: PatrolRules = DEFAULT_RULES) -> bool:
    """A 督查 recorded with a GPS point farther than the rule's distance from every segment
    it names (案头检查嫌疑). No GPS point is not flagged here (the page shows 无定位)."""
    return distance_m is not None and distance_m > rules.desk_distance_m


DESK_ONLY_LABEL: Final = "仅有案头检查嫌疑的督查"


def month_duty_met(distances_m: Sequence[int | None], rules: PatrolRules = DEFAULT_RULES) -> bool:
    """一月一督查 (第二十一条): a chief's month is met by one 督查 that is not a desk-inspection
    suspect. ``distances_m`` holds, per 督查 of the month assessing him, its GPS point's
    distance to the nearest segment it names (None: no GPS point). Consistent with
    :func:`desk_suspect`, a 督查 without a GPS point is unverified but meets the duty (a local
    choice); no 督查 at all does not. Scores are not touched by this rule: a suspect 督查
    still scores, the office decides."""
    return any(not desk_suspect(distance, rules) for distance in distances_m)


__all__ = [
    "DEFAULT_RULES",
    "DESK_ONLY_LABEL",
    "FLAG_LABELS",
    "RULE_LIMITS",
    "Corridors",
    "Fix",
    "Gap",
    "Leg",
    "PatrolRules",
    "SegmentCoverage",
    "TrackSummary",
    "check_rules",
    "corridors",
    "coverage",
    "desk_suspect",
    "flags",
    "legs",
    "month_duty_met",
    "passes",
    "plane_line",
    "project",
    "summarise",
    "touches",
]
