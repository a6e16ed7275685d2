"""Listed mileage by paid unit and the money it earns: the places of the mileage version in force,
the 年度养护经费计划 (第十五条), each paid unit's annual amount and quarter bases (第七条, 第十七条),
and the chiefs answering for a unit over a period (第二十条)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from roadchief.domain.clock import beijing_today
from roadchief.domain.funding import FundingParams, plan_allocation, split_quarters
from roadchief.domain.money import format_fen
from roadchief.extensions import db
from roadchief.models import MileageVersion, SegmentMileage, Station, Town, Village
from roadchief.services import NotFound
from roadchief.services.funding_params import check_period, params_for, quarter_end
from roadchief.services.network import km_text
from roadchief.services.units import UNIT_POSITION

KM_CLASSES = ("镇道", "村道")


# ---------------------------------------------------------------- mileage by unit


def mileage_version_for(year: int) -> MileageVersion:
    """The version in force on 1 January of the year; failing that, the first one
    that took effect during the year (列养里程每两年调整一次, 第十五条)."""
    from roadchief.domain.mileage import version_in_force

    dates = db.session.scalars(select(MileageVersion.effective_from)).all()
    effective = version_in_force(year, dates)
    if effective is None:
        raise NotFound(f"{year} 年没有生效的列养里程版本，请先导入路网")
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
    """The version's listed metres summed in SQL per class and paying unit held in the version
    (in force that year), never the segment's current attributes: one row per (class, town,
    village, station), a few thousand at province scale instead of one per segment."""
    groups = (
        select(
            SegmentMileage.road_class,
            SegmentMileage.town_id,
            SegmentMileage.village_id,
            SegmentMileage.station_id,
            func.sum(SegmentMileage.listed_m).label("metres"),
            func.min(SegmentMileage.segment_id).label("first"),
        )
        .where(SegmentMileage.version_id == version.id, SegmentMileage.is_listed.is_(True))
        .group_by(
            SegmentMileage.road_class, SegmentMileage.town_id, SegmentMileage.village_id, SegmentMileage.station_id
        )
        .subquery()
    )
    # names joined to the few hundred groups, not to every segment (half the time on SQLite)
    return db.session.execute(
        select(
            groups.c.road_class,
            groups.c.metres,
            Town.code,
            Town.name,
            Village.code,
            Village.name,
            Station.code,
            Station.name,
        )
        .select_from(groups)
        .join(Town, groups.c.town_id == Town.id)
        .outerjoin(Village, groups.c.village_id == Village.id)
        .outerjoin(Station, groups.c.station_id == Station.id)
        # groups in the order of their first segment: a place is met first through the group holding
        # its first segment, so a station's place takes the town of its first segment (and every
        # place's classes come in the order of its segments), the same on every database
        .order_by(groups.c.first)
    )


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
        place.metres[road_class] += int(metres)
    # every town with villages appears, even if it has no 镇道 of its own
    for place in list(places.values()):
        if place.kind == "village":
            places.setdefault(
                f"town:{place.town_code}",
                Place("town", place.town_code, place.town_name, place.town_code, place.town_name),
            )
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
        town = towns.setdefault(
            place.town_code,
            {
                "code": place.town_code,
                "name": place.town_name,
                "_s": 0,
                "_l": 0,
                "_m": defaultdict(int),
                "own": None,
                "villages": [],
            },
        )
        town["_s"] += plan.standard_fen
        town["_l"] += plan.local_fen
        for cls, m in place.metres.items():
            town["_m"][cls] += m
        entry = {
            "code": place.code,
            "name": place.name,
            "listed_km": _km_json(place),
            **_money(plan.standard_fen, plan.local_fen),
        }
        if place.kind == "village":
            town["villages"].append(entry)
        else:
            town["own"] = {"listed_km": _km_json(place), **_money(plan.standard_fen, plan.local_fen)}
    town_list = []
    for town in towns.values():
        metres = town.pop("_m")
        standard, local = town.pop("_s"), town.pop("_l")
        town["own"] = town["own"] or {"listed_km": {c: "0.000" for c in KM_CLASSES}, **_money(0, 0)}
        town_list.append(
            {
                "code": town["code"],
                "name": town["name"],
                "listed_km": {
                    **{c: km_text(metres.get(c, 0)) for c in KM_CLASSES},
                    "total": km_text(sum(metres.get(c, 0) for c in KM_CLASSES)),
                },
                **_money(standard, local),
                "own": town["own"],
                "villages": town["villages"],
            }
        )
    metres_total = defaultdict(int)
    for place in places:
        for cls, m in place.metres.items():
            metres_total[cls] += m
    return {
        "year": year,
        "generated_on": beijing_today().isoformat(),
        "mileage_version": {"name": version.name, "effective_from": version.effective_from.isoformat()},
        "rates": {cls: f"{rate:.2f}" for cls, rate in params.rates.items()},
        "local_share": str(params.local_share),
        "listed_km": {
            **{c: km_text(metres_total.get(c, 0)) for c in KM_CLASSES},
            "total": km_text(sum(metres_total.get(c, 0) for c in KM_CLASSES)),
        },
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


def _unit_assignments(first: date, last: date):
    """Every 镇/村/公路站 assignment serving on some day of first…last, with its chief and unit,
    in ONE statement (joined eager loads), in the order they were made."""
    from sqlalchemy import or_
    from sqlalchemy.orm import joinedload

    from roadchief.models import ChiefAssignment

    return db.session.scalars(
        select(ChiefAssignment)
        .options(
            joinedload(ChiefAssignment.chief),
            joinedload(ChiefAssignment.town),
            joinedload(ChiefAssignment.village),
            joinedload(ChiefAssignment.station),
        )
        .where(
            ChiefAssignment.scope_kind.in_(("town", "village", "station")),
            ChiefAssignment.start_date <= last,
            or_(ChiefAssignment.end_date.is_(None), ChiefAssignment.end_date >= first),
        )
        .order_by(ChiefAssignment.start_date, ChiefAssignment.id)
    ).all()


def quarter_assignments(year: int, quarter: int) -> list:
    """The assignments serving in the quarter: what ``_unit_chiefs`` and ``unit_holders`` read."""
    return _unit_assignments(date(year, 3 * quarter - 2, 1), quarter_end(year, quarter))


def _unit_chiefs(units: list[Unit], year: int, quarter: int, rows: list | None = None) -> dict[str, object]:
    """The chief answering for each unit at the end of the quarter (or the last one
    serving in it, when the post was vacant at the end). One query for all units
    (none when given the quarter's ``rows`` from ``quarter_assignments``)."""
    end = quarter_end(year, quarter)
    if rows is None:
        rows = quarter_assignments(year, quarter)
    at_end: dict[str, list] = defaultdict(list)
    during: dict[str, list] = defaultdict(list)
    for a in sorted(rows, key=lambda a: a.id):
        kind = a.scope_kind
        if a.chief.position != UNIT_POSITION[kind]:
            continue
        key = f"{kind}:{getattr(a, kind).code}"
        during[key].append(a)
        if a.end_date is None or a.end_date >= end:
            at_end[key].append(a)
    found = {}
    for unit in units:
        key = unit.place.key
        if at_end.get(key):
            found[key] = at_end[key][0].chief
        elif during.get(key):  # vacant at the end: the one who started last in the quarter
            found[key] = max(during[key], key=lambda a: a.start_date).chief
        else:
            found[key] = None
    return found


def unit_holders(
    year: int, first_month: int, last_month: int, rows: list | None = None
) -> dict[str, list[tuple[object, list[int]]]]:
    """unit_key → [(chief, months of the window he held the unit)] for every 镇级/村级/公路站路长
    assigned to a paid unit on some day of the months (第二十条), in the order they served.
    ``rows``: the window's assignments already loaded (``_unit_assignments``)."""
    first = date(year, first_month, 1)
    last = _month_last_day(year, last_month)
    if rows is None:
        rows = _unit_assignments(first, last)
    found: dict[str, list[tuple[object, list[int]]]] = defaultdict(list)
    for a in rows:
        kind = a.scope_kind
        if a.chief.position != UNIT_POSITION[kind]:
            continue
        key = f"{kind}:{getattr(a, kind).code}"
        months = [
            m
            for m in range(first_month, last_month + 1)
            if a.start_date <= _month_last_day(year, m) and (a.end_date is None or a.end_date >= date(year, m, 1))
        ]
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
