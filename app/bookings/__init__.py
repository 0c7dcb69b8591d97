"""Individual tutoring bookings: the slot picker, the appointment lifecycle, weekly paths."""

from flask import Blueprint

bp = Blueprint("bookings", __name__)

from app.bookings import agenda_routes, link_routes, routes, waiting_routes  # noqa: E402,F401
