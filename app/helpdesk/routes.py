"""Helpdesk routes: the public request form, the queue, a ticket, intake, assignment and "Prenota"."""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

import click
import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice as Choice

from app import mail, navigation
from app.bookings.forms import int_or_none, parse_slot, slot_buttons
from app.domain.errors import DomainError
from app.extensions import db, limiter
from app.helpdesk import bp, services
from app.helpdesk.forms import CommentForm, IntakeForm, PriorityForm, RequestForm, StatusForm
from app.htmx import is_htmx as _is_htmx
from app.htmx import page_or_fragment as _page_or_fragment
from app.htmx import redirect_after_post as _done
from app.models import (
    DESK_SERVICES,
    MODES,
    TICKET_CHANNELS,
    TICKET_OUTCOMES,
    TICKET_STATUSES,
    Desk,
    Organisation,
    OrganisationKind,
)
from app.models.ticket import OTHER_TOPIC
from app.people import services as people_services
from app.policy import (
    can_assign_ticket,
    can_book,
    can_book_ticket,
    can_view_young_person,
    can_work_ticket,
    get_ticket_or_404,
    has_permission,
    intake_desks,
    public,
    requires,
    scoped_appointments,
)

SLOT_DAYS = 7
SLOTS_PER_DAY = 12


def _towns() -> list[Organisation]:
    return list(db.session.scalars(sa.select(Organisation).where(
        Organisation.kind == OrganisationKind.MUNICIPALITY, Organisation.active.is_(True)).order_by(Organisation.name)))


def _fill_choices(form: RequestForm, desks: list[Desk]) -> None:
    form.town.choices = [Choice("", _("— scegli —"))] + [Choice(str(t.id), t.short_name) for t in _towns()] + \
        [Choice(OTHER_TOPIC, _("Un altro comune"))]
    form.topic.choices = [Choice("", _("— scegli —"))] + [Choice(k, str(v)) for k, v in services.topics().items()]
    form.desk.choices = [Choice("", _("Nessuna preferenza"))] + [Choice(str(d.id), f"{d.name} ({d.municipality.short_name})")
                                                          for d in desks]
    if isinstance(form, IntakeForm):
        form.channel.choices = [Choice("", _("— scegli —"))] + [Choice(k, str(v)) for k, v in TICKET_CHANNELS.items()
                                                          if k != "web"]


def _data(form: RequestForm) -> services.RequestData:
    data = services.RequestData(
        first_name=form.first_name.data or "", age=form.age.data or "", birth_year=form.birth_year.data or "",
        town=form.town.data or "", town_other=form.town_other.data or "", phone=form.phone.data or "",
        email=form.email.data or "", topic=form.topic.data or "", desk=form.desk.data or "",
        preferred_from=form.preferred_from.data or "", preferred_times=form.preferred_times.data or "",
        message=form.message.data or "", guardian_name=form.guardian_name.data or "",
        guardian_contact=form.guardian_contact.data or "", guardian_consent=bool(form.guardian_consent.data),
        privacy_consent=bool(form.privacy_consent.data))
    if isinstance(form, IntakeForm):
        data.channel = form.channel.data or ""
        data.referrer = form.referrer.data or ""
    return data


def _show_errors(form: RequestForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        target = getattr(form, name, None)
        if target is not None:
            target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]
        else:
            form.form_errors.append(message)


def _public_desks() -> list[Desk]:
    return list(db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.name)))


# --- Public -------------------------------------------------------------------------------

@bp.route("/richiesta", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config.get("HELPDESK_LIMIT_PER_ADDRESS", "20 per minute"), methods=["POST"],
               scope="helpdesk-request")
def request_form():
    """Public request form: no account needed; a reference number and an acknowledgement e-mail."""
    form = RequestForm()
    _fill_choices(form, _public_desks())
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            form.form_errors.append(_("Il modulo è scaduto: ricarica la pagina e invia di nuovo."))
            status = 400
        elif form.website.data:
            # A bot filled the hidden field: answer like a success, store nothing.
            session["helpdesk_reference"] = None
            return redirect(url_for("helpdesk.request_sent"), code=303)
        else:
            data = _data(form)
            errors = services.validate(data)
            if errors:
                _show_errors(form, errors)
                status = 422
            else:
                ticket = services.submit_request(data)
                session["helpdesk_reference"] = ticket.reference
                return redirect(url_for("helpdesk.request_sent"), code=303)
    return render_template("helpdesk/request.html", form=form, today=people_services.today_local()), status


@bp.get("/richiesta/inviata")
@public
def request_sent():
    """Confirmation with the reference number (kept in the sender's session only)."""
    reference = session.get("helpdesk_reference")
    return render_template("helpdesk/request_sent.html", reference=reference)


# --- Queue --------------------------------------------------------------------------------

def _filters(args) -> services.QueueFilters:
    tab = args.get("stato", "aperte")
    return services.QueueFilters(
        tab=tab if tab in services.STATUS_TABS else "aperte", desk_id=int_or_none(args.get("sportello")),
        town_id=int_or_none(args.get("comune")), assignee=(args.get("assegnate") or "")[:12],
        urgent=args.get("urgenti") == "1", q=(args.get("q") or "")[:100])


def _queue_context(filters: services.QueueFilters, **extra) -> dict:
    """What the queue page (or its fragment) shows for these filters."""
    tickets = services.queue(current_user, filters)
    context = dict(tickets=tickets, filters=filters, ages=services.ages(tickets), statuses=TICKET_STATUSES,
                   tabs=services.STATUS_TABS,
                   staff=services.assignable(current_user) if can_assign_ticket(current_user) else [],
                   can_assign=can_assign_ticket(current_user), topics=services.topics(),
                   can_intake=has_permission(current_user, "helpdesk.intake"), channels=TICKET_CHANNELS,
                   limit=services.QUEUE_LIMIT, level=services.service_level_days(), error=None, selected=(),
                   chosen_assignee=None)
    if not _is_htmx():
        # The filter form's choices: the page's only (the search and the filters swap the queue, not the form).
        context.update(desks=services.queue_desks(current_user), towns=_towns())
    context.update(extra)
    return context


@bp.get("/richieste")
@requires("helpdesk.view")
def index():
    """The queue in the viewer's scope: urgent first, then the oldest; active search and filters (htmx)."""
    return _page_or_fragment("helpdesk/index.html", "helpdesk/_queue.html", **_queue_context(_filters(request.args)))


DETAIL_PATH = re.compile(r"^/richieste/(\d+)$")


@bp.post("/richieste/assegna")
@requires("helpdesk.assign")
def assign():
    """Assign one or several tickets (bulk, from the queue) to an operator or tutor.

    Each selected ticket comes with the version the page showed ("version-<id>"): all or nothing, a
    ticket changed meanwhile answers 409 with the queue (or the ticket) as it is now and the selection kept.
    """
    ids = list(dict.fromkeys(i for i in (int_or_none(v) for v in request.form.getlist("ticket_ids")) if i is not None))
    selected = {ticket_id: request.form.get(f"version-{ticket_id}") for ticket_id in ids}
    raw = request.form.get("assignee", "")
    assignee_id = None if raw in ("", "none") else int_or_none(raw)
    target = request.form.get("next", "")
    if not (target.startswith("/richieste") and "//" not in target and "\\" not in target):
        target = url_for("helpdesk.index")
    try:
        if raw not in ("", "none") and assignee_id is None:
            raise DomainError(_("Scegli una persona dall'elenco."))
        changed = services.assign(current_user, selected, assignee_id)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 409 or error.field == "version":
            return _assign_refused(target, error, ids, assignee_id)
        flash(error.message, "error")
        return redirect(target, code=303)
    return _done(target, _("Richieste assegnate: %(n)d.", n=changed))


def _assign_refused(target: str, error: DomainError, ids: list[int], assignee_id: int | None):
    """The page the assignment came from, as it is now, with the message and the user's choices kept."""
    parts = urlsplit(target)
    detail_of = DETAIL_PATH.match(parts.path)
    if detail_of:
        ticket = get_ticket_or_404(int(detail_of.group(1)), current_user)
        return _render_detail(ticket, error.status_code, error.message,
                              chosen_assignee=assignee_id if assignee_id is not None else 0)
    context = _queue_context(_filters(MultiDict(parse_qsl(parts.query))), error=error.message, selected=set(ids),
                             chosen_assignee=assignee_id)
    return _page_or_fragment("helpdesk/index.html", "helpdesk/_queue.html", error.status_code, **context)


# --- Intake -------------------------------------------------------------------------------

@bp.route("/richieste/nuova", methods=["GET", "POST"])
@requires("helpdesk.intake")
def create():
    """Operator intake: a phone call, a walk-in, an e-mail or a school referral becomes a ticket."""
    form = IntakeForm()
    desks = list(db.session.scalars(intake_desks(sa.select(Desk).where(Desk.active.is_(True)), current_user)
                                    .order_by(Desk.name)))
    _fill_choices(form, desks)
    status = 200
    if request.method == "GET" and len(desks) == 1:
        form.desk.data = str(desks[0].id)
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
            form.form_errors.append(_("Il modulo è scaduto: ricarica la pagina e invia di nuovo."))
        else:
            data = _data(form)
            errors = services.intake_errors(current_user, data)
            if errors:
                _show_errors(form, errors)
                status = 422
            else:
                ticket = services.intake(current_user, data)
                return _done(url_for("helpdesk.detail", ticket_id=ticket.id),
                             _("Richiesta registrata: %(ref)s.", ref=ticket.reference))
    return render_template("helpdesk/create.html", form=form), status


# --- One ticket -----------------------------------------------------------------------------

def _render_detail(ticket, status: int = 200, error: str | None = None, chosen_assignee: int | None = None,
                   **forms):
    """The ticket page, or its #ticket fragment for htmx; forms carry the ticket's current version."""
    status_form = forms.get("status_form") or StatusForm(formdata=None, version=ticket.version)
    status_form.status.choices = [Choice(s, str(TICKET_STATUSES[s])) for s in services.ALLOWED_MOVES.get(ticket.status, ())]
    status_form.outcome.choices = [Choice("", _("— scegli —"))] + [Choice(k, str(v)) for k, v in TICKET_OUTCOMES.items()]
    return _page_or_fragment(
        "helpdesk/detail.html", "helpdesk/_detail.html", status,
        ticket=ticket, error=error, statuses=TICKET_STATUSES, outcomes=TICKET_OUTCOMES,
        channels=TICKET_CHANNELS, topics=services.topics(), age=services.ages([ticket]).get(ticket.id),
        status_form=status_form, comment_form=forms.get("comment_form") or CommentForm(formdata=None),
        priority_form=PriorityForm(formdata=None), can_work=can_work_ticket(current_user, ticket),
        chosen_assignee=ticket.assignee_id if chosen_assignee is None else chosen_assignee,
        can_assign=can_assign_ticket(current_user, ticket), can_book=can_book_ticket(current_user, ticket),
        staff=services.assignable(current_user) if can_assign_ticket(current_user, ticket) else [],
        level=services.service_level_days(), links=_visible_links(ticket))


def _visible_links(ticket) -> dict:
    """Which linked records the viewer may open (a tutor may see a ticket but not the person's record)."""
    from app.models import Appointment

    ids = [a.id for a in ticket.appointments]
    seen = set(db.session.scalars(scoped_appointments(sa.select(Appointment.id), current_user)
                                  .where(Appointment.id.in_(ids)))) if ids else set()
    person = ticket.young_person is not None and can_view_young_person(current_user, ticket.young_person)
    return {"appointments": seen, "person": person}


@bp.get("/richieste/<int:ticket_id>")
@requires("helpdesk.view")
def detail(ticket_id: int):
    """One request: its data, status, assignee, comments, appointments and actions."""
    ticket = get_ticket_or_404(ticket_id, current_user)
    services.mark_seen(current_user, ticket)
    return _render_detail(ticket)


@bp.post("/richieste/<int:ticket_id>/stato")
@requires("helpdesk.view")
def transition(ticket_id: int):
    """Change the status (closing needs an outcome; a stale form answers 409)."""
    ticket = get_ticket_or_404(ticket_id, current_user, "work")
    form = StatusForm()
    form.status.choices = [Choice(s) for s in TICKET_STATUSES]
    if not form.validate_on_submit():
        return _render_detail(ticket, 400, _("Il modulo è scaduto: ricarica la pagina."))
    try:
        services.set_status(current_user, ticket, form.status.data or "", form.outcome.data or "",
                            version=form.version.data)
    except DomainError as error:
        db.session.rollback()
        # The ticket as it is now, with the user's choice of status and outcome still selected.
        return _render_detail(get_ticket_or_404(ticket_id, current_user), error.status_code, error.message,
                              status_form=form)
    return _done(url_for("helpdesk.detail", ticket_id=ticket.id), _("Stato aggiornato."))


@bp.post("/richieste/<int:ticket_id>/priorita")
@requires("helpdesk.view")
def priority(ticket_id: int):
    """Mark the ticket urgent or normal (a stale form answers 409, one without a version 422)."""
    ticket = get_ticket_or_404(ticket_id, current_user, "work")
    form = PriorityForm()
    if not form.validate_on_submit():
        return _render_detail(ticket, 400, _("Il modulo è scaduto: ricarica la pagina."))
    try:
        services.set_priority(current_user, ticket, form.urgent.data == "1", version=form.version.data)
    except DomainError as error:
        db.session.rollback()
        return _render_detail(get_ticket_or_404(ticket_id, current_user), error.status_code, error.message)
    return _done(url_for("helpdesk.detail", ticket_id=ticket.id), _("Priorità aggiornata."))


@bp.post("/richieste/<int:ticket_id>/commenti")
@requires("helpdesk.view")
def comment(ticket_id: int):
    """Add an internal comment."""
    ticket = get_ticket_or_404(ticket_id, current_user, "work")
    form = CommentForm()
    if not form.validate_on_submit():
        return _render_detail(ticket, 400, _("Il modulo è scaduto: ricarica la pagina."), comment_form=form)
    try:
        services.add_comment(current_user, ticket, form.body.data or "")
    except DomainError as error:
        db.session.rollback()
        form.body.errors = [error.message]
        return _render_detail(ticket, error.status_code, comment_form=form)
    return _done(url_for("helpdesk.detail", ticket_id=ticket.id) + "#commenti", _("Commento aggiunto."))


# --- Request to booking -------------------------------------------------------------------------

def _picker(ticket, args) -> dict:
    """The booking step for a ticket: the person (matches or a new record), then service, desk and free slots."""
    from app.bookings import services as booking_services

    person = ticket.young_person
    matches, elsewhere = ([], 0) if person else services.matching_people(current_user, ticket)
    service = args.get("service") or (ticket.topic if ticket.topic in DESK_SERVICES else "")
    if service not in DESK_SERVICES:
        service = ""
    desks = booking_services.bookable_desks_offering(current_user, service)
    desk_id = int_or_none(args.get("desk")) or ticket.desk_id
    desk = next((d for d in desks if d.id == desk_id), None)
    today = people_services.today_local()
    try:
        day = max(date.fromisoformat(args.get("day") or ""), today)
    except ValueError:
        day = max(ticket.preferred_from or today, today)
    groups: OrderedDict = OrderedDict()
    if person and service and desk:
        tutors = {t.id: t for t in desk.tutors if t.active and can_book(current_user, desk, t)}
        groups, _next = slot_buttons(booking_services.free_slots(desk, day, day + timedelta(days=SLOT_DAYS - 1),
                                                                 young_person_id=person.id),
                                     tutors, per_day=SLOTS_PER_DAY)
    return dict(ticket=ticket, person=person, matches=matches, elsewhere=elsewhere, service=service,
                services=DESK_SERVICES, desks=desks, desk=desk, day=day, next_day=day + timedelta(days=SLOT_DAYS),
                groups=groups, modes=MODES, topics=services.topics())


@bp.route("/richieste/<int:ticket_id>/prenota", methods=["GET", "POST"])
@requires("bookings.manage")
def book(ticket_id: int):
    """"Prenota": match or register the young person, pick a slot; the appointment is linked and the ticket booked."""
    from app.bookings import services as booking_services

    ticket = get_ticket_or_404(ticket_id, current_user, "book")
    if request.method == "GET":
        person_id = int_or_none(request.args.get("person"))
        if person_id is not None and ticket.young_person_id is None:
            # Back from registering a new person (people.create appends ?person=<id>).
            try:
                services.link_person(current_user, ticket, person_id)
            except DomainError as error:
                db.session.rollback()
                return _page_or_fragment("helpdesk/book.html", "helpdesk/_book.html", error.status_code,
                                         error=error.message, **_picker(ticket, request.args))
        return _page_or_fragment("helpdesk/book.html", "helpdesk/_book.html", error=None,
                                 **_picker(ticket, request.args))
    form = CommentForm()  # any FlaskForm checks the CSRF token
    if not form.validate_on_submit():
        return _page_or_fragment("helpdesk/book.html", "helpdesk/_book.html", 400,
                                 error=_("Il modulo è scaduto: ricarica la pagina."), **_picker(ticket, request.form))
    if request.form.get("person") and ticket.young_person_id is None:
        try:
            services.link_person(current_user, ticket, int_or_none(request.form.get("person")) or 0)
        except DomainError as error:
            db.session.rollback()
            return _page_or_fragment("helpdesk/book.html", "helpdesk/_book.html", error.status_code,
                                     error=error.message, **_picker(ticket, request.form))
        return _done(url_for("helpdesk.book", ticket_id=ticket.id))
    tutor_id, starts_at = parse_slot(request.form.get("slot"))
    data = booking_services.BookingData(
        desk_id=int_or_none(request.form.get("desk")) or 0, tutor_id=tutor_id or 0,
        young_person_id=ticket.young_person_id or 0, service=request.form.get("service", ""),
        mode=request.form.get("mode") or "presenza", starts_at=starts_at)
    try:
        if starts_at is None:
            raise DomainError(_("Scegli un orario."))
        appointment = services.book(current_user, ticket, data)
    except DomainError as error:
        db.session.rollback()
        ticket = get_ticket_or_404(ticket_id, current_user)
        status = error.status_code if error.status_code != 400 else 422
        return _page_or_fragment("helpdesk/book.html", "helpdesk/_book.html", status, error=error.message,
                                 **_picker(ticket, request.form))
    return _done(url_for("helpdesk.detail", ticket_id=ticket_id),
                 _("Appuntamento prenotato per il %(when)s: la richiesta è segnata come prenotata.",
                   when=appointment.starts_at.astimezone(people_services.ROME).strftime("%d/%m/%Y %H:%M")))


# --- Commands -----------------------------------------------------------------------------------

@bp.cli.command("helpdesk-digest")
@click.option("--deliver/--no-deliver", default=True, show_default=True)
def helpdesk_digest(deliver: bool):
    """E-mail each assignee how many new tickets wait for them (counts only; cron, daily)."""
    queued = services.queue_digests()
    sent = mail.deliver_pending(1000) if deliver else 0
    click.echo(f"Riepiloghi accodati: {queued}; messaggi inviati: {sent}")


navigation.register_badge("helpdesk.index", services.badge_count, _l("nuove assegnate a te"))
