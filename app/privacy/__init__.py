"""Privacy (issue 9): consent texts, a young person's data export and erasure, retention, record of processing."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, cli_group=None)

from app.privacy import cli, routes  # noqa: E402,F401
from app.privacy.services import iso_it  # noqa: E402
from app.privacy.texts import CURRENT_VERSION  # noqa: E402

bp.add_app_template_filter(iso_it, "iso_it")
bp.add_app_template_global(CURRENT_VERSION, "privacy_notice_version")


@bp.app_template_global("viewer_manages_privacy")
def viewer_manages_privacy() -> bool:
    """True for the data controller (links to export and erasure on a person's page)."""
    from flask_login import current_user

    from app.policy import can_manage_privacy

    return can_manage_privacy(current_user)
