"""Public reports (社会监督, 第七条): anyone reports a problem from a 公示牌; it becomes a
ticket for the responsible 路长, seen by the offices, and is tracked to closure.

States and the actions moving between them are data (TRANSITIONS); ``next_status``
is the one place that says what may follow what.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import false, func, or_, select, true

from roadchief.domain.clock import beijing_today
from roadchief.domain.permissions import PROCESS_REPORTS, REPLY_REPORTS, may, report_scope
from roadchief.extensions import db
from roadchief.models import Road, Segment
from roadchief.models.base import utcnow
from roadchief.models.public import (
    LAT_RANGE,
    LON_RANGE,
    NOTE_MAX,
    REPORT_CATEGORIES,
    REPORT_STATUSES,
    REPORT_TEXT_MAX,
    PublicReport,
)
from roadchief.services import Conflict, ServiceError, report_routing
from roadchief.services.chiefs import AssignmentIndex
from roadchief.services.signs import responsible_chief
from roadchief.services.transactions import unit_of_work
from roadchief.services.uploads import DEFAULT_MAX_BYTES, staged_photos

ACTIONS = {
    "assign": "转办路长",
    "confirm": "确认问题（转整改）",
    "close": "办结",
    "reject": "不予受理",
    "reply": "路长回复",
}
# current status -> {action: next status}. closed and rejected are final.
TRANSITIONS: dict[str, dict[str, str]] = {
    "received": {
        "assign": "assigned",
        "confirm": "confirmed",
        "close": "closed",
        "reject": "rejected",
        "reply": "received",
    },
    "assigned": {
        "assign": "assigned",
        "confirm": "confirmed",
        "close": "closed",
        "reject": "rejected",
        "reply": "assigned",
    },
    "confirmed": {"close": "closed", "reply": "confirmed"},
    "closed": {},
    "rejected": {},
}
OFFICE_ACTIONS = ("assign", "confirm", "close", "reject")
CHIEF_ACTIONS = ("reply",)
FINAL = tuple(s for s, moves in TRANSITIONS.items() if not moves)

REF_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # base32 without look-alikes (0/O, 1/I/L, U)
REF_PATTERN = re.compile(r"^GK\d{8}[A-Z0-9]{4,8}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def next_status(current: str, action: str) -> str:
    """The status after an action, or ServiceError when the action is not allowed now."""
    if current not in TRANSITIONS:
        raise ServiceError(f"未知的状态：{current!r}")
    if action not in ACTIONS:
        raise ServiceError(f"未知的操作：{action!r}")
    moves = TRANSITIONS[current]
    if action not in moves:
        raise ServiceError(f"状态为“{REPORT_STATUSES[current]}”的反馈不能执行“{ACTIONS[action]}”")
    return moves[action]


def allowed_actions(status: str) -> list[str]:
    return list(TRANSITIONS.get(status, {}))


# ---------- input checks ----------


def clean_text(value: str | None, what: str, limit: int, required: bool = True) -> str | None:
    text = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").strip()
    # control characters other than newline and tab have no place in a report
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    if not text:
        if required:
            raise ServiceError(f"请填写{what}")
        return None
    if len(text) > limit:
        raise ServiceError(f"{what}不能超过 {limit} 字（现 {len(text)} 字）")
    return text


def clean_phone(value: str | None) -> str | None:
    """An 11-digit mobile number or a landline (0953-3012345); None when left empty."""
    text = unicodedata.normalize("NFKC", value or "").strip().replace(" ", "")
    if not text:
        return None
    if text.startswith("+86"):
        text = text[3:]
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    raise ServiceError("联系电话格式不正确：请填写 11 位手机号，或区号加座机号（如 0953-3012345）")


def clean_location(lon: str | float | None, lat: str | float | None) -> tuple[float | None, float | None]:
    def number(value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise ServiceError("位置坐标格式不正确") from None
        if not math.isfinite(result):
            raise ServiceError("位置坐标格式不正确")
        return result

    x, y = number(lon), number(lat)
    if x is None and y is None:
        return None, None
    if x is None or y is None:
        raise ServiceError("位置坐标不完整")
    if not (LON_RANGE[0] <= x <= LON_RANGE[1] and LAT_RANGE[0] <= y <= LAT_RANGE[1]):
        raise ServiceError("位置不在青铜峡市范围内，请到现场后重新获取位置，或不填位置")
    return round(x, 6), round(y, 6)


def ip_digest(ip: str | None) -> str:
    secret = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{ip or ''}|{secret}".encode()).hexdigest()


def new_ref(today: date | None = None) -> str:
    today = today or beijing_today()
    return f"GK{today:%Y%m%d}" + "".join(secrets.choice(REF_ALPHABET) for _ in range(4))


def normalise_ref(ref: str | None) -> str | None:
    text = unicodedata.normalize("NFKC", ref or "").strip().upper()
    return text if REF_PATTERN.match(text) else None


# ---------- creating a report ----------


@dataclass(frozen=True)
class ReportInput:
    category: str
    text: str
    phone: str | None = None
    lon: str | float | None = None
    lat: str | float | None = None
    segment_id: int | None = None


def _segment_at(road: Road, lon: float, lat: float) -> Segment | None:
    """The road's segment whose bounding box (with ~200 m margin) holds the point, nearest centre first."""
    margin = 0.002
    best, best_distance = None, None
    for s in road.segments:
        if s.min_lon - margin <= lon <= s.max_lon + margin and s.min_lat - margin <= lat <= s.max_lat + margin:
            distance = (lon - (s.min_lon + s.max_lon) / 2) ** 2 + (lat - (s.min_lat + s.max_lat) / 2) ** 2
            if best_distance is None or distance < best_distance:
                best, best_distance = s, distance
    return best


def _road_town(road: Road) -> int | None:
    towns = {s.town_id for s in road.segments}
    return towns.pop() if len(towns) == 1 else None


def create_report(
    road: Road, data: ReportInput, photo=None, ip: str | None = None, today: date | None = None
) -> PublicReport:
    """Validate and store a report; the photo (a FileStorage or None) is checked first."""
    if data.category not in REPORT_CATEGORIES:
        raise ServiceError("请选择问题类别")
    text = clean_text(data.text, "问题描述", REPORT_TEXT_MAX)
    phone = clean_phone(data.phone)
    lon, lat = clean_location(data.lon, data.lat)
    segment = None
    if data.segment_id:
        segment = next((s for s in road.segments if s.id == data.segment_id), None)
        if segment is None:
            raise ServiceError("所选路段不属于这条公路")
    elif len(road.segments) == 1:
        segment = road.segments[0]
    elif lon is not None:
        segment = _segment_at(road, lon, lat)

    index = AssignmentIndex(today or beijing_today())
    if segment is not None:
        chief_id = responsible_chief(segment, index)
        town_id = segment.town_id
    else:
        # one chief for the whole road, or the office assigns one
        chiefs = {responsible_chief(s, index) for s in road.segments}
        chief_id = chiefs.pop() if len(chiefs) == 1 else None
        town_id = _road_town(road)

    stored = None
    upload_dir = current_app.config["UPLOAD_DIR"]
    with staged_photos(upload_dir, max_bytes=current_app.config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)) as stage:
        if photo is not None and getattr(photo, "filename", None):
            stored = stage.save(photo)
        for attempt in range(5):
            report = PublicReport(
                ref=new_ref(today),
                road_id=road.id,
                segment_id=segment.id if segment else None,
                town_id=town_id,
                category=data.category,
                text=text,
                lon=lon,
                lat=lat,
                reporter_phone=phone,
                status="received",
                assigned_chief_id=chief_id,
                ip_hash=ip_digest(ip),
                photo_path=stored.path if stored else None,
                photo_thumb_path=stored.thumb_path if stored else None,
                photo_taken_at=stored.taken_at if stored else None,
            )
            try:
                with unit_of_work():
                    db.session.add(report)
                    report_routing.record_event(report, "submit", None)
                    from roadchief.services import report_duplicates  # it reads this module's rules

                    report_duplicates.mark_if_duplicate(report)
                return report
            except Conflict:  # a reference collision (1 in 810 000 per day and report): draw again
                if attempt == 4:
                    raise
    raise AssertionError("unreachable")


# ---------- who sees and handles what ----------


def visible_condition(user):
    """SQL condition on PublicReport for the reports a signed-in user may see."""
    scope = report_scope(user.role, bool(user.town_id), bool(user.chief_id))
    if scope == "all":
        return true()
    if scope == "town":
        road_in_town = select(Segment.road_id).where(Segment.town_id == user.town_id)
        return or_(
            PublicReport.town_id == user.town_id,
            (PublicReport.town_id.is_(None)) & PublicReport.road_id.in_(road_in_town),
        )
    if scope == "chief":
        return PublicReport.assigned_chief_id == user.chief_id
    return false()


def can_see(user, report: PublicReport) -> bool:
    return bool(db.session.scalar(select(PublicReport.id).where(PublicReport.id == report.id, visible_condition(user))))


def can_handle(user, report: PublicReport) -> bool:
    """Offices move a report on: the city office, and the town office of its town."""
    return may(user.role, PROCESS_REPORTS) and can_see(user, report)


def can_reply(user, report: PublicReport) -> bool:
    return may(user.role, REPLY_REPORTS) and user.chief_id is not None and report.assigned_chief_id == user.chief_id


def list_reports(user, status: str | None = None, limit: int = 200) -> list[PublicReport]:
    query = select(PublicReport).where(visible_condition(user))
    if status in REPORT_STATUSES:
        query = query.where(PublicReport.status == status)
    elif status == "open":
        query = query.where(PublicReport.status.not_in(FINAL))
    return list(db.session.scalars(query.order_by(PublicReport.created_at.desc(), PublicReport.id.desc()).limit(limit)))


def find_report(ref: str) -> PublicReport | None:
    ref = normalise_ref(ref)
    return db.session.scalar(select(PublicReport).where(PublicReport.ref == ref)) if ref else None


def act(
    report: PublicReport,
    user,
    action: str,
    note: str | None = None,
    rectification_ref: str | None = None,
    chief_id: int | None = None,
    deadline: date | None = None,
    item_code: str | None = None,
    segment_id: int | None = None,
) -> PublicReport:
    """Apply an office action (assign/confirm/close/reject) or a chief's reply. Confirming opens
    the report's rectification (services.report_routing); ``rectification_ref`` is ignored (kept
    for old callers: the reference is the rectification's own)."""
    if action in OFFICE_ACTIONS:
        if not can_handle(user, report):
            raise ServiceError("只有市级路长办公室或该镇路长办公室可以处理此反馈")
    elif action in CHIEF_ACTIONS:
        if not can_reply(user, report):
            raise ServiceError("只有被转办的路长可以回复")
    new_status = next_status(report.status, action)
    note = clean_text(
        note, "处理意见" if action != "reply" else "回复", NOTE_MAX, required=action in ("reject", "reply")
    )

    with unit_of_work():  # a refusal below leaves nothing half-done in the session
        if action == "assign":
            if chief_id:
                if chief_id not in dict(chief_choices(report)):
                    raise ServiceError("只能转办给负责该路段的路长")
                report.assigned_chief_id = chief_id
            if report.assigned_chief_id is None:
                raise ServiceError("请选择转办的路长")
        if action == "confirm" and report.rectification_id is None:
            report_routing.open_rectification(
                report, user, utcnow(), deadline=deadline, item_code=item_code, segment_id=segment_id
            )
        if action == "reply":
            report.chief_reply = note
        elif note:
            report.office_note = note
        if new_status in FINAL and report.status not in FINAL:
            report.closed_at = utcnow()
        report.status = new_status
        report_routing.record_event(report, action, note if action != "reply" else None, user)
    return report


def chief_choices(report: PublicReport, day: date | None = None) -> list[tuple[int, str]]:
    """Chiefs an office may forward a report to: those answering for its segment (or road)."""
    index = AssignmentIndex(day or beijing_today())
    segments = [report.segment] if report.segment else list(report.road.segments)
    seen: dict[int, str] = {}
    for segment in segments:
        for c in index.chiefs_for(segment):
            if (
                c.position in ("city", "city_town_roads", "station", "town", "area", "village")
                and c.chief.id not in seen
            ):
                seen[c.chief.id] = f"{c.chief.name}（{c.position_name}，{c.chief.title}）"
    if report.assigned_chief_id and report.assigned_chief_id not in seen and report.assigned_chief:
        seen[report.assigned_chief_id] = report.assigned_chief.name
    return list(seen.items())


def stats_by_status(user) -> dict[str, int]:
    rows = db.session.execute(
        select(PublicReport.status, func.count()).where(visible_condition(user)).group_by(PublicReport.status)
    )
    return {status: count for status, count in rows}
