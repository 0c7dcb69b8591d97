"""Bookings, agendas, occupancy, waiting list and recall tasks."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.models import User
from app.policy.core import ADMIN, COORD, OPER, TUTOR, has_permission
from app.policy.desks import scoped_desks
from app.policy.people import _org_tutor_ids, _own_desk_ids, scoped_young_people

# --- Bookings --------------------------------------------------------------------
# BRIEF: book / move / cancel — admin all, coordinator own organisation's tutors,
# operator own desks; a tutor sees their own appointments.

def scoped_appointments(query: sa.Select, user) -> sa.Select:
    """Filter an Appointment query to those the user may see."""
    from app.models import Appointment

    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(Appointment.tutor_id.in_(_org_tutor_ids(user.organisation_id)))
    if user.role == OPER:
        return query.where(Appointment.desk_id.in_(_own_desk_ids(user)))
    if user.role == TUTOR:
        return query.where(Appointment.tutor_id == user.id)
    return query.where(sa.false())


def bookable_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks where the user may book (coordinators: any, for their tutors)."""
    from app.models import Desk

    if user.role in (ADMIN, COORD):
        return query
    if user.role == OPER:
        return query.where(Desk.id.in_(_own_desk_ids(user)))
    return query.where(sa.false())


def can_book(user, desk, tutor) -> bool:
    """May the user book (or move, cancel) an appointment with this tutor at this desk?"""
    if not has_permission(user, "bookings.manage"):
        return False
    if user.role == ADMIN:
        return True
    if user.role == COORD:
        return tutor is not None and tutor.organisation_id == user.organisation_id
    if user.role == OPER:
        return desk is not None and any(op.id == user.id for op in desk.operators)
    return False


def can_manage_appointment(user, appointment) -> bool:
    """Confirm, cancel, reschedule or record attendance of this appointment."""
    return can_book(user, appointment.desk, appointment.tutor)


def can_override_hours(user) -> bool:
    """Only the Ufficio di Piano may book outside opening hours or availability (with a reason)."""
    return user.role == ADMIN


def get_appointment_or_404(appointment_id: int, user, action: str = "view"):
    """Load an appointment the user may see (404 otherwise); 403 when `action` is "manage" and not allowed."""
    from app.models import Appointment

    appointment = db.session.scalar(
        scoped_appointments(sa.select(Appointment), user).where(Appointment.id == appointment_id)
    )
    if appointment is None:
        abort(404)
    if action == "manage" and not can_manage_appointment(user, appointment):
        abort(403)
    return appointment


# --- Bookings: calendars, waiting list -------------------------------------------------
# The agenda lists scoped_appointments (operator: own desks; tutor: own; coordinator: own
# organisation's tutors; admin: all). Occupancy (municipal contacts, observers) shows counts
# per desk and slot only — never a name or a code. Waiting entries and recall tasks: the
# desks where the user books, and only young people in their scope.

def agenda_is_personal(user) -> bool:
    """A tutor's agenda is "La mia agenda": their own appointments, today and the week ahead."""
    return user.role == TUTOR


def agenda_desks(query: sa.Select, user) -> sa.Select:
    """Desks offered as a filter of the agenda (tutors: where they have appointments; the day sheet is for desk staff)."""
    from app.models import Appointment, Desk

    if user.role == TUTOR:
        return query.where(Desk.id.in_(sa.select(Appointment.desk_id).where(Appointment.tutor_id == user.id)))
    return bookable_desks(query, user)


def agenda_tutors(query: sa.Select, user) -> sa.Select:
    """Tutors offered as a filter of the agenda."""
    query = query.where(User.role == TUTOR)
    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(User.organisation_id == user.organisation_id)
    if user.role == OPER:
        from app.models import desk_tutors

        return query.where(User.id.in_(sa.select(desk_tutors.c.user_id).where(
            desk_tutors.c.desk_id.in_(_own_desk_ids(user)))))
    return query.where(User.id == user.id)


def occupancy_desks(query: sa.Select, user) -> sa.Select:
    """Desks whose occupancy (no names) the user may see: a town's contact only that town's."""
    return scoped_desks(query, user)


def can_have_tutor_feed(user) -> bool:
    """Only tutors get a private feed of their own appointments."""
    return user.role == TUTOR


def scoped_waiting(query: sa.Select, user) -> sa.Select:
    """Filter a WaitingEntry query to bookable desks and young people in scope."""
    from app.models import Desk, WaitingEntry, YoungPerson

    desks = bookable_desks(sa.select(Desk.id), user)
    people = scoped_young_people(sa.select(YoungPerson.id), user)
    return query.where(WaitingEntry.desk_id.in_(desks), WaitingEntry.young_person_id.in_(people))


def scoped_recall_tasks(query: sa.Select, user) -> sa.Select:
    """Filter a RecallTask query: the operators of the desk (admin all), young people in scope."""
    from app.models import Desk, RecallTask, YoungPerson

    desks = bookable_desks(sa.select(Desk.id), user)
    people = scoped_young_people(sa.select(YoungPerson.id), user)
    return query.where(RecallTask.desk_id.in_(desks), RecallTask.young_person_id.in_(people))


