"""Reports area routes: thin, the indicators are computed in indicators.py (by the database)."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import audit
from app.domain import numbers
from app.domain.errors import Invalid, NotFound
from app.htmx import page_or_fragment
from app.policy import can_download_quarterly, requires
from app.reports import bp
from app.reports.exports import csv_bytes
from app.reports.indicators import ReportFilters, default_filters, filter_options, report_for, scope_label

audit.register_action("reports.export", _l("Esportazione CSV del monitoraggio"))


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    number = numbers.int_or_none(raw)  # the shared bounded parser: "²" passes isdigit() but not int()
    if number is None or number < 0:  # as before: only digits (a sign is refused)
        abort(404)
    return number


def _date_arg(name: str, fallback: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return fallback
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(_("Data non valida: usa il formato gg/mm/aaaa."), field=name) from None


def parse_filters() -> ReportFilters:
    """The filters from the query string (dal, al, comune, sportello, organizzazione, servizio)."""
    default = default_filters()
    return ReportFilters(
        start=_date_arg("dal", default.start), end=_date_arg("al", default.end),
        town_id=_int_arg("comune"), desk_id=_int_arg("sportello"),
        organisation_id=_int_arg("organizzazione"), service=request.args.get("servizio") or None,
    )


@bp.get("/monitoraggio")
@requires("reports.view")
def dashboard():
    """The monitoring dashboard: filters, headline numbers and tables (the results fragment for htmx)."""
    options = filter_options(current_user)
    error, report, filters = None, None, default_filters()
    try:
        filters = parse_filters()
        report = report_for(current_user, filters, options=options)
    except NotFound:
        abort(404)
    except Invalid as exc:
        error = exc.message
    quarterly_url = None
    if can_download_quarterly(current_user) and "reports.quarterly_index" in current_app.view_functions:
        quarterly_url = url_for("reports.quarterly_index")
    return page_or_fragment(
        "reports/dashboard.html", "reports/_results.html", 422 if error else 200,
        report=report, filters=filters, options=options, error=error, scope_label=scope_label(current_user),
        quarterly_url=quarterly_url,
    )


@bp.get("/monitoraggio/export.csv")
@requires("reports.export")
def export_csv():
    """The dashboard as CSV for Italian Excel; audited with its filters."""
    filters = parse_filters()
    report = report_for(current_user, filters)
    audit.record_now("reports.export", details={"format": "csv", **filters.query_args()})
    name = f"monitoraggio_{filters.start.isoformat()}_{filters.end.isoformat()}.csv"
    return Response(csv_bytes(report), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
