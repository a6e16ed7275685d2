"""年度养护计划 (第七条): the city office lists planned works per segment — 修复 / 预防 /
应急 — with quantity and budget (integer fen); progress is recorded against each item;
plan vs. done per town.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.money import format_fen
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.operations import WORK_CATEGORIES, WorksPlanItem, WorksProgress
from roadchief.services import ServiceError
from roadchief.services.audit import current_actor
from roadchief.services.permissions import segment_condition
from roadchief.services.transactions import unit_of_work

MAX_FEN = 10**13  # 1000 亿元: anything above is a typo


def parse_yuan(text, what: str = "金额") -> int:
    """ "1234.5" 元 → 123450 fen, exactly (no float)."""
    value = str(text if text is not None else "").strip().replace(",", "")
    if not value:
        raise ServiceError(f"请填写{what}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ServiceError(f"{what}应为数字（元）：{value!r}") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ServiceError(f"{what}最多两位小数（元）")
    fen = int(amount.scaleb(2))
    if not 0 <= fen <= MAX_FEN:
        raise ServiceError(f"{what}超出范围")
    return fen


def _quantity(text, what: str, minimum: int) -> int:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        raise ServiceError(f"{what}应为整数") from None
    if not minimum <= value <= 10**9:
        raise ServiceError(f"{what}超出范围")
    return value


def add_item(year: int, segment_id, category: str, title: str, unit: str, quantity, budget_yuan) -> WorksPlanItem:
    if not 2000 <= int(year) <= 2100:
        raise ServiceError("年度不正确")
    if category not in WORK_CATEGORIES:
        raise ServiceError("类别应为 修复 / 预防 / 应急")
    try:
        segment = db.session.get(Segment, int(segment_id))
    except (TypeError, ValueError):
        segment = None
    if segment is None:
        raise ServiceError("路段不存在")
    title, unit = str(title or "").strip(), str(unit or "").strip()
    if not title or len(title) > 200:
        raise ServiceError("请填写工程内容（不超过 200 字）")
    if not unit or len(unit) > 10:
        raise ServiceError("请填写计量单位（如 平方米、米、处）")
    with unit_of_work():
        item = WorksPlanItem(
            year=int(year),
            segment=segment,
            category=category,
            title=title,
            unit=unit,
            quantity=_quantity(quantity, "计划数量", 1),
            budget_fen=parse_yuan(budget_yuan, "预算"),
        )
        db.session.add(item)
    return item


def record_progress(item: WorksPlanItem, day, quantity, spent_yuan, note: str = "") -> WorksProgress:
    try:
        when = day if isinstance(day, date) else date.fromisoformat(str(day).strip())
    except ValueError:
        raise ServiceError("日期应为 YYYY-MM-DD") from None
    amount = _quantity(quantity, "完成数量", 0)
    spent = parse_yuan(spent_yuan or "0", "支出")
    if amount == 0 and spent == 0:
        raise ServiceError("请填写完成数量或支出")
    with unit_of_work():
        row = WorksProgress(
            item=item,
            day=when,
            quantity=amount,
            spent_fen=spent,
            note=str(note or "").strip()[:2000],
            actor=current_actor().name,
        )
        db.session.add(row)
    return row


def items(user, year: int) -> list[WorksPlanItem]:
    return list(
        db.session.scalars(
            select(WorksPlanItem)
            .join(Segment, WorksPlanItem.segment_id == Segment.id)
            .join(Road)
            .options(
                selectinload(WorksPlanItem.progress),
                selectinload(WorksPlanItem.segment).selectinload(Segment.road),
                selectinload(WorksPlanItem.segment).selectinload(Segment.town),
            )
            .where(WorksPlanItem.year == year, segment_condition(user))
            .order_by(Road.code, Segment.start_m, WorksPlanItem.id)
        )
    )


@dataclass
class TownPlan:
    town: str
    code: str
    items: int = 0
    done_items: int = 0
    budget_fen: int = 0
    spent_fen: int = 0
    by_category: dict | None = None
    planned: dict | None = None  # unit → planned quantity (quantities add up only within a unit)
    done: dict | None = None  # unit → quantity done

    @property
    def completion(self) -> str:
        """Items completed ÷ items planned, one decimal (exact: Decimal, rounded half up)."""
        if not self.items:
            return "—"
        from decimal import ROUND_HALF_UP

        value = (Decimal(self.done_items * 100) / self.items).quantize(Decimal("0.1"), ROUND_HALF_UP)
        return f"{int(value)}%" if value == value.to_integral_value() else f"{value}%"

    @staticmethod
    def _quantities(values: dict | None) -> str:
        return "；".join(f"{amount} {unit}" for unit, amount in sorted((values or {}).items())) or "—"

    @property
    def planned_text(self) -> str:
        return self._quantities(self.planned)

    @property
    def done_text(self) -> str:
        return self._quantities(self.done)

    @property
    def budget(self) -> str:
        return format_fen(self.budget_fen)

    @property
    def spent(self) -> str:
        return format_fen(self.spent_fen)


def plan_vs_done(user, year: int) -> tuple[list[TownPlan], TownPlan]:
    """Per town: planned items and budget vs. items completed (done quantity ≥ planned) and money spent."""
    towns: dict[int, TownPlan] = {}
    total = TownPlan(
        "合计", "", by_category=defaultdict(lambda: [0, 0]), planned=defaultdict(int), done=defaultdict(int)
    )
    for item in items(user, year):
        town: Town = item.segment.town
        entry = towns.setdefault(
            town.id,
            TownPlan(
                town.name,
                town.code,
                by_category=defaultdict(lambda: [0, 0]),
                planned=defaultdict(int),
                done=defaultdict(int),
            ),
        )
        complete = item.done_quantity >= item.quantity
        for target in (entry, total):
            target.planned[item.unit] += item.quantity
            target.done[item.unit] += item.done_quantity
            target.items += 1
            target.done_items += complete
            target.budget_fen += item.budget_fen
            target.spent_fen += item.spent_fen
            target.by_category[item.category][0] += 1
            target.by_category[item.category][1] += complete
    return sorted(towns.values(), key=lambda t: t.code), total


def plan_report(user, year: int) -> dict:
    """What the plan-vs-done XLSX / PDF print: one row per town and the 合计 row (the sums of
    the rows, in integer fen), plus the items."""
    towns, total = plan_vs_done(user, year)
    return {"year": year, "towns": towns, "total": total, "items": items(user, year)}
