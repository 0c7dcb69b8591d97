"""Fixtures of the notes tests: a desk, a tutor with an attended appointment, the people around them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import Appointment, Status
from app.models.base import utcnow
from tests.bookings.factories import make_desk, make_person
from tests.conftest import login


@pytest.fixture(autouse=True)
def archive_dir(app, tmp_path):
    """Archived PDFs go to a private folder per test; renders get generous limits."""
    app.config["ARCHIVE_DIR"] = tmp_path / "archive"
    app.config["NOTES_RENDER_TIMEOUT"] = 60
    return app.config["ARCHIVE_DIR"]


@pytest.fixture
def make_appointment():
    """Factory: an appointment of a tutor with a person at a desk, two hours ago, attended by default."""

    def make(desk, tutor, person, *, status=Status.ATTENDED, hours_ago=2) -> Appointment:
        start = utcnow().replace(microsecond=0) - timedelta(hours=hours_ago)
        appointment = Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=person.id,
                                  service="orientamento", mode="presenza", starts_at=start,
                                  ends_at=start + timedelta(minutes=45), status=status, uid=f"{uuid.uuid4()}@test")
        db.session.add(appointment)
        db.session.commit()
        return appointment

    return make


@pytest.fixture
def world(app, network, make_user, make_appointment):
    """Students Lab: a tutor, a colleague, a coordinator, an operator; another partner's people; one attended session."""
    operator = make_user("operator")
    tutor = make_user("tutor", full_name="Marta Rossi")
    colleague = make_user("tutor", full_name="Luca Verdi")
    coordinator = make_user("coordinator", full_name="Anna Neri")
    other_org = network["Ala Milano"]
    outsider_tutor = make_user("tutor", organisation=other_org, full_name="Paolo Esterno")
    outsider_coordinator = make_user("coordinator", organisation=other_org)
    desk = make_desk(network, operators=[operator], tutors=[tutor, colleague], name="Sportello Segrate")
    person = make_person(network, operator, registered_desk=desk)
    appointment = make_appointment(desk, tutor, person)
    return SimpleNamespace(network=network, operator=operator, tutor=tutor, colleague=colleague,
                           coordinator=coordinator, outsider_tutor=outsider_tutor,
                           outsider_coordinator=outsider_coordinator, desk=desk, person=person,
                           appointment=appointment)


@pytest.fixture
def client_for(app):
    """Factory: a new client signed in as an existing user."""

    def make(user):
        client = app.test_client()
        response = login(client, user.email)
        assert response.status_code == 303
        return client

    return make


def note_form(revision: int = 0, **overrides) -> dict:
    """A complete editor form: outcomes 1 and 4, a summary, a referral."""
    form = {"revision": str(revision), "outcome_1": "1", "progress_1": "in_corso", "outcome_4": "1",
            "progress_4": "avviato", "topics": "Scelta della scuola superiore",
            "summary": "Abbiamo parlato delle sue passioni.\n\nHa paura di sbagliare scelta.",
            "agreements": "Visita all'open day dell'ITIS.", "referrals": ["scuola"], "referral_other": ""}
    form.update(overrides)
    return form
