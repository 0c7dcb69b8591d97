"""A short-lived cache of computed reports (issue 11): the dashboard's numbers cost a year of data.

A report is kept `REPORTS_CACHE_SECONDS` (default 300; 0 switches the cache off, as in the tests
unless a test turns it on) under a key made of the viewer's *scope* (role, and the organisation or
the user the scope depends on) and the filters. No data version: bookings arrive every few seconds
and would start a new report each time; new data shows within the TTL and the dashboard says when
its numbers were computed ("Generato il ..."). Two viewers share an entry only when their scope is the same by construction
(two admins; the two contacts of one town), never across scopes or roles.

Stored in Redis when `REDIS_URL` is set (shared by the gunicorn workers; pickled: Redis is the
app's own trusted store), else in this process. A Redis failure only means computing the report.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app

from app.policy import reports as policy

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 300
MEMORY_ENTRIES = 256


class MemoryStore:
    """Entries in this process with their expiry, the oldest dropped beyond MEMORY_ENTRIES.

    One lock: the threads of a gthread worker (docs/deploy.md) share the store.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.entries: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            expires, value = found
            if self.clock() >= expires:
                del self.entries[key]
                return None
            return value

    def set(self, key: str, value, seconds: int) -> None:
        with self.lock:
            self.entries[key] = (self.clock() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > MEMORY_ENTRIES:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


memory = MemoryStore()
_redis_clients: dict[str, object] = {}
# Set by `refreshing()` (flask reports-warm): compute even when an entry exists, store for these seconds.
_refresh_seconds: ContextVar[int | None] = ContextVar("reports_cache_refresh", default=None)


@contextmanager
def refreshing(seconds: int) -> Iterator[None]:
    """Within the block, `cached()` recomputes every value and stores it for `seconds` (the warmer)."""
    token = _refresh_seconds.set(seconds)
    try:
        yield
    finally:
        _refresh_seconds.reset(token)


def seconds() -> int:
    """The TTL of a cached report (REPORTS_CACHE_SECONDS; 0 = off)."""
    return _seconds()


def shared() -> bool:
    """True when the cache is shared by every process (Redis), so a separate process can warm it."""
    return _redis() is not None


def _seconds() -> int:
    default = 0 if current_app.testing else DEFAULT_SECONDS
    return int(current_app.config.get("REPORTS_CACHE_SECONDS", default) or 0)


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    if url not in _redis_clients:
        import redis

        _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=0.5)
    return _redis_clients[url]


def scope_key(viewer) -> str:
    """Who the report is for, as far as its content goes: role, and whose organisation or sessions."""
    kind = policy.report_scope_kind(viewer)
    if kind in ("organisation", "town"):
        owner = f"org{viewer.organisation_id}"
    elif kind in ("own", "desks"):
        owner = f"user{viewer.id}"
    else:
        owner = "all"
    return f"{viewer.role}:{kind}:{owner}"


def cached(kind: str, viewer, parts: dict[str, str], compute: Callable[[], object]):
    """`compute()`, or the value computed for the same scope, parts and data within the TTL."""
    refresh = _refresh_seconds.get()
    seconds = refresh if refresh is not None else _seconds()
    if seconds <= 0:
        return compute()
    raw = "|".join([kind, scope_key(viewer), *(f"{k}={parts[k]}" for k in sorted(parts))])
    key = "hub:reports:" + hashlib.sha256(raw.encode()).hexdigest()
    client = _redis()
    if client is None:
        value = None if refresh is not None else memory.get(key)
        if value is None:
            value = compute()
            memory.set(key, value, seconds)
        return value
    if refresh is None:
        try:
            stored = client.get(key)
            if stored is not None:
                return pickle.loads(stored)  # noqa: S301 - written below by the app itself
        except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
            log.warning("reports cache: Redis read failed", exc_info=True)
    value = compute()
    try:
        client.setex(key, seconds, pickle.dumps(value))
    except Exception:  # noqa: BLE001
        log.warning("reports cache: Redis write failed", exc_info=True)
    return value
