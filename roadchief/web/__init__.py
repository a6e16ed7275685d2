"""Web entry points: one blueprint per user-facing area, plus the JSON API."""

from __future__ import annotations

from datetime import datetime

from flask import g, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from roadchief.domain import clock
from roadchief.extensions import csrf, login_manager
from roadchief.services import token_cache
from roadchief.services.audit import Actor, set_actor
from roadchief.web import access


# Only what the map needs: our own scripts and styles, data: images for icons,
# and the tile server when one is configured.
def _csp(tile_url: str) -> str:
    img = "'self' data: blob:"
    if tile_url:
        from urllib.parse import urlsplit

        parts = urlsplit(tile_url.replace("{s}", "a"))
        # a {s} subdomain template (t{s}.tianditu.gov.cn, {s}.tile.openstreetmap.org) → *.parent-domain
        host = ("*." + parts.netloc.split(".", 1)[1]) if "{s}" in urlsplit(tile_url).netloc else parts.netloc
        img += f" {parts.scheme}://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "worker-src 'self'; manifest-src 'self'; "  # the field app's service worker and manifest (web/pwa.py)
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


ERROR_TEXT = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问此页面",
    404: "页面不存在",
    405: "不支持的请求方式",
    409: "数据已被他人修改",
    413: "上传文件过大",
    429: "操作过于频繁，请稍后再试",
    500: "系统内部错误，已记录，请稍后再试",
}


class BoundedInt(IntegerConverter):
    """<int:…> in every route stays within a database integer: a larger id is a 404, not an overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def beijing(value, fmt: str = clock.MINUTE) -> str:
    """Template filter ``|beijing``: a moment (aware datetime, or ISO text from a service) in
    Beijing time. ISO text without an offset is Beijing time (the input rule); a naive
    datetime object is refused (domain.clock): moments from the database are aware."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        value = clock.as_beijing_input(moment)
    return clock.format_beijing(value, fmt)


def register_web(app):
    app.url_map.converters["int"] = BoundedInt
    app.add_template_filter(beijing, "beijing")
    app.add_template_global(beijing, "beijing")
    from roadchief.web import formatting

    formatting.register(app)  # |yuan, |fen: money with thousands separators
    # funding_admin, inspections_results, operations_assets and operations_events define their views on
    # the funding, inspections and operations blueprints: imported here, before those are registered
    from roadchief.web import (
        accounts_admin,  # noqa: F401  (views on the auth blueprint)
        api,
        audit,
        auth,
        dashboard,
        errors,
        funding,
        funding_admin,  # noqa: F401
        inspections,
        inspections_results,  # noqa: F401
        list_exports,  # noqa: F401  (导出Excel routes on the registry, funding, inspections, public, operations blueprints)
        notifications,
        operations,
        operations_assets,  # noqa: F401
        operations_events,  # noqa: F401
        patrols,
        public,
        registry,
        supervision,
        todos,  # also registers GET /api/v1/todos on api.bp
    )
    from roadchief.web import map as map_view

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.session_protection = "strong"
    login_manager.user_loader(auth.load_user)
    login_manager.request_loader(auth.load_user_from_request)

    for blueprint in (
        auth.bp,
        registry.bp,
        funding.bp,
        public.bp,
        map_view.bp,
        audit.bp,
        dashboard.bp,
        inspections.bp,
        operations.bp,
        supervision.bp,
        notifications.bp,
        patrols.bp,
        todos.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(api.bp)
    app.spec_processor(api.document_errors)
    csrf.exempt(api.bp)  # the API checks CSRF itself for cookie sessions; bearer tokens need none
    from roadchief.web import ogc, open311, pwa

    app.register_blueprint(pwa.bp)  # /sw.js and /manifest.webmanifest, at the site root (issue #14)
    app.register_blueprint(ogc.bp)  # OGC API – Features, public and read-only
    app.register_blueprint(open311.bp)
    csrf.exempt(open311.bp)  # an anonymous machine API (no session, no cookie): rate-limited like the report form

    from roadchief.web import assets

    assets.init_app(app)  # hashed, pre-compressed static files (before the access rule wraps the view)
    access.wrap_public(app, "openapi.spec")
    access.wrap_public(app, "static")

    @app.before_request
    def anonymous_until_signed_in():
        # worker threads are reused: never let one request's actor leak into the next one's audit entries
        set_actor(Actor(name="anonymous", ip=request.remote_addr))
        token_cache.clear()  # nor its unverified bearer token (services.token_cache)

    @app.teardown_request
    def no_actor_after_the_request(_error=None):
        # nor outlive the request: code run afterwards in the same thread (a command, a test
        # calling a service) must act as itself, not as the last signed-in user (不相容职务分离 reads it)
        set_actor(None)
        token_cache.clear()

    app.before_request(access.enforce)

    csp = _csp(app.config.get("TILE_URL", ""))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self)")
        loaded = g.get("_login_user")  # the request's user as loaded: no reload after a commit expired it
        signed_in = current_user.is_authenticated if loaded is None else not loaded.is_anonymous
        if signed_in and not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    # registered after security_headers, so it runs before it (Flask runs them in reverse): an
    # answer it replaces gets the same headers
    app.after_request(auth.settle_unverified_token)

    @app.errorhandler(HTTPException)
    def http_error(error):
        if access.is_api_request():
            return errors.http_error_body(error)
        return render_template(
            "error.html", code=error.code, message=ERROR_TEXT.get(error.code, error.name)
        ), error.code

    errors.register(app)

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("unhandled error")
        if access.is_api_request():
            return errors.api_error(500, ERROR_TEXT[500])
        return render_template("error.html", code=500, message=ERROR_TEXT[500]), 500

    @app.context_processor
    def globals_for_templates():
        from roadchief.models.accounts import ROLES

        return {"ROLES": ROLES, "role_in": access.role_in, "can": access.can}
