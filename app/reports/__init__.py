"""Monitoring and reports (issue 8): indicators per role, privacy-safe aggregates, charts, CSV, quarterly PDF."""

from flask import Blueprint

bp = Blueprint("reports", __name__, cli_group=None)

from app.reports import cli, quarterly_routes, routes  # noqa: E402,F401
