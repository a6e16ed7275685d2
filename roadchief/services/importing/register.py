"""The register as it stands (towns, villages, stations, the file's roads and segments), loaded once, not per row."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import Road, Segment, Station, Town, Village
from roadchief.services.importing.cells import cell_text

VILLAGE_NAME_MAX = 40  # Village.name column width
_IN_CHUNK = 500  # keep IN (...) lists well under any driver's parameter limit

_MULTI_VILLAGE = re.compile(r"[、,，;；/]")


@dataclass(eq=False)
class NewVillage:
    """A village to be created (create_villages=True); its code is assigned when writing."""

    town: Town
    name: str
    created: Village | None = None


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Register:
    def __init__(self, create_villages: bool):
        self.create_villages = create_villages
        towns = db.session.scalars(select(Town)).all()
        self.towns = {key: town for town in towns for key in (town.code, town.name)}
        villages = db.session.scalars(select(Village)).all()
        self.villages_by_code = {v.code: v for v in villages}
        self.villages_by_name = {(v.town_id, v.name): v for v in villages}
        self.new_villages: dict[tuple[int, str], NewVillage] = {}
        stations = db.session.scalars(select(Station)).all()
        self.stations = {key: s for s in stations for key in (s.code, s.name)}
        self.roads: dict[str, Road] = {}
        self.segments: dict[int, list[Segment]] = {}

    def town(self, value: Any) -> Town:
        text = cell_text(value)
        if text is None:
            raise ValueError("所属乡镇为空")
        town = self.towns.get(text)
        if town is None:
            raise ValueError(f"未知乡镇“{text}”（须为已登记乡镇的名称或 9 位代码）")
        return town

    def village(self, town: Town, value: Any) -> Village | NewVillage | None:
        text = cell_text(value)
        if text is None:
            return None
        if _MULTI_VILLAGE.search(text):
            raise ValueError(f"一个路段只能属于一个行政村（第八条）：“{text}”，请按村拆分路段")
        if text.isdigit() and len(text) == 12:
            village = self.villages_by_code.get(text)
            if village is None:
                raise ValueError(f"未知行政村代码“{text}”")
            if village.town_id != town.id:
                raise ValueError(f"行政村 {village.name}（{text}）不属于{town.name}")
            return village
        village = self.villages_by_name.get((town.id, text))
        if village is not None:
            return village
        if self.create_villages:
            if len(text) > VILLAGE_NAME_MAX:
                raise ValueError(f"行政村名称超过 {VILLAGE_NAME_MAX} 个字：{text[:20]}…")
            return self.new_villages.setdefault((town.id, text), NewVillage(town, text))
        raise ValueError(f"{town.name}没有行政村“{text}”（可选择自动新建行政村后重新导入）")

    def station(self, value: Any) -> Station | None:
        text = cell_text(value)
        if text is None:
            return None
        station = self.stations.get(text)
        if station is None:
            raise ValueError(f"未知公路站“{text}”（须为已登记公路站的名称或代码）")
        return station

    def load_network(self, codes: Iterable[str]) -> None:
        """Existing roads of the file and all their segments: two queries per 500 roads."""
        codes = sorted(set(codes))
        for chunk in _chunks(codes):
            self.roads.update((r.code, r) for r in db.session.scalars(select(Road).where(Road.code.in_(chunk))))
        road_ids = [road.id for road in self.roads.values()]
        for chunk in _chunks(road_ids):
            query = select(Segment).where(Segment.road_id.in_(chunk)).order_by(Segment.road_id, Segment.start_m)
            for segment in db.session.scalars(query):
                self.segments.setdefault(segment.road_id, []).append(segment)

    def existing_segments(self, code: str) -> list[Segment]:
        road = self.roads.get(code)
        return self.segments.get(road.id, []) if road is not None else []
