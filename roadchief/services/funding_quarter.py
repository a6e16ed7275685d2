"""A quarter's disbursement (季度拨付, 第十七条, 第二十一条): computed from the scores, reported
(the frozen snapshot once approved), approved (closed) into the ledger, and adjusted afterwards
through the 以奖代补 pool."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from roadchief.domain.clock import beijing_today, iso_beijing
from roadchief.domain.funding import holders_text, quarter_payment
from roadchief.domain.money import format_fen
from roadchief.extensions import db
from roadchief.models import LedgerEntry, QuarterClose, QuarterScore
from roadchief.services import ServiceError
from roadchief.services.audit import current_actor, record_event
from roadchief.services.duties import check_can_approve
from roadchief.services.funding_ledger import _adjustments, _fen, is_settled, pool_balance
from roadchief.services.funding_params import check_period, closed_quarters, params_for
from roadchief.services.funding_plan import (
    _holders_json,
    _km_json,
    _unit_chiefs,
    payee_units,
    quarter_assignments,
    unit_holders,
)
from roadchief.services.transactions import lock_year, unit_of_work


def _scores(year: int, quarter: int) -> dict[str, QuarterScore]:
    return {
        s.unit_key: s
        for s in db.session.scalars(
            select(QuarterScore).where(QuarterScore.year == year, QuarterScore.quarter == quarter)
        )
    }


def _score_text(score: Decimal | None) -> str | None:
    return None if score is None else f"{score:.2f}"


def compute_quarter(year: int, quarter: int) -> dict:
    """The quarter's disbursement as it stands now (not frozen)."""
    params = params_for(year)
    units = payee_units(year, params)
    scores = _scores(year, quarter)
    assignments = quarter_assignments(year, quarter)  # the one query for the chiefs
    chiefs = _unit_chiefs(units, year, quarter, assignments)
    holders = unit_holders(year, 3 * quarter - 2, 3 * quarter, assignments)
    quarter_months = list(range(3 * quarter - 2, 3 * quarter + 1))
    rows = []
    sums = defaultdict(int)
    for unit in units:
        place = unit.place
        base = unit.quarter_bases[quarter - 1]
        recorded = scores.get(place.key)
        score = Decimal(recorded.score_centi).scaleb(-2) if recorded else None
        payment = quarter_payment(base, score, params)
        chief = chiefs.get(place.key)
        held = holders.get(place.key, [])
        withheld = base if payment.provisional else 0
        sums["budget"] += base
        sums["payable"] += payment.payable_fen
        sums["deduction"] += payment.deduction_fen
        sums["withheld"] += withheld
        rows.append(
            {
                "unit_key": place.key,
                "kind": place.kind,
                "town": place.town_name,
                "town_code": place.town_code,
                "village": place.name if place.kind == "village" else None,
                "village_code": place.code if place.kind == "village" else None,
                # 第二十条: the chief(s) whose score and money this is, with their months when replaced
                "chief": holders_text([(c.name, m) for c, m in held], quarter_months)
                or (chief.name if chief else None),
                "chief_id": chief.id if chief else None,
                "chief_title": chief.title if chief else None,
                "chiefs": _holders_json(held),
                "listed_km": _km_json(place),
                "base": format_fen(unit.annual_fen),
                "quarter_base": format_fen(base),
                "score": _score_text(payment.score),
                "grade": payment.grade,
                "factor": None if payment.factor is None else f"{payment.factor:.4f}",
                "deduction": format_fen(payment.deduction_fen),
                "payable": format_fen(payment.payable_fen),
                "withheld": format_fen(withheld),
                "provisional": payment.provisional,
                "note": "待考核" if payment.provisional else "",
                "score_source": recorded.source if recorded else None,
            }
        )
    return {
        "year": year,
        "quarter": quarter,
        "status": "open",
        "provisional": any(r["provisional"] for r in rows),
        "generated_on": beijing_today().isoformat(),
        "closed_by": None,
        "closed_at": None,
        "params": params.to_dict(),
        "budget": format_fen(sums["budget"]),
        "payable_total": format_fen(sums["payable"]),
        "deduction_total": format_fen(sums["deduction"]),
        "withheld_total": format_fen(sums["withheld"]),
        "pool": format_fen(sums["deduction"]),
        "units": rows,
    }


def quarter_report(year: int, quarter: int) -> dict:
    """The frozen snapshot for an approved quarter, else the live computation;
    ledger adjustments made after approval are listed with it."""
    check_period(year, quarter)
    closed = db.session.scalar(select(QuarterClose).where(QuarterClose.year == year, QuarterClose.quarter == quarter))
    if closed is None:
        return compute_quarter(year, quarter)
    report = json.loads(closed.snapshot_json)
    entries = _adjustments(year, quarter)
    names = {u["unit_key"]: u["town"] + (u["village"] or "") for u in report["units"]}
    report.update(
        status="closed",
        closed_by=closed.closed_by,
        closed_at=iso_beijing(closed.closed_at),
        adjustments=[
            {
                "unit_key": e.unit_key,
                "unit": names.get(e.unit_key, e.unit_key),
                "amount": format_fen(e.amount_fen),
                "note": e.note,
                "by": e.created_by,
                "at": iso_beijing(e.created_at),
            }
            for e in entries
        ],
        adjustments_total=format_fen(sum(e.amount_fen for e in entries)),
    )
    return report


def close_quarter(year: int, quarter: int) -> dict:
    """Approve (审定) a quarter: freeze its snapshot and post payments and deductions
    to the ledger, in one transaction. Two approvals at once: one wins, the other is told."""
    check_period(year, quarter)
    with unit_of_work(f"{year} 年第 {quarter} 季度刚刚已被他人审定，请刷新后查看"):
        lock_year(year)  # a concurrent score import or second approval waits, then sees this one
        if db.session.scalar(select(QuarterClose.id).where(QuarterClose.year == year, QuarterClose.quarter == quarter)):
            raise ServiceError(f"{year} 年第 {quarter} 季度已审定，不能重复审定；更正请登记调整分录")
        missing = [q for q in range(1, quarter) if q not in closed_quarters(year)]
        if missing:  # 第十七条 按季度拨付: quarters are approved in order
            raise ServiceError(
                f"{year} 年第 {'、'.join(map(str, missing))} 季度尚未审定，须按季度顺序审定，"
                f"不能先审定第 {quarter} 季度"
            )
        report = compute_quarter(year, quarter)
        pending = [f"{u['town']}{u['village'] or ''}" for u in report["units"] if u["provisional"]]
        if pending:
            raise ServiceError(
                f"{len(pending)} 个单位尚无考核得分（待考核），不能审定：{'、'.join(pending[:10])}"
                + ("……" if len(pending) > 10 else "")
            )
        check_can_approve(year, quarter)  # 不相容职务分离: not whoever set the quarter's scores
        actor = current_actor().name
        report.update(status="closed", closed_by=actor)
        db.session.add(
            QuarterClose(
                year=year, quarter=quarter, closed_by=actor, snapshot_json=json.dumps(report, ensure_ascii=False)
            )
        )
        for unit in report["units"]:
            for kind, amount in (("payment", unit["payable"]), ("deduction", unit["deduction"])):
                db.session.add(
                    LedgerEntry(
                        year=year,
                        quarter=quarter,
                        unit_key=unit["unit_key"],
                        kind=kind,
                        amount_fen=_fen(amount),
                        created_by=actor,
                        note="季度拨付" if kind == "payment" else "考核扣减转入以奖代补资金（第二十四条）",
                    )
                )
    return quarter_report(year, quarter)


MAX_NOTE = 500
MAX_ADJUSTMENT_YUAN = Decimal(10) ** 10  # far above any quarter base; keeps fen inside BIGINT before the real bound


def add_adjustment(year: int, quarter: int, unit_key: str, amount: Decimal, note: str) -> LedgerEntry:
    """A correction after approval is a new ledger entry, never an edit (第十七条 专款专用、独立核算).

    The money moves between the unit and the year's 以奖代补 pool (the 专户): a positive
    amount is paid to the unit from the pool, a negative one returned to it. Bounds: the
    unit's approved payment for the quarter plus its adjustments stays within 0 … its
    frozen quarter base, and the pool never goes negative; refused once the year is settled."""
    check_period(year, quarter)
    note = (note or "").strip()
    if not note:
        raise ServiceError("调整分录须写明原因")
    if len(note) > MAX_NOTE:
        raise ServiceError(f"调整原因不得超过 {MAX_NOTE} 字")
    try:
        amount = Decimal(amount)
    except Exception:
        raise ServiceError(f"金额不正确：{amount!r}") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ServiceError("金额须为有限数，最多两位小数（元）")
    if amount and amount.adjusted() >= MAX_ADJUSTMENT_YUAN.adjusted():  # no arithmetic: 1e999999999 would overflow
        raise ServiceError(f"调整金额过大：{amount}（须小于 {MAX_ADJUSTMENT_YUAN} 元，且不超过该单位本季度基数）")
    if amount == 0:
        raise ServiceError("调整金额不能为 0")
    fen = int(amount.scaleb(2))
    with unit_of_work("该年度台账刚刚已被他人修改，请刷新后重试"):
        lock_year(year)
        if quarter not in closed_quarters(year):
            raise ServiceError("只有已审定的季度才登记调整分录；未审定的季度请直接修改得分")
        if is_settled(year):
            raise ServiceError(f"{year} 年已年终结算，以奖代补资金已分配，不能再登记调整分录")
        report = quarter_report(year, quarter)
        unit = next((u for u in report["units"] if u["unit_key"] == unit_key), None)
        if unit is None:
            raise ServiceError(f"该季度没有单位 {unit_key}")
        name = unit["town"] + (unit["village"] or "")
        base, paid = _fen(unit["quarter_base"]), _fen(unit["payable"])
        adjusted = sum(e.amount_fen for e in _adjustments(year, quarter) if e.unit_key == unit_key)
        after = paid + adjusted + fen
        if after < 0:
            raise ServiceError(
                f"{name} 第 {quarter} 季度实拨 {format_fen(paid)} 元、已调整 {format_fen(adjusted)} 元，"
                f"扣回不能超过已拨金额（最多扣回 {format_fen(paid + adjusted)} 元）"
            )
        if after > base:
            raise ServiceError(
                f"{name} 第 {quarter} 季度基数 {format_fen(base)} 元，补拨后不能超过基数"
                f"（最多补拨 {format_fen(base - paid - adjusted)} 元）"
            )
        pool = pool_balance(year)
        if fen > pool:
            raise ServiceError(f"以奖代补资金池（专户）余额 {format_fen(pool)} 元，不足以补拨 {format_fen(fen)} 元")
        entry = LedgerEntry(
            year=year,
            quarter=quarter,
            unit_key=unit_key,
            kind="adjustment",
            amount_fen=fen,
            note=note,
            created_by=current_actor().name,
        )
        db.session.add(entry)
        db.session.flush()
        record_event(
            db.session,
            "ledger_entry",
            entry.id,
            f"{year} 年第 {quarter} 季度 {name} 调整 {format_fen(fen)} 元（{'补拨' if fen > 0 else '扣回'}，"
            f"经以奖代补资金池）：{note}",
            after={"unit_key": unit_key, "amount": format_fen(fen)},
        )
    return entry
