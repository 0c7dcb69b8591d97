"""Fixtures of the helpdesk tests: a Segrate desk and a Rodano desk with their staff, a valid request."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.helpdesk import services
from app.models import Ticket
from tests.bookings.factories import make_desk
from tests.conftest import login

REFERENCE_RE = re.compile(r"RIC-\d{4}-\d{6}")


@pytest.fixture
def desks(app, network, make_user):
    """Segrate (Students Lab: operator, tutor) and Rodano (Ala Milano: its own operator), both open every day."""
    operator = make_user("operator", full_name="Operatrice Segrate")
    tutor = make_user("tutor", full_name="Tutor Segrate")
    rodano_operator = make_user("operator", organisation=network["Ala Milano"], full_name="Operatore Rodano")
    segrate = make_desk(network, town="Segrate", operators=[operator], tutors=[tutor], name="Sportello Segrate",
                        services=("orientamento", "cv_lavoro"))
    rodano = make_desk(network, town="Rodano", partner="Ala Milano", operators=[rodano_operator],
                       name="Sportello Rodano", services=("ascolto", "violenza_genere"))
    return SimpleNamespace(network=network, operator=operator, tutor=tutor, rodano_operator=rodano_operator,
                           segrate=segrate, rodano=rodano)


@pytest.fixture
def valid_form(network):
    """Factory: the fields of a valid public request (Segrate, orientation), with overrides."""

    def make(**overrides) -> dict:
        data = {"first_name": "Anna", "age": "16", "town": str(network["Segrate"].id), "phone": "333 111 2222",
                "email": "anna@example.test", "topic": "orientamento", "message": "Vorrei scegliere l'università.",
                "privacy_consent": "y"}
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return make


@pytest.fixture
def make_ticket(app, desks, network):
    """Factory: a ticket filed through the public-form service (Segrate unless told), returned fresh."""

    def make(**overrides) -> Ticket:
        fields = dict(first_name="Anna", age="16", town=str(network["Segrate"].id), phone="3331112222",
                      email="anna@example.test", topic="orientamento", message="Vorrei un consiglio.",
                      privacy_consent=True)
        fields.update(overrides)
        with app.test_request_context():
            ticket = services.submit_request(services.RequestData(**fields))
        return db.session.get(Ticket, ticket.id)

    return make


@pytest.fixture
def sign_in(client):
    """Sign the client in as an existing user."""

    def do(user):
        response = login(client, user.email)
        assert response.status_code == 303
        return user

    return do


def versions(*tickets) -> dict:
    """The hidden "version-<id>" fields the queue sends with each selected ticket (the versions shown)."""
    return {f"version-{t.id}": t.version for t in tickets}
