"""Pure helpdesk rules: urgency signals, text cleaning, the service level in working days."""

from __future__ import annotations

from datetime import date

import pytest

from app.helpdesk import rules

MONDAY = date(2026, 11, 16)


@pytest.mark.parametrize("text", ["Non ce la faccio più", "il mio ragazzo mi picchia", "ho pensato al SUICIDIO",
                                  "subisco bullismo a scuola"])
def test_distress_words_make_a_request_urgent(text):
    assert rules.is_urgent("orientamento", text)


def test_violence_topic_is_urgent_by_itself():
    assert rules.is_urgent("violenza_genere", "")


def test_ordinary_request_is_not_urgent():
    assert not rules.is_urgent("cv_lavoro", "Vorrei una mano con il curriculum")


def test_clean_text_strips_nul_bytes_and_blanks():
    assert rules.clean_text("  An\x00na \x00") == "Anna"


@pytest.mark.parametrize(("text", "markup"), [("<script>alert(1)</script>", True), ("<b>ciao</b>", True),
                                              ("ti voglio bene <3", False), ("3 < 4 e 5 > 2", False)])
def test_markup_is_told_apart_from_ordinary_angle_brackets(text, markup):
    assert rules.has_markup(text) is markup


def test_monday_request_is_due_wednesday_and_overdue_thursday():
    assert not rules.is_overdue(MONDAY, date(2026, 11, 18), 2, set())
    assert rules.is_overdue(MONDAY, date(2026, 11, 19), 2, set())


def test_weekend_does_not_count():
    friday = date(2026, 11, 20)
    assert rules.working_days_since(friday, date(2026, 11, 24), set()) == 2  # Monday, Tuesday
    assert not rules.is_overdue(friday, date(2026, 11, 24), 2, set())


def test_holidays_and_closure_days_do_not_count():
    holiday, closed = date(2026, 11, 17), date(2026, 11, 18)
    assert rules.working_days_since(MONDAY, date(2026, 11, 19), {holiday}, {closed}) == 1
    assert not rules.is_overdue(MONDAY, date(2026, 11, 20), 2, {holiday}, {closed})
    assert rules.is_overdue(MONDAY, date(2026, 11, 23), 2, {holiday}, {closed})


def test_same_day_is_zero_working_days():
    assert rules.working_days_since(MONDAY, MONDAY, set()) == 0
