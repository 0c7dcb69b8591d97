"""Holidays: national Italian holidays from the `holidays` package plus a town's patron day."""

from __future__ import annotations

from datetime import date

from app.domain.holidays import holidays_between, holidays_for


def test_national_holidays_2026_include_easter_monday_and_4_october():
    days = holidays_for([2026])
    assert days[date(2026, 4, 6)] == "Lunedì dell'Angelo"
    assert date(2026, 10, 4) in days  # San Francesco: national again from 2026
    assert days[date(2026, 6, 2)] == "Festa della Repubblica"
    assert days[date(2026, 8, 15)] == "Assunzione della Beata Vergine Maria"
    assert date(2026, 12, 26) in days


def test_4_october_is_not_a_holiday_before_2026():
    assert date(2025, 10, 4) not in holidays_for(2025)


def test_no_milan_patron_day_without_configuration():
    """subdiv="MI" would add 7 December to every town: we never use it."""
    assert date(2026, 12, 7) not in holidays_for([2026])


def test_patron_day_is_added_for_every_year():
    days = holidays_for([2026, 2027], (11, 11, "Santo patrono di prova"))
    assert days[date(2026, 11, 11)] == "Santo patrono di prova"
    assert days[date(2027, 11, 11)] == "Santo patrono di prova"
    assert date(2026, 11, 11) not in holidays_for([2026])


def test_patron_day_on_a_national_holiday_keeps_both_names():
    days = holidays_for(2026, (12, 8, "Patrono"))
    assert days[date(2026, 12, 8)] == "Immacolata Concezione; Patrono"


def test_patron_day_on_29_february_is_skipped_in_common_years():
    assert date(2028, 2, 29) in holidays_for([2027, 2028], (2, 29, "Patrono bisestile"))
    assert len(holidays_for([2027], (2, 29, "Patrono bisestile"))) == len(holidays_for([2027]))


def test_holidays_between_limits_to_the_range_across_years():
    days = holidays_between(date(2026, 12, 20), date(2027, 1, 10), (1, 2, "Patrono"))
    assert sorted(days) == [date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 6)]
    assert holidays_between(date(2026, 2, 1), date(2026, 1, 1)) == {}
