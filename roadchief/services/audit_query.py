"""Reading the audit log: filters for the admin page and its XLSX export."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from roadchief.domain.clock import BEIJING, to_beijing
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
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from roadchief.reports.xlsx_cells import row_cells

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "审计日志"
    sheet.append(["编号", "时间（北京时间）", "操作人", "IP", "操作", "对象", "对象ID", "修改前", "修改后", "说明"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in db.session.scalars(query.limit(limit)):
        sheet.append(
            row_cells(
                sheet,
                [
                    entry.id,
                    to_beijing(entry.at).replace(tzinfo=None) if entry.at else None,
                    entry.actor,
                    entry.ip or "",
                    ACTIONS.get(entry.action, entry.action),
                    entry.entity,
                    entry.entity_id or "",
                    entry.before or "",
                    entry.after or "",
                    entry.note or "",
                ],
            )
        )  # user text stays literal text
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJ", (8, 20, 16, 14, 6, 18, 10, 50, 50, 30)):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
