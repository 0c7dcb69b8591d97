"""Availability engine: the optimised engine returns exactly what its first, plain version returned.

The reference (tests/domain/availability_reference.py) is the engine as it was before the speed work
of issue 11. Hypothesis draws calendars around both clock changes, season boundaries and the year end
(short ranges, many cases) and whole quarters (long ranges, fewer cases); every public answer must be
equal, slots and intervals included, with the appointments given as a list or as a `BusyIndex`.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import availability as engine
from app.domain.availability import (
    ROME,
    Busy,
    BusyIndex,
    Closure,
    DeskCalendar,
    ExtraOpening,
    Interval,
    Schedule,
    SlotRules,
    TutorCalendar,
    WeeklyInterval,
)
from app.domain.holidays import holidays_for
from tests.domain import availability_reference as reference
from tests.domain.test_availability_properties import (
    DESK_ID,
    PROPERTY_SETTINGS,
    TUTOR_IDS,
    appointments,
    date_ranges,
    desks,
    instants,
    slot_rules,
    tutors,
)

QUARTER_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=40)


def both_ways(busy: list[Busy]) -> list:
    """The same appointments as a plain list and as an index."""
    return [busy, BusyIndex(busy)]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_open_time_and_calendars_equal_the_reference(data):
    start, end = data.draw(date_ranges())
    cal = data.draw(desks(start, end))
    now = data.draw(instants(start, end))
    assert engine.open_intervals(cal, start, end) == reference.open_intervals(cal, start, end)
    day = start + timedelta(days=data.draw(st.integers(0, (end - start).days)))
    assert engine.day_summary(cal, day) == reference.day_summary(cal, day)
    assert engine.current_interval(cal, now) == reference.current_interval(cal, now)
    assert engine.next_opening(cal, now) == reference.next_opening(cal, now)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_bookable_slots_equal_the_reference(data):
    start, end = data.draw(date_ranges())
    cal = data.draw(desks(start, end))
    people = data.draw(tutors(start, end))
    busy = data.draw(appointments(start, end))
    rules = data.draw(slot_rules())
    now = datetime(2026, 1, 1, tzinfo=UTC) if data.draw(st.booleans()) else data.draw(instants(start, end))
    tutor_id = data.draw(st.sampled_from((None, None, *TUTOR_IDS)))
    young_person_id = data.draw(st.sampled_from((None, 1)))
    expected = reference.bookable_slots(cal, people, busy, start, end, rules, now, tutor_id, young_person_id)
    for rows in both_ways(busy):
        assert engine.bookable_slots(cal, people, rows, start, end, rules, now, tutor_id, young_person_id) == expected


# --- Whole quarters: bench-like desks over three months, across a clock change --------------------

OFFICE = tuple(WeeklyInterval(day, a, b) for day in range(5) for a, b in ((time(9), time(13)), (time(14), time(18))))
SATURDAY = (WeeklyInterval(5, time(9), time(13)),)
NIGHTS = (WeeklyInterval(6, time(0), time(4)), WeeklyInterval(6, time(22), time(0)))  # Sunday, around the changes


@st.composite
def quarters(draw):
    """A desk, three tutors and a random agenda over 60-100 days starting anywhere in 2026."""
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 330)))
    end = start + timedelta(days=draw(st.integers(60, 100)))
    split = start + timedelta(days=draw(st.integers(0, 100)))
    hours = OFFICE + (SATURDAY if draw(st.booleans()) else ()) + (NIGHTS if draw(st.booleans()) else ())
    schedules = [Schedule(date(2025, 1, 1), split - timedelta(days=1), hours)]
    if draw(st.booleans()):  # otherwise no hours at all after the split
        schedules.append(Schedule(split + timedelta(days=draw(st.integers(0, 3))), None, OFFICE))
    rng = random.Random(draw(st.integers(0, 2**32)))
    base = datetime(start.year, start.month, start.day, tzinfo=ROME)
    closures = tuple(Closure(moment, moment + timedelta(hours=rng.choice((3, 24, 50))), "chiuso")
                     for moment in (base + timedelta(hours=rng.randrange(24 * 90)) for _ in range(rng.randrange(3))))
    extra = tuple(ExtraOpening(start + timedelta(days=rng.randrange(90)), time(rng.randrange(6, 20)), time(21))
                  for _ in range(rng.randrange(3)))
    cal = DeskCalendar(DESK_ID, tuple(schedules), closures, extra, holidays_for([2026, 2027], (12, 7, "Patrono")),
                       rooms=rng.randint(1, 3))
    people = []
    for tutor_id in TUTOR_IDS:
        availability = ((DESK_ID, Schedule(date(2025, 1, 1), None, hours if rng.random() < 0.7 else OFFICE)),)
        absences = tuple(Interval(moment, moment + timedelta(days=rng.randint(1, 5)))
                         for moment in (base + timedelta(days=rng.randrange(90)) for _ in range(rng.randrange(2))))
        people.append(TutorCalendar(tutor_id, availability, absences))
    busy = []
    for _ in range(rng.randrange(400)):
        moment = base + timedelta(days=rng.randrange(95), minutes=15 * rng.randrange(96))
        busy.append(Busy(moment, moment + timedelta(minutes=rng.choice((30, 45, 60))), rng.choice((DESK_ID, 2)),
                         rng.choice((*TUTOR_IDS, 99, None)), rng.choice((1, 2, None))))
    return start, end, cal, people, busy


@QUARTER_SETTINGS
@given(case=quarters(), rules=slot_rules(), young_person_id=st.sampled_from((None, 1)))
def test_a_quarter_of_slots_equals_the_reference(case, rules, young_person_id):
    start, end, cal, people, busy = case
    now = datetime.combine(start, time(8), ROME)
    assert engine.open_intervals(cal, start, end) == reference.open_intervals(cal, start, end)
    expected = reference.bookable_slots(cal, people, busy, start, end, rules, now, young_person_id=young_person_id)
    for rows in both_ways(busy):
        assert engine.bookable_slots(cal, people, rows, start, end, rules, now,
                                     young_person_id=young_person_id) == expected


# --- Clock-change nights, by hand -----------------------------------------------------------------

SUNDAY_NIGHT = Schedule(date(2026, 1, 1), None, (WeeklyInterval(6, time(1), time(4)),))
HOURLY = SlotRules(length=timedelta(minutes=45), buffer=timedelta(minutes=15), min_notice=timedelta(0))


@pytest.mark.parametrize(("day", "utc_starts"), [
    (date(2026, 3, 29), ["00:00", "01:00"]),  # 01:00 CET-04:00 CEST lasts 2 h
    (date(2026, 10, 25), ["23:00", "00:00", "01:00", "02:00"]),  # 01:00 CEST-04:00 CET lasts 4 h
])
def test_slots_in_a_night_with_a_clock_change(day, utc_starts):
    cal = DeskCalendar(DESK_ID, (SUNDAY_NIGHT,))
    people = [TutorCalendar(7, ((DESK_ID, SUNDAY_NIGHT),))]
    busy = [Busy(datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 10, tzinfo=UTC), 2, 8)]
    early = datetime(2026, 1, 1, tzinfo=UTC)
    for rows in both_ways(busy):
        slots = engine.bookable_slots(cal, people, rows, day - timedelta(days=3), day + timedelta(days=3), HOURLY, early)
        assert [s.start.strftime("%H:%M") for s in slots] == utc_starts
        assert {s.end - s.start for s in slots} == {timedelta(minutes=45)}
        assert slots == reference.bookable_slots(cal, people, busy, day - timedelta(days=3), day + timedelta(days=3),
                                                 HOURLY, early)


def test_busy_index_is_a_tuple_of_its_appointments_and_refuses_naive_instants():
    moment = datetime(2026, 3, 4, 9, tzinfo=UTC)
    rows = [Busy(moment, moment + timedelta(minutes=45), DESK_ID, 7, 1)]
    assert BusyIndex(rows) == tuple(rows) and len(BusyIndex(rows)) == 1
    naive = BusyIndex([Busy(datetime(2026, 3, 4, 9), datetime(2026, 3, 4, 10), DESK_ID, 7)])
    cal = DeskCalendar(DESK_ID, (Schedule(date(2026, 1, 1), None, OFFICE),))
    people = [TutorCalendar(7, ((DESK_ID, Schedule(date(2026, 1, 1), None, OFFICE)),))]
    with pytest.raises(ValueError, match="naive"):
        engine.bookable_slots(cal, people, naive, date(2026, 3, 4), date(2026, 3, 4), HOURLY, moment)
