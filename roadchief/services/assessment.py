"""Scores from inspections (扣分制, 第二十条–第二十三条): monthly, quarterly (通报),
half-year (评比) and annual (年终考评) results per chief, the quarterly bulletin, a
chief's history, and finalising a quarter into the funding module.

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

Funding units (town:CODE / station:CODE / village:CODE) get, at finalisation, the mean
of all monthly scores of every chief who held the unit in the quarter (each scored
month weighs the same). A unit with no scored month keeps what it had (an imported
score, or 待考核) and is listed as a coverage gap.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from roadchief.domain import permissions as permission_rules
from roadchief.domain import scoring
from roadchief.domain.clock import beijing_today, iso_beijing
from roadchief.domain.grades import FAIR
from roadchief.domain.scoring import (
    LOCAL_TZ,
    PERIOD_NAMES,
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
from roadchief.models.base import utcnow
from roadchief.models.inspections import Finding, Inspection, InspectionSegment, QuarterFinalisation, Rectification
from roadchief.services import Conflict, ServiceError, funding_params, funding_plan
from roadchief.services import settlement as year_end
from roadchief.services.audit import current_actor, record_event
from roadchief.services.deduction_catalog import catalog_for, points_text
from roadchief.services.inspection_scope import MAINTAINER_POSITIONS, aware, office_label
from roadchief.services.inspection_segments import segment_label
from roadchief.services.permissions import check_scope
from roadchief.services.transactions import unit_of_work

LEVEL_NAMES = permission_rules.LEVEL_NAMES
SCOPE_LEVELS = permission_rules.ASSESSES


def _month_text(month: Month) -> str:
    return f"{month[0]}-{month[1]:02d}"


def _score_text(score: Decimal | None) -> str | None:
    return None if score is None else f"{score:.2f}"


def _window(months: tuple[Month, ...]) -> tuple[datetime, datetime]:
    start = datetime.combine(month_days(months[0])[0], datetime.min.time(), tzinfo=LOCAL_TZ)
    return start, month_end_moment(months[-1])


# ================================================================== scopes


def scope_label(scope: str) -> str:
    return office_label(scope) if scope != "city" else "市级路长办公室"


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
    return Assessment(scope, year, period, months, assessees, results, inspections, charges, duty)


def chief_scope(chief: Chief) -> str | None:
    """The office assessing a chief's post (第二十条), from his latest village assignment for a 村级路长."""
    if chief.position in ("town", "station"):
        return "city"
    if chief.position == "village":
        for a in sorted(chief.assignments, key=lambda a: a.start_date, reverse=True):
            if a.scope_kind == "village":
                return f"town:{a.village.town.code}"
    return None


def chief_history(chief: Chief, last: Month, count: int = 12, today: date | None = None) -> list[dict]:
    """The chief's monthly scores for ``count`` months up to ``last`` (None where no 督查)."""
    months = [last]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    months = tuple(reversed(months))
    shares = shares_of(scored_inspections(months, chief_id=chief.id), chief_id=chief.id)
    scope = chief_scope(chief)
    duty = duty_charges(months, scope=scope, chief_id=chief.id, today=today) if scope else []
    scores = scoring.month_scores(shares, overdue_charges(months, chief_id=chief.id, today=today), duty)
    return [
        {
            "month": _month_text(m),
            "label": f"{m[1]}月" if m[1] != 1 else f"{m[0]}年1月",
            "duty": [
                {"reason": c.reason, "code": c.item.code, "points": points_text(c.item.points_centi)}
                for c in duty
                if c.month == m
            ],
            "centi": scores[(chief.id, m)].score_centi if (chief.id, m) in scores else None,
            "score": _score_text(Decimal(scores[(chief.id, m)].score_centi).scaleb(-2))
            if (chief.id, m) in scores
            else None,
            "inspected": (chief.id, m) in scores and scores[(chief.id, m)].inspected,
        }
        for m in months
    ]


def quarter_scores(history: list[dict], year: int) -> list[dict]:
    """The year's quarterly scores from a chief's monthly history (mean of the scored months)."""
    rows = []
    for quarter in range(1, 5):
        wanted = {_month_text(m) for m in period_months(year, f"Q{quarter}")}
        monthly = [h["centi"] for h in history if h["month"] in wanted and h["centi"] is not None]
        score = scoring.period_score(monthly)
        rows.append({"quarter": quarter, "score": _score_text(score), "grade": scoring.grade(score)})
    return rows


def chart(history: list[dict], width: int = 340, height: int = 160) -> dict:
    """Coordinates for the server-rendered SVG line chart (scores 0–100 on the y axis)."""
    left, right, top, bottom = 30, 8, 10, 24
    step = (width - left - right) / max(1, len(history) - 1)
    points = []
    for i, h in enumerate(history):
        x = round(left + i * step, 1)
        y = (
            None
            if h["score"] is None
            else round(top + (100 - float(Decimal(h["score"]))) / 100 * (height - top - bottom), 1)
        )
        points.append({**h, "x": x, "y": y})
    path = " ".join(f"{p['x']},{p['y']}" for p in points if p["y"] is not None)
    grid = [{"value": v, "y": round(top + (100 - v) / 100 * (height - top - bottom), 1)} for v in (100, 85, 70, 50, 0)]
    return {
        "width": width,
        "height": height,
        "points": points,
        "path": path,
        "grid": grid,
        "base": height - bottom + 14,
    }


# ================================================================== the quarterly bulletin (通报)


def _problems(inspections: list[Inspection], limit: int = 10) -> list[dict]:
    counts: Counter = Counter()
    quantity: Counter = Counter()
    items = {}
    for inspection in inspections:
        for f in inspection.findings:
            if f.quantity > 0:
                counts[f.item.code] += 1
                quantity[f.item.code] += f.quantity
                items[f.item.code] = f.item
    return [
        {
            "code": code,
            "text": items[code].text,
            "category": items[code].category,
            "count": n,
            "quantity": quantity[code],
            "unit": items[code].rule().unit_label,
        }
        for code, n in sorted(counts.items(), key=lambda p: (-p[1], p[0]))[:limit]
    ]


def overdue_at(scope: str, day: date) -> list[dict]:
    """Rectifications from the scope's inspections still open at the end of ``day`` with
    their deadline already past (整改逾期), with the days overdue on that day."""
    moment = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
    query = (
        select(Rectification)
        .join(Finding, Rectification.finding_id == Finding.id)
        .join(Inspection, Finding.inspection_id == Inspection.id)
        .where(
            Inspection.office_key == scope,
            Inspection.inspected_at < moment,
            Finding.quantity > 0,
            Rectification.deadline < day,
        )
        .options(
            selectinload(Rectification.events),
            selectinload(Rectification.chief),
            selectinload(Rectification.finding).selectinload(Finding.item),
            selectinload(Rectification.finding).selectinload(Finding.segment).selectinload(Segment.road),
        )
        .order_by(Rectification.deadline, Rectification.id)
    )
    rows = []
    for rect in db.session.scalars(query):
        if scoring.state_at([(aware(e.at), e.action) for e in rect.events], moment) == scoring.OPEN:
            rows.append(
                {
                    "id": rect.id,
                    "chief": rect.chief.name if rect.chief else "（未指定）",
                    "item": rect.finding.item.text,
                    "segment": segment_label(rect.finding.segment),
                    "deadline": rect.deadline.isoformat(),
                    "days": (day - rect.deadline).days,
                }
            )
    return rows


def _requirements(year: int, quarter: int, rows: list[dict], overdue: list[dict], gaps: list[dict]) -> list[str]:
    lines = []
    fair = [r for r in rows if r["grade"] == FAIR]
    if fair:
        lines.append(
            f"得分为“一般”的 {len(fair)} 名路长（{'、'.join(r['unit_name'] + r['chief'] for r in fair[:8])}"
            f"{'等' if len(fair) > 8 else ''}）要对照扣分问题逐项整改，按考核结果扣减相应养护经费（第二十三条）。"
        )
    if overdue:
        lines.append(f"尚有 {len(overdue)} 处整改逾期，责任路长须立即整改并上传整改后照片，逾期每月按“整改逾期”扣分。")
    if gaps:
        lines.append(f"{len(gaps)} 名路长本季度有月份未接受督查，督查单位须严格落实“一月一督查”（第二十一条）。")
    following = quarter % 4 + 1
    if following in (2, 3):
        lines.append(
            "汛期将至，各级路长要坚持雨前、雨中、雨后巡查，完善应急物资储备（第十三条）；"
            "道路中断时按“先抢通，后修复”组织抢通，难以恢复的设立警示标志并告知绕行路线（第十四条）。"
        )
    else:
        lines.append("冬季来临，各级路长要及时清除积雪，撒铺防滑砂、融雪剂，确保公路行车安全（第十三条）。")
    lines.append(
        "各级路长要经常保持路面平整、干净整洁，路基完好稳定，桥涵完好畅通，沿线设施齐全醒目（第十条）；"
        "市级路长办公室将依据考核结果按季度拨付养护经费（第十七条、第二十一条）。"
    )
    return lines


def bulletin(scope: str, year: int, quarter: int, today: date | None = None) -> dict:
    """关于YYYY年第N季度农村公路“路长制”考核情况的通报 (docs/office-formats.md), as data
    for the page, the PDF and the XLSX."""
    today = today or beijing_today()
    result = assess(scope, year, f"Q{quarter}", today=today)
    rows = result.rows()
    segments = {s.segment_id: s.segment for i in result.inspections for s in i.segments}
    findings = [f for i in result.inspections for f in i.findings if f.quantity > 0]
    overdue = overdue_at(scope, min(month_days(result.months[-1])[1], today))  # at the quarter's end, or today
    gaps = [
        {"chief": r["chief"], "unit_name": r["unit_name"], "level_name": r["level_name"], "months": r["gaps"]}
        for r in rows
        if r["gaps"]
    ]
    names = {r["chief_id"]: (r["chief"], r["unit_name"]) for r in rows}
    duty = [
        {
            "chief": names.get(c.chief_id, ("", ""))[0],
            "unit_name": names.get(c.chief_id, ("", ""))[1],
            "month": _month_text(c.month),
            "code": c.item.code,
            "points": points_text(c.item.points_centi),
            "reason": c.reason,
        }
        for c in result.duty
    ]
    scored = [Decimal(r["score"]) for r in rows if r["score"] is not None]
    done = finalisation(scope, year, quarter)
    levels = []
    for level in SCOPE_LEVELS[scope.partition(":")[0]]:
        levels.append({"level": level, "name": LEVEL_NAMES[level], "rows": [r for r in rows if r["level"] == level]})
    return {
        "scope": scope,
        "issuer": scope_label(scope),
        "year": year,
        "quarter": quarter,
        "title": f"关于{year}年第{quarter}季度农村公路“路长制”考核情况的通报",
        "date": today.isoformat(),
        "finalised": done is not None,
        "finalised_at": iso_beijing(done.finalised_at) if done else None,
        "overview": {
            "inspections": len(result.inspections),
            "segments": len(segments),
            "km": f"{Decimal(sum(s.listed_m for s in segments.values())).scaleb(-3):.3f}",
            "findings": len(findings),
            "chiefs": len(rows),
            "scored": len(scored),
            "average": _score_text(scoring.period_score([int(s * 100) for s in scored])) if scored else None,
            "grades": {g: sum(1 for r in rows if r["grade"] == g) for g in ("优", "良", "一般")},
            "overdue_charges": len(result.charges),
            "duty_charges": len(result.duty),
        },
        "levels": levels,
        "problems": _problems(result.inspections),
        "overdue": overdue,
        "gaps": gaps,
        "duty": duty,
        "requirements": _requirements(year, quarter, rows, overdue, gaps),
    }


def ranking(scope: str, year: int, period: str, today: date | None = None) -> dict:
    """半年评比 (H1/H2) or 年终考评 (Y): each chief's quarterly scores and the period score."""
    quarters = {"H1": (1, 2), "H2": (3, 4), "Y": (1, 2, 3, 4)}[period]
    main = assess(scope, year, period, today=today)
    by_quarter = {q: {r["chief_id"]: r for r in assess(scope, year, f"Q{q}", today=today).rows()} for q in quarters}
    rows = main.rows()
    for row in rows:
        row["quarters"] = [by_quarter[q].get(row["chief_id"], {}).get("score") for q in quarters]
    money = _settlement_money(year) if period == "Y" else {}
    for row in rows:
        row["money"] = money.get(row["unit_key"])
    return {
        "scope": scope,
        "issuer": scope_label(scope),
        "year": year,
        "period": period,
        "period_name": PERIOD_NAMES[period],
        "quarters": list(quarters),
        "title": f"{year}年{'农村公路“路长制”年终考评结果' if period == 'Y' else PERIOD_NAMES[period] + '农村公路“路长制”考核评比'}",
        "levels": [
            {"level": lv, "name": LEVEL_NAMES[lv], "rows": [r for r in rows if r["level"] == lv]}
            for lv in SCOPE_LEVELS[scope.partition(":")[0]]
        ],
    }


def _settlement_money(year: int) -> dict[str, str]:
    """以奖代补 / 扣减 per funding unit from the funding module's settlement, when it can be computed."""
    try:
        result = year_end.settlement(year)
    except ServiceError:
        return {}
    return {
        u["unit_key"]: f"+{u['reward']} / −{u['deduction']}"
        for u in result["units"]
        if u["reward"] != "0.00" or u["deduction"] != "0.00"
    }


# ================================================================== finalising a quarter


def finalisation(scope: str, year: int, quarter: int) -> QuarterFinalisation | None:
    return db.session.scalar(
        select(QuarterFinalisation).where(
            QuarterFinalisation.year == year,
            QuarterFinalisation.quarter == quarter,
            QuarterFinalisation.scope_key == scope,
        )
    )


def unit_scores(result: Assessment) -> tuple[dict[str, tuple[int, int | None]], list[str]]:
    """unit_key → (score in hundredths, chief holding it at the end), and the units without any scored month."""
    by_unit: dict[str, list[Assessee]] = defaultdict(list)
    for who in result.assessees.values():
        if who.unit_key:
            by_unit[who.unit_key].append(who)
    scores, unscored = {}, []
    for unit_key, holders in sorted(by_unit.items()):
        pooled = scoring.pooled_score(result.results[h.chief.id] for h in holders if h.chief.id in result.results)
        if pooled is None:
            unscored.append(unit_key)
            continue
        last = max(holders, key=lambda h: (h.held_until or date.min, h.chief.id))
        scores[unit_key] = (scoring.to_centi(pooled), last.chief.id)
    return scores, unscored


def finalise_quarter(scopes: list[str], year: int, quarter: int, today: date | None = None) -> dict:
    """Write each scope's unit scores into the funding module (replacing imported ones;
    QuarterScore changes are audited and an event names the finalisation) and freeze the
    scope's 督查 of the quarter, all in one transaction. Refused when the funding quarter
    is already approved. Finalising again (after a correction) rewrites the scores as
    source "correction"."""
    from roadchief.services.scores import set_unit_score

    funding_params.check_period(year, quarter)
    if quarter in funding_params.closed_quarters(year):
        raise Conflict(f"{year} 年第 {quarter} 季度经费已审定拨付，不能再定稿考核得分；更正请登记调整分录")
    try:
        payable = {u.place.key for u in funding_plan.payee_units(year)}
    except ServiceError as error:
        raise ServiceError(f"无法定稿：{error}") from None
    report = {}
    with unit_of_work():
        for scope in scopes:
            check_scope(scope)
            if scope.startswith("chief:"):
                raise ServiceError("路段管养责任人的得分不参与经费拨付，无需定稿")
            result = assess(scope, year, f"Q{quarter}", today=today)
            scores, unscored = unit_scores(result)
            done = finalisation(scope, year, quarter)
            source = "correction" if done else "inspection"
            written = {}
            for unit_key, (centi, chief_id) in scores.items():
                if unit_key in payable:
                    set_unit_score(year, quarter, unit_key, centi, chief_id, source=source)
                    written[unit_key] = f"{Decimal(centi).scaleb(-2):.2f}"
            if done is None:
                done = QuarterFinalisation(
                    year=year, quarter=quarter, scope_key=scope, finalised_by=current_actor().name, scores_json="{}"
                )
                db.session.add(done)
            else:
                done.revision += 1
                done.finalised_by, done.finalised_at = current_actor().name, utcnow()
            done.scores_json = json.dumps(written, ensure_ascii=False, sort_keys=True)
            db.session.flush()
            for inspection in result.inspections:
                inspection.frozen, inspection.finalisation_id = True, done.id
            record_event(
                db.session,
                "quarter_finalisation",
                done.id,
                f"{scope_label(scope)} {year} 年第 {quarter} 季度考核定稿（第 {done.revision} 次），"
                f"写入经费模块 {len(written)} 个单位得分（来源 {source}），冻结督查 {len(result.inspections)} 次",
                after={"scope": scope, "scores": written, "unscored": unscored},
            )
            report[scope] = {
                "written": written,
                "unscored": unscored,
                "frozen": len(result.inspections),
                "revision": done.revision,
            }
    return report
