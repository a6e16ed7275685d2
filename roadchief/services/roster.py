"""Import the roster of 路长 and maintainers with their dated scopes (CSV)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import select

from roadchief.domain.roads import position_by_name
from roadchief.domain.stakes import StakeError, parse_stake
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Road, Segment, Station, Town, Village
from roadchief.services import ServiceError
from roadchief.services.transactions import unit_of_work

COLUMNS = ("chief_code", "name", "position", "title", "phone", "scope_kind", "scope_code", "start_date", "end_date")


def _date(text: str, field: str, row: int, errors: list) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        errors.append(f"第 {row} 行 [{field}]：日期格式应为 YYYY-MM-DD：{text!r}")
        return None


class _Targets:
    def __init__(self):
        self.towns = {t.code: t for t in db.session.scalars(select(Town))}
        self.villages = {v.code: v for v in db.session.scalars(select(Village))}
        self.stations = {s.code: s for s in db.session.scalars(select(Station))}
        self.roads = {r.code: r for r in db.session.scalars(select(Road))}

    def resolve(self, kind: str, code: str) -> dict:
        if kind == "city":
            return {}
        if kind == "town" and code in self.towns:
            return {"town_id": self.towns[code].id}
        if kind == "village" and code in self.villages:
            return {"village_id": self.villages[code].id}
        if kind == "station" and code in self.stations:
            return {"station_id": self.stations[code].id}
        if kind == "road" and code in self.roads:
            return {"road_id": self.roads[code].id}
        if kind == "segment":
            road_code, _, stakes = code.partition(":")
            start, _, end = stakes.partition("-")
            road = self.roads.get(road_code)
            if road:
                segment = db.session.scalar(
                    select(Segment).where(
                        Segment.road_id == road.id,
                        Segment.start_m == parse_stake(start),
                        Segment.end_m == parse_stake(end),
                    )
                )
                if segment:
                    return {"segment_id": segment.id}
        raise KeyError(code)


def import_roster(path: Path) -> dict:
    """Upsert chiefs by chief_code and add their assignments; atomic, errors by row."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError(f"名册缺少列：{', '.join(missing)}")
        rows = list(reader)
    targets = _Targets()
    errors: list[str] = []
    chiefs = {c.code: c for c in db.session.scalars(select(Chief))}
    existing = {
        (a.chief_id, a.scope_kind, a.town_id, a.village_id, a.station_id, a.road_id, a.segment_id, a.start_date)
        for a in db.session.scalars(select(ChiefAssignment))
    }
    created = assigned = 0
    with unit_of_work():
        for number, row in enumerate(rows, start=1):
            try:
                position = position_by_name(row["position"]).code
            except ValueError as error:
                errors.append(f"第 {number} 行 [position]：{error}")
                continue
            start = _date(row["start_date"], "start_date", number, errors)
            end = _date(row["end_date"], "end_date", number, errors)
            kind = row["scope_kind"].strip()
            try:
                target = targets.resolve(kind, row["scope_code"].strip())
            except (KeyError, StakeError):
                errors.append(f"第 {number} 行 [scope_code]：找不到 {kind} 范围 {row['scope_code']!r}")
                continue
            if start is None:
                errors.append(f"第 {number} 行 [start_date]：缺少任职起始日期")
                continue
            chief = chiefs.get(row["chief_code"].strip())
            if chief is None:
                chief = Chief(
                    code=row["chief_code"].strip(),
                    name=row["name"].strip(),
                    position=position,
                    title=row["title"].strip(),
                    phone=row["phone"].strip(),
                )
                db.session.add(chief)
                db.session.flush()
                chiefs[chief.code] = chief
                created += 1
            else:
                chief.name, chief.position = row["name"].strip(), position
                chief.title, chief.phone = row["title"].strip(), row["phone"].strip()
            key = (
                chief.id,
                kind,
                target.get("town_id"),
                target.get("village_id"),
                target.get("station_id"),
                target.get("road_id"),
                target.get("segment_id"),
                start,
            )
            if key not in existing:
                db.session.add(ChiefAssignment(chief=chief, scope_kind=kind, start_date=start, end_date=end, **target))
                existing.add(key)
                assigned += 1
        if errors:
            raise ServiceError(f"名册导入失败：{len(errors)} 处错误，未写入任何数据", errors)
    return {"rows": len(rows), "chiefs_created": created, "assignments_created": assigned}
