"""Audit log admin page: filters and XLSX export. The log itself is append-only."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request

from roadchief.domain.permissions import READ_AUDIT, roles_for
from roadchief.services import audit_labels
from roadchief.services.audit_query import ACTIONS, audit_query, entities, export_xlsx, page
from roadchief.web.access import allow

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _query():
    args = request.args
    return audit_query(
        entity=args.get("entity", ""),
        actor=args.get("actor", "").strip(),
        action=args.get("action", ""),
        entity_id=args.get("entity_id", "").strip(),
        since=_date("since"),
        until=_date("until"),
    )


@bp.route("/")
@allow(*roles_for(READ_AUDIT))
def index():
    number = max(1, request.args.get("page", 1, type=int))
    rows, total = page(_query(), number)
    return render_template(
        "audit/index.html",
        rows=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // 50)),
        entities=[(e, audit_labels.entity_label(e)) for e in entities()],
        actions=ACTIONS,
        labels=audit_labels,
        args=request.args,
    )


@bp.route("/export.xlsx")
@allow(*roles_for(READ_AUDIT))
def export():
    body = export_xlsx(_query())
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": "attachment; filename=audit-log.xlsx; filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97.xlsx"
        },
    )
