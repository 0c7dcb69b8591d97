"""View models for desk calendars: weeks, months, day cells, "open now", the public timetable.

Everything here reads a `DeskCalendar` (built by `app.desks.services.desk_calendar`)
through the availability engine and turns it into plain objects the templates
print. No permission checks happen here: the routes decide what a viewer may see
(closure reasons, free-slot counts) and pass it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.domain.availability import (
    ROME,
    Busy,
    DaySummary,
    DeskCalendar,
    Interval,
    Schedule,
    SlotRules,
    bookable_slots,
    current_interval,
    day_summary,
    local_date,
    next_opening,
)
from app.models.base import utcnow

WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATUS_HORIZON_DAYS = 60  # how far "next opening" looks ahead (the engine's search limit)
PUBLIC_CLOSURE_DAYS = 366  # how far the public page lists closures (a summer break is planned months ahead)
PUBLIC_HOLIDAY_DAYS = 60  # holidays are common knowledge: only the coming two months are listed


def busy_for(desk_ids: list[int], start: date, end: date, tutor_ids: list[int] | None = None) -> list[Busy]:
    """Appointments that already take time at these desks between two local dates (inclusive).

    THE HOOK THE BOOKINGS ISSUE FILLS: today there are no bookings, so nothing is busy and
    the free-slot counts of the calendars are the engine's bookable slots with an empty
    agenda. When bookings exist, return one `Busy` per active appointment (of these desks
    and of the tutors working there, so a tutor busy elsewhere is not offered twice).
    Wired to `app.bookings.services.busy_intervals`. `tutor_ids` (when the caller has them, e.g. the
    tutors whose calendars it counts) saves looking up the desks' tutors.
    """
    import sqlalchemy as sa

    from app.bookings.services import busy_intervals
    from app.extensions import db
    from app.models import desk_tutors

    if not desk_ids:
        return []
    if tutor_ids is None:
        tutor_ids = list(db.session.scalars(sa.select(desk_tutors.c.user_id)
                                            .where(desk_tutors.c.desk_id.in_(desk_ids))))
    window_start = _local_midnight(start - timedelta(days=1))
    window_end = _local_midnight(end + timedelta(days=2))
    return busy_intervals(desk_ids, tutor_ids, start=window_start, end=window_end)


# --- Small helpers -----------------------------------------------------------------

def monday_of(day: date) -> date:
    """The Monday starting the week of `day` (weeks start on Monday in Italy)."""
    return day - timedelta(days=day.weekday())


def month_bounds(anchor: date) -> tuple[date, date]:
    """First and last day of the month of `anchor`."""
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def shift_month(anchor: date, months: int) -> date:
    """The first day of the month `months` away from the month of `anchor`."""
    index = anchor.year * 12 + anchor.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def today_local(now: datetime | None = None) -> date:
    """Today's date in Europe/Rome."""
    return local_date(now or utcnow())


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ROME)


@dataclass(frozen=True)
class ClosedSpan:
    """The part of a closure that falls on one local day."""

    whole_day: bool
    start: datetime  # aware, clipped to the day
    end: datetime
    reason: str = ""


def closures_on(summary: DaySummary) -> list[ClosedSpan]:
    """The closures touching a day, clipped to it, with their reasons."""
    day_start = _local_midnight(summary.day)
    day_end = _local_midnight(summary.day + timedelta(days=1))
    spans = []
    for closure in summary.closures:
        start, end = max(closure.start, day_start), min(closure.end, day_end)
        if end <= start:
            continue
        spans.append(ClosedSpan(start <= day_start and end >= day_end, start, end, closure.reason))
    return spans


# --- Calendar grids (week and month) ---------------------------------------------------

@dataclass
class DayCell:
    """One day of one desk in a calendar grid."""

    summary: DaySummary
    in_period: bool = True  # False for the days of the neighbouring months in a month grid
    is_today: bool = False
    free_slots: int | None = None  # None when not computed (no tutors, or past days)
    closed: list[ClosedSpan] = field(default_factory=list)

    @property
    def day(self) -> date:
        return self.summary.day

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self.summary.intervals


@dataclass
class CalendarView:
    """A week or a month of one desk, ready for the calendar table."""

    kind: str  # "week" or "month"
    anchor: date  # the day that names the period (Monday of the week, 1st of the month)
    first: date  # the first and last day of the period itself
    last: date
    weeks: list[list[DayCell]]
    prev_anchor: date
    next_anchor: date

    @property
    def days(self) -> list[DayCell]:
        return [cell for week in self.weeks for cell in week]


def period_bounds(kind: str, anchor: date) -> tuple[date, date, date, date]:
    """(first, last) of the period and (grid_first, grid_last) of the Monday-first grid around it."""
    if kind == "month":
        first, last = month_bounds(anchor)
    else:
        first = monday_of(anchor)
        last = first + timedelta(days=6)
    grid_first = monday_of(first)
    grid_last = monday_of(last) + timedelta(days=6)
    return first, last, grid_first, grid_last


def free_slot_counts(calendar: DeskCalendar, tutors, rules: SlotRules, start: date, end: date,
                     now: datetime) -> dict[date, int]:
    """Bookable slots per local day (all tutors together), from the engine, minus what `busy_for` takes."""
    # Only these tutors' slots are counted, so only their busy time (and the desk's rooms) matters.
    busy = busy_for([calendar.desk_id], start, end, [t.tutor_id for t in tutors])
    counts: dict[date, int] = {}
    for slot in bookable_slots(calendar, tutors, busy, start, end, rules, now):
        day = local_date(slot.start)
        counts[day] = counts.get(day, 0) + 1
    return counts


def build_view(calendar: DeskCalendar, kind: str, anchor: date, *, now: datetime | None = None,
               slot_counts: dict[date, int] | None = None) -> CalendarView:
    """The week or month around `anchor` as rows of seven day cells (Monday first).

    `calendar` must cover the whole grid (see `period_bounds`). `slot_counts` (day -> free
    slots) is shown on days from today on; None means the viewer gets no counts.
    """
    now = now or utcnow()
    today = local_date(now)
    first, last, grid_first, grid_last = period_bounds(kind, anchor)
    weeks: list[list[DayCell]] = []
    day = grid_first
    while day <= grid_last:
        week = []
        for _ in range(7):
            summary = day_summary(calendar, day)
            free = None
            if slot_counts is not None and day >= today and first <= day <= last:
                free = slot_counts.get(day, 0)
            week.append(DayCell(summary, first <= day <= last, day == today, free, closures_on(summary)))
            day += timedelta(days=1)
        weeks.append(week)
    if kind == "month":
        prev_anchor, next_anchor = shift_month(first, -1), shift_month(first, 1)
    else:
        prev_anchor, next_anchor = first - timedelta(days=7), first + timedelta(days=7)
    return CalendarView(kind, first, first, last, weeks, prev_anchor, next_anchor)


# --- "Open now" ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DeskStatus:
    """Open now (until when) or closed (and the next opening, if any within the horizon)."""

    open_now: bool
    until: datetime | None = None
    next: Interval | None = None


def desk_status(calendar: DeskCalendar, now: datetime) -> DeskStatus:
    """Whether the desk is open at `now`; if not, its next opening."""
    current = current_interval(calendar, now)
    if current is not None:
        return DeskStatus(True, until=current.end)
    return DeskStatus(False, next=next_opening(calendar, now, max_days=STATUS_HORIZON_DAYS))


# --- Public timetable ---------------------------------------------------------------------

@dataclass(frozen=True)
class HoursSpec:
    """One schema.org OpeningHoursSpecification: a weekday's interval in a validity period."""

    weekday: int
    opens: time
    closes: time
    valid_from: date
    valid_through: date | None

    @property
    def day_of_week_url(self) -> str:
        return f"https://schema.org/{WEEKDAYS_EN[self.weekday]}"


def hours_specs(schedules: tuple[Schedule, ...], today: date) -> list[HoursSpec]:
    """Weekly hours valid today or later, as OpeningHoursSpecification items (past seasons left out)."""
    specs = []
    for schedule in sorted(schedules, key=lambda s: s.valid_from):
        if schedule.valid_to is not None and schedule.valid_to < today:
            continue
        for interval in sorted(schedule.intervals, key=lambda i: (i.weekday, i.start)):
            specs.append(HoursSpec(interval.weekday, interval.start, interval.end,
                                   schedule.valid_from, schedule.valid_to))
    return specs


@dataclass
class PublicClosure:
    """An upcoming closure as the public sees it: dates (and times when not whole days), never the reason."""

    first: date
    last: date
    start: datetime | None = None  # set when the closure starts or ends inside a day
    end: datetime | None = None
    holiday: str | None = None  # a public holiday's name, which is no secret


def _scheduled(summary: DaySummary) -> bool:
    """True when the desk's weekly hours (or an extra opening) would open it that day."""
    if summary.extra_openings:
        return True
    schedule = summary.schedule
    return schedule is not None and any(i.weekday == summary.day.weekday() for i in schedule.intervals)


def upcoming_closures(calendar: DeskCalendar, today: date, closure_days: int = PUBLIC_CLOSURE_DAYS,
                      holiday_days: int = PUBLIC_HOLIDAY_DAYS) -> list[PublicClosure]:
    """Closures not yet over (within `closure_days`) and holidays that fall on an opening day (within `holiday_days`).

    `calendar` must cover today .. today + closure_days. A closure from a local midnight to
    a local midnight is a range of whole days; any other keeps its times. The same span
    entered twice (for the desk and for the town) is listed once.
    """
    low = _local_midnight(today)
    high = _local_midnight(today + timedelta(days=closure_days + 1))
    result: list[PublicClosure] = []
    seen: set[tuple] = set()
    for closure in sorted(calendar.closures, key=lambda c: (c.start, c.end)):
        if closure.end <= low or closure.start >= high or (closure.start, closure.end) in seen:
            continue
        seen.add((closure.start, closure.end))
        local_start, local_end = closure.start.astimezone(ROME), closure.end.astimezone(ROME)
        if local_start.time() == time(0) and local_end.time() == time(0):
            result.append(PublicClosure(local_start.date(), local_end.date() - timedelta(days=1)))
        else:
            last = (local_end - timedelta(microseconds=1)).date()
            result.append(PublicClosure(local_start.date(), last, closure.start, closure.end))
    for day, name in sorted(calendar.holidays.items()):
        if today <= day <= today + timedelta(days=holiday_days) and _scheduled(day_summary(calendar, day)):
            result.append(PublicClosure(day, day, holiday=name))
    result.sort(key=lambda c: (c.first, c.start is not None, c.start or low))
    return result


@dataclass
class PublicDesk:
    """One desk on the public timetable: no staff, no internal reasons."""

    desk: object
    status: DeskStatus
    week: list[DaySummary]
    specs: list[HoursSpec]
    closures: list[PublicClosure]


def public_desk(desk, calendar: DeskCalendar, now: datetime) -> PublicDesk:
    """The public view of one desk: open now, this week's hours, seasons and upcoming closures."""
    today = local_date(now)
    monday = monday_of(today)
    week = [day_summary(calendar, monday + timedelta(days=i)) for i in range(7)]
    return PublicDesk(desk, desk_status(calendar, now), week, hours_specs(calendar.schedules, today),
                      upcoming_closures(calendar, today))
