"""Reference for the availability engine: its first, plain version (before the speed work of issue 11).

Kept verbatim (internals, open time, calendars and bookable slots) so that property tests can check
that the optimised engine returns exactly the same results. Not collected by pytest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from app.domain.availability import (
    ROME,
    Busy,
    Closure,
    DaySummary,
    DeskCalendar,
    Interval,
    Schedule,
    Slot,
    SlotRules,
    TutorCalendar,
    WeeklyInterval,
    local_date,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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


def _to_datetime(seconds: int) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return _EPOCH + timedelta(seconds=seconds)


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
    spans = sorted(spans)
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """The intersection of two sorted, disjoint span lists."""
    result: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
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
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                result.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
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


def _days(start: date, end: date):
    """Every date from `start` to `end` inclusive."""
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        yield date.fromordinal(ordinal)


def _weekly_spans(schedules: tuple[Schedule, ...] | list[Schedule], start: date, end: date,
                  skip: dict[date, str] | None = None) -> list[Span]:
    """Spans of weekly hours from `start` to `end`, one schedule per day, skipping the `skip` dates."""
    by_weekday_cache: dict[int, dict[int, list[WeeklyInterval]]] = {}
    spans: list[Span] = []
    for day in _days(start, end):
        if skip and day in skip:
            continue
        schedule = _schedule_for(schedules, day)
        if schedule is None:
            continue
        by_weekday = by_weekday_cache.get(id(schedule))
        if by_weekday is None:
            by_weekday = {}
            for interval in schedule.intervals:
                by_weekday.setdefault(interval.weekday, []).append(interval)
            by_weekday_cache[id(schedule)] = by_weekday
        for interval in by_weekday.get(day.weekday(), ()):
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
    """A Busy as a span (sub-second edges widen it)."""
    return (_to_seconds(busy.start), _to_seconds(busy.end, round_up=True))


def _full_spans(desk_busy: list[Span], rooms: int) -> list[Span]:
    """Where the desk's appointments already use every room."""
    if rooms <= 0:
        return [(-(2**62), 2**62)]
    events: list[tuple[int, int]] = []
    for start, end in desk_busy:
        if end > start:
            events.append((start, 1))
            events.append((end, -1))
    events.sort()  # at equal instants -1 sorts first: back-to-back appointments do not stack
    spans: list[Span] = []
    count = 0
    full_since: int | None = None
    for instant, change in events:
        count += change
        if count >= rooms and full_since is None:
            full_since = instant
        elif count < rooms and full_since is not None:
            if instant > full_since:
                spans.append((full_since, instant))
            full_since = None
    return _merge(spans)


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

    desk_busy: list[Span] = []
    tutor_busy: dict[int, list[Span]] = {}
    person_busy: list[Span] = []
    for item in busy:
        at_desk = item.desk_id == desk.desk_id
        of_tutor = item.tutor_id in wanted
        of_person = young_person_id is not None and item.young_person_id == young_person_id
        if not (at_desk or of_tutor or of_person):
            continue  # checked before converting: most appointments are elsewhere
        span = _busy_span(item)
        if span[1] <= span[0] or span[1] <= low - buffer or span[0] >= high + buffer:
            continue  # empty or reversed rows block nothing
        if at_desk:
            desk_busy.append(span)
        if of_tutor:
            tutor_busy.setdefault(item.tutor_id, []).append(span)
        if of_person:
            person_busy.append(span)
    blocked_for_all = _full_spans(desk_busy, desk.rooms)
    if person_busy:
        blocked_for_all = _merge(blocked_for_all + [(s - buffer, e + buffer) for s, e in person_busy])

    slots: list[tuple[int, int, int]] = []
    for tutor, schedules in candidates:
        available = _intersect(desk_open, _weekly_spans(schedules, start, end))
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
            for slot_start in range(first, free_end - length + 1, step):
                slots.append((slot_start, tutor.tutor_id, slot_start + length))
    slots.sort()
    return [Slot(desk.desk_id, tutor, _to_datetime(s), _to_datetime(e)) for s, tutor, e in slots]
