"""View-model building without Flask: month grids, week anchors, "open now", public closures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from app.desks import calendars
from app.domain.availability import Closure, DeskCalendar, Schedule, WeeklyInterval

WEEKDAYS = tuple(WeeklyInterval(day, time(9), time(12, 30)) for day in range(5))
DESK = DeskCalendar(desk_id=1, schedules=(Schedule(date(2026, 1, 1), None, WEEKDAYS),),
                    holidays={date(2026, 12, 8): "Immacolata Concezione"})


def utc(*args) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def test_month_grid_is_monday_first_and_covers_whole_weeks():
    """February 2027 starts on a Monday and fills exactly four rows; March 2027 needs five."""
    february = calendars.build_view(DESK, "month", date(2027, 2, 17), now=utc(2026, 11, 26, 9))
    assert [len(week) for week in february.weeks] == [7, 7, 7, 7]
    assert february.weeks[0][0].day == date(2027, 2, 1) and february.weeks[-1][-1].day == date(2027, 2, 28)
    march = calendars.build_view(DESK, "month", date(2027, 3, 1), now=utc(2026, 11, 26, 9))
    assert march.weeks[0][0].day == date(2027, 3, 1) and march.weeks[-1][-1].day == date(2027, 4, 4)
    assert not march.weeks[-1][-1].in_period and march.weeks[0][0].in_period
    assert (march.prev_anchor, march.next_anchor) == (date(2027, 2, 1), date(2027, 4, 1))


def test_week_view_and_month_shift_across_the_year_end():
    """A week anchors on its Monday; months roll over December to January."""
    week = calendars.build_view(DESK, "week", date(2026, 12, 31), now=utc(2026, 11, 26, 9))
    assert week.first == date(2026, 12, 28) and week.last == date(2027, 1, 3)
    assert week.next_anchor == date(2027, 1, 4) and week.prev_anchor == date(2026, 12, 21)
    assert calendars.shift_month(date(2026, 12, 15), 1) == date(2027, 1, 1)
    assert calendars.shift_month(date(2027, 1, 31), -1) == date(2026, 12, 1)


def test_day_cells_carry_holidays_and_clipped_closures():
    """A holiday has no intervals and its name; a closure over midnight is clipped to each day."""
    desk = DeskCalendar(desk_id=1, schedules=DESK.schedules, holidays=DESK.holidays,
                        closures=(Closure(utc(2026, 12, 9, 16), utc(2026, 12, 10, 9), "Trasloco"),))
    cells = {c.day: c for c in calendars.build_view(desk, "week", date(2026, 12, 7), now=utc(2026, 11, 26, 9)).days}
    assert cells[date(2026, 12, 8)].summary.holiday == "Immacolata Concezione" and not cells[date(2026, 12, 8)].intervals
    evening, morning = cells[date(2026, 12, 9)].closed[0], cells[date(2026, 12, 10)].closed[0]
    assert not evening.whole_day and evening.start == utc(2026, 12, 9, 16) and evening.end == utc(2026, 12, 9, 23)
    assert morning.start == utc(2026, 12, 9, 23) and morning.reason == "Trasloco"
    assert [(i.start, i.end) for i in cells[date(2026, 12, 10)].intervals] == [(utc(2026, 12, 10, 9), utc(2026, 12, 10, 11, 30))]


def test_status_open_now_or_next_opening():
    """Open until 12:30 on a weekday morning; on Saturday the next opening is Monday 09:00 (08:00 UTC)."""
    assert calendars.desk_status(DESK, utc(2026, 12, 3, 9)) == calendars.DeskStatus(True, until=utc(2026, 12, 3, 11, 30))
    closed = calendars.desk_status(DESK, utc(2026, 12, 5, 9))
    assert not closed.open_now and closed.next.start == utc(2026, 12, 7, 8)


def test_public_closures_merge_duplicates_and_hide_nothing_but_reasons():
    """A town closure entered twice is listed once; whole days become a range; holidays only on opening days."""
    august = Closure(utc(2027, 8, 8, 22), utc(2027, 8, 20, 22), "Ferie")
    desk = DeskCalendar(desk_id=1, schedules=DESK.schedules, closures=(august, august,
                        Closure(utc(2026, 12, 2, 13), utc(2026, 12, 2, 17), "Formazione")),
                        holidays={date(2026, 12, 8): "Immacolata Concezione", date(2026, 12, 26): "Santo Stefano"})
    items = calendars.upcoming_closures(desk, date(2026, 11, 30))
    assert [(c.first, c.last, c.start is not None, c.holiday) for c in items] == [
        (date(2026, 12, 2), date(2026, 12, 2), True, None),
        (date(2026, 12, 8), date(2026, 12, 8), False, "Immacolata Concezione"),  # 26 December is a Saturday
        (date(2027, 8, 9), date(2027, 8, 20), False, None),
    ]
    assert not hasattr(items[0], "reason")


def test_hours_specs_skip_past_seasons():
    """Only the schedules still valid today or later become OpeningHoursSpecification items."""
    past = Schedule(date(2025, 1, 1), date(2025, 12, 31), WEEKDAYS)
    summer = Schedule(date(2027, 7, 1), date(2027, 8, 31), (WeeklyInterval(0, time(9), time(13)),))
    specs = calendars.hours_specs((past, DESK.schedules[0], summer), date(2026, 11, 30))
    assert len(specs) == 6 and specs[-1].valid_from == date(2027, 7, 1)
    assert specs[0].day_of_week_url == "https://schema.org/Monday"
