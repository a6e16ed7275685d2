"""Operations pages under /ops: disruption events (第十四条), 一路一档 (page and PDF),
seasonal duty windows and gaps, emergency stock (第十三条), road assets (路产) and the
annual maintenance plan. Views parse the request, call the services, render.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from roadchief.domain import clock
from roadchief.domain import events as event_rules
from roadchief.domain.permissions import (
    ACT_ON_EVENT,
    ADD_WORKS_PLAN,
    ASSET_CONDITION,
    EDIT_ASSETS,
    EDIT_DUTY_WINDOWS,
    EDIT_STOCK,
    IMPORT_ASSETS,
    READ,
    RECORD_EVENT,
    VIEW_DUTY,
    VIEW_WORKS_PLAN,
    WORKS_PROGRESS,
    roles_for,
)
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.models.operations import (
    ASSET_CONDITIONS,
    ASSET_KINDS,
    WINDOW_KINDS,
    WORK_CATEGORIES,
    RoadAsset,
    RoadAssetPhoto,
    RoadEvent,
    RoadEventPhoto,
    SeasonWindow,
    WorksPlanItem,
)
from roadchief.reports.road_file_pdf import road_file_pdf
from roadchief.services import ServiceError, permissions, seasonal, works_plan
from roadchief.services import assets as asset_service
from roadchief.services import events as service
from roadchief.services.permissions import can_see_segment, segment_condition
from roadchief.services.road_file import road_file
from roadchief.web.access import allow
from roadchief.web.photos import send_stored_photo

bp = Blueprint("operations", __name__, url_prefix="/ops")

EVENT_RECORDERS = roles_for(RECORD_EVENT)
EVENT_ACTORS = roles_for(ACT_ON_EVENT)
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


# ================================================================== events


@bp.route("/events")
@allow(*roles_for(READ))
def events():
    state = request.args.get("state", "open")
    return render_template(
        "operations/events.html",
        state=state,
        states=event_rules.STATES,
        events=service.list_events(current_user, state=state if state != "all" else None),
    )


def _event_form() -> service.EventInput:
    form = request.form
    segment_id = form.get("segment_id", "").strip()
    if not segment_id:
        segment_id = service.segment_at(form.get("road_code", ""), form.get("stake", "")).id
    return service.EventInput(
        segment_id=segment_id,
        kind=form.get("kind", ""),
        severity=form.get("severity", ""),
        occurred_at=form.get("occurred_at", ""),
        closed=form.get("closed", ""),
        stake=form.get("stake", ""),
        lon=form.get("lon", ""),
        lat=form.get("lat", ""),
        description=form.get("description", ""),
        warning_sign=form.get("warning_sign", ""),
        detour=form.get("detour", ""),
        detour_geometry=form.get("detour_geometry", ""),
        detour_road=form.get("detour_road", ""),
        photos=_files("photos"),
    )


def _query_segment() -> Segment | None:
    """?segment_id= on a GET (the page was opened for one segment); 403 outside the user's scope."""
    raw = request.args.get("segment_id", "")
    segment = db.session.get(Segment, int(raw)) if raw.isdigit() and 0 < int(raw) < 2**31 else None
    if segment is not None and not can_see_segment(current_user, segment):
        abort(403)
    return segment


def _posted_segment() -> Segment | None:
    raw = request.form.get("segment_id", "").strip()
    segment = db.session.get(Segment, int(raw)) if raw.isdigit() and 0 < int(raw) < 2**31 else None
    return segment if segment is not None and can_see_segment(current_user, segment) else None


def _event_new_page(form, segment, status: int = 200):
    return render_template(
        "operations/event_new.html",
        kinds=event_rules.KINDS,
        severities=event_rules.SEVERITIES,
        segment=segment,
        form=form,
        choices=service.segment_choices(current_user),
        segment_feature=service.segment_feature(segment) if segment else None,
    ), status


@bp.route("/events/new", methods=["GET", "POST"])
@allow(*EVENT_RECORDERS)
def event_new():
    if request.method == "POST":
        segment = _posted_segment()
        try:
            event = service.create_event(current_user, _event_form(), current_app.config["UPLOAD_DIR"])
        except ServiceError as error:
            flash(str(error), "error")
            return _event_new_page(request.form, segment, 400)
        flash("事件已登记" + ("（交通中断，已公示警示与绕行）" if event.interrupted else ""), "success")
        return redirect(url_for("operations.event", event_id=event.id))
    segment = _query_segment()
    now = clock.beijing_now().strftime(clock.FORM_INPUT)
    return _event_new_page({"occurred_at": now, "segment_id": str(segment.id) if segment else ""}, segment)


@bp.route("/segments/<int:segment_id>.json")
@allow(*roles_for(READ))
def segment_geojson(segment_id: int):
    """One segment as a GeoJSON Feature, for the small maps (detour drawing)."""
    segment = db.get_or_404(Segment, segment_id)
    if not can_see_segment(current_user, segment):
        abort(403)
    return service.segment_feature(segment)


def _event_or_404(event_id: int) -> RoadEvent:
    event = db.get_or_404(RoadEvent, event_id)
    if not service.can_see_event(current_user, event):
        abort(403)
    return event


@bp.route("/events/<int:event_id>")
@allow(*roles_for(READ))
def event(event_id: int):
    event = _event_or_404(event_id)
    return render_template(
        "operations/event.html",
        event=event,
        place=service.event_place(event),
        can_act=service.can_act(current_user, event),
        local=service.local_text,
        hours=event_rules.hours_between(service.aware(event.occurred_at), service.aware(event.restored_at)),
        repair_hours=event_rules.hours_between(service.aware(event.occurred_at), service.aware(event.repaired_at)),
        stages=event_rules.STAGES,
        segment_feature=service.segment_feature(event.segment),
        now=clock.beijing_now().strftime(clock.FORM_INPUT),
    )


@bp.route("/events/<int:event_id>/restore", methods=["POST"])
@allow(*EVENT_ACTORS)
def event_restore(event_id: int):
    return _step(event_id, "restore")


@bp.route("/events/<int:event_id>/repair", methods=["POST"])
@allow(*EVENT_ACTORS)
def event_repair(event_id: int):
    return _step(event_id, "repair")


def _step(event_id: int, action: str):
    event = _event_or_404(event_id)
    try:
        service.act(
            current_user,
            event,
            action,
            at=request.form.get("at", ""),
            note=request.form.get("note", ""),
            photos=_files("photos"),
            upload_dir=current_app.config["UPLOAD_DIR"],
        )
        flash("已登记抢通，恢复通行" if action == "restore" else "已登记修复", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.event", event_id=event_id))


@bp.route("/events/<int:event_id>/safety", methods=["POST"])
@allow(*EVENT_RECORDERS)
def event_safety(event_id: int):
    event = _event_or_404(event_id)
    try:
        service.update_safety(
            current_user,
            event,
            request.form.get("warning_sign", ""),
            request.form.get("detour", ""),
            request.form.get("detour_geometry", ""),
            request.form.get("detour_road", ""),
            closed=bool(request.form.get("closed")),
        )
        flash("警示与绕行信息已更新", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.event", event_id=event_id))


@bp.route("/event-photos/<int:photo_id>")
@allow(*roles_for(READ))
def event_photo(photo_id: int):
    photo = db.get_or_404(RoadEventPhoto, photo_id)
    if not service.can_see_event(current_user, photo.event):
        abort(403)
    return send_stored_photo(photo.thumb_path if request.args.get("thumb") else photo.path)


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


# ================================================================== assets


@bp.route("/assets")
@allow(*roles_for(READ))
def assets():
    kind = request.args.get("kind") or None
    return render_template(
        "operations/assets.html",
        kinds=ASSET_KINDS,
        kind=kind,
        road_code=request.args.get("road", ""),
        rows=asset_service.list_assets(current_user, kind, request.args.get("road") or None),
    )


@bp.route("/assets/import", methods=["POST"])
@allow(*roles_for(IMPORT_ASSETS))
def assets_import():
    import tempfile
    from pathlib import Path

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择文件", "error")
        return redirect(url_for("operations.assets"))
    suffix = "".join(Path(upload.filename).suffixes[-1:]).lower()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"assets{suffix}"
        upload.save(target)
        try:
            report = asset_service.import_assets(target, dry_run=bool(request.form.get("dry_run")))
            flash(report.summary().replace(str(target.name), upload.filename), "success")
        except ServiceError as error:
            errors = getattr(error, "errors", [])
            flash(str(error) + ("：" + "；".join(str(e) for e in errors[:20]) if errors else ""), "error")
    return redirect(url_for("operations.assets"))


def _asset_form() -> asset_service.AssetInput:
    form = request.form
    return asset_service.AssetInput(
        kind=form.get("kind", ""),
        code=form.get("code", ""),
        segment_id=form.get("segment_id", ""),
        name=form.get("name", ""),
        stake=form.get("stake", ""),
        condition=form.get("condition", ""),
        quantity=form.get("quantity", "1"),
        position=form.get("position", "stake"),
        lon=form.get("lon", ""),
        lat=form.get("lat", ""),
        note=form.get("note", ""),
        photos=_files("photos"),
    )


def _asset_page(form, item=None, status: int = 200):
    return render_template(
        "operations/asset_form.html",
        asset=item,
        form=form,
        kinds=ASSET_KINDS,
        conditions=ASSET_CONDITIONS,
        choices=service.segment_choices(current_user),
    ), status


@bp.route("/assets/new", methods=["GET", "POST"])
@allow(*roles_for(EDIT_ASSETS))
def asset_new():
    if request.method == "POST":
        try:
            item = asset_service.create_asset(current_user, _asset_form(), current_app.config["UPLOAD_DIR"])
        except ServiceError as error:
            flash(str(error), "error")
            return _asset_page(request.form, None, 400)
        flash(f"路产 {item.code} 已登记", "success")
        return redirect(url_for("operations.asset", asset_id=item.id))
    segment = _query_segment()
    return _asset_page(
        {"segment_id": str(segment.id) if segment else "", "condition": "good", "quantity": "1", "position": "stake"}
    )


@bp.route("/assets/<int:asset_id>/edit", methods=["GET", "POST"])
@allow(*roles_for(EDIT_ASSETS))
def asset_edit(asset_id: int):
    item = db.get_or_404(RoadAsset, asset_id)
    if not asset_service.can_manage(current_user, item.segment):
        abort(403)
    if request.method == "POST":
        try:
            asset_service.update_asset(current_user, item, _asset_form(), current_app.config["UPLOAD_DIR"])
        except ServiceError as error:
            flash(str(error), "error")
            return _asset_page(request.form, item, 400)
        flash("路产信息已保存", "success")
        return redirect(url_for("operations.asset", asset_id=item.id))
    from roadchief.domain.stakes import format_stake

    return _asset_page(
        {
            "kind": item.kind,
            "code": item.code,
            "name": item.name,
            "segment_id": str(item.segment_id),
            "stake": format_stake(item.stake_m) if item.stake_m is not None else "",
            "condition": item.condition,
            "quantity": str(item.quantity),
            "position": "keep",
            "lon": item.lon,
            "lat": item.lat,
            "note": item.note,
        },
        item,
    )


@bp.route("/assets/<int:asset_id>", methods=["GET", "POST"])
@allow(*roles_for(READ))
def asset(asset_id: int):
    item = db.get_or_404(RoadAsset, asset_id)
    if not asset_service.can_see_asset(current_user, item):
        abort(403)
    if request.method == "POST":
        try:
            asset_service.set_condition(
                current_user,
                item,
                request.form.get("condition", ""),
                request.form.get("note", ""),
                request.files.get("photo"),
                current_app.config["UPLOAD_DIR"],
            )
            flash("路产状况已更新", "success")
        except ServiceError as error:
            flash(str(error), "error")
        return redirect(url_for("operations.asset", asset_id=asset_id))
    return render_template(
        "operations/asset.html",
        asset=item,
        conditions=ASSET_CONDITIONS,
        inspections=asset_service.inspections_of_asset(item),
        can_manage=asset_service.can_manage(current_user, item.segment),
        can_edit=permissions.can(current_user, ASSET_CONDITION),
    )


@bp.route("/assets/<int:asset_id>/inspections", methods=["POST"])
@allow(*roles_for(ASSET_CONDITION))
def asset_link(asset_id: int):
    """Record that an inspection (one the user can see, on the asset's segment) looked at this asset."""
    from roadchief.models.inspections import Inspection
    from roadchief.services.inspection_scope import can_see_inspection

    item = db.get_or_404(RoadAsset, asset_id)
    if not asset_service.can_see_asset(current_user, item):
        abort(403)
    raw = request.form.get("inspection_id", "")
    inspection = db.session.get(Inspection, int(raw)) if raw.isdigit() and int(raw) < 2**31 else None
    if inspection is None or not can_see_inspection(current_user, inspection):
        flash("检查记录不存在或无权查看", "error")
        return redirect(url_for("operations.asset", asset_id=asset_id))
    try:
        asset_service.link_inspection(inspection.id, item, request.form.get("note", ""))
        flash("已关联检查记录", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.asset", asset_id=asset_id))


@bp.route("/asset-photos/<int:photo_id>")
@allow(*roles_for(READ))
def asset_photo(photo_id: int):
    photo = db.get_or_404(RoadAssetPhoto, photo_id)
    if not asset_service.can_see_asset(current_user, photo.asset):
        abort(403)
    return send_stored_photo(photo.thumb_path if request.args.get("thumb") else photo.path)


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
    from roadchief.domain.money import format_fen

    return format_fen(value)
