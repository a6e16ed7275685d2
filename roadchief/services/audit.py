"""Audit log: every insert, update and delete on an audited table is recorded
with who, when, from where, and before → after values (issue: append-only log).

It hooks the SQLAlchemy session, so no use case can forget it. The actor is
set per request (web) or per command (CLI) through a context variable.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from roadchief.domain.clock import to_utc
from roadchief.models.audit import AuditEntry
from roadchief.models.base import utcnow


@dataclass(frozen=True)
class Actor:
    name: str
    user_id: int | None = None
    ip: str | None = None


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("roadchief_actor", default=None)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is None:
        try:
            who = getpass.getuser()
        except Exception:  # no login name in some containers
            who = "unknown"
        actor = Actor(name=f"cli:{who}")
    return actor


def set_actor(actor: Actor | None):
    return _actor.set(actor)


@contextlib.contextmanager
def acting_as(actor: Actor):
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def _plain(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return to_utc(value).isoformat()  # moments in the log are UTC with their offset
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _columns(obj) -> list[str]:
    excluded = set(getattr(obj, "__audit_exclude__", ()))
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in excluded]


def _snapshot(obj) -> dict:
    return {key: _plain(getattr(obj, key)) for key in _columns(obj)}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if history.has_changes():
            before[key] = _plain(history.deleted[0]) if history.deleted else None
            after[key] = _plain(history.added[0]) if history.added else None
    return before, after


def _dump(data: dict | None) -> str | None:
    return None if data is None else json.dumps(data, ensure_ascii=False, sort_keys=True)


def _row(action, obj, before, after, note=None) -> dict:
    actor = current_actor()
    # the identity key of a new row is only set after after_flush; its primary key already is
    identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return {
        "at": utcnow(),
        "user_id": actor.user_id,
        "actor": actor.name,
        "ip": actor.ip,
        "action": action,
        "entity": obj.__tablename__,
        "entity_id": str(identity[0]) if identity and identity[0] is not None else None,
        "before": _dump(before),
        "after": _dump(after),
        "note": note,
    }


def _is_audited(obj) -> bool:
    return getattr(type(obj), "__audited__", False)


def _before_flush(session: Session, flush_context, instances):
    # Updates and deletes must be read before the flush resets history.
    pending = session.info.setdefault("audit_pending", [])
    for obj in session.dirty:
        if _is_audited(obj) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                pending.append(("update", obj, before, after))
    for obj in session.deleted:
        if _is_audited(obj):
            pending.append(("delete", obj, _snapshot(obj), None))
    session.info["audit_new"] = [obj for obj in session.new if _is_audited(obj)]


def _after_flush(session: Session, flush_context):
    rows = [_row("create", obj, None, _snapshot(obj)) for obj in session.info.pop("audit_new", [])]
    rows += [_row(action, obj, before, after) for action, obj, before, after in session.info.pop("audit_pending", [])]
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)


def record_event(
    session: Session, entity: str, entity_id, note: str, before: dict | None = None, after: dict | None = None
):
    """Log something that is not a row change (a quarter approval, a login reset …)."""
    actor = current_actor()
    session.execute(
        insert(AuditEntry.__table__),
        [
            {
                "at": utcnow(),
                "user_id": actor.user_id,
                "actor": actor.name,
                "ip": actor.ip,
                "action": "event",
                "entity": entity,
                "entity_id": None if entity_id is None else str(entity_id),
                "before": _dump(before),
                "after": _dump(after),
                "note": note,
            }
        ],
    )


def install(session_class) -> None:
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
