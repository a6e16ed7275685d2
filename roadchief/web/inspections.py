"""Inspection pages: the phone field form, inspection and rectification pages, the
deduction catalog, the quarterly 通报 (page, PDF, XLSX), half-year and year-end
rankings, finalising a quarter, and each chief's own page (第二十条–第二十三条).

Views parse the request, call roadchief.services.inspections / assessment, render.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain import clock
from roadchief.domain.permissions import (
    EDIT_CATALOG,
    FINALISE,
    LOG_INSPECTION,
    OWN_RESULTS,
    READ,
    READ_RESULTS,
    roles_for,
)
from roadchief.domain.scoring import (
    ACTIONS,
    CATEGORIES,
    DUTY_PHASES,
    OVERDUE_CODE,
    PERIOD_NAMES,
    STATE_LABELS,
    UNITS,
    month_of,
)
from roadchief.extensions import db
from roadchief.models import Chief
from roadchief.models.inspections import DeductionCatalog, Inspection, InspectionPhoto, Rectification
from roadchief.reports import bulletin_pdf
from roadchief.services import (
    ServiceError,
    assessment,
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
REPORT_READERS = roles_for(READ_RESULTS)
FINALISERS = roles_for(FINALISE)
BLANK_FINDINGS = 3
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today() -> date:
    return clock.beijing_today()


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


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


def _form_input() -> tuple[service.InspectionInput, list]:
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
    return data, [f for f in request.files.getlist("photos") if f.filename]


def _form_page(status: int = 200, error: ServiceError | None = None):
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
        deadline=(now.date() + timedelta(days=7)).isoformat(),
        units=UNITS,
        max_photos=inspection_photos.MAX_PHOTOS,
        gps_limit=inspection_segments.GPS_WARNING_M,
        points=deduction_catalog.points_text,
        default_kind="supervision" if "supervision" in kinds else "daily",
        duty_phases=DUTY_PHASES,
        chosen_assets={str(a) for a in request.form.getlist("asset_ids")},
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
        data, photos = _form_input()
        recorded = service.create_inspection(current_user, data, current_app.config["UPLOAD_DIR"], photos=photos)
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


@bp.route("/rectifications")
@allow(*roles_for(READ))
def rectifications():
    view = request.args.get("view", "active")
    overdue = view == "overdue"
    rows = rectification_service.list_rectifications(
        current_user, state=None if overdue else view, overdue=overdue, today=_today()
    )
    return render_template(
        "inspections/rectifications.html",
        rows=rows,
        view=view,
        today=_today(),
        actors={r.id: rectification_service.actors_for(current_user, r) for r in rows},
        states=STATE_LABELS,
    )


@bp.route("/rectifications/<int:rectification_id>", methods=["POST"])
@allow(*RECORDERS)
def rectification_action(rectification_id: int):
    rect = db.get_or_404(Rectification, rectification_id)
    if not inspection_scope.can_see_rectification(current_user, rect):
        abort(403)
    action = request.form.get("action", "")
    try:
        rectification_service.act(
            current_user,
            rect,
            action,
            note=request.form.get("note", ""),
            photo=request.files.get("photo"),
            upload_dir=current_app.config["UPLOAD_DIR"],
        )
    except PermissionError:
        abort(403)
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash(f"已{ACTIONS[action]}", "success")
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("inspections.detail", inspection_id=rect.finding.inspection_id)
    return redirect(target)


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


# ================================================================== deduction catalog (扣分标准)


@bp.route("/catalog")
@allow(*roles_for(READ))
def catalog():
    year = request.args.get("year", _today().year, type=int)
    current = deduction_catalog.catalog_for(year)
    return redirect(url_for("inspections.catalog_version", version_id=current.id))


@bp.route("/catalog/<int:version_id>")
@allow(*roles_for(READ))
def catalog_version(version_id: int):
    version = db.get_or_404(DeductionCatalog, version_id)
    return render_template(
        "inspections/catalog.html",
        catalog=version,
        versions=deduction_catalog.catalog_versions(version.year),
        latest=deduction_catalog.latest_catalog(version.year),
        points=deduction_catalog.points_text,
        units=UNITS,
        categories=CATEGORIES,
    )


@bp.route("/catalog/<int:version_id>/edit", methods=["GET", "POST"])
@allow(*roles_for(EDIT_CATALOG))
def catalog_edit(version_id: int):
    version = db.get_or_404(DeductionCatalog, version_id)
    if request.method == "POST":
        count = request.form.get("rows", 0, type=int)
        rows = [
            {
                key: request.form.get(f"{key}-{n}", "")
                for key in ("code", "category", "text", "points", "unit", "cap", "category_cap", "basis")
            }
            for n in range(min(count, 300))
        ]
        try:
            saved = deduction_catalog.save_catalog(version.year, rows, request.form.get("note", ""))
        except ServiceError as error:
            return render_template(
                "inspections/catalog_edit.html",
                catalog=version,
                rows=rows,
                error=error,
                units=UNITS,
                categories=CATEGORIES,
            ), 400
        flash(f"已保存为{saved.label}；此前的检查记录仍按其原版本计分", "success")
        return redirect(url_for("inspections.catalog_version", version_id=saved.id))
    rows = [
        {
            "code": i.code,
            "category": i.category,
            "text": i.text,
            "points": deduction_catalog.points_text(i.points_centi),
            "unit": i.unit,
            "cap": deduction_catalog.points_text(i.cap_centi),
            "category_cap": deduction_catalog.points_text(i.category_cap_centi),
            "basis": i.basis,
        }
        for i in version.items
    ]
    rows += [dict.fromkeys(("code", "category", "text", "points", "unit", "cap", "category_cap", "basis"), "")] * 3
    return render_template(
        "inspections/catalog_edit.html", catalog=version, rows=rows, error=None, units=UNITS, categories=CATEGORIES
    )


@bp.route("/catalog/<int:version_id>/confirm", methods=["POST"])
@allow(*roles_for(EDIT_CATALOG))
def catalog_confirm(version_id: int):
    version = db.get_or_404(DeductionCatalog, version_id)
    try:
        deduction_catalog.confirm_catalog(version)
        flash(f"{version.label}扣分标准已确认", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("inspections.catalog_version", version_id=version.id))


# ================================================================== 通报, 评比, 年终考评


def _scope() -> str:
    scopes = permissions.visible_scopes(current_user)
    scope = request.values.get("scope") or (scopes[0] if scopes else "")
    if scope not in scopes:
        abort(403)
    return scope


def _scope_names(scopes: list[str]) -> list[tuple[str, str]]:
    return [(s, assessment.scope_label(s)) for s in scopes]


@bp.route("/scores/<int:year>/<int:quarter>")
@allow(*REPORT_READERS)
def quarter(year: int, quarter: int):
    if quarter not in (1, 2, 3, 4):
        abort(404)
    scope = _scope()
    data = assessment.bulletin(scope, year, quarter, today=_today())
    return render_template(
        "inspections/bulletin.html",
        data=data,
        year=year,
        quarter=quarter,
        scope=scope,
        overview=bulletin_pdf.overview_text(data),
        scopes=_scope_names(permissions.visible_scopes(current_user)),
        can_finalise=permissions.can_finalise(current_user, scope),
    )


@bp.route("/scores/<int:year>/<int:quarter>/bulletin.<fmt>")
@allow(*REPORT_READERS)
def bulletin_download(year: int, quarter: int, fmt: str):
    if quarter not in (1, 2, 3, 4) or fmt not in ("pdf", "xlsx"):
        abort(404)
    data = assessment.bulletin(_scope(), year, quarter, today=_today())
    name = f"{year}年第{quarter}季度路长制考核通报（{data['issuer']}）.{fmt}"
    if fmt == "pdf":
        return _download(bulletin_pdf.bulletin_pdf(data), "application/pdf", name)
    return _download(bulletin_pdf.bulletin_xlsx(data), XLSX, name)


@bp.route("/scores/<int:year>/<int:quarter>/finalise", methods=["POST"])
@allow(*FINALISERS)
def finalise(year: int, quarter: int):
    scope = _scope()
    if not permissions.can_finalise(current_user, scope):
        abort(403)
    try:
        report = assessment.finalise_quarter([scope], year, quarter, today=_today())
    except ServiceError as error:
        flash(str(error), "error")
    else:
        part = report[scope]
        flash(
            f"已定稿：{len(part['written'])} 个单位得分写入经费模块，冻结督查 {part['frozen']} 次"
            + (f"；{len(part['unscored'])} 个单位本季度无督查得分，保持原状" if part["unscored"] else ""),
            "success",
        )
    return redirect(url_for("inspections.quarter", year=year, quarter=quarter, scope=scope))


def _period() -> str:
    period = request.args.get("period", "Y")
    if period not in ("H1", "H2", "Y"):
        abort(404)
    return period


@bp.route("/ranking/<int:year>")
@allow(*REPORT_READERS)
def ranking(year: int):
    scope, period = _scope(), _period()
    data = assessment.ranking(scope, year, period, today=_today())
    return render_template(
        "inspections/ranking.html",
        data=data,
        year=year,
        period=period,
        scope=scope,
        scopes=_scope_names(permissions.visible_scopes(current_user)),
        periods=PERIOD_NAMES,
    )


@bp.route("/ranking/<int:year>/export")
@allow(*REPORT_READERS)
def ranking_export(year: int):
    data = assessment.ranking(_scope(), year, _period(), today=_today())
    return _download(bulletin_pdf.ranking_xlsx(data), XLSX, f"{data['title']}（{data['issuer']}）.xlsx")


# ================================================================== a chief's own page


def _can_see_chief(chief: Chief) -> bool:
    if permissions.is_chief(current_user):
        return current_user.chief_id == chief.id
    town = permissions.bound_town_id(current_user)
    if town:
        return any(
            a.town_id == town or (a.village and a.village.town_id == town) or (a.segment and a.segment.town_id == town)
            for a in chief.assignments
        )
    return True


@bp.route("/chiefs/<int:chief_id>")
@allow(*roles_for(READ))
def chief(chief_id: int):
    chief = db.session.scalar(
        select(Chief).where(Chief.id == chief_id).options(selectinload(Chief.assignments))
    ) or abort(404)
    if not _can_see_chief(chief):
        abort(403)
    today = _today()
    history = assessment.chief_history(chief, month_of(today), today=today)
    findings = service.findings_of_chief(chief.id)
    open_rects = rectification_service.list_rectifications(current_user, state="active", chief_id=chief.id, today=today)
    return render_template(
        "inspections/chief.html",
        chief=chief,
        history=history,
        chart=assessment.chart(history),
        findings=findings,
        rects=open_rects,
        today=today,
        scope=assessment.chief_scope(chief),
        actors={r.id: rectification_service.actors_for(current_user, r) for r in open_rects},
        quarters=assessment.quarter_scores(history, today.year),
        year=today.year,
    )
