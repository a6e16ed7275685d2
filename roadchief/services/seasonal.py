"""Seasonal duty (第十三条): flood-season and winter windows per year, the duty records
they expect, who is missing them, the 履职 deductions they feed into the monthly
scores, and each town's emergency stock (应急物资储备).

Duty records are the patrol records (inspections of kind ``flood`` 汛期巡查 / ``winter``
冬季巡查) on the segment. Their sub-type is the record's ``duty_phase``, chosen on the
field form (雨前 / 雨中 / 雨后 for the flood season, 除雪 / 撒砂 for winter) and required
by the service for those kinds. Records made before that field existed (``duty_phase``
NULL) are still read from their note text (雨前…, 除雪/清雪/积雪, 撒砂/防滑砂/融雪剂…).
A patrol track (services.patrols) of the season's kind is a duty record too, but only on the
segments it covers to the year's threshold (proof of patrol, 第二十二条).

Expectation per segment and period (the whole window, or each ``period_days`` block):

* 汛期: one record each of 雨前, 雨中 and 雨后 (catalog item LZ02);
* 冬季: at least one 除雪 or 撒砂 record (catalog item LZ03).

Periods not yet ended are not judged. A gap names the chief assessed for the segment on
the period's last day by the same rule as a 督查 (第二十条): on a 村道 (with a village)
the 村级路长, assessed by the town's office ("town:CODE"); on any other road the 公路站路长
or 镇级路长, assessed by the city office ("city"). The gaps of a period are charged to that
chief's score in the month the period ended (see domain.scoring.duty_charges and
services.chief_scores).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import false, select, true
from sqlalchemy.orm import selectinload

from roadchief.domain import clock
from roadchief.domain.scoring import LOCAL_TZ, DutyGapLine
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.inspections import Inspection, InspectionSegment
from roadchief.models.operations import WINDOW_KINDS, EmergencyStock, SeasonWindow
from roadchief.services import NotFound, ServiceError
from roadchief.services.chiefs import POSITION_NAMES, AssignmentIndex
from roadchief.services.permissions import bound_town_id, segment_condition
from roadchief.services.transactions import unit_of_work

FLOOD_PHASES = ("雨前", "雨中", "雨后")
WINTER_ACTIONS = ("除雪", "撒砂")
TAG_WORDS = {
    "flood": {"雨前": ("雨前",), "雨中": ("雨中",), "雨后": ("雨后",)},
    "winter": {"除雪": ("除雪", "清雪", "积雪", "扫雪"), "撒砂": ("撒砂", "防滑砂", "融雪剂", "撒盐", "撒铺")},
}
DEDUCTION_CODE = {"flood": "LZ02", "winter": "LZ03"}
STOCK_UNITS = ("吨", "袋", "立方米", "台", "辆", "套", "个", "件")
MAX_SEGMENTS_REPORTED = 2000


def duty_tags(kind: str, note: str) -> set[str]:
    """Sub-types read from a note (records without ``duty_phase``)."""
    text = note or ""
    return {tag for tag, words in TAG_WORDS.get(kind, {}).items() if any(w in text for w in words)}


def record_tags(kind: str, duty_phase: str | None, note: str) -> set[str]:
    """The sub-type of a duty record: its ``duty_phase`` when set, else read from the note."""
    return {duty_phase} if duty_phase else duty_tags(kind, note)


def missing_tags(kind: str, tags: set[str]) -> list[str]:
    if kind == "flood":
        return [p for p in FLOOD_PHASES if p not in tags]
    return [] if tags & set(WINTER_ACTIONS) else ["除雪或撒砂"]


def periods(start: date, end: date, period_days: int | None) -> list[tuple[date, date]]:
    if not period_days:
        return [(start, end)]
    out, day = [], start
    while day <= end:
        last = min(end, day + timedelta(days=period_days - 1))
        out.append((day, last))
        day = last + timedelta(days=1)
    return out


# ------------------------------------------------------------------ windows


def _date(value, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ServiceError(f"{what}应为日期（YYYY-MM-DD）") from None


def _town(code) -> Town | None:
    code = str(code or "").strip()
    if not code:
        return None
    town = db.session.scalar(select(Town).where((Town.code == code) | (Town.name == code)))
    if town is None:
        raise NotFound(f"乡镇 {code} 不存在")
    return town


def add_window(
    year: int, kind: str, start, end, period_days=None, town: str | None = None, note: str = ""
) -> SeasonWindow:
    if kind not in WINDOW_KINDS:
        raise ServiceError("时段类型应为 flood（汛期）或 winter（冬季）")
    start, end = _date(start, "开始日期"), _date(end, "结束日期")
    if end < start:
        raise ServiceError("结束日期不能早于开始日期")
    if start.year != year and end.year != year:
        raise ServiceError("时段应在所设年度内（冬季可跨年）")
    if (end - start).days > 366:
        raise ServiceError("时段不能超过一年")
    try:
        period = int(period_days) if str(period_days or "").strip() else None
    except ValueError:
        raise ServiceError("检查周期应为天数") from None
    if period is not None and not 1 <= period <= 366:
        raise ServiceError("检查周期应为 1–366 天")
    with unit_of_work():
        window = SeasonWindow(
            year=year,
            kind=kind,
            start_date=start,
            end_date=end,
            period_days=period,
            town=_town(town),
            note=str(note or "").strip()[:500],
        )
        db.session.add(window)
    return window


def delete_window(window: SeasonWindow) -> None:
    with unit_of_work():
        db.session.delete(window)


def windows(year: int | None = None) -> list[SeasonWindow]:
    query = (
        select(SeasonWindow).options(selectinload(SeasonWindow.town)).order_by(SeasonWindow.start_date, SeasonWindow.id)
    )
    if year is not None:
        query = query.where(SeasonWindow.year == year)
    return list(db.session.scalars(query))


# ------------------------------------------------------------------ gaps


@dataclass
class DutyGap:
    window: SeasonWindow
    period: tuple[date, date]
    segment: Segment
    missing: list[str]
    chief_name: str
    chief_id: int | None
    scope: str = "city"  # the office assessing the named chief
    number: int = 1  # the period's number within the window (1-based)

    @property
    def deduction_code(self) -> str:
        return DEDUCTION_CODE[self.window.kind]

    @property
    def segment_text(self) -> str:
        return f"{self.segment.road.code} {format_stake(self.segment.start_m)}–{format_stake(self.segment.end_m)}"


def _local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, datetime.min.time(), tzinfo=LOCAL_TZ),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ),
    )


def duty_scope(segment: Segment) -> str:
    """The office whose chief answers for a segment's duty records (第二十条)."""
    if segment.road.road_class == "村道" and segment.village_id:
        return f"town:{segment.town.code}"
    return "city"


def _scope_condition(scope: str | None):
    """Segments whose duty gaps an office's chiefs answer for (a pre-filter; see duty_scope)."""
    if scope is None:
        return true()
    kind, _, code = scope.partition(":")
    if kind == "town":
        return (
            (Segment.town_id == select(Town.id).where(Town.code == code).scalar_subquery())
            & (Road.road_class == "村道")
            & Segment.village_id.is_not(None)
        )
    if kind == "city":
        return (Road.road_class != "村道") | Segment.village_id.is_(None)
    return false()


def _gaps(
    window: SeasonWindow, today: date, condition, limit: int | None = None, ending: tuple[date, date] | None = None
) -> list[DutyGap]:
    """Gaps of the window's ended periods (only those ending within ``ending`` when given)
    on the listed segments matching ``condition``."""
    from roadchief.services.inspection_scope import assessed_chief

    numbered = [
        (n, p)
        for n, p in enumerate(periods(window.start_date, window.end_date, window.period_days), start=1)
        if p[1] < today and (ending is None or ending[0] <= p[1] <= ending[1])
    ]
    if not numbered:
        return []
    query = (
        select(Segment)
        .join(Road)
        .options(selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
        .where(Segment.is_listed.is_(True), condition)
        .order_by(Road.code, Segment.start_m)
    )
    if window.town_id:
        query = query.where(Segment.town_id == window.town_id)
    if limit:
        query = query.limit(limit)
    segments = list(db.session.scalars(query))
    if not segments:
        return []
    begin, finish = _local_bounds(numbered[0][1][0], numbered[-1][1][1])
    records = db.session.execute(
        select(InspectionSegment.segment_id, Inspection.inspected_at, Inspection.duty_phase, Inspection.note)
        .join(Inspection, InspectionSegment.inspection_id == Inspection.id)
        .where(Inspection.kind == window.kind, Inspection.inspected_at >= begin, Inspection.inspected_at < finish)
    ).all()
    # a patrol track of the season's kind counts for a segment only where it covers it to the
    # year's threshold (proof of patrol, services.patrols / domain.patrol_proof, 第二十二条)
    from roadchief.services.patrols import covered_duty_records

    records += [(sid, moment, phase, "") for sid, moment, phase in covered_duty_records(window.kind, begin, finish)]
    tags: dict[tuple[int, int], set[str]] = defaultdict(set)
    for segment_id, moment, phase, note in records:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        day = moment.astimezone(LOCAL_TZ).date()
        for number, (first, last) in numbered:
            if first <= day <= last:
                tags[(segment_id, number)] |= record_tags(window.kind, phase, note)
                break
    gaps = []
    indexes: dict[date, AssignmentIndex] = {}
    for number, period in numbered:
        index = indexes.setdefault(period[1], AssignmentIndex(period[1]))
        for segment in segments:
            missing = missing_tags(window.kind, tags.get((segment.id, number), set()))
            if missing:
                scope = duty_scope(segment)
                chief = assessed_chief(index, segment, scope)
                gaps.append(
                    DutyGap(
                        window,
                        period,
                        segment,
                        missing,
                        f"{chief.name}（{POSITION_NAMES[chief.position]}）" if chief else "（无被考核路长）",
                        chief.id if chief else None,
                        scope,
                        number,
                    )
                )
    return gaps


def duty_gaps(user, window: SeasonWindow, today: date | None = None) -> list[DutyGap]:
    """Segments (in the user's scope and the window's town) lacking the season's records
    in an ended period of the window."""
    today = today or clock.beijing_today()
    return _gaps(window, today, segment_condition(user), limit=MAX_SEGMENTS_REPORTED)


def gap_lines(
    first: date, last: date, today: date, scope: str | None = None, chief_id: int | None = None
) -> list[DutyGapLine]:
    """Every chief-named gap of a period ending between ``first`` and ``last`` (and before
    ``today``), one line per missing record, for scoring; optionally only the chiefs an
    office assesses, or one chief."""
    found = []
    query = (
        select(SeasonWindow)
        .where(SeasonWindow.start_date <= last, SeasonWindow.end_date >= first)
        .order_by(SeasonWindow.start_date, SeasonWindow.id)
    )
    for window in db.session.scalars(query):
        for gap in _gaps(window, today, _scope_condition(scope), ending=(first, last)):
            if (
                gap.chief_id is None
                or (scope is not None and gap.scope != scope)
                or (chief_id is not None and gap.chief_id != chief_id)
            ):
                continue
            for missing in gap.missing:
                found.append(
                    DutyGapLine(
                        gap.chief_id, window.kind, window.id, gap.number, gap.period[1], missing, gap.segment_text
                    )
                )
    return found


def gaps_by_chief(gaps: list[DutyGap]) -> list[tuple[str, int, list[DutyGap]]]:
    """Who is missing records: chief label, number of periods × segments missed, the gaps."""
    grouped: dict[str, list[DutyGap]] = defaultdict(list)
    for gap in gaps:
        grouped[gap.chief_name].append(gap)
    return sorted(((name, len(items), items) for name, items in grouped.items()), key=lambda r: (-r[1], r[0]))


# ------------------------------------------------------------------ emergency stock


def set_stock(town_code: str, item: str, unit: str, quantity, location: str = "", note: str = "") -> EmergencyStock:
    town = _town(town_code)
    if town is None:
        raise ServiceError("请选择乡镇")
    item = str(item or "").strip()
    if not item or len(item) > 40:
        raise ServiceError("请填写物资名称（不超过 40 字）")
    unit = str(unit or "").strip()
    if not unit or len(unit) > 10:
        raise ServiceError("请填写计量单位")
    try:
        amount = int(str(quantity).strip())
    except (TypeError, ValueError):
        raise ServiceError("数量应为整数") from None
    if not 0 <= amount <= 10_000_000:
        raise ServiceError("数量应在 0–10000000 之间")
    with unit_of_work():
        row = db.session.scalar(
            select(EmergencyStock).where(EmergencyStock.town_id == town.id, EmergencyStock.item == item)
        )
        if row is None:
            row = EmergencyStock(town=town, item=item)
            db.session.add(row)
        row.unit, row.quantity = unit, amount
        row.location, row.note = str(location or "").strip()[:120], str(note or "").strip()[:500]
    return row


def stock(user) -> list[EmergencyStock]:
    query = (
        select(EmergencyStock)
        .join(Town)
        .options(selectinload(EmergencyStock.town))
        .order_by(Town.code, EmergencyStock.item)
    )
    if bound_town_id(user):
        query = query.where(EmergencyStock.town_id == user.town_id)
    return list(db.session.scalars(query))
