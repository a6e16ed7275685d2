"""Inspection pages: the blueprint and shared helpers, home, the phone field form, an inspection, photos.

Rectifications, the deduction catalog, the quarterly 通报, rankings, finalising and each
chief's own page (第二十条–第二十三条) are in inspections_results, on this blueprint.
Views parse the request, call roadchief.services.inspections and its neighbours, render.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from roadchief.domain import clock
from roadchief.domain.permissions import LOG_INSPECTION, OWN_RESULTS, READ, roles_for
from roadchief.domain.scoring import CATEGORIES, DUTY_PHASES, OVERDUE_CODE, UNITS
from roadchief.extensions import db
from roadchief.models.inspections import Inspection, InspectionPhoto
from roadchief.services import (
    ServiceError,
    deduction_catalog,
    inspection_photos,
    inspection_scope,
    inspection_segments,
    permissions,
)
from roadchief.services import inspections as service
from roadchief.services import rectifications as rectification_service
from roadchief.web.access import allow
from roadchief.web.photos import send_stored_photo

bp = Blueprint("inspections", __name__, url_prefix="/inspections")

RECORDERS = roles_for(LOG_INSPECTION)
BLANK_FINDINGS = 3


def _today() -> date:
    return clock.beijing_today()


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _current_quarter() -> tuple[int, int]:
    today = _today()
    return today.year, (today.month - 1) // 3 + 1


# ================================================================== home


@bp.route("/")
@allow(*roles_for(READ))
def index():
    today = _today()
    year, quarter = _current_quarter()
    mine = (
        rectification_service.list_rectifications(current_user, state="active", chief_id=current_user.chief_id)
        if permissions.own_chief_id(current_user)
        else []
    )
    return render_template(
        "inspections/index.html",
        today=today,
        year=year,
        quarter=quarter,
        mine=mine,
        actors={r.id: rectification_service.actors_for(current_user, r) for r in mine},
        overdue=rectification_service.list_rectifications(current_user, overdue=True, today=today, limit=50),
        pending=rectification_service.awaiting_review(current_user),
        recent=service.list_inspections(current_user, limit=20),
        can_record=bool(inspection_scope.recordable_kinds(current_user)),
        scopes=permissions.visible_scopes(current_user),
    )


@bp.route("/me")
@allow(*roles_for(OWN_RESULTS))
def me():
    return redirect(url_for("inspections.chief", chief_id=current_user.chief_id))


# ================================================================== field form


def _parse_local(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return clock.parse_local(text, "检查时间")  # datetime-local input: Beijing time
    except ValueError as error:
        raise ServiceError(str(error)) from None


def _parse_date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"{what}格式不正确：{text}") from None


def _form_input() -> tuple[service.InspectionInput, list, list]:
    form = request.form
    rows = sorted(
        {
            int(k.split("-")[1])
            for k in list(form) + list(request.files)
            if k.startswith("f-") and k.split("-")[1].isdigit()
        }
    )
    findings = []
    for n in rows:
        photos = [f for f in request.files.getlist(f"f-{n}-photos") if f.filename]
        code, quantity = form.get(f"f-{n}-item", "").strip(), form.get(f"f-{n}-quantity", "").strip()
        if not code and not photos and not form.get(f"f-{n}-note", "").strip():
            continue  # an untouched blank row
        findings.append(
            service.FindingInput(
                item_code=code,
                quantity=quantity or "1",
                segment_id=form.get(f"f-{n}-segment", type=int),
                note=form.get(f"f-{n}-note", ""),
                photos=photos,
                photo_ids=form.getlist(f"f-{n}-photos_client_id"),
            )
        )
    data = service.InspectionInput(
        kind=form.get("kind", ""),
        segment_ids=form.getlist("segment_ids", type=int),
        inspected_at=_parse_local(form.get("inspected_at")),
        client_uuid=form.get("client_uuid") or None,
        lon=form.get("lon") or None,
        lat=form.get("lat") or None,
        note=form.get("note", ""),
        deadline=_parse_date(form.get("deadline"), "整改期限"),
        findings=findings,
        duty_phase=form.get(f"duty_phase_{form.get('kind', '')}") or form.get("duty_phase") or None,
        asset_ids=[a for a in form.getlist("asset_ids") if a.strip()],
    )
    return data, [f for f in request.files.getlist("photos") if f.filename], form.getlist("photos_client_id")


def _form_page(status: int = 200, error: ServiceError | None = None):
    from uuid import uuid4

    today = _today()
    catalog = deduction_catalog.catalog_for(today.year)
    kinds = inspection_scope.recordable_kinds(current_user)
    chosen = request.form.getlist("segment_ids", type=int) or request.args.getlist("segment_id", type=int)
    candidates = []
    if request.args.get("q"):
        candidates = inspection_segments.search_segments(current_user, request.args["q"])
    elif request.args.get("lon") and request.args.get("lat"):
        try:
            candidates = inspection_segments.nearest_segments(current_user, request.args["lon"], request.args["lat"])
        except ServiceError as problem:
            error = error or problem
    known = {c["id"] for c in candidates}
    candidates = [
        c for c in inspection_segments.chosen_segments(current_user, chosen, today) if c["id"] not in known
    ] + candidates
    grouped = {c: [i for i in catalog.items if i.category == c and i.code != OVERDUE_CODE] for c in CATEGORIES}
    indices = [int(k.split("-")[1]) for k in request.form if k.startswith("f-") and k.split("-")[1].isdigit()]
    rows = min(service.MAX_FINDINGS, max([BLANK_FINDINGS] + [n + 1 for n in indices]))
    now = clock.beijing_now()
    return render_template(
        "inspections/new.html",
        kinds=kinds,
        catalog=catalog,
        grouped=grouped,
        candidates=candidates,
        chosen=set(chosen),
        rows=rows,
        values=request.form,
        error=error,
        now=now.strftime("%Y-%m-%dT%H:%M"),
        deadline="",  # empty: each finding's deadline from the year's rules (services.deadline_rules)
        units=UNITS,
        max_photos=inspection_photos.MAX_PHOTOS,
        gps_limit=inspection_segments.GPS_WARNING_M,
        points=deduction_catalog.points_text,
        default_kind="supervision" if "supervision" in kinds else "daily",
        duty_phases=DUTY_PHASES,
        chosen_assets={str(a) for a in request.form.getlist("asset_ids")},
        # issued by the server, so a form posted twice without JavaScript stores one inspection
        form_uuid=request.form.get("client_uuid") or str(uuid4()),
        assets=inspection_segments.assets_on_segments(current_user, [c["id"] for c in candidates], today),
    ), status


@bp.route("/new", methods=["GET", "POST"])
@allow(*RECORDERS)
def new():
    if not inspection_scope.recordable_kinds(current_user):
        abort(403)
    if request.method == "GET":
        return _form_page()
    try:
        data, photos, photo_ids = _form_input()
        recorded = service.create_inspection(
            current_user, data, current_app.config["UPLOAD_DIR"], photos=photos, photo_ids=photo_ids
        )
    except ServiceError as error:
        if _wants_json():
            return jsonify({"ok": False, "error": str(error), "errors": error.errors}), 400
        return _form_page(400, error)
    url = url_for("inspections.detail", inspection_id=recorded.inspection.id)
    for warning in recorded.warnings:
        flash(warning, "warning")
    flash("检查记录已保存" if recorded.created else "该检查记录此前已保存（重复提交已忽略）", "success")
    if _wants_json():  # inspect.js: it navigates to the url, where the messages show
        return jsonify(
            {
                "ok": True,
                "url": url,
                "id": recorded.inspection.id,
                "created": recorded.created,
                "warnings": recorded.warnings,
                "receipts": inspection_photos.receipts(recorded.inspection),  # offline-queue.js checks them
            }
        )
    return redirect(url)


@bp.route("/nearest")
@allow(*RECORDERS)
def nearest():
    """Segments near a GPS point (lon, lat) or matching a search (q), as JSON for inspect.js."""
    try:
        if request.args.get("q"):
            rows = inspection_segments.search_segments(current_user, request.args["q"])
        else:
            rows = inspection_segments.nearest_segments(current_user, request.args.get("lon"), request.args.get("lat"))
    except ServiceError as error:
        return jsonify({"error": str(error)}), 400
    return jsonify({"segments": rows, "limit_m": inspection_segments.GPS_WARNING_M})


@bp.route("/assets")
@allow(*RECORDERS)
def assets():
    """路产 on the ticked segments (segment_id repeated), as JSON for inspect.js's select."""
    return jsonify(
        {"assets": inspection_segments.assets_on_segments(current_user, request.args.getlist("segment_id", type=int))}
    )


# ================================================================== an inspection


def _inspection_or_404(inspection_id: int) -> Inspection:
    inspection = db.get_or_404(Inspection, inspection_id)
    if not inspection_scope.can_see_inspection(current_user, inspection):
        abort(403)
    return inspection


@bp.route("/<int:inspection_id>")
@allow(*roles_for(READ))
def detail(inspection_id: int):
    inspection = _inspection_or_404(inspection_id)
    return render_template(
        "inspections/detail.html",
        inspection=inspection,
        today=_today(),
        gps_limit=inspection_segments.GPS_WARNING_M,
        office=inspection_scope.office_label(inspection.office_key),
        can_correct=service.can_correct(current_user, inspection),
        corrections=service.corrections_of(inspection),
        actors={
            f.rectification.id: rectification_service.actors_for(current_user, f.rectification)
            for f in inspection.findings
            if f.rectification
        },
        points={f.id: service.finding_points_text(f) for f in inspection.findings},
    )


@bp.route("/<int:inspection_id>/correct", methods=["POST"])
@allow(*RECORDERS)
def correct(inspection_id: int):
    inspection = _inspection_or_404(inspection_id)
    finding = next((f for f in inspection.findings if f.id == request.form.get("finding_id", type=int)), None)
    if finding is None:
        flash("请选择要更正的问题", "error")
        return redirect(url_for("inspections.detail", inspection_id=inspection.id))
    try:
        service.correct_finding(current_user, finding, request.form.get("quantity"), request.form.get("reason", ""))
    except PermissionError:
        abort(403)
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash("更正已登记" + ("；本季度已定稿，请重新定稿以更新得分" if inspection.frozen else ""), "success")
    return redirect(url_for("inspections.detail", inspection_id=inspection.id))


# ================================================================== rectifications
# ================================================================== photos (served only through access checks)


def _photo(photo_id: int, thumb: bool):
    photo = db.get_or_404(InspectionPhoto, photo_id)
    if not inspection_photos.can_see_photo(current_user, photo):
        abort(403)
    return send_stored_photo(photo.thumb_path if thumb else photo.path)


@bp.route("/photos/<int:photo_id>")
@allow(*roles_for(READ))
def photo(photo_id: int):
    return _photo(photo_id, thumb=False)


@bp.route("/photos/<int:photo_id>/thumb")
@allow(*roles_for(READ))
def photo_thumb(photo_id: int):
    return _photo(photo_id, thumb=True)
