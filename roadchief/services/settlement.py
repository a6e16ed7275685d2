"""Year-end settlement (年终考评, 以奖代补, 第二十三条, 第二十四条): the annual score and grade of
every paid unit, the pool paid to the 优 units by rank, and its approval into the ledger."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from roadchief.domain.funding import RewardCandidate, annual_score, distribute_pool, holders_text
from roadchief.domain.grades import competition_ranks, grade_for
from roadchief.domain.money import format_fen
from roadchief.extensions import db
from roadchief.models import LedgerEntry
from roadchief.services import ServiceError
from roadchief.services.audit import current_actor, record_event
from roadchief.services.funding_ledger import _adjustments, _carried_in, _fen, _has_activity, _has_kind, is_settled
from roadchief.services.funding_params import check_period, closed_quarters, params_for
from roadchief.services.funding_plan import _holders_json, payee_units, unit_holders
from roadchief.services.funding_quarter import _score_text, quarter_report
from roadchief.services.transactions import lock_year, unit_of_work


def settlement(year: int) -> dict:
    """年终考评 and 以奖代补 (第二十三条, 第二十四条): annual score from the quarters,
    grade, and the pool (this year's deductions plus what the last year carried)
    paid to the 优 units by rank within their level; no 优 unit → carried to next year."""
    check_period(year)
    params = params_for(year)
    quarters = [quarter_report(year, q) for q in range(1, 5)]
    units = payee_units(year, params)
    by_key = {q: {u["unit_key"]: u for u in report["units"]} for q, report in enumerate(quarters, start=1)}
    deductions = sum(_fen(r["deduction_total"]) for r in quarters)
    carried_in = _carried_in(year)
    adjustments: dict[str, int] = defaultdict(int)
    for entry in _adjustments(year):
        adjustments[entry.unit_key] += entry.amount_fen
    adjusted = sum(adjustments.values())
    pool = deductions + carried_in - adjusted  # 第二十四条; adjustments are paid from / returned to the pool
    holders = unit_holders(year, 1, 12)
    rows, candidates = [], []
    for unit in units:
        key = unit.place.key
        scores = [by_key[q].get(key, {}).get("score") for q in range(1, 5)]
        annual = annual_score([Decimal(s) if s is not None else None for s in scores], params)
        last = next((by_key[q][key] for q in (4, 3, 2, 1) if key in by_key[q]), {})
        held = holders.get(key, [])
        rows.append(
            {
                "unit_key": key,
                "kind": unit.place.kind,
                "town": unit.place.town_name,
                "village": unit.place.name if unit.place.kind == "village" else None,
                "chief": holders_text([(c.name, m) for c, m in held], range(1, 13)) or last.get("chief"),
                "chief_title": last.get("chief_title"),
                "chiefs": _holders_json(held),
                "adjustments": format_fen(adjustments.get(key, 0)),
                "quarter_scores": scores,
                "annual_score": _score_text(annual),
                "grade": grade_for(annual, params.bands) if annual is not None else None,
                "base": format_fen(unit.annual_fen),
                "deduction": format_fen(
                    sum(_fen(by_key[q][key]["deduction"]) for q in range(1, 5) if key in by_key[q])
                ),
                "paid": format_fen(sum(_fen(by_key[q][key]["payable"]) for q in range(1, 5) if key in by_key[q])),
                "level_rank": None,
                "tier": None,
                "weight": None,
                "reward": "0.00",
            }
        )
        candidates.append(RewardCandidate(key, unit.place.kind, annual, unit.annual_fen))
    shares = {s.key: s for s in distribute_pool(pool, candidates, params)}
    for row in rows:
        share = shares.get(row["unit_key"])
        if share:
            row.update(
                level_rank=share.rank,
                tier=share.tier_index + 1,
                weight=str(share.weight),
                reward=format_fen(share.reward_fen),
            )
    rewards = sum(s.reward_fen for s in shares.values())
    # 排名 within each level: competition ranking on the shown annual score (1, 2, 2, 4), the
    # same rank distribute_pool used for the tier; unscored units have no rank and come last
    for kind in ("town", "station", "village"):
        level = sorted(
            (r for r in rows if r["kind"] == kind),
            key=lambda r: (r["annual_score"] is None, -Decimal(r["annual_score"] or 0), r["unit_key"]),
        )
        for row, rank in zip(level, competition_ranks([r["annual_score"] for r in level])):
            row["rank"] = rank
            if row["level_rank"] is not None:
                assert row["level_rank"] == rank, (row["unit_key"], row["level_rank"], rank)
    rows.sort(
        key=lambda r: (
            {"town": 0, "station": 1, "village": 2}[r["kind"]],
            r["rank"] is None,
            r["rank"] or 0,
            r["unit_key"],
        )
    )
    budget = sum(u.annual_fen for u in units)
    paid = sum(_fen(r["payable_total"]) for r in quarters)
    withheld = sum(_fen(r["withheld_total"]) for r in quarters)
    return {
        "year": year,
        "settled": is_settled(year),
        "quarters_closed": closed_quarters(year),
        "provisional": any(r["provisional"] for r in quarters) or len(closed_quarters(year)) < 4,
        "budget": format_fen(budget),
        "paid_total": format_fen(paid),
        "withheld_total": format_fen(withheld),
        "pool_carried_in": format_fen(carried_in),
        "pool_deductions": format_fen(deductions),
        "pool_adjustments": format_fen(adjusted),
        "adjustments_total": format_fen(adjusted),
        "pool_total": format_fen(pool),
        "rewards_total": format_fen(rewards),
        "carried_out": format_fen(pool - rewards),
        "units": rows,
    }


def approve_settlement(year: int) -> dict:
    """Post the rewards and the carry-over to the ledger once all four quarters are approved."""
    with unit_of_work(f"{year} 年年终结算刚刚已由他人完成"):
        lock_year(year)
        if len(closed_quarters(year)) < 4:
            raise ServiceError(f"{year} 年尚有季度未审定，不能年终结算")
        if is_settled(year):
            raise ServiceError(f"{year} 年已完成年终结算")
        previous = year - 1
        if _has_activity(previous) and not is_settled(previous):
            raise ServiceError(
                f"{previous} 年已有季度审定拨付但尚未年终结算，须先完成 {previous} 年结算，"
                f"其结转资金才能转入 {year} 年（第二十四条）"
            )
        result = settlement(year)
        if _fen(result["pool_total"]) < 0:
            raise ServiceError(f"以奖代补资金池为负（{result['pool_total']} 元），请核对调整分录")
        actor = current_actor().name
        carried_in = _fen(result["pool_carried_in"])
        if carried_in and not _has_kind(year, "carry_in"):
            db.session.add(
                LedgerEntry(
                    year=year,
                    unit_key="pool",
                    kind="carry_in",
                    amount_fen=carried_in,
                    created_by=actor,
                    note=f"{previous} 年以奖代补资金结转转入（第二十四条）",
                )
            )
        for row in result["units"]:
            if _fen(row["reward"]):
                db.session.add(
                    LedgerEntry(
                        year=year,
                        unit_key=row["unit_key"],
                        kind="reward",
                        amount_fen=_fen(row["reward"]),
                        created_by=actor,
                        note="以奖代补（第二十三条）",
                    )
                )
        db.session.add(
            LedgerEntry(
                year=year,
                unit_key="pool",
                kind="carry_out",
                amount_fen=_fen(result["carried_out"]),
                created_by=actor,
                note="以奖代补资金结转下年",
            )
        )
        record_event(
            db.session,
            "settlement",
            year,
            f"{year} 年年终结算",
            after={
                "carried_in": result["pool_carried_in"],
                "deductions": result["pool_deductions"],
                "adjustments": result["pool_adjustments"],
                "rewards": result["rewards_total"],
                "carried_out": result["carried_out"],
            },
        )
    return settlement(year)
