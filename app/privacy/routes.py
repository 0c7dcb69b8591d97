"""Privacy area routes: thin, the use cases are in services.py, erasure.py and retention.py."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import audit
from app.domain.errors import DomainError
from app.extensions import db
from app.htmx import page_or_fragment
from app.htmx import redirect_after_post as _done
from app.models import Appointment, Note, Organisation, Ticket
from app.policy import get_person_for_privacy_or_404, get_young_person_or_404, requires
from app.privacy import bp, erasure, retention, services
from app.privacy.forms import ErasureForm, ExportForm, SearchForm, WithdrawForm


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/privacy")
@requires("privacy.manage")
def index():
    """Record of processing (art. 30), the search for export and erasure, the retention runs."""
    form = SearchForm(request.args)
    q = form.q.data or ""
    people = services.search(current_user, q) if form.validate() else []
    if request.headers.get("HX-Request") == "true":
        return render_template("privacy/_results.html", people=people, q=q)
    partners = db.session.scalars(sa.select(Organisation).where(Organisation.active.is_(True))
                                  .order_by(Organisation.kind, Organisation.name)).all()
    return render_template("privacy/index.html", form=form, people=people, q=q, partners=partners,
                           plan=retention.plan(), kinds=retention.KINDS, runs=services.latest_retention_runs(),
                           requests=services.latest_requests())


def _person_page(person, *, export_form=None, status: int = 200):
    counts = {
        "appointments": db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)
                                          .where(Appointment.young_person_id == person.id)),
        "notes": db.session.scalar(sa.select(sa.func.count()).select_from(Note)
                                   .where(Note.young_person_id == person.id)),
        "tickets": db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)
                                     .where(Ticket.young_person_id == person.id)),
    }
    return render_template("privacy/person.html", person=person, counts=counts,
                           consents=services.consent_history(person),
                           export_form=export_form or ExportForm(formdata=None)), status


@bp.get("/admin/privacy/giovani/<int:person_id>")
@requires("privacy.manage")
def person(person_id: int):
    """One young person for the data controller: what is held, consent history, export and erasure."""
    person = get_person_for_privacy_or_404(person_id, current_user)
    audit.record_now("person.read", object_type="person", object_id=person.id, details={"privacy": True})
    return _no_store(current_app.make_response(_person_page(person)))


@bp.post("/admin/privacy/giovani/<int:person_id>/esporta")
@requires("privacy.manage")
def export(person_id: int):
    """Download the person's data (fmt=json or pdf); the reason is recorded in the audit log."""
    person = get_person_for_privacy_or_404(person_id, current_user)
    form = ExportForm()
    if not form.validate_on_submit():
        return _no_store(current_app.make_response(_person_page(person, export_form=form, status=422)))
    try:
        data, mimetype, filename = services.export_person(current_user, person, request.form.get("fmt", ""),
                                                          form.reason.data or "")
    except DomainError as error:
        if error.field == "reason":
            form.reason.errors = [*form.reason.errors, error.message]
            return _no_store(current_app.make_response(_person_page(person, export_form=form,
                                                                    status=error.status_code)))
        raise
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _no_store(response)


@bp.route("/admin/privacy/giovani/<int:person_id>/cancella", methods=["GET", "POST"])
@requires("privacy.manage")
def erase(person_id: int):
    """Erasure (art. 17): confirm with the person's code and a reason; identity anonymised, aggregates kept."""
    person = get_person_for_privacy_or_404(person_id, current_user)
    form = ErasureForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                counts = erasure.erase_person(current_user, person, reason=form.reason.data or "",
                                              confirm_code=form.confirm_code.data or "")
            except DomainError as error:
                db.session.rollback()
                field = getattr(form, error.field, None) if error.field else None
                if field is None:
                    raise
                field.errors = [*field.errors, error.message]
                status = error.status_code
            else:
                return _done(url_for("privacy.person", person_id=person.id), _(
                    "Dati anonimizzati: %(appointments)d appuntamenti restano per le statistiche senza dati "
                    "personali, %(final)d note finalizzate restano conservate.",
                    appointments=counts["appointments"], final=counts["final_notes"]))
        else:
            status = 422
    response = current_app.make_response(page_or_fragment("privacy/erase.html", "privacy/_erase_form.html", status,
                                                          person=person, form=form))
    return _no_store(response)


@bp.post("/giovani/<int:person_id>/consensi/<int:record_id>/revoca")
@requires("people.register")
def withdraw_consent(person_id: int, record_id: int):
    """Record that the person (or the guardian) withdrew a consent."""
    person = get_young_person_or_404(person_id, current_user)
    WithdrawForm().validate_on_submit()  # CSRF is checked globally; nothing else to read
    services.withdraw_consent(current_user, person, record_id)
    return _done(url_for("people.detail", person_id=person.id), _("Revoca del consenso registrata."))
