"""Availability engine: when a desk is open and which slots can be booked.

Pure module (no Flask, no database). Inputs are plain frozen dataclasses that the
desks and bookings areas build from the database; every instant going in or out
is timezone-aware. Wall-clock rules (weekly hours, extra openings) are read in
Europe/Rome and converted to UTC, so the daylight-saving changes never create a
missing or duplicated hour. Rules and decisions: docs/availability.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from operator import attrgetter, itemgetter
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


class BusyIndex(tuple):
    """Existing appointments: an immutable sequence of `Busy`, indexed by desk, tutor and young person on first use.

    Pass it wherever `busy` is expected (it is a tuple of `Busy`). `bookable_slots` then reads
    one desk's, its tutors' and the young person's appointments from the index instead of
    scanning every row, so one list can serve many desks (all the desks' calendars, the
    benchmark) for the price of one pass. Being immutable, the index never goes stale.
    Every row is converted when the index is built, so a naive instant in any row raises
    `ValueError` then (a plain list only checks the rows that matter to the call).
    """

    @cached_property
    def _index(self) -> tuple[dict[int, list[Span]], dict[int, list[Span]], dict[int, list[Span]]]:
        """(by desk, by tutor, by young person): each appointment as a span, in input order."""
        # `_busy_span` for every row, inlined, with each distinct instant converted once: appointments
        # sit on the slot grids, so some 10,000 rows share about a thousand instants, and a dict
        # lookup costs less than `timestamp()` plus `floor`. Instants that are equal (the same moment,
        # whatever the time zone) convert to the same seconds, so the cache cannot change an answer.
        floor, ceil = math.floor, math.ceil
        floors: dict[datetime, int] = {}
        ceils: dict[datetime, int] = {}
        by_desk: defaultdict[int, list[Span]] = defaultdict(list)
        by_tutor: defaultdict[int, list[Span]] = defaultdict(list)
        by_person: defaultdict[int, list[Span]] = defaultdict(list)
        fields = attrgetter("start", "end", "desk_id", "tutor_id", "young_person_id")
        for start, end, desk_id, tutor_id, young_person_id in map(fields, self):
            begin = floors.get(start)
            if begin is None:
                if start.tzinfo is None:
                    raise ValueError(f"naive datetime not allowed: {start!r}")
                begin = floors[start] = floor(start.timestamp())
            finish = ceils.get(end)
            if finish is None:
                if end.tzinfo is None:
                    raise ValueError(f"naive datetime not allowed: {end!r}")
                finish = ceils[end] = ceil(end.timestamp())
            span = (begin, finish)
            by_desk[desk_id].append(span)
            if tutor_id is not None:
                by_tutor[tutor_id].append(span)
            if young_person_id is not None:
                by_person[young_person_id].append(span)
        return dict(by_desk), dict(by_tutor), dict(by_person)


class Slot(tuple):
    """A bookable slot: this tutor, at this desk, between two aware instants.

    Behaves as the frozen dataclass it used to be: fields `desk_id`, `tutor_id`, `start`,
    `end` (positional or keyword construction), immutable, equal only to another `Slot`
    with the same fields, hashable (same hash as before), no ordering, same repr.
    It is a tuple underneath because `bookable_slots` builds tens of thousands of them
    (all desks over three months: some 22,000) and a tuple is built about three times
    faster than a frozen dataclass, whose `__init__` sets each field through
    `object.__setattr__`. Unpacking and indexing also work, as a side effect.
    """

    __slots__ = ()
    __match_args__ = ("desk_id", "tutor_id", "start", "end")

    def __new__(cls, desk_id: int, tutor_id: int, start: datetime, end: datetime) -> Slot:
        return tuple.__new__(cls, (desk_id, tutor_id, start, end))

    desk_id = property(itemgetter(0), doc="The desk.")
    tutor_id = property(itemgetter(1), doc="The tutor.")
    start = property(itemgetter(2), doc="Start, aware UTC.")
    end = property(itemgetter(3), doc="End (excluded), aware UTC.")

    def __repr__(self) -> str:
        return f"Slot(desk_id={self[0]!r}, tutor_id={self[1]!r}, start={self[2]!r}, end={self[3]!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return tuple.__eq__(self, other)
        # A plain tuple would answer through `tuple.__eq__` (Slot is a tuple): a slot equals only a slot.
        return False if isinstance(other, tuple) else NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = tuple.__hash__  # hash((desk_id, tutor_id, start, end)), as the frozen dataclass

    def __lt__(self, other: object) -> bool:
        raise TypeError("slots have no order: sort them by a key")

    __le__ = __gt__ = __ge__ = __lt__

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getnewargs__(self) -> tuple[int, int, datetime, datetime]:
        return tuple(self)


@dataclass(frozen=True)
class SlotRules:
    """How slots are cut from open time."""

    length: timedelta = timedelta(minutes=45)
    buffer: timedelta = timedelta(minutes=15)
    min_notice: timedelta = timedelta(hours=2)
    step: timedelta | None = None  # defaults to length + buffer


@dataclass(frozen=True)
class DaySummary:
    """What a calendar shows for one local day of one desk."""

    day: date
    intervals: tuple[Interval, ...]  # open time that day, aware UTC, merged and sorted
    holiday: str | None = None  # the holiday's name when the day is one
    closures: tuple[Closure, ...] = ()  # closures touching the day (with their reasons)
    extra_openings: tuple[ExtraOpening, ...] = ()
    schedule: Schedule | None = None  # the weekly schedule valid that day, if any

    @property
    def is_open(self) -> bool:
        """True when the desk is open at some time that day."""
        return bool(self.intervals)


# ---------------------------------------------------------------------------
# Internals: instants are whole seconds since the Unix epoch (UTC) while computing,
# and become aware UTC datetimes only at the edges. Spans are (start, end) pairs,
# end excluded; span lists are kept sorted and disjoint.

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY = 86400
MAX_SEARCH_DAYS = 60

Span = tuple[int, int]


def _to_seconds(moment: datetime, *, round_up: bool = False) -> int:
    """An aware instant as epoch seconds (sub-second parts rounded down, or up when asked)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime not allowed: {moment!r}")
    stamp = moment.timestamp()
    seconds = math.floor(stamp)
    return seconds + 1 if round_up and stamp != seconds else seconds


@lru_cache(maxsize=8192)
def _to_datetime(seconds: int) -> datetime:
    """Epoch seconds as an aware UTC datetime.

    Cached: slot grids repeat across tutors, desks and requests (all desks over three months
    produce about a thousand distinct instants for some 25,000 slots), and datetimes are immutable.
    """
    return datetime.fromtimestamp(seconds, UTC)


def local_date(moment: datetime) -> date:
    """The Europe/Rome calendar date of an aware instant."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime not allowed: {moment!r}")
    return moment.astimezone(ROME).date()


@lru_cache(maxsize=4096)
def _midnight(day: date) -> int:
    """Epoch seconds of local midnight starting `day` (midnight always exists in Rome)."""
    return _to_seconds(datetime(day.year, day.month, day.day, tzinfo=ROME))


@lru_cache(maxsize=4096)
def _uniform_offset(day: date) -> int | None:
    """The UTC offset in seconds valid all day long, or None on a day with a clock change."""
    start = _midnight(day)
    end = _midnight(day + timedelta(days=1))
    if end - start != _DAY:
        return None
    naive_midnight = (day.toordinal() - _EPOCH_ORDINAL) * _DAY
    return naive_midnight - start  # local wall seconds minus UTC seconds


def _wall_to_seconds(day: date, at: time) -> int:
    """A local wall-clock time on `day` as epoch seconds.

    Ambiguous times (02:30 on the last Sunday of October happens twice) take the first
    occurrence (fold=0, summer time). Non-existent times (02:30 on the last Sunday of
    March) become the instant the clock jumps (03:00 summer time), so an interval that
    covers the missing hour is shortened by it and one inside it is empty.
    `time(0)` as an end is handled by the caller as the following midnight.
    """
    wall = (day.toordinal() - _EPOCH_ORDINAL) * _DAY + at.hour * 3600 + at.minute * 60 + at.second
    offset = _uniform_offset(day)
    if offset is not None:
        return wall - offset
    return _wall_to_seconds_on_change_day(day, at)


@lru_cache(maxsize=1024)
def _wall_to_seconds_on_change_day(day: date, at: time) -> int:
    """Slow path of `_wall_to_seconds` for the two days a year with a clock change."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = _to_seconds(naive.replace(tzinfo=ROME, fold=0))
    if _to_datetime(first).astimezone(ROME).replace(tzinfo=None) == naive:
        return first  # exists (the first occurrence if ambiguous)
    # In the spring gap: find the instant the offset changes, between the two readings.
    low = _to_seconds(naive.replace(tzinfo=ROME, fold=1))
    high = first
    before = _to_datetime(low).astimezone(ROME).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if _to_datetime(middle).astimezone(ROME).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _wall_span(day: date, start: time, end: time) -> Span | None:
    """A local wall-clock interval on `day` as an epoch span; end 00:00 means midnight."""
    begin = _wall_to_seconds(day, start)
    finish = _midnight(day + timedelta(days=1)) if end == time(0) else _wall_to_seconds(day, end)
    return (begin, finish) if finish > begin else None


def _merge(spans: list[Span]) -> list[Span]:
    """Sort and merge overlapping or touching spans."""
    if not spans:
        return []
    ordered = iter(sorted(spans))
    current_start, current_end = next(ordered)
    merged: list[Span] = []
    for start, end in ordered:
        if start <= current_end:
            if end > current_end:
                current_end = end
        else:
            merged.append((current_start, current_end))
            current_start, current_end = start, end
    merged.append((current_start, current_end))
    return merged


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """The intersection of two sorted, disjoint span lists (one walk through both)."""
    result: list[Span] = []
    i = j = 0
    a_count, b_count = len(a), len(b)
    while i < a_count and j < b_count:
        a_start, a_end = a[i]
        b_start, b_end = b[j]
        start = a_start if a_start > b_start else b_start
        end = a_end if a_end < b_end else b_end
        if start < end:
            result.append((start, end))
        if a_end < b_end:
            i += 1
        else:
            j += 1
    return result


def _subtract(a: list[Span], b: list[Span]) -> list[Span]:
    """`a` minus `b`, both sorted and disjoint."""
    if not b:
        return a
    result: list[Span] = []
    j = 0
    b_count = len(b)
    for start, end in a:
        while j < b_count and b[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < b_count:
            cut_start, cut_end = b[k]
            if cut_start >= end:
                break
            if cut_start > cursor:
                result.append((cursor, cut_start))
            if cut_end > cursor:
                cursor = cut_end
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def _schedule_for(schedules: tuple[Schedule, ...] | list[Schedule], day: date) -> Schedule | None:
    """The schedule valid on `day`; if several are (the desks area refuses that), the latest-starting wins."""
    chosen: Schedule | None = None
    for schedule in schedules:
        if schedule.valid_from <= day and (schedule.valid_to is None or day <= schedule.valid_to):
            if chosen is None or schedule.valid_from > chosen.valid_from:
                chosen = schedule
    return chosen


def _schedule_runs(schedules: tuple[Schedule, ...] | list[Schedule], start: date, end: date):
    """Runs of consecutive days from `start` to `end` with one schedule in force, as (first, last, schedule).

    The schedule chosen for a day can only change where some schedule's validity starts or
    ends, so it is looked up once per run instead of once per day. Days without a schedule
    are left out. Days are proleptic ordinals (`date.toordinal()`), both ends inclusive.
    """
    first, last = start.toordinal(), end.toordinal()
    cuts = {first, last + 1}
    for schedule in schedules:
        cuts.add(schedule.valid_from.toordinal())
        if schedule.valid_to is not None:
            cuts.add(schedule.valid_to.toordinal() + 1)
    bounds = sorted(cut for cut in cuts if first <= cut <= last + 1)
    for run_start, next_start in zip(bounds, bounds[1:], strict=False):
        schedule = _schedule_for(schedules, date.fromordinal(run_start))
        if schedule is not None:
            yield run_start, next_start - 1, schedule


def _wall_seconds(at: time) -> int:
    """Seconds since local midnight of a wall-clock time (microseconds ignored, as `_wall_to_seconds` does)."""
    return at.hour * 3600 + at.minute * 60 + at.second


@lru_cache(maxsize=64)
def _local_days(first: int, last: int) -> tuple[tuple[date, int, int | None], ...]:
    """(day, weekday, epoch seconds of its local midnight) for the ordinals `first`..`last`.

    The midnight is None on a day with a clock change: there wall time is not midnight plus
    the clock reading, and `_wall_span` takes over.
    """
    days = []
    for ordinal in range(first, last + 1):
        day = date.fromordinal(ordinal)
        midnight = _midnight(day)
        uniform = _midnight(date.fromordinal(ordinal + 1)) - midnight == _DAY
        days.append((day, day.weekday(), midnight if uniform else None))
    return tuple(days)


def _by_weekday(schedule: Schedule) -> list[tuple[list[Span], list[WeeklyInterval]]]:
    """A schedule's intervals per weekday: (seconds after midnight of the non-empty ones, all of them).

    An end of 00:00 is midnight (86400). The seconds serve ordinary days; the intervals
    themselves serve the days with a clock change.
    """
    table: list[tuple[list[Span], list[WeeklyInterval]]] = [([], []) for _ in range(7)]
    for interval in schedule.intervals:
        if interval.weekday not in range(7):
            continue  # no such day (validation refuses it): never open
        begin = _wall_seconds(interval.start)
        finish = _DAY if interval.end == time(0) else _wall_seconds(interval.end)
        seconds, intervals = table[interval.weekday]
        if finish > begin:
            seconds.append((begin, finish))
        intervals.append(interval)
    return table


def _weekly_spans(schedules: tuple[Schedule, ...] | list[Schedule], start: date, end: date,
                  skip: dict[date, str] | None = None) -> list[Span]:
    """Spans of weekly hours from `start` to `end`, one schedule per day, skipping the `skip` dates.

    On an ordinary day local wall time is local midnight plus the seconds on the clock, so an
    interval is two additions; the two days a year with a clock change take `_wall_span`.
    """
    spans: list[Span] = []
    base = start.toordinal()
    days = _local_days(base, end.toordinal()) if end >= start else ()
    for first, last, schedule in _schedule_runs(schedules, start, end):
        table = _by_weekday(schedule)
        for day, weekday, midnight in days[first - base:last - base + 1]:
            seconds, intervals = table[weekday]
            if not intervals or (skip and day in skip):
                continue
            if midnight is not None:
                spans += [(midnight + begin, midnight + finish) for begin, finish in seconds]
            else:
                for interval in intervals:
                    span = _wall_span(day, interval.start, interval.end)
                    if span is not None:
                        spans.append(span)
    return _merge(spans)


def _closure_spans(closures: tuple[Closure, ...], low: int, high: int) -> list[Span]:
    """Closures overlapping [low, high) as merged spans (sub-second edges widen the closure)."""
    spans = []
    for closure in closures:
        start = _to_seconds(closure.start)
        end = _to_seconds(closure.end, round_up=True)
        if start < high and end > low and end > start:
            spans.append((start, end))
    return _merge(spans)


def _open_spans(desk: DeskCalendar, start: date, end: date) -> list[Span]:
    """The desk's open time from `start` to `end` (local dates, inclusive) as spans."""
    if end < start:
        return []
    spans = _weekly_spans(desk.schedules, start, end, skip=desk.holidays)
    extra = [
        span
        for opening in desk.extra_openings
        if start <= opening.day <= end
        for span in [_wall_span(opening.day, opening.start, opening.end)]
        if span is not None
    ]
    if extra:
        spans = _merge(spans + extra)
    if desk.closures and spans:
        low, high = _midnight(start), _midnight(end + timedelta(days=1))
        spans = _subtract(spans, _closure_spans(desk.closures, low, high))
    return spans


def _intervals(spans: list[Span]) -> list[Interval]:
    """Spans as aware UTC intervals."""
    return [Interval(_to_datetime(start), _to_datetime(end)) for start, end in spans]


# ---------------------------------------------------------------------------
# Public API


def open_intervals(desk: DeskCalendar, start: date, end: date) -> list[Interval]:
    """The desk's open time between two local dates (inclusive), as aware UTC intervals, merged and sorted.

    A day's weekly intervals come from the one schedule valid that day; a holiday closes
    the whole day; an extra opening adds time, even on a holiday (an explicit opening
    wins over the holiday calendar); closures subtract time from everything, extra
    openings included (a closure always wins).
    """
    return _intervals(_open_spans(desk, start, end))


def day_summary(desk: DeskCalendar, day: date) -> DaySummary:
    """One local day of a desk for calendars: open intervals, holiday, closures, extra openings."""
    low, high = _midnight(day), _midnight(day + timedelta(days=1))
    closures = tuple(
        closure
        for closure in sorted(desk.closures, key=lambda c: (c.start, c.end))
        if _to_seconds(closure.start) < high and _to_seconds(closure.end, round_up=True) > low
    )
    extra = tuple(sorted((o for o in desk.extra_openings if o.day == day), key=lambda o: (o.start, o.end)))
    return DaySummary(
        day=day,
        intervals=tuple(open_intervals(desk, day, day)),
        holiday=desk.holidays.get(day),
        closures=closures,
        extra_openings=extra,
        schedule=_schedule_for(desk.schedules, day),
    )


def current_interval(desk: DeskCalendar, now: datetime) -> Interval | None:
    """The open interval `now` falls in (to show "open until ..."), or None when closed."""
    moment = _to_seconds(now)
    today = local_date(now)
    for start, end in _open_spans(desk, today - timedelta(days=1), today + timedelta(days=1)):
        if start <= moment < end:
            return Interval(_to_datetime(start), _to_datetime(end))
    return None


def is_open(desk: DeskCalendar, now: datetime) -> bool:
    """True when the desk is open at the instant `now`."""
    return current_interval(desk, now) is not None


def next_opening(desk: DeskCalendar, now: datetime, max_days: int = MAX_SEARCH_DAYS) -> Interval | None:
    """The next open interval starting after `now`, looking at most `max_days` days ahead; None if none.

    While the desk is open this is the following opening, not the current one (see `current_interval`).
    """
    moment = _to_seconds(now)
    today = local_date(now)
    last = today + timedelta(days=max_days)
    for window_end in sorted({min(last, today + timedelta(days=6)), last}):  # a week first: the usual case
        for start, end in _open_spans(desk, today, window_end):
            if start > moment:
                if window_end == last or end < _midnight(window_end + timedelta(days=1)):
                    return Interval(_to_datetime(start), _to_datetime(end))
                break  # it may go on past the window: look again with the whole window
    return None


def _busy_span(busy: Busy) -> Span:
    """A Busy as a span (sub-second edges widen it); `_to_seconds` for both ends, inlined (hot path)."""
    start, end = busy.start, busy.end
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"naive datetime not allowed: {start if start.tzinfo is None else end!r}")
    return math.floor(start.timestamp()), math.ceil(end.timestamp())


def _full_spans(desk_busy: list[Span], rooms: int) -> list[Span]:
    """Where the desk's appointments already use every room."""
    if rooms <= 0:
        return [(-(2**62), 2**62)]
    if len(desk_busy) < rooms:
        return []
    events = [(start, 1) for start, end in desk_busy if end > start]
    events += [(end, -1) for start, end in desk_busy if end > start]
    events.sort()  # at equal instants -1 sorts first: back-to-back appointments do not stack
    spans: list[Span] = []
    count = 0
    full_since: int | None = None
    for instant, change in events:
        count += change
        if full_since is None:
            if count >= rooms:
                full_since = instant
        elif count < rooms:
            if instant > full_since:
                spans.append((full_since, instant))
            full_since = None
    return _merge(spans)


def _busy_spans_for(busy: Iterable[Busy], desk_id: int, tutor_ids: set[int], young_person_id: int | None,
                    ) -> tuple[list[Span], dict[int, list[Span]], list[Span]]:
    """The appointments that matter to one desk, as spans: (at the desk, per tutor of `tutor_ids`, of the young person).

    From the index of a `BusyIndex`; otherwise by one pass over `busy`, keeping the rows that
    matter before converting any (most appointments are elsewhere).
    """
    if isinstance(busy, BusyIndex):
        by_desk, by_tutor, by_person = busy._index
        return (by_desk.get(desk_id, []),
                {tutor: by_tutor[tutor] for tutor in tutor_ids if tutor in by_tutor},
                by_person.get(young_person_id, []) if young_person_id is not None else [])
    if young_person_id is None:
        rows = [item for item in busy if item.desk_id == desk_id or item.tutor_id in tutor_ids]
    else:
        rows = [item for item in busy if item.desk_id == desk_id or item.tutor_id in tutor_ids
                or item.young_person_id == young_person_id]
    at_desk: list[Span] = []
    of_tutors: dict[int, list[Span]] = {}
    of_person: list[Span] = []
    for item in rows:
        span = _busy_span(item)
        if item.desk_id == desk_id:
            at_desk.append(span)
        if item.tutor_id in tutor_ids:
            of_tutors.setdefault(item.tutor_id, []).append(span)
        if young_person_id is not None and item.young_person_id == young_person_id:
            of_person.append(span)
    return at_desk, of_tutors, of_person


def bookable_slots(
    desk: DeskCalendar,
    tutors: Iterable[TutorCalendar],
    busy: Iterable[Busy],
    start: date,
    end: date,
    rules: SlotRules,
    now: datetime,
    tutor_id: int | None = None,
    young_person_id: int | None = None,
) -> list[Slot]:
    """The slots that can be booked at `desk` between two local dates (inclusive), sorted by start then tutor.

    A slot lies inside the desk's open time and the tutor's availability at this desk
    (minus absences); starts no earlier than `now + rules.min_notice`; does not come
    within `rules.buffer` of any appointment of the same tutor (at any desk) or of the
    young person; and never makes more appointments run at once at the desk than it has
    rooms. Slots are cut every `rules.step` (default length + buffer) from the start of
    each free stretch, so after an appointment the grid restarts once its buffer ends.
    """
    length = int(rules.length.total_seconds())
    if length <= 0:
        raise ValueError("slot length must be positive")
    buffer = max(0, int(rules.buffer.total_seconds()))
    step = int(rules.step.total_seconds()) if rules.step else length + buffer
    if step <= 0:
        raise ValueError("slot step must be positive")
    earliest = _to_seconds(now + rules.min_notice, round_up=True)
    low = _midnight(start)
    high = _midnight(end + timedelta(days=1)) if end >= start else low
    if high <= earliest:
        return []

    # The grid stays anchored where open time begins; `earliest` only drops slots (below).
    desk_open = _open_spans(desk, start, end)
    if not desk_open or desk_open[-1][1] <= earliest:
        return []

    candidates = []
    for tutor in tutors:
        if tutor_id is not None and tutor.tutor_id != tutor_id:
            continue
        schedules = [schedule for desk_id, schedule in tutor.availability if desk_id == desk.desk_id]
        if schedules:
            candidates.append((tutor, schedules))
    if not candidates:
        return []
    wanted = {tutor.tutor_id for tutor, _ in candidates}

    desk_id = desk.desk_id
    at_desk, of_tutors, of_person = _busy_spans_for(busy, desk_id, wanted, young_person_id)
    reach_low, reach_high = low - buffer, high + buffer

    def blocking(spans: list[Span]) -> list[Span]:
        """The spans that can block a slot of this call (empty or reversed rows block nothing)."""
        return [(s, e) for s, e in spans if s < e and e > reach_low and s < reach_high]

    desk_busy = blocking(at_desk)
    tutor_busy = {tutor: blocking(spans) for tutor, spans in of_tutors.items()}
    person_busy = blocking(of_person)
    blocked_for_all = _full_spans(desk_busy, desk.rooms)
    if person_busy:
        blocked_for_all = _merge(blocked_for_all + [(s - buffer, e + buffer) for s, e in person_busy])

    slots: list[tuple[int, int, int]] = []
    shared_hours: dict[tuple[Schedule, ...], list[Span]] = {}  # tutors often share the same weekly hours
    for tutor, schedules in candidates:
        key = tuple(schedules)
        available = shared_hours.get(key)
        if available is None:
            available = shared_hours[key] = _intersect(desk_open, _weekly_spans(schedules, start, end))
        if tutor.absences and available:
            absences = _merge([(_to_seconds(a.start), _to_seconds(a.end, round_up=True)) for a in tutor.absences])
            available = _subtract(available, absences)
        blocked = blocked_for_all
        own = tutor_busy.get(tutor.tutor_id)
        if own:
            blocked = _merge(blocked + [(s - buffer, e + buffer) for s, e in own])
        for free_start, free_end in _subtract(available, blocked):
            if free_end <= earliest:
                continue
            first = free_start
            if first < earliest:
                first += -(-(earliest - first) // step) * step  # next grid point at or after `earliest`
            slots += [(slot_start, tutor.tutor_id, slot_start + length)
                      for slot_start in range(first, free_end - length + 1, step)]
    slots.sort()
    # Built straight as tuples: what `Slot(...)` does, minus a Python call per slot. `_to_datetime`
    # is cached: a few hundred distinct instants serve thousands of slots.
    new, to_datetime = tuple.__new__, _to_datetime
    return [new(Slot, (desk_id, slot_tutor, to_datetime(slot_start), to_datetime(slot_end)))
            for slot_start, slot_tutor, slot_end in slots]


# ---------------------------------------------------------------------------
# Validation helpers for the desks area (messages in Italian, plain strings)

WEEKDAY_NAMES = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")


def _hhmm(at: time) -> str:
    """A wall-clock time as HH:MM."""
    return at.strftime("%H:%M")


def _end_minutes(at: time) -> int:
    """Minutes since midnight of an interval end (00:00 means midnight, i.e. 24:00)."""
    return 24 * 60 if at == time(0) else at.hour * 60 + at.minute + at.second / 60


def validate_schedule_intervals(intervals: Iterable[WeeklyInterval]) -> list[str]:
    """Problems with a week's intervals (end before start, overlaps on one day); empty when fine."""
    errors: list[str] = []
    by_weekday: dict[int, list[WeeklyInterval]] = {}
    for interval in intervals:
        if not 0 <= interval.weekday <= 6:
            errors.append("Giorno della settimana non valido.")
            continue
        name = WEEKDAY_NAMES[interval.weekday].capitalize()
        start_minutes = interval.start.hour * 60 + interval.start.minute + interval.start.second / 60
        if _end_minutes(interval.end) <= start_minutes:
            errors.append(
                f"{name}: la fine ({_hhmm(interval.end)}) deve essere dopo l'inizio ({_hhmm(interval.start)})."
            )
            continue
        by_weekday.setdefault(interval.weekday, []).append(interval)
    for weekday in sorted(by_weekday):
        name = WEEKDAY_NAMES[weekday].capitalize()
        ordered = sorted(by_weekday[weekday], key=lambda i: (i.start, _end_minutes(i.end)))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.start.hour * 60 + after.start.minute + after.start.second / 60 < _end_minutes(before.end):
                errors.append(
                    f"{name}: gli intervalli {_hhmm(before.start)}–{_hhmm(before.end)} e "
                    f"{_hhmm(after.start)}–{_hhmm(after.end)} si sovrappongono."
                )
    return errors


def schedules_overlap(a: Schedule, b: Schedule) -> bool:
    """True when the validity periods of two schedules share at least one day."""
    a_end = a.valid_to or date.max
    b_end = b.valid_to or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def weekly_conflict(a: Schedule, b: Schedule) -> bool:
    """True when two schedules share a day and an hour: a tutor's availability at two desks must not."""
    if not schedules_overlap(a, b):
        return False
    for first in a.intervals:
        for second in b.intervals:
            if first.weekday != second.weekday:
                continue
            first_start = first.start.hour * 60 + first.start.minute + first.start.second / 60
            second_start = second.start.hour * 60 + second.start.minute + second.start.second / 60
            if first_start < _end_minutes(second.end) and second_start < _end_minutes(first.end):
                return True
    return False


def _date_it(day: date | None) -> str:
    """A date as gg/mm/aaaa ("senza scadenza" for an open end)."""
    return day.strftime("%d/%m/%Y") if day else "senza scadenza"


def validate_schedule(schedule: Schedule, others: Iterable[Schedule] = ()) -> list[str]:
    """Every problem with a schedule: its period, its intervals, overlaps with the desk's other schedules."""
    errors: list[str] = []
    if schedule.valid_to is not None and schedule.valid_to < schedule.valid_from:
        errors.append("La fine della validità deve essere uguale o successiva all'inizio.")
    errors.extend(validate_schedule_intervals(schedule.intervals))
    for other in others:
        if other is not schedule and schedules_overlap(schedule, other):
            errors.append(
                f"Il periodo si sovrappone a un altro orario dello sportello "
                f"(dal {_date_it(other.valid_from)} al {_date_it(other.valid_to)})."
            )
    return errors
