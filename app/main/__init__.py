"""Home dashboard, health check, language choice and the statement pages."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import routes  # noqa: E402,F401
