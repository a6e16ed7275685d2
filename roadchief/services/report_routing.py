"""A confirmed public report becomes a rectification (整改) by itself (社会监督, 第七条): an unscored
专项检查 record of the confirming office with one finding, assigned by default to the segment's
village and town chiefs; and the report's dated history, shown on the public tracking page."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select

from roadchief.domain import scoring
from roadchief.domain.scoring import local_date
from roadchief.extensions import db
from roadchief.models import Chief, Segment
from roadchief.models.base import utcnow
from roadchief.models.inspections import Finding, Inspection, InspectionSegment, Rectification
from roadchief.models.public import REPORT_STATUSES, PublicReport
from roadchief.models.routing import PublicReportEvent
from roadchief.services import ServiceError, rectification_routing
from roadchief.services.chiefs import AssignmentIndex
from roadchief.services.inspection_scope import _chiefs_in
from roadchief.services.permissions import office_key

RECORD_KIND = "special"  # 专项检查: never scored (SCORED_KINDS), so a report costs no points by itself
# the catalog category a report's category defaults to (the office may pick another item)
CATEGORY_ITEMS = {
    "路面破损": "路面养护",
    "路基塌陷": "路基养护",
    "桥涵": "桥涵养护",
    "交安设施": "沿线设施",
    "路域环境": "路容路貌",
    "占道晒粮堆物": "路容路貌",
    "积雪结冰": "路面养护",
    "其他": "路容路貌",
}
# what the public tracking page says for each step (no names, no phone numbers)
EVENT_LABELS = {
    "submit": "群众提交反馈",
    "assign": "转办责任路长",
    "confirm": "确认问题，转整改",
    "close": "办结",
    "reject": "不予受理",
    "reply": "路长已回复",
    "merge": "与相同问题合并办理",
    "dismiss": "核实为单独问题",
    "complete": "路长提交整改完成",
    "return": "整改复核未通过，退回重改",
    "verify": "整改复核通过",
}


def record_event(report: PublicReport, action: str, note: str | None, user=None) -> None:
    """Add a dated step to a report's history (in the caller's transaction)."""
    actor = "" if user is None else (user.display_name or user.username)
    report.events.append(
        PublicReportEvent(
            at=utcnow(),
            action=action,
            status=report.status,
            note=note or "",
            actor=actor[:80],
            user_id=getattr(user, "id", None),
        )
    )


def item_choices(report: PublicReport, day: date) -> tuple[list[tuple[str, str]], str | None]:
    """The catalog items an office may file the 整改 under, and the default for the report's category."""
    from roadchief.services.deduction_catalog import catalog_for

    items = [i for i in catalog_for(day.year).items if i.code != scoring.OVERDUE_CODE]
    wanted = CATEGORY_ITEMS.get(report.category)
    default = next((i.code for i in items if i.category == wanted), items[0].code if items else None)
    return [(i.code, f"{i.code} {i.text}") for i in items], default


def default_chiefs(segment: Segment, index: AssignmentIndex, assigned: Chief | None) -> list[tuple[Chief, str]]:
    """Who answers a report's 整改 by default: the chief it was forwarded to, else the segment's
    村级路长, else its 镇级路长 ("assessed" row), with the village and town chiefs as workers."""
    village = _chiefs_in(index, "village", segment.village_id, ("village",))
    town = _chiefs_in(index, "town", segment.town_id, ("town",))
    owner = assigned or (village[0] if village else None) or (town[0] if town else None)
    chiefs = [(owner, "assessed")] if owner else []
    return chiefs + [(c, "worker") for c in village + town]


def open_rectification(
    report: PublicReport,
    user,
    now: datetime,
    deadline: date | None = None,
    item_code: str | None = None,
    segment_id: int | None = None,
) -> Rectification:
    """Create the report's 整改 (in the caller's transaction): an unscored record of the user's office
    on the report's segment, one finding of the chosen catalog item, the default assignees."""
    key = office_key(user)
    if key is None:
        raise ServiceError("当前账号不能转整改")
    segment = report.segment
    if segment is None:
        segment = next((s for s in report.road.segments if s.id == segment_id), None) if segment_id else None
        if segment is None:
            raise ServiceError("该反馈未定位到路段：请选择问题所在路段后再确认")
        report.segment = segment
        report.town_id = segment.town_id
    day = local_date(now)
    deadline = deadline or day + timedelta(days=scoring.DEFAULT_DEADLINE_DAYS)
    if deadline < day:
        raise ServiceError(f"整改期限不能早于今天（{day.isoformat()}）")
    from roadchief.services.deduction_catalog import catalog_for

    catalog = catalog_for(day.year)
    choices, default = item_choices(report, day)
    code = (item_code or default or "").strip().upper()
    item = next((i for i in catalog.items if i.code == code), None)
    if item is None or code not in dict(choices):
        raise ServiceError(f"整改问题类别不正确：{code or '未选择'}")
    index = AssignmentIndex(day)
    chiefs = default_chiefs(segment, index, report.assigned_chief)
    inspection = Inspection(
        client_uuid=str(uuid.uuid4()),
        kind=RECORD_KIND,
        inspected_at=now,
        user_id=user.id,
        inspector_name=user.display_name or user.username,
        office_key=key,
        catalog=catalog,
        lon=report.lon,
        lat=report.lat,
        note=f"公众反馈 {report.ref} 转整改：{report.text}"[:2000],
    )
    inspection.segments.append(InspectionSegment(segment_id=segment.id))
    finding = Finding(segment_id=segment.id, item=item, quantity=1, note=f"公众反馈 {report.ref}：{report.text}"[:1000])
    owner = chiefs[0][0] if chiefs else None
    finding.rectification = Rectification(chief_id=owner.id if owner else None, deadline=deadline, state=scoring.OPEN)
    rectification_routing.add_assignees(finding.rectification, chiefs, by=user.username)
    inspection.findings.append(finding)
    db.session.add(inspection)
    db.session.flush()
    rect = finding.rectification
    report.rectification_id = rect.id
    report.rectification_ref = f"整改 #{rect.id}"
    return rect


def rectification_of(report: PublicReport) -> Rectification | None:
    return db.session.get(Rectification, report.rectification_id) if report.rectification_id else None


def public_history(report: PublicReport) -> list[dict]:
    """The report's steps and its 整改's steps, oldest first, as the public may read them."""
    steps = [
        {"at": e.at, "label": EVENT_LABELS.get(e.action, e.action), "status": REPORT_STATUSES.get(e.status, "")}
        for e in report.events
    ]
    rect = rectification_of(report)
    if rect is not None:
        steps += [{"at": e.at, "label": EVENT_LABELS.get(e.action, e.action), "status": ""} for e in rect.events]
    return sorted(steps, key=lambda s: s["at"])


def reports_of_rectification(rect_id: int) -> list[PublicReport]:
    return list(db.session.scalars(select(PublicReport).where(PublicReport.rectification_id == rect_id)))
