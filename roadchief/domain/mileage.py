"""Mileage versions (列养里程版本) as pure data.

第十五条: 列养里程根据农村公路建设及普查结果，每两年调整一次. A version is a complete
snapshot: for every segment it holds the class, the paying unit (town, village,
station) and the listed metres in force from its date. A year's funding uses the
version in force on 1 January (failing that, the first one that took effect during
the year), so a version used by a year with an approved quarter may not change.

Keys (segments, towns, villages, stations) are opaque here: the caller passes ids
or codes and the functions that print take callables naming them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

EXAMPLES = 5  # segments shown per kind in a difference
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class MileageEntry:
    """One segment in a version."""

    road_class: str
    town: Hashable
    village: Hashable | None
    station: Hashable | None
    listed_m: int
    is_listed: bool = True

    @property
    def paid_m(self) -> int:
        """Metres that count towards the plan (a de-listed segment counts 0)."""
        return self.listed_m if self.is_listed else 0


def merge_version(
    base: Mapping[Hashable, MileageEntry], rows: Mapping[Hashable, MileageEntry], complete: bool
) -> dict[Hashable, MileageEntry]:
    """The version after a file: the file's rows over the base (a partial file keeps every
    other segment as it was); ``complete`` says the file is the whole network, so
    segments absent from it leave the version."""
    merged = {} if complete else dict(base)
    merged.update(rows)
    return merged


@dataclass(frozen=True)
class MileageDiff:
    added: tuple[Hashable, ...]
    removed: tuple[Hashable, ...]
    changed: tuple[Hashable, ...]
    town_before: dict[Hashable, int]  # town → listed metres (segments flagged listed)
    town_after: dict[Hashable, int]
    class_before: dict[str, int]  # road class → listed metres
    class_after: dict[str, int]
    before: Mapping[Hashable, MileageEntry]
    after: Mapping[Hashable, MileageEntry]
    classes: tuple[str, ...] | None = None  # the classes the town sums count (None: every class)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def total_before(self) -> int:
        return sum(self.class_before.values())

    @property
    def total_after(self) -> int:
        return sum(self.class_after.values())

    def funded(self, by_class: dict[str, int]) -> int:
        """Listed metres of the counted classes (all when none were named)."""
        return sum(m for cls, m in by_class.items() if self.classes is None or cls in self.classes)


def _sorted(keys: Iterable[Hashable]) -> tuple[Hashable, ...]:
    keys = list(keys)
    try:
        return tuple(sorted(keys))  # type: ignore[type-var]  # keys of mixed types: by repr, below
    except TypeError:
        return tuple(sorted(keys, key=repr))


def _sums(
    entries: Mapping[Hashable, MileageEntry], field: str, keys: Iterable[K], classes: tuple[str, ...] | None = None
) -> dict[K, int]:
    sums = {key: 0 for key in keys}
    for entry in entries.values():
        if classes is None or entry.road_class in classes:
            sums[getattr(entry, field)] = sums.get(getattr(entry, field), 0) + entry.paid_m
    return sums


def mileage_diff(
    before: Mapping[Hashable, MileageEntry],
    after: Mapping[Hashable, MileageEntry],
    classes: Iterable[str] | None = None,
) -> MileageDiff:
    """Segments added, removed and changed (any attribute) and listed metres per town and
    class before and after; every town or class present on either side appears on both.
    ``classes`` limits the town sums to the funded classes (第十五条: 镇道 and 村道)."""
    classes = tuple(classes) if classes is not None else None
    added = _sorted(k for k in after if k not in before)
    removed = _sorted(k for k in before if k not in after)
    changed = _sorted(k for k in after if k in before and after[k] != before[k])
    towns = {e.town for e in before.values()} | {e.town for e in after.values()}
    all_classes = {e.road_class for e in before.values()} | {e.road_class for e in after.values()}
    return MileageDiff(
        added,
        removed,
        changed,
        _sums(before, "town", towns, classes),
        _sums(after, "town", towns, classes),
        _sums(before, "road_class", all_classes),
        _sums(after, "road_class", all_classes),
        before,
        after,
        classes,
    )


def km(metres: int) -> str:
    sign = "-" if metres < 0 else ""
    metres = abs(metres)
    return f"{sign}{metres // 1000}.{metres % 1000:03d}"


def _delta(before: int, after: int) -> str:
    change = after - before
    return f"{km(before)} → {km(after)} km（{'+' if change >= 0 else ''}{km(change)}）"


def _entry_text(entry: MileageEntry, unit_name: Callable[[MileageEntry], str]) -> str:
    listed = km(entry.listed_m) if entry.is_listed else f"{km(entry.listed_m)}（不列养）"
    return f"{entry.road_class} {unit_name(entry)} {listed} km"


def describe_diff(
    diff: MileageDiff,
    town_name: Callable[[Hashable], str | None],
    segment_label: Callable[[Hashable], str],
    unit_name: Callable[[MileageEntry], str] | None = None,
    examples: int = EXAMPLES,
) -> list[str]:
    """The difference in lines of Chinese: counts, a few segments of each kind, listed km
    per changed town and the totals by class."""
    if diff.is_empty:
        return ["列养里程无变化"]
    unit_name = unit_name or (lambda entry: town_name(entry.town) or str(entry.town))
    lines = [f"路段：新增 {len(diff.added)} 段，移除 {len(diff.removed)} 段，变更 {len(diff.changed)} 段"]
    for title, keys in (("新增", diff.added), ("移除", diff.removed), ("变更", diff.changed)):
        for key in keys[:examples]:
            if title == "新增":
                detail = _entry_text(diff.after[key], unit_name)
            elif title == "移除":
                detail = _entry_text(diff.before[key], unit_name)
            else:
                old, new = diff.before[key], diff.after[key]
                detail = _change_text(old, new, unit_name)
            lines.append(f"  {title} {segment_label(key)}：{detail}")
        if len(keys) > examples:
            lines.append(f"  ……另有 {len(keys) - examples} 段{title}")
    moved = [t for t in diff.town_before if diff.town_before[t] != diff.town_after[t]]
    counted = "".join(diff.classes) if diff.classes and len(diff.classes) > 1 else (diff.classes or ("",))[0]
    if moved:
        lines.append(f"按乡镇{counted}列养里程：")
        for town in sorted(moved, key=lambda t: str(town_name(t) or t)):
            lines.append(f"  {town_name(town) or town}：{_delta(diff.town_before[town], diff.town_after[town])}")
    by_class = [
        f"{cls} {_delta(diff.class_before[cls], diff.class_after[cls])}"
        for cls in sorted(diff.class_before)
        if diff.class_before[cls] != diff.class_after[cls]
    ]
    if by_class:
        lines.append("按行政等级：" + "；".join(by_class))
    if diff.classes is not None:
        counted = "镇村道" if set(diff.classes) == {"镇道", "村道"} else counted
        lines.append(f"{counted}合计：{_delta(diff.funded(diff.class_before), diff.funded(diff.class_after))}")
        lines.append(f"全部列养合计：{_delta(diff.total_before, diff.total_after)}")
    else:
        lines.append(f"合计：{_delta(diff.total_before, diff.total_after)}")
    return lines


def _change_text(old: MileageEntry, new: MileageEntry, unit_name: Callable[[MileageEntry], str]) -> str:
    parts = []
    if old.listed_m != new.listed_m:
        parts.append(f"列养里程 {km(old.listed_m)} → {km(new.listed_m)} km")
    if old.is_listed != new.is_listed:
        parts.append("列养 → 不列养" if old.is_listed else "不列养 → 列养")
    if old.road_class != new.road_class:
        parts.append(f"行政等级 {old.road_class} → {new.road_class}")
    if (old.town, old.village, old.station) != (new.town, new.village, new.station):
        parts.append(f"所属单位 {unit_name(old)} → {unit_name(new)}")
    return "，".join(parts)


# ---------------------------------------------------------------- which version a year uses


def version_in_force(year: int, effective_dates: Iterable[date]) -> date | None:
    """The date of the version a year's funding uses: the one in force on 1 January,
    else the first that took effect during the year, else None."""
    dates = sorted(set(effective_dates))
    on_first = [d for d in dates if d <= date(year, 1, 1)]
    if on_first:
        return on_first[-1]
    during = [d for d in dates if d <= date(year, 12, 31)]
    return during[0] if during else None


def frozen_years(
    closed: Mapping[int, list[int]],
    dates_before: Iterable[date],
    dates_after: Iterable[date],
    changed: date | None = None,
) -> list[tuple[int, list[int]]]:
    """Years with an approved quarter (``closed``: year → quarters) whose plan a version
    change would alter: the version in force moves to another date, or is ``changed``."""
    dates_before, dates_after = list(dates_before), list(dates_after)
    hits = []
    for year in sorted(closed):
        if not closed[year]:
            continue
        old, new = version_in_force(year, dates_before), version_in_force(year, dates_after)
        if old != new or (changed is not None and new == changed):
            hits.append((year, sorted(closed[year])))
    return hits


def frozen_message(hits: list[tuple[int, list[int]]]) -> str:
    """'2024 年第 1 季度已审定拨付' for the years a change would alter."""
    return "；".join(f"{year} 年第 {'、'.join(map(str, quarters))} 季度已审定拨付" for year, quarters in hits)
