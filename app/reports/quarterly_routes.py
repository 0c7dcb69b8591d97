"""Quarterly report routes: the list of quarters, the narrative editor (Ufficio di Piano), the PDF download."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice as Choice

from app import versions
from app.domain.errors import Conflict, Invalid
from app.models import NARRATIVE_FIELDS, OUTCOMES, ReportStatus
from app.models.report import MAX_NARRATIVE
from app.notes.pdf import RenderFailed
from app.policy import has_permission, requires
from app.reports import bp, charts, quarterly

# The dashboard's charts partial (reports/_charts.html) builds its charts from the report it shows.
bp.add_app_template_global(charts.report_charts, "report_charts")


class NarrativeForm(FlaskForm):
    """The texts the Ufficio di Piano writes before printing, the status, and the version they were read at."""

    summary = TextAreaField(NARRATIVE_FIELDS["summary"])
    outcome_1 = TextAreaField(_l("Obiettivo 1"))
    outcome_2 = TextAreaField(_l("Obiettivo 2"))
    outcome_3 = TextAreaField(_l("Obiettivo 3"))
    outcome_4 = TextAreaField(_l("Obiettivo 4"))
    outcome_5 = TextAreaField(_l("Obiettivo 5"))
    outcome_6 = TextAreaField(_l("Obiettivo 6"))
    outcome_7 = TextAreaField(_l("Obiettivo 7"))
    outcome_8 = TextAreaField(_l("Obiettivo 8"))
    difficulties = TextAreaField(NARRATIVE_FIELDS["difficulties"])
    next_steps = TextAreaField(NARRATIVE_FIELDS["next_steps"])
    status = RadioField(_l("Stato della relazione"), choices=[
        Choice(ReportStatus.DRAFT, _l("Bozza: visibile solo all'Ufficio di Piano")),
        Choice(ReportStatus.ISSUED, _l("Definitiva: Città Metropolitana può scaricarla")),
    ], default=ReportStatus.DRAFT, validate_choice=False)
    version = HiddenField()

    def texts(self) -> dict[str, str]:
        """The submitted texts by field name."""
        return {name: self[name].data or "" for name in quarterly.TEXT_FIELDS}


def _private(response):
    """Report pages and PDFs are never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/monitoraggio/relazioni")
@requires("reports.quarterly.download")
def quarterly_index():
    """"Relazioni trimestrali": the latest quarters, their texts' status, edit and PDF links."""
    return _private(make_response(render_template(
        "reports/quarterly.html", quarters=quarterly.quarters_for(current_user),
        can_edit=has_permission(current_user, "reports.quarterly.edit"))))


@bp.route("/monitoraggio/relazioni/<int:year>/<int:quarter>/testi", methods=["GET", "POST"])
@requires("reports.quarterly.edit")
def quarterly_edit(year: int, quarter: int):
    """The narrative of a quarter: texts per section and per outcome, saved with an optimistic lock."""
    found = quarterly.get_quarter_or_404(current_user, year, quarter)
    narrative = found.narrative
    form = NarrativeForm(obj=narrative) if request.method == "GET" else NarrativeForm()
    if request.method == "GET":
        form.version.data = str(narrative.version if narrative else 0)
        form.status.data = narrative.status if narrative else ReportStatus.DRAFT
    error, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                quarterly.save_narrative(current_user, year, quarter, form.texts(),
                                         expected_version=versions.submitted(form.version.data, first=0),
                                         issue=form.status.data == ReportStatus.ISSUED)
            except Conflict as conflict:
                error, status = conflict.message, 409
                narrative = quarterly.narrative_of(year, quarter)
            except Invalid as invalid:
                error, status = invalid.message, 422
                if invalid.field in form:
                    form[invalid.field].errors = [invalid.message]
            else:
                flash(_("Relazione del %(quarter)s salvata.", quarter=found.label), "success")
                return redirect(url_for("reports.quarterly_edit", year=year, quarter=quarter), code=303)
        else:
            error, status = _("Il modulo non è valido: ricarica la pagina e riprova."), 400
    report = quarterly.quarter_report(current_user, year, quarter)
    return _private(make_response(render_template(
        "reports/quarterly_edit.html", quarter=found, narrative=narrative, form=form, error=error,
        outcomes=OUTCOMES, outcome_rows={int(r.key): r for r in report.table("by_outcome").rows if r.key.isdigit()},
        max_chars=MAX_NARRATIVE,
        dashboard_args=quarterly.quarter_filters(year, quarter).query_args()), status))


@bp.get("/monitoraggio/relazioni/<int:year>/<int:quarter>/relazione.pdf")
@requires("reports.quarterly.download")
def quarterly_pdf(year: int, quarter: int):
    """The quarter's PDF for Città Metropolitana (numbers as the observer sees them); the download is audited."""
    try:
        data = quarterly.render_quarterly_pdf(current_user, year, quarter)
    except RenderFailed as failed:
        flash(failed.message, "danger")
        return redirect(url_for("reports.quarterly_index"), code=303)
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="relazione-trimestrale-{year}-T{quarter}.pdf"'
    return _private(response)

