"""The pickers' slot buttons (bookings stepper and helpdesk booking step): grouping, limits, the next day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.bookings.forms import parse_slot, slot_buttons
from app.domain.availability import Slot

# 08:00 UTC is 09:00 in Rome in December.
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _slot(tutor_id: int, day: int, minutes: int) -> Slot:
    start = MONDAY + timedelta(days=day, minutes=minutes)
    return Slot(desk_id=1, tutor_id=tutor_id, start=start, end=start + timedelta(minutes=45))


def test_one_button_per_time_across_tutors_with_the_first_free_one():
    slots = [_slot(1, 0, 0), _slot(2, 0, 0), _slot(2, 0, 60), _slot(3, 1, 0)]
    groups, next_day = slot_buttons(slots, {1: "Anna", 2: "Bruno"}, per_day=16)
    assert next_day is None
    assert [(at, tutor) for at, tutor, _value in groups[date(2026, 12, 7)]] == [("09:00", "Anna"), ("10:00", "Bruno")]
    assert date(2026, 12, 8) not in groups  # tutor 3 is not one of the tutors offered
    assert [parse_slot(value) for _at, _tutor, value in groups[date(2026, 12, 7)]] == [
        (1, MONDAY), (2, MONDAY + timedelta(minutes=60))]


def test_a_chosen_tutor_gets_every_time_and_a_day_holds_at_most_per_day():
    slots = [_slot(1, 0, m) for m in range(0, 300, 60)]
    groups, _next = slot_buttons(slots + [_slot(1, 0, 0)], {1: "Anna"}, per_day=3, one_tutor=True)
    assert [at for at, _tutor, _value in groups[date(2026, 12, 7)]] == ["09:00", "10:00", "11:00"]


def test_with_a_number_of_days_the_first_slot_beyond_them_is_the_next_day():
    slots = [_slot(1, day, 0) for day in (0, 1, 3, 4)]
    groups, next_day = slot_buttons(slots, {1: "Anna"}, per_day=16, days=2)
    assert list(groups) == [date(2026, 12, 7), date(2026, 12, 8)] and next_day == date(2026, 12, 10)
    assert slot_buttons(slots, {1: "Anna"}, per_day=16, days=4) == (slot_buttons(slots, {1: "Anna"}, per_day=16)[0],
                                                                     None)
