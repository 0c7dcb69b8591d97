"""Desks, opening hours, availability, calendars and feeds."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.policy.core import ADMIN, COORD, MUNI, OPER, TUTOR, has_permission

# --- Desks -------------------------------------------------------------------

def scoped_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks the user may see (a town's contact: only that town's)."""
    from app.models import Desk

    if user.role == MUNI:
        return query.where(Desk.municipality_id == user.organisation_id)
    return query


def editable_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks whose hours and closures the user may edit."""
    from app.models import Desk, desk_operators

    if user.role == ADMIN:
        return query
    if user.role == OPER:
        own = sa.select(desk_operators.c.desk_id).where(desk_operators.c.user_id == user.id)
        return query.where(Desk.id.in_(own))
    return query.where(sa.false())


def can_edit_hours(user, desk) -> bool:
    """Admin edits every desk's hours; an operator only the desks assigned to them."""
    if user.role == ADMIN:
        return True
    if user.role == OPER:
        return any(op.id == user.id for op in desk.operators)
    return False


def can_manage_desks(user) -> bool:
    """Only the Ufficio di Piano creates desks and assigns their staff."""
    return user.role == ADMIN


def can_close_network(user) -> bool:
    """Town-wide and network-wide closures are for the Ufficio di Piano."""
    return user.role == ADMIN


def can_edit_availability(user, tutor, desk) -> bool:
    """A tutor's availability at a desk: admin, the tutor's coordinator, or an operator of that desk."""
    if tutor.role != TUTOR:
        return False
    if user.role == ADMIN:
        return True
    if user.role == COORD:
        return tutor.organisation_id == user.organisation_id
    if user.role == OPER and desk is not None:
        return any(op.id == user.id for op in desk.operators)
    return False


def can_edit_absences(user, tutor) -> bool:
    """A tutor's absences: admin, the tutor's coordinator, or an operator of a desk where they work."""
    from app.models import desk_operators, desk_tutors

    if tutor.role != TUTOR:
        return False
    if user.role in (ADMIN, COORD):
        return can_edit_availability(user, tutor, None)
    if user.role == OPER:
        shared = (
            sa.select(sa.literal(1))
            .select_from(desk_tutors.join(desk_operators, desk_operators.c.desk_id == desk_tutors.c.desk_id))
            .where(desk_tutors.c.user_id == tutor.id, desk_operators.c.user_id == user.id)
        )
        return db.session.scalar(shared) is not None
    return False


def get_desk_or_404(desk_id: int, user, action: str = "view"):
    """Load a desk the user may see (404 otherwise); 403 when seen but `action` is not allowed."""
    from app.models import Desk

    desk = db.session.scalar(scoped_desks(sa.select(Desk), user).where(Desk.id == desk_id))
    if desk is None:
        abort(404)
    allowed = {
        "view": lambda: True,
        "edit_hours": lambda: can_edit_hours(user, desk),
        "manage": lambda: can_manage_desks(user),
    }[action]()
    if not allowed:
        abort(403)
    return desk


# --- Desk calendars and feeds --------------------------------------------------

def can_see_closure_reasons(user) -> bool:
    """Closure reasons are for signed-in staff; the public timetable shows only dates."""
    return bool(getattr(user, "is_authenticated", False))


def can_see_feed_links(user) -> bool:
    """Anyone who may see a desk's calendar may subscribe to its feed (the desk is scoped already)."""
    return has_permission(user, "desks.view")


def can_manage_feeds(user) -> bool:
    """Issuing, renewing and revoking feed tokens is for the Ufficio di Piano."""
    return has_permission(user, "feeds.manage")


