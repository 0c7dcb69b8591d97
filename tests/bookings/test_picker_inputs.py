"""The slot picker's one-statement read gives exactly what the separate calendar and busy reads give."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest
import sqlalchemy as sa

from app.bookings import services
from app.bookings.services import BookingData
from app.desks import services as desk_services
from app.domain import availability as engine
from app.extensions import db
from app.models import (
    AvailabilityInterval,
    Closure,
    ClosureScope,
    ExtraOpening,
    OpeningSchedule,
    ScheduleInterval,
    Status,
    TutorAbsence,
    TutorAvailability,
)
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_availability, make_desk, make_person

START = tomorrow_at(0, days=0).date()
END = START + timedelta(days=6)


def _book(operator, desk, tutor, person, starts_at):
    return services.create_booking(operator, BookingData(desk_id=desk.id, tutor_id=tutor.id,
                                                         young_person_id=person.id, service="orientamento",
                                                         starts_at=starts_at))


def _closure(operator, scope, day_offset, hours, **target):
    starts = tomorrow_at(hours[0], days=day_offset)
    db.session.add(Closure(scope=scope, starts_at=starts, ends_at=tomorrow_at(hours[1], days=day_offset),
                           reason=f"{scope} {day_offset}", created_by_id=operator.id, **target))


@pytest.fixture
def busy_world(world, network, make_user):
    """The Segrate desk with everything its calendar reads, and the same tutor and person busy elsewhere."""
    elsewhere = make_desk(network, town="Rodano", rooms=3, operators=[world.operator], tutors=[world.tutor],
                          name="Sportello Rodano")
    third = make_user("tutor", full_name="Tutor Tre")
    make_availability(third, elsewhere)
    away = make_user("tutor", full_name="Tutor Inattivo")
    make_availability(away, world.desk, start=time(9), end=time(12))
    away.active = False
    # A second season from the day after tomorrow (shorter hours) and an extra opening at night.
    world.desk.schedules[0].valid_to = START + timedelta(days=1)
    db.session.flush()
    summer = OpeningSchedule(desk_id=world.desk.id, name="Estate", valid_from=START + timedelta(days=2),
                             valid_to=START + timedelta(days=4))
    summer.intervals = [ScheduleInterval(weekday=d, start=time(9), end=time(13)) for d in range(7)]
    db.session.add(summer)
    db.session.add(OpeningSchedule(desk_id=world.desk.id, name="Autunno", valid_from=START + timedelta(days=5),
                                   valid_to=None, intervals=[ScheduleInterval(weekday=d, start=time(8), end=time(20))
                                                             for d in range(7)]))
    db.session.add(ExtraOpening(desk_id=world.desk.id, day=START + timedelta(days=3), start=time(20),
                                end=time(22), created_by_id=world.operator.id))
    # The other tutor's availability ends after three days; an interval-less period follows, an old one precedes.
    current = db.session.scalars(sa.select(TutorAvailability)
                                 .where(TutorAvailability.tutor_id == world.other_tutor.id)).one()
    current.valid_to = START + timedelta(days=3)
    db.session.flush()
    db.session.add(TutorAvailability(tutor_id=world.other_tutor.id, desk_id=world.desk.id,
                                     valid_from=START + timedelta(days=4), valid_to=None))
    db.session.add(TutorAvailability(tutor_id=world.other_tutor.id, desk_id=world.desk.id,
                                     valid_from=date(2019, 1, 1), valid_to=date(2019, 12, 31),
                                     intervals=[AvailabilityInterval(weekday=0, start=time(8), end=time(9))]))
    db.session.add(TutorAbsence(tutor_id=world.other_tutor.id, starts_at=tomorrow_at(14, days=1),
                                ends_at=tomorrow_at(18, days=1), kind="ferie"))
    db.session.add(TutorAbsence(tutor_id=third.id, starts_at=tomorrow_at(8, days=2),
                                ends_at=tomorrow_at(18, days=2), kind="ferie"))
    _closure(world.operator, ClosureScope.DESK, 2, (9, 10), desk_id=world.desk.id)
    _closure(world.operator, ClosureScope.DESK, 2, (10, 11), desk_id=elsewhere.id)
    _closure(world.operator, ClosureScope.MUNICIPALITY, 3, (8, 12), municipality_id=network["Segrate"].id)
    _closure(world.operator, ClosureScope.MUNICIPALITY, 3, (12, 14), municipality_id=network["Rodano"].id)
    _closure(world.operator, ClosureScope.ALL, 4, (15, 16))
    db.session.commit()
    others = [make_person(network, world.operator, first_name=f"A{i}", phone=f"3410000{i:03d}") for i in range(4)]
    _book(world.operator, world.desk, world.tutor, others[0], tomorrow_at(10, days=1))
    _book(world.operator, world.desk, world.other_tutor, others[1], tomorrow_at(13, days=1))
    _book(world.operator, elsewhere, world.tutor, others[2], tomorrow_at(15, days=1))  # the tutor elsewhere
    _book(world.operator, elsewhere, third, world.person, tomorrow_at(11, days=1))  # the person elsewhere
    _book(world.operator, elsewhere, world.tutor, world.person, tomorrow_at(17, days=2))  # found two ways
    _book(world.operator, elsewhere, third, others[3], tomorrow_at(16, days=1))  # neither: not read
    cancelled = _book(world.operator, world.desk, world.tutor, others[3], tomorrow_at(17, days=1))
    services.cancel(world.operator, cancelled.id, "prova", "desk")
    assert cancelled.status == Status.CANCELLED
    return world


def _separately(desk, tutor_id, young_person_id):
    """What the picker read before: four builders' statements and the busy intervals."""
    calendar = desk_services.desk_calendar(desk, START, END)
    tutors = desk_services.tutor_calendars([desk.id], START, END)
    if tutor_id is not None:
        tutors = [t for t in tutors if t.tutor_id == tutor_id]
    window_start, window_end = desk_services._utc_window(START, END)
    busy = services.busy_intervals([desk.id], [t.tutor_id for t in tutors],
                                   [young_person_id] if young_person_id else None, start=window_start, end=window_end)
    return calendar, tutors, busy


def _key(busy: engine.Busy):
    return busy.start, busy.end, busy.desk_id, busy.tutor_id, busy.young_person_id


@pytest.mark.parametrize("choose_tutor", [False, True])
@pytest.mark.parametrize("with_person", [False, True])
def test_picker_inputs_equal_the_separate_reads(busy_world, choose_tutor, with_person):
    """Calendar, tutors (order, periods, absences) and busy time are the same values, whichever variant."""
    desk = busy_world.desk
    tutor_id = busy_world.tutor.id if choose_tutor else None
    person_id = busy_world.person.id if with_person else None
    calendar, tutors, busy = desk_services.picker_inputs(desk, START, END, tutor_id=tutor_id,
                                                         young_person_id=person_id)
    old_calendar, old_tutors, old_busy = _separately(desk, tutor_id, person_id)
    assert calendar == old_calendar
    assert len(calendar.schedules) == 3 and len(calendar.closures) == 3 and calendar.extra_openings
    assert tutors == old_tutors
    assert [t.tutor_id for t in tutors] == ([busy_world.tutor.id] if choose_tutor
                                            else sorted([busy_world.tutor.id, busy_world.other_tutor.id]))
    assert sorted(map(_key, busy)) == sorted(map(_key, old_busy))
    assert len(busy) == len({_key(b) for b in busy})  # each appointment once, though found two ways
    assert [b.start for b in busy] == sorted(b.start for b in busy)
    assert len(busy) == 4 + with_person


def test_free_slots_are_the_ones_the_separate_reads_give(busy_world):
    """The picker's slots, in order, are those the engine computes from the separate reads."""
    desk, person = busy_world.desk, busy_world.person
    now = tomorrow_at(0, days=0).astimezone(UTC)
    slots = services.free_slots(desk, START, END, young_person_id=person.id, now=now)
    calendar, tutors, busy = _separately(desk, None, person.id)
    expected = engine.bookable_slots(calendar, tutors, busy, START, END, desk_services.slot_rules(desk), now,
                                     young_person_id=person.id)
    assert slots == expected and len(slots) > 20
    assert all(s.start != tomorrow_at(11, days=1) for s in slots)  # the person is elsewhere then
