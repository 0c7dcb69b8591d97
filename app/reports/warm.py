"""Warming the report cache (issue 11): the default dashboard of every viewer scope, computed ahead.

`flask reports-warm` (app/reports/cli.py), run every 5 minutes like send-outbox, computes the
default view (the last twelve months, `default_filters()`) and its filter options once for each
distinct scope (cache.scope_key: admin and observer one each, each coordinator's organisation,
each town of municipal contacts, each operator, each tutor), with a representative active user
of that scope, and stores them for `2 × REPORTS_CACHE_SECONDS` so that the next run replaces them
before they expire. Readers then get the default dashboard from the cache; a custom filter is
still computed on demand (and cached for the normal TTL).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Organisation, Role, User
from app.reports import cache
from app.reports.indicators import default_filters, filter_options, report_for

log = logging.getLogger(__name__)
LOCK_KEY = "hub:reports:warm-lock"
# Scope kinds in the order they are warmed: the widest (most read, most expensive) first.
ORDER = (Role.ADMIN, Role.OBSERVER, Role.COORDINATOR, Role.MUNICIPAL_CONTACT, Role.OPERATOR, Role.TUTOR)


@dataclass(frozen=True)
class Warmed:
    scopes: int
    seconds: float
    skipped: bool = False  # another node holds the lock


def representatives() -> list[User]:
    """One active user (in an active organisation) per distinct report scope, widest scopes first."""
    users = db.session.scalars(
        sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
        .where(User.active.is_(True), Organisation.active.is_(True), User.role.in_(ORDER))
        .order_by(User.id))
    chosen: dict[str, User] = {}
    for user in users:
        chosen.setdefault(cache.scope_key(user), user)
    return sorted(chosen.values(), key=lambda u: (ORDER.index(u.role), u.id))


def warm(ttl: int | None = None) -> Warmed:
    """Compute and store the default dashboard and filter options of every scope (needs a request context).

    Idempotent: running it twice, or on two nodes, stores the same values again; with Redis a lock
    (SET NX, expiring after `ttl`) lets only one node warm at a time, the others skip.
    """
    ttl = ttl if ttl is not None else 2 * cache.seconds()
    started = time.perf_counter()
    if ttl <= 0:
        return Warmed(0, 0.0)
    client = cache._redis()  # noqa: SLF001 - the cache's own Redis client
    token = secrets.token_hex(8)
    if client is not None:
        try:
            if not client.set(LOCK_KEY, token, nx=True, ex=ttl):
                return Warmed(0, round(time.perf_counter() - started, 1), skipped=True)
        except Exception:  # noqa: BLE001 - without the lock we still warm: the result is the same
            client = None
    try:
        filters = default_filters()
        scopes = 0
        with cache.refreshing(ttl):
            for user in representatives():
                options = filter_options(user)
                report_for(user, filters, options=options)
                scopes += 1
        return Warmed(scopes, round(time.perf_counter() - started, 1))
    finally:
        if client is not None:
            try:
                if client.get(LOCK_KEY) == token.encode():
                    client.delete(LOCK_KEY)
            except Exception:  # noqa: BLE001 - the lock expires by itself
                log.warning("reports-warm: could not release the lock", exc_info=True)
