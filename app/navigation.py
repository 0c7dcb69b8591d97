"""Main navigation per role: an item shows only when its endpoint's permission is held."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.policy import declared_access, has_permission

# (endpoint, label). Later areas append their entries in order.
NAV_ITEMS: list[tuple[str, object]] = [
    ("main.dashboard", _l("Cruscotto")),
    ("desks.index", _l("Sportelli e orari")),
    ("admin.users", _l("Utenti")),
    ("admin.organisations", _l("Partner")),
]


def nav_for(user) -> list[dict]:
    """The items this user may open, with the current one marked."""
    items = []
    for endpoint, label in NAV_ITEMS:
        if endpoint not in current_app.view_functions:
            continue
        access = declared_access(endpoint)
        if access and has_permission(user, access):
            active = request.endpoint == endpoint or (
                request.blueprint and endpoint.split(".")[0] == request.blueprint
                and endpoint != "main.dashboard"
            )
            items.append({"endpoint": endpoint, "label": label, "active": bool(active)})
    return items


def init_app(app: Flask) -> None:
    """Expose `main_nav` to templates."""

    @app.context_processor
    def inject_nav():
        if current_user.is_authenticated:
            return {"main_nav": nav_for(current_user)}
        return {"main_nav": []}
