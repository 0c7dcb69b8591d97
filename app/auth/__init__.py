"""Sign-in, sign-out, password change and reset, two-factor sign-in."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes, two_factor  # noqa: E402,F401

bp.add_app_template_global(two_factor.has_second_factor, "has_second_factor")


def _may_reset_factors() -> bool:
    from flask_login import current_user

    from app.policy import has_permission

    return has_permission(current_user, "users.reset_factor")


bp.add_app_template_global(_may_reset_factors, "may_reset_factors")
