"""The city office's account pages beside 用户管理 (on the auth blueprint): disable and
enable users, API tokens (create with optional expiry, revoke), and bulk 路长 accounts
with their printable slips (streamed, never stored on the server)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from roadchief.domain import clock
from roadchief.domain.permissions import MANAGE_USERS, roles_for
from roadchief.extensions import db
from roadchief.models import Town, User
from roadchief.services import ServiceError, account_admin, accounts, chief_accounts, public_url
from roadchief.services.chiefs import POSITION_NAMES
from roadchief.web.access import allow
from roadchief.web.auth import bp

MANAGERS = roles_for(MANAGE_USERS)


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@allow(*MANAGERS)
def set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    try:
        account_admin.set_active(user.username, active)
        flash(
            f"已启用 {user.username}" if active else f"已停用 {user.username}：其登录已全部退出，API 令牌暂停使用",
            "success",
        )
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("auth.users"))


@bp.route("/admin/tokens")
@allow(*MANAGERS)
def tokens():
    users = db.session.scalars(select(User).where(User.is_active_flag.is_(True)).order_by(User.username)).all()
    return render_template(
        "auth/tokens.html", tokens=account_admin.list_tokens(), users=users, max_days=accounts.MAX_TOKEN_DAYS
    )


@bp.route("/admin/tokens", methods=["POST"])
@allow(*MANAGERS)
def create_token():
    form = request.form
    try:
        days_text = form.get("expires_days", "").strip()
        if days_text and not days_text.isdigit():
            raise ServiceError(f"有效天数须为整数：{days_text}")
        token = accounts.create_token(
            form.get("username", ""), form.get("label", ""), int(days_text) if days_text else None
        )
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("auth.tokens"))
    # shown once, on this response only (not in a flash that would sit in the session cookie)
    response = render_template(
        "auth/tokens.html",
        tokens=account_admin.list_tokens(),
        users=db.session.scalars(select(User).where(User.is_active_flag.is_(True)).order_by(User.username)).all(),
        max_days=accounts.MAX_TOKEN_DAYS,
        new_token=token,
    )
    return Response(response, headers={"Cache-Control": "no-store"})


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["POST"])
@allow(*MANAGERS)
def revoke_token(token_id: int):
    try:
        token = account_admin.revoke_token(str(token_id))
        flash(f"已撤销令牌 {token.token_prefix or token.id}（{token.user.username}）", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("auth.tokens"))


@bp.route("/admin/chief-accounts")
@allow(*MANAGERS)
def chief_accounts_page():
    town = request.args.get("town") or None
    try:
        pending = chief_accounts.chiefs_without_account(town)
    except ServiceError as error:
        flash(str(error), "error")
        town, pending = None, chief_accounts.chiefs_without_account()
    return render_template(
        "auth/chief_accounts.html",
        pending=pending,
        town=town,
        towns=db.session.scalars(select(Town).order_by(Town.code)).all(),
        login_url=public_url.base_url(),
        url_warning=public_url.loopback_warning(),
        positions=POSITION_NAMES,
    )


@bp.route("/admin/chief-accounts", methods=["POST"])
@allow(*MANAGERS)
def create_chief_accounts():
    from roadchief.reports.account_slips_pdf import account_slips_pdf

    town = request.form.get("town") or None
    try:
        slips = chief_accounts.create_chief_accounts(town)
    except ServiceError as error:
        flash(str(error), "error")
        return redirect(url_for("auth.chief_accounts_page", town=town))
    data = account_slips_pdf(slips, public_url.base_url(), clock.beijing_today().isoformat())
    tag = town if town and town.isascii() and town.isalnum() else "all"
    name = f"chief-accounts-{tag}-{clock.beijing_today():%Y%m%d}.pdf"
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
