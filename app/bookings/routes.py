"""Booking routes: the stepper (person → service and desk → slot), the appointment page and its actions."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.attributes import set_committed_value
from wtforms.fields.choices import SelectChoice as Choice

from app import versions
from app.bookings import bp, services
from app.bookings.forms import BookForm, CancelForm, StatusForm, int_or_none, parse_slot, slot_buttons
from app.domain.errors import Conflict, DomainError
from app.extensions import db
from app.htmx import is_htmx as _is_htmx
from app.htmx import page_or_fragment as _page_or_fragment
from app.htmx import redirect_after_post as _done
from app.models import CANCELLED_BY, DESK_SERVICES, MODES, Desk, Status, User, desk_operators, desk_tutors
from app.people import services as people_services
from app.policy import (
    can_book,
    can_manage_appointment,
    can_override_hours,
    can_view_young_person,
    get_appointment_or_404,
    has_permission,
    person_in_scope,
    requires,
)

DAYS_AHEAD = 7
DAYS_SHOWN = 5
SLOTS_PER_DAY = 16


def _parse_day(value: str | None) -> date:
    today = people_services.today_local()
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return today
    return max(day, today)


def _actor() -> User:
    """The signed-in user itself: every attribute read through the current_user proxy goes through
    Flask-Login's lookup again, and the picker asks can_book once per tutor (~0.1 ms each)."""
    return current_user._get_current_object()


def _load_staff(desk: Desk) -> None:
    """The desk's tutors and operators in one statement instead of two lazy loads (the tutor list and
    can_book's operator check both read them); same rows and order as the relationships."""
    unloaded = sa.inspect(desk).unloaded
    if "tutors" not in unloaded or "operators" not in unloaded:
        return
    is_tutor = sa.exists().where(desk_tutors.c.desk_id == desk.id, desk_tutors.c.user_id == User.id)
    is_operator = sa.exists().where(desk_operators.c.desk_id == desk.id, desk_operators.c.user_id == User.id)
    rows = db.session.execute(sa.select(User, is_tutor.label("tutor"), is_operator.label("operator"))
                              .where(sa.or_(is_tutor, is_operator)).order_by(User.full_name)).all()
    set_committed_value(desk, "tutors", [row[0] for row in rows if row.tutor])
    set_committed_value(desk, "operators", [row[0] for row in rows if row.operator])


def _picker(args, *, error: str | None = None, move_of=None) -> dict:
    """Everything the stepper shows for the choices made so far (fresh slots every time)."""
    actor = _actor()
    person = move_of.young_person if move_of is not None else person_in_scope(actor, int_or_none(args.get("person")))
    service = move_of.service if move_of is not None else args.get("service", "")
    if service not in DESK_SERVICES:
        service = ""
    desks = services.bookable_desks_offering(actor, service)
    town_id = person.residence_town_id if person else None
    desks.sort(key=lambda d: (d.municipality_id != town_id, d.name))  # the person's town first
    desk_id = move_of.desk_id if move_of is not None else int_or_none(args.get("desk"))
    desk = next((d for d in desks if d.id == desk_id), None)
    if desk is not None:
        _load_staff(desk)
    tutors = [t for t in desk.tutors if t.active and can_book(actor, desk, t)] if desk else []
    tutor_id = int_or_none(args.get("tutor"))
    if tutor_id not in {t.id for t in tutors}:
        tutor_id = None
    day = _parse_day(args.get("day"))
    groups: OrderedDict = OrderedDict()
    next_day = None
    if person and service and desk:
        # One window for the whole week ahead: its calendars and busy times are read once (two windows read
        # them twice), and the day after the shown ones is where "Giorni successivi" starts.
        slots = services.free_slots(desk, day, day + timedelta(days=DAYS_AHEAD - 1), tutor_id=tutor_id,
                                    young_person_id=person.id)
        groups, next_day = slot_buttons(slots, {t.id: t for t in tutors}, per_day=SLOTS_PER_DAY,
                                        one_tutor=tutor_id is not None, days=DAYS_SHOWN)
        if next_day is None:
            next_day = day + timedelta(days=DAYS_AHEAD)
    step = 1 if person is None else (2 if not (service and desk) else 3)
    can_override = can_override_hours(actor)
    form = None  # the slot buttons' form is plain HTML; this one is the Ufficio di Piano's override only
    if can_override:
        form = BookForm(formdata=None, person=person.id if person else "", desk=desk.id if desk else "",
                        service=service)
        form.override_tutor.choices = [Choice(t.id, t.full_name) for t in tutors]
    # The mode chosen before a lost race, else the moved appointment's, else in person.
    mode = args.get("mode") if args.get("mode") in MODES else (move_of.mode if move_of is not None else "presenza")
    return dict(person=person, service=service, services=DESK_SERVICES, desks=desks, desk=desk, tutors=tutors,
                tutor_id=tutor_id, day=day, groups=groups, next_day=next_day, step=step, error=error,
                form=form, modes=MODES, mode=mode, can_override=can_override, move_of=move_of,
                cancelled_by=CANCELLED_BY, q=args.get("q", ""),
                found=people_services.search(actor, args.get("q", "")) if person is None and args.get("q")
                else [])


@bp.get("/appuntamenti")
@requires("bookings.view")
def index():
    """Upcoming appointments in the viewer's scope."""
    now = datetime.now(people_services.ROME)
    appointments = services.appointments_of(current_user, start=now - timedelta(days=1),
                                            end=now + timedelta(days=60))
    appointments.reverse()
    return render_template("bookings/index.html", appointments=appointments,
                           can_book=has_permission(current_user, "bookings.manage"))


@bp.get("/appuntamenti/nuovo")
@requires("bookings.manage")
def new():
    """"Nuovo appuntamento": pick the person, the service and desk, then a free slot (htmx swaps the stepper)."""
    return _page_or_fragment("bookings/new.html", "bookings/_stepper.html", **_picker(request.args))


@bp.get("/appuntamenti/nuovo/persone")
@requires("bookings.manage")
def person_choices():
    """Active search for the stepper's first step (the results list only)."""
    q = request.args.get("q", "")[:100]
    found = people_services.search(current_user, q) if q.strip() else []
    return render_template("bookings/_person_choices.html", found=found, q=q)


def _override_start(text: str) -> datetime | None:
    try:
        local = datetime.strptime(text.strip(), "%d/%m/%Y %H:%M")  # noqa: DTZ007 - made aware just below
    except ValueError:
        return None
    return local.replace(tzinfo=people_services.ROME)


def _picker_again(form: BookForm, status: int, message: str, move_of=None):
    """Re-render the stepper with fresh slots and the message (409/422/403)."""
    args = {"person": form.person.data, "service": form.service.data, "desk": form.desk.data,
            "tutor": request.form.get("tutor", ""), "day": request.form.get("day", ""), "mode": form.mode.data}
    context = _picker(args, error=message, move_of=move_of)
    return _page_or_fragment("bookings/new.html", "bookings/_stepper.html", status, **context)


@bp.post("/appuntamenti")
@requires("bookings.manage")
def create():
    """Book the chosen slot (or a weekly path after a per-date report); a lost race answers 409 with fresh slots."""
    form = BookForm()
    if not form.validate_on_submit():
        return _picker_again(form, 422, _("Controlla i dati e riprova."))
    tutor_id, starts_at = parse_slot(form.slot.data)
    reason = (form.override_reason.data or "").strip()
    if reason:
        tutor_id, starts_at = form.override_tutor.data, _override_start(form.override_start.data or "")
        if starts_at is None:
            return _picker_again(form, 422, _("Scrivi l'inizio come gg/mm/aaaa hh:mm."))
    data = services.BookingData(
        desk_id=int_or_none(form.desk.data) or 0, tutor_id=tutor_id or 0,
        young_person_id=int_or_none(form.person.data) or 0, service=form.service.data or "",
        mode=form.mode.data or "presenza", starts_at=starts_at, override_reason=reason)
    try:
        sessions = form.sessions.data or 1
        if sessions > 1:
            commit = form.confirm_path.data == "1"
            report = services.book_path(_actor(), data, sessions, commit=commit)
            return render_template("bookings/path.html" if not _is_htmx() else "bookings/_path.html",
                                   report=report, committed=commit, form=form, slot=form.slot.data), 200
        appointment = services.create_booking(_actor(), data)
    except DomainError as error:
        return _picker_again(form, error.status_code, error.message)
    # Its id from the identity map: `appointment.id` after the commit reloads the row with its desk, tutor and
    # young person (one joined SELECT, ~5 ms of the booking) only to build this link.
    appointment_id = sa.inspect(appointment).identity[0]
    return _done(url_for("bookings.detail", appointment_id=appointment_id), _("Appuntamento prenotato."))


@bp.get("/appuntamenti/<int:appointment_id>")
@requires("bookings.view")
def detail(appointment_id: int):
    """One appointment, its history and the lifecycle actions the viewer may take."""
    appointment = get_appointment_or_404(appointment_id, current_user)
    return _render_detail(appointment)


def _render_detail(appointment, status: int = 200, error: str | None = None, cancel_form: CancelForm | None = None):
    manage = can_manage_appointment(current_user, appointment)
    return _page_or_fragment(
        "bookings/detail.html", "bookings/_detail.html", status, appointment=appointment, manage=manage,
        show_person=can_view_young_person(current_user, appointment.young_person), error=error,
        cancel_form=cancel_form or CancelForm(formdata=None, version=appointment.version), Status=Status,
        status_form=StatusForm(formdata=None, version=appointment.version), now=datetime.now(people_services.ROME),
        events=appointment.events, users={u.id: u for u in _event_actors(appointment)})


def _event_actors(appointment) -> list[User]:
    ids = {e.actor_id for e in appointment.events if e.actor_id}
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []


ACTIONS = {"confirm": services.confirm, "attended": services.record_attendance, "no_show": services.record_no_show}
ACTION_MESSAGES = {"confirm": "Appuntamento confermato.", "attended": "Presenza registrata.",
                   "no_show": "Assenza registrata."}


@bp.post("/appuntamenti/<int:appointment_id>/stato")
@requires("bookings.manage")
def transition(appointment_id: int):
    """Confirm, record attendance or a no-show (a stale form answers 409)."""
    appointment = get_appointment_or_404(appointment_id, current_user, "manage")
    form = StatusForm()
    action = ACTIONS.get(form.action.data or "")
    if not form.validate_on_submit() or action is None:
        return _render_detail(appointment, 422, _("Operazione non valida."))
    try:
        action(current_user, appointment.id, expected_version=versions.submitted(form.version.data))
    except DomainError as error:
        db.session.rollback()
        return _render_detail(_reload(appointment.id), error.status_code, error.message)
    return _done(url_for("bookings.detail", appointment_id=appointment.id), _(ACTION_MESSAGES[form.action.data]))


def _reload(appointment_id: int):
    return get_appointment_or_404(appointment_id, current_user)


@bp.post("/appuntamenti/<int:appointment_id>/annulla")
@requires("bookings.manage")
def cancel(appointment_id: int):
    """Cancel with a reason and who asked (a stale form answers 409)."""
    appointment = get_appointment_or_404(appointment_id, current_user, "manage")
    form = CancelForm()
    if not form.validate_on_submit():
        return _render_detail(appointment, 422, _("Controlla i campi evidenziati."), cancel_form=form)
    try:
        services.cancel(current_user, appointment.id, form.reason.data, form.by_kind.data,
                        expected_version=versions.submitted(form.version.data))
    except DomainError as error:
        db.session.rollback()
        return _render_detail(_reload(appointment.id), error.status_code, error.message, cancel_form=form)
    return _done(url_for("bookings.detail", appointment_id=appointment.id), _("Appuntamento annullato."))


@bp.route("/appuntamenti/<int:appointment_id>/sposta", methods=["GET", "POST"])
@requires("bookings.manage")
def move(appointment_id: int):
    """Reschedule: pick a new slot; the old appointment is cancelled and linked in the same transaction."""
    appointment = get_appointment_or_404(appointment_id, current_user, "manage")
    if request.method == "GET":
        context = _picker(request.args, move_of=appointment)
        context["version"] = appointment.version
        return _page_or_fragment("bookings/new.html", "bookings/_stepper.html", **context)
    form = BookForm()
    tutor_id, starts_at = parse_slot(form.slot.data)
    by_kind = request.form.get("by_kind", "desk")
    try:
        if not form.validate_on_submit() or starts_at is None:
            raise Conflict(_("Scegli un nuovo orario."))
        new = services.reschedule(current_user, appointment.id, starts_at, tutor_id=tutor_id,
                                  mode=form.mode.data or None, by_kind=by_kind,
                                  reason=request.form.get("reason", ""),
                                  expected_version=versions.submitted(request.form.get("version")))
    except DomainError as error:
        db.session.rollback()
        appointment = _reload(appointment.id)
        context = _picker(request.form, error=error.message, move_of=appointment)
        context["version"] = appointment.version
        return _page_or_fragment("bookings/new.html", "bookings/_stepper.html", error.status_code, **context)
    return _done(url_for("bookings.detail", appointment_id=new.id), _("Appuntamento spostato."))
