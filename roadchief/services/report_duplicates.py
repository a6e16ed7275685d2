"""Possible duplicates among public reports (社会监督, 第七条): a new report near an open one
(domain.duplicates) is marked and linked for the office, which merges it into the open one
(closing it) or dismisses the suspicion."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from roadchief.domain import duplicates as rule
from roadchief.domain.lengths import projected_transformer
from roadchief.extensions import db
from roadchief.models.base import utcnow
from roadchief.models.public import PublicReport
from roadchief.services import ServiceError, public_reports
from roadchief.services.report_routing import record_event
from roadchief.services.transactions import unit_of_work


def _sighting(report: PublicReport) -> rule.Sighting:
    xy = None
    if report.lon is not None and report.lat is not None:
        xy = projected_transformer().transform(report.lon, report.lat)
    return rule.Sighting(report.created_at or utcnow(), report.segment_id, xy)


def find_original(report: PublicReport, now: datetime | None = None) -> PublicReport | None:
    """The open report (not itself a merged duplicate) that ``report`` may repeat: the most recent
    one on the same segment or within the radius, reported within the window."""
    now = now or report.created_at or utcnow()
    since = now - timedelta(days=rule.WINDOW_DAYS)
    query = (
        select(PublicReport)
        .where(
            PublicReport.road_id == report.road_id,
            PublicReport.status.not_in(public_reports.FINAL),
            PublicReport.created_at >= since,
            PublicReport.duplicate_of_id.is_(None) | (PublicReport.duplicate_state == "dismissed"),
        )
        .order_by(PublicReport.created_at.desc(), PublicReport.id.desc())
    )
    if report.id is not None:
        query = query.where(PublicReport.id != report.id)
    new = _sighting(report)
    new = rule.Sighting(now, new.segment_id, new.xy)
    for old in db.session.scalars(query.limit(200)):
        if rule.is_possible_duplicate(new, _sighting(old)):
            return old
    return None


def mark_if_duplicate(report: PublicReport, now: datetime | None = None) -> PublicReport | None:
    """Mark a new report as a suspected duplicate of an open one (in the caller's transaction)."""
    db.session.flush()  # the new report has its id and time, so it is never its own original
    original = find_original(report, now)
    if original is not None:
        report.duplicate_of = original
        report.duplicate_state = "suspected"
    return original


def _check(user, report: PublicReport) -> None:
    if not public_reports.can_handle(user, report):
        raise PermissionError("duplicate")
    if report.duplicate_state != "suspected":
        raise ServiceError("该反馈没有待处理的疑似重复标记")


def merge(user, report: PublicReport) -> PublicReport:
    """The office agrees: the report is the same problem as its original and closes with it."""
    _check(user, report)
    if report.status in public_reports.FINAL:
        raise ServiceError("该反馈已办结，不能合并")
    original = report.duplicate_of
    note = f"与受理编号 {original.ref} 反映的为同一问题，已合并办理，请凭该编号查询进度。"
    with unit_of_work():
        report.duplicate_state = "merged"
        report.status = "closed"
        report.office_note = note
        report.closed_at = utcnow()
        record_event(report, "merge", note, user)
    return report


def dismiss(user, report: PublicReport) -> PublicReport:
    """The office decides the report is a problem of its own."""
    _check(user, report)
    with unit_of_work():
        report.duplicate_state = "dismissed"
        record_event(report, "dismiss", "", user)
    return report


def duplicates_of(report: PublicReport) -> list[PublicReport]:
    """Reports marked (suspected or merged) as repeating this one."""
    return list(
        db.session.scalars(
            select(PublicReport)
            .where(PublicReport.duplicate_of_id == report.id, PublicReport.duplicate_state != "dismissed")
            .order_by(PublicReport.id)
        )
    )
