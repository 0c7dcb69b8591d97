"""Young people's records (BRIEF: protected records only for their tutor and coordinator)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.models import User
from app.policy.core import ADMIN, COORD, OPER, TUTOR, has_permission

# --- Young people --------------------------------------------------------------
# BRIEF: admin all; coordinator own organisation's (registered by it, or with an
# appointment with one of its tutors); operator own desks' (registered at, or with an
# appointment at, one of their desks, or registered by them); tutor own (name and code only). A protected
# record is seen only by its tutor of record and that tutor's coordinator.

def _own_desk_ids(user) -> sa.Select:
    from app.models import desk_operators

    return sa.select(desk_operators.c.desk_id).where(desk_operators.c.user_id == user.id)


def _org_tutor_ids(organisation_id: int) -> sa.Select:
    return sa.select(User.id).where(User.organisation_id == organisation_id, User.role == TUTOR)


def scoped_young_people(query: sa.Select, user) -> sa.Select:
    """Filter a YoungPerson query to the records the user may see (protected ones included only for their tutor/coordinator)."""
    from app.models import Appointment, YoungPerson

    def met(condition) -> sa.ColumnElement:
        return YoungPerson.id.in_(sa.select(Appointment.young_person_id).where(condition))

    if user.role == ADMIN:
        return query.where(YoungPerson.protected.is_(False))
    if user.role == COORD:
        org_tutors = _org_tutor_ids(user.organisation_id)
        return query.where(
            sa.or_(YoungPerson.registered_org_id == user.organisation_id,
                   YoungPerson.tutor_id.in_(org_tutors), met(Appointment.tutor_id.in_(org_tutors))),
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors)),
        )
    if user.role == OPER:
        desks = _own_desk_ids(user)
        return query.where(
            sa.or_(YoungPerson.registered_desk_id.in_(desks), met(Appointment.desk_id.in_(desks)),
                   YoungPerson.created_by_id == user.id),
            YoungPerson.protected.is_(False),
        )
    if user.role == TUTOR:
        return query.where(
            sa.or_(YoungPerson.tutor_id == user.id, met(Appointment.tutor_id == user.id)),
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id == user.id),
        )
    return query.where(sa.false())


def can_view_young_person(user, person) -> bool:
    """True when the record is in the user's scope (one query)."""
    from app.models import YoungPerson

    found = db.session.scalar(
        scoped_young_people(sa.select(YoungPerson.id), user).where(YoungPerson.id == person.id)
    )
    return found is not None


def can_view_person_details(user, person) -> bool:
    """Contacts, consent and birth date: everyone in scope except tutors (name and code only)."""
    return user.role in (ADMIN, COORD, OPER) and can_view_young_person(user, person)


def can_register_young_people(user) -> bool:
    """Operators, coordinators and the Ufficio di Piano register young people."""
    return has_permission(user, "people.register")


def get_young_person_or_404(person_id: int, user):
    """Load a young person in the user's scope; 404 otherwise (no existence leak)."""
    from app.models import YoungPerson

    person = db.session.scalar(scoped_young_people(sa.select(YoungPerson), user).where(YoungPerson.id == person_id))
    if person is None:
        abort(404)
    return person


