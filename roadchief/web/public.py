"""Public pages: the 公示牌 and social supervision (第七条).

Anyone may open a sign page (short stable URLs /p/r/<road code> and /p/s/<segment id>),
its QR code and printable PDF, and report a problem from it. The reporter gets a
reference number and a status page without personal data. Offices (and the chief
a report is forwarded to) handle reports under /p/reports; the town batch pages
for printing signs are for the offices.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from roadchief.domain.clock import MINUTE, format_beijing
from roadchief.domain.permissions import HANDLE_REPORTS, PRINT_SIGNS, roles_for
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db, limiter
from roadchief.models import AuditEntry, Town
from roadchief.models.public import REPORT_CATEGORIES, REPORT_STATUSES, REPORT_TEXT_MAX, PublicReport
from roadchief.reports.sign_pdf import SIZES, sign_pdf, signs_pdf
from roadchief.services import ServiceError, permissions
from roadchief.services import public_reports as reports
from roadchief.services.audit import Actor, acting_as
from roadchief.services.chiefs import POSITION_NAMES
from roadchief.services.public_url import loopback_warning
from roadchief.services.signs import (
    DUTIES,
    SignContext,
    find_road,
    find_segment,
    public_url,
    qr_png,
    qr_svg,
    road_path,
    search_roads,
    segment_path,
    town_roads,
)
from roadchief.web.access import allow, public, require
from roadchief.web.photos import send_stored_photo

bp = Blueprint("public", __name__, url_prefix="/p")

REPORT_LIMIT = "5 per hour;20 per day"
TRACK_LIMIT = "30 per minute;300 per day"
HANDLERS = roles_for(HANDLE_REPORTS)


@bp.app_template_filter("public_time")
def public_time(value: datetime | None, with_time: bool = True) -> str:
    """A stored (UTC) moment as Beijing time."""
    return format_beijing(value, MINUTE if with_time else "%Y-%m-%d")


@bp.app_template_filter("kstake")
def kstake(metres: int) -> str:
    return format_stake(metres)


def _road_or_404(code: str):
    road = find_road(code)
    if road is None or not road.segments:
        abort(404)
    return road


def _segment_or_404(segment_id: int):
    segment = find_segment(segment_id)
    if segment is None:
        abort(404)
    return segment


def _size() -> str:
    size = request.args.get("size", "A4").upper()
    if size not in SIZES:
        abort(400)
    return size


def _file(data: bytes, mimetype: str, filename: str | None = None, cache: int = 300) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not current_user.is_authenticated:
        response.headers["Cache-Control"] = f"public, max-age={cache}"
    if filename:
        response.headers["Content-Disposition"] = f"inline; filename={filename}"
    return response


# ---------- landing page ----------


@bp.route("/")
@public
def index():
    text = request.args.get("q", "").strip()
    roads = search_roads(text) if text else []
    towns = []
    if permissions.is_city_office(current_user):
        towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    elif permissions.is_town_office(current_user) and current_user.town_id:
        towns = [db.session.get(Town, current_user.town_id)]
    return render_template(
        "public/index.html",
        q=text,
        roads=roads,
        towns=towns,
        supervision_phone=current_app.config["SUPERVISION_PHONE"],
        url_warning=loopback_warning() if towns else None,  # offices print signs from here
    )


# ---------- sign pages ----------


@bp.route("/r/<code>")
@public
def road(code: str):
    road = _road_or_404(code)
    if road.code != code:
        return redirect(url_for("public.road", code=road.code), 301)
    sign = SignContext().road_sign(road)
    return render_template(
        "public/sign.html",
        sign=sign,
        duties=DUTIES,
        qr_svg=url_for("public.road_qr_svg", code=road.code),
        qr_png=url_for("public.road_qr_png", code=road.code),
        pdf=lambda size: url_for("public.road_pdf", code=road.code, size=size),
        report_url=url_for("public.road_report", code=road.code),
    )


@bp.route("/s/<int:segment_id>")
@public
def segment(segment_id: int):
    segment = _segment_or_404(segment_id)
    sign = SignContext().segment_sign(segment)
    return render_template(
        "public/sign.html",
        sign=sign,
        duties=DUTIES,
        qr_svg=url_for("public.segment_qr_svg", segment_id=segment.id),
        qr_png=url_for("public.segment_qr_png", segment_id=segment.id),
        pdf=lambda size: url_for("public.segment_pdf", segment_id=segment.id, size=size),
        report_url=url_for("public.segment_report", segment_id=segment.id),
    )


@bp.route("/r/<code>/qr.png")
@public
def road_qr_png(code: str):
    road = _road_or_404(code)
    return _file(qr_png(public_url(road_path(road.code))), "image/png", f"{road.code}-qr.png")


@bp.route("/r/<code>/qr.svg")
@public
def road_qr_svg(code: str):
    road = _road_or_404(code)
    return _file(qr_svg(public_url(road_path(road.code))), "image/svg+xml", f"{road.code}-qr.svg")


@bp.route("/s/<int:segment_id>/qr.png")
@public
def segment_qr_png(segment_id: int):
    segment = _segment_or_404(segment_id)
    return _file(qr_png(public_url(segment_path(segment.id))), "image/png", f"segment-{segment.id}-qr.png")


@bp.route("/s/<int:segment_id>/qr.svg")
@public
def segment_qr_svg(segment_id: int):
    segment = _segment_or_404(segment_id)
    return _file(qr_svg(public_url(segment_path(segment.id))), "image/svg+xml", f"segment-{segment.id}-qr.svg")


@bp.route("/r/<code>/sign.pdf")
@public
def road_pdf(code: str):
    road = _road_or_404(code)
    size = _size()
    data = sign_pdf(SignContext().road_sign(road), size)
    return _file(data, "application/pdf", f"sign-{road.code}-{size}.pdf")


@bp.route("/s/<int:segment_id>/sign.pdf")
@public
def segment_pdf(segment_id: int):
    segment = _segment_or_404(segment_id)
    size = _size()
    data = sign_pdf(SignContext().segment_sign(segment), size)
    return _file(data, "application/pdf", f"sign-{segment.road.code}-{segment.id}-{size}.pdf")


# ---------- batch printing for a town (offices) ----------


def _town_or_404(town_code: str) -> Town:
    town = db.session.scalar(select(Town).where(Town.code == town_code))
    if town is None:
        abort(404)
    if permissions.is_town_office(current_user):
        require(current_user.town_id == town.id)
    return town


@bp.route("/town/<town_code>")
@allow(*roles_for(PRINT_SIGNS))
def town(town_code: str):
    town = _town_or_404(town_code)
    roads = town_roads(town)
    return render_template("public/town.html", town=town, roads=roads, url_warning=loopback_warning())


@bp.route("/town/<town_code>/signs.pdf")
@allow(*roles_for(PRINT_SIGNS))
def town_pdf(town_code: str):
    town = _town_or_404(town_code)
    size = _size()
    context = SignContext()
    data = signs_pdf([context.road_sign(r) for r in town_roads(town)], size, title=f"{town.name} 农村公路路长公示牌")
    return _file(data, "application/pdf", f"signs-{town.code}-{size}.pdf")


# ---------- public reports ----------


def _report_form(road, segment, status: int = 200, values: dict | None = None):
    segments = [segment] if segment else sorted(road.segments, key=lambda s: s.start_m)
    return render_template(
        "public/report_form.html",
        road=road,
        segment=segment,
        segments=segments,
        categories=REPORT_CATEGORIES,
        text_max=REPORT_TEXT_MAX,
        values=values or {},
        back_url=(
            url_for("public.segment", segment_id=segment.id) if segment else url_for("public.road", code=road.code)
        ),
    ), status


def _submit(road, segment):
    form = request.form
    segment_id = segment.id if segment else form.get("segment_id", type=int)
    data = reports.ReportInput(
        category=form.get("category", ""),
        text=form.get("text", ""),
        phone=form.get("phone"),
        lon=form.get("lon"),
        lat=form.get("lat"),
        segment_id=segment_id,
    )
    ip = request.remote_addr
    try:
        with acting_as(Actor(name=f"public:{reports.ip_digest(ip)[:12]}")):
            report = reports.create_report(road, data, photo=request.files.get("photo"), ip=ip)
    except ServiceError as error:
        flash(str(error), "error")
        return _report_form(road, segment, 400, values=form.to_dict())
    flash("反馈已提交，请记下受理编号，可凭编号查询办理进度。", "success")
    return redirect(url_for("public.track", ref=report.ref), 303)


@bp.route("/r/<code>/report", methods=["GET", "POST"])
@public
@limiter.shared_limit(REPORT_LIMIT, scope="public-report", methods=["POST"])
def road_report(code: str):
    road = _road_or_404(code)
    if request.method == "POST":
        return _submit(road, None)
    return _report_form(road, None)


@bp.route("/s/<int:segment_id>/report", methods=["GET", "POST"])
@public
@limiter.shared_limit(REPORT_LIMIT, scope="public-report", methods=["POST"])
def segment_report(segment_id: int):
    segment = _segment_or_404(segment_id)
    if request.method == "POST":
        return _submit(segment.road, segment)
    return _report_form(segment.road, segment)


@bp.route("/t")
@public
def track_lookup():
    ref = reports.normalise_ref(request.args.get("ref"))
    if not ref:
        flash("受理编号格式不正确（如 GK20240501ABCD）", "error")
        return redirect(url_for("public.index"))
    return redirect(url_for("public.track", ref=ref))


@bp.route("/t/<ref>")
@public
@limiter.limit(TRACK_LIMIT)
def track(ref: str):
    report = reports.find_report(ref)
    if report is None:
        abort(404)
    return render_template("public/track.html", report=report, statuses=REPORT_STATUSES)


# ---------- office side ----------


def _visible_report_or_404(ref: str) -> PublicReport:
    report = reports.find_report(ref)
    if report is None:
        abort(404)
    require(reports.can_see(current_user, report))
    return report


@bp.route("/reports")
@allow(*HANDLERS)
def report_list():
    status = request.args.get("status", "open")
    rows = reports.list_reports(current_user, status)
    return render_template(
        "public/reports.html",
        rows=rows,
        status=status,
        statuses=REPORT_STATUSES,
        counts=reports.stats_by_status(current_user),
    )


def _history(report: PublicReport) -> list[dict]:
    # the create entry may lack entity_id (the audit hook runs before the row has its
    # identity), so it is also found by the reference in its snapshot
    created = json.dumps({"ref": report.ref}, ensure_ascii=False)[1:-1]
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity == "public_report",
            or_(
                AuditEntry.entity_id == str(report.id),
                (AuditEntry.action == "create") & AuditEntry.after.contains(created, autoescape=True),
            ),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    out = []
    for entry in entries:
        after = json.loads(entry.after) if entry.after else {}
        status = after.get("status")
        out.append(
            {
                "at": entry.at,
                "actor": entry.actor if not entry.actor.startswith("public:") else "群众",
                "action": "提交反馈" if entry.action == "create" else "更新",
                "status": REPORT_STATUSES.get(status) if status else None,
                "fields": [k for k in after if k not in ("status", "updated_at", "closed_at")],
            }
        )
    return out


def _form_date(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"{what}格式不正确：{text}") from None


@bp.route("/reports/<ref>", methods=["GET", "POST"])
@allow(*HANDLERS)
def report_detail(ref: str):
    report = _visible_report_or_404(ref)
    if request.method == "POST":
        action = request.form.get("action", "")
        if action in reports.OFFICE_ACTIONS:
            require(reports.can_handle(current_user, report))
        elif action in reports.CHIEF_ACTIONS:
            require(reports.can_reply(current_user, report))
        else:
            abort(400)
        try:
            reports.act(
                report,
                current_user,
                action,
                note=request.form.get("note"),
                chief_id=request.form.get("chief_id", type=int),
                deadline=_form_date(request.form.get("deadline"), "整改期限"),
                item_code=request.form.get("item_code"),
                segment_id=request.form.get("segment_id", type=int),
            )
        except ServiceError as error:
            flash(str(error), "error")
            return redirect(url_for("public.report_detail", ref=report.ref), 303)
        flash(f"已{reports.ACTIONS[action]}：{report.status_label}", "success")
        return redirect(url_for("public.report_detail", ref=report.ref), 303)
    handle = reports.can_handle(current_user, report)
    reply = reports.can_reply(current_user, report)
    allowed = reports.allowed_actions(report.status)
    return render_template(
        "public/report_detail.html",
        report=report,
        statuses=REPORT_STATUSES,
        can_handle=handle,
        can_reply=reply,
        allowed=allowed,
        actions=reports.ACTIONS,
        chief_choices=reports.chief_choices(report) if handle and "assign" in allowed else [],
        history=_history(report),
        position_names=POSITION_NAMES,
    )


def _photo(ref: str, thumb: bool):
    report = _visible_report_or_404(ref)
    relative = report.photo_thumb_path if thumb else report.photo_path
    name = f"{report.ref}{'_thumb' if thumb else ''}.{relative.rsplit('.', 1)[-1]}" if relative else None
    response = send_stored_photo(relative, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"  # reporters' photos: never kept by a shared cache
    return response


@bp.route("/reports/<ref>/photo")
@allow(*HANDLERS)
def report_photo(ref: str):
    return _photo(ref, thumb=False)


@bp.route("/reports/<ref>/thumb")
@allow(*HANDLERS)
def report_thumb(ref: str):
    return _photo(ref, thumb=True)
