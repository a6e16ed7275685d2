"""OGC API – Features (Part 1: Core, GeoJSON) over the public parts of the register.

Four collections, each with public fields only (what the 公示牌 pages show anyone):

- ``segments``: the road register's segments (公路编码, 名称, 等级, 桩号, 列养里程, 所在镇/村);
- ``assets``: 路产 points and lines (kind, name, stakes, condition; no internal note, no photos);
- ``events``: disruption events not yet repaired, as the road's sign page shows them
  (services.events.public_events: 中断 with warning and detour, or 已抢通待修复; no reporter);
- ``reports``: public reports (社会监督, 第七条) as the tracking page shows them — reference,
  category, status, dates, location, road — never the phone, the IP digest, the office-only
  chief reply, the photo, nor the free text (a reporter may type a name or a number into it).

Numbers are JSON numbers (km with exactly 3 decimals, stakes in metres and in km plus the
K-form text); moments ISO 8601 in Beijing time with the offset, as the rest of the API.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from roadchief.domain.clock import iso_beijing
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models.network import Segment
from roadchief.models.operations import ASSET_CONDITIONS, ASSET_KINDS, RoadAsset, RoadEvent
from roadchief.models.public import REPORT_STATUSES, PublicReport
from roadchief.services import ServiceError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
KM = Decimal("0.001")


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str


COLLECTIONS = {
    c.id: c
    for c in (
        Collection(
            "segments",
            "农村公路路段",
            "路网登记的路段：公路编码、名称、行政等级、起止桩号、列养里程（km，3 位小数）、所在镇村。",
        ),
        Collection("assets", "路产", "桥梁、涵洞、标志牌、示警桩等路产的位置、类别、桩号与状况。"),
        Collection(
            "events", "突发事件（未修复）", "公示牌公布的未修复突发事件：交通中断时的警示与绕行，或已抢通待修复。"
        ),
        Collection(
            "reports",
            "群众反馈（社会监督）",
            "群众反馈的受理编号、问题类别、办理状态、时间、位置与公路；不含联系电话等个人信息。",
        ),
    )
}


# ---------- request parameters ----------


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\d{1,7}", value.strip()):
        raise ServiceError(f"limit 参数应为 1 到 {MAX_LIMIT} 的整数（收到 {value!r}）")
    limit = int(value)
    if not 1 <= limit <= MAX_LIMIT:
        raise ServiceError(f"limit 参数应为 1 到 {MAX_LIMIT} 的整数（收到 {value!r}）")
    return limit


def parse_offset(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not re.fullmatch(r"\d{1,9}", value.strip()):
        raise ServiceError(f"offset 参数应为非负整数（收到 {value!r}）")
    return int(value)


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in CRS84 (lon/lat); 6 numbers (with heights) are accepted, heights ignored."""
    if value is None or value.strip() == "":
        return None
    parts = value.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ServiceError(f"bbox 参数应为 minx,miny,maxx,maxy 四个数（收到 {value!r}）") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
        raise ServiceError(f"bbox 参数应为 minx,miny,maxx,maxy 四个数（收到 {value!r}）")
    minx, miny, maxx, maxy = numbers
    if minx > maxx or miny > maxy:
        raise ServiceError("bbox 参数的最小值不能大于最大值（顺序为 minx,miny,maxx,maxy）")
    return minx, miny, maxx, maxy


# ---------- typed values ----------


def km(metres: int | None) -> Decimal | None:
    """Whole metres as km with exactly 3 decimals (serialised as a JSON number, see dumps)."""
    return None if metres is None else (Decimal(metres) / 1000).quantize(KM)


def stake_props(prefix: str, metres: int | None) -> dict:
    return {
        f"{prefix}_m": metres,
        f"{prefix}_km": km(metres),
        f"{prefix}_stake": format_stake(metres) if metres is not None else None,
    }


_DECIMAL_MARK = "\u0000D"
_DECIMAL_TOKEN = re.compile(r'"\\u0000D(-?\d+(?:\.\d+)?)"')


def _encode(value):
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(document) -> str:
    """JSON text where Decimals become numbers written exactly (1.200 stays 1.200, never 1.2 or a float)."""
    text = json.dumps(document, ensure_ascii=False, default=_encode, separators=(",", ":"))
    return _DECIMAL_TOKEN.sub(r"\1", text)


# ---------- features ----------


def _point(lon: float | None, lat: float | None) -> dict | None:
    return None if lon is None or lat is None else {"type": "Point", "coordinates": [lon, lat]}


def segment_feature(s: Segment) -> dict:
    return {
        "type": "Feature",
        "id": s.id,
        "geometry": json.loads(s.geometry),
        "properties": {
            "road_code": s.road.code,
            "road_name": s.road.name,
            "road_class": s.road.road_class,
            **stake_props("start", s.start_m),
            **stake_props("end", s.end_m),
            "listed_km": km(s.listed_m),
            "measured_km": km(s.measured_m),
            "is_listed": bool(s.is_listed),
            "tech_grade": s.tech_grade,
            "surface": s.surface,
            "width_m": None if s.width_dm is None else (Decimal(s.width_dm) / 10).quantize(Decimal("0.1")),
            "town_code": s.town.code,
            "town": s.town.name,
            "village": s.village.name if s.village else None,
            "sign_url": f"/p/s/{s.id}",
        },
    }


def asset_feature(a: RoadAsset) -> dict:
    return {
        "type": "Feature",
        "id": a.id,
        "geometry": json.loads(a.geometry),
        "properties": {
            "code": a.code,
            "kind": a.kind,
            "kind_label": ASSET_KINDS[a.kind],
            "name": a.name,
            "road_code": a.segment.road.code,
            "road_name": a.segment.road.name,
            "segment_id": a.segment_id,
            **stake_props("stake", a.stake_m),
            **stake_props("end_stake", a.end_stake_m),
            "condition": a.condition,
            "condition_label": ASSET_CONDITIONS[a.condition],
            "quantity": a.quantity,
            "updated_at": iso_beijing(a.updated_at),
        },
    }


def event_feature(e: RoadEvent) -> dict:
    from roadchief.services.event_views import point_at_stake
    from roadchief.services.events import event_place

    if e.lon is not None:
        geometry = _point(e.lon, e.lat)
    else:
        lon, lat = point_at_stake(e.segment, e.stake_m)
        geometry = _point(round(lon, 6), round(lat, 6))
    interrupted = e.interrupted
    return {
        "type": "Feature",
        "id": e.id,
        "geometry": geometry,
        "properties": {
            "kind": e.kind,
            "kind_label": e.kind_label,
            "place": event_place(e),
            "road_code": e.segment.road.code,
            "road_name": e.segment.road.name,
            "segment_id": e.segment_id,
            **stake_props("stake", e.stake_m),
            "interrupted": interrupted,
            "status": "交通中断"
            if interrupted
            else ("已抢通，待修复" if e.state == "restored" else "通行受影响，处置中"),
            "warning_sign": e.warning_sign if interrupted else "",
            "detour": e.detour if interrupted else "",
            "detour_road": (f"{e.detour_road.code} {e.detour_road.name}" if interrupted and e.detour_road else ""),
            "occurred_at": iso_beijing(e.occurred_at),
            "restored_at": iso_beijing(e.restored_at),
        },
    }


def report_feature(r: PublicReport) -> dict:
    return {
        "type": "Feature",
        "id": r.ref,
        "geometry": _point(r.lon, r.lat),
        "properties": {
            "ref": r.ref,
            "category": r.category,
            "status": r.status,
            "status_label": REPORT_STATUSES[r.status],
            "road_code": r.road.code,
            "road_name": r.road.name,
            "segment_id": r.segment_id,
            **(
                {**stake_props("segment_start", r.segment.start_m), **stake_props("segment_end", r.segment.end_m)}
                if r.segment
                else {}
            ),
            "has_photo": bool(r.photo_path),
            "reply": r.office_note,
            "rectification_ref": r.rectification_ref,
            "created_at": iso_beijing(r.created_at),
            "updated_at": iso_beijing(r.updated_at),
            "closed_at": iso_beijing(r.closed_at),
            "track_url": f"/p/t/{r.ref}",
        },
    }


# ---------- queries ----------


def _box_overlaps(bbox, min_x, min_y, max_x, max_y):
    minx, miny, maxx, maxy = bbox
    return (min_x <= maxx) & (max_x >= minx) & (min_y <= maxy) & (max_y >= miny)


def _point_in(bbox, x, y):
    minx, miny, maxx, maxy = bbox
    return x.between(minx, maxx) & y.between(miny, maxy)


def _base(collection: str, bbox):
    """(select of the rows, the id column, loader options, feature builder)."""
    if collection == "segments":
        query = select(Segment)
        if bbox:
            query = query.where(_box_overlaps(bbox, Segment.min_lon, Segment.min_lat, Segment.max_lon, Segment.max_lat))
        return (
            query,
            Segment.id,
            (joinedload(Segment.road), joinedload(Segment.town), joinedload(Segment.village)),
            segment_feature,
        )
    if collection == "assets":
        query = select(RoadAsset)
        if bbox:
            query = query.where(_point_in(bbox, RoadAsset.lon, RoadAsset.lat))
        return query, RoadAsset.id, (joinedload(RoadAsset.segment).joinedload(Segment.road),), asset_feature
    if collection == "events":
        query = select(RoadEvent).where(RoadEvent.state != "repaired")
        if bbox:
            # an event without a GPS point sits on its segment: filter on the segment's box
            query = query.join(Segment, RoadEvent.segment_id == Segment.id).where(
                (RoadEvent.lon.is_not(None) & _point_in(bbox, RoadEvent.lon, RoadEvent.lat))
                | (
                    RoadEvent.lon.is_(None)
                    & _box_overlaps(bbox, Segment.min_lon, Segment.min_lat, Segment.max_lon, Segment.max_lat)
                )
            )
        return (
            query,
            RoadEvent.id,
            (joinedload(RoadEvent.segment).joinedload(Segment.road), joinedload(RoadEvent.detour_road)),
            event_feature,
        )
    if collection == "reports":
        query = select(PublicReport)
        if bbox:
            query = query.where(PublicReport.lon.is_not(None), _point_in(bbox, PublicReport.lon, PublicReport.lat))
        return query, PublicReport.id, (joinedload(PublicReport.road), joinedload(PublicReport.segment)), report_feature
    raise KeyError(collection)


def items(collection: str, limit: int = DEFAULT_LIMIT, offset: int = 0, bbox=None) -> tuple[list[dict], int]:
    """One page of a collection's features, in id order, and the number matched by the filter."""
    query, id_column, options, build = _base(collection, bbox)
    matched = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.options(*options).order_by(id_column).offset(offset).limit(limit)).unique().all()
    return [build(row) for row in rows], matched


def item(collection: str, fid: str) -> dict | None:
    if collection == "reports":
        row = db.session.scalar(select(PublicReport).where(PublicReport.ref == fid.strip().upper()))
        return report_feature(row) if row else None
    if not re.fullmatch(r"\d{1,9}", fid):
        return None
    query, id_column, options, build = _base(collection, None)
    row = db.session.scalar(query.options(*options).where(id_column == int(fid)))
    return build(row) if row else None


def extent(collection: str) -> list[float] | None:
    """The collection's bounding box [minx, miny, maxx, maxy], or None while it is empty."""
    if collection in ("segments", "events"):
        query = select(
            func.min(Segment.min_lon), func.min(Segment.min_lat), func.max(Segment.max_lon), func.max(Segment.max_lat)
        )
        if collection == "events":
            query = query.join(RoadEvent, RoadEvent.segment_id == Segment.id).where(RoadEvent.state != "repaired")
    elif collection == "assets":
        query = select(
            func.min(RoadAsset.lon), func.min(RoadAsset.lat), func.max(RoadAsset.lon), func.max(RoadAsset.lat)
        )
    else:
        query = select(
            func.min(PublicReport.lon),
            func.min(PublicReport.lat),
            func.max(PublicReport.lon),
            func.max(PublicReport.lat),
        )
    row = db.session.execute(query).one()
    if row[0] is None:
        # an empty collection (or reports without locations): the network's box still tells clients where to look
        row = db.session.execute(
            select(
                func.min(Segment.min_lon),
                func.min(Segment.min_lat),
                func.max(Segment.max_lon),
                func.max(Segment.max_lat),
            )
        ).one()
    return None if row[0] is None else [float(v) for v in row]
