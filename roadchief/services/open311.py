"""Open311 GeoReport v2 over public reports (社会监督, 第七条).

- services: one per report category (REPORT_CATEGORIES), with a stable ASCII service_code;
- requests: public reports with their public fields only — never the phone, the IP digest,
  the chief's office-only reply or the photo; the free text is not published either (it may
  hold a reporter's name or number), ``description`` is the category and the road;
- status: open while 已受理 / 已转办 / 已确认（转整改）, closed when 已办结 or 不予受理;
- expected_datetime: the deadline of the rectification the office linked the report to
  (整改单号 = the rectification's number), end of that day in Beijing time; else null;
- POST creates a report through services.public_reports.create_report (the same checks as
  the 公示牌 form), the road being the one nearest the given point.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta

from shapely.geometry import Point, shape
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from roadchief.domain.clock import BEIJING, beijing_today, iso_beijing, parse_local, to_utc
from roadchief.extensions import db
from roadchief.models.inspections import Rectification
from roadchief.models.network import Segment
from roadchief.models.public import REPORT_CATEGORIES, REPORT_STATUSES, PublicReport
from roadchief.services import ServiceError
from roadchief.services.public_reports import FINAL, ReportInput, clean_location, create_report

SERVICE_CODES = {
    "pavement": "路面破损",
    "subgrade": "路基塌陷",
    "bridge_culvert": "桥涵",
    "traffic_safety": "交安设施",
    "roadside": "路域环境",
    "obstruction": "占道晒粮堆物",
    "snow_ice": "积雪结冰",
    "other": "其他",
}
assert tuple(SERVICE_CODES.values()) == REPORT_CATEGORIES, "one Open311 service per report category"
CODE_OF = {name: code for code, name in SERVICE_CODES.items()}
KEYWORDS = {
    "pavement": "坑槽,裂缝,沉陷,路面",
    "subgrade": "塌方,路基,边坡,水毁",
    "bridge_culvert": "桥梁,涵洞,护栏",
    "traffic_safety": "标志,标线,示警桩,防撞墩",
    "roadside": "垃圾,绿化,边沟,路域",
    "obstruction": "晒粮,堆物,占道",
    "snow_ice": "积雪,结冰,除雪",
    "other": "其他",
}
OPEN_STATUSES = tuple(s for s in REPORT_STATUSES if s not in FINAL)
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
NEAR_M = 200  # a POSTed point farther than this from every segment is not on a registered road
AGENCY = "青铜峡市农村公路路长办公室"


def services() -> list[dict]:
    return [
        {
            "service_code": code,
            "service_name": name,
            "description": f"农村公路问题反馈：{name}。提交后由路长办公室受理、转办负责路长，可凭受理编号查询进度。",
            "metadata": False,
            "type": "realtime",
            "keywords": KEYWORDS[code],
            "group": "农村公路",
        }
        for code, name in SERVICE_CODES.items()
    ]


def open311_status(status: str) -> str:
    return "closed" if status in FINAL else "open"


_RECT_NUMBER = re.compile(r"^\D*(\d{1,9})$")


def expected_datetime(report: PublicReport) -> str | None:
    """The linked rectification's deadline (a day) as its last second in Beijing time: the one
    confirming opened (``rectification_id``), else a number in an older hand-typed 整改单号."""
    match = _RECT_NUMBER.match((report.rectification_ref or "").strip())
    if report.rectification_id is None and not match:
        return None
    rect = db.session.get(Rectification, report.rectification_id or int(match.group(1)))
    if rect is None:
        return None
    return datetime.combine(rect.deadline, time(23, 59, 59), tzinfo=BEIJING).isoformat()


def request_json(report: PublicReport) -> dict:
    segment = report.segment
    address = f"{report.road.code} {report.road.name}"
    if segment is not None:
        from roadchief.domain.stakes import format_stake

        address += f" {format_stake(segment.start_m)}—{format_stake(segment.end_m)}"
    return {
        "service_request_id": report.ref,
        "status": open311_status(report.status),
        "status_notes": report.office_note or REPORT_STATUSES[report.status],
        "service_name": report.category,
        "service_code": CODE_OF[report.category],
        "description": f"{report.category}（{report.road.name}）",
        "agency_responsible": AGENCY,
        "service_notice": f"办理状态：{REPORT_STATUSES[report.status]}",
        "requested_datetime": iso_beijing(report.created_at),
        "updated_datetime": iso_beijing(report.updated_at),
        "expected_datetime": expected_datetime(report),
        "address": address,
        "address_id": report.road.code,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lon,
        "media_url": None,
    }


def _moment(value: str | None, what: str) -> datetime | None:
    """An ISO 8601 moment (without an offset: Beijing time, as every input) in UTC."""
    try:
        return parse_local(value, what)
    except ValueError as error:
        raise ServiceError(f"{what} 格式不正确，应为 ISO 8601 时间（如 2026-11-01T00:00:00+08:00）") from error


def find_requests(
    service_code: str | None = None,
    status: str | None = None,
    start: str | None = None,
    end: str | None = None,
    refs: str | None = None,
) -> list[dict]:
    query = select(PublicReport).options(joinedload(PublicReport.road), joinedload(PublicReport.segment))
    if refs:
        wanted = [r.strip().upper() for r in refs.split(",") if r.strip()][:MAX_REQUESTS]
        query = query.where(PublicReport.ref.in_(wanted))
    else:
        start_at, end_at = _moment(start, "start_date"), _moment(end, "end_date")
        if start_at is None:
            start_at = to_utc(datetime.combine(beijing_today() - timedelta(days=DEFAULT_DAYS), time(0), tzinfo=BEIJING))
        if end_at is not None and end_at < start_at:
            raise ServiceError("end_date 不能早于 start_date")
        query = query.where(PublicReport.created_at >= start_at)
        if end_at is not None:
            query = query.where(PublicReport.created_at <= end_at)
    if service_code:
        codes = [c.strip() for c in service_code.split(",") if c.strip()]
        unknown = [c for c in codes if c not in SERVICE_CODES]
        if unknown:
            raise ServiceError(f"未知的 service_code：{', '.join(unknown)}（可用：{', '.join(SERVICE_CODES)}）")
        query = query.where(PublicReport.category.in_([SERVICE_CODES[c] for c in codes]))
    if status:
        wanted_status = [s.strip() for s in status.split(",") if s.strip()]
        if any(s not in ("open", "closed") for s in wanted_status):
            raise ServiceError("status 只能为 open 或 closed")
        internal = [s for s in REPORT_STATUSES if open311_status(s) in wanted_status]
        query = query.where(PublicReport.status.in_(internal))
    rows = (
        db.session.scalars(query.order_by(PublicReport.created_at.desc(), PublicReport.id.desc()).limit(MAX_REQUESTS))
        .unique()
        .all()
    )
    return [request_json(r) for r in rows]


def nearest_segment(lon: float, lat: float) -> Segment | None:
    """The registered segment nearest the point, within NEAR_M (about 200 m)."""
    margin = 0.003  # degrees, a little more than NEAR_M at this latitude
    candidates = db.session.scalars(
        select(Segment).where(
            Segment.min_lon - margin <= lon,
            Segment.max_lon + margin >= lon,
            Segment.min_lat - margin <= lat,
            Segment.max_lat + margin >= lat,
        )
    ).all()
    point = Point(lon, lat)
    best, best_distance = None, None
    for segment in candidates:
        distance = shape(json.loads(segment.geometry)).distance(point)
        if best_distance is None or distance < best_distance:
            best, best_distance = segment, distance
    # degrees to metres: ~111 km per degree of latitude, cos(38°) ≈ 0.79 for longitude; be generous
    if best is None or best_distance * 111_000 * 0.79 > NEAR_M:
        return None
    return best


def post_request(form, ip: str | None, today: date | None = None) -> PublicReport:
    """Create a public report from an Open311 POST (form fields per GeoReport v2)."""
    code = (form.get("service_code") or "").strip()
    if code not in SERVICE_CODES:
        raise ServiceError(f"请选择问题类别：service_code 应为 {', '.join(SERVICE_CODES)} 之一")
    if not (form.get("lat") or "").strip() or not (form.get("long") or "").strip():
        raise ServiceError("请提供问题位置：lat 与 long（经纬度，WGS84）")
    lon, lat = clean_location(form.get("long"), form.get("lat"))
    segment = nearest_segment(lon, lat)
    if segment is None:
        raise ServiceError(f"位置附近 {NEAR_M} 米内没有登记的农村公路，请核对经纬度")
    text = form.get("description") or ""
    address = (form.get("address_string") or "").strip()
    if address and text.strip():
        text = f"{text.strip()}\n（位置描述：{address}）"
    elif address:
        text = address
    data = ReportInput(
        category=SERVICE_CODES[code], text=text, phone=form.get("phone"), lon=lon, lat=lat, segment_id=segment.id
    )
    return create_report(segment.road, data, photo=None, ip=ip, today=today)
