"""Operations pages for disruption events (第十四条): list, recording, restore and repair, warning and detour, photos."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from roadchief.domain import clock
from roadchief.domain import events as event_rules
from roadchief.domain.permissions import ACT_ON_EVENT, READ, RECORD_EVENT, roles_for
from roadchief.extensions import db
from roadchief.models import Segment
from roadchief.models.operations import RoadEvent, RoadEventPhoto
from roadchief.services import ServiceError
from roadchief.services import events as service
from roadchief.services.permissions import can_see_segment
from roadchief.web.access import allow
from roadchief.web.operations import _files, _query_segment, bp
from roadchief.web.photos import send_stored_photo

EVENT_RECORDERS = roles_for(RECORD_EVENT)
EVENT_ACTORS = roles_for(ACT_ON_EVENT)


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
        client_uuid=form.get("client_uuid") or None,
    )


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
        fetched = request.headers.get("X-Requested-With") == "fetch"  # the offline queue (event-form.js)
        try:
            event = service.create_event(current_user, _event_form(), current_app.config["UPLOAD_DIR"])
        except ServiceError as error:
            if fetched:
                return jsonify({"ok": False, "error": str(error), "errors": error.errors}), 400
            flash(str(error), "error")
            return _event_new_page(request.form, segment, 400)
        url = url_for("operations.event", event_id=event.id)
        if fetched:
            return jsonify({"ok": True, "url": url, "id": event.id, "receipts": []})
        flash("事件已登记" + ("（交通中断，已公示警示与绕行）" if event.interrupted else ""), "success")
        return redirect(url)
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
