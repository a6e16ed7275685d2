"""The overview (总览) for the city office and finance: a year's scores by town, money paid against
the plan by quarter, overdue rectifications by town and event response times — read from the same
services the detailed pages use, so every number on the overview is one found on those pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from roadchief.domain import scoring
from roadchief.extensions import db
from roadchief.models import QuarterScore, Segment, Town
from roadchief.models.inspections import Finding, Rectification
from roadchief.services import ServiceError

CENT = Decimal("0.01")


@dataclass
class TownScores:
    town: str
    code: str
    quarters: list[Decimal | None] = field(default_factory=lambda: [None] * 4)

    @property
    def average(self) -> Decimal | None:
        """Mean of the quarters with a score, half-up to 0.01 (第二十三条 百分制)."""
        scored = [s for s in self.quarters if s is not None]
        return (sum(scored, Decimal(0)) / len(scored)).quantize(CENT, ROUND_HALF_UP) if scored else None


def scores_by_town(year: int) -> list[TownScores]:
    """Each town's 镇级 unit score (the office's quarterly 考核得分, as paid on) per quarter of the year."""
    towns = {t.code: t for t in db.session.scalars(select(Town).order_by(Town.code))}
    rows = {code: TownScores(t.name, code) for code, t in towns.items()}
    for score in db.session.scalars(
        select(QuarterScore).where(QuarterScore.year == year, QuarterScore.unit_key.like("town:%"))
    ):
        code = score.unit_key.partition(":")[2]
        if code in rows:
            rows[code].quarters[score.quarter - 1] = Decimal(score.score_centi).scaleb(-2)
    return list(rows.values())


@dataclass
class QuarterMoney:
    quarter: int
    plan: Decimal  # the quarter's base (地方配套 ÷ 4, 第十七条)
    paid: Decimal | None  # 实拨 of an approved quarter; None while it is a draft
    deducted: Decimal | None
    status: str


def money_by_quarter(year: int) -> list[QuarterMoney]:
    """Plan (base) against money paid, per quarter: approved quarters from their frozen snapshot."""
    from roadchief.services.funding_quarter import quarter_report

    result = []
    for quarter in range(1, 5):
        report = quarter_report(year, quarter)
        closed = report.get("status") == "closed"
        result.append(
            QuarterMoney(
                quarter,
                Decimal(report["budget"]),
                Decimal(report["payable_total"]) if closed else None,
                Decimal(report["deduction_total"]) if closed else None,
                "已审定" if closed else "未审定",
            )
        )
    return result


def overdue_by_town(today: date) -> list[tuple[str, int]]:
    """Rectifications past their deadline and not handed in (整改逾期, 第二十二条), by the town of the finding."""
    counts: dict[str, int] = defaultdict(int)
    query = (
        select(Rectification, Town.name, Town.code)
        .join(Finding, Rectification.finding_id == Finding.id)
        .join(Segment, Finding.segment_id == Segment.id)
        .join(Town, Segment.town_id == Town.id)
        .where(Rectification.state == scoring.OPEN, Rectification.deadline < today)
    )
    names = {}
    for rect, name, code in db.session.execute(query):
        if scoring.is_overdue(rect.state, rect.deadline, today):
            counts[code] += 1
            names[code] = name
    return [(names[code], counts[code]) for code in sorted(counts)]


@dataclass
class TownResponse:
    town: str
    events: int
    restored: int
    avg_restore: float | None  # hours from occurrence to 抢通
    avg_repair: float | None  # hours from occurrence to 修复


def response_times(user, year: int) -> list[TownResponse]:
    from roadchief.services.events import town_times

    return [TownResponse(t.town.name, t.count, t.restored, t.avg_restore, t.avg_repair) for t in town_times(user, year)]


def overview(user, year: int, today: date) -> dict:
    try:
        money = money_by_quarter(year)
        money_problem = None
    except ServiceError as error:  # no mileage version or parameters for the year
        money, money_problem = [], str(error)
    return {
        "year": year,
        "scores": scores_by_town(year),
        "money": money,
        "money_problem": money_problem,
        "overdue": overdue_by_town(today),
        "responses": response_times(user, year),
    }
