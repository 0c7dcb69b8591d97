"""Availability engine: when a desk is open and which slots can be booked.

Pure module (no Flask, no database). Inputs are plain frozen dataclasses that the
desks and bookings areas build from the database; every instant going in or out
is timezone-aware. Wall-clock rules (weekly hours, extra openings) are read in
Europe/Rome and converted to UTC, so the daylight-saving changes never create a
missing or duplicated hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


@dataclass(frozen=True)
class WeeklyInterval:
    """One opening interval on a weekday (0 = Monday), in local wall-clock time."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Schedule:
    """Weekly hours valid from `valid_from` to `valid_to` inclusive (None = open-ended)."""

    valid_from: date
    valid_to: date | None
    intervals: tuple[WeeklyInterval, ...]


@dataclass(frozen=True)
class Interval:
    """A span of time between two aware instants, end excluded."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Closure:
    """The desk is closed between two aware instants (a day, a range or part of a day)."""

    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class ExtraOpening:
    """An opening on a given date outside the weekly hours, local wall-clock time."""

    day: date
    start: time
    end: time


@dataclass(frozen=True)
class DeskCalendar:
    """Everything that decides when one desk is open."""

    desk_id: int
    schedules: tuple[Schedule, ...]
    closures: tuple[Closure, ...] = ()
    extra_openings: tuple[ExtraOpening, ...] = ()
    holidays: dict[date, str] = field(default_factory=dict)  # national + the town's patron day
    rooms: int = 1


@dataclass(frozen=True)
class TutorCalendar:
    """When a tutor works at each desk, and when they are away."""

    tutor_id: int
    availability: tuple[tuple[int, Schedule], ...]  # (desk_id, weekly availability)
    absences: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Busy:
    """An existing active appointment (filled by the bookings area)."""

    start: datetime
    end: datetime
    desk_id: int
    tutor_id: int | None = None
    young_person_id: int | None = None


@dataclass(frozen=True)
class Slot:
    """A bookable slot: this tutor, at this desk, between two aware instants."""

    desk_id: int
    tutor_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SlotRules:
    """How slots are cut from open time."""

    length: timedelta = timedelta(minutes=45)
    buffer: timedelta = timedelta(minutes=15)
    min_notice: timedelta = timedelta(hours=2)
    step: timedelta | None = None  # defaults to length + buffer
