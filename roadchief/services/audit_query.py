"""Reading the audit log: filters for the admin page and its XLSX export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from roadchief.domain.clock import BEIJING
from roadchief.extensions import db
from roadchief.models import AuditEntry

ACTIONS = {"create": "新增", "update": "修改", "delete": "删除", "event": "事件"}


def audit_query(
    entity: str = "",
    actor: str = "",
    action: str = "",
    entity_id: str = "",
    since: date | None = None,
    until: date | None = None,
):
    query = select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if actor:
        query = query.where(AuditEntry.actor.ilike(f"%{actor}%"))
    if action in ACTIONS:
        query = query.where(AuditEntry.action == action)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if since:  # days of the Beijing calendar, as shown on the page
        query = query.where(AuditEntry.at >= datetime.combine(since, time.min, tzinfo=BEIJING))
    if until:
        query = query.where(AuditEntry.at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=BEIJING))
    return query.order_by(AuditEntry.id.desc())


def page(query, number: int, size: int = 50):
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.limit(size).offset((number - 1) * size)).all()
    return rows, total


def entities() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))


def export_xlsx(query, limit: int = 100_000) -> bytes:
    """The filtered log as XLSX (reports/audit_xlsx.py): Chinese labels, Beijing time, long values split."""
    from roadchief.reports.audit_xlsx import audit_workbook

    return audit_workbook(db.session.scalars(query.limit(limit)), ACTIONS)
