"""一路一档 (第十一条 路产管理档案): everything the register knows about one road, as one
dict for the page and the PDF — the road and its segments, chiefs at every level over
time, assets, inspections and rectifications, events with their times, scores and
money per year.

Money per year comes from two places: the 专户 ledger's payments to the units that
manage the road (a town, station or village also manages other roads, so those sums
are the unit's, as labelled), and the works recorded against this road's segments in
the annual maintenance plan (this road's own).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from roadchief.domain import events as event_rules
from roadchief.domain.clock import beijing_today
from roadchief.domain.money import format_fen
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import ChiefAssignment, LedgerEntry, QuarterScore, Road, Segment
from roadchief.models.inspections import Finding, Inspection, InspectionSegment
from roadchief.models.operations import RoadAsset, WorksPlanItem
from roadchief.services.chiefs import CITY_POSITIONS_BY_CLASS, POSITION_NAMES, POSITION_ORDER, TOWN_POSITIONS
from roadchief.services.events import aware, events_of_road, local_text
from roadchief.services.units import unit_key_for_segment

MAX_INSPECTIONS = 200


def _assignments(road: Road, segments: list[Segment]) -> list[dict]:
    segment_ids = [s.id for s in segments]
    town_ids = {s.town_id for s in segments}
    village_ids = {s.village_id for s in segments if s.village_id}
    station_ids = {s.station_id for s in segments if s.station_id}
    city_positions = CITY_POSITIONS_BY_CLASS.get(road.road_class, ())
    conditions = [ChiefAssignment.road_id == road.id, ChiefAssignment.scope_kind == "city"]
    if segment_ids:
        conditions.append(ChiefAssignment.segment_id.in_(segment_ids))
    if town_ids:
        conditions.append(ChiefAssignment.town_id.in_(town_ids))
    if village_ids:
        conditions.append(ChiefAssignment.village_id.in_(village_ids))
    if station_ids:
        conditions.append(ChiefAssignment.station_id.in_(station_ids))
    rows = db.session.scalars(
        select(ChiefAssignment)
        .options(
            selectinload(ChiefAssignment.chief),
            selectinload(ChiefAssignment.town),
            selectinload(ChiefAssignment.village),
            selectinload(ChiefAssignment.station),
            selectinload(ChiefAssignment.segment),
        )
        .where(or_(*conditions))
    )
    out = []
    for a in rows:
        position = a.chief.position
        if a.scope_kind == "city" and position not in city_positions:
            continue
        if a.scope_kind == "town" and position not in TOWN_POSITIONS:
            continue
        scope = {
            "city": "全市",
            "town": a.town.name if a.town else "",
            "village": a.village.name if a.village else "",
            "station": a.station.name if a.station else "",
            "road": "全线",
            "segment": (f"{format_stake(a.segment.start_m)}–{format_stake(a.segment.end_m)}" if a.segment else ""),
        }[a.scope_kind]
        out.append(
            {
                "name": a.chief.name,
                "position": position,
                "position_name": POSITION_NAMES[position],
                "title": a.chief.title,
                "phone": a.chief.phone,
                "scope": scope,
                "start": a.start_date.isoformat(),
                "end": a.end_date.isoformat() if a.end_date else "至今",
                "current": a.end_date is None or a.end_date >= beijing_today(),
                "chief_id": a.chief_id,
                "_order": (POSITION_ORDER[position], a.start_date),
            }
        )
    out.sort(key=lambda r: r["_order"])
    for row in out:
        del row["_order"]
    return out


def _units(road: Road, segments: list[Segment]) -> dict[str, str]:
    """Paid unit key → label, for the units that manage this road's segments."""
    units = {}
    for s in segments:
        key = unit_key_for_segment(
            road.road_class, s.town.code, s.village.code if s.village else None, s.station.code if s.station else None
        )
        if key:
            kind, _, _code = key.partition(":")
            name = {
                "town": s.town.name,
                "village": s.village.name if s.village else "",
                "station": s.station.name if s.station else "",
            }[kind]
            units[key] = name
    return units


def road_file(road: Road) -> dict:
    segments = list(
        db.session.scalars(
            select(Segment)
            .options(selectinload(Segment.town), selectinload(Segment.village), selectinload(Segment.station))
            .where(Segment.road_id == road.id)
            .order_by(Segment.start_m)
        )
    )
    segment_ids = [s.id for s in segments]
    labels = {s.id: f"{format_stake(s.start_m)}–{format_stake(s.end_m)}" for s in segments}

    assets = list(
        db.session.scalars(
            select(RoadAsset)
            .where(RoadAsset.segment_id.in_(segment_ids or [0]))
            .order_by(RoadAsset.segment_id, RoadAsset.stake_m, RoadAsset.id)
        )
    )
    inspections = list(
        db.session.scalars(
            select(Inspection)
            .options(
                selectinload(Inspection.findings).selectinload(Finding.item),
                selectinload(Inspection.findings).selectinload(Finding.rectification),
            )
            .where(
                Inspection.id.in_(
                    select(InspectionSegment.inspection_id).where(InspectionSegment.segment_id.in_(segment_ids or [0]))
                )
            )
            .order_by(Inspection.inspected_at.desc())
            .limit(MAX_INSPECTIONS)
        )
    )
    inspection_rows, rect_rows = [], []
    for i in inspections:
        own = [f for f in i.findings if f.segment_id in labels]
        inspection_rows.append(
            {
                "id": i.id,
                "when": local_text(i.inspected_at),
                "kind": i.kind_label,
                "inspector": i.inspector_name,
                "findings": len(own),
                "note": i.note,
            }
        )
        for f in own:
            r = f.rectification
            rect_rows.append(
                {
                    "inspection_id": i.id,
                    "when": local_text(i.inspected_at),
                    "segment": labels[f.segment_id],
                    "item": f"{f.item.code} {f.item.text}",
                    "quantity": f.quantity,
                    "state": r.state_label if r else "",
                    "deadline": r.deadline.isoformat() if r else "",
                    "late": bool(r and r.late),
                }
            )

    event_rows = []
    for e in events_of_road(road.id):
        occurred, restored, repaired = aware(e.occurred_at), aware(e.restored_at), aware(e.repaired_at)
        event_rows.append(
            {
                "id": e.id,
                "kind": e.kind_label,
                "severity": e.severity_label,
                "state": e.state_label,
                "closed": e.closed,
                "segment": labels.get(e.segment_id, ""),
                "stake": format_stake(e.stake_m) if e.stake_m is not None else "",
                "occurred": local_text(occurred),
                "restored": local_text(restored),
                "repaired": local_text(repaired),
                "hours_to_restore": event_rules.hours_between(occurred, restored),
                "hours_to_repair": event_rules.hours_between(occurred, repaired),
                "warning_sign": e.warning_sign,
                "detour": e.detour,
                "description": e.description,
                "restored_by": e.restored_by,
                "repaired_by": e.repaired_by,
            }
        )

    units = _units(road, segments)
    scores = [
        {
            "unit": units[s.unit_key],
            "unit_key": s.unit_key,
            "period": f"{s.year} 年第 {s.quarter} 季度",
            "score": f"{s.score_centi / 100:.2f}",
        }
        for s in db.session.scalars(
            select(QuarterScore)
            .where(QuarterScore.unit_key.in_(list(units) or [""]))
            .order_by(QuarterScore.year, QuarterScore.quarter, QuarterScore.unit_key)
        )
    ]
    paid: dict[int, int] = defaultdict(int)
    for entry in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.unit_key.in_(list(units) or [""]), LedgerEntry.kind == "payment")
    ):
        paid[entry.year] += entry.amount_fen
    works: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for item in db.session.scalars(
        select(WorksPlanItem)
        .options(selectinload(WorksPlanItem.progress))
        .where(WorksPlanItem.segment_id.in_(segment_ids or [0]))
    ):
        works[item.year][0] += item.budget_fen
        works[item.year][1] += item.spent_fen
    years = sorted(set(paid) | set(works))
    money = [
        {
            "year": y,
            "unit_paid": format_fen(paid.get(y, 0)),
            "works_budget": format_fen(works[y][0]) if y in works else "0.00",
            "works_spent": format_fen(works[y][1]) if y in works else "0.00",
        }
        for y in years
    ]

    from roadchief.services.patrol_views import road_patrols

    return {
        "patrols": road_patrols(None, segment_ids),  # 巡查轨迹 with their coverage (第二十二条)
        "code": road.code,
        "name": road.name,
        "road_class": road.road_class,
        "road_id": road.id,
        "start": format_stake(segments[0].start_m) if segments else "",
        "end": format_stake(segments[-1].end_m) if segments else "",
        "listed_km": f"{sum(s.listed_m for s in segments if s.is_listed) / 1000:.3f}",
        "segments": [
            {
                "id": s.id,
                "stakes": labels[s.id],
                "town": s.town.name,
                "village": s.village.name if s.village else "",
                "station": s.station.name if s.station else "",
                "listed_km": f"{s.listed_km}",
                "tech_grade": s.tech_grade or "",
                "surface": s.surface or "",
                "is_listed": s.is_listed,
            }
            for s in segments
        ],
        "chiefs": _assignments(road, segments),
        "assets": [
            {
                "id": a.id,
                "code": a.code,
                "kind": a.kind_label,
                "name": a.name,
                "segment": labels.get(a.segment_id, ""),
                "stake": format_stake(a.stake_m) if a.stake_m is not None else "",
                "end_stake": format_stake(a.end_stake_m) if a.end_stake_m is not None else "",
                "condition": a.condition_label,
                "quantity": a.quantity,
            }
            for a in assets
        ],
        "inspections": inspection_rows,
        "rectifications": rect_rows,
        "events": event_rows,
        "units": units,
        "scores": scores,
        "money": money,
    }
