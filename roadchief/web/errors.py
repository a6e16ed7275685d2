"""The one place a refused use case (services.ServiceError and its subclasses) becomes an HTTP answer."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for

from roadchief.services import NotFound, ServiceError
from roadchief.web import access

# the ``code`` of the API's error body (web/api/schemas.py: Error), by status
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def api_error(
    status: int, message: str, *, error: str | None = None, detail=None, errors=None, code=None, headers=None
):
    """The one error body of /api/: ``error`` (kept for existing clients), ``status``, ``code``,
    ``message`` (the reason, in Chinese), ``errors`` (row or field messages, maybe empty) and
    ``detail`` (kept: the reason, or the field errors of a 422)."""
    response = jsonify(
        {
            "error": error if error is not None else message,
            "status": status,
            "code": code or CODES.get(status, "error"),
            "message": message,
            "errors": [str(e) for e in errors or []],
            "detail": message if detail is None else detail,
        }
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def http_error_body(error):
    """An HTTPException (abort(...), 404 of an unknown URL, 405, 413, 429) as the API error body."""
    from roadchief.web import ERROR_TEXT

    short = ERROR_TEXT.get(error.code, error.name)
    # abort(400, "原因") carries our reason; a bare abort(403) has werkzeug's English text, a 429 the limit
    own = error.description if isinstance(error.description, str) and not error.description.isascii() else None
    return api_error(error.code, own or short, error=short, detail=error.description)


def validation_error(error):
    """A request that fails its declared schema (apiflask, 422): the field errors listed."""
    detail = error.detail if isinstance(error.detail, dict) else {}
    errors = [
        f"{location}.{field}：{'；'.join(map(str, reasons)) if isinstance(reasons, list) else reasons}"
        for location, fields in detail.items()
        if isinstance(fields, dict)
        for field, reasons in fields.items()
    ]
    status = error.status_code
    code = "validation_error" if status == 422 else None
    message = "参数校验失败" + (f"：{'、'.join(e.split('：')[0] for e in errors)}" if errors else "")
    return api_error(
        status, message, error=message, detail=error.detail or None, errors=errors, code=code, headers=error.headers
    )


def refused_with(status: int):
    """Mark an API view whose plain ServiceError refusals answer ``status`` instead of 400 (its
    documented answer: 409 for a rectification step, 422 for an event); subclasses keep their own."""

    def mark(view):
        view.refused_status = status
        return view

    return mark


def _back() -> str:
    """The page the form was posted from (same site only), else the front page."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return referrer
    return url_for("map.index")


def service_error(error: ServiceError):
    """JSON under /api/ (the one error body, ``api_error``); on pages,
    the message flashed and back to the form after a POST, an error page after a GET. A
    NotFound answers like ``abort(404, message)``: the standard 404 with the message as detail."""
    from roadchief.web import ERROR_TEXT

    status = error.status
    if isinstance(error, NotFound):
        if access.is_api_request():
            return api_error(404, str(error), error=ERROR_TEXT[404], detail=str(error), errors=error.errors)
        return render_template("error.html", code=404, message=ERROR_TEXT[404]), 404
    if access.is_api_request():
        if type(error) is ServiceError:
            view = current_app.view_functions.get(request.endpoint or "")
            status = getattr(view, "refused_status", status)
        return api_error(status, str(error), errors=error.errors, code=CODES.get(status))
    if request.method == "POST":
        flash(str(error), "error")
        return redirect(_back())
    return render_template("error.html", code=status, message=str(error)), status


def register(app) -> None:
    from apiflask.exceptions import HTTPError

    app.register_error_handler(ServiceError, service_error)
    app.register_error_handler(HTTPError, validation_error)  # over apiflask's own body
