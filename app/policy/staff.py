"""Users and organisations: who may see and manage which accounts and partners."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.models import Organisation, User
from app.policy.core import ADMIN, ASSIGNABLE_ROLES, COORD, has_permission

# --- Users -----------------------------------------------------------------

def scoped_users(query: sa.Select, user) -> sa.Select:
    """Filter a User query to the accounts the user may see."""
    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(
            User.organisation_id == user.organisation_id, User.role.in_(ASSIGNABLE_ROLES[COORD])
        )
    return query.where(sa.false())


def can_manage_user(actor, target: User) -> bool:
    """Admin manages everyone; a coordinator the non-admin staff of their organisation."""
    if actor.role == ADMIN:
        return True
    if actor.role == COORD:
        return target.organisation_id == actor.organisation_id and target.role in ASSIGNABLE_ROLES[COORD]
    return False


def assignable_roles(actor) -> tuple[str, ...]:
    """Roles the actor may give to an account."""
    return ASSIGNABLE_ROLES.get(actor.role, ())


def assignable_organisations(actor) -> list[Organisation]:
    """Organisations the actor may place an account in."""
    query = sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    if actor.role != ADMIN:
        query = query.where(Organisation.id == actor.organisation_id)
    return list(db.session.scalars(query))


def get_user_or_404(user_id: int, actor) -> User:
    """Load an account the actor may manage; 404 when out of scope (no existence leak)."""
    target = db.session.scalar(scoped_users(sa.select(User), actor).where(User.id == user_id))
    if target is None or not can_manage_user(actor, target):
        abort(404)
    return target


# --- Organisations --------------------------------------------------------

def scoped_organisations(query: sa.Select, user) -> sa.Select:
    """Filter an Organisation query to those the user may see in admin screens."""
    if user.role == ADMIN:
        return query
    return query.where(Organisation.id == user.organisation_id)


def can_manage_organisation(actor, organisation: Organisation | None = None) -> bool:
    """Only the Ufficio di Piano (admin) creates and edits partners."""
    return has_permission(actor, "partners.manage")


def get_organisation_or_404(organisation_id: int, actor) -> Organisation:
    """Load a partner the actor may manage; 404 when out of scope."""
    organisation = db.session.scalar(
        scoped_organisations(sa.select(Organisation), actor).where(Organisation.id == organisation_id)
    )
    if organisation is None or not can_manage_organisation(actor, organisation):
        abort(404)
    return organisation


