"""Who each office assesses, and each chief's scores from inspections (扣分制, 第二十条–第二十三条).

Monthly, quarterly, half-year and annual results per chief; the published outputs built on them are in
services.assessment.

Scopes — who assesses whom (第二十条); each office sees and scores only its own:

* "city": the city office assesses the 镇级路长 and 公路站路长;
* "town:CODE": that town's office assesses its 村级路长;
* "chief:ID": a 村级路长 assesses the 路段管养责任人 of his village (listed, never paid).

A chief's monthly score comes only from the 督查 of the office assessing his post: each
inspection's segments name the chief assessed for them on its date (see
services.inspections), so a chief replaced mid-month is scored for the days he served
and his successor for the rest; both have a monthly score if both were inspected.

Seasonal duty (第十三条): a 汛期/冬季 window period that ended in a month without the
expected 雨前/雨中/雨后 or 除雪/撒砂 records on a segment charges the catalog's LZ02 / LZ03
to the chief assessed for that segment (services.seasonal names him by the 督查 rule, so
the 村级路长 of a 村道 falls in the town office's scope, the 镇级/公路站路长 in the city's)
in that month: once per chief × period × missing record (domain.scoring.duty_charges).
Like 整改逾期, these system charges are capped together per chief and month, make the
month scored, and leave it a coverage gap when no 督查 happened.

一月一督查 and proof of patrol (第二十一条, domain.patrol_proof.month_duty_met): a month whose
only 督查 are desk-inspection suspects (案头检查嫌疑) still scores (the office decides), but is
listed apart as a gap, ``desk_gaps`` (仅有案头检查嫌疑的督查).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from roadchief.domain import patrol_proof, scoring
from roadchief.domain import permissions as permission_rules
from roadchief.domain.clock import beijing_today
from roadchief.domain.scoring import (
    LOCAL_TZ,
    SCORED_KINDS,
    DutyCharge,
    FindingLine,
    Month,
    OverdueCharge,
    PeriodResult,
    Share,
    month_days,
    month_end_moment,
    month_of,
    next_month,
    period_months,
    previous_month,
)
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Segment, Town, Village
from roadchief.models.inspections import Finding, Inspection, InspectionSegment, Rectification
from roadchief.services import funding_params
from roadchief.services.deduction_catalog import catalog_for, points_text
from roadchief.services.inspection_scope import MAINTAINER_POSITIONS, aware
from roadchief.services.permissions import check_scope

LEVEL_NAMES = permission_rules.LEVEL_NAMES


def _month_text(month: Month) -> str:
    return f"{month[0]}-{month[1]:02d}"


def _score_text(score: Decimal | None) -> str | None:
    return None if score is None else f"{score:.2f}"


def _window(months: tuple[Month, ...]) -> tuple[datetime, datetime]:
    start = datetime.combine(month_days(months[0])[0], datetime.min.time(), tzinfo=LOCAL_TZ)
    return start, month_end_moment(months[-1])


# ================================================================== who is assessed


@dataclass
class Assessee:
    chief: Chief
    level: str
    unit_key: str | None
    unit_name: str
    expected: set[Month] = field(default_factory=set)
    held_until: date | None = None  # the last day in the period the chief held the unit


def _months_between(first: date, last: date, months: tuple[Month, ...]) -> set[Month]:
    return {m for m in months if month_days(m)[0] <= last and first <= month_days(m)[1]}


def population(scope: str, months: tuple[Month, ...]) -> dict[int, Assessee]:
    """Chiefs the scope assesses who held their post on some day of the months, with
    those months (一月一督查 expects a 督查 in each)."""
    kind, _, code = scope.partition(":")
    first, last = month_days(months[0])[0], month_days(months[-1])[1]
    query = (
        select(ChiefAssignment)
        .join(Chief)
        .options(
            selectinload(ChiefAssignment.chief),
            selectinload(ChiefAssignment.town),
            selectinload(ChiefAssignment.station),
            selectinload(ChiefAssignment.village).selectinload(Village.town),
            selectinload(ChiefAssignment.segment),
        )
        .where(
            ChiefAssignment.start_date <= last,
            or_(ChiefAssignment.end_date.is_(None), ChiefAssignment.end_date >= first),
        )
    )
    if kind == "city":
        query = query.where(
            or_(
                (ChiefAssignment.scope_kind == "town") & (Chief.position == "town"),
                (ChiefAssignment.scope_kind == "station") & (Chief.position == "station"),
            )
        )
    elif kind == "town":
        query = (
            query.join(Village, ChiefAssignment.village_id == Village.id)
            .join(Town, Village.town_id == Town.id)
            .where(ChiefAssignment.scope_kind == "village", Chief.position == "village", Town.code == code)
        )
    else:
        village_ids = [
            a.village_id
            for a in db.session.scalars(
                select(ChiefAssignment).where(
                    ChiefAssignment.chief_id == int(code), ChiefAssignment.scope_kind == "village"
                )
            )
        ]
        query = query.outerjoin(Segment, ChiefAssignment.segment_id == Segment.id).where(
            Chief.position.in_(MAINTAINER_POSITIONS),
            or_(Segment.village_id.in_(village_ids), ChiefAssignment.village_id.in_(village_ids)),
        )
    found: dict[int, Assessee] = {}
    for a in db.session.scalars(query):
        if a.scope_kind == "town":
            level, key, name = "town", f"town:{a.town.code}", a.town.name
        elif a.scope_kind == "station":
            level, key, name = "station", f"station:{a.station.code}", a.station.name
        elif a.scope_kind == "village" and a.chief.position == "village":
            level, key, name = "village", f"village:{a.village.code}", f"{a.village.town.name}{a.village.name}"
        else:
            level, key, name = "maintainer", None, a.chief.title or a.chief.name
        entry = found.setdefault(a.chief_id, Assessee(a.chief, level, key, name))
        until = min(last, a.end_date or last)
        entry.expected |= _months_between(max(first, a.start_date), until, months)
        entry.held_until = max(entry.held_until or until, until)
    return found


# ================================================================== shares and charges


def scored_inspections(
    months: tuple[Month, ...], scope: str | None = None, chief_id: int | None = None
) -> list[Inspection]:
    start, end = _window(months)
    query = (
        select(Inspection)
        .where(Inspection.kind.in_(SCORED_KINDS), Inspection.inspected_at >= start, Inspection.inspected_at < end)
        .options(
            selectinload(Inspection.segments).selectinload(InspectionSegment.segment),
            selectinload(Inspection.findings).selectinload(Finding.item),
        )
        .order_by(Inspection.inspected_at, Inspection.id)
    )
    if scope is not None:
        query = query.where(Inspection.office_key == scope)
    if chief_id is not None:
        query = query.where(Inspection.segments.any(InspectionSegment.chief_id == chief_id))
    return list(db.session.scalars(query))


def shares_of(inspections: list[Inspection], chief_id: int | None = None) -> list[Share]:
    """Each inspection split by the chiefs it assessed; a chief with no finding still had his 督查."""
    shares = []
    for inspection in inspections:
        day = scoring.local_date(aware(inspection.inspected_at))
        chiefs = sorted({s.chief_id for s in inspection.segments if s.chief_id is not None})
        for cid in chiefs:
            if chief_id is not None and cid != chief_id:
                continue
            lines = tuple(
                FindingLine(f.item.rule(), f.quantity)
                for f in inspection.findings
                if f.chief_id == cid and f.quantity > 0
            )
            shares.append(Share(inspection.id, cid, day, lines))
    return shares


def overdue_charges(
    months: tuple[Month, ...], scope: str | None = None, chief_id: int | None = None, today: date | None = None
) -> list[OverdueCharge]:
    """整改逾期 charged in the months: for each month end (before the period's last month,
    and already past) that found a rectification of a 督查 still open after its
    deadline, the catalog's 整改逾期 points in the next month, to the chief it is assigned to."""
    today = today or beijing_today()
    until = min(previous_month(month_of(today)), previous_month(months[-1]))  # month ends already past
    if until < previous_month(months[0]):
        return []
    query = (
        select(Rectification)
        .join(Finding, Rectification.finding_id == Finding.id)
        .join(Inspection, Finding.inspection_id == Inspection.id)
        .where(
            Inspection.kind.in_(SCORED_KINDS),
            Rectification.chief_id.is_not(None),
            Rectification.deadline <= month_days(until)[1],
            Finding.quantity > 0,
        )
        .options(
            selectinload(Rectification.events), selectinload(Rectification.finding).selectinload(Finding.inspection)
        )
    )
    if scope is not None:
        query = query.where(Inspection.office_key == scope)
    if chief_id is not None:
        query = query.where(Rectification.chief_id == chief_id)
    wanted = set(months)
    items = {}
    charges = []
    for rect in db.session.scalars(query):
        events = [(aware(e.at), e.action) for e in rect.events]
        for month in scoring.overdue_month_ends(
            aware(rect.finding.inspection.inspected_at), rect.deadline, events, until
        ):
            charged = next_month(month)
            if charged in wanted:
                if charged[0] not in items:
                    items[charged[0]] = next(
                        i.rule() for i in catalog_for(charged[0]).items if i.code == scoring.OVERDUE_CODE
                    )
                charges.append(OverdueCharge(rect.id, rect.chief_id, charged, items[charged[0]]))
    return charges


def duty_charges(
    months: tuple[Month, ...], scope: str | None = None, chief_id: int | None = None, today: date | None = None
) -> list[DutyCharge]:
    """履职 charges (LZ02 / LZ03) of the seasonal duty gaps of window periods that ended
    in the months (and before today), for the chiefs the scope assesses (or one chief)."""
    from roadchief.services import seasonal

    if scope is not None and scope.startswith("chief:"):
        return []  # 路段管养责任人 are not named for duty gaps
    today = today or beijing_today()
    lines = seasonal.gap_lines(month_days(months[0])[0], month_days(months[-1])[1], today, scope, chief_id)
    by_year: dict[int, list] = defaultdict(list)
    for line in lines:
        by_year[line.period_end.year].append(line)
    charges = []
    for year, found in sorted(by_year.items()):
        catalog = {i.code: i.rule() for i in catalog_for(year).items}
        charges += scoring.duty_charges(found, catalog)
    return charges


def desk_only(inspections: list[Inspection]) -> set[tuple[int, Month]]:
    """(chief, month) pairs whose 督查 among ``inspections`` are all desk-inspection suspects
    (一月一督查 not met, 第二十一条, domain.patrol_proof.month_duty_met); a 督查's distance is
    its nearest segment's, as the office's 案头检查嫌疑 list (services.patrol_views) measures it."""
    from roadchief.services.patrol_rules import rules_for

    distances: dict[tuple[int, Month], list[int | None]] = defaultdict(list)
    for inspection in inspections:
        month = month_of(scoring.local_date(aware(inspection.inspected_at)))
        known = [s.distance_m for s in inspection.segments if s.distance_m is not None]
        nearest = min(known) if known else None
        for cid in {s.chief_id for s in inspection.segments if s.chief_id is not None}:
            distances[(cid, month)].append(nearest)
    rules = {year: rules_for(year) for year in {m[0] for _, m in distances}}
    return {key for key, found in distances.items() if not patrol_proof.month_duty_met(found, rules[key[1][0]])}


# ================================================================== results


@dataclass
class Assessment:
    scope: str
    year: int
    period: str
    months: tuple[Month, ...]
    assessees: dict[int, Assessee]
    results: dict[int, PeriodResult]
    inspections: list[Inspection]
    charges: list[OverdueCharge]
    duty: list[DutyCharge] = field(default_factory=list)
    desk_only: dict[int, tuple[Month, ...]] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One row per chief: ranked within each level by score (competition ranking, unscored last)."""
        rows = []
        for cid, result in self.results.items():
            who = self.assessees.get(cid)
            chief = who.chief if who else db.session.get(Chief, cid)
            level = who.level if who else ("maintainer" if chief.position in MAINTAINER_POSITIONS else chief.position)
            score = result.score
            rows.append(
                {
                    "chief_id": cid,
                    "chief": chief.name,
                    "title": chief.title,
                    "level": level,
                    "level_name": LEVEL_NAMES.get(level, level),
                    "unit_key": who.unit_key if who else None,
                    "unit_name": who.unit_name if who else (chief.title or chief.name),
                    "score": _score_text(score),
                    "grade": result.grade,
                    "deduction": points_text(result.deduction_centi) or "0",
                    "months": [
                        {
                            "month": _month_text(m),
                            "score": _score_text(Decimal(s.score_centi).scaleb(-2)),
                            "inspections": s.inspections,
                            "overdue": s.overdue,
                            "duty": s.duty,
                            "reasons": list(s.reasons),
                            "deduction": points_text(s.deduction_centi) or "0",
                        }
                        for m, s in sorted(result.monthly.items())
                    ],
                    "gaps": [_month_text(m) for m in result.gaps],
                    # 一月一督查 not met: the month's only 督查 are 案头检查嫌疑 (still scored)
                    "desk_gaps": [_month_text(m) for m in self.desk_only.get(cid, ())],
                }
            )
        order = {level: i for i, level in enumerate(LEVEL_NAMES)}
        rows.sort(
            key=lambda r: (order.get(r["level"], 9), r["score"] is None, -Decimal(r["score"] or 0), r["unit_name"])
        )
        for level in {r["level"] for r in rows}:
            previous, rank = None, 0
            for place, row in enumerate((r for r in rows if r["level"] == level), start=1):
                if row["score"] is None:
                    row["rank"] = None
                    continue
                if row["score"] != previous:
                    rank, previous = place, row["score"]
                row["rank"] = rank
        return rows


def assess(scope: str, year: int, period: str, today: date | None = None) -> Assessment:
    """Every assessed chief's monthly scores, period score, grade and coverage gaps."""
    funding_params.check_period(year)
    check_scope(scope)
    months = period_months(year, period)
    assessees = population(scope, months)
    inspections = scored_inspections(months, scope=scope)
    charges = overdue_charges(months, scope=scope, today=today)
    duty = duty_charges(months, scope=scope, today=today)
    scores = scoring.month_scores(shares_of(inspections), charges, duty)
    chief_ids = set(assessees) | {cid for cid, _ in scores}
    weights = funding_params.params_for(
        year
    ).quarter_weights  # 第二十一条 年终汇总: one definition (grades.combined_score)
    results = {
        cid: scoring.period_result(cid, months, scores, assessees[cid].expected if cid in assessees else (), weights)
        for cid in chief_ids
    }
    suspects = desk_only(inspections)
    desk_months = {cid: tuple(m for m in months if (cid, m) in suspects) for cid in results}
    desk_months = {cid: found for cid, found in desk_months.items() if found}
    return Assessment(scope, year, period, months, assessees, results, inspections, charges, duty, desk_months)
