"""Availability engine: property-based tests (hypothesis) around DST changes, season boundaries and year end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    open_intervals,
)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Both 2026 clock changes (Sundays), a season boundary (schedules split there) and the year end.
FOCUS_DAYS = (date(2026, 3, 29), date(2026, 10, 25), date(2026, 7, 1), date(2026, 12, 31))
QUARTER = timedelta(minutes=15)
DESK_ID, OTHER_DESK = 1, 2
TUTOR_IDS = (7, 8, 9)


# Strategies are built once, at import: building them inside composites made the suite slow.
_FOCUS = st.sampled_from(FOCUS_DAYS)
_BEFORE_AFTER = st.integers(0, 2)
_START_Q = st.one_of(st.integers(0, 95), st.integers(4, 15))  # often around the night clock changes
_LENGTH_Q = st.one_of(st.integers(1, 96), st.integers(1, 16))
_WEEKDAY = st.one_of(st.integers(0, 6), st.just(6))  # Sunday is when the clocks change
_INSTANT_Q = st.integers(0, 8 * 96)
_DAY_INDEX = st.integers(0, 4)
TYPICAL_DAY = ((time(9), time(12, 30)), (time(14), time(17, 30)))
OFFICE_WEEK = tuple(WeeklyInterval(day, a, b) for day in range(7) for a, b in TYPICAL_DAY)


def _quarter_time(quarter: int) -> time:
    """Quarter-hour index of a day (0-96) as a time; 96 is midnight, i.e. 00:00."""
    return time((quarter // 4) % 24, (quarter % 4) * 15)


@st.composite
def date_ranges(draw):
    """A short range of local dates (1-5 days) that contains one of the focus days."""
    focus = draw(_FOCUS)
    return focus - timedelta(days=draw(_BEFORE_AFTER)), focus + timedelta(days=draw(_BEFORE_AFTER))


@st.composite
def wall_pairs(draw):
    """A local (start, end) on a quarter-hour grid (end 00:00 = midnight), often around 01:00-04:00."""
    start = draw(_START_Q)
    return _quarter_time(start), _quarter_time(min(96, start + draw(_LENGTH_Q)))


_WALL_PAIR = wall_pairs()
_WEEKLY_PAIRS = {size: st.lists(st.tuples(_WEEKDAY, _WALL_PAIR), max_size=size) for size in (2, 4, 5)}


@st.composite
def weekly(draw, max_size=5):
    """Weekly intervals: random ones (may overlap: the engine merges them), often on top of office hours."""
    intervals = tuple(WeeklyInterval(day, start, end) for day, (start, end) in draw(_WEEKLY_PAIRS[max_size]))
    return intervals + OFFICE_WEEK if draw(st.booleans()) else intervals


def _day(draw, start: date, end: date) -> date:
    """A date from `start` to `end`."""
    return start + timedelta(days=draw(_DAY_INDEX) % ((end - start).days + 1))


@st.composite
def schedules(draw, start: date, end: date):
    """One schedule, or two split at a midnight inside the range."""
    if draw(st.booleans()):
        return (Schedule(start - timedelta(days=draw(_DAY_INDEX)), None, draw(weekly())),)
    split = _day(draw, start, end + timedelta(days=1))
    return (
        Schedule(date(2026, 1, 1), split - timedelta(days=1), draw(weekly())),
        Schedule(split, None, draw(weekly())),
    )


def _instant(draw, start: date, end: date) -> datetime:
    """A UTC instant on the quarter-hour grid from the day before `start` to the day after `end`."""
    low = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(days=1)
    return low + (draw(_INSTANT_Q) % (((end - start).days + 3) * 96)) * QUARTER


@st.composite
def instants(draw, start: date, end: date):
    """A UTC instant on the quarter-hour grid from the day before `start` to the day after `end`."""
    return _instant(draw, start, end)


_DURATION_Q = {hours: st.integers(1, hours * 4) for hours in (4, 12, 24, 30)}


@st.composite
def spans(draw, start: date, end: date, max_hours=30):
    """An aware (start, end) pair of UTC instants."""
    begin = _instant(draw, start, end)
    return begin, begin + draw(_DURATION_Q[max_hours]) * QUARTER


_UP_TO = {n: st.integers(0, n) for n in (2, 3, 12)}
_ROOMS = st.integers(1, 3)


@st.composite
def desks(draw, start: date, end: date):
    """A desk calendar with schedules, holidays, closures, extra openings and 1-3 rooms."""
    holidays = {_day(draw, start, end): "Festa" for _ in range(draw(_UP_TO[2]))}
    closures = tuple(Closure(*draw(spans(start, end, 12)), "chiuso") for _ in range(draw(_UP_TO[3])))
    extra = tuple(ExtraOpening(_day(draw, start, end), *draw(_WALL_PAIR)) for _ in range(draw(_UP_TO[2])))
    return DeskCalendar(DESK_ID, draw(schedules(start, end)), closures, extra, holidays, draw(_ROOMS))


def wall_minutes(moment: datetime) -> tuple[date, int] | None:
    """Local date and minutes of an instant, or None in the second pass of a repeated hour."""
    local = moment.astimezone(ROME)
    if local.fold:
        return None
    return local.date(), local.hour * 60 + local.minute


def in_wall(minutes: int, start: time, end: time) -> bool:
    """Whether a local minute-of-day falls in [start, end), end 00:00 meaning midnight."""
    end_minutes = 24 * 60 if end == time(0) else end.hour * 60 + end.minute
    return start.hour * 60 + start.minute <= minutes < end_minutes


def expected_open(cal: DeskCalendar, moment: datetime) -> bool | None:
    """Oracle from wall-clock rules alone (None: instant in the repeated hour, not judged here)."""
    local = wall_minutes(moment)
    if local is None:
        return None
    day, minutes = local
    if any(c.start <= moment < c.end for c in cal.closures):
        return False
    if any(o.day == day and in_wall(minutes, o.start, o.end) for o in cal.extra_openings):
        return True
    if day in cal.holidays:
        return False
    valid = [s for s in cal.schedules if s.valid_from <= day and (s.valid_to is None or day <= s.valid_to)]
    if not valid:
        return False
    schedule = max(valid, key=lambda s: s.valid_from)
    return any(i.weekday == day.weekday() and in_wall(minutes, i.start, i.end) for i in schedule.intervals)


def inside(interval_start, interval_end, intervals) -> bool:
    """Whether [start, end) lies within one of `intervals`."""
    return any(i.start <= interval_start and interval_end <= i.end for i in intervals)


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    """Whether two half-open spans overlap."""
    return a_start < b_end and b_start < a_end


@PROPERTY_SETTINGS
@given(data=st.data())
def test_open_intervals_match_the_wall_clock_rules_and_are_disjoint_and_sorted(data):
    start, end = data.draw(date_ranges())
    cal = data.draw(desks(start, end))
    got = open_intervals(cal, start, end)
    for interval in got:
        assert interval.start.utcoffset() == timedelta(0) and interval.end.utcoffset() == timedelta(0)
        assert interval.start < interval.end
    for before, after in zip(got, got[1:], strict=False):
        assert before.end < after.start  # disjoint, sorted, and merged (never touching)
    low = datetime(start.year, start.month, start.day, tzinfo=ROME).astimezone(UTC)
    high = datetime(end.year, end.month, end.day, tzinfo=ROME).astimezone(UTC) + timedelta(days=1, hours=1)
    moment = low
    while moment < high:
        if moment.astimezone(ROME).date() <= end:
            expected = expected_open(cal, moment)
            if expected is not None:
                actual = any(i.start <= moment < i.end for i in got)
                assert actual == expected, f"{moment.astimezone(ROME)} expected open={expected}"
        moment += QUARTER


ALL_DAY = tuple(WeeklyInterval(day, time(0), time(0)) for day in range(7))


@st.composite
def night_pairs(draw):
    """A local (start, end) between 00:00 and 06:00 on the quarter-hour grid."""
    start = draw(st.integers(0, 23))
    end = draw(st.integers(start + 1, 24))
    return time(start // 4, (start % 4) * 15), time(end // 4, (end % 4) * 15)


@PROPERTY_SETTINGS
@given(day=st.sampled_from(FOCUS_DAYS[:2]), pairs=st.lists(night_pairs(), min_size=1, max_size=3))
def test_clock_change_nights_match_the_wall_clock(day, pairs):
    """Intervals that start or end in the missing (March) or repeated (October) hour."""
    cal = DeskCalendar(DESK_ID, (Schedule(date(2026, 1, 1), None, tuple(WeeklyInterval(6, a, b) for a, b in pairs)),))
    got = open_intervals(cal, day, day)
    for before, after in zip(got, got[1:], strict=False):
        assert before.end < after.start
    moment = datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)
    while moment.astimezone(ROME).date() == day:
        expected = expected_open(cal, moment)
        if expected is not None:
            assert any(i.start <= moment < i.end for i in got) == expected, f"{moment.astimezone(ROME)}"
        moment += QUARTER
    wall = sum((datetime.combine(day, b) - datetime.combine(day, a) for a, b in merge_wall(pairs)), timedelta())
    total = sum((i.end - i.start for i in got), timedelta())
    # Real open time differs from the wall-clock length by at most the hour that is skipped or repeated.
    if day.month == 3:
        assert wall - timedelta(hours=1) <= total <= wall
    else:
        assert wall <= total <= wall + timedelta(hours=1)


def merge_wall(pairs):
    """Merge local (start, end) pairs of one day."""
    merged = []
    for a, b in sorted(pairs):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


_TUTOR_COUNT = st.integers(1, 3)
_TUTOR_HOURS = st.one_of(weekly(4), st.just(ALL_DAY))
_OTHER_HOURS = weekly(2)
_BUSY_DESK = st.sampled_from((DESK_ID, OTHER_DESK))
_BUSY_TUTOR = st.sampled_from((*TUTOR_IDS, 99, None))
_BUSY_PERSON = st.sampled_from((1, 2, None))


@st.composite
def tutors(draw, start: date, end: date):
    """1-3 tutors available at this desk (and maybe at another one), with absences."""
    result = []
    for tutor_id in TUTOR_IDS[: draw(_TUTOR_COUNT)]:
        availability = [(DESK_ID, Schedule(date(2026, 1, 1), None, draw(_TUTOR_HOURS)))]
        if draw(st.booleans()):
            availability.append((OTHER_DESK, Schedule(date(2026, 1, 1), None, draw(_OTHER_HOURS))))
        absences = tuple(Interval(*draw(spans(start, end, 24))) for _ in range(draw(_UP_TO[2])))
        result.append(TutorCalendar(tutor_id, tuple(availability), absences))
    return result


@st.composite
def appointments(draw, start: date, end: date):
    """Existing appointments at this or another desk, of our tutors, someone else or nobody."""
    return [
        Busy(*draw(spans(start, end, 4)), draw(_BUSY_DESK), draw(_BUSY_TUTOR), draw(_BUSY_PERSON))
        for _ in range(draw(_UP_TO[12]))
    ]


_LENGTH = st.integers(1, 8)
_BUFFER = st.integers(0, 2)
_NOTICE = st.integers(0, 12)
_STEP = st.sampled_from((None, None, "odd", "length", "longer"))


@st.composite
def slot_rules(draw):
    """Lengths, buffers, steps and notice on the quarter-hour grid (and one odd step)."""
    length = draw(_LENGTH) * QUARTER
    step = {None: None, "odd": timedelta(minutes=20), "length": length, "longer": length + QUARTER}[draw(_STEP)]
    return SlotRules(length=length, buffer=draw(_BUFFER) * QUARTER, min_notice=draw(_NOTICE) * QUARTER, step=step)


def max_concurrent(busy: list[Busy], start: datetime, end: datetime) -> int:
    """The most appointments running at one instant within [start, end)."""
    points = {start} | {b.start for b in busy if start < b.start < end}
    return max((sum(1 for b in busy if b.start <= p < b.end) for p in points), default=0)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_bookable_slots_respect_every_rule(data):
    start, end = data.draw(date_ranges())
    cal = data.draw(desks(start, end))
    people = data.draw(tutors(start, end))
    busy = data.draw(appointments(start, end))
    rules = data.draw(slot_rules())
    now = datetime(2026, 1, 1, tzinfo=UTC) if data.draw(st.booleans()) else data.draw(instants(start, end))
    young_person_id = data.draw(st.sampled_from((None, 1)))
    slots = bookable_slots(cal, people, busy, start, end, rules, now, young_person_id=young_person_id)

    assert slots == sorted(slots, key=lambda s: (s.start, s.tutor_id))
    opened = open_intervals(cal, start, end)
    desk_busy = [b for b in busy if b.desk_id == DESK_ID]
    by_id = {t.tutor_id: t for t in people}
    hours_here = {
        t.tutor_id: open_intervals(DeskCalendar(DESK_ID, tuple(s for d, s in t.availability if d == DESK_ID)), start, end)
        for t in people
    }
    for slot in slots:
        assert slot.desk_id == DESK_ID
        assert slot.end - slot.start == rules.length
        assert slot.start >= now + rules.min_notice
        assert inside(slot.start, slot.end, opened), "outside opening hours"
        assert not any(overlaps(slot.start, slot.end, c.start, c.end) for c in cal.closures), "inside a closure"
        person = by_id[slot.tutor_id]
        assert inside(slot.start, slot.end, hours_here[slot.tutor_id]), "outside the tutor's hours"
        assert not any(overlaps(slot.start, slot.end, a.start, a.end) for a in person.absences), "tutor away"
        padded = (slot.start - rules.buffer, slot.end + rules.buffer)
        for item in busy:
            if item.tutor_id == slot.tutor_id or (young_person_id is not None and item.young_person_id == young_person_id):
                assert not overlaps(*padded, item.start, item.end), "clashes with an appointment"
        assert max_concurrent(desk_busy, slot.start, slot.end) + 1 <= cal.rooms, "beyond the rooms"
    if rules.step is None or rules.step >= rules.length:
        for tutor_id in by_id:
            own = [s for s in slots if s.tutor_id == tutor_id]
            for before, after in zip(own, own[1:], strict=False):
                assert before.end <= after.start, "two slots of one tutor overlap"


@PROPERTY_SETTINGS
@given(data=st.data())
def test_without_appointments_or_notice_every_open_stretch_is_filled_from_its_start(data):
    """Completeness: with no bookings, each stretch of shared open time yields floor((len - L) / step) + 1 slots."""
    start, end = data.draw(date_ranges())
    cal = data.draw(desks(start, end))
    length = data.draw(_LENGTH) * QUARTER
    rules = SlotRules(length=length, buffer=timedelta(0), min_notice=timedelta(0))
    person = TutorCalendar(7, ((DESK_ID, Schedule(date(2026, 1, 1), None, ALL_DAY)),))
    slots = bookable_slots(cal, [person], [], start, end, rules, datetime(2026, 1, 1, tzinfo=UTC))
    expected = []
    for interval in open_intervals(cal, start, end):
        moment = interval.start
        while moment + length <= interval.end:
            expected.append(moment)
            moment += length
    assert [s.start for s in slots] == expected
