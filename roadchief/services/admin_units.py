"""The city's official administrative units (统计用区划代码), seeded at init-db."""

from __future__ import annotations

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import Station, Town
from roadchief.services.transactions import unit_of_work

CITY_TOWNS = (
    ("640381100", "小坝镇", "镇"),
    ("640381101", "大坝镇", "镇"),
    ("640381102", "青铜峡镇", "镇"),
    ("640381103", "叶盛镇", "镇"),
    ("640381104", "瞿靖镇", "镇"),
    ("640381105", "峡口镇", "镇"),
    ("640381106", "邵岗镇", "镇"),
    ("640381107", "陈袁滩镇", "镇"),
    ("640381401", "树新林场", "林场"),
    ("640381001", "裕民街道", "街道"),
)


def ensure_admin_units() -> int:
    """Create the towns that are missing; returns how many were created."""
    existing = set(db.session.scalars(select(Town.code)))
    created = 0
    with unit_of_work():
        for code, name, kind in CITY_TOWNS:
            if code not in existing:
                db.session.add(Town(code=code, name=name, kind=kind))
                created += 1
    return created


def ensure_station(code: str, name: str) -> Station:
    station = db.session.scalar(select(Station).where(Station.code == code))
    if station is None:
        station = Station(code=code, name=name)
        db.session.add(station)
        db.session.flush()
    return station
