"""Small-count suppression on crafted data: a single cell, totals, differences between two filters."""

from __future__ import annotations

from dataclasses import replace

from app.reports import indicators
from tests.reports.conftest import Q1, add_segrate_regulars, staff


def shown(cells) -> list[str]:
    return [c.shown for c in cells]


def test_single_small_cells_and_rates_on_them_are_hidden_for_a_town(world, in_request):
    contact = staff(world.network, "municipal_contact", "Rodano", "M")
    report = indicators.report_for(contact, Q1)
    h = report.headline
    assert report.suppressed and report.scope_label == "Comune di Rodano"
    # Rodano: 3 young people (2 new, 1 returning), 3 sessions, 1 no-show: all "<5", no value leaks.
    assert [h[k].shown for k in ("reached", "reached_new", "reached_returning", "sessions", "no_shows")] == ["<5"] * 5
    assert all(h[k].value is None for k in ("reached", "sessions", "no_shows"))
    assert h["attendance_rate"].suppressed and h["no_show_rate"].suppressed   # rates on hidden bases
    assert h["waiting_median"].suppressed                                     # 2 waits only
    assert h["hours_open"].shown == "48,0"                                    # hours are not people
    assert [row.label for row in report.table("by_desk").rows] == ["Sportello Rodano"]
    for table in report.tables.values():
        for row in table.all_rows:
            for cell, kind in zip(row.cells, table.kinds, strict=True):
                assert kind != "count" or cell.suppressed or cell.value == 0 or cell.value >= 5


def test_totals_cannot_reveal_a_hidden_cell(world, in_request):
    add_segrate_regulars(world, 6)   # Segrate: 8 young people in January, 9 sessions; network: 11 and 13
    observer = staff(world.network, "observer", "Città Metropolitana", "O")
    report = indicators.report_for(observer, Q1)
    assert report.headline["reached"].shown == "11" and report.headline["sessions"].shown == "13"
    by_desk = report.table("by_desk")
    cells = {row.label: row.cells for row in by_desk.rows}
    # Rodano's 3 young people and the protected record's row (1) are "<5"; Segrate (8) and the total (11)
    # are shown: what they leave (11 − 8) is shared by two hidden cells, so neither can be computed.
    assert shown(cells["Sportello Rodano"][:1]) == ["<5"]
    assert shown(by_desk.reserved.cells[:1]) == ["<5"]
    assert shown(cells["Sportello Segrate"][:1]) == ["8"]
    assert shown(by_desk.total.cells[:1]) == ["11"]
    # Every column of every table: never exactly one hidden cell under a visible total.
    for table in report.tables.values():
        for c, kind in enumerate(table.kinds):
            if kind != "count" or table.total.cells[c].suppressed:
                continue
            parts = list(table.rows) + [table.reserved]
            hidden = [row for row in parts if row.cells[c].suppressed]
            assert len(hidden) != 1, (table.key, c)


def test_differences_between_two_filters_are_hidden(world, in_request):
    add_segrate_regulars(world, 6)
    observer = staff(world.network, "observer", "Città Metropolitana", "O")
    whole = indicators.report_for(observer, Q1)
    segrate = indicators.report_for(observer, replace(Q1, town_id=world.network["Segrate"].id))
    # Segrate alone: 9 young people (8 + the protected one) out of 11, 10 sessions out of 13: shown, the
    # differences (2 and 3 people in Rodano) would be small counts: both hidden.
    assert whole.headline["reached"].shown == "11"
    assert segrate.headline["reached"].suppressed and segrate.headline["reached"].shown == "n.d."
    assert segrate.headline["sessions"].suppressed
    # The same numbers for the admin: exact (no suppression of ordinary counts for the Ufficio di Piano).
    admin = staff(world.network, "admin", "Ufficio di Piano", "A")
    exact = indicators.report_for(admin, replace(Q1, town_id=world.network["Segrate"].id))
    assert exact.headline["reached"].shown == "9" and exact.headline["sessions"].shown == "10"
    # Narrowing January (8 new of the 9) by service keeps the rule: no value with a small difference shows.
    for parent_key, child in (("reached", segrate.headline["reached"]), ("sessions", segrate.headline["sessions"])):
        parent = whole.headline[parent_key]
        assert child.suppressed or not (0 < parent.value - child.value < 5)
