"""The signed-in user's in-app notifications (站内通知), marking them read, and his contact addresses."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from roadchief.domain import clock
from roadchief.extensions import db
from roadchief.services import ServiceError
from roadchief.services import notifications as service
from roadchief.web.access import ANY_USER, allow

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@allow(ANY_USER)
def index():
    rows = service.inbox(current_user)
    return render_template(
        "notifications/index.html",
        rows=[(row, service.payload_of(row)) for row in rows],
        unread=service.unread_count(current_user),
        contact=service.contact_of(current_user),
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@allow(ANY_USER)
def read(notification_id: int):
    service.mark_read(current_user, notification_id, clock.utcnow())
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@allow(ANY_USER)
def read_all():
    count = service.mark_read(current_user, None, clock.utcnow())
    flash(f"已将 {count} 条通知标为已读", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/contact", methods=["POST"])
@allow(ANY_USER)
def contact():
    try:
        service.save_contact(current_user, request.form.get("email", ""), request.form.get("phone", ""))
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash("通知方式已保存", "success")
    return redirect(url_for("notifications.index"))


@bp.app_context_processor
def _unread():
    """``unread_notifications()`` for the menu (a count query only when a template asks)."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return service.unread_count(current_user)
        except SQLAlchemyError:  # e.g. an error page after a failed transaction: the menu goes without
            db.session.rollback()
            return 0

    return {"unread_notifications": unread_notifications}
