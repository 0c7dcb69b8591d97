"""Edges of the counts of people, computed by hand: who is new in a period that starts mid-month, and
the age of someone born on 29 February (the database reads the period once, app/reports/indicators.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Appointment, Status
from app.reports import indicators
from app.reports.indicators import ReportFilters
from tests.reports.conftest import local, person, staff, tuesday_desk


@pytest.fixture
def place(app, network):
    """A desk with its tutor and operator, and an admin who reads the report."""
    tutor = staff(network, "tutor", "Students Lab", "Tina Tutor")
    operator = staff(network, "operator", "Students Lab", "Otto Operatore")
    desk = tuesday_desk(network, "Sportello Bordi", "Segrate", "Students Lab", operators=[operator], tutors=[tutor])
    admin = staff(network, "admin", "Ufficio di Piano", "Ada Admin")
    return network, desk, tutor, operator, admin


def session(desk, tutor, who, when: datetime, status: str = Status.ATTENDED) -> None:
    """One hour with the desk's tutor, starting at `when` (aware)."""
    db.session.add(Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=who.id, service="orientamento",
                               mode="presenza", starts_at=when, ends_at=when + timedelta(hours=1), status=status,
                               uid=f"{uuid.uuid4()}@test"))


def rows(raw_table):
    return {key: values for key, _label, values in raw_table.rows}


def test_new_in_a_period_that_starts_mid_month(place, in_request):
    """New in the period: no attended session before 15 January; new in a month: none before that month."""
    network, desk, tutor, operator, admin = place
    q = person(network, operator, "Quinto", date(2001, 1, 1), "M", "lavora")
    r = person(network, operator, "Rita", date(2002, 2, 2), "F", "studente")
    s = person(network, operator, "Sara", date(2003, 3, 3), "F", "neet")
    session(desk, tutor, q, local(date(2026, 1, 6)))      # before the period, in its first month
    session(desk, tutor, q, local(date(2026, 1, 20)))
    session(desk, tutor, q, local(date(2026, 2, 10)))
    session(desk, tutor, r, local(date(2025, 12, 16)))    # seen last year
    session(desk, tutor, r, local(date(2026, 2, 17)))
    session(desk, tutor, s, local(date(2026, 1, 27)), Status.NO_SHOW)  # an absence is not a first session
    session(desk, tutor, s, local(date(2026, 2, 24)))
    db.session.commit()

    raw = indicators._counts(admin, ReportFilters(start=date(2026, 1, 15), end=date(2026, 3, 31)))
    # Reached Q R S; new in the period only S (Q attended on 6 January, R in December).
    assert raw.headline == {"reached": 3, "reached_new": 1, "reached_returning": 2, "sessions": 4, "no_shows": 1}
    # [reached, new, sessions, no-shows]: in January Q is new (nothing before 1 January), in February only S.
    assert rows(raw.tables["by_month"]) == {"2026-01": [1, 1, 1, 1], "2026-02": [3, 1, 3, 0],
                                            "2026-03": [0, 0, 0, 0]}
    assert raw.tables["by_month"].total == [3, 1, 4, 1]


def test_age_of_someone_born_on_29_february(place, in_request):
    """Born 29/2/2012: 13 on 28/2/2026, 14 from 1/3 (local day: a session at 00:30 on 1 March counts as 14)."""
    network, desk, tutor, operator, admin = place
    leap = person(network, operator, "Bisestile", date(2012, 2, 29), "F", "studente")
    session(desk, tutor, leap, local(date(2026, 2, 28)))
    session(desk, tutor, leap, local(date(2026, 3, 1), 0, 30))   # 23:30 UTC on 28 February
    session(desk, tutor, leap, local(date(2026, 3, 10)))
    db.session.commit()

    raw = indicators._counts(admin, ReportFilters(start=date(2026, 2, 1), end=date(2026, 3, 31)))
    bands = rows(raw.tables["age_bands"])
    assert bands["<14"] == [1, 1] and bands["14-17"] == [1, 2]   # [reached, sessions]: one person in both bands
    assert bands["18-24"] == bands["25-35"] == bands["altro"] == [0, 0]
    assert raw.tables["age_bands"].total == [1, 3]
    assert rows(raw.tables["by_month"])["2026-03"] == [1, 0, 2, 0]  # the 00:30 session is in March
