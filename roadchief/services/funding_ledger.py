"""The 专户 ledger: sums of its entries by kind, the 以奖代补 pool and what it carried in, whether a
year is settled, and the year's ledger with its reconciliation against the frozen quarters."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from roadchief.domain.clock import iso_beijing
from roadchief.domain.money import format_fen
from roadchief.extensions import db
from roadchief.models import LedgerEntry, QuarterClose
from roadchief.services.funding_params import closed_quarters


def _fen(text: str) -> int:
    return int(Decimal(text).scaleb(2))


def _adjustments(year: int, quarter: int | None = None) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.year == year, LedgerEntry.kind == "adjustment")
    if quarter is not None:
        query = query.where(LedgerEntry.quarter == quarter)
    return list(db.session.scalars(query.order_by(LedgerEntry.id)))


def pool_balance(year: int) -> int:
    """The 以奖代补 pool (专户) before the year-end: carried in + deductions − adjustments."""
    return _carried_in(year) + _ledger_sum(year, "deduction") - _ledger_sum(year, "adjustment")


def _ledger_sum(year: int, kind: str) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.year == year, LedgerEntry.kind == kind
            )
        )
        or 0
    )


def _carried_in(year: int) -> int:
    """What the year's pool received from the previous year: its posted carry_in once
    settled, else the previous year's carry_out (第二十四条 结转下年)."""
    if _has_kind(year, "carry_in"):
        return _ledger_sum(year, "carry_in")
    return _ledger_sum(year - 1, "carry_out")


def _has_kind(year: int, kind: str) -> bool:
    return bool(
        db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.year == year, LedgerEntry.kind == kind))
    )


def _has_activity(year: int) -> bool:
    return bool(db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.year == year)))


def is_settled(year: int) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.year == year, LedgerEntry.kind.in_(("reward", "carry_out"))
            )
        )
    )


def ledger(year: int) -> dict:
    """The year's 专户 entries and their checks, against the frozen quarter snapshots
    (never today's register): payments + deductions = approved budgets, and
    payments + adjustments + rewards + carry_out = approved budgets + carry_in once settled."""
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.year == year).order_by(LedgerEntry.id)).all()
    sums = defaultdict(int)
    for e in entries:
        sums[e.kind] += e.amount_fen
    closed = closed_quarters(year)
    snapshots = db.session.scalars(select(QuarterClose).where(QuarterClose.year == year)).all()
    budget_closed = sum(_fen(json.loads(c.snapshot_json)["budget"]) for c in snapshots)
    carried_in = _carried_in(year)
    settled = is_settled(year)
    pool = carried_in + sums["deduction"] - sums["adjustment"]
    out = sums["payment"] + sums["adjustment"] + sums["reward"] + sums["carry_out"]
    return {
        "year": year,
        "closed_quarters": closed,
        "carried_in": format_fen(carried_in),
        "entries": [
            {
                "id": e.id,
                "quarter": e.quarter,
                "unit_key": e.unit_key,
                "kind": e.kind,
                "amount": format_fen(e.amount_fen),
                "note": e.note,
                "by": e.created_by,
                "at": iso_beijing(e.created_at),
            }
            for e in entries
        ],
        "totals": {k: format_fen(v) for k, v in sums.items()},
        "closed_budget": format_fen(budget_closed),
        "settled": settled,
        "pool": format_fen(pool),
        # 专款专用: what was approved for the closed quarters is either paid or in the pool …
        "reconciles": sums["payment"] + sums["deduction"] == budget_closed
        # … the pool is what came in less what left to the units, and once settled it is empty
        and (not settled or (pool == sums["reward"] + sums["carry_out"] and out == budget_closed + carried_in)),
        "pool_balances": pool == sums["reward"] + sums["carry_out"] if settled else pool >= 0,
        "money_out": format_fen(out),
        "money_in": format_fen(budget_closed + carried_in),
    }
