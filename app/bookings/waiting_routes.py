"""Waiting list and recall task routes (desk operators, coordinators, the Ufficio di Piano)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.bookings import bp, waiting
from app.domain import numbers
from app.domain.errors import DomainError
from app.extensions import db
from app.htmx import is_htmx as _is_htmx
from app.htmx import redirect_after_post
from app.models import DESK_SERVICES, RECALL_OUTCOMES, Desk
from app.people import services as people_services
from app.policy import bookable_desks, person_in_scope, requires


def _done(message: str):
    """After a successful POST: back to the waiting list (303, or HX-Redirect for htmx)."""
    return redirect_after_post(url_for("bookings.waiting_index"), message)


def _int(value) -> int | None:
    return numbers.int_or_none(value)


def _index(status: int = 200, error: str | None = None):
    return render_template("bookings/waiting.html", entries=waiting.open_entries(current_user),
                           tasks=waiting.open_tasks(current_user), outcomes=RECALL_OUTCOMES, error=error,
                           no_shows={t.young_person_id: waiting.no_show_count(t.young_person_id)
                                     for t in waiting.open_tasks(current_user)}), status


@bp.get("/lista-attesa")
@requires("waiting.manage")
def waiting_index():
    """Open waiting-list entries (those with a freed slot first) and open recall tasks."""
    return _index()


def _form_context(values: dict, errors: dict | None = None) -> dict:
    person_id = _int(values.get("persona"))
    person = person_in_scope(current_user, person_id)
    q = (values.get("q") or "").strip()
    found = people_services.search(current_user, q) if q and person is None else []
    desks = list(db.session.scalars(bookable_desks(sa.select(Desk).where(Desk.active.is_(True)), current_user)
                                    .order_by(Desk.name)))
    return dict(person=person, q=q, found=found, desks=desks, services=DESK_SERVICES, values=values,
                errors=errors or {})


@bp.get("/lista-attesa/nuova")
@requires("waiting.manage")
def waiting_new():
    """Put a young person on a desk's waiting list: find them, then desk, service and preferred times."""
    context = _form_context(request.args)
    template = "bookings/_waiting_form.html" if _is_htmx() else "bookings/waiting_new.html"
    return render_template(template, **context)


@bp.post("/lista-attesa")
@requires("waiting.manage")
def waiting_add():
    """Save a waiting-list entry (422 with messages next to the fields)."""
    form = request.form
    try:
        waiting.add_entry(current_user, _int(form.get("persona")) or 0, _int(form.get("sportello")) or 0,
                          form.get("servizio", ""), form.get("preferenze", ""))
    except DomainError as error:
        db.session.rollback()
        errors = {getattr(error, "field", None) or "form": error.message}
        template = "bookings/_waiting_form.html" if _is_htmx() else "bookings/waiting_new.html"
        return render_template(template, **_form_context(form, errors)), error.status_code
    return _done(_("Persona aggiunta alla lista d'attesa."))


@bp.post("/lista-attesa/<int:entry_id>/chiudi")
@requires("waiting.manage")
def waiting_close(entry_id: int):
    """Close an entry: booked, or no longer waiting."""
    try:
        waiting.close_entry(current_user, entry_id, request.form.get("esito", ""))
    except DomainError as error:
        db.session.rollback()
        return _index(error.status_code, error.message)
    return _done(_("Voce della lista d'attesa chiusa."))


@bp.post("/richiami/<int:task_id>/chiudi")
@requires("waiting.manage")
def recall_close(task_id: int):
    """Close a recall task with the outcome of the call."""
    try:
        waiting.close_task(current_user, task_id, request.form.get("esito", ""), request.form.get("nota", ""))
    except DomainError as error:
        db.session.rollback()
        return _index(error.status_code, error.message)
    return _done(_("Richiamo chiuso."))


@bp.get("/lista-attesa/suggerimenti")
@requires("waiting.manage")
def waiting_hint():
    """For the booking picker: who waits for this desk and service (freed slots first) — a fragment."""
    desk_id = _int(request.args.get("desk") or request.args.get("sportello"))
    service = request.args.get("service") or request.args.get("servizio") or None
    entries = waiting.open_entries(current_user, [desk_id], service) if desk_id else []
    return render_template("bookings/_waiting_hint.html", entries=entries)
