"""Main navigation per role: an item shows only when its endpoint's permission is held."""

from __future__ import annotations

import os

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

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


def nav_for(user) -> list[dict]:
    """The items this user may open, with the current one marked."""
    items = []
    for endpoint, label in NAV_ITEMS:
        if endpoint not in current_app.view_functions:
            continue
        access = declared_access(endpoint)
        if access and has_permission(user, access):
            items.append({"endpoint": endpoint, "label": label, "active": request.endpoint == endpoint})
    # Elsewhere, the item whose address is the longest prefix of this page's address is current
    # (/appuntamenti/nuovo -> "Appuntamenti"); failing that, the closest endpoint of the same area.
    if not any(item["active"] for item in items) and request.endpoint:
        def prefix_length(item) -> int:
            path = url_for(item["endpoint"]).rstrip("/")
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


def init_app(app: Flask) -> None:
    """Expose `main_nav` to templates."""

    @app.context_processor
    def inject_nav():
        if current_user.is_authenticated:
            return {"main_nav": nav_for(current_user)}
        return {"main_nav": []}
