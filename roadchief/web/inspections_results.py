"""Inspection results pages: rectifications, the deduction catalog, the quarterly 通报, rankings, a chief's page.

第二十条–第二十三条: finalising a quarter writes the scores to the funding module. The views
are defined on the inspections blueprint (roadchief.web.inspections).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.permissions import EDIT_CATALOG, FINALISE, READ, READ_RESULTS, roles_for
from roadchief.domain.scoring import ACTIONS, CATEGORIES, PERIOD_NAMES, STATE_LABELS, UNITS, month_of
from roadchief.extensions import db
from roadchief.models import Chief
from roadchief.models.inspections import DeductionCatalog, Rectification
from roadchief.reports import bulletin_pdf
from roadchief.services import ServiceError, assessment, deduction_catalog, inspection_scope, permissions
from roadchief.services import inspections as service
from roadchief.services import rectifications as rectification_service
from roadchief.web.access import allow
from roadchief.web.inspections import RECORDERS, _today, bp

REPORT_READERS = roles_for(READ_RESULTS)
FINALISERS = roles_for(FINALISE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


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
