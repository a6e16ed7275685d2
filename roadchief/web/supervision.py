"""督办 pages: the escalations an office received, a rectification's deadline and escalation
history with its 督办通知书 PDFs, and the city office's deadline and notification rules."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from roadchief.domain import clock
from roadchief.domain import deadlines as deadline_rules_domain
from roadchief.domain import notifications as notify_rules
from roadchief.domain.permissions import CITY_OFFICE, OFFICES, READ, roles_for
from roadchief.extensions import db
from roadchief.models.inspections import Rectification
from roadchief.services import ServiceError, deadline_rules, escalation, inspection_scope, notifications
from roadchief.services.deduction_catalog import catalog_for, points_text
from roadchief.services.permissions import office_key
from roadchief.web.access import allow

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


def _visible(rect: Rectification) -> None:
    if not inspection_scope.can_see_rectification(current_user, rect):
        abort(403)


@bp.route("/")
@allow(*OFFICES)
def index():
    escalation.escalate_lazily()
    key = office_key(current_user)
    return render_template("supervision/index.html", steps=escalation.escalated_for(key), today=clock.beijing_today())


@bp.route("/rectifications/<int:rectification_id>")
@allow(*roles_for(READ))
def rectification(rectification_id: int):
    rect = db.get_or_404(Rectification, rectification_id)
    _visible(rect)
    if current_user.role in OFFICES:
        escalation.escalate_lazily()
    steps = escalation.history(rect)
    return render_template(
        "supervision/rectification.html",
        rect=rect,
        steps=steps,
        running=escalation.running_deadline(rect, steps),
        today=clock.beijing_today(),
        may_download=current_user.role in OFFICES,
        levels=deadline_rules_domain.LEVEL_LABELS,
    )


@bp.route("/notices/<int:step_id>.pdf")
@allow(*OFFICES)
def notice(step_id: int):
    from roadchief.reports.supervision_notice_pdf import notice_pdf

    step = escalation.notice_step(step_id)
    _visible(step.rectification)
    response = Response(notice_pdf(escalation.notice_data(step)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(f'督办通知书{step.notice_number}.pdf')}"
    )
    return response


@bp.route("/deadlines/<int:year>", methods=["GET", "POST"])
@allow(CITY_OFFICE)
def deadlines(year: int):
    codes = {i.code: i for i in catalog_for(year).items} if 2000 <= year <= 2100 else {}
    if request.method == "POST":
        try:
            deadline_rules.save_rules(year, request.form, current_user, set(codes))
        except ServiceError as error:
            flash(str(error), "error")
            return _deadlines_page(year, codes, request.form), 422
        flash(f"{year} 年整改期限已保存", "success")
        return redirect(url_for("supervision.deadlines", year=year))
    return _deadlines_page(year, codes, None)


def _deadlines_page(year: int, codes: dict, form):
    rules = deadline_rules.rules_for(year)
    values = {name: getattr(rules, name) for name, _label in deadline_rules.FIELDS}
    values["major_points"] = points_text(rules.major_points_centi)
    values["serious_points"] = points_text(rules.serious_points_centi)
    values["item_days"] = deadline_rules.item_days_text(rules)
    if form is not None:
        values.update({k: form.get(k, "") for k in values})
    items = [
        (
            item,
            deadline_rules_domain.SEVERITY_LABELS[deadline_rules_domain.severity_of(item.points_centi, rules)],
            deadline_rules_domain.deadline_days(item.code, item.points_centi, rules),
        )
        for item in codes.values()
    ]
    return render_template(
        "supervision/deadlines.html",
        year=year,
        values=values,
        fields=deadline_rules.FIELDS,
        point_fields=deadline_rules.POINT_FIELDS,
        stored=deadline_rules.rule_set(year) is not None,
        items=items,
    )


@bp.route("/notification-rules", methods=["GET", "POST"])
@allow(CITY_OFFICE)
def notification_rules():
    if request.method == "POST":
        pairs = []
        for value in request.form.getlist("rule"):
            event, _, rest = value.partition("|")
            audience, _, channel = rest.partition("|")
            pairs.append((event, audience, channel))
        try:
            notifications.save_rules(pairs)
        except ServiceError as error:
            flash(str(error), "error")
        else:
            flash("通知规则已保存", "success")
        return redirect(url_for("supervision.notification_rules"))
    return render_template(
        "supervision/notification_rules.html",
        rules=notifications.current_rules(),
        events=notify_rules.EVENT_LABELS,
        audiences=notify_rules.AUDIENCE_LABELS,
        channels=notify_rules.CHANNEL_LABELS,
    )
