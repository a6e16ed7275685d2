"""Accounts: users, passwords, lockout and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from roadchief.domain import clock
from roadchief.domain.permissions import needs_chief, needs_town
from roadchief.extensions import db
from roadchief.models import ApiToken, Chief, Town, User
from roadchief.models.accounts import ROLES
from roadchief.services import Conflict, NotFound, ServiceError
from roadchief.services.transactions import unit_of_work

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if password.isdigit() or password.isalpha():
        raise ServiceError("密码须同时包含字母和数字")


def _find_town(code_or_name: str) -> Town:
    town = db.session.scalar(select(Town).where((Town.code == code_or_name) | (Town.name == code_or_name)))
    if town is None:
        raise ServiceError(f"未知乡镇：{code_or_name}")
    return town


def create_user(
    username: str,
    role: str,
    password: str,
    town: str | None = None,
    chief_id: int | None = None,
    display_name: str = "",
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 40:
        raise ServiceError("用户名不能为空，且不超过 40 个字符")
    if role not in ROLES:
        raise ServiceError(f"未知角色：{role}（可选：{', '.join(ROLES)}）")
    check_password_strength(password)
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"用户名已存在：{username}")
    town_row = _find_town(town) if town else None
    if needs_town(role) and town_row is None:
        raise ServiceError("镇级路长办公室用户须指定 --town")
    chief = None
    if chief_id is not None:
        chief = db.session.get(Chief, chief_id)
        if chief is None:
            raise ServiceError(f"未知路长 ID：{chief_id}")
    if needs_chief(role) and chief is None:
        raise ServiceError("路长用户须指定 --chief")
    user = User(
        username=username,
        role=role,
        display_name=display_name or (chief.name if chief else username),
        password_hash=generate_password_hash(password),
        town=town_row,
        chief=chief,
    )
    with unit_of_work():
        db.session.add(user)
    return user


def authenticate(username: str, password: str, now: datetime | None = None) -> User:
    """Check a password, counting failures; after MAX_FAILED_LOGINS the account is locked for LOCKOUT."""
    now = now or clock.utcnow()
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ServiceError("用户名或密码错误")
    locked_until = user.locked_until
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=UTC)
    if locked_until and locked_until > now:
        raise ServiceError("登录失败次数过多，账户已临时锁定，请 15 分钟后再试或联系管理员")
    if not check_password_hash(user.password_hash, password or ""):
        with unit_of_work():
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
        raise ServiceError("用户名或密码错误")
    if not user.is_active:  # told only to whoever knows the password: no hint to a guesser
        raise ServiceError("该账号已被停用，不能登录；如有疑问请联系市路长办公室")
    with unit_of_work():
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
    return user


def reset_password(user: User, new_password: str, temporary: bool = False) -> None:
    """Set a new password and end every session of the user (a captured cookie stops
    working). ``temporary``: a password someone else chose (the office's reset), which the
    user must replace at the next sign-in."""
    check_password_strength(new_password)
    from roadchief.services.audit import record_event

    with unit_of_work():
        user.password_hash = generate_password_hash(new_password)
        user.failed_logins = 0
        user.locked_until = None
        user.must_change_password = temporary
        user.session_epoch = (user.session_epoch or 0) + 1
        record_event(db.session, "app_user", user.id, "密码重置（须在下次登录时修改）" if temporary else "密码重置")


def end_sessions(user: User) -> None:
    """Every session cookie issued to the user so far is refused from now on (logout)."""
    with unit_of_work():
        user.session_epoch = (user.session_epoch or 0) + 1


def session_valid(user: User | None, epoch) -> bool:
    """A session cookie's user is still signed in: the account is active and the cookie
    carries the account's current session epoch."""
    return user is not None and user.is_active and isinstance(epoch, int) and epoch == (user.session_epoch or 0)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_PREFIX_LENGTH = 11  # "rc_" and 8 characters: enough to tell tokens apart, far too few to guess one
MAX_TOKEN_DAYS = 3660


def create_token(username: str, label: str = "", expires_days: int | None = None, now: datetime | None = None) -> str:
    """A new API token for the user (shown once); with ``expires_days`` it stops working after that many days."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"未知用户：{username}")
    if not user.is_active:
        raise ServiceError(f"用户 {username} 已停用，不能生成令牌")
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ServiceError(f"有效天数须在 1–{MAX_TOKEN_DAYS} 之间：{expires_days}")
    if len(label or "") > 60:
        raise ServiceError("令牌用途说明不超过 60 个字符")
    now = now or clock.utcnow()
    token = "rc_" + secrets.token_urlsafe(32)
    with unit_of_work():
        db.session.add(
            ApiToken(
                user=user,
                token_digest=_digest(token),
                token_prefix=token[:TOKEN_PREFIX_LENGTH],
                label=label or "",
                created_at=now,
                expires_at=now + timedelta(days=expires_days) if expires_days else None,
            )
        )
    return token


def working_token(token: str, now: datetime | None = None) -> ApiToken | None:
    """A working token with its user: not revoked, not expired, its account active. The full
    lookup: what it finds is remembered for the endpoints that may start from the worker's
    cache (services.token_cache, which re-checks it in the database); what it refuses is forgotten."""
    from roadchief.services import token_cache

    digest = _digest(token)
    row = db.session.scalar(  # one statement: the token with its user, the user's town and chief (issue #15)
        select(ApiToken)
        .options(joinedload(ApiToken.user).options(joinedload(User.town), joinedload(User.chief)))
        .where(ApiToken.token_digest == digest, ApiToken.revoked.is_(False))
    )
    if (
        row is None
        or not row.user.is_active
        or (row.expires_at is not None and row.expires_at <= (now or clock.utcnow()))
    ):
        token_cache.forget(digest)
        return None
    token_cache.remember(digest, row)
    return row


def user_for_token(token: str, now: datetime | None = None) -> User | None:
    """The user of a working token: not revoked, not expired, its account active."""
    row = working_token(token, now)
    return row.user if row is not None else None


def cached_user_for_token(token: str, accept=lambda snapshot: True) -> User | None:
    """The user of a token this worker has seen working, without SQL and **unverified** until
    the request's first query checks it (services.token_cache); None: do the full lookup."""
    from roadchief.services import token_cache

    return token_cache.cached_user(_digest(token), accept)
