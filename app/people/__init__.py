"""The young people's register: search, registration with a duplicate check, detail."""

from flask import Blueprint

bp = Blueprint("people", __name__)

from app.people import routes  # noqa: E402,F401
