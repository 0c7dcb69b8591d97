"""Admin routes: thin views over services.py, scoped by the policy module."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from app.admin import bp
from app.extensions import db
from app.models import Organisation, User
from app.policy import requires, scoped_organisations, scoped_users


@bp.get("/utenti")
@requires("users.view")
def users():
    """Accounts the viewer may manage."""
    query = scoped_users(sa.select(User).join(User.organisation), current_user).order_by(User.full_name)
    return render_template("admin/users.html", users=db.session.scalars(query).all())


@bp.get("/partner")
@requires("partners.view")
def organisations():
    """Partner organisations of the network."""
    query = scoped_organisations(sa.select(Organisation), current_user).order_by(Organisation.name)
    return render_template("admin/organisations.html", organisations=db.session.scalars(query).all())
