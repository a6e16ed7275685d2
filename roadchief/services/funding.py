"""Maintenance funding use cases: plan, quarterly disbursement, quarter close,
year-end settlement and the 专户 ledger (第十五条–第十八条, 第二十一条–第二十四条).

Money stays in integer fen from the database to the JSON/PDF; the JSON carries
strings with two decimals. Where an amount is split (the rows of a plan, the four
quarters, the reward tiers) the largest-remainder method makes the parts add up
to the whole to the fen (see roadchief.domain.money).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from roadchief.domain.clock import beijing_today, iso_beijing
from roadchief.domain.funding import (FundingParams, PolicyError, RewardCandidate, annual_score, default_params,
                                      distribute_pool, holders_text, plan_allocation, quarter_payment, split_quarters)
from roadchief.domain.grades import competition_ranks, grade_for
from roadchief.domain.money import format_fen
from roadchief.extensions import db
from roadchief.models import (FundingParamsRevision, LedgerEntry, MileageVersion, QuarterClose, QuarterScore, Road,
                              Segment, SegmentMileage, Station, Town, Village)
from roadchief.services import ServiceError
from roadchief.services.audit import current_actor, record_event
from roadchief.services.chiefs import AssignmentIndex
from roadchief.services.network import km_text
from roadchief.services.transactions import lock_year, unit_of_work
from roadchief.services.units import UNIT_POSITION

KM_CLASSES = ("镇道", "村道")
QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def quarter_end(year: int, quarter: int) -> date:
    month, day = QUARTER_END[quarter]
    return date(year, month, day)


def check_period(year: int, quarter: int | None = None) -> None:
    if not 2000 <= year <= 2100:
        raise ServiceError(f"年度不正确：{year}")
    if quarter is not None and quarter not in QUARTER_END:
        raise ServiceError(f"季度应为 1–4：{quarter}")


# ---------------------------------------------------------------- parameters

def params_for(year: int) -> FundingParams:
    """The year's parameters in force: its latest revision, else the measures' defaults."""
    row = db.session.scalar(select(FundingParamsRevision).where(FundingParamsRevision.year == year)
                            .order_by(FundingParamsRevision.revision.desc()).limit(1))
    return FundingParams.from_dict(json.loads(row.params_json)) if row else default_params(year)


def legacy_pass_score(year: int):
    """A stored revision's old pass_score when it differs from its 良 band (no longer used)."""
    from roadchief.domain.funding import legacy_pass_score as legacy
    row = db.session.scalar(select(FundingParamsRevision).where(FundingParamsRevision.year == year)
                            .order_by(FundingParamsRevision.revision.desc()).limit(1))
    return legacy(json.loads(row.params_json)) if row else None


def params_history(year: int) -> list[FundingParamsRevision]:
    return db.session.scalars(select(FundingParamsRevision).where(FundingParamsRevision.year == year)
                              .order_by(FundingParamsRevision.revision.desc())).all()


def closed_quarters(year: int) -> list[int]:
    return sorted(db.session.scalars(select(QuarterClose.quarter).where(QuarterClose.year == year)))


def current_revision(year: int) -> int:
    return db.session.scalar(select(func.max(FundingParamsRevision.revision)).where(FundingParamsRevision.year == year)) or 0


def set_params(year: int, changes: dict, based_on_revision: int | None = None) -> FundingParams:
    """Store a new revision of a year's parameters. Refused once a quarter of that year is
    closed, and — when the caller says which revision it edited — if someone saved since."""
    check_period(year)
    with unit_of_work("该年度参数刚刚已被他人修改，请刷新后重试"):
        lock_year(year)
        if based_on_revision is not None and current_revision(year) != based_on_revision:
            raise ServiceError("该年度参数刚刚已被他人修改，请刷新后查看最新参数再修改")
        if closed_quarters(year):
            raise ServiceError(f"{year} 年已有季度审定拨付，参数不可再修改（第十七条 按季度拨付，已拨付数据冻结）")
        data = {**params_for(year).to_dict(), **changes, "year": year}
        try:
            params = FundingParams.from_dict(data)
        except (PolicyError, ValueError, TypeError) as error:
            raise ServiceError(str(error)) from None
        revision = current_revision(year) + 1
        db.session.add(FundingParamsRevision(year=year, revision=revision, created_by=current_actor().name,
                                             params_json=json.dumps(params.to_dict(), ensure_ascii=False, sort_keys=True)))
    return params


# ---------------------------------------------------------------- mileage by unit

def mileage_version_for(year: int) -> MileageVersion:
    """The version in force on 1 January of the year; failing that, the first one
    that took effect during the year (列养里程每两年调整一次, 第十五条)."""
    from roadchief.domain.mileage import version_in_force
    dates = db.session.scalars(select(MileageVersion.effective_from)).all()
    effective = version_in_force(year, dates)
    if effective is None:
        raise ServiceError(f"{year} 年没有生效的列养里程版本，请先导入路网")
    return db.session.scalar(select(MileageVersion).where(MileageVersion.effective_from == effective))


@dataclass
class Place:
    kind: str  # town / station / village
    code: str
    name: str
    town_code: str
    town_name: str
    metres: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code}"

    def km(self) -> dict[str, Decimal]:
        return {cls: Decimal(m).scaleb(-3) for cls, m in self.metres.items()}


def _listed_rows(version: MileageVersion):
    """The version's listed segments with the class and paying unit held in the version
    (in force that year), never the segment's current attributes."""
    return db.session.execute(
        select(SegmentMileage.road_class, SegmentMileage.listed_m, Town.code, Town.name, Village.code, Village.name,
               Station.code, Station.name)
        .join(Town, SegmentMileage.town_id == Town.id).outerjoin(Village, SegmentMileage.village_id == Village.id)
        .outerjoin(Station, SegmentMileage.station_id == Station.id)
        .where(SegmentMileage.version_id == version.id, SegmentMileage.is_listed.is_(True))
        # in segment order: a station's place takes the town of its first segment, the same on every database
        .order_by(SegmentMileage.segment_id))


def _places(year: int, by_payee: bool) -> tuple[MileageVersion, list[Place]]:
    """Listed metres per place. Geographic (plan): town own + villages. By payee
    (disbursement, 第七条): stations holding segments are paid apart from the town."""
    version = mileage_version_for(year)
    places: dict[str, Place] = {}
    for road_class, metres, t_code, t_name, v_code, v_name, s_code, s_name in _listed_rows(version):
        if road_class == "村道" and v_code:
            place = places.setdefault(f"village:{v_code}", Place("village", v_code, v_name, t_code, t_name))
        elif by_payee and s_code:
            place = places.setdefault(f"station:{s_code}", Place("station", s_code, s_name, t_code, s_name))
        else:
            place = places.setdefault(f"town:{t_code}", Place("town", t_code, t_name, t_code, t_name))
        place.metres[road_class] += metres
    # every town with villages appears, even if it has no 镇道 of its own
    for place in list(places.values()):
        if place.kind == "village":
            places.setdefault(f"town:{place.town_code}", Place("town", place.town_code, place.town_name, place.town_code, place.town_name))
    order = {"town": 0, "village": 1, "station": 2}
    ordered = sorted(places.values(), key=lambda p: (p.kind == "station", p.town_code, order[p.kind], p.code))
    return version, ordered


def _km_json(place: Place) -> dict:
    return {cls: km_text(place.metres.get(cls, 0)) for cls in KM_CLASSES}


# ---------------------------------------------------------------- annual plan

def _money(standard: int, local: int) -> dict:
    return {"standard": format_fen(standard), "local": format_fen(local), "remainder": format_fen(standard - local)}


def annual_plan(year: int) -> dict:
    """年度养护经费计划 per town and village (第十五条)."""
    check_period(year)
    params = params_for(year)
    version, places = _places(year, by_payee=False)
    allocation = plan_allocation([p.km() for p in places], params)
    towns: dict[str, dict] = {}
    totals = {"standard": 0, "local": 0}
    for place, plan in zip(places, allocation):
        totals["standard"] += plan.standard_fen
        totals["local"] += plan.local_fen
        town = towns.setdefault(place.town_code, {"code": place.town_code, "name": place.town_name, "_s": 0, "_l": 0,
                                                  "_m": defaultdict(int), "own": None, "villages": []})
        town["_s"] += plan.standard_fen
        town["_l"] += plan.local_fen
        for cls, m in place.metres.items():
            town["_m"][cls] += m
        entry = {"code": place.code, "name": place.name, "listed_km": _km_json(place), **_money(plan.standard_fen, plan.local_fen)}
        if place.kind == "village":
            town["villages"].append(entry)
        else:
            town["own"] = {"listed_km": _km_json(place), **_money(plan.standard_fen, plan.local_fen)}
    town_list = []
    for town in towns.values():
        metres = town.pop("_m")
        standard, local = town.pop("_s"), town.pop("_l")
        town["own"] = town["own"] or {"listed_km": {c: "0.000" for c in KM_CLASSES}, **_money(0, 0)}
        town_list.append({"code": town["code"], "name": town["name"],
                          "listed_km": {**{c: km_text(metres.get(c, 0)) for c in KM_CLASSES},
                                        "total": km_text(sum(metres.get(c, 0) for c in KM_CLASSES))},
                          **_money(standard, local), "own": town["own"], "villages": town["villages"]})
    metres_total = defaultdict(int)
    for place in places:
        for cls, m in place.metres.items():
            metres_total[cls] += m
    return {
        "year": year, "generated_on": beijing_today().isoformat(),
        "mileage_version": {"name": version.name, "effective_from": version.effective_from.isoformat()},
        "rates": {cls: f"{rate:.2f}" for cls, rate in params.rates.items()},
        "local_share": str(params.local_share),
        "listed_km": {**{c: km_text(metres_total.get(c, 0)) for c in KM_CLASSES},
                      "total": km_text(sum(metres_total.get(c, 0) for c in KM_CLASSES))},
        "standard_total": format_fen(totals["standard"]),
        "local_total": format_fen(totals["local"]),
        "remainder_total": format_fen(totals["standard"] - totals["local"]),
        "towns": town_list,
    }


# ---------------------------------------------------------------- payee units

@dataclass
class Unit:
    place: Place
    annual_fen: int
    quarter_bases: list[int]


def payee_units(year: int, params: FundingParams | None = None) -> list[Unit]:
    """Each paid unit's annual local amount and its four quarter bases (第七条, 第十七条)."""
    params = params or params_for(year)
    _, places = _places(year, by_payee=True)
    allocation = plan_allocation([p.km() for p in places], params)
    return [Unit(place, plan.local_fen, split_quarters(plan.local_fen)) for place, plan in zip(places, allocation)]


def _unit_chiefs(units: list[Unit], year: int, quarter: int) -> dict[str, object]:
    """The chief answering for each unit at the end of the quarter (or the last one
    serving in it, when the post was vacant at the end)."""
    towns = {t.code: t.id for t in db.session.scalars(select(Town))}
    villages = {v.code: v.id for v in db.session.scalars(select(Village))}
    stations = {s.code: s.id for s in db.session.scalars(select(Station))}
    ids = {"town": towns, "village": villages, "station": stations}
    end = quarter_end(year, quarter)
    start = date(year, 3 * quarter - 2, 1)
    index = AssignmentIndex(end)
    found = {}
    for unit in units:
        kind = unit.place.kind
        target = ids[kind].get(unit.place.code)
        chiefs = [a.chief for a in index.by_scope.get((kind, target), ()) if a.chief.position == UNIT_POSITION[kind]]
        if not chiefs:
            from roadchief.models import ChiefAssignment
            column = {"town": ChiefAssignment.town_id, "village": ChiefAssignment.village_id, "station": ChiefAssignment.station_id}[kind]
            earlier = db.session.scalars(select(ChiefAssignment).where(
                ChiefAssignment.scope_kind == kind, column == target, ChiefAssignment.start_date <= end,
                (ChiefAssignment.end_date.is_(None)) | (ChiefAssignment.end_date >= start)).order_by(ChiefAssignment.start_date.desc())).all()
            chiefs = [a.chief for a in earlier if a.chief.position == UNIT_POSITION[kind]][:1]
        found[unit.place.key] = chiefs[0] if chiefs else None
    return found


def unit_holders(year: int, first_month: int, last_month: int) -> dict[str, list[tuple[object, list[int]]]]:
    """unit_key → [(chief, months of the window he held the unit)] for every 镇级/村级/公路站路长
    assigned to a paid unit on some day of the months (第二十条), in the order they served."""
    from sqlalchemy import or_
    from sqlalchemy.orm import selectinload
    from roadchief.models import ChiefAssignment
    first = date(year, first_month, 1)
    last = _month_last_day(year, last_month)
    rows = db.session.scalars(select(ChiefAssignment).options(
        selectinload(ChiefAssignment.chief), selectinload(ChiefAssignment.town), selectinload(ChiefAssignment.village),
        selectinload(ChiefAssignment.station)).where(
        ChiefAssignment.scope_kind.in_(("town", "village", "station")), ChiefAssignment.start_date <= last,
        or_(ChiefAssignment.end_date.is_(None), ChiefAssignment.end_date >= first))
        .order_by(ChiefAssignment.start_date, ChiefAssignment.id))
    found: dict[str, list[tuple[object, list[int]]]] = defaultdict(list)
    for a in rows:
        kind = a.scope_kind
        if a.chief.position != UNIT_POSITION[kind]:
            continue
        key = f"{kind}:{getattr(a, kind).code}"
        months = [m for m in range(first_month, last_month + 1)
                  if a.start_date <= _month_last_day(year, m) and (a.end_date is None or a.end_date >= date(year, m, 1))]
        entry = next((e for e in found[key] if e[0].id == a.chief_id), None)
        if entry:
            entry[1].extend(m for m in months if m not in entry[1])
            entry[1].sort()
        elif months:
            found[key].append((a.chief, months))
    return found


def _month_last_day(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _holders_json(holders: list[tuple[object, list[int]]]) -> list[dict]:
    return [{"id": c.id, "name": c.name, "title": c.title, "months": months} for c, months in holders]


def _scores(year: int, quarter: int) -> dict[str, QuarterScore]:
    return {s.unit_key: s for s in db.session.scalars(select(QuarterScore).where(QuarterScore.year == year, QuarterScore.quarter == quarter))}


def _score_text(score: Decimal | None) -> str | None:
    return None if score is None else f"{score:.2f}"


def compute_quarter(year: int, quarter: int) -> dict:
    """The quarter's disbursement as it stands now (not frozen)."""
    params = params_for(year)
    units = payee_units(year, params)
    scores = _scores(year, quarter)
    chiefs = _unit_chiefs(units, year, quarter)
    holders = unit_holders(year, 3 * quarter - 2, 3 * quarter)
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
        rows.append({
            "unit_key": place.key, "kind": place.kind,
            "town": place.town_name, "town_code": place.town_code,
            "village": place.name if place.kind == "village" else None,
            "village_code": place.code if place.kind == "village" else None,
            # 第二十条: the chief(s) whose score and money this is, with their months when replaced
            "chief": holders_text([(c.name, m) for c, m in held], quarter_months) or (chief.name if chief else None),
            "chief_id": chief.id if chief else None,
            "chief_title": chief.title if chief else None,
            "chiefs": _holders_json(held),
            "listed_km": _km_json(place),
            "base": format_fen(unit.annual_fen), "quarter_base": format_fen(base),
            "score": _score_text(payment.score), "grade": payment.grade,
            "factor": None if payment.factor is None else f"{payment.factor:.4f}",
            "deduction": format_fen(payment.deduction_fen), "payable": format_fen(payment.payable_fen),
            "withheld": format_fen(withheld),
            "provisional": payment.provisional, "note": "待考核" if payment.provisional else "",
            "score_source": recorded.source if recorded else None,
        })
    return {
        "year": year, "quarter": quarter, "status": "open",
        "provisional": any(r["provisional"] for r in rows),
        "generated_on": beijing_today().isoformat(), "closed_by": None, "closed_at": None,
        "params": params.to_dict(),
        "budget": format_fen(sums["budget"]), "payable_total": format_fen(sums["payable"]),
        "deduction_total": format_fen(sums["deduction"]), "withheld_total": format_fen(sums["withheld"]),
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
    report.update(status="closed", closed_by=closed.closed_by, closed_at=iso_beijing(closed.closed_at),
                  adjustments=[{"unit_key": e.unit_key, "unit": names.get(e.unit_key, e.unit_key),
                                "amount": format_fen(e.amount_fen), "note": e.note,
                                "by": e.created_by, "at": iso_beijing(e.created_at)} for e in entries],
                  adjustments_total=format_fen(sum(e.amount_fen for e in entries)))
    return report


def _adjustments(year: int, quarter: int | None = None) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.year == year, LedgerEntry.kind == "adjustment")
    if quarter is not None:
        query = query.where(LedgerEntry.quarter == quarter)
    return list(db.session.scalars(query.order_by(LedgerEntry.id)))


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
            raise ServiceError(f"{year} 年第 {'、'.join(map(str, missing))} 季度尚未审定，须按季度顺序审定，"
                               f"不能先审定第 {quarter} 季度")
        report = compute_quarter(year, quarter)
        pending = [f"{u['town']}{u['village'] or ''}" for u in report["units"] if u["provisional"]]
        if pending:
            raise ServiceError(f"{len(pending)} 个单位尚无考核得分（待考核），不能审定：{'、'.join(pending[:10])}"
                               + ("……" if len(pending) > 10 else ""))
        actor = current_actor().name
        report.update(status="closed", closed_by=actor)
        db.session.add(QuarterClose(year=year, quarter=quarter, closed_by=actor, snapshot_json=json.dumps(report, ensure_ascii=False)))
        for unit in report["units"]:
            for kind, amount in (("payment", unit["payable"]), ("deduction", unit["deduction"])):
                db.session.add(LedgerEntry(year=year, quarter=quarter, unit_key=unit["unit_key"], kind=kind,
                                           amount_fen=_fen(amount), created_by=actor,
                                           note="季度拨付" if kind == "payment" else "考核扣减转入以奖代补资金（第二十四条）"))
    return quarter_report(year, quarter)


def _fen(text: str) -> int:
    return int(Decimal(text).scaleb(2))


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
            raise ServiceError(f"{name} 第 {quarter} 季度实拨 {format_fen(paid)} 元、已调整 {format_fen(adjusted)} 元，"
                               f"扣回不能超过已拨金额（最多扣回 {format_fen(paid + adjusted)} 元）")
        if after > base:
            raise ServiceError(f"{name} 第 {quarter} 季度基数 {format_fen(base)} 元，补拨后不能超过基数"
                               f"（最多补拨 {format_fen(base - paid - adjusted)} 元）")
        pool = pool_balance(year)
        if fen > pool:
            raise ServiceError(f"以奖代补资金池（专户）余额 {format_fen(pool)} 元，不足以补拨 {format_fen(fen)} 元")
        entry = LedgerEntry(year=year, quarter=quarter, unit_key=unit_key, kind="adjustment",
                            amount_fen=fen, note=note, created_by=current_actor().name)
        db.session.add(entry)
        db.session.flush()
        record_event(db.session, "ledger_entry", entry.id,
                     f"{year} 年第 {quarter} 季度 {name} 调整 {format_fen(fen)} 元（{'补拨' if fen > 0 else '扣回'}，"
                     f"经以奖代补资金池）：{note}", after={"unit_key": unit_key, "amount": format_fen(fen)})
    return entry


def pool_balance(year: int) -> int:
    """The 以奖代补 pool (专户) before the year-end: carried in + deductions − adjustments."""
    return _carried_in(year) + _ledger_sum(year, "deduction") - _ledger_sum(year, "adjustment")


def _ledger_sum(year: int, kind: str) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.year == year, LedgerEntry.kind == kind)) or 0)


# ---------------------------------------------------------------- settlement

def _carried_in(year: int) -> int:
    """What the year's pool received from the previous year: its posted carry_in once
    settled, else the previous year's carry_out (第二十四条 结转下年)."""
    if _has_kind(year, "carry_in"):
        return _ledger_sum(year, "carry_in")
    return _ledger_sum(year - 1, "carry_out")


def _has_kind(year: int, kind: str) -> bool:
    return bool(db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.year == year, LedgerEntry.kind == kind)))


def _has_activity(year: int) -> bool:
    return bool(db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.year == year)))


def is_settled(year: int) -> bool:
    return bool(db.session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.year == year, LedgerEntry.kind.in_(("reward", "carry_out")))))


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
        rows.append({"unit_key": key, "kind": unit.place.kind, "town": unit.place.town_name,
                     "village": unit.place.name if unit.place.kind == "village" else None,
                     "chief": holders_text([(c.name, m) for c, m in held], range(1, 13)) or last.get("chief"),
                     "chief_title": last.get("chief_title"), "chiefs": _holders_json(held),
                     "adjustments": format_fen(adjustments.get(key, 0)),
                     "quarter_scores": scores, "annual_score": _score_text(annual),
                     "grade": grade_for(annual, params.bands) if annual is not None else None,
                     "base": format_fen(unit.annual_fen),
                     "deduction": format_fen(sum(_fen(by_key[q][key]["deduction"]) for q in range(1, 5) if key in by_key[q])),
                     "paid": format_fen(sum(_fen(by_key[q][key]["payable"]) for q in range(1, 5) if key in by_key[q])),
                     "level_rank": None, "tier": None, "weight": None, "reward": "0.00"})
        candidates.append(RewardCandidate(key, unit.place.kind, annual, unit.annual_fen))
    shares = {s.key: s for s in distribute_pool(pool, candidates, params)}
    for row in rows:
        share = shares.get(row["unit_key"])
        if share:
            row.update(level_rank=share.rank, tier=share.tier_index + 1, weight=str(share.weight), reward=format_fen(share.reward_fen))
    rewards = sum(s.reward_fen for s in shares.values())
    # 排名 within each level: competition ranking on the shown annual score (1, 2, 2, 4), the
    # same rank distribute_pool used for the tier; unscored units have no rank and come last
    for kind in ("town", "station", "village"):
        level = sorted((r for r in rows if r["kind"] == kind),
                       key=lambda r: (r["annual_score"] is None, -Decimal(r["annual_score"] or 0), r["unit_key"]))
        for row, rank in zip(level, competition_ranks([r["annual_score"] for r in level])):
            row["rank"] = rank
            if row["level_rank"] is not None:
                assert row["level_rank"] == rank, (row["unit_key"], row["level_rank"], rank)
    rows.sort(key=lambda r: ({"town": 0, "station": 1, "village": 2}[r["kind"]], r["rank"] is None, r["rank"] or 0,
                             r["unit_key"]))
    budget = sum(u.annual_fen for u in units)
    paid = sum(_fen(r["payable_total"]) for r in quarters)
    withheld = sum(_fen(r["withheld_total"]) for r in quarters)
    return {
        "year": year, "settled": is_settled(year),
        "quarters_closed": closed_quarters(year),
        "provisional": any(r["provisional"] for r in quarters) or len(closed_quarters(year)) < 4,
        "budget": format_fen(budget), "paid_total": format_fen(paid), "withheld_total": format_fen(withheld),
        "pool_carried_in": format_fen(carried_in), "pool_deductions": format_fen(deductions),
        "pool_adjustments": format_fen(adjusted), "adjustments_total": format_fen(adjusted),
        "pool_total": format_fen(pool), "rewards_total": format_fen(rewards), "carried_out": format_fen(pool - rewards),
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
            raise ServiceError(f"{previous} 年已有季度审定拨付但尚未年终结算，须先完成 {previous} 年结算，"
                               f"其结转资金才能转入 {year} 年（第二十四条）")
        result = settlement(year)
        if _fen(result["pool_total"]) < 0:
            raise ServiceError(f"以奖代补资金池为负（{result['pool_total']} 元），请核对调整分录")
        actor = current_actor().name
        carried_in = _fen(result["pool_carried_in"])
        if carried_in and not _has_kind(year, "carry_in"):
            db.session.add(LedgerEntry(year=year, unit_key="pool", kind="carry_in", amount_fen=carried_in,
                                       created_by=actor, note=f"{previous} 年以奖代补资金结转转入（第二十四条）"))
        for row in result["units"]:
            if _fen(row["reward"]):
                db.session.add(LedgerEntry(year=year, unit_key=row["unit_key"], kind="reward", amount_fen=_fen(row["reward"]),
                                           created_by=actor, note="以奖代补（第二十三条）"))
        db.session.add(LedgerEntry(year=year, unit_key="pool", kind="carry_out", amount_fen=_fen(result["carried_out"]),
                                   created_by=actor, note="以奖代补资金结转下年"))
        record_event(db.session, "settlement", year, f"{year} 年年终结算",
                     after={"carried_in": result["pool_carried_in"], "deductions": result["pool_deductions"],
                            "adjustments": result["pool_adjustments"], "rewards": result["rewards_total"],
                            "carried_out": result["carried_out"]})
    return settlement(year)


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
        "year": year, "closed_quarters": closed, "carried_in": format_fen(carried_in),
        "entries": [{"id": e.id, "quarter": e.quarter, "unit_key": e.unit_key, "kind": e.kind, "amount": format_fen(e.amount_fen),
                     "note": e.note, "by": e.created_by, "at": iso_beijing(e.created_at)} for e in entries],
        "totals": {k: format_fen(v) for k, v in sums.items()},
        "closed_budget": format_fen(budget_closed),
        "settled": settled, "pool": format_fen(pool),
        # 专款专用: what was approved for the closed quarters is either paid or in the pool …
        "reconciles": sums["payment"] + sums["deduction"] == budget_closed
        # … the pool is what came in less what left to the units, and once settled it is empty
        and (not settled or (pool == sums["reward"] + sums["carry_out"] and out == budget_closed + carried_in)),
        "pool_balances": pool == sums["reward"] + sums["carry_out"] if settled else pool >= 0,
        "money_out": format_fen(out), "money_in": format_fen(budget_closed + carried_in),
    }
