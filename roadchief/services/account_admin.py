"""The city office's account administration: disable and enable users, list and revoke API tokens.

Disabling ends the user's sessions at once (the session epoch is bumped, see
services/accounts.session_valid) and the API refuses the user's tokens while disabled.
Every change lands in the audit log (app_user and api_token are audited tables; the
disable/enable and revocation also write a named event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from roadchief.domain import clock
from roadchief.extensions import db
from roadchief.models import ApiToken, User
from roadchief.services import Conflict, NotFound, ServiceError
from roadchief.services.audit import current_actor, record_event
from roadchief.services.transactions import unit_of_work


def find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFound(f"未知用户：{username}")
    return user


def _active_city_offices() -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == "city_office", User.is_active_flag.is_(True))
    )


def set_active(username: str, active: bool) -> User:
    """Disable (active=False) or enable a user. Disabling refuses one's own account and the
    last active city office account (nobody could enable it again from the pages)."""
    user = find_user(username)
    if bool(user.is_active_flag) == active:
        raise Conflict(f"用户 {user.username} 已是{'启用' if active else '停用'}状态")
    actor = current_actor()
    if not active:
        if actor.user_id is not None and actor.user_id == user.id:
            raise ServiceError("不能停用自己正在使用的账号")
        if user.role == "city_office" and _active_city_offices() <= 1:
            raise ServiceError("这是最后一个启用的市路长办公室账号，停用后无人能管理账号，已拒绝")
    with unit_of_work():
        user.is_active_flag = active
        user.session_epoch = (user.session_epoch or 0) + 1  # its signed-in sessions end now
        if active:
            user.failed_logins, user.locked_until = 0, None
        record_event(db.session, "app_user", user.id, f"{'启用' if active else '停用'}账号 {user.username}")
    return user


@dataclass(frozen=True)
class TokenRow:
    id: int
    username: str
    display_name: str
    prefix: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: str  # 有效 / 已过期 / 已撤销 / 用户已停用

    @property
    def working(self) -> bool:
        return self.status == "有效"


def token_status(token: ApiToken, now: datetime | None = None) -> str:
    if token.revoked:
        return "已撤销"
    if token.expires_at is not None and token.expires_at <= (now or clock.utcnow()):
        return "已过期"
    if not token.user.is_active:
        return "用户已停用"
    return "有效"


def list_tokens(username: str | None = None, now: datetime | None = None) -> list[TokenRow]:
    query = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id)
    if username:
        query = query.where(ApiToken.user_id == find_user(username).id)
    now = now or clock.utcnow()
    return [
        TokenRow(
            id=t.id,
            username=t.user.username,
            display_name=t.user.display_name,
            prefix=t.token_prefix or "（旧令牌）",
            label=t.label,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
            status=token_status(t, now),
        )
        for t in db.session.scalars(query)
    ]


def _find_token(reference: str) -> ApiToken:
    """A token by its id ("12") or the start of the token ("rc_AbC1", at least 7 characters)."""
    text = (reference or "").strip()
    if text.isdigit():
        token = db.session.get(ApiToken, int(text))
        if token is None:
            raise NotFound(f"未知令牌 ID：{text}")
        return token
    if len(text) < 7 or not text.startswith("rc_"):
        raise ServiceError(f"请给出令牌 ID 或以 rc_ 开头、至少 7 个字符的令牌前缀：{text}")
    prefix = text[:11]
    rows = db.session.scalars(select(ApiToken).where(ApiToken.token_prefix.startswith(prefix, autoescape=True))).all()
    rows = [r for r in rows if text.startswith(r.token_prefix) or r.token_prefix.startswith(text)]
    if not rows:
        raise NotFound(f"没有以 {text} 开头的令牌")
    if len(rows) > 1:
        raise ServiceError(f"前缀 {text} 对应 {len(rows)} 个令牌（ID {'、'.join(str(r.id) for r in rows)}），请用 ID")
    return rows[0]


def revoke_token(reference: str, now: datetime | None = None) -> ApiToken:
    token = _find_token(reference)
    if token.revoked:
        raise Conflict(f"令牌 {token.id} 已于此前撤销")
    with unit_of_work():
        token.revoked = True
        token.revoked_at = now or clock.utcnow()
        record_event(
            db.session,
            "api_token",
            token.id,
            f"撤销 {token.user.username} 的 API 令牌 {token.token_prefix or token.id}",
        )
    return token
