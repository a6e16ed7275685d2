"""Published assessment results (第二十条–第二十三条): chief history, 通报, 评比/考评 ranking, quarter finalisation.

A chief's history and chart, the quarterly bulletin (通报), the half-year / annual ranking (评比、考评), and
finalising a quarter into the funding module.

The scores come from services.chief_scores (who each office assesses and how).

Funding units (town:CODE / station:CODE / village:CODE) get, at finalisation, the mean
of all monthly scores of every chief who held the unit in the quarter (each scored
month weighs the same). A unit with no scored month keeps what it had (an imported
score, or 待考核) and is listed as a coverage gap.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain import permissions as permission_rules
from roadchief.domain import scoring
from roadchief.domain.clock import beijing_today, iso_beijing
from roadchief.domain.grades import FAIR
from roadchief.domain.patrol_proof import DESK_ONLY_LABEL
from roadchief.domain.scoring import LOCAL_TZ, PERIOD_NAMES, Month, month_days, period_months, previous_month
from roadchief.extensions import db
from roadchief.models import Chief, Segment
from roadchief.models.base import utcnow
from roadchief.models.inspections import Finding, Inspection, QuarterFinalisation, Rectification
from roadchief.services import Conflict, ServiceError, funding_params, funding_plan
from roadchief.services import settlement as year_end
from roadchief.services.audit import current_actor, record_event
from roadchief.services.chief_scores import (
    Assessee,
    Assessment,
    _month_text,
    _score_text,
    assess,
    desk_only,
    duty_charges,
    overdue_charges,
    scored_inspections,
    shares_of,
)
from roadchief.services.deduction_catalog import points_text
from roadchief.services.inspection_scope import aware, office_label
from roadchief.services.inspection_segments import segment_label
from roadchief.services.permissions import check_scope
from roadchief.services.transactions import unit_of_work

LEVEL_NAMES = permission_rules.LEVEL_NAMES
SCOPE_LEVELS = permission_rules.ASSESSES

# ================================================================== scopes


def scope_label(scope: str) -> str:
    return office_label(scope) if scope != "city" else "市级路长办公室"


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
    inspections = scored_inspections(months, chief_id=chief.id)
    shares = shares_of(inspections, chief_id=chief.id)
    suspects = desk_only(inspections)
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
            # 一月一督查 not met though scored: the month's only 督查 are 案头检查嫌疑 (第二十一条)
            "desk_only": (chief.id, m) in suspects,
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
    missing = [g for g in gaps if g["months"]]
    desk = [g for g in gaps if g["desk_months"]]
    if missing:
        lines.append(f"{len(missing)} 名路长本季度有月份未接受督查，督查单位须严格落实“一月一督查”（第二十一条）。")
    if desk:
        lines.append(
            f"{len(desk)} 名路长本季度有月份{DESK_ONLY_LABEL}（督查定位远离路段），该月不视为落实“一月一督查”，"
            "督查单位须到路段现场督查（第二十一条）。"
        )
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
        {
            "chief": r["chief"],
            "unit_name": r["unit_name"],
            "level_name": r["level_name"],
            "months": r["gaps"],
            "desk_months": r["desk_gaps"],
        }
        for r in rows
        if r["gaps"] or r["desk_gaps"]
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
