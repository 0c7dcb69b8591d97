"""Fixtures of the privacy tests: one young person with something of everything, and the admin who answers."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Appointment,
    AppointmentEvent,
    Note,
    NoteStatus,
    OutboxMessage,
    Status,
    Ticket,
    TicketComment,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow
from app.privacy.services import record_registration_consents
from tests.bookings.factories import make_desk, make_person

# Values that identify the person: after erasure none may be left in any text column.
FIRST, LAST, EMAIL, PHONE, GUARDIAN = "Zefiro", "Quarantotti", "zefiro.q@example.test", "3471239876", "Ottavia"
NEEDLES = ("zefiro", "quarantotti", "3471239876", "ottavia")


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate their messages, which needs a request."""
    with app.test_request_context():
        yield


def _appointment(desk, tutor, person, *, days: int, status=Status.ATTENDED, **values) -> Appointment:
    start = utcnow().replace(microsecond=0, second=0) + timedelta(days=days)
    appointment = Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=person.id, service="orientamento",
                              mode="presenza", starts_at=start, ends_at=start + timedelta(minutes=45), status=status,
                              uid=f"{uuid.uuid4()}@test", **values)
    db.session.add(appointment)
    db.session.flush()
    return appointment


def _note(appointment, tutor, *, final: bool, summary: str) -> Note:
    note = Note(appointment_id=appointment.id, author_id=tutor.id, young_person_id=appointment.young_person_id,
                topics="Scelta universitaria", summary=summary, agreements="Open day")
    if final:
        note.status, note.finalised_at, note.finalised_by_id = NoteStatus.FINAL, utcnow(), tutor.id
        note.content_hash = "a" * 64
    db.session.add(note)
    db.session.flush()
    return note


@pytest.fixture
def world(app, network, make_user):
    """Zefiro (a minor with a guardian) at Segrate: past sessions (final note, draft, cancelled), a future one,
    a linked request with a comment, a waiting-list entry, e-mails; plus another person and an unrelated e-mail."""
    admin = make_user("admin")
    operator = make_user("operator")
    tutor = make_user("tutor", full_name="Marta Rossi")
    desk = make_desk(network, operators=[operator], tutors=[tutor], name="Sportello Segrate")
    person = make_person(network, operator, first_name=FIRST, last_name=LAST, phone=PHONE, registered_desk=desk,
                         birth_date=date.today() - timedelta(days=365 * 13))
    person.email, person.guardian_name, person.guardian_contact = EMAIL, f"{GUARDIAN} {LAST}", "ottavia@example.test"
    person.guardian_consent, person.school = True, "Liceo Zefirelli"
    record_registration_consents(person, operator, age=13)
    other = make_person(network, operator, first_name="Bruno", last_name="Altri", phone="3330000000",
                        registered_desk=desk)
    final_appt = _appointment(desk, tutor, person, days=-20)
    final_note = _note(final_appt, tutor, final=True, summary="Ha scelto di iscriversi a ingegneria.")
    draft_appt = _appointment(desk, tutor, person, days=-10)
    _note(draft_appt, tutor, final=False, summary=f"{FIRST} racconta della famiglia.")
    cancelled = _appointment(desk, tutor, person, days=-5, status=Status.CANCELLED, cancelled_at=utcnow(),
                             cancelled_by_kind="young_person", cancel_reason=f"{FIRST} ha la febbre")
    db.session.add(AppointmentEvent(appointment_id=cancelled.id, kind="cancelled", from_status="booked",
                                    to_status="cancelled", detail=f"young_person: {FIRST} ha la febbre"))
    future = _appointment(desk, tutor, person, days=7, status=Status.BOOKED)
    _appointment(desk, tutor, other, days=-3)
    ticket = Ticket(reference=f"RIC-2026-{uuid.uuid4().int % 10**6:06d}", first_name=FIRST, age=13,
                    town_id=network["Segrate"].id, phone=PHONE, email=EMAIL, topic="orientamento",
                    message=f"Sono {FIRST}, vorrei aiuto.", guardian_name=f"{GUARDIAN} {LAST}",
                    privacy_consent_at=utcnow(), privacy_text_version="2026-01", young_person_id=person.id,
                    desk_id=desk.id)
    ticket.comments = [TicketComment(body=f"Chiamato {FIRST}, richiamare.", author_id=operator.id)]
    db.session.add(ticket)
    db.session.add(WaitingEntry(young_person_id=person.id, desk_id=desk.id, service="cv_lavoro",
                                preferences=f"{FIRST} preferisce il martedì"))
    db.session.add_all([
        OutboxMessage(recipient=EMAIL, subject="Appuntamento", body_text=f"Ciao {FIRST}", sent_at=utcnow()),
        OutboxMessage(recipient="altra@example.test", subject="Appuntamento", body_text="Ciao Bruno"),
    ])
    db.session.commit()
    return SimpleNamespace(network=network, admin=admin, operator=operator, tutor=tutor, desk=desk, person=person,
                           other=other, final_note=final_note, future=future, ticket=ticket)


def aggregates() -> Counter:
    """Appointments by gender, town and month: what monitoring counts."""
    rows = db.session.execute(sa.select(YoungPerson.gender, YoungPerson.residence_town_id, Appointment.starts_at)
                              .join(Appointment, Appointment.young_person_id == YoungPerson.id)).all()
    return Counter((gender, town, start.strftime("%Y-%m")) for gender, town, start in rows)


def text_hits(needles=NEEDLES) -> list[str]:
    """Every table.column (text) still holding one of the needles, case-insensitively."""
    hits = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
        if not columns:
            continue
        # One query per table; the columns are named only when something is found.
        matches = {(c, n): sa.func.lower(c).contains(n) for c in columns for n in needles}
        if not db.session.scalar(sa.select(sa.func.count()).select_from(table).where(sa.or_(*matches.values()))):
            continue
        hits += [f"{table.name}.{c.name}~{n}" for (c, n), condition in matches.items()
                 if db.session.scalar(sa.select(sa.func.count()).select_from(table).where(condition))]
    return hits
