"""Operations pages under /ops: the blueprint and shared helpers, home, 一路一档, seasonal duty and stock, works plan.

Disruption events (第十四条) are in operations_events and road assets (路产) in operations_assets:
they define their views on this blueprint (web/__init__ imports them before registering it).
Views parse the request, call the services, render.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from roadchief.domain import clock
from roadchief.domain.permissions import (
    ADD_WORKS_PLAN,
    EDIT_DUTY_WINDOWS,
    EDIT_STOCK,
    READ,
    VIEW_DUTY,
    VIEW_WORKS_PLAN,
    WORKS_PROGRESS,
    roles_for,
)
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.operations import (
    WINDOW_KINDS,
    WORK_CATEGORIES,
    SeasonWindow,
    WorksPlanItem,
)
from roadchief.reports.road_file_pdf import road_file_pdf
from roadchief.services import ServiceError, permissions, seasonal, works_plan
from roadchief.services import events as service
from roadchief.services.permissions import can_see_segment, segment_condition
from roadchief.services.road_file import road_file
from roadchief.web.access import allow

bp = Blueprint("operations", __name__, url_prefix="/ops")

FILE_READERS = roles_for(READ)


@bp.app_context_processor
def operations_for_templates():
    """For other areas' templates: ``road_events(road_id)`` (the public sign page's current
    events) and ``chief_events()`` (open events on the signed-in chief's segments)."""

    def road_events(road_id):
        try:
            return service.public_events(int(road_id))
        except Exception:  # a sign page must never fail because of this box
            current_app.logger.exception("road_events failed")
            return []

    def chief_events():
        if not permissions.is_chief(current_user):
            return []
        return service.list_events(current_user, state="open", limit=20)

    return {"road_events": road_events, "chief_events": chief_events}


def _today():
    return clock.beijing_today()


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return _today().year
    return year if 2000 <= year <= 2100 else _today().year


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _files(name: str) -> list:
    return [f for f in request.files.getlist(name) if f and f.filename]


def _query_segment() -> Segment | None:
    """?segment_id= on a GET (the page was opened for one segment); 403 outside the user's scope."""
    raw = request.args.get("segment_id", "")
    segment = db.session.get(Segment, int(raw)) if raw.isdigit() and 0 < int(raw) < 2**31 else None
    if segment is not None and not can_see_segment(current_user, segment):
        abort(403)
    return segment


# ================================================================== home


@bp.route("/")
@allow(*roles_for(READ))
def index():
    year = _year()
    return render_template(
        "operations/index.html",
        year=year,
        open_events=service.list_events(current_user, state="open", limit=50),
        times=service.town_times(current_user, year),
        can_record=service.can_record(current_user),
    )


# ================================================================== 一路一档


def _road_or_404(code: str) -> Road:
    road = db.session.scalar(select(Road).where(Road.code == code.strip().upper()))
    if road is None:
        abort(404)
    if not db.session.scalar(
        select(Segment.id).where(Segment.road_id == road.id, segment_condition(current_user)).limit(1)
    ):
        abort(403)
    return road


@bp.route("/roads/<code>")
@allow(*FILE_READERS)
def road_file_page(code: str):
    road = _road_or_404(code)
    return render_template("operations/road_file.html", data=road_file(road))


@bp.route("/roads/<code>/file.pdf")
@allow(*FILE_READERS)
def road_file_download(code: str):
    road = _road_or_404(code)
    data = road_file_pdf(road_file(road), generated=clock.beijing_now().strftime(clock.MINUTE))
    return _download(data, "application/pdf", f"一路一档-{road.code}.pdf")


# ================================================================== seasonal duty and stock


@bp.route("/duty")
@allow(*roles_for(VIEW_DUTY))
def duty():
    year = _year()
    windows = seasonal.windows(year)
    chosen = None
    if request.args.get("window", "").isdigit():
        chosen = next((w for w in windows if w.id == int(request.args["window"])), None)
    gaps = seasonal.duty_gaps(current_user, chosen, _today()) if chosen else []
    return render_template(
        "operations/duty.html",
        year=year,
        windows=windows,
        chosen=chosen,
        gaps=gaps,
        by_chief=seasonal.gaps_by_chief(gaps),
        kinds=WINDOW_KINDS,
        towns=db.session.scalars(select(Town).order_by(Town.code)).all(),
    )


@bp.route("/duty/windows", methods=["POST"])
@allow(*roles_for(EDIT_DUTY_WINDOWS))
def duty_window_add():
    form = request.form
    try:
        year = int(form.get("year", ""))
        window = seasonal.add_window(
            year,
            form.get("kind", ""),
            form.get("start_date", ""),
            form.get("end_date", ""),
            form.get("period_days", ""),
            form.get("town", ""),
            form.get("note", ""),
        )
        flash(f"已设置{window.kind_label}时段", "success")
        return redirect(url_for("operations.duty", year=year, window=window.id))
    except (ServiceError, ValueError) as error:
        flash(str(error) if isinstance(error, ServiceError) else "年度不正确", "error")
    return redirect(url_for("operations.duty"))


@bp.route("/duty/windows/delete", methods=["POST"])
@allow(*roles_for(EDIT_DUTY_WINDOWS))
def duty_window_delete():
    window_id = request.form.get("window_id", "")
    window = db.session.get(SeasonWindow, int(window_id)) if window_id.isdigit() and int(window_id) < 2**31 else None
    if window is None:
        abort(404)
    year = window.year
    seasonal.delete_window(window)
    flash("时段已删除", "success")
    return redirect(url_for("operations.duty", year=year))


@bp.route("/stock/save", methods=["POST"])
@allow(*roles_for(EDIT_STOCK))
def stock_save():
    town = request.form.get("town", "").strip()
    if permissions.is_town_office(current_user):
        own = db.session.get(Town, current_user.town_id) if current_user.town_id else None
        if own is None:
            abort(403)
        if not town:
            town = own.code
        elif town not in (own.code, own.name):
            abort(403)
    try:
        seasonal.set_stock(
            town,
            request.form.get("item", ""),
            request.form.get("unit", ""),
            request.form.get("quantity", ""),
            request.form.get("location", ""),
            request.form.get("note", ""),
        )
        flash("应急物资已更新", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.stock"))


@bp.route("/stock")
@allow(*roles_for(READ))
def stock():
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    if permissions.is_town_office(current_user):
        towns = [t for t in towns if t.id == current_user.town_id]
    return render_template(
        "operations/stock.html",
        rows=seasonal.stock(current_user),
        towns=towns,
        units=seasonal.STOCK_UNITS,
        can_edit=permissions.can(current_user, EDIT_STOCK),
    )


# ================================================================== works plan


@bp.route("/plan/items", methods=["POST"])
@allow(*roles_for(ADD_WORKS_PLAN))
def plan_add():
    form = request.form
    year = form.get("year", "")
    try:
        segment_id = (
            form.get("segment_id", "").strip()
            or service.segment_at(form.get("road_code", ""), form.get("stake", "")).id
        )
        works_plan.add_item(
            int(year),
            segment_id,
            form.get("category", ""),
            form.get("title", ""),
            form.get("unit", ""),
            form.get("quantity", ""),
            form.get("budget", ""),
        )
        flash("已加入年度养护计划", "success")
    except ValueError:
        flash("年度不正确", "error")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.plan", year=year) if year.isdigit() else url_for("operations.plan"))


@bp.route("/plan")
@allow(*roles_for(VIEW_WORKS_PLAN))
def plan():
    year = _year()
    towns, total = works_plan.plan_vs_done(current_user, year)
    return render_template(
        "operations/plan.html",
        year=year,
        items=works_plan.items(current_user, year),
        towns=towns,
        total=total,
        categories=WORK_CATEGORIES,
        fen=_fen,
    )


@bp.route("/plan/progress", methods=["POST"])
@allow(*roles_for(WORKS_PROGRESS))
def plan_progress():
    item_id = request.form.get("item_id", "")
    item = db.session.get(WorksPlanItem, int(item_id)) if item_id.isdigit() and int(item_id) < 2**31 else None
    if item is None:
        abort(404)
    if not can_see_segment(current_user, item.segment):
        abort(403)
    try:
        works_plan.record_progress(
            item,
            request.form.get("day", ""),
            request.form.get("quantity", "0"),
            request.form.get("spent", "0"),
            request.form.get("note", ""),
        )
        flash("进度已登记", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.plan", year=item.year))


def _plan_report(fmt: str):
    from roadchief.reports.works_plan_report import plan_pdf, plan_xlsx

    year = _year()
    report = works_plan.plan_report(current_user, year)
    generated = clock.beijing_now().strftime(clock.MINUTE)
    if fmt == "xlsx":
        return _download(
            plan_xlsx(report, generated),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"养护计划完成情况-{year}.xlsx",
        )
    return _download(plan_pdf(report, generated), "application/pdf", f"养护计划完成情况-{year}.pdf")


@bp.route("/plan.xlsx")
@allow(*roles_for(VIEW_WORKS_PLAN))
def plan_xlsx_download():
    return _plan_report("xlsx")


@bp.route("/plan.pdf")
@allow(*roles_for(VIEW_WORKS_PLAN))
def plan_pdf_download():
    return _plan_report("pdf")


def _fen(value: int) -> str:
    from roadchief.web.formatting import fen

    return fen(value)  # "1,234.50" on the page
