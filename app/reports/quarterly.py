"""The quarterly report for Città Metropolitana: narrative texts (edited with an optimistic lock) and the PDF.

The numbers are the indicators of the quarter as an OBSERVER sees them (whole network, small
counts suppressed), whoever prints: the PDF leaves the Ufficio di Piano for Città Metropolitana,
and it must match the observer's dashboard for the same period. The PDF is rendered by the
notes' limited child process (app/notes/pdf.py: time and memory limits, static files only),
on the same letterhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.domain.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.formatting import ROME, format_date, format_time
from app.models import OUTCOMES, Role
from app.models.base import utcnow
from app.models.report import (
    MAX_NARRATIVE,
    NARRATIVE_FIELDS,
    OUTCOME_FIELDS,
    QuarterlyReport,
    ReportStatus,
    quarter_end,
    quarter_of,
    quarter_start,
)
from app.notes import pdf
from app.policy import has_permission
from app.reports import charts
from app.reports.indicators import Report, ReportFilters, report_for

TEXT_FIELDS: tuple[str, ...] = ("summary", *OUTCOME_FIELDS, "difficulties", "next_steps")
FIRST_YEAR = 2024  # the programme's first quarters; older ones have no data
LISTED_QUARTERS = 8

audit.register_action("reports.quarterly_saved", _l("Relazione trimestrale salvata"), "quarterly_report",
                      _l("Relazione trimestrale"))
audit.register_action("reports.quarterly_download", _l("Relazione trimestrale scaricata (PDF)"))


@dataclass(frozen=True)
class ObserverView:
    """The reader the quarterly numbers are computed for: an observer (whole network, small counts hidden)."""

    id: int | None = None
    role: str = Role.OBSERVER
    organisation_id: int | None = None
    is_authenticated: bool = True


@dataclass(frozen=True)
class Quarter:
    """One quarter of a year, with its narrative when one was written."""

    year: int
    quarter: int
    narrative: QuarterlyReport | None

    @property
    def start(self) -> date:
        return quarter_start(self.year, self.quarter)

    @property
    def end(self) -> date:
        return quarter_end(self.year, self.quarter)

    @property
    def label(self) -> str:
        return quarter_label(self.year, self.quarter)

    @property
    def status(self) -> str | None:
        return self.narrative.status if self.narrative else None


def quarter_label(year: int, quarter: int) -> str:
    """"III trimestre 2026 (luglio–settembre)"."""
    months = {1: _("gennaio–marzo"), 2: _("aprile–giugno"), 3: _("luglio–settembre"), 4: _("ottobre–dicembre")}
    return _("%(roman)s trimestre %(year)d (%(months)s)", roman=("I", "II", "III", "IV")[quarter - 1], year=year,
             months=months[quarter])


def quarter_filters(year: int, quarter: int) -> ReportFilters:
    """The report filters of a quarter: its whole period, nothing else."""
    return ReportFilters(start=quarter_start(year, quarter), end=quarter_end(year, quarter))


def today() -> date:
    """Today in Europe/Rome."""
    return datetime.now(ROME).date()


def check_quarter(year: int, quarter: int) -> None:
    """A quarter that can be reported on: from the programme's first year to the current quarter."""
    if not (1 <= quarter <= 4 and FIRST_YEAR <= year) or (year, quarter) > quarter_of(today()):
        raise NotFound(_("Trimestre non trovato."))


def narrative_of(year: int, quarter: int) -> QuarterlyReport | None:
    """The saved texts of a quarter, if any."""
    return db.session.scalar(sa.select(QuarterlyReport).where(QuarterlyReport.year == year,
                                                              QuarterlyReport.quarter == quarter))


def may_see(user, narrative: QuarterlyReport | None) -> bool:
    """The Ufficio di Piano sees every quarter; the observer only the reports issued to them."""
    if has_permission(user, "reports.quarterly.edit"):
        return True
    return narrative is not None and narrative.is_issued


def quarters_for(user, *, count: int = LISTED_QUARTERS) -> list[Quarter]:
    """The latest quarters (current first) the user may open, with their narratives."""
    year, quarter = quarter_of(today())
    keys = []
    while len(keys) < count and year >= FIRST_YEAR:
        keys.append((year, quarter))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    # Four rows a year at most: load them all (older issued reports stay listed below the recent quarters).
    saved = {(r.year, r.quarter): r for r in db.session.scalars(sa.select(QuarterlyReport))}
    issued_older = [r for r in saved.values() if (r.year, r.quarter) not in keys and r.is_issued]
    result = [Quarter(y, q, saved.get((y, q))) for y, q in keys]
    result += [Quarter(r.year, r.quarter, r) for r in sorted(issued_older, key=lambda r: (r.year, r.quarter),
                                                             reverse=True)]
    return [q for q in result if may_see(user, q.narrative)]


def get_quarter_or_404(user, year: int, quarter: int) -> Quarter:
    """A quarter the user may open (404 otherwise: the observer does not learn that a draft exists)."""
    check_quarter(year, quarter)
    narrative = narrative_of(year, quarter)
    if not may_see(user, narrative):
        raise NotFound(_("Relazione non trovata."))
    return Quarter(year, quarter, narrative)


# --- Editing the texts ------------------------------------------------------------------------

def clean(text: str | None) -> str:
    """No NUL bytes, Windows line ends as \\n, no blanks around."""
    return (text or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip()


def save_narrative(actor, year: int, quarter: int, texts: dict[str, str], *, expected_version: int,
                   issue: bool) -> QuarterlyReport:
    """Save the texts of a quarter (draft or issued); a stale `expected_version` raises Conflict (409).

    `expected_version` is the version the form was read at: 0 when no text existed yet.
    """
    if not has_permission(actor, "reports.quarterly.edit"):
        raise Forbidden(_("Non puoi modificare le relazioni trimestrali."))
    check_quarter(year, quarter)
    values = {name: clean(texts.get(name)) for name in TEXT_FIELDS}
    for name, value in values.items():
        if len(value) > MAX_NARRATIVE:
            raise Invalid(_("Testo troppo lungo: al massimo %(n)d caratteri (ora %(m)d).", n=MAX_NARRATIVE,
                            m=len(value)), field=name)
    if issue and not values["summary"]:
        raise Invalid(_("Per rendere definitiva la relazione scrivi almeno la sintesi del trimestre."),
                      field="summary")
    narrative = narrative_of(year, quarter)
    current = narrative.version if narrative else 0
    if current != expected_version:
        raise _stale(narrative)
    if narrative is None:
        narrative = QuarterlyReport(year=year, quarter=quarter)
        db.session.add(narrative)
    changed = [name for name, value in values.items() if getattr(narrative, name) != value]
    for name in changed:
        setattr(narrative, name, values[name])
    status = ReportStatus.ISSUED if issue else ReportStatus.DRAFT
    if status != narrative.status or narrative.id is None:
        narrative.issued_at = utcnow() if issue else None
    narrative.status = status
    narrative.updated_by_id = actor.id
    narrative.updated_at = utcnow()  # a save without changes still says who looked last
    audit.record("reports.quarterly_saved", actor=actor, object_type="quarterly_report",
                 object_id=f"{year}-T{quarter}", details={"fields": changed, "status": status})
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        # Someone saved between our read and our write (same version, or the first save of the quarter twice).
        db.session.rollback()
        raise _stale(narrative_of(year, quarter)) from None
    return narrative


def _stale(narrative: QuarterlyReport | None) -> Conflict:
    if narrative is None or narrative.updated_by is None:
        return Conflict(_("La relazione è stata modificata da un'altra persona mentre la scrivevi. Il tuo testo "
                          "non è stato salvato ed è qui sotto: copialo, ricarica la pagina e riprova."))
    return Conflict(_("%(name)s ha salvato questa relazione il %(day)s alle %(time)s, mentre la scrivevi. Il tuo "
                      "testo non è stato salvato ed è qui sotto: copialo, ricarica la pagina per vedere la versione "
                      "attuale e riporta le tue modifiche.", name=narrative.updated_by.full_name,
                      day=format_date(narrative.updated_at), time=format_time(narrative.updated_at)))


# --- Numbers and PDF ----------------------------------------------------------------------------

def observer_view(user):
    """The reader the numbers are computed for: the observer themself, or an observer's view for the office."""
    return user if user.role == Role.OBSERVER else ObserverView()


def quarter_report(user, year: int, quarter: int) -> Report:
    """The indicators of a quarter as Città Metropolitana sees them (the same as its dashboard)."""
    return report_for(observer_view(user), quarter_filters(year, quarter))


def render_quarterly_pdf(actor, year: int, quarter: int) -> bytes:
    """The PDF of a quarter (letterhead, numbers, charts, texts); the download is audited."""
    found = get_quarter_or_404(actor, year, quarter)
    generated = utcnow()
    # The report goes to Città Metropolitana in Italian, whatever language the person printing it uses.
    with force_locale("it"):
        report = quarter_report(actor, year, quarter)
        html = pdf.render_html(
            "pdf/quarterly.html", quarter=found, narrative=found.narrative, report=report,
            charts=charts.report_charts(report, prefix="q"), outcomes=OUTCOMES, narrative_fields=NARRATIVE_FIELDS,
            generated_at=generated, provisional=found.end >= today(),
            draft=found.narrative is None or not found.narrative.is_issued)
    try:
        data, _variant = pdf.render_pdf(html)
    except pdf.RenderFailed:
        raise pdf.RenderFailed(_("Il PDF della relazione non è stato generato: la preparazione non è riuscita o ha "
                                 "superato il tempo massimo. I testi sono al sicuro: riprova tra poco e, se il "
                                 "problema continua, accorcia i testi più lunghi o avvisa l'assistenza tecnica.")) \
            from None
    audit.record_now("reports.quarterly_download", actor=actor, object_type="quarterly_report",
                     object_id=f"{year}-T{quarter}",
                     details={"status": found.status or "none", "version": found.narrative.version
                              if found.narrative else 0})
    return data
