"""Fixtures of the bookings tests: a small world with a desk, its operator, two tutors, a young person."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from tests.bookings.factories import make_desk, make_person

ROME = ZoneInfo("Europe/Rome")


# The day a test started (Rome), set for each test by the autouse fixture `pinned_today` of tests/conftest.py:
# a test that runs across midnight books every appointment from the same day, not half of them a day later
# (in a run that crossed into a Friday, "tomorrow" turned into a Saturday between two bookings of one fixture).
PINNED_TODAY: date | None = None


def tomorrow_at(hour: int, minute: int = 0, days: int = 1) -> datetime:
    """An aware instant `days` from the day the test started at a local wall-clock time."""
    day = (PINNED_TODAY or datetime.now(ROME).date()) + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), ROME)


@pytest.fixture
def world(app, network, make_user):
    """A Segrate desk (1 room) with an operator and two Students Lab tutors, plus one young person."""
    operator = make_user("operator")
    tutor = make_user("tutor", full_name="Tutor Uno")
    other_tutor = make_user("tutor", full_name="Tutor Due")
    desk = make_desk(network, operators=[operator], tutors=[tutor, other_tutor], name="Sportello Segrate")
    person = make_person(network, operator, registered_desk=desk)
    return SimpleNamespace(network=network, operator=operator, tutor=tutor, other_tutor=other_tutor, desk=desk,
                           person=person)


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate their messages, which needs a request (the locale lives in the session)."""
    with app.test_request_context():
        yield
