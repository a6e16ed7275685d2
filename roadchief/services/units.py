"""Paid units (第七条): each town's 镇道 under its 镇级路长, each 公路站 holding segments,
and each village's 村道 under its 村级路长. A unit key names one: town:CODE, station:CODE, village:CODE."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import QuarterScore

UNIT_POSITION = {"town": "town", "station": "station", "village": "village"}


def unit_key_for_segment(
    road_class: str, town_code: str, village_code: str | None, station_code: str | None
) -> str | None:
    if road_class == "村道" and village_code:
        return f"village:{village_code}"
    if road_class == "镇道":
        return f"station:{station_code}" if station_code else f"town:{town_code}"
    return None


def latest_scores() -> dict[str, tuple[str, Decimal]]:
    """Each unit's most recent quarterly score: unit_key -> ("2022Q1", Decimal)."""
    latest: dict[str, tuple[str, Decimal]] = {}
    rows = db.session.execute(
        select(QuarterScore.unit_key, QuarterScore.year, QuarterScore.quarter, QuarterScore.score_centi).order_by(
            QuarterScore.year, QuarterScore.quarter
        )
    )
    for key, year, quarter, centi in rows:
        latest[key] = (f"{year}Q{quarter}", Decimal(centi) / 100)
    return latest
