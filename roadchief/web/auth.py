"""Sign-in, sign-out, own password, and user administration for the city office."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from roadchief.domain.permissions import MANAGE_USERS, VIEW_DASHBOARD, roles_for
from roadchief.extensions import db, limiter
from roadchief.models import Town, User
from roadchief.models.accounts import ROLES
from roadchief.services import ServiceError, accounts, permissions, token_cache
from roadchief.services.audit import Actor, set_actor
from roadchief.web.access import ANY_USER, PUBLIC, _refuse, admits, allow

bp = Blueprint("auth", __name__)


SESSION_EPOCH = "auth_epoch"
MUST_CHANGE = "must_change_password"


def load_user(user_id: str):
    """The session's user, while the session is still valid: a cookie issued before a
    logout, a password change or a disable carries an old epoch and is refused."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if not accounts.session_valid(user, session.get(SESSION_EPOCH)):
        return None
    _set_actor(user)
    return user


def _sign_in(user) -> None:
    session.clear()
    login_user(user)
    session[SESSION_EPOCH] = user.session_epoch or 0
    if user.must_change_password:
        session[MUST_CHANGE] = True


# what a user who must change a one-time password may still reach
_BEFORE_CHANGE = {"auth.change_password", "auth.logout", "static"}


@bp.before_app_request
def one_time_password_first():
    # reads the session only: loading current_user here would run before the request's
    # audit actor is reset (web/__init__.py), and the user would be logged as anonymous
    if not session.get(MUST_CHANGE) or request.endpoint in _BEFORE_CHANGE or request.endpoint is None:
        return None
    if request.path.startswith("/api/"):
        from roadchief.web.errors import api_error

        return api_error(403, "请先登录网页修改一次性密码", code="password_change_required")
    return redirect(url_for("auth.change_password"))


def _bearer(req) -> str | None:
    header = req.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def load_user_from_request(req):
    token = _bearer(req)
    if token is None:
        return None
    user = None
    view = current_app.view_functions.get(req.endpoint) if req.endpoint else None
    if getattr(view, "trusts_cached_token", False):
        # only an identity the endpoint's rule lets in: any refusal comes from the full lookup
        rule = getattr(view, "access", frozenset())
        user = accounts.cached_user_for_token(token, lambda s: ANY_USER in rule or s.role in rule)
    if user is None:
        user = accounts.user_for_token(token)
    _set_actor(user)
    return user


def trusts_cached_token(view):
    """Opt an endpoint in to a bearer token from the worker's cache (services.token_cache;
    issue #15 point 4). The endpoint's first query must carry ``token_cache.verification_column()``
    and pass its value to ``token_cache.confirm`` (no write is possible before: the session
    refuses). Here, the other outcomes:

    * the check failed (``StaleIdentity``): roll back, full lookup — an invalid token gets the
      very answer it gets today (401), a changed user is re-checked against the access rule
      and served as the fresh one;
    * an answer (or a refusal) came out before the check ran: a full lookup decides — a token
      that no longer works gets the 401, a user whose snapshot changed has the view run again
      as the fresh one, an unchanged one keeps the answer.

    Apply it innermost (right above the function), so a repeat runs the view with the same
    parsed input; ``load_user_from_request`` sees the mark through the outer wrappers."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if token_cache.pending() is None:
            return view(*args, **kwargs)
        try:
            answer = view(*args, **kwargs)
        except token_cache.StaleIdentity:
            return _as_fresh_user(view, args, kwargs)
        except Exception:
            if token_cache.pending() is None or _still_the_same():
                raise
            return _as_fresh_user(view, args, kwargs)
        if token_cache.pending() is None or _still_the_same():
            return answer
        return _as_fresh_user(view, args, kwargs)

    wrapped.trusts_cached_token = True
    return wrapped


def _full_lookup():
    """Roll back whatever the unverified request held, then authenticate the token the
    ordinary way: the request's user (and audit actor) becomes the full lookup's, or anonymous."""
    waiting = token_cache.pending()
    db.session.rollback()
    token_cache.clear()
    row = accounts.working_token(_bearer(request) or "")
    user = row.user if row is not None else None
    current_app.login_manager._update_request_context_with_user(user)
    set_actor(Actor(name="anonymous", ip=request.remote_addr))
    _set_actor(user)
    return waiting, row


def _still_the_same() -> bool:
    waiting, row = _full_lookup()
    return row is not None and waiting is not None and token_cache.Snapshot.of(row) == waiting.snapshot


def _as_fresh_user(view, args, kwargs):
    if token_cache.pending() is not None:
        _full_lookup()
    if not current_user.is_authenticated:
        return _refuse(401)  # exactly as an invalid token is answered (web.access)
    rule = getattr(current_app.view_functions.get(request.endpoint), "access", frozenset())
    if not admits(rule):
        return _refuse(403)
    return view(*args, **kwargs)


def settle_unverified_token(response):
    """after_request, the last net: an answer made while the token was still unverified (a
    refusal before the endpoint's view ran, e.g. its input validation) leaves only if the
    token still works; otherwise the invalid token's 401."""
    if token_cache.pending() is None:
        return response
    _, row = _full_lookup()
    return response if row is not None else _refuse(401)


def _set_actor(user):
    if user is not None:
        # remote_addr is the client's own address (ROADCHIEF_PROXY_FIX trusts one proxy's X-Forwarded-For)
        set_actor(Actor(name=user.username, user_id=user.id, ip=request.remote_addr if request else None))


def _safe_next(target: str | None) -> str:
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    # the home page: 总览 for the city office and finance, the map for everyone else
    return url_for("dashboard.index" if permissions.can(current_user, VIEW_DASHBOARD) else "map.index")


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if request.method == "POST":
        try:
            user = accounts.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except ServiceError as error:
            flash(str(error), "error")
            return render_template("auth/login.html")
        _sign_in(user)
        if user.must_change_password:
            flash("这是一次性密码：请先设置您自己的新密码，然后才能使用系统", "warning")
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
@allow(ANY_USER)
def logout():
    accounts.end_sessions(current_user)  # a copy of this session cookie stops working too
    logout_user()
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(ANY_USER)
def change_password():
    if request.method == "POST":
        try:
            accounts.authenticate(current_user.username, request.form.get("current", ""))
            if request.form.get("new") != request.form.get("confirm"):
                raise ServiceError("两次输入的新密码不一致")
            if request.form.get("new") == request.form.get("current"):
                raise ServiceError("新密码不能与当前密码相同")
            accounts.reset_password(current_user, request.form.get("new", ""))
            session[SESSION_EPOCH] = current_user.session_epoch  # other sessions end, this one stays
            session.pop(MUST_CHANGE, None)
            flash("密码已修改；其他设备上的登录已退出", "info")
            return redirect(url_for("map.index"))
        except ServiceError as error:
            flash(str(error), "error")
    return render_template("auth/password.html")


@bp.route("/admin/users")
@allow(*roles_for(MANAGE_USERS))
def users():
    rows = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    return render_template("auth/users.html", users=rows, towns=towns, roles=ROLES)


@bp.route("/admin/users", methods=["POST"])
@allow(*roles_for(MANAGE_USERS))
def create_user():
    form = request.form
    try:
        chief_id = int(form["chief_id"]) if form.get("chief_id") else None
        accounts.create_user(
            form.get("username", ""),
            form.get("role", ""),
            form.get("password", ""),
            town=form.get("town") or None,
            chief_id=chief_id,
            display_name=form.get("display_name", ""),
        )
        flash("用户已创建", "info")
    except (ServiceError, ValueError) as error:
        flash(str(error), "error")
    return redirect(url_for("auth.users"))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@allow(*roles_for(MANAGE_USERS))
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        accounts.reset_password(user, request.form.get("password", ""), temporary=True)
        flash(f"已重置 {user.username} 的密码：其登录已全部退出，下次登录须修改密码", "info")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("auth.users"))
