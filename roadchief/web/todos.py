"""待办 (the signed-in user's to-dos: page, menu count, GET /api/v1/todos), reassigning a
rectification's assignee (无账号), and the office's decision on a possible duplicate report."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from roadchief.domain.clock import beijing_today
from roadchief.domain.permissions import PROCESS_REPORTS, READ, REASSIGN_RECTIFICATION, roles_for
from roadchief.domain.scoring import DEFAULT_DEADLINE_DAYS
from roadchief.extensions import db
from roadchief.models.inspections import Rectification
from roadchief.services import (
    ServiceError,
    inspection_scope,
    permissions,
    public_reports,
    rectification_routing,
    report_duplicates,
    report_routing,
    todos,
)
from roadchief.services.chiefs import AssignmentIndex
from roadchief.web.access import allow, require
from roadchief.web.api import BEARER
from roadchief.web.api import bp as api_bp
from roadchief.web.api.schemas import returns

bp = Blueprint("todos", __name__)


def _cache() -> dict:
    """A dict living as long as the current request (in its WSGI environ: ``g`` may outlive a
    request when an app context was already pushed, as in tests and CLI-driven clients)."""
    return request.environ.setdefault("roadchief.todos", {})


def _count() -> int:
    """The menu badge: counted in SQL once per request (the full list only on the pages showing it)."""
    cache = _cache()
    if "count" not in cache:
        cache["count"] = len(cache["todos"]) if "todos" in cache else todos.count_for(current_user)
    return cache["count"]


def _todos():
    """The user's to-dos, computed once per request (the menu badge and the page share them)."""
    cache = _cache()
    if "todos" not in cache:
        cache["todos"] = todos.todos_for(current_user) if current_user.is_authenticated else []
    return cache["todos"]


@bp.app_context_processor
def todo_context():
    return {
        "todo_count": _count,
        "todo_items": _todos,
        "rect_routing": _routing,
        "report_routing_info": _report_info,
    }


def _report_info(report) -> dict:
    """A report's 整改, assignees, duplicates, history and the confirm form's choices (cached per request)."""
    cache = _cache().setdefault("report_info", {})
    if report.id not in cache:
        today = beijing_today()
        rect = report_routing.rectification_of(report)
        items, default_item = report_routing.item_choices(report, today)
        cache[report.id] = {
            "rectification": rect,
            "assignees": rectification_routing.assignees_json(rect) if rect else [],
            "duplicates": report_duplicates.duplicates_of(report),
            "history": report_routing.public_history(report),
            "item_choices": items,
            "default_item": default_item,
            "segments": sorted(report.road.segments, key=lambda s: s.start_m),
            "today": today.isoformat(),
            "default_deadline": (today + timedelta(days=DEFAULT_DEADLINE_DAYS)).isoformat(),
        }
    return cache[report.id]


def _routing(rect: Rectification) -> dict:
    """What the rectification card shows about who answers it: assignees, 无账号 flags, the
    reassign form's choices (offices only)."""
    cache = _cache()
    if "accounts" not in cache:
        cache["accounts"] = rectification_routing.chiefs_with_accounts()
    rows = rectification_routing.assignees_json(rect, cache["accounts"])
    may = permissions.can_reassign(current_user, rect) and rect.state != "verified"
    choices = []
    if may and any(not r["has_account"] for r in rows):
        if "index" not in cache:  # today's assignments, loaded once for all the cards of the page
            cache["index"] = AssignmentIndex(beijing_today())
        towns = cache.setdefault("towns", {})
        choices = rectification_routing.candidates(rect, index=cache["index"], have=cache["accounts"], towns=towns)
    return {"rows": rows, "can_reassign": may, "choices": choices}


@bp.route("/todos")
@allow(*roles_for(READ))
def index():
    return render_template("todos/index.html", items=_todos(), today=beijing_today())


@bp.route("/rectifications/<int:rectification_id>/assignees/<int:assignee_id>", methods=["POST"])
@allow(*roles_for(REASSIGN_RECTIFICATION))
def reassign(rectification_id: int, assignee_id: int):
    rect = db.get_or_404(Rectification, rectification_id)
    require(inspection_scope.can_see_rectification(current_user, rect))
    try:
        row = rectification_routing.reassign(
            current_user, rect, assignee_id, request.form.get("chief_id", type=int) or 0
        )
    except PermissionError:
        abort(403)
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash(f"已改派给 {row.chief.name}", "success")
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("inspections.rectifications")
    return redirect(target, 303)


@bp.route("/p/reports/<ref>/duplicate", methods=["POST"])
@allow(*roles_for(PROCESS_REPORTS))
def duplicate(ref: str):
    report = public_reports.find_report(ref)
    if report is None:
        abort(404)
    require(public_reports.can_see(current_user, report))
    decision = request.form.get("decision", "")
    if decision not in ("merge", "dismiss"):
        abort(400)
    try:
        (report_duplicates.merge if decision == "merge" else report_duplicates.dismiss)(current_user, report)
    except PermissionError:
        abort(403)
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash("已合并到原反馈并办结" if decision == "merge" else "已标记为非重复", "success")
    return redirect(url_for("public.report_detail", ref=report.ref), 303)


@api_bp.get("/todos")
@allow(*roles_for(READ))
@api_bp.doc(
    tags=["待办"],
    summary="我的待办",
    description="当前用户的待办：待整改、待复核、无账号待改派的整改，待回复/待处理的公众反馈，辖区未修复的路况事件；"
    "按期限排序（无期限的在后）。",
    security=BEARER,
    operation_id="listTodos",
    responses=returns("Todos"),
)
def api_todos():
    return todos.todos_json(current_user)
