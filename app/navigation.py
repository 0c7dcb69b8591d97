"""Main navigation per role: an item shows only when its endpoint's permission is held.

The menu is part of the full-page layout only, so it is built lazily: an htmx fragment never pays for it, a
page builds it once per request. Which items a role may open depends on static declarations only (the
endpoint's `@requires` and the role's permissions), so that list is computed once per app and role; the
current item, the addresses and the badges are per request.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import Flask, current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.policy import declared_access, has_permission

# (endpoint, label). Later areas append their entries in order.
NAV_ITEMS: list[tuple[str, object]] = [
    ("main.dashboard", _l("Cruscotto")),
    ("desks.index", _l("Sportelli e orari")),
    ("bookings.agenda_view", _l("Agenda")),
    ("bookings.index", _l("Appuntamenti")),
    ("bookings.occupancy", _l("Occupazione")),
    ("people.index", _l("Giovani")),
    ("helpdesk.index", _l("Richieste")),
    ("notes.index", _l("Note")),
    ("reports.dashboard", _l("Monitoraggio")),
    ("admin.users", _l("Utenti")),
    ("admin.organisations", _l("Partner")),
    ("audit.index", _l("Registro attività")),
    ("privacy.index", _l("Privacy e dati")),
]

# endpoint -> (count(user), what the number means): shown beside the menu item (new tickets assigned to you).
BADGES: dict[str, tuple[Callable[[object], int], object]] = {}


def register_badge(endpoint: str, count: Callable[[object], int], label) -> None:
    """Show `count(user)` beside the item of `endpoint` (`label` read by screen readers after the number);
    asked only when a full page shows the menu."""
    BADGES[endpoint] = (count, label)


def _items_for_role(role: str) -> tuple[tuple[str, object], ...]:
    """The (endpoint, label) pairs the role may open in this app, computed once per app and role."""
    per_role = current_app.extensions.setdefault("hub_navigation", {})
    items = per_role.get(role)
    if items is None:
        probe = _RoleOnly(role)
        items = tuple((endpoint, label) for endpoint, label in NAV_ITEMS
                      if endpoint in current_app.view_functions
                      and (access := declared_access(endpoint)) and has_permission(probe, access))
        per_role[role] = items  # the same value whichever thread stores it first
    return items


class _RoleOnly:
    """A signed-in person of a role, for has_permission (which looks at the role only)."""

    is_authenticated = True

    def __init__(self, role: str):
        self.role = role


def _badge(endpoint: str, user) -> int:
    count = BADGES.get(endpoint, (None, None))[0]
    if count is None:
        return 0
    try:
        return count(user)
    except SQLAlchemyError:  # the error page of a database outage must still render
        db.session.rollback()
        return 0


def nav_for(user) -> list[dict]:
    """The items this user may open, with their address, badge and the current one marked."""
    items = [{"endpoint": endpoint, "label": label, "url": url_for(endpoint), "badge": _badge(endpoint, user),
              "badge_label": BADGES.get(endpoint, (None, None))[1], "active": request.endpoint == endpoint}
             for endpoint, label in _items_for_role(user.role)]
    # Elsewhere, the item whose address is the longest prefix of this page's address is current
    # (/appuntamenti/nuovo -> "Appuntamenti"); failing that, the closest endpoint of the same area.
    if not any(item["active"] for item in items) and request.endpoint:
        def prefix_length(item) -> int:
            path = item["url"].rstrip("/")
            return len(path) if path and request.path.startswith(path + "/") else 0

        best = max(items, key=prefix_length, default=None)
        if best is not None and prefix_length(best):
            best["active"] = True
        elif request.blueprint:
            same_area = [i for i in items if i["endpoint"].split(".")[0] == request.blueprint
                         and i["endpoint"] != "main.dashboard"]
            if same_area:
                closest = max(same_area, key=lambda i: len(os.path.commonprefix([i["endpoint"], request.endpoint])))
                closest["active"] = True
    return items


class MainNav:
    """`main_nav` in templates: the signed-in person's menu, built on first use and kept for the request."""

    __slots__ = ()

    def _items(self) -> list[dict]:
        items = g.get("_main_nav")
        if items is None:
            items = nav_for(current_user) if current_user.is_authenticated else []
            g._main_nav = items
        return items

    def __iter__(self):
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __bool__(self) -> bool:
        return bool(self._items())

    def __getitem__(self, index):
        return self._items()[index]


_MAIN_NAV = MainNav()


def init_app(app: Flask) -> None:
    """Expose `main_nav` to templates (lazy: fragments never build it)."""

    @app.context_processor
    def inject_nav():
        return {"main_nav": _MAIN_NAV}
