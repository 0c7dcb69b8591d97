"""A small world with one record of every kind, so the crawl reaches every page and form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import Appointment, Closure, ExtraOpening, Status, TutorAbsence
from app.models.base import utcnow
from tests.bookings.factories import make_desk, make_person
from tests.conftest import login

STAFF_ROLES = ("admin", "coordinator", "operator", "tutor", "municipal_contact", "observer")


def _appointment(desk, tutor, person, *, hours: float, status=Status.BOOKED) -> Appointment:
    start = utcnow().replace(microsecond=0, second=0) + timedelta(hours=hours)
    appointment = Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=person.id, service="orientamento",
                              mode="presenza", starts_at=start, ends_at=start + timedelta(minutes=45), status=status,
                              uid=f"{uuid.uuid4()}@test")
    db.session.add(appointment)
    db.session.commit()
    return appointment


@pytest.fixture
def rendered_html(monkeypatch) -> list[str]:
    """PDFs are not rendered here (that is the notes tests' job): the HTML each would be made from is kept,
    so the tests can check that hostile text reached it escaped."""
    from app.notes import pdf

    documents: list[str] = []

    def render_pdf(html: str) -> tuple[bytes, str]:
        documents.append(html)
        return b"%PDF-1.7\n% hostile-input test\n%%EOF\n", pdf.PDF_VARIANT

    monkeypatch.setattr(pdf, "render_pdf", render_pdf)
    return documents


@pytest.fixture
def world(app, network, make_user, tmp_path, rendered_html):
    """Every role's user; a desk with hours, closures, an extra opening and an absence; young people;
    appointments past and future with a draft note, a final note, a no-show recall; a ticket; a waiting entry;
    a private appointment link."""
    from app.bookings import messages, waiting
    from app.helpdesk import services as helpdesk
    from app.notes import services as notes
    from app.notes.services import NoteData

    app.config["ARCHIVE_DIR"] = tmp_path / "archive"
    users = {role: make_user(role) for role in STAFF_ROLES}
    operator, tutor = users["operator"], users["tutor"]
    desk = make_desk(network, operators=[operator], tutors=[tutor], name="Sportello Segrate")
    person = make_person(network, operator, registered_desk=desk, tutor=tutor)
    protected = make_person(network, operator, first_name="Sara", last_name="Riservata", registered_desk=desk,
                            protected=True, tutor=tutor)
    with app.test_request_context():
        draft = _appointment(desk, tutor, person, hours=-3, status=Status.ATTENDED)
        final = _appointment(desk, tutor, person, hours=-30, status=Status.ATTENDED)
        missed = _appointment(desk, tutor, protected, hours=-50, status=Status.NO_SHOW)
        future = _appointment(desk, tutor, person, hours=26)
        notes.save_draft(tutor, draft.id, NoteData(outcomes={1: "avviato"}, topics="Orientamento",
                                                   summary="Bozza della nota."), 0)
        note = notes.finalise(tutor, final.id, NoteData(outcomes={1: "avviato"}, topics="Scuola",
                                                        summary="Colloquio concluso.", agreements="Open day."), 0)
        waiting.on_no_show(missed)
        waiting.add_entry(operator, person.id, desk.id, "orientamento", "Il pomeriggio")
        ticket = helpdesk.submit_request(helpdesk.RequestData(
            first_name="Anna", age="16", town=str(network["Segrate"].id), phone="3331112222",
            email="anna@example.test", topic="orientamento", message="Vorrei un consiglio.", privacy_consent=True))
        token = messages.issue_link(future)
        now = datetime.now(UTC).replace(microsecond=0)
        db.session.add_all([
            Closure(scope="desk", desk_id=desk.id, starts_at=now + timedelta(days=40),
                    ends_at=now + timedelta(days=41), reason="Inventario"),
            ExtraOpening(desk_id=desk.id, day=(now + timedelta(days=45)).date(), start=datetime.min.time(),
                         end=(datetime.min + timedelta(hours=2)).time(), note="Apertura serale"),
            TutorAbsence(tutor_id=tutor.id, starts_at=now + timedelta(days=50), ends_at=now + timedelta(days=51),
                         kind="ferie"),
        ])
        db.session.commit()
    return SimpleNamespace(users=users, desk=desk, person=person, protected=protected, note=note, ticket=ticket,
                           draft=draft, final=final, missed=missed, future=future, link_token=token, network=network)


@pytest.fixture
def client_as(app):
    """Factory: a fresh client signed in as an existing user (None: anonymous)."""

    def make(user=None):
        client = app.test_client()
        if user is not None:
            response = login(client, user.email)
            assert response.status_code == 303, response.get_data(as_text=True)[:300]
        return client

    return make
