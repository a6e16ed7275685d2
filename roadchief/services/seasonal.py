"""Seasonal duty (第十三条): flood-season and winter windows per year, the duty records
they expect, who is missing them, and each town's emergency stock (应急物资储备).

Duty records are the existing patrol records (inspections of kind ``flood`` 汛期巡查 /
``winter`` 冬季巡查) on the segment. Their sub-type is read from the record's note
(decision: no extra field on the inspection form is needed, the field form's note
already reaches every record): 雨前 / 雨中 / 雨后 for the flood season, 除雪 (清雪、
积雪) / 撒砂 (防滑砂、融雪剂) for winter.

Expectation per segment and period (the whole window, or each ``period_days`` block):

* 汛期: one record each of 雨前, 雨中 and 雨后 (catalog item LZ02 per period missed);
* 冬季: at least one 除雪 or 撒砂 record (catalog item LZ03 per period missed).

Periods not yet ended are not judged. The gaps name the segment's most local chief,
whose score the suggested 履职 deduction would hit in the next 督查.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.inspections import Inspection, InspectionSegment
from roadchief.models.operations import WINDOW_KINDS, EmergencyStock, SeasonWindow
from roadchief.services import ServiceError
from roadchief.services.chiefs import POSITION_ORDER, AssignmentIndex
from roadchief.services.scope import segment_condition
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
    text = note or ""
    return {tag for tag, words in TAG_WORDS.get(kind, {}).items() if any(w in text for w in words)}


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
        raise ServiceError(f"乡镇 {code} 不存在")
    return town


def add_window(year: int, kind: str, start, end, period_days=None, town: str | None = None, note: str = "") -> SeasonWindow:
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
        window = SeasonWindow(year=year, kind=kind, start_date=start, end_date=end, period_days=period,
                              town=_town(town), note=str(note or "").strip()[:500])
        db.session.add(window)
    return window


def delete_window(window: SeasonWindow) -> None:
    with unit_of_work():
        db.session.delete(window)


def windows(year: int | None = None) -> list[SeasonWindow]:
    query = select(SeasonWindow).options(selectinload(SeasonWindow.town)).order_by(SeasonWindow.start_date, SeasonWindow.id)
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

    @property
    def deduction_code(self) -> str:
        return DEDUCTION_CODE[self.window.kind]


def _local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, datetime.min.time(), tzinfo=LOCAL_TZ),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ))


def _responsible(index: AssignmentIndex, segment: Segment):
    chiefs = [c for c in index.chiefs_for(segment) if c.scope_kind != "city"]
    if not chiefs:
        return None
    return max(chiefs, key=lambda c: POSITION_ORDER[c.position])


def duty_gaps(user, window: SeasonWindow, today: date | None = None) -> list[DutyGap]:
    """Segments (in the user's scope and the window's town) lacking the season's records
    in an ended period of the window."""
    today = today or datetime.now(LOCAL_TZ).date()
    judged = [p for p in periods(window.start_date, window.end_date, window.period_days) if p[1] < today]
    if not judged:
        return []
    query = (select(Segment).join(Road).options(selectinload(Segment.road), selectinload(Segment.town),
                                                selectinload(Segment.village))
             .where(Segment.is_listed.is_(True), segment_condition(user)).order_by(Road.code, Segment.start_m))
    if window.town_id:
        query = query.where(Segment.town_id == window.town_id)
    segments = list(db.session.scalars(query.limit(MAX_SEGMENTS_REPORTED)))
    if not segments:
        return []
    begin, finish = _local_bounds(judged[0][0], judged[-1][1])
    records = db.session.execute(
        select(InspectionSegment.segment_id, Inspection.inspected_at, Inspection.note)
        .join(Inspection, InspectionSegment.inspection_id == Inspection.id)
        .where(Inspection.kind == window.kind, Inspection.inspected_at >= begin, Inspection.inspected_at < finish))
    tags: dict[tuple[int, int], set[str]] = defaultdict(set)
    for segment_id, moment, note in records:
        if moment.tzinfo is None:
            from datetime import timezone
            moment = moment.replace(tzinfo=timezone.utc)
        day = moment.astimezone(LOCAL_TZ).date()
        for number, (first, last) in enumerate(judged):
            if first <= day <= last:
                tags[(segment_id, number)] |= duty_tags(window.kind, note)
                break
    gaps = []
    indexes: dict[date, AssignmentIndex] = {}
    for number, period in enumerate(judged):
        index = indexes.setdefault(period[1], AssignmentIndex(period[1]))
        for segment in segments:
            missing = missing_tags(window.kind, tags.get((segment.id, number), set()))
            if missing:
                chief = _responsible(index, segment)
                gaps.append(DutyGap(window, period, segment, missing,
                                    f"{chief.chief.name}（{chief.position_name}）" if chief else "（无路长）",
                                    chief.chief.id if chief else None))
    return gaps


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
        row = db.session.scalar(select(EmergencyStock).where(EmergencyStock.town_id == town.id, EmergencyStock.item == item))
        if row is None:
            row = EmergencyStock(town=town, item=item)
            db.session.add(row)
        row.unit, row.quantity = unit, amount
        row.location, row.note = str(location or "").strip()[:120], str(note or "").strip()[:500]
    return row


def stock(user) -> list[EmergencyStock]:
    query = (select(EmergencyStock).join(Town).options(selectinload(EmergencyStock.town))
             .order_by(Town.code, EmergencyStock.item))
    if user.role in ("town_office", "inspector") and user.town_id:
        query = query.where(EmergencyStock.town_id == user.town_id)
    return list(db.session.scalars(query))
