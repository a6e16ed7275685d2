"""The version of the data a cached answer was built from.

Every change made through the application writes the audit log in the same flush
(`services/audit.py`), bulk imports included (their summary entry), so the newest audit entry's
id moves whenever a segment, a score or a 路长's scope does. Answers that also depend on the
calendar (the current quarter's grades, scopes dated today) add the Beijing date. A cached map
body keyed by this version is fresh by construction: no cache invalidation to forget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sqlalchemy import func, select

from roadchief.domain.clock import beijing_today
from roadchief.extensions import db
from roadchief.models import AuditEntry


def data_version() -> str:
    newest = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    return f"{newest}@{beijing_today().isoformat()}"


# What the road map draws depends on (geometry, attributes, places, the roster that scopes a 路长,
# the grades): a sign-in, an inspection or a payment does not change a tile (#15).
NETWORK_ENTITIES = ("segment", "road", "town", "village", "station", "chief_assignment", "quarter_score")


def network_version() -> str:
    """`data_version` narrowed to the entries that change the road network's drawing."""
    newest = db.session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.entity.in_(NETWORK_ENTITIES))) or 0
    return f"n{newest}@{beijing_today().isoformat()}"


class BodyCache:
    """A small in-process LRU of built bodies (each worker keeps its own: the key, not the
    cache, is what workers agree on)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: Hashable, build: Callable[[], object]) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: two builders of one key at worst, never a stall
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
