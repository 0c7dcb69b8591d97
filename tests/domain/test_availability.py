"""Availability engine: hand-computed cases (UTC values worked out by hand from Europe/Rome)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.domain.availability import (
    ROME,
    Busy,
    Closure,
    DeskCalendar,
    ExtraOpening,
    Interval,
    Schedule,
    SlotRules,
    TutorCalendar,
    WeeklyInterval,
    bookable_slots,
    current_interval,
    day_summary,
    is_open,
    next_opening,
    open_intervals,
    schedules_overlap,
    validate_schedule,
    validate_schedule_intervals,
    weekly_conflict,
)
from app.domain.holidays import holidays_for

WEEKDAYS = range(5)
EVERY_DAY = range(7)
MORNING = (time(9), time(12, 30))
AFTERNOON = (time(14), time(17, 30))


def utc(y, m, d, hh, mm=0) -> datetime:
    """An aware UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def span(start: datetime, end: datetime) -> Interval:
    """An expected interval."""
    return Interval(start, end)


def week(days, *pairs) -> tuple[WeeklyInterval, ...]:
    """The same intervals on each of `days`."""
    return tuple(WeeklyInterval(day, start, end) for day in days for start, end in pairs)


def desk(*, desk_id=1, schedules=None, **kwargs) -> DeskCalendar:
    """A desk open on weekdays 9:00-12:30 and 14:00-17:30 all year unless told otherwise."""
    if schedules is None:
        schedules = (Schedule(date(2026, 1, 1), None, week(WEEKDAYS, MORNING, AFTERNOON)),)
    return DeskCalendar(desk_id=desk_id, schedules=tuple(schedules), **kwargs)


def tutor(tutor_id, *desk_ids, days=WEEKDAYS, pairs=((time(9), time(17, 30)),), absences=()) -> TutorCalendar:
    """A tutor available at each of `desk_ids` on `days`."""
    schedule = Schedule(date(2026, 1, 1), None, week(days, *pairs))
    return TutorCalendar(tutor_id, tuple((d, schedule) for d in desk_ids), tuple(absences))


def starts(slots) -> list[tuple[str, int]]:
    """Slots as (local HH:MM, tutor) pairs, for readable assertions."""
    return [(s.start.astimezone(ROME).strftime("%d/%m %H:%M"), s.tutor_id) for s in slots]


# --- Daylight-saving changes ------------------------------------------------------------------

def test_spring_forward_weekend_keeps_every_interval_its_length():
    """29 March 2026: 02:00 CET becomes 03:00 CEST; 09:00-12:30 is still 3h30."""
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, week(EVERY_DAY, MORNING))])
    assert open_intervals(cal, date(2026, 3, 28), date(2026, 3, 30)) == [
        span(utc(2026, 3, 28, 8), utc(2026, 3, 28, 11, 30)),  # CET, +01:00
        span(utc(2026, 3, 29, 7), utc(2026, 3, 29, 10, 30)),  # CEST, +02:00
        span(utc(2026, 3, 30, 7), utc(2026, 3, 30, 10, 30)),
    ]


def test_spring_forward_shortens_an_interval_that_covers_the_missing_hour():
    night = Schedule(date(2026, 1, 1), None, (
        WeeklyInterval(6, time(1), time(4)),  # 01:00-04:00 lasts 2 h that night
        WeeklyInterval(6, time(5), time(6)),
    ))
    cal = desk(schedules=[night])
    assert open_intervals(cal, date(2026, 3, 29), date(2026, 3, 29)) == [
        span(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2)),
        span(utc(2026, 3, 29, 3), utc(2026, 3, 29, 4)),
    ]


def test_spring_forward_an_interval_inside_the_missing_hour_is_empty_and_one_starting_in_it_starts_at_3():
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, (
        WeeklyInterval(6, time(2), time(2, 30)),
        WeeklyInterval(6, time(2, 30), time(4)),
    ))])
    # 02:00-02:30 never happens; 02:30-04:00 really runs from 03:00 CEST (01:00 UTC) to 04:00 CEST.
    assert open_intervals(cal, date(2026, 3, 29), date(2026, 3, 29)) == [span(utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))]
    assert open_intervals(cal, date(2026, 3, 22), date(2026, 3, 22)) == [span(utc(2026, 3, 22, 1), utc(2026, 3, 22, 3))]


def test_fall_back_weekend_keeps_every_interval_its_length():
    """25 October 2026: 03:00 CEST becomes 02:00 CET; 09:00-12:30 is still 3h30."""
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, week(EVERY_DAY, MORNING))])
    got = open_intervals(cal, date(2026, 10, 24), date(2026, 10, 26))
    assert got == [
        span(utc(2026, 10, 24, 7), utc(2026, 10, 24, 10, 30)),  # CEST
        span(utc(2026, 10, 25, 8), utc(2026, 10, 25, 11, 30)),  # CET
        span(utc(2026, 10, 26, 8), utc(2026, 10, 26, 11, 30)),
    ]
    assert {i.end - i.start for i in got} == {timedelta(hours=3, minutes=30)}


def test_fall_back_ambiguous_times_take_the_first_occurrence():
    """01:00-04:00 that night lasts 4 h; 02:00-02:30 is the first 02:00-02:30 (summer time, fold=0)."""
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, (
        WeeklyInterval(6, time(1), time(4)),
    ))])
    assert open_intervals(cal, date(2026, 10, 25), date(2026, 10, 25)) == [
        span(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3)),
    ]
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, (WeeklyInterval(6, time(2), time(2, 30)),))])
    assert open_intervals(cal, date(2026, 10, 25), date(2026, 10, 25)) == [
        span(utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30)),
    ]


def test_slots_on_the_dst_weekends_have_the_exact_length_and_local_times():
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, week(EVERY_DAY, MORNING))])
    rules = SlotRules(length=timedelta(minutes=45), buffer=timedelta(minutes=15), min_notice=timedelta(0))
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        slots = bookable_slots(cal, [tutor(7, 1, days=EVERY_DAY)], [], day, day, rules, utc(2026, 1, 1, 0))
        assert [s.start.astimezone(ROME).strftime("%H:%M") for s in slots] == ["09:00", "10:00", "11:00"]
        assert {s.end - s.start for s in slots} == {timedelta(minutes=45)}


# --- Schedules, holidays, closures, extra openings ---------------------------------------------

WINTER = Schedule(date(2026, 1, 1), date(2026, 6, 30), week(WEEKDAYS, MORNING, AFTERNOON))
SUMMER = Schedule(date(2026, 7, 1), date(2026, 9, 14), week(range(6), (time(9), time(13))))


def test_schedule_change_at_midnight():
    """Winter hours until Tuesday 30 June, summer hours from Wednesday 1 July."""
    cal = desk(schedules=[SUMMER, WINTER])
    assert open_intervals(cal, date(2026, 6, 30), date(2026, 7, 1)) == [
        span(utc(2026, 6, 30, 7), utc(2026, 6, 30, 10, 30)),
        span(utc(2026, 6, 30, 12), utc(2026, 6, 30, 15, 30)),
        span(utc(2026, 7, 1, 7), utc(2026, 7, 1, 11)),
    ]
    assert day_summary(cal, date(2026, 6, 30)).schedule is WINTER
    assert day_summary(cal, date(2026, 7, 1)).schedule is SUMMER
    assert open_intervals(cal, date(2026, 9, 15), date(2026, 9, 15)) == []  # no schedule after the summer


def test_holidays_inside_a_season_close_the_whole_day():
    cal = desk(schedules=[WINTER, SUMMER], holidays=holidays_for([2026]))
    assert open_intervals(cal, date(2026, 6, 2), date(2026, 6, 2)) == []  # Festa della Repubblica, a Tuesday
    assert len(open_intervals(cal, date(2026, 6, 1), date(2026, 6, 3))) == 4  # Monday and Wednesday open
    assert open_intervals(cal, date(2026, 8, 15), date(2026, 8, 15)) == []  # Ferragosto, a Saturday
    assert open_intervals(cal, date(2026, 8, 14), date(2026, 8, 14)) == [span(utc(2026, 8, 14, 7), utc(2026, 8, 14, 11))]
    summary = day_summary(cal, date(2026, 6, 2))
    assert summary.holiday == "Festa della Repubblica"
    assert not summary.is_open


def test_easter_monday_and_patron_day_of_one_town_only():
    patron = (11, 11, "Santo patrono di prova")
    in_town = desk(desk_id=1, holidays=holidays_for([2026], patron))
    elsewhere = desk(desk_id=2, holidays=holidays_for([2026]))
    assert open_intervals(in_town, date(2026, 4, 6), date(2026, 4, 6)) == []
    assert open_intervals(in_town, date(2026, 11, 11), date(2026, 11, 11)) == []
    assert day_summary(in_town, date(2026, 11, 11)).holiday == "Santo patrono di prova"
    assert open_intervals(elsewhere, date(2026, 11, 11), date(2026, 11, 11)) == [
        span(utc(2026, 11, 11, 8), utc(2026, 11, 11, 11, 30)),
        span(utc(2026, 11, 11, 13), utc(2026, 11, 11, 16, 30)),
    ]


def test_partial_day_closure_subtracts_only_its_hours():
    """Closed 10:00-15:00 Rome on Wednesday 4 March (CET): open 9:00-10:00 and 15:00-17:30."""
    closure = Closure(datetime(2026, 3, 4, 10, tzinfo=ROME), datetime(2026, 3, 4, 15, tzinfo=ROME), "Formazione")
    cal = desk(closures=(closure,))
    assert open_intervals(cal, date(2026, 3, 4), date(2026, 3, 4)) == [
        span(utc(2026, 3, 4, 8), utc(2026, 3, 4, 9)),
        span(utc(2026, 3, 4, 14), utc(2026, 3, 4, 16, 30)),
    ]
    summary = day_summary(cal, date(2026, 3, 4))
    assert [c.reason for c in summary.closures] == ["Formazione"]
    assert day_summary(cal, date(2026, 3, 5)).closures == ()


def test_closure_over_a_range_of_days():
    closure = Closure(datetime(2026, 12, 23, tzinfo=ROME), datetime(2026, 12, 28, tzinfo=ROME), "Chiusura natalizia")
    cal = desk(closures=(closure,))
    got = open_intervals(cal, date(2026, 12, 21), date(2026, 12, 29))
    assert {i.start.astimezone(ROME).date() for i in got} == {date(2026, 12, 21), date(2026, 12, 22),
                                                             date(2026, 12, 28), date(2026, 12, 29)}
    assert [c.reason for c in day_summary(cal, date(2026, 12, 24)).closures] == ["Chiusura natalizia"]


def test_town_wide_closure_closes_every_desk_of_the_town():
    """The desks area gives a town (or all-desk) closure to each desk it covers."""
    strike = Closure(datetime(2026, 5, 6, tzinfo=ROME), datetime(2026, 5, 7, tzinfo=ROME), "Assemblea comunale")
    town = [desk(desk_id=n, closures=(strike,)) for n in (1, 2, 3)]
    other = desk(desk_id=4)
    for cal in town:
        assert open_intervals(cal, date(2026, 5, 6), date(2026, 5, 6)) == []
        assert open_intervals(cal, date(2026, 5, 7), date(2026, 5, 7)) != []
    assert len(open_intervals(other, date(2026, 5, 6), date(2026, 5, 6))) == 2


def test_extra_openings_add_time_merge_and_win_over_holidays_but_not_closures():
    saturday = ExtraOpening(date(2026, 3, 7), time(9), time(12))
    longer_monday = ExtraOpening(date(2026, 3, 9), time(12), time(14))  # bridges the lunch break
    on_holiday = ExtraOpening(date(2026, 6, 2), time(10), time(12))
    closed = ExtraOpening(date(2026, 3, 10), time(18), time(19))
    closure = Closure(datetime(2026, 3, 10, 17, tzinfo=ROME), datetime(2026, 3, 10, 20, tzinfo=ROME), "Sala occupata")
    cal = desk(extra_openings=(saturday, longer_monday, on_holiday, closed), closures=(closure,),
               holidays=holidays_for([2026]))
    assert open_intervals(cal, date(2026, 3, 7), date(2026, 3, 7)) == [span(utc(2026, 3, 7, 8), utc(2026, 3, 7, 11))]
    assert open_intervals(cal, date(2026, 3, 9), date(2026, 3, 9)) == [span(utc(2026, 3, 9, 8), utc(2026, 3, 9, 16, 30))]
    assert open_intervals(cal, date(2026, 6, 2), date(2026, 6, 2)) == [span(utc(2026, 6, 2, 8), utc(2026, 6, 2, 10))]
    assert open_intervals(cal, date(2026, 3, 10), date(2026, 3, 10)) == [
        span(utc(2026, 3, 10, 8), utc(2026, 3, 10, 11, 30)),
        span(utc(2026, 3, 10, 13), utc(2026, 3, 10, 16)),
    ]
    summary = day_summary(cal, date(2026, 6, 2))
    assert summary.holiday == "Festa della Repubblica"
    assert summary.extra_openings == (on_holiday,)
    assert summary.is_open


def test_an_interval_ending_at_midnight_runs_to_the_next_day():
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, (WeeklyInterval(4, time(20), time(0)),))])
    assert open_intervals(cal, date(2026, 3, 6), date(2026, 3, 6)) == [span(utc(2026, 3, 6, 19), utc(2026, 3, 6, 23))]


def test_empty_or_reversed_range():
    assert open_intervals(desk(), date(2026, 3, 6), date(2026, 3, 5)) == []
    assert open_intervals(desk(schedules=[]), date(2026, 3, 2), date(2026, 3, 8)) == []


# --- Open now, next opening ----------------------------------------------------------------------

def test_is_open_current_interval_and_next_opening_on_a_weekday():
    cal = desk()
    ten = datetime(2026, 3, 4, 10, tzinfo=ROME)
    assert is_open(cal, ten)
    assert current_interval(cal, ten) == span(utc(2026, 3, 4, 8), utc(2026, 3, 4, 11, 30))
    assert next_opening(cal, ten) == span(utc(2026, 3, 4, 13), utc(2026, 3, 4, 16, 30))
    one_pm = datetime(2026, 3, 4, 13, tzinfo=ROME)
    assert not is_open(cal, one_pm)
    assert current_interval(cal, one_pm) is None
    assert is_open(cal, datetime(2026, 3, 4, 9, tzinfo=ROME))  # start included
    assert not is_open(cal, datetime(2026, 3, 4, 12, 30, tzinfo=ROME))  # end excluded


def test_next_opening_skips_the_weekend_and_easter_monday():
    cal = desk(holidays=holidays_for([2026]))
    friday_evening = datetime(2026, 4, 3, 18, tzinfo=ROME)
    assert next_opening(cal, friday_evening) == span(utc(2026, 4, 7, 7), utc(2026, 4, 7, 10, 30))


def test_next_opening_is_none_beyond_the_search_window():
    cal = desk(schedules=[Schedule(date(2026, 9, 1), None, week(WEEKDAYS, MORNING))])
    assert next_opening(cal, datetime(2026, 1, 10, tzinfo=ROME)) is None
    assert next_opening(cal, datetime(2026, 8, 1, tzinfo=ROME)) == span(utc(2026, 9, 1, 7), utc(2026, 9, 1, 10, 30))


def test_next_opening_sees_an_interval_that_crosses_the_first_week():
    cal = desk(schedules=[Schedule(date(2026, 1, 1), None, (
        WeeklyInterval(6, time(20), time(0)), WeeklyInterval(0, time(0), time(2)))),
    ])
    got = next_opening(cal, datetime(2026, 3, 2, 12, tzinfo=ROME))  # a Monday: next is Sunday 8 March
    assert got == span(utc(2026, 3, 8, 19), utc(2026, 3, 9, 1))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        is_open(desk(), datetime(2026, 3, 4, 10))


# --- Bookable slots --------------------------------------------------------------------------------

RULES = SlotRules(length=timedelta(minutes=45), buffer=timedelta(minutes=15), min_notice=timedelta(0))
WEDNESDAY = date(2026, 3, 4)
EARLY = utc(2026, 1, 1, 0)


def morning_desk(**kwargs) -> DeskCalendar:
    """A desk open only 9:00-12:30 on weekdays."""
    return desk(schedules=[Schedule(date(2026, 1, 1), None, week(WEEKDAYS, MORNING))], **kwargs)


def rome(hh, mm=0, day=WEDNESDAY) -> datetime:
    """An instant on `day` (default Wednesday 4 March 2026) in Rome time."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ROME)


def test_slots_step_by_length_plus_buffer_inside_desk_and_tutor_hours():
    cal = morning_desk()
    late = tutor(8, 1, pairs=((time(10), time(17)),))
    slots = bookable_slots(cal, [tutor(7, 1), late], [], WEDNESDAY, WEDNESDAY, RULES, EARLY)
    assert starts(slots) == [("04/03 09:00", 7), ("04/03 10:00", 7), ("04/03 10:00", 8),
                             ("04/03 11:00", 7), ("04/03 11:00", 8)]
    assert {s.end - s.start for s in slots} == {timedelta(minutes=45)}
    assert {s.desk_id for s in slots} == {1}


def test_buffer_zero_and_explicit_step():
    cal = morning_desk()
    no_buffer = SlotRules(length=timedelta(minutes=45), buffer=timedelta(0), min_notice=timedelta(0))
    slots = bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, no_buffer, EARLY)
    assert starts(slots) == [("04/03 09:00", 7), ("04/03 09:45", 7), ("04/03 10:30", 7), ("04/03 11:15", 7)]
    quarter = SlotRules(length=timedelta(hours=3), buffer=timedelta(0), min_notice=timedelta(0),
                        step=timedelta(minutes=15))
    slots = bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, quarter, EARLY)
    assert starts(slots) == [("04/03 09:00", 7), ("04/03 09:15", 7), ("04/03 09:30", 7)]


def test_min_notice_drops_early_slots_but_keeps_the_grid():
    cal = morning_desk()
    rules = SlotRules(length=timedelta(minutes=45), buffer=timedelta(minutes=15), min_notice=timedelta(hours=2))
    slots = bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, rules, rome(8, 30))
    assert starts(slots) == [("04/03 11:00", 7)]  # 10:30 is the earliest start; 11:00 is the next grid point
    assert bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, rules, rome(9, 0)) == [
        bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, RULES, EARLY)[-1]]


def test_buffer_around_an_appointment_and_the_grid_restarting_after_it():
    cal = morning_desk()
    on_grid = Busy(rome(10), rome(10, 45), desk_id=1, tutor_id=7)
    assert starts(bookable_slots(cal, [tutor(7, 1)], [on_grid], WEDNESDAY, WEDNESDAY, RULES, EARLY)) == [
        ("04/03 09:00", 7), ("04/03 11:00", 7)]
    off_grid = Busy(rome(10, 10), rome(10, 55), desk_id=1, tutor_id=7)  # blocks 09:55-11:10 with the buffer
    assert starts(bookable_slots(cal, [tutor(7, 1)], [off_grid], WEDNESDAY, WEDNESDAY, RULES, EARLY)) == [
        ("04/03 09:00", 7), ("04/03 11:10", 7)]
    tight = Busy(rome(9, 50), rome(10, 45), desk_id=1, tutor_id=7)  # 09:00-09:45 + 15 min buffer overlaps it
    assert starts(bookable_slots(cal, [tutor(7, 1)], [tight], WEDNESDAY, WEDNESDAY, RULES, EARLY)) == [
        ("04/03 11:00", 7)]


def test_tutor_busy_at_another_desk_is_not_offered_at_this_one():
    here, there = morning_desk(desk_id=1), morning_desk(desk_id=2)
    both = tutor(7, 1, 2)
    elsewhere = Busy(rome(10), rome(10, 45), desk_id=2, tutor_id=7)
    assert starts(bookable_slots(here, [both], [elsewhere], WEDNESDAY, WEDNESDAY, RULES, EARLY)) == [
        ("04/03 09:00", 7), ("04/03 11:00", 7)]
    # the slots offered at desk 2 are the same times: the booking at desk 2 blocks its own slot too
    assert starts(bookable_slots(there, [both], [elsewhere], WEDNESDAY, WEDNESDAY, RULES, EARLY)) == [
        ("04/03 09:00", 7), ("04/03 11:00", 7)]
    # a tutor with no availability at this desk is never offered here
    assert bookable_slots(here, [tutor(9, 2)], [], WEDNESDAY, WEDNESDAY, RULES, EARLY) == []


def test_rooms_limit_concurrent_appointments_at_the_desk():
    other_tutor_booked = Busy(rome(9), rome(9, 45), desk_id=1, tutor_id=8)
    room_only = Busy(rome(11), rome(11, 45), desk_id=1)  # e.g. a group session without a tutor
    one_room = morning_desk(rooms=1)
    assert starts(bookable_slots(one_room, [tutor(7, 1)], [other_tutor_booked, room_only], WEDNESDAY, WEDNESDAY,
                                 RULES, EARLY)) == [("04/03 09:45", 7), ("04/03 11:45", 7)]  # the grid restarts when the room frees
    two_rooms = morning_desk(rooms=2)
    assert starts(bookable_slots(two_rooms, [tutor(7, 1)], [other_tutor_booked, room_only], WEDNESDAY, WEDNESDAY,
                                 RULES, EARLY)) == [("04/03 09:00", 7), ("04/03 10:00", 7), ("04/03 11:00", 7)]
    # appointments at another desk do not use this desk's rooms
    away = Busy(rome(9), rome(12, 30), desk_id=2, tutor_id=8)
    assert len(bookable_slots(one_room, [tutor(7, 1)], [away], WEDNESDAY, WEDNESDAY, RULES, EARLY)) == 3


def test_young_person_busy_elsewhere_blocks_and_filters():
    cal = morning_desk()
    theirs = Busy(rome(10), rome(10, 45), desk_id=3, tutor_id=99, young_person_id=42)
    tutors = [tutor(7, 1), tutor(8, 1)]
    slots = bookable_slots(cal, tutors, [theirs], WEDNESDAY, WEDNESDAY, RULES, EARLY, young_person_id=42)
    assert starts(slots) == [("04/03 09:00", 7), ("04/03 09:00", 8), ("04/03 11:00", 7), ("04/03 11:00", 8)]
    assert len(bookable_slots(cal, tutors, [theirs], WEDNESDAY, WEDNESDAY, RULES, EARLY, young_person_id=5)) == 6
    assert starts(bookable_slots(cal, tutors, [], WEDNESDAY, WEDNESDAY, RULES, EARLY, tutor_id=8)) == [
        ("04/03 09:00", 8), ("04/03 10:00", 8), ("04/03 11:00", 8)]


def test_absences_closures_and_holidays_remove_slots():
    sick = Interval(rome(0), rome(0, day=date(2026, 3, 5)))
    cal = morning_desk(closures=(Closure(rome(9, day=date(2026, 3, 6)), rome(11, day=date(2026, 3, 6)), "Guasto"),),
                       holidays={date(2026, 3, 3): "Festa di prova"})
    slots = bookable_slots(cal, [tutor(7, 1, absences=[sick])], [], date(2026, 3, 3), date(2026, 3, 6), RULES, EARLY)
    assert starts(slots) == [("05/03 09:00", 7), ("05/03 10:00", 7), ("05/03 11:00", 7), ("06/03 11:00", 7)]


def test_slots_follow_the_schedule_change_and_are_sorted_by_start_then_tutor():
    cal = desk(schedules=[SUMMER, WINTER])
    slots = bookable_slots(cal, [tutor(8, 1), tutor(7, 1)], [], date(2026, 6, 30), date(2026, 7, 1), RULES, EARLY)
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert starts(slots)[:2] == [("30/06 09:00", 7), ("30/06 09:00", 8)]
    assert [t for t, _ in starts(slots) if t.startswith("30/06")] == [
        t for t in ["30/06 09:00", "30/06 10:00", "30/06 11:00", "30/06 14:00", "30/06 15:00", "30/06 16:00"]
        for _ in (7, 8)]
    assert [t for t, _ in starts(slots) if t.startswith("01/07")] == [
        t for t in ["01/07 09:00", "01/07 10:00", "01/07 11:00", "01/07 12:00"] for _ in (7, 8)]


def test_no_slots_when_the_range_is_in_the_past_or_rules_are_wrong():
    cal = morning_desk()
    assert bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, RULES, rome(13)) == []
    with pytest.raises(ValueError):
        bookable_slots(cal, [tutor(7, 1)], [], WEDNESDAY, WEDNESDAY, SlotRules(length=timedelta(0)), EARLY)


# --- Validation helpers ----------------------------------------------------------------------------

def test_validate_schedule_intervals_messages():
    assert validate_schedule_intervals(week(WEEKDAYS, MORNING, AFTERNOON)) == []
    assert validate_schedule_intervals([WeeklyInterval(0, time(9), time(12)), WeeklyInterval(0, time(12), time(13))]) == []
    assert validate_schedule_intervals([WeeklyInterval(1, time(14), time(9))]) == [
        "Martedì: la fine (09:00) deve essere dopo l'inizio (14:00)."]
    assert validate_schedule_intervals([WeeklyInterval(0, time(9), time(12, 30)), WeeklyInterval(0, time(12), time(14))]) == [
        "Lunedì: gli intervalli 09:00–12:30 e 12:00–14:00 si sovrappongono."]
    assert validate_schedule_intervals([WeeklyInterval(7, time(9), time(10))]) == ["Giorno della settimana non valido."]
    assert validate_schedule_intervals([WeeklyInterval(4, time(20), time(0))]) == []  # until midnight


def test_schedules_overlap_and_validate_schedule():
    assert not schedules_overlap(WINTER, SUMMER)
    open_ended = Schedule(date(2026, 9, 1), None, ())
    assert schedules_overlap(Schedule(date(2026, 9, 14), date(2026, 9, 14), ()), SUMMER)  # one shared day
    assert schedules_overlap(open_ended, Schedule(date(2030, 1, 1), None, ()))
    assert not schedules_overlap(open_ended, WINTER)
    assert validate_schedule(open_ended, [WINTER, SUMMER]) == [
        "Il periodo si sovrappone a un altro orario dello sportello (dal 01/07/2026 al 14/09/2026)."]
    assert validate_schedule(Schedule(date(2026, 5, 1), date(2026, 4, 1), ())) == [
        "La fine della validità deve essere uguale o successiva all'inizio."]


def test_weekly_conflict_for_a_tutor_at_two_desks():
    mornings = Schedule(date(2026, 1, 1), None, week([0, 2], MORNING))
    afternoons = Schedule(date(2026, 1, 1), None, week([0, 2], AFTERNOON))
    tuesday_mornings = Schedule(date(2026, 1, 1), None, week([1], MORNING))
    assert weekly_conflict(mornings, Schedule(date(2026, 3, 1), None, week([2], (time(12), time(13)))))
    assert not weekly_conflict(mornings, afternoons)
    assert not weekly_conflict(mornings, tuesday_mornings)
    assert not weekly_conflict(Schedule(date(2026, 1, 1), date(2026, 1, 31), week([0], MORNING)),
                               Schedule(date(2026, 2, 1), None, week([0], MORNING)))


def test_overlapping_schedules_the_latest_starting_one_wins():
    """The desks area refuses overlapping schedules; the engine still answers deterministically."""
    base = Schedule(date(2026, 1, 1), None, week(WEEKDAYS, MORNING))
    exam_period = Schedule(date(2026, 6, 1), date(2026, 6, 30), week(WEEKDAYS, (time(15), time(19))))
    cal = desk(schedules=[exam_period, base])
    assert open_intervals(cal, date(2026, 6, 3), date(2026, 6, 3)) == [span(utc(2026, 6, 3, 13), utc(2026, 6, 3, 17))]
    assert open_intervals(cal, date(2026, 7, 1), date(2026, 7, 1)) == [span(utc(2026, 7, 1, 7), utc(2026, 7, 1, 10, 30))]


def test_empty_or_reversed_appointments_block_nothing():
    cal = morning_desk()
    broken = [Busy(rome(10, 45), rome(10), desk_id=1, tutor_id=7), Busy(rome(10), rome(10), desk_id=1, tutor_id=7)]
    assert len(bookable_slots(cal, [tutor(7, 1)], broken, WEDNESDAY, WEDNESDAY, RULES, EARLY)) == 3
