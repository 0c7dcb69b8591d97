"""Access policy core: the one place that says which role may do what, on which object.

Every endpoint declares its access with `@public` or `@requires(permission)`;
`enforce_declared_access` (a before_request hook) refuses any endpoint that
declares nothing, so a forgotten declaration fails closed. Object-level rules
live here too, as `can_*` questions and `scoped_*` query filters, so views never
test roles themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from app.htmx import is_htmx as _is_htmx
from app.models import Role

ADMIN, COORD, OPER, TUTOR, MUNI, OBS = (
    Role.ADMIN,
    Role.COORDINATOR,
    Role.OPERATOR,
    Role.TUTOR,
    Role.MUNICIPAL_CONTACT,
    Role.OBSERVER,
)
EVERYONE = frozenset(Role.ALL)

# Permission -> roles that hold it. The object-level scope of each role is
# decided by the can_*/scoped_* functions below (BRIEF, "What each may do").
PERMISSIONS: dict[str, frozenset[str]] = {
    # Own account: every signed-in person.
    "account.self": EVERYONE,
    "dashboard.view": EVERYONE,
    # Partners, users, desks.
    "partners.view": frozenset({ADMIN, COORD}),
    "partners.manage": frozenset({ADMIN}),
    "users.view": frozenset({ADMIN, COORD}),
    "users.manage": frozenset({ADMIN, COORD}),
    "audit.read": frozenset({ADMIN}),
    # --- Desks and opening hours (issue 4) ---
    "desks.view": EVERYONE,
    "desks.manage": frozenset({ADMIN}),
    "hours.edit": frozenset({ADMIN, OPER}),
    "availability.edit": frozenset({ADMIN, COORD, OPER}),
    "feeds.manage": frozenset({ADMIN}),
    # --- Young people and bookings (issue 5) ---
    "people.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    "people.register": frozenset({ADMIN, COORD, OPER}),
    "bookings.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    "bookings.manage": frozenset({ADMIN, COORD, OPER}),
    # --- Bookings: calendars, waiting list (issue 5) ---
    "agenda.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    # Occupancy without names is for those who may not see names (staff have the agenda).
    "occupancy.view": frozenset({MUNI, OBS}),
    "waiting.manage": frozenset({ADMIN, COORD, OPER}),
    # --- Session notes (issue 6): admin reads only by break-glass (see can_read_note) ---
    "notes.view": frozenset({ADMIN, COORD, TUTOR}),
    "notes.write": frozenset({TUTOR}),
    "notes.addendum": frozenset({COORD, TUTOR}),
    # --- Helpdesk (issue 7): the queue is scoped by scoped_tickets ---
    "helpdesk.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    "helpdesk.intake": frozenset({ADMIN, COORD, OPER}),
    "helpdesk.assign": frozenset({ADMIN, COORD, OPER}),
    # --- Monitoring (issue 8): every role has a dashboard, scoped by app/policy/reports.py;
    # municipal contacts and observers see aggregates only, with small counts suppressed.
    "reports.view": EVERYONE,
    "reports.export": EVERYONE,
    "reports.quarterly.edit": frozenset({ADMIN}),
    "reports.quarterly.download": frozenset({ADMIN, OBS}),
    # --- Security and privacy (issue 9) ---
    "users.reset_factor": frozenset({ADMIN}),
    "privacy.manage": frozenset({ADMIN}),
}

PUBLIC = "public"

# Roles that must sign in with a second factor (issue 9); the others may add one.
SECOND_FACTOR_ROLES = frozenset({ADMIN, COORD, TUTOR})

# Which roles each role may hand out when managing users.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    ADMIN: Role.ALL,
    COORD: (COORD, OPER, TUTOR),
}


def has_permission(user, permission: str) -> bool:
    """True when the user's role holds the permission (no object check)."""
    if permission == PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        return user.role in PERMISSIONS[permission]
    except KeyError:
        raise LookupError(f"unknown permission {permission!r}") from None


def public(view: Callable) -> Callable:
    """Declare a view open to everyone, signed in or not."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def requires(permission: str) -> Callable[[Callable], Callable]:
    """Declare the permission a view needs; checked by enforce_declared_access."""
    if permission not in PERMISSIONS:
        raise LookupError(f"unknown permission {permission!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        wrapped.access = permission  # type: ignore[attr-defined]
        return wrapped

    return decorate


def before_second_factor(view: Callable) -> Callable:
    """Mark a signed-in view as reachable before a required second factor is enrolled."""
    view.before_second_factor = True  # type: ignore[attr-defined]
    return view


def declared_access(endpoint: str | None) -> str | None:
    """The permission an endpoint declares, or None when it declares nothing."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce_declared_access():
    """before_request: the same check for full pages and htmx fragments."""
    if request.endpoint is None:  # 404/405 are answered by the router
        return None
    access = declared_access(request.endpoint)
    if access is None:
        current_app.logger.error("endpoint %s declares no access policy", request.endpoint)
        abort(403)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return _send_to(url_for("auth.login", next=_safe_next_target()))
    if _must_enrol_first():
        return _send_to(url_for("auth.two_factor_setup"))
    if not has_permission(current_user, access):
        abort(403)
    return None


def _send_to(url: str):
    """Not here yet (sign-in, enrolment): htmx gets 401 + HX-Redirect, a page a redirect, other methods 401."""
    if _is_htmx():
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = url
        return response
    if request.method != "GET":
        abort(401)
    return redirect(url)


def _must_enrol_first() -> bool:
    """A role that needs a second factor, signed in without one: only enrolment and logout."""
    if current_user.role not in SECOND_FACTOR_ROLES:
        return False
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "before_second_factor", False):
        return False
    from app.auth.two_factor import must_enrol  # the auth package imports this module

    return must_enrol(current_user)


def _safe_next_target() -> str | None:
    """The path to come back to after sign-in (same-site paths only)."""
    if request.method != "GET" or _is_htmx():
        return None
    return request.full_path.rstrip("?") if request.query_string else request.path


def is_safe_next(target: str | None) -> bool:
    """Only same-site absolute paths are accepted as `next=` (no open redirects).

    Browsers drop tabs and newlines inside an address and read a backslash as a slash, so a tab
    between two slashes, or a backslash after one, would leave the site like "//evil.test": any
    control character or backslash is refused, and what is left must have no scheme and no host.
    """
    if not target or len(target) > 2048 or not target.startswith("/") or target.startswith("//"):
        return False
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


