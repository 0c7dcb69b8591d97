"""Every indicator of the crafted dataset (tests/reports/conftest.py), computed by hand.

The raw numbers (before suppression) come from the database queries; the final cells of the
report are checked for the admin, who sees small counts but never the protected records' detail.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.reports import indicators
from tests.reports.conftest import Q1, staff


@pytest.fixture
def admin(world):
    return staff(world.network, "admin", "Ufficio di Piano", "Ada Admin")


def rows(raw_table):
    return {key: values for key, _label, values in raw_table.rows}


def test_every_count_by_hand(world, admin, in_request):
    raw = indicators._counts(admin, Q1)
    # Attended in Q1: a1 a2 a4 a5 a6 a8 a10 = 7; no-shows a3 a7 = 2 (a9 before, a13 after, a11/a12 not held).
    # Reached: P1..P5 = 5; new: P1 P2 P3 P4 (no attended session before 1/1); returning: P5 (a9 in December).
    assert raw.headline == {"reached": 5, "reached_new": 4, "reached_returning": 1, "sessions": 7, "no_shows": 2}

    # Trend, [reached, new, sessions, no-shows] without P4 (protected, only in the totals):
    # Jan a1 (P1 new) a4 (P2 new) a10 (P5) | Feb a2 (P1) + no-show a3 | Mar a5 (P2) a6 (P3 new) + no-show a7
    by_month = raw.tables["by_month"]
    assert rows(by_month) == {"2026-01": [3, 2, 3, 0], "2026-02": [1, 0, 1, 1], "2026-03": [2, 1, 2, 1]}
    assert by_month.reserved == [1, 1, 1, 0]   # P4, new, a8
    assert by_month.total == [5, 4, 7, 2]

    # Desks and towns: Segrate P1 P2, a1 a2 a4, no-show a3 | Rodano P2 P3 P5, a5 a6 a10, no-show a7.
    s, r = str(world.segrate.id), str(world.rodano.id)
    assert rows(raw.tables["by_desk"]) == {s: [2, 3, 1], r: [3, 3, 1]}
    assert rows(raw.tables["by_town"]) == {str(world.network["Segrate"].id): [2, 3, 1],
                                           str(world.network["Rodano"].id): [3, 3, 1]}

    # Outcomes [sessions, avviato, in corso, raggiunto]: a5's note is a draft; a8's (protected) only in the total.
    outcomes = rows(raw.tables["by_outcome"])
    assert outcomes["1"] == [2, 1, 1, 0]   # a1 avviato, a2 in corso
    assert outcomes["2"] == [1, 1, 0, 0]   # a6
    assert outcomes["4"] == [2, 1, 1, 0]   # a1 avviato, a6 in corso
    assert outcomes["5"] == [1, 0, 0, 1]   # a4 raggiunto
    assert outcomes["3"] == outcomes["6"] == outcomes["7"] == outcomes["8"] == [0, 0, 0, 0]
    assert raw.tables["by_outcome"].reserved == [1, 1, 0, 0]
    assert raw.tables["by_outcome"].total == [7, 4, 2, 1]

    # Referrals: a1 scuola, a4 centro per l'impiego + altro; a8 (protected) centro antiviolenza.
    assert rows(raw.tables["referrals"]) == {"centro_impiego": [1], "scuola": [1], "consultorio": [0],
                                             "centro_antiviolenza": [0], "servizi_sociali": [0], "altro": [1]}
    assert raw.tables["referrals"].reserved == [1] and raw.tables["referrals"].total == [4]

    # Age at the session date: P1 is 13 on 13/01 (a1) and 14 on her birthday 10/02 (a2), one session in each
    # band; P3 21, P2 25 (a4 a5), P5 45 ("altra età"). [reached, sessions]
    assert rows(raw.tables["age_bands"]) == {"<14": [1, 1], "14-17": [1, 1], "18-24": [1, 1], "25-35": [1, 2],
                                             "altro": [1, 1]}
    assert rows(raw.tables["gender"]) == {"F": [2, 3], "M": [2, 3], "altro": [0, 0], "nd": [0, 0]}
    assert rows(raw.tables["study_work"]) == {"studente": [1, 2], "lavora": [1, 2], "neet": [1, 1],
                                              "in_cerca": [1, 1], "altro": [0, 0]}
    for key in ("age_bands", "gender", "study_work"):
        assert raw.tables[key].reserved == [1, 1] and raw.tables[key].total == [5, 7]


def test_hours_waiting_rates_and_the_admin_report(world, admin, in_request):
    opened, booked, _desks = indicators._hours(admin, Q1)
    # Tuesdays in Q1 2026: 13 (6 Jan is Epiphany, closed) -> 12 days x 4 h = 48 h per desk.
    assert opened == {world.segrate.id: 48.0, world.rodano.id: 48.0}
    # Active (booked/confirmed/attended) hours: Segrate a1 a2 a4 a8 a12 = 5 h, Rodano a5 a6 a10 = 3 h.
    assert booked == pytest.approx({world.segrate.id: 5.0, world.rodano.id: 3.0})
    # Requests whose first appointment is in Q1: 3/1 -> a1 (10 days), 18/1 -> a4 (2), 26/1 21:00 -> a10 (0.5),
    # waiting entry 1/3 -> a6 (9). The December ticket's appointment a9 is outside the period.
    n, median, p90 = indicators._waiting(admin, Q1)
    assert n == 4
    assert median == pytest.approx(5.5)   # (2 + 9) / 2
    assert p90 == pytest.approx(10.0)     # nearest rank: ceil(0.9 x 4) = 4th

    report = indicators.report_for(admin, Q1)
    h = report.headline
    assert not report.suppressed and report.scope_label == "Tutta la rete"
    assert [h[k].shown for k in ("reached", "reached_new", "reached_returning", "sessions", "no_shows")] == \
        ["5", "4", "1", "7", "2"]
    assert h["attendance_rate"].value == 77.8 and h["attendance_rate"].shown == "77,8 %"  # 7 / 9
    assert h["no_show_rate"].value == 22.2                                                  # 2 / 9
    assert (h["hours_open"].shown, h["hours_booked"].shown, h["occupancy"].shown) == ("96,0", "8,0", "8,3 %")
    assert (h["waiting_median"].shown, h["waiting_p90"].shown) == ("5,5", "10,0")
    segrate = next(row for row in report.table("by_desk").rows if row.key == str(world.segrate.id))
    assert segrate.label == "Sportello Segrate"
    assert [c.shown for c in segrate.cells[3:]] == ["48,0", "5,0", "10,4 %"]   # 5 / 48
    assert [row.label for row in report.table("by_month").rows] == ["gen 2026", "feb 2026", "mar 2026"]

    # Protected records: counted in the totals only; their small count is hidden even from the admin,
    # and the total minus the visible rows does not give it alone (complementary suppression).
    gender = report.table("gender")
    assert gender.reserved.cells[0].shown == "<5" and gender.total.cells[0].shown == "5"
    visible = sum(row.cells[0].value for row in gender.rows if not row.cells[0].suppressed)
    assert [row.key for row in gender.rows if row.cells[0].suppressed] and 5 - visible != 1


def test_filters_narrow_every_indicator(world, admin, in_request):
    by_desk = replace(Q1, desk_id=world.rodano.id)
    raw = indicators._counts(admin, by_desk)
    # Rodano: P2 P3 P5; new: P2 (first ever 20/1, in Q1) and P3; a5 a6 a10; no-show a7.
    assert raw.headline == {"reached": 3, "reached_new": 2, "reached_returning": 1, "sessions": 3, "no_shows": 1}
    assert indicators._waiting(admin, by_desk)[0] == 2     # a10 and a6
    assert indicators._counts(admin, replace(Q1, service="cv_lavoro")).headline["sessions"] == 0
    by_org = replace(Q1, organisation_id=world.network["Ala Milano"].id)  # its desk and its tutor: Rodano
    assert indicators._counts(admin, by_org).headline["sessions"] == 3
    january = replace(Q1, end=Q1.start.replace(day=31))
    assert indicators._counts(admin, january).headline == {"reached": 3, "reached_new": 2, "reached_returning": 1,
                                                           "sessions": 3, "no_shows": 0}
