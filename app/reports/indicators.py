"""Monitoring indicators (issue 8), computed by the database and scoped to the viewer.

Public API (used by the dashboard, the CSV export, the charts and the quarterly report):

    filters = ReportFilters(start=date(2026, 1, 1), end=date(2026, 3, 31), town_id=...)
    report = report_for(current_user, filters)
    report.headline["reached"].shown          # "12", "<5" or "—"
    report.tables["by_month"].rows            # Row(key, label, cells), the total row last
    report.table("by_town").total             # the total Row (or None)

Every number is a `Cell`: what the viewer may see (`shown`), the value (None when
suppressed or not applicable) and whether it was suppressed. Municipal contacts and
observers get small counts suppressed (app/domain/suppression.py, docs/reports.md).
Aggregates are GROUP BY / window-function queries whose number does not depend on
the amount of data; only the desks' opening hours come from the availability engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

# Keys of the headline numbers, in display order.
HEADLINE_KEYS: tuple[str, ...] = (
    "reached",            # distinct young people with an attended session in the period
    "reached_new",        # ... whose first-ever attended session is in the period
    "reached_returning",  # ... who had attended before the period
    "sessions",           # attended sessions
    "no_shows",           # no-show appointments
    "attendance_rate",    # attended / (attended + no-show), percent
    "no_show_rate",       # no-show / (attended + no-show), percent
    "hours_open",         # opening hours of the desks in scope (availability engine)
    "hours_booked",       # hours of active appointments (booked, confirmed, attended)
    "occupancy",          # hours booked / hours open, percent
    "waiting_median",     # days from request (ticket or waiting entry) to first appointment
    "waiting_p90",        # 90th percentile of the same
)

# Keys of the tables, in display order.
TABLE_KEYS: tuple[str, ...] = (
    "by_month", "by_town", "by_desk", "by_outcome", "referrals", "age_bands", "gender", "study_work",
)

# Longest period a report may cover (months in the trend table).
MAX_MONTHS = 60


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers: a period (inclusive local dates, Europe/Rome) and optional filters."""

    start: date
    end: date
    town_id: int | None = None
    desk_id: int | None = None
    organisation_id: int | None = None
    service: str | None = None

    def query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (dates as ISO), for links and the export."""
        raise NotImplementedError

    @property
    def is_filtered(self) -> bool:
        """True when anything beyond the period narrows the report."""
        return any(v is not None for v in (self.town_id, self.desk_id, self.organisation_id, self.service))


@dataclass(frozen=True)
class Cell:
    """One number as the viewer may see it."""

    value: int | float | None  # None when suppressed or not applicable
    shown: str                 # "12", "<5", "—", "45,3 %"
    suppressed: bool = False


@dataclass(frozen=True)
class Row:
    """One row of a table: a stable key (month "2026-03", desk id, outcome number...), a label, its cells."""

    key: str
    label: str
    cells: tuple[Cell, ...]
    is_total: bool = False


@dataclass(frozen=True)
class Table:
    """A table of counts with its column headings; `rows` excludes the total row, `total` holds it."""

    key: str
    title: str
    label_heading: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    total: Row | None = None
    note: str = ""

    @property
    def all_rows(self) -> tuple[Row, ...]:
        """The rows followed by the total row."""
        return self.rows + ((self.total,) if self.total is not None else ())


@dataclass(frozen=True)
class Report:
    """Everything the dashboard, the CSV and the quarterly report show, already scoped and suppressed."""

    filters: ReportFilters
    scope_label: str                       # e.g. "Comune di Rodano", "Tutta la rete"
    suppressed: bool                       # True when small counts are hidden for this viewer
    generated_at: datetime                 # aware, UTC
    headline: dict[str, Cell]              # HEADLINE_KEYS -> Cell
    headline_labels: dict[str, str]        # HEADLINE_KEYS -> Italian label
    tables: dict[str, Table]               # TABLE_KEYS -> Table
    filter_labels: tuple[tuple[str, str], ...] = field(default=())  # ("Comune", "Rodano"), ...

    def table(self, key: str) -> Table:
        return self.tables[key]


def default_filters(today: date | None = None) -> ReportFilters:
    """The last twelve full months up to today (from the 1st of the month eleven months back)."""
    raise NotImplementedError


def report_for(viewer, filters: ReportFilters) -> Report:
    """The report for `viewer`: scoped to what their role may see, suppressed when due.

    Filters outside the viewer's scope raise `app.domain.errors` errors (see
    app/policy/reports.py::check_filters); the view turns them into 404.
    """
    raise NotImplementedError


def csv_rows(report: Report) -> Iterable[list[str]]:
    """The report as CSV rows (strings, Italian formats); see app/reports/exports.py for the bytes."""
    raise NotImplementedError
