"""Routes of the young people's register: thin views over services.py, scoped by the policy module."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice as Choice

from app import audit
from app.bookings import services as booking_services
from app.domain import numbers
from app.domain.errors import DomainError
from app.extensions import db
from app.htmx import is_htmx as _is_htmx
from app.htmx import page_or_fragment as _page_or_fragment
from app.models import STUDY_WORK_STATUSES, Desk
from app.people import bp, services
from app.people.forms import PersonForm, SearchForm
from app.policy import (
    bookable_desks,
    can_record_consent,
    can_register_young_people,
    can_view_person_details,
    get_young_person_or_404,
    has_permission,
    is_safe_next,
    requires,
)
from app.privacy import services as privacy_services


@bp.get("/giovani")
@requires("people.view")
def index():
    """The register: active search by name or code (htmx gets the results only)."""
    form = SearchForm(request.args)
    q = form.q.data or ""
    page = numbers.int_or_none(request.args.get("pagina")) or 1
    result = services.search_page(current_user, q, page) if form.validate() else services.SearchPage([], 1, False)
    return _page_or_fragment("people/index.html", "people/_results.html", form=form, people=result.people, q=q,
                             result=result, per_page=services.SEARCH_LIMIT,
                             can_register=can_register_young_people(current_user), today=services.today_local())


def _fill_choices(form: PersonForm) -> None:
    form.residence_town_id.choices = [Choice("", _("— scegli —"))] + [Choice(t.id, t.short_name) for t in services.municipalities()]
    form.tutor_id.choices = [Choice("", _("Nessuno"))] + [Choice(t.id, t.full_name) for t in services.tutors_for(current_user)]
    desks = db.session.scalars(bookable_desks(sa.select(Desk).where(Desk.active.is_(True)), current_user)
                               .order_by(Desk.name)).all()
    form.registered_desk_id.choices = [Choice("", _("Nessuno"))] + [Choice(d.id, d.name) for d in desks]


def _data(form: PersonForm) -> services.PersonData:
    return services.PersonData(
        first_name=form.first_name.data or "", last_name=form.last_name.data or "", birth_date=form.birth_date.data,
        gender=form.gender.data or "", study_work_status=form.study_work_status.data or "",
        residence_town_id=form.residence_town_id.data, residence_other=form.residence_other.data or "",
        school=form.school.data or "", phone=form.phone.data or "", email=form.email.data or "",
        preferred_channel=form.preferred_channel.data or "telefono", guardian_name=form.guardian_name.data or "",
        guardian_contact=form.guardian_contact.data or "", guardian_consent=bool(form.guardian_consent.data),
        privacy_consent=bool(form.privacy_consent.data), protected=bool(form.protected.data),
        tutor_id=form.tutor_id.data, registered_desk_id=form.registered_desk_id.data,
    )


@bp.route("/giovani/nuova", methods=["GET", "POST"])
@requires("people.register")
def create():
    """Register a young person; possible duplicates are shown before saving (confirm step)."""
    form = PersonForm()
    _fill_choices(form)
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        form.first_name.data = form.first_name.data or request.args.get("q", "")[:80] or None
    duplicates = []
    status = 200
    if form.validate_on_submit():
        data = _data(form)
        duplicates = services.possible_duplicates(data)
        if duplicates and form.confirm_new.data != "1":
            form.confirm_new.data = "1"
        else:
            try:
                person = services.register(current_user, data)
            except DomainError as error:
                field = getattr(form, error.field, None) if error.field else None
                if field is not None:
                    field.errors = [*field.errors, error.message]
                else:
                    form.form_errors.append(error.message)
                status = error.status_code
            else:
                target = form.next.data if is_safe_next(form.next.data) else None
                if target:
                    sep = "&" if "?" in target else "?"
                    target = f"{target}{sep}person={person.id}"
                else:
                    target = url_for("people.detail", person_id=person.id)
                if _is_htmx():
                    response = current_app.response_class(status=204)
                    response.headers["HX-Redirect"] = target
                    return response
                return redirect(target, code=303)
    elif request.method == "POST":
        status = 422
    return _page_or_fragment("people/create.html", "people/_form.html", status, form=form, duplicates=duplicates)


@bp.get("/giovani/<int:person_id>")
@requires("people.view")
def detail(person_id: int):
    """A young person's record (tutors: name and code only) and their appointments in the viewer's scope."""
    person = get_young_person_or_404(person_id, current_user)
    appointments = booking_services.appointments_of(current_user, young_person_id=person.id)
    details = can_view_person_details(current_user, person)
    audit.record_now("person.read", actor=current_user, object_type="person", object_id=person.id,
                     details={"view": "full" if details else "name_and_code"})
    return render_template("people/detail.html", person=person, appointments=appointments,
                           details=details, today=services.today_local(),
                           can_book=has_permission(current_user, "bookings.manage") and not person.is_erased,
                           study_labels=STUDY_WORK_STATUSES,
                           consents=privacy_services.consent_history(person) if details else [],
                           withdraw=can_record_consent(current_user, person))
