"""Benchmark: bookable slots for ~20 desks over 3 months, in-process (not collected by pytest).

Run: .venv/bin/python -m tests.domain.bench_availability
"""

from __future__ import annotations

import random
import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta

from app.domain.availability import (
    Busy,
    Closure,
    DeskCalendar,
    Interval,
    Schedule,
    SlotRules,
    TutorCalendar,
    WeeklyInterval,
    bookable_slots,
    open_intervals,
)
from app.domain.holidays import holidays_for

START, END = date(2026, 9, 1), date(2026, 11, 30)
DESKS, TUTORS_PER_DESK = 20, 4


def build(seed: int = 7):
    """Twenty desks with winter/summer hours, four tutors each, closures and ~30% of slots booked."""
    rng = random.Random(seed)
    holidays = holidays_for([2026], (11, 11, "San Martino"))
    winter = tuple(
        WeeklyInterval(day, start, end)
        for day in range(5)
        for start, end in ((time(9), time(12, 30)), (time(14), time(17, 30)))
    )
    summer = tuple(WeeklyInterval(day, time(9), time(13)) for day in range(5))
    desks, tutors = [], []
    for desk_id in range(1, DESKS + 1):
        closures = (
            Closure(datetime(2026, 10, 12 + desk_id % 5, 12, tzinfo=UTC), datetime(2026, 10, 12 + desk_id % 5, 17, tzinfo=UTC), "Assemblea"),
        )
        desks.append(DeskCalendar(
            desk_id=desk_id,
            schedules=(Schedule(date(2026, 1, 1), date(2026, 9, 14), summer), Schedule(date(2026, 9, 15), None, winter)),
            closures=closures,
            holidays=holidays,
            rooms=2,
        ))
        for n in range(TUTORS_PER_DESK):
            tutor_id = desk_id * 10 + n
            days = rng.sample(range(5), 3)
            availability = Schedule(date(2026, 1, 1), None, tuple(
                WeeklyInterval(day, time(9), time(17, 30)) for day in days))
            tutors.append(TutorCalendar(tutor_id, ((desk_id, availability),),
                                        (absence(date(2026, 10, 20), 5),)))
    busy = []
    for desk in desks:
        for day in (START + timedelta(days=i) for i in range(91)):
            for hour in (8, 9, 10, 13, 14, 15):
                if rng.random() < 0.3:
                    tutor_id = desk.desk_id * 10 + rng.randrange(TUTORS_PER_DESK)
                    begin = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
                    busy.append(Busy(begin, begin + timedelta(minutes=45), desk.desk_id, tutor_id, rng.randrange(500)))
    return desks, tutors, busy


def absence(day: date, days: int) -> Interval:
    """An absence of `days` days from `day`."""
    begin = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Interval(begin, begin + timedelta(days=days))


def main() -> None:
    """Time open intervals and bookable slots for every desk, best and median of 7 runs."""
    desks, tutors, busy = build()
    now = datetime(2026, 8, 31, 8, tzinfo=UTC)
    rules = SlotRules()
    runs, count = [], 0
    for _ in range(7):
        started = clock.perf_counter()
        count = 0
        for desk in desks:
            open_intervals(desk, START, END)
            count += len(bookable_slots(desk, tutors, busy, START, END, rules, now))
        runs.append(clock.perf_counter() - started)
    print(f"{len(desks)} desks x {len(tutors)} tutors, {len(busy)} busy, {START}..{END}: {count} slots")
    print(f"best {min(runs) * 1000:.1f} ms, median {statistics.median(runs) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
