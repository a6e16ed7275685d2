"""Serving stored photos: always through an access-checked view (never a static route),
from the upload folder outside the web root, typed by their stored extension."""

from __future__ import annotations

from flask import abort, current_app, send_file

from roadchief.services.uploads import mimetype_for, resolve_stored


def send_stored_photo(relative: str | None, download_name: str | None = None):
    if not relative:
        abort(404)
    try:
        path = resolve_stored(current_app.config["UPLOAD_DIR"], relative)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        path, mimetype=mimetype_for(relative), max_age=0, conditional=True, download_name=download_name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # an image opened on its own cannot run anything, whatever its bytes say
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
