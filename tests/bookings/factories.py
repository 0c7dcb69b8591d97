"""Small factories for the bookings and people tests: a desk open every day, tutors, young people."""

from __future__ import annotations

from datetime import date, time, timedelta

from app.extensions import db
from app.models import (
    AvailabilityInterval,
    Desk,
    OpeningSchedule,
    ScheduleInterval,
    TutorAvailability,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.young_person import format_code

OPEN_FROM, OPEN_TO = time(8, 0), time(20, 0)


def make_desk(network, *, town="Segrate", partner="Students Lab", rooms=1, name=None, operators=(), tutors=(),
              services=("orientamento", "cv_lavoro")) -> Desk:
    """A desk open every day 08:00–20:00 (so tests do not depend on the weekday), 45' slots, no buffer or notice."""
    desk = Desk(name=name or f"Sportello {town} {rooms}-{len(db.session.new)}-{id(object())}", rooms=rooms,
                municipality_id=network[town].id, partner_id=network[partner].id, slot_minutes=45,
                buffer_minutes=0, min_notice_minutes=0)
    desk.services = list(services)
    desk.operators = list(operators)
    desk.tutors = list(tutors)
    schedule = OpeningSchedule(name="Tutto l'anno", valid_from=date(2020, 1, 1), valid_to=None)
    schedule.intervals = [ScheduleInterval(weekday=d, start=OPEN_FROM, end=OPEN_TO) for d in range(7)]
    desk.schedules = [schedule]
    db.session.add(desk)
    db.session.flush()
    for tutor in tutors:
        make_availability(tutor, desk)
    db.session.commit()
    return desk


def make_availability(tutor, desk, start=OPEN_FROM, end=OPEN_TO) -> TutorAvailability:
    """The tutor works at the desk every day between start and end."""
    row = TutorAvailability(tutor_id=tutor.id, desk_id=desk.id, valid_from=date(2020, 1, 1), valid_to=None)
    row.intervals = [AvailabilityInterval(weekday=d, start=start, end=end) for d in range(7)]
    db.session.add(row)
    if all(t.id != tutor.id for t in desk.tutors):  # UserMixin.__eq__ compares session tokens
        desk.tutors.append(tutor)
    db.session.flush()
    return row


def make_person(network, created_by, *, first_name="Giulia", last_name="Bianchi", birth_date=None, phone="",
                protected=False, tutor=None, registered_desk=None, town="Segrate") -> YoungPerson:
    """A registered young person (19 years old by default)."""
    person = YoungPerson(
        code=f"TMP-{id(object())}", first_name=first_name, last_name=last_name,
        birth_date=birth_date or date.today() - timedelta(days=365 * 19 + 30),
        gender="F", residence_town_id=network[town].id, study_work_status="studente",
        phone=phone or "3331234567", email="giovane@example.test", preferred_channel="telefono",
        privacy_consent_at=utcnow(), privacy_text_version="2026-01", privacy_collected_by_id=created_by.id,
        protected=protected, tutor_id=tutor.id if tutor else None,
        registered_desk_id=registered_desk.id if registered_desk else None,
        registered_org_id=created_by.organisation_id, created_by_id=created_by.id,
    )
    db.session.add(person)
    db.session.flush()
    person.code = format_code(2026, person.id)
    db.session.commit()
    return person
