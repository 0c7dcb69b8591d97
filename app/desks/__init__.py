"""Desks (sportelli): opening hours, closures, tutor availability, calendars and feeds."""

from flask import Blueprint

bp = Blueprint("desks", __name__)

from app.desks import calendar_routes, feed_routes, public_routes, routes  # noqa: E402,F401
