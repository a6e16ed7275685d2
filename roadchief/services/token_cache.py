"""Bearer tokens remembered per worker, for the few endpoints that opt in (issue #15 point 4:
an inspection POST costs ≤ 8 SQL statements, and the token lookup was one of them).

Every full token lookup (services.accounts.user_for_token, any endpoint) keeps a *snapshot*
of what the request's identity is made of — the token's id and expiry, the user's id, name,
display name, role, town and chief, the town's code and the chief's position — keyed by the
token's SHA-256 digest (the token itself is never kept). An endpoint that opts in
(web.auth.trusts_cached_token) may start from that snapshot without SQL; the request then
holds the token as **unverified** until its own first query proves it:

* ``verification_column()`` is a scalar subquery that the endpoint's first read carries (the
  inspection POST's segments query). It yields the token id only while the token, in the
  database and in that same statement, is not revoked, not expired, has the same digest and
  user, the user is active and every snapshotted value is still what the snapshot says;
  otherwise NULL. So a revocation, an expiry, a disable, a role, town or chief change — done
  any way at all, audited or not — is seen by the very next request;
* ``confirm(value)`` ends the unverified state, or drops the cache entry and raises
  ``StaleIdentity`` (the web layer then rolls back and redoes the full lookup: an invalid
  token is answered exactly as before, a changed user is served as the fresh one);
* the safety net: while the request's token is unverified, the session refuses to flush or
  commit (``UnverifiedIdentity``), so no code path, present or future, can write on a cached
  identity; and any answer produced before verification is checked by a full lookup before
  it leaves (web.auth).

Each app (so each gunicorn worker) keeps its own bounded cache; the unverified state lives in
a context variable of the request (reset at its start and end, like the audit actor).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import event, or_, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from roadchief.domain import clock
from roadchief.models import ApiToken, Chief, Town, User

CACHE_SIZE = 1024  # tokens per worker; a few hundred bytes each


class StaleIdentity(Exception):
    """The cached identity no longer matches the database (the request must be re-authenticated)."""


class UnverifiedIdentity(RuntimeError):
    """A write was attempted while the request's bearer token was still unverified."""


@dataclass(frozen=True)
class Snapshot:
    """What a request's identity is made of; every field is re-checked by ``verification_column``."""

    token_id: int
    expires_at: datetime | None
    user_id: int
    username: str
    display_name: str | None
    role: str
    town_id: int | None
    town_code: str | None
    chief_id: int | None
    chief_position: str | None

    @classmethod
    def of(cls, token: ApiToken) -> Snapshot:
        user = token.user
        return cls(
            token.id,
            token.expires_at,
            user.id,
            user.username,
            user.display_name,
            user.role,
            user.town_id,
            user.town.code if user.town is not None else None,
            user.chief_id,
            user.chief.position if user.chief is not None else None,
        )

    def user_in(self, session) -> User:
        """The request's user as an object of its session, built from the snapshot without SQL
        (``merge(load=False)``); anything not in the snapshot loads from the database on use."""
        town = _detached(Town, id=self.town_id, code=self.town_code) if self.town_id is not None else None
        chief = _detached(Chief, id=self.chief_id, position=self.chief_position) if self.chief_id is not None else None
        user = _detached(
            User,
            id=self.user_id,
            username=self.username,
            display_name=self.display_name,
            role=self.role,
            town_id=self.town_id,
            chief_id=self.chief_id,
            is_active_flag=True,
            town=town,
            chief=chief,
        )
        return session.merge(user, load=False)


def _detached(cls, **values):
    obj = cls()
    for key, value in values.items():
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)  # what was not set is expired: it loads if used
    return obj


@dataclass(frozen=True)
class Pending:
    digest: str
    snapshot: Snapshot


_pending: ContextVar[Pending | None] = ContextVar("roadchief_unverified_token", default=None)


class TokenCache:
    """A small LRU of digest → Snapshot, shared by a worker's threads."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Snapshot | None:
        with self._lock:
            found = self._items.get(digest)
            if found is not None:
                self._items.move_to_end(digest)
            return found

    def put(self, digest: str, snapshot: Snapshot) -> None:
        with self._lock:
            self._items[digest] = snapshot
            self._items.move_to_end(digest)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._items.pop(digest, None)

    def __len__(self) -> int:
        return len(self._items)


def cache() -> TokenCache:
    return current_app.extensions.setdefault("roadchief.token_cache", TokenCache())


def remember(digest: str, token: ApiToken) -> None:
    """After a full lookup found a working token (services.accounts)."""
    if has_app_context():
        cache().put(digest, Snapshot.of(token))


def forget(digest: str) -> None:
    if has_app_context():
        cache().forget(digest)


def cached_user(digest: str, accept=lambda snapshot: True, now: datetime | None = None) -> User | None:
    """The user of a remembered token, *unverified* (see the module's doc), or None: not
    remembered, expired by its own snapshot, or not what ``accept`` (the endpoint's access
    rule) lets in — those go through the full lookup, so any refusal is the full lookup's."""
    from roadchief.extensions import db

    snapshot = cache().get(digest)
    if snapshot is None or not accept(snapshot):
        return None
    if snapshot.expires_at is not None and snapshot.expires_at <= (now or clock.utcnow()):
        cache().forget(digest)
        return None
    user = snapshot.user_in(db.session)
    _pending.set(Pending(digest, snapshot))
    return user


def pending() -> Pending | None:
    """The request's unverified token, if any."""
    return _pending.get()


def clear() -> None:
    """No unverified token any more (verified, re-authenticated, or the request is over)."""
    _pending.set(None)


def _same(column, value):
    return column.is_(None) if value is None else column == value


def verification_column(now: datetime | None = None):
    """The request's unverified token checked in the database: a labelled scalar subquery
    giving the token id when it still works for exactly the snapshotted identity, NULL
    otherwise; None when the request's token is not unverified (then add nothing)."""
    waiting = _pending.get()
    if waiting is None:
        return None
    s = waiting.snapshot
    return (
        select(ApiToken.id)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Town, Town.id == User.town_id)
        .outerjoin(Chief, Chief.id == User.chief_id)
        .where(
            ApiToken.id == s.token_id,
            ApiToken.token_digest == waiting.digest,
            ApiToken.revoked.is_(False),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > (now or clock.utcnow())),
            User.id == s.user_id,
            User.is_active_flag.is_(True),
            User.role == s.role,
            User.username == s.username,
            _same(User.display_name, s.display_name),
            _same(User.town_id, s.town_id),
            _same(User.chief_id, s.chief_id),
            _same(Town.code, s.town_code),
            _same(Chief.position, s.chief_position),
        )
        .scalar_subquery()
        .label("token_verified")
    )


def confirm(value) -> None:
    """The verification column's value: the token is verified, or StaleIdentity (the cache
    entry dropped first)."""
    waiting = _pending.get()
    if waiting is None:
        return
    if value is not None and value == waiting.snapshot.token_id:
        _pending.set(None)
        return
    forget(waiting.digest)
    raise StaleIdentity


def _refuse_unverified(session, *args) -> None:
    if _pending.get() is not None:
        raise UnverifiedIdentity("写入前须先在数据库中核实本次请求的令牌（services.token_cache）")


def install(session_class) -> None:
    """The safety net: no flush and no commit while the request's token is unverified."""
    if not event.contains(session_class, "before_commit", _refuse_unverified):
        event.listen(session_class, "before_flush", _refuse_unverified)
        event.listen(session_class, "before_commit", _refuse_unverified)


__all__ = [
    "Snapshot",
    "StaleIdentity",
    "TokenCache",
    "UnverifiedIdentity",
    "cached_user",
    "clear",
    "confirm",
    "forget",
    "install",
    "pending",
    "remember",
    "verification_column",
]
