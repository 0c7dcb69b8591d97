"""Privacy (issue 9): consent texts, a young person's data export and erasure, retention, record of processing."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, cli_group=None)

from app.privacy import routes  # noqa: E402,F401
