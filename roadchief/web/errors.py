"""The one place a refused use case (services.ServiceError and its subclasses) becomes an HTTP answer."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, jsonify, redirect, render_template, request, url_for

from roadchief.services import NotFound, ServiceError
from roadchief.web import access


def _back() -> str:
    """The page the form was posted from (same site only), else the front page."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return referrer
    return url_for("map.index")


def service_error(error: ServiceError):
    """JSON under /api/ (``{"error", "status"}``, plus ``errors`` when rows are named); on pages,
    the message flashed and back to the form after a POST, an error page after a GET. A
    NotFound answers like ``abort(404, message)``: the standard 404 with the message as detail."""
    from roadchief.web import ERROR_TEXT

    status = error.status
    if isinstance(error, NotFound):
        if access.is_api_request():
            return jsonify({"error": ERROR_TEXT[404], "detail": str(error), "status": 404}), 404
        return render_template("error.html", code=404, message=ERROR_TEXT[404]), 404
    if access.is_api_request():
        body = {"error": str(error), "status": status}
        if error.errors:
            body["errors"] = error.errors
        return jsonify(body), status
    if request.method == "POST":
        flash(str(error), "error")
        return redirect(_back())
    return render_template("error.html", code=status, message=str(error)), status


def register(app) -> None:
    app.register_error_handler(ServiceError, service_error)
