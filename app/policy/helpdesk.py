"""Helpdesk tickets: queue scope, intake, assignment."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.models import User
from app.policy.core import ADMIN, COORD, OPER, TUTOR, has_permission
from app.policy.people import _own_desk_ids

# --- Helpdesk ------------------------------------------------------------------------------
# BRIEF: helpdesk queue — admin all; coordinator own organisation's (desks it runs, or assigned
# to its staff); operator own desks' (or assigned to them); tutor only what is assigned to them.

def scoped_tickets(query: sa.Select, user) -> sa.Select:
    """Filter a Ticket query to the requests the user may see."""
    from app.models import Desk, Ticket

    if user.role == ADMIN:
        return query
    if user.role == COORD:
        org_desks = sa.select(Desk.id).where(Desk.partner_id == user.organisation_id)
        org_staff = sa.select(User.id).where(User.organisation_id == user.organisation_id)
        return query.where(sa.or_(Ticket.desk_id.in_(org_desks), Ticket.assignee_id.in_(org_staff)))
    if user.role == OPER:
        return query.where(sa.or_(Ticket.desk_id.in_(_own_desk_ids(user)), Ticket.assignee_id == user.id))
    if user.role == TUTOR:
        return query.where(Ticket.assignee_id == user.id)
    return query.where(sa.false())


def intake_desks(query: sa.Select, user) -> sa.Select:
    """Desks whose queue the user may file a request into (operators: their own; coordinators: their org's)."""
    from app.models import Desk

    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(Desk.partner_id == user.organisation_id)
    if user.role == OPER:
        return query.where(Desk.id.in_(_own_desk_ids(user)))
    return query.where(sa.false())


def can_work_ticket(user, ticket) -> bool:
    """Change status, priority, comment: staff who hold the queue, or the assignee (a tutor included)."""
    if ticket.assignee_id == user.id and has_permission(user, "helpdesk.view"):
        return True
    return has_permission(user, "helpdesk.assign")


def can_assign_ticket(user, ticket=None) -> bool:
    """Assigning is for those who hold the queue (admin, coordinators, operators), not tutors."""
    return has_permission(user, "helpdesk.assign")


def assignable_staff(query: sa.Select, user, desk=None) -> sa.Select:
    """People a ticket may be assigned to: operators and tutors in the assigner's reach."""
    from app.models import desk_operators, desk_tutors

    query = query.where(User.role.in_((OPER, TUTOR)), User.active.is_(True))
    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(User.organisation_id == user.organisation_id)
    if user.role == OPER:
        desks = _own_desk_ids(user)
        return query.where(sa.or_(
            User.id == user.id,
            User.id.in_(sa.select(desk_operators.c.user_id).where(desk_operators.c.desk_id.in_(desks))),
            User.id.in_(sa.select(desk_tutors.c.user_id).where(desk_tutors.c.desk_id.in_(desks)))))
    return query.where(sa.false())


def can_book_ticket(user, ticket) -> bool:
    """"Prenota" on a ticket: those who book (the booking itself checks desk and tutor again)."""
    return has_permission(user, "bookings.manage") and ticket.status != "closed"


def get_ticket_or_404(ticket_id: int, user, action: str = "view"):
    """Load a ticket in the user's scope (404 otherwise); 403 when `action` ("work", "assign", "book") is not allowed."""
    from app.models import Ticket

    ticket = db.session.scalar(scoped_tickets(sa.select(Ticket), user).where(Ticket.id == ticket_id))
    if ticket is None:
        abort(404)
    allowed = {
        "view": lambda: True,
        "work": lambda: can_work_ticket(user, ticket),
        "assign": lambda: can_assign_ticket(user, ticket),
        "book": lambda: can_book_ticket(user, ticket),
    }[action]()
    if not allowed:
        abort(403)
    return ticket
