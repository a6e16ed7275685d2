"""JSON API under /api/v1 (OpenAPI document at /api/v1/openapi.json): one blueprint, its helpers, and a module per area."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json

from apiflask import APIBlueprint
from flask import abort, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="路网")
BEARER = "BearerAuth"


@bp.before_request
def csrf_for_cookie_sessions():
    # Bearer-token clients cannot be driven by another site; cookie sessions can, so
    # unsafe methods from a browser session need the CSRF token header.
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.headers.get("Authorization", "").startswith(
        "Bearer "
    ):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError:
            abort(400, "CSRF 令牌缺失或无效")


def compressed_json(payload, max_age: int = 60):
    """JSON with an ETag (304 when unchanged) and gzip when the client accepts it.
    `payload` may be JSON text already."""
    from flask import make_response

    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    body = text.encode()
    etag = hashlib.sha1(body).hexdigest()
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(body)
        response.mimetype = "application/json"
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(gzip.compress(body, compresslevel=6))
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.headers["Vary"] = "Accept-Encoding, Authorization, Cookie"
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    return response


def versioned_json(key: tuple, build, max_age: int = 60):
    """JSON built at most once per data version: the ETag comes from the version and `key`
    (the caller's scope and query), so an unchanged client gets its 304 after one cheap query,
    without the body being built; the body and its gzip form are kept for the next caller."""
    return versioned_body(key, lambda: build().encode(), "application/json", max_age)


def versioned_body(
    key: tuple, build, mimetype: str, max_age: int = 60, cache: str = "bodies", size: int = 64, version=None
):
    """`versioned_json` for any body `build()` returns as bytes; `cache` names the LRU it is
    kept in (the map's vector tiles keep their own, many small bodies beside few big ones);
    `version` is the function giving the data version (default: `data_version`)."""
    from flask import current_app, make_response

    from roadchief.services.data_version import BodyCache, data_version

    bodies = current_app.extensions.setdefault(f"roadchief_{cache}", BodyCache(size=size))  # per app: per database
    version_key = ((version or data_version)(), *key)
    etag = hashlib.sha1(repr(version_key).encode()).hexdigest()[:32]
    headers = {"Vary": "Accept-Encoding, Authorization, Cookie", "Cache-Control": f"private, max-age={max_age}"}
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:

        def body():
            raw = build()
            return raw, gzip.compress(raw, compresslevel=6)

        raw, zipped = bodies.get_or_build(version_key, body)
        if raw and "gzip" in request.headers.get("Accept-Encoding", ""):
            response = make_response(zipped)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = make_response(raw)
        response.mimetype = mimetype
    response.headers.update(headers)
    response.set_etag(etag)
    return response


def parse_bbox(text: str | None):
    if not text:
        return None
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        abort(400, "bbox 应为 minlon,minlat,maxlon,maxlat")
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        abort(400, "bbox 应为 minlon,minlat,maxlon,maxlat，且 min ≤ max")
    return parts


def visible_or_abort(model, row_id: int, can_see):
    """The row, 404 when it doesn't exist, 403 when it lies outside the caller's scope."""
    from roadchief.extensions import db

    row = db.get_or_404(model, row_id)
    if not can_see(current_user, row):
        abort(403)
    return row


STANDARD_ERRORS = {
    "400": "请求有误",
    "401": "需要登录（Bearer 令牌）",
    "403": "无权访问",
    "404": "不存在",
    "422": "参数校验失败",
    "429": "请求过于频繁",
}


def document_errors(spec: dict) -> dict:
    """The spec processor: the response schemas (web/api/schemas.py) in components, and the one
    error body (``Error``) on every error response of every operation, said once for all of them."""
    from roadchief.web.api.schemas import all_schemas

    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPError", "ValidationError"):  # apiflask's own error bodies, which we never send
        schemas.pop(unused, None)
    schemas.update(all_schemas())
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, text in STANDARD_ERRORS.items():
                responses.setdefault(code, {"description": text})
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = error
    return spec


# the areas register their routes on bp, in the order their operations appear in the OpenAPI document
for _area in ("network", "tiles", "funding", "inspections", "map_layers", "operations", "patrols"):
    importlib.import_module(f"{__name__}.{_area}")
