"""Access rules. Every endpoint must declare one; an endpoint without a rule is
refused (deny by default), and a test enumerates the routes to prove it."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from roadchief.domain import permissions as rules
from roadchief.services import permissions

PUBLIC = "public"
ANY_USER = "any_user"
ALL_ROLES = rules.ALL_ROLES
OFFICES = rules.OFFICES
READERS = rules.roles_for(rules.READ)


def allow(*roles: str):
    """Mark a view as open to these roles (or PUBLIC / ANY_USER)."""

    def mark(view):
        view.access = frozenset(roles)
        return view

    return mark


def public(view):
    view.access = frozenset({PUBLIC})
    return view


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _refuse(status: int):
    if is_api_request():
        from roadchief.web.errors import api_error

        message = "需要登录（Bearer 令牌）" if status == 401 else "无权访问"
        headers = {"WWW-Authenticate": 'Bearer realm="roadchief"'} if status == 401 else None
        return api_error(status, message, headers=headers)
    if status == 401:
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    abort(status)


def enforce():
    """before_request: apply the endpoint's declared rule."""
    if request.endpoint is None:
        return None  # 404 / 405 handled by Flask
    view = current_app.view_functions.get(request.endpoint)
    rule = getattr(view, "access", None)
    if rule is None:
        current_app.logger.error("endpoint %s has no access rule; refused", request.endpoint)
        return _refuse(403)
    if PUBLIC in rule:
        return None
    if not current_user.is_authenticated:
        return _refuse(401)
    if admits(rule):
        return None
    return _refuse(403)


def admits(rule) -> bool:
    """Whether a route's declared rule lets the current user in."""
    if PUBLIC in rule:
        return True
    if not current_user.is_authenticated:
        return False
    return ANY_USER in rule or permissions.has_role(current_user, *rule)


def role_in(*roles: str) -> bool:
    return permissions.has_role(current_user, *roles)


def can(capability: str) -> bool:
    """Template and view helper: the current user holds this capability (domain.permissions)."""
    return permissions.can(current_user, capability)


def require(condition: bool):
    """Scope check inside a view (e.g. a town office asking for another town's data)."""
    if not condition:
        if is_api_request():
            abort(403)
        abort(403)


def wrap_public(app, endpoint: str):
    view = app.view_functions.get(endpoint)
    if view is not None:

        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        wrapped.access = frozenset({PUBLIC})
        app.view_functions[endpoint] = wrapped
