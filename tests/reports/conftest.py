"""The crafted dataset of the monitoring tests: every indicator is computed by hand in test_indicators.py.

Two desks open on Tuesdays 09:00–13:00 (Europe/Rome): "Sportello Segrate" (town Segrate, run by
Students Lab, tutor Marta) and "Sportello Rodano" (town Rodano, run by Ala Milano, tutor Paolo).
Every appointment lasts one hour and starts at 09:00 local time. The period is Q1 2026.

young people (birth date, gender, study/work):
  P1 Anna   2012-02-10 F studente   (13 on 13/01, 14 from 10/02)
  P2 Bruno  2000-05-05 M lavora     (25)
  P3 Carla  2005-01-01 F neet       (21)
  P4 Dora   2008-06-01 F studente   PROTECTED, tutor Marta (17)
  P5 Ezio   1980-03-03 M in_cerca   (45: "altra età"), already seen in December 2025

appointments (S = Segrate, R = Rodano):
  a1  P1 S 13/01/2026 attended   final note: outcome 1 avviato, 4 avviato; referral scuola
  a2  P1 S 10/02/2026 attended   final note: outcome 1 in_corso
  a3  P1 S 17/02/2026 no-show
  a4  P2 S 20/01/2026 attended   final note: outcome 5 raggiunto; referrals centro_impiego, altro
  a5  P2 R 03/03/2026 attended   DRAFT note: outcome 5 in_corso (not counted)
  a6  P3 R 10/03/2026 attended   final note: outcome 2 avviato, 4 in_corso
  a7  P3 R 17/03/2026 no-show
  a8  P4 S 24/02/2026 attended   final note: outcome 7 avviato; referral centro_antiviolenza (protected)
  a9  P5 R 16/12/2025 attended   (before the period)
  a10 P5 R 27/01/2026 attended
  a11 P2 S 24/03/2026 cancelled
  a12 P3 S 31/03/2026 booked
  a13 P1 S 07/04/2026 attended   (after the period)

requests: ticket received 03/01 09:00 -> a1 (10 days); ticket 18/01 09:00 -> a4 (2 days);
ticket 26/01 21:00 -> a10 (0.5 days); ticket 01/12/2025 -> a9 (first appointment outside the period);
waiting entry for P3 at Rodano created 01/03 09:00, booked -> a6 (9 days).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import (
    Appointment,
    Desk,
    OpeningSchedule,
    ScheduleInterval,
    Status,
    Ticket,
    User,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.note import Note, NoteOutcome
from app.models.ticket import ticket_appointments
from app.reports.indicators import ReportFilters

ROME = ZoneInfo("Europe/Rome")
Q1 = ReportFilters(start=date(2026, 1, 1), end=date(2026, 3, 31))


def local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A Europe/Rome wall time as an aware UTC instant."""
    return datetime.combine(day, time(hour, minute), ROME).astimezone(UTC)


def tuesday_desk(network, name: str, town: str, partner: str, *, operators=(), tutors=()) -> Desk:
    """A desk open on Tuesdays 09:00–13:00 since 2020."""
    desk = Desk(name=name, municipality_id=network[town].id, partner_id=network[partner].id, rooms=1,
                slot_minutes=60, buffer_minutes=0, min_notice_minutes=0)
    desk.services = ["orientamento", "cv_lavoro"]
    desk.operators = list(operators)
    desk.tutors = list(tutors)
    schedule = OpeningSchedule(name="Martedì", valid_from=date(2020, 1, 1), valid_to=None)
    schedule.intervals = [ScheduleInterval(weekday=1, start=time(9), end=time(13))]
    desk.schedules = [schedule]
    db.session.add(desk)
    db.session.flush()
    return desk


def person(network, creator, first_name: str, birth: date, gender: str, status: str, *, town="Segrate",
           protected=False, tutor=None) -> YoungPerson:
    row = YoungPerson(code=f"T-{uuid.uuid4().hex[:12]}", first_name=first_name, last_name="Prova", birth_date=birth,
                      gender=gender, residence_town_id=network[town].id, study_work_status=status,
                      phone="3330000000", privacy_consent_at=utcnow(), privacy_text_version="2026-01",
                      protected=protected, tutor_id=tutor.id if tutor else None,
                      registered_org_id=creator.organisation_id, created_by_id=creator.id)
    db.session.add(row)
    db.session.flush()
    return row


def appointment(desk, tutor, who, day: date, status: str = Status.ATTENDED, service="orientamento") -> Appointment:
    start = local(day)
    row = Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=who.id, service=service, mode="presenza",
                      starts_at=start, ends_at=start + timedelta(hours=1), status=status,
                      uid=f"{uuid.uuid4()}@test")
    if status == Status.CANCELLED:
        row.cancelled_at, row.cancelled_by_kind = utcnow(), "desk"
    db.session.add(row)
    db.session.flush()
    return row


def note(appt, tutor, outcomes: dict[int, str], referrals: str = "", *, final: bool = True) -> Note:
    """A note (drafted, outcomes added, then finalised: the lock triggers allow only that order)."""
    row = Note(appointment_id=appt.id, author_id=tutor.id, young_person_id=appt.young_person_id,
               referrals=referrals, summary="Testo.")
    row.outcomes = [NoteOutcome(outcome=n, progress=p) for n, p in outcomes.items()]
    db.session.add(row)
    db.session.flush()
    if final:
        row.status, row.finalised_at, row.finalised_by_id = "final", utcnow(), tutor.id
        row.content_hash = "0" * 64
        db.session.flush()
    return row


def ticket(network, received: datetime, appointments) -> Ticket:
    row = Ticket(reference=f"R-{uuid.uuid4().hex[:10]}", first_name="Richiedente", phone="3330000000",
                 topic="orientamento", privacy_consent_at=received, privacy_text_version="2026-01",
                 received_at=received, status="booked")
    db.session.add(row)
    db.session.flush()
    for a in appointments:
        db.session.execute(ticket_appointments.insert().values(ticket_id=row.id, appointment_id=a.id))
    return row


def staff(network, role: str, org: str, name: str) -> User:
    """A member of staff who never signs in (no password hashing: fast)."""
    user = User(email=f"{uuid.uuid4().hex[:10]}@prova.test", full_name=name, role=role,
                organisation_id=network[org].id, password_hash="!")
    db.session.add(user)
    db.session.flush()
    return user


def build_world(network, suffix: str = ""):
    """The crafted dataset (see the module docstring) and the users around it (`suffix`: a copy of it)."""
    marta = staff(network, "tutor", "Students Lab", "Marta Tutor")
    paolo = staff(network, "tutor", "Ala Milano", "Paolo Tutor")
    operator = staff(network, "operator", "Students Lab", "Oreste Operatore")
    segrate = tuesday_desk(network, "Sportello Segrate" + suffix, "Segrate", "Students Lab", operators=[operator],
                           tutors=[marta])
    rodano = tuesday_desk(network, "Sportello Rodano" + suffix, "Rodano", "Ala Milano", tutors=[paolo])
    p1 = person(network, operator, "Anna", date(2012, 2, 10), "F", "studente")
    p2 = person(network, operator, "Bruno", date(2000, 5, 5), "M", "lavora")
    p3 = person(network, operator, "Carla", date(2005, 1, 1), "F", "neet", town="Rodano")
    p4 = person(network, operator, "Dora", date(2008, 6, 1), "F", "studente", protected=True, tutor=marta)
    p5 = person(network, operator, "Ezio", date(1980, 3, 3), "M", "in_cerca", town="Rodano")
    a = {}
    a[1] = appointment(segrate, marta, p1, date(2026, 1, 13))
    a[2] = appointment(segrate, marta, p1, date(2026, 2, 10))
    a[3] = appointment(segrate, marta, p1, date(2026, 2, 17), Status.NO_SHOW)
    a[4] = appointment(segrate, marta, p2, date(2026, 1, 20))
    a[5] = appointment(rodano, paolo, p2, date(2026, 3, 3))
    a[6] = appointment(rodano, paolo, p3, date(2026, 3, 10))
    a[7] = appointment(rodano, paolo, p3, date(2026, 3, 17), Status.NO_SHOW)
    a[8] = appointment(segrate, marta, p4, date(2026, 2, 24))
    a[9] = appointment(rodano, paolo, p5, date(2025, 12, 16))
    a[10] = appointment(rodano, paolo, p5, date(2026, 1, 27))
    a[11] = appointment(segrate, marta, p2, date(2026, 3, 24), Status.CANCELLED)
    a[12] = appointment(segrate, marta, p3, date(2026, 3, 31), Status.BOOKED)
    a[13] = appointment(segrate, marta, p1, date(2026, 4, 7))
    note(a[1], marta, {1: "avviato", 4: "avviato"}, "scuola")
    note(a[2], marta, {1: "in_corso"})
    note(a[4], marta, {5: "raggiunto"}, "centro_impiego,altro")
    note(a[5], paolo, {5: "in_corso"}, final=False)
    note(a[6], paolo, {2: "avviato", 4: "in_corso"})
    note(a[8], marta, {7: "avviato"}, "centro_antiviolenza")
    ticket(network, local(date(2026, 1, 3)), [a[1]])
    ticket(network, local(date(2026, 1, 18)), [a[4]])
    ticket(network, local(date(2026, 1, 26), 21), [a[10]])
    ticket(network, local(date(2025, 12, 1)), [a[9]])
    db.session.add(WaitingEntry(young_person_id=p3.id, desk_id=rodano.id, service="orientamento",
                                status="booked", created_at=local(date(2026, 3, 1)), closed_at=local(date(2026, 3, 2))))
    db.session.commit()
    return SimpleNamespace(marta=marta, paolo=paolo, operator=operator, segrate=segrate, rodano=rodano,
                           people=(p1, p2, p3, p4, p5), a=a, network=network)


def add_segrate_regulars(world, how_many: int = 6) -> list[YoungPerson]:
    """More young people with one attended session each at Segrate in January (Marta, 10:00–12:00 slots)."""
    added = []
    days = [date(2026, 1, 13), date(2026, 1, 20), date(2026, 1, 27)]
    for n in range(how_many):
        who = person(world.network, world.operator, f"Regolare{n}", date(2001, 1, 1), "M", "lavora")
        start = local(days[n % 3], 10 + n // 3)
        db.session.add(Appointment(desk_id=world.segrate.id, tutor_id=world.marta.id, young_person_id=who.id,
                                   service="orientamento", mode="presenza", starts_at=start,
                                   ends_at=start + timedelta(minutes=45), status=Status.ATTENDED,
                                   uid=f"{uuid.uuid4()}@test"))
        added.append(who)
    db.session.commit()
    return added


@pytest.fixture
def world(app, network):
    """The crafted dataset of the module docstring."""
    return build_world(network)


@pytest.fixture
def in_request(app):
    """A request context (the report's labels are translated for the request's language)."""
    with app.test_request_context("/monitoraggio"):
        yield


class Clock:
    """A clock the test moves by hand (the cache's TTL without sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app, monkeypatch):
    """The report cache on (300 s, in process) with a hand-moved clock."""
    from app.reports import cache

    app.config["REPORTS_CACHE_SECONDS"] = 300
    app.config["REDIS_URL"] = ""
    ticking = Clock()
    monkeypatch.setattr(cache, "memory", cache.MemoryStore(clock=ticking))
    return ticking
