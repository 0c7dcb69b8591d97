"""CSV export of a report for Italian Excel: UTF-8 with BOM, ";" separator, decimal comma, dd/mm/yyyy.

Only aggregates are written (the same cells the dashboard shows, suppressed for the
viewer when due): never a name, a code or any personal data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask_babel import gettext as _

from app.formatting import format_date, format_datetime
from app.reports.indicators import Cell, Report, format_decimal


def csv_value(cell: Cell) -> str:
    """A cell for Excel: "<5"/"n.d." when hidden, integers plain, decimals with a comma, empty when n/a."""
    if cell.suppressed:
        return cell.shown
    if cell.value is None:
        return ""
    if isinstance(cell.value, int):
        return str(cell.value)
    return format_decimal(cell.value).replace(".", "")


def report_rows(report: Report) -> Iterable[list[str]]:
    """The header block (scope, filters, generation time), the headline, then every table with its total."""
    yield [_("Hub dei Talenti – Monitoraggio")]
    yield [_("Ambito"), report.scope_label]
    yield [_("Periodo"), format_date(report.filters.start), format_date(report.filters.end)]  # two real dates
    for label, value in report.filter_labels[1:]:
        yield [label, value]
    yield [_("Generato il"), format_datetime(report.generated_at)]
    if report.suppressed:
        yield [_("Conteggi da 1 a 4 indicati con <5; n.d. = nascosto perché permetterebbe di ricavarli")]
    yield []
    yield [_("Indicatore"), _("Valore")]
    for key, cell in report.headline.items():
        label = report.headline_labels[key]
        if key in ("attendance_rate", "no_show_rate", "occupancy"):
            label = f"{label} (%)"
        yield [label, csv_value(cell)]
    for table in report.tables.values():
        yield []
        yield [table.title]
        yield [table.label_heading, *table.columns]
        for row in table.all_rows:
            yield [row.label, *(csv_value(c) for c in row.cells)]
        if table.note:
            yield [table.note]


def csv_bytes(report: Report) -> bytes:
    """The CSV file: BOM, ";" separator, CRLF line ends (what Excel expects)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows(report_rows(report))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
