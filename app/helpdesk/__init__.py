"""Helpdesk: requests from young people, families and schools become tracked tickets, then bookings."""

from flask import Blueprint

# cli_group=None: `flask helpdesk-digest` sits beside the other top-level commands.
bp = Blueprint("helpdesk", __name__, cli_group=None)

from app.helpdesk import routes  # noqa: E402,F401
