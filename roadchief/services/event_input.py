"""Checking what a form or the API sends for a disruption event: times, points, stakes, detour lines, texts, choices."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from shapely.geometry import LineString, shape
from sqlalchemy import select

from roadchief.domain.scoring import LOCAL_TZ
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment
from roadchief.models.inspections import LAT_RANGE, LON_RANGE
from roadchief.services import ServiceError

EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
MAX_TEXT = 2000


def _in_range(moment: datetime, what: str) -> datetime:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ServiceError(f"{what}不在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间")
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise ServiceError(f"{what}不正确") from None


def parse_local(value, what: str, required: bool = True) -> datetime | None:
    """A datetime from a form (``YYYY-MM-DDTHH:MM`` Beijing time) or an aware datetime."""
    if isinstance(value, datetime):
        return _in_range(value, what)
    text = str(value or "").strip()
    if not text:
        if required:
            raise ServiceError(f"请填写{what}")
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ServiceError(f"{what}格式不正确：{text!r}") from None
    return _in_range(moment, what)


def clean_point(lon, lat) -> tuple[float | None, float | None]:
    if lon in (None, "") and lat in (None, ""):
        return None, None
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ServiceError("位置坐标不正确：经度和纬度须同时为数字") from None
    if not (LON_RANGE[0] <= lon_f <= LON_RANGE[1] and LAT_RANGE[0] <= lat_f <= LAT_RANGE[1]):
        raise ServiceError("位置不在青铜峡市范围内")
    return round(lon_f, 6), round(lat_f, 6)


def parse_stake(value, segment: Segment) -> int | None:
    """ "K12+345" or metres → metres; must lie on the segment."""
    text = str(value if value is not None else "").strip().upper().replace(" ", "")
    if not text:
        return None
    try:
        if text.startswith("K"):
            km, _, metres = text[1:].partition("+")
            stake = int(km) * 1000 + int(metres or 0)
        else:
            stake = int(text)
    except ValueError:
        raise ServiceError(f"桩号格式不正确：{value!r}（如 K3+200）") from None
    if not segment.start_m <= stake <= segment.end_m:
        raise ServiceError(
            f"桩号 {format_stake(stake)} 不在该路段 {format_stake(segment.start_m)}–{format_stake(segment.end_m)} 内"
        )
    return stake


def clean_line(text) -> str | None:
    """A drawn detour: GeoJSON LineString (geometry or Feature) in lon/lat within the city."""
    raw = text if isinstance(text, dict) else str(text or "").strip()
    if not raw:
        return None
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
        if data.get("type") == "Feature":
            data = data.get("geometry") or {}
        if data.get("type") != "LineString":
            raise ValueError(data.get("type"))
        geom = shape(data)
        if not geom.is_empty and not all(math.isfinite(v) for xy in geom.coords for v in xy):
            raise ValueError("not finite")
    except Exception:  # any malformed GeoJSON (shapely raises its own error types too)
        raise ServiceError("绕行路线应为 GeoJSON 线（LineString）") from None
    if not isinstance(geom, LineString) or geom.is_empty or len(geom.coords) < 2:
        raise ServiceError("绕行路线应为至少两个点的线")
    minx, miny, maxx, maxy = geom.bounds
    if not (LON_RANGE[0] <= minx and maxx <= LON_RANGE[1] and LAT_RANGE[0] <= miny and maxy <= LAT_RANGE[1]):
        raise ServiceError("绕行路线不在青铜峡市范围内")
    return json.dumps({"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y, *_ in geom.coords]})


def _road_by_code(code) -> Road | None:
    code = str(code or "").replace("\x00", "").strip().upper()
    if not code:
        return None
    if len(code) > 40:
        raise ServiceError("绕行道路编码过长")
    road = db.session.scalar(select(Road).where(Road.code == code))
    if road is None:
        raise ServiceError(f"绕行道路 {code} 不在路网登记中")
    return road


def _text(value, what: str, limit: int = MAX_TEXT) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise ServiceError(f"{what}过长（不超过 {limit} 字）")
    return text


def _choice(value, choices: dict, what: str) -> str:
    value = str(value or "").strip()
    if value in choices:
        return value
    for code, label in choices.items():
        if value == label:
            return code
    raise ServiceError(f"请选择{what}")


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes", "是")


def _segment(value) -> Segment:
    try:
        segment_id = int(value)
    except (TypeError, ValueError):
        raise ServiceError("请选择路段") from None
    segment = db.session.get(Segment, segment_id) if 1 <= segment_id <= 2**31 - 1 else None
    if segment is None:
        raise ServiceError("路段不存在")
    return segment
