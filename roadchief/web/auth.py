"""Sign-in, sign-out, own password, and user administration for the city office."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from roadchief.domain.permissions import MANAGE_USERS, VIEW_DASHBOARD, roles_for
from roadchief.extensions import db, limiter
from roadchief.models import Town, User
from roadchief.models.accounts import ROLES
from roadchief.services import ServiceError, accounts, permissions
from roadchief.services.audit import Actor, set_actor
from roadchief.web.access import ANY_USER, PUBLIC, allow

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


def load_user_from_request(req):
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = accounts.user_for_token(header[7:].strip())
        _set_actor(user)
        return user
    return None


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
