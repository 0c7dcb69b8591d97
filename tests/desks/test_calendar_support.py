"""Factories shared by the calendar, public timetable and feed tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from app.extensions import db
from app.models import (
    AvailabilityInterval,
    Closure,
    Desk,
    OpeningSchedule,
    ScheduleInterval,
    TutorAvailability,
)

WEEKDAYS_9_TO_1230 = [(day, time(9), time(12, 30)) for day in range(5)]


@pytest.fixture(name="calendar_desk")
def calendar_desk_fixture(app, network):
    """Factory: an active desk in a town, run by Students Lab, open Mon–Fri 09:00–12:30 from 2026-01-01."""
    counter = {"n": 0}

    def make(town: str = "Segrate", hours=None, valid_from: date = date(2026, 1, 1), valid_to: date | None = None,
             operators=(), tutors=(), **overrides) -> Desk:
        counter["n"] += 1
        values = dict(name=f"Sportello di prova {counter['n']} {town}", municipality_id=network[town].id,
                      partner_id=network["Students Lab"].id, address=f"via Roma {counter['n']}",
                      phone="02 1234567", email="sportello@prova.test")
        values.update(overrides)
        desk = Desk(**values)
        desk.services = ["orientamento", "cv_lavoro"]
        desk.operators = list(operators)
        desk.tutors = list(tutors)
        db.session.add(desk)
        db.session.flush()
        add_schedule(desk, hours if hours is not None else WEEKDAYS_9_TO_1230, valid_from, valid_to)
        db.session.commit()
        return desk

    return make


def add_schedule(desk: Desk, hours, valid_from: date, valid_to: date | None = None, name: str = "Orario") -> None:
    """Give a desk weekly hours [(weekday, start, end), …] for a period (caller commits)."""
    schedule = OpeningSchedule(desk_id=desk.id, name=name, valid_from=valid_from, valid_to=valid_to)
    schedule.intervals = [ScheduleInterval(weekday=w, start=s, end=e) for w, s, e in hours]
    db.session.add(schedule)


def add_closure(scope: str = "all", start: datetime | None = None, end: datetime | None = None, reason: str = "",
                desk: Desk | None = None, municipality_id: int | None = None) -> Closure:
    """A closure between two aware instants (committed)."""
    closure = Closure(scope=scope, desk_id=desk.id if desk else None, municipality_id=municipality_id,
                      starts_at=start, ends_at=end, reason=reason)
    db.session.add(closure)
    db.session.commit()
    return closure


def add_availability(tutor, desk: Desk, hours, valid_from: date) -> None:
    """A tutor works at a desk on these weekly hours from a date (committed)."""
    row = TutorAvailability(tutor_id=tutor.id, desk_id=desk.id, valid_from=valid_from)
    row.intervals = [AvailabilityInterval(weekday=w, start=s, end=e) for w, s, e in hours]
    db.session.add(row)
    db.session.commit()


def utc(*args) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)
